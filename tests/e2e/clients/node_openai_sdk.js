// node_openai_sdk.js: the official `openai` npm SDK as an e2e client: chat.completions.create
// non-streaming (gzip answer), streaming with tools (tool call arguments assembled from deltas),
// and embeddings (the SDK asks for base64).
'use strict';
const { OpenAI } = require('openai');
const c = require('./e2e_common');

const client = new OpenAI({ apiKey: c.OPENAI_KEY, baseURL: `${c.BASE}/v1`,
                            defaultHeaders: c.pidHeader, maxRetries: 0 });
const user = (mark, opts = []) => [{ role: 'user', content: c.prompt(mark, opts, 'What is the weather?') }];
const tool = (name) => ({ type: 'function', function: { name, description: `tool ${name}`,
  parameters: { type: 'object', properties: { city: { type: 'string' } } } } });

c.run(async () => {
  let mark = c.marker('oaisdk');
  const done = await client.chat.completions.create({ model: 'gpt-4o', messages: user(mark, ['gzip']) });
  c.expectMarker(mark, done.choices[0].message.content);

  mark = c.marker('oaisdk');
  const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: user(mark), stream: true,
    stream_options: { include_usage: true }, tools: [tool('get_weather')] });
  const calls = [];
  let usage = null;
  for await (const chunk of stream) {
    usage = chunk.usage || usage;
    for (const t of chunk.choices[0]?.delta.tool_calls || []) {
      calls[t.index] ??= { name: '', arguments: '' };
      calls[t.index].name += t.function?.name || '';
      calls[t.index].arguments += t.function?.arguments || '';
    }
  }
  if (calls.length !== 1 || calls[0].name !== 'get_weather' || !usage) {
    throw new Error('the stream lost the tool call or the usage');
  }
  c.expectMarker(mark, '', calls);

  mark = c.marker('oaisdk');
  const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: `${mark} embed me` });
  if (emb.data[0].embedding.length !== 16) throw new Error('embedding has the wrong size');
});
