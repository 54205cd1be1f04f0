#!/usr/bin/env node
// node_client.js: a load client for tests/load (load.sh, soak.sh).
//
// Keep-alive HTTPS/1.1 through node's https module (node's own statically
// linked OpenSSL, which the sensor probes in the node binary), N concurrent
// request loops over an agent of N sockets.  Each loop POSTs OpenAI-style
// chat requests to /v1/chat/completions, alternating non-streaming and
// streaming ("stream":true, an SSE answer), reads every response to the
// end and counts the exchanges that completed with status 200.  --rate
// paces the requests (total per second); without it each loop sends back
// to back.
//
//   node node_client.js --port P --model NAME [--conns N] [--duration S] [--rate R] [--body BYTES]
//                       [--title NAME]
//
// --title renames the process (process.title, which sets the thread name the
// kernel reports as comm) so that the sensor can be told to capture only the
// load clients (`record --comm NAME`).
//
// Prints one line: RESULT requests=N json=A sse=B errors=E seconds=S, and
// exits 1 if any request failed.
'use strict';
const https = require('https');

function parseArgs(argv) {
  const a = { host: '127.0.0.1', port: 0, model: '', conns: 2, duration: 10, rate: 0, body: 1024, title: '' };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in a)) throw new Error(`unknown option ${argv[i]}`);
    a[k] = typeof a[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!a.port || !a.model) throw new Error('--port and --model are required');
  return a;
}

function bodyFor(model, stream, size) {
  const base = { model, stream, max_tokens: 64,
    messages: [{ role: 'system', content: 'You are a load test.' }, { role: 'user', content: '' }] };
  const pad = Math.max(0, size - JSON.stringify(base).length);
  base.messages[1].content = 'load '.repeat(Math.floor(pad / 5) + 1).slice(0, pad);
  return Buffer.from(JSON.stringify(base));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function post(agent, a, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: a.host, port: a.port, method: 'POST', path: '/v1/chat/completions',
      agent, rejectUnauthorized: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length,
        Authorization: 'Bearer sk-load-test-0000000000000000000000' } }, (res) => {
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => (res.statusCode === 200 && n > 0 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const a = parseArgs(process.argv);
  if (a.title) process.title = a.title;
  const agent = new https.Agent({ keepAlive: true, maxSockets: a.conns });
  const bodies = [bodyFor(a.model, false, a.body), bodyFor(a.model, true, a.body)];
  const start = Date.now();
  const deadline = start + a.duration * 1000;
  const interval = a.rate > 0 ? (a.conns * 1000) / a.rate : 0;
  const tally = { json: 0, sse: 0, errors: 0, last: '' };
  async function loop(index) {
    let n = index;
    let next = Date.now();
    while (Date.now() < deadline) {
      if (interval) {
        next += interval;
        const d = next - Date.now();
        if (d > 0) await sleep(d);
      }
      const stream = n % 2 === 1;
      n++;
      try {
        await post(agent, a, bodies[stream ? 1 : 0]);
        if (stream) tally.sse++; else tally.json++;
      } catch (e) {
        tally.errors++;
        tally.last = String(e);
      }
    }
  }
  await Promise.all(Array.from({ length: a.conns }, (_, i) => loop(i)));
  agent.destroy();
  const secs = ((Date.now() - start) / 1000).toFixed(1);
  console.log(`RESULT requests=${tally.json + tally.sse} json=${tally.json} sse=${tally.sse} errors=${tally.errors} seconds=${secs}`);
  if (tally.errors) console.error(`node_client: ${tally.errors} errors, last ${tally.last}`);
  process.exit(tally.errors ? 1 : 0);
}

main().catch((e) => { console.error(`node_client: ${e.message}`); process.exit(2); });
