#!/usr/bin/env python3
"""receiver.py: HTTP receivers on 127.0.0.1 for the sink end-to-end tests.

  receiver.py otlp    --port-file F --out DIR
  receiver.py webhook --port-file F --out DIR [--fail-every N] [--timeout-every N]
                      [--hang SECS] [--faults N] [--expect-auth HEADER:VALUE]

otlp: accepts POST /v1/logs and /v1/traces, gunzips (Content-Encoding: gzip),
checks every request against the OTLP/JSON shape (resource attributes,
scope name, logRecords / spans with their required fields, hex ids,
string-encoded 64-bit integers, attribute value types) and writes what it
got: DIR/logs.jsonl (one log record per line), DIR/spans.jsonl (one span per
line), DIR/errors.txt (shape violations, one per line), DIR/requests.txt.

webhook: accepts POST / with a JSON array or NDJSON body.  Among the first
--faults requests, every --fail-every-th is answered 500 and every
--timeout-every-th is held for --hang seconds and then dropped without an
answer (its events are NOT recorded: the sender timed out, so it will
resend); after that every request succeeds.  Accepted events are appended
to DIR/events.jsonl, one per line.

Both bind port 0 and write the port to --port-file when ready.  With
--discard (benchmarks) they acknowledge every request without checking or
keeping it.
"""
import argparse
import gzip
import http.server
import json
import os
import re
import socketserver
import sys
import threading
import time

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
U64 = re.compile(r"^[0-9]+$")


def check_value(v, where, errors):
    if not isinstance(v, dict) or len(v) != 1:
        errors.append(f"{where}: AnyValue must have exactly one field: {v!r}"[:300])
        return
    (k, x), = v.items()
    if k == "stringValue" and not isinstance(x, str):
        errors.append(f"{where}: stringValue not a string")
    elif k == "intValue" and not (isinstance(x, str) and U64.match(x)):
        errors.append(f"{where}: intValue must be a decimal string, got {x!r}")
    elif k == "arrayValue":
        if not isinstance(x, dict) or not isinstance(x.get("values"), list):
            errors.append(f"{where}: arrayValue.values missing")
        else:
            for i, e in enumerate(x["values"]):
                check_value(e, f"{where}[{i}]", errors)
    elif k not in ("stringValue", "intValue", "arrayValue", "boolValue", "doubleValue", "kvlistValue",
                   "bytesValue"):
        errors.append(f"{where}: unknown AnyValue kind {k}")


def check_attrs(attrs, where, errors):
    if not isinstance(attrs, list):
        errors.append(f"{where}: attributes must be a list")
        return {}
    out = {}
    for a in attrs:
        if not isinstance(a, dict) or not isinstance(a.get("key"), str) or "value" not in a:
            errors.append(f"{where}: bad attribute {a!r}"[:300])
            continue
        check_value(a["value"], f"{where}.{a['key']}", errors)
        out[a["key"]] = a["value"]
    return out


def check_resource_scope(top, inner_key, items_key, errors):
    """Yields the items under resource*/scope*/items after checking the frame."""
    if not isinstance(top, list) or not top:
        errors.append("no resource entries")
        return
    for r in top:
        attrs = check_attrs(r.get("resource", {}).get("attributes"), "resource", errors)
        if attrs.get("service.name") != {"stringValue": "oisp-sensor"}:
            errors.append(f"resource service.name is {attrs.get('service.name')!r}")
        if "host.name" not in attrs:
            errors.append("resource host.name missing")
        for s in r.get(inner_key, []):
            if s.get("scope", {}).get("name") != "oisp-sensor":
                errors.append(f"scope name is {s.get('scope')!r}")
            for it in s.get(items_key, []):
                yield it


def check_logs(doc, errors):
    for rec in check_resource_scope(doc.get("resourceLogs"), "scopeLogs", "logRecords", errors):
        for f in ("timeUnixNano", "observedTimeUnixNano"):
            if not (isinstance(rec.get(f), str) and U64.match(rec[f])):
                errors.append(f"logRecord {f} must be a decimal string")
        if not isinstance(rec.get("body", {}).get("stringValue"), str):
            errors.append("logRecord body must be a stringValue")
        check_attrs(rec.get("attributes"), "logRecord", errors)
        if "traceId" in rec and not (HEX32.match(rec["traceId"]) and HEX16.match(rec.get("spanId", ""))):
            errors.append(f"logRecord trace/span id not hex: {rec.get('traceId')} {rec.get('spanId')}")
        yield rec


