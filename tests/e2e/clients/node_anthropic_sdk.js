// node_anthropic_sdk.js: the official `@anthropic-ai/sdk` npm SDK as an e2e client:
// messages.create non-streaming, and messages.stream with a tool and extended thinking (the tool
// input arrives as many small input_json_delta pieces).
'use strict';
const { Anthropic } = require('@anthropic-ai/sdk');
const c = require('./e2e_common');

const client = new Anthropic({ apiKey: c.ANTHROPIC_KEY, baseURL: c.BASE, defaultHeaders: c.pidHeader,
                               maxRetries: 0 });
const user = (mark) => [{ role: 'user', content: c.prompt(mark, [], 'What is the weather?') }];

c.run(async () => {
  let mark = c.marker('antsdk');
  const msg = await client.messages.create({ model: 'claude-opus-4-6', max_tokens: 1024, messages: user(mark) });
  c.expectMarker(mark, msg.content.map((b) => b.text || '').join(''));

  mark = c.marker('antsdk');
  const final = await client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 4096,
    thinking: { type: 'enabled', budget_tokens: 2048 }, messages: user(mark),
    tools: [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object' } }] }).finalMessage();
  const kinds = final.content.map((b) => b.type).join(',');
  if (kinds !== 'thinking,text,tool_use' || final.stop_reason !== 'tool_use') throw new Error(`got ${kinds}`);
  const use = final.content[2];
  c.expectMarker(mark, '', [{ name: use.name, arguments: JSON.stringify(use.input) }]);
});
