// e2e_common.js: what the node e2e clients share: request bodies for the fake provider, fake API
// keys, a keep-alive https POST that decodes gzip and SSE, and marker checks. Environment:
// E2E_PORT and NODE_EXTRA_CA_CERTS (the test certificate), both set by tests/e2e/run.sh.
'use strict';
const https = require('node:https');
const zlib = require('node:zlib');
const crypto = require('node:crypto');

const OPENAI_KEY = 'sk-proj-TESTKEYopenaiSECRET0123456789abcdefABCDEF';
const ANTHROPIC_KEY = 'sk-ant-api03-TESTKEYanthropicSECRET0123456789abcdef-AA';
const PORT = Number(process.env.E2E_PORT);
const BASE = `https://127.0.0.1:${PORT}`;
let seq = 0;

const marker = (tag) => `MARK-${tag}-${process.pid}-${++seq}`;
const prompt = (mark, opts, text) => [mark, ...opts.map((o) => `opt:${o}`), text].join(' ');
const sha256 = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
const pidHeader = { 'X-E2E-Pid': String(process.pid) };

// One chat request: { path, body, headers } for provider 'openai' or 'anthropic'.
function request(provider, mark, { text = 'Say hello.', stream = false, opts = [], tools = [], model } = {}) {
  const user = prompt(mark, opts, text);
  if (provider === 'openai') {
    const body = { model: model || 'gpt-4o-mini', stream,
                   messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: user }] };
    if (stream) body.stream_options = { include_usage: true };
    if (tools.length) body.tools = tools.map((name) => ({ type: 'function', function: { name,
      description: `tool ${name}`, parameters: { type: 'object', properties: { city: { type: 'string' } } } } }));
    return { path: '/v1/chat/completions', body,
             headers: { ...pidHeader, authorization: `Bearer ${OPENAI_KEY}` } };
  }
  const body = { model: model || 'claude-sonnet-4-6', max_tokens: 1024, stream,
                 messages: [{ role: 'user', content: user }] };
  if (tools.length) body.tools = tools.map((name) => ({ name, description: `tool ${name}`,
                                                         input_schema: { type: 'object' } }));
  return { path: '/v1/messages', body,
           headers: { ...pidHeader, 'x-api-key': ANTHROPIC_KEY, 'anthropic-version': '2023-06-01' } };
}

// POST over agent; resolves { status, headers, text } with gzip undone.
function post(agent, { path, body, headers }) {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = https.request(`${BASE}${path}`, { method: 'POST', agent, headers: { ...headers,
      'content-type': 'application/json', 'content-length': data.length } }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        let raw = Buffer.concat(parts);
        if (res.headers['content-encoding'] === 'gzip') raw = zlib.gunzipSync(raw);
        resolve({ status: res.statusCode, headers: res.headers, text: raw.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

// The data: payloads of an SSE body, parsed.
const sseEvents = (text) => text.split('\n').filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
  .map((l) => JSON.parse(l.slice(6)));

// Assistant text and tool calls ({name, arguments string}) of a JSON or SSE answer.
function answer(provider, res) {
  const calls = [];
  let text = '';
  if (!String(res.headers['content-type']).includes('text/event-stream')) {
    const doc = JSON.parse(res.text);
    if (provider === 'openai') {
      const m = doc.choices[0].message;
      for (const t of m.tool_calls || []) calls.push({ name: t.function.name, arguments: t.function.arguments });
      return { text: m.content || '', calls };
    }
    for (const b of doc.content) {
      if (b.type === 'text') text += b.text;
      if (b.type === 'tool_use') calls.push({ name: b.name, arguments: JSON.stringify(b.input) });
    }
    return { text, calls };
  }
  for (const ev of sseEvents(res.text)) {
    if (provider === 'openai') {
      for (const c of ev.choices || []) {
        text += c.delta.content || '';
        for (const t of c.delta.tool_calls || []) {
          calls[t.index] ??= { name: '', arguments: '' };
          calls[t.index].name += t.function.name || '';
          calls[t.index].arguments += t.function.arguments || '';
        }
      }
    } else if (ev.type === 'content_block_start' && ev.content_block.type === 'tool_use') {
      calls.push({ name: ev.content_block.name, arguments: '' });
    } else if (ev.type === 'content_block_delta') {
      text += ev.delta.text || '';
      if (ev.delta.type === 'input_json_delta') calls[calls.length - 1].arguments += ev.delta.partial_json;
    }
  }
  return { text, calls };
}

// One exchange; throws unless status is 200 and the text or every tool call carries the marker.
async function exchange(agent, provider, mark, options = {}) {
  const res = await post(agent, request(provider, mark, options));
  if (res.status !== 200) throw new Error(`${mark}: status ${res.status}`);
  const got = answer(provider, res);
  expectMarker(mark, got.text, got.calls);
  return got;
}

function expectMarker(mark, text, calls = []) {
  const ok = calls.length ? calls.every((c) => JSON.parse(c.arguments).marker === mark) : text.includes(mark);
  if (!ok) throw new Error(`${mark}: answer does not carry the marker: ${JSON.stringify({ text, calls })}`);
}

// Runs main and exits non-zero with a message on any failure.
function run(main) {
  main().then(() => process.exit(0), (err) => {
    console.error(`client error: ${err.stack || err}`);
    process.exit(1);
  });
}

module.exports = { OPENAI_KEY, ANTHROPIC_KEY, BASE, pidHeader, marker, prompt, sha256, request, post,
                   answer, exchange, expectMarker, run };