def check_spans(doc, errors):
    for sp in check_resource_scope(doc.get("resourceSpans"), "scopeSpans", "spans", errors):
        if not HEX32.match(sp.get("traceId", "")) or not HEX16.match(sp.get("spanId", "")):
            errors.append(f"span ids not hex: {sp.get('traceId')} {sp.get('spanId')}")
        if "parentSpanId" in sp and not HEX16.match(sp["parentSpanId"]):
            errors.append("parentSpanId not hex")
        for f in ("startTimeUnixNano", "endTimeUnixNano"):
            if not (isinstance(sp.get(f), str) and U64.match(sp[f])):
                errors.append(f"span {f} must be a decimal string")
        if not isinstance(sp.get("name"), str) or not isinstance(sp.get("kind"), int):
            errors.append("span name/kind missing")
        check_attrs(sp.get("attributes"), "span", errors)
        yield sp


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.count = 0
        self.discarded = 0
        os.makedirs(args.out, exist_ok=True)

    def append(self, name, lines):
        with self.lock, open(os.path.join(self.args.out, name), "a") as f:
            for line in lines:
                f.write(line + "\n")


def make_handler(state):
    args = state.args

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes

        def log_message(self, *a):
            pass

        def reply(self, code, body=b"{}"):
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def read_body(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            return raw

        def do_POST(self):
            with state.lock:
                state.count += 1
                n = state.count
            body = self.read_body()
            if args.discard:  # benchmarks: acknowledge, count, keep nothing
                with state.lock:
                    state.discarded += body.count(b"observedTimeUnixNano") if args.mode == "otlp" \
                        else (body.count(b"\n") if body.endswith(b"\n") else body.count(b'"event_id"'))
                return self.reply(200)
            if args.mode == "otlp":
                return self.otlp(body, n)
            return self.webhook(body, n)

        def otlp(self, body, n):
            errors = []
            state.append("requests.txt", [f"{self.path} {self.headers.get('Content-Encoding', '-')} "
                                          f"{self.headers.get('Authorization', '-')} "
                                          f"{self.headers.get('X-Tenant', '-')}"])
            try:
                doc = json.loads(body)
            except ValueError as e:
                state.append("errors.txt", [f"request {n}: not JSON: {e}"])
                return self.reply(400)
            if self.path == "/v1/logs":
                recs = list(check_logs(doc, errors))
                state.append("logs.jsonl", [json.dumps(r) for r in recs])
            elif self.path == "/v1/traces":
                spans = list(check_spans(doc, errors))
                state.append("spans.jsonl", [json.dumps(s) for s in spans])
            else:
                errors.append(f"unexpected path {self.path}")
            if errors:
                state.append("errors.txt", [f"request {n}: {e}" for e in errors])
            self.reply(200, b"{}")

        def webhook(self, body, n):
            if args.expect_auth:
                name, value = args.expect_auth.split(":", 1)
                if self.headers.get(name) != value:
                    state.append("errors.txt", [f"request {n}: {name} is {self.headers.get(name)!r}"])
                    return self.reply(401)
            if n <= args.faults:
                if args.timeout_every and n % args.timeout_every == 0:
                    time.sleep(args.hang)
                    self.close_connection = True
                    return
                if args.fail_every and n % args.fail_every == 0:
                    return self.reply(500, b'{"error":"injected"}')
            ctype = self.headers.get("Content-Type", "")
            text = body.decode()
            if ctype.startswith("application/x-ndjson"):
                evs = [json.loads(line) for line in text.split("\n") if line]
            else:
                evs = json.loads(text)
                if not isinstance(evs, list):
                    state.append("errors.txt", [f"request {n}: body is not an array"])
                    return self.reply(400)
            state.append("events.jsonl", [json.dumps(e, separators=(",", ":")) for e in evs])
            self.reply(200)

    return H


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["otlp", "webhook"])
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--fail-every", type=int, default=0)
    p.add_argument("--timeout-every", type=int, default=0)
    p.add_argument("--hang", type=float, default=3.0)
    p.add_argument("--faults", type=int, default=0)
    p.add_argument("--expect-auth", default="")
    p.add_argument("--discard", action="store_true", help="acknowledge without checking or keeping")
    p.add_argument("--lifetime", type=float, default=300.0, help="exit after this many seconds")
    args = p.parse_args()
    state = State(args)
    srv = Server(("127.0.0.1", args.port), make_handler(state))
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
