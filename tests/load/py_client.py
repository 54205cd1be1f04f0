#!/usr/bin/env python3
"""py_client.py: a load client for tests/load (load.sh, soak.sh).

Keep-alive HTTPS/1.1 through Python's ssl module (the system libssl.so.3, so
the sensor's probes see it), one thread per connection.  Each connection
POSTs OpenAI-style chat requests to /v1/chat/completions, alternating
non-streaming and streaming ("stream": true, an SSE answer), reads every
response to the end, and counts the exchanges that completed with status
200.  --rate paces the requests (total per second over all connections);
without it each connection sends back to back.

    py_client.py --port P --model NAME [--conns N] [--duration S] [--rate R] [--body BYTES]
                 [--comm NAME]

--comm renames the process (prctl PR_SET_NAME, before any thread starts, so
every thread inherits it) so that the sensor can be told to capture only
the load clients (`record --comm NAME`).

Prints one line: RESULT requests=N json=A sse=B errors=E seconds=S, and
exits 1 if any request failed.
"""

import argparse
import ctypes
import http.client
import json
import ssl
import sys
import threading
import time


def body_for(model, stream, size):
    base = {"model": model, "stream": stream, "max_tokens": 64,
            "messages": [{"role": "system", "content": "You are a load test."},
                         {"role": "user", "content": ""}]}
    pad = max(0, size - len(json.dumps(base)))
    base["messages"][1]["content"] = ("load " * (pad // 5 + 1))[:pad]
    return json.dumps(base).encode()


class Worker(threading.Thread):
    def __init__(self, args, index, deadline, interval):
        super().__init__(daemon=True)
        self.args, self.index, self.deadline, self.interval = args, index, deadline, interval
        self.json = self.sse = self.errors = 0
        self.error = ""

    def connect(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(self.args.host, self.args.port, context=ctx, timeout=30)

    def run(self):
        bodies = [body_for(self.args.model, False, self.args.body), body_for(self.args.model, True, self.args.body)]
        conn = self.connect()
        n = self.index  # connections start on different kinds
        next_at = time.monotonic()
        while time.monotonic() < self.deadline:
            if self.interval:
                next_at += self.interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            stream = n % 2 == 1
            n += 1
            try:
                conn.request("POST", "/v1/chat/completions", body=bodies[stream],
                             headers={"Content-Type": "application/json",
                                      "Authorization": "Bearer sk-load-test-0000000000000000000000"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200 or not data:
                    raise RuntimeError(f"status {resp.status}")
                if stream:
                    self.sse += 1
                else:
                    self.json += 1
            except Exception as e:  # count it, reconnect, go on
                self.errors += 1
                self.error = repr(e)
                conn.close()
                conn = self.connect()
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--conns", type=int, default=2)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--body", type=int, default=1024)
    ap.add_argument("--comm")
    args = ap.parse_args()
    if args.comm:
        ctypes.CDLL(None).prctl(15, args.comm.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    start = time.monotonic()
    interval = args.conns / args.rate if args.rate > 0 else 0
    workers = [Worker(args, i, start + args.duration, interval) for i in range(args.conns)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    j = sum(w.json for w in workers)
    s = sum(w.sse for w in workers)
    e = sum(w.errors for w in workers)
    print(f"RESULT requests={j + s} json={j} sse={s} errors={e} seconds={time.monotonic() - start:.1f}")
    for w in workers:
        if w.error:
            print(f"py_client: connection {w.index}: {w.errors} errors, last {w.error}", file=sys.stderr)
    return 1 if e else 0


if __name__ == "__main__":
    sys.exit(main())
