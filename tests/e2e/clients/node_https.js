// node_https.js MODE: node `https` e2e client (node's statically linked OpenSSL).
//   tools        OpenAI streaming request offering two tools; the answer is two streamed tool calls
//   concurrent   20 concurrent requests (mixed providers, streaming or not) from this one process
//                over a keep-alive agent of 4 sockets, each with its own marker
//   big          one Anthropic request whose user message is exactly 1 MiB
//   unicode      Anthropic streaming request and answer with accents, CJK and emoji
'use strict';
const https = require('node:https');
const c = require('./e2e_common');

const agent = new https.Agent({ keepAlive: true, maxSockets: 4 });

// n bytes of deterministic ASCII, with characters JSON must escape among them.
function filler(n) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 .,"\\/{}\n';
  let x = 12345;
  let s = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += alphabet[x % alphabet.length];
  }
  return s;
}

const modes = {
  async tools() {
    const got = await c.exchange(agent, 'openai', c.marker('ntools'),
                                 { stream: true, tools: ['get_weather', 'get_time'] });
    if (got.calls.length !== 2) throw new Error(`wanted 2 tool calls, got ${got.calls.length}`);
  },
  async concurrent() {
    await Promise.all(Array.from({ length: 20 }, (_, i) =>
      c.exchange(agent, i % 4 < 2 ? 'openai' : 'anthropic', c.marker('conc'),
                 { stream: i % 2 === 0, text: `Request number ${i}.` })));
  },
  async big() {
    const mark = c.marker('bignode');
    const text = filler((1 << 20) - Buffer.byteLength(c.prompt(mark, ['sha'], '')));
    const got = await c.exchange(agent, 'anthropic', mark, { text, opts: ['sha'] });
    if (!got.text.includes(`sha256=${c.sha256(c.prompt(mark, ['sha'], text))}`)) {
      throw new Error('the 1 MiB prompt did not arrive intact at the server');
    }
  },
  async unicode() {
    await c.exchange(agent, 'anthropic', c.marker('nuni'), { stream: true, opts: ['echo', 'unicode'],
      text: 'Ünïcödé prompt: 北京, Ελληνικά, 😀👍🏽, ﬁ ligature, done' });
  },
};

c.run(modes[process.argv[2]]);
