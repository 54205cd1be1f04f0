#!/usr/bin/env python3
"""check.py: assertions for the sink end-to-end tests.  Each subcommand
prints what it found and exits 1 on the first failed expectation.

  check.py once SENT.jsonl GOT.jsonl [DLQ.jsonl]
      every event of SENT is in GOT or in DLQ, exactly once overall, and
      GOT/DLQ hold nothing else; events compare equal as JSON (DLQ lines are
      also compared byte for byte with SENT's).
  check.py status STATUS.json KIND [--no-dlq]
      the sink of KIND: submitted == delivered + dead_lettered, nothing
      dropped or queued (--no-dlq: nothing dead-lettered either).
  check.py otlp SENT.jsonl OUTDIR
      the OTLP receiver saw no shape errors; one log record per event whose
      body is the event line; gen_ai.* attributes right; one "chat {model}"
      span per exchange from request ts to response ts; one execute_tool
      child span per tool call, parented on its exchange's span.
"""
import json
import sys
from datetime import datetime, timezone


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def cmd_once(sent_path, got_path, dlq_path=None):
    sent = {}
    raw = {}
    for line in read_lines(sent_path):
        ev = json.loads(line)
        sent[ev["event_id"]] = ev
        raw[ev["event_id"]] = line
    seen = {}
    for where, path in (("received", got_path), ("dead-letter", dlq_path)):
        if not path:
            continue
        for line in read_lines(path):
            ev = json.loads(line)
            eid = ev.get("event_id")
            if eid not in sent:
                fail(f"{where} has an event that was never sent: {eid}")
            if eid in seen:
                fail(f"event {eid} arrived twice ({seen[eid]} and {where})")
            if ev != sent[eid]:
                fail(f"event {eid} differs from what was sent")
            if where == "dead-letter" and line != raw[eid]:
                fail(f"dead-letter line of {eid} is not the original line")
            seen[eid] = where
    missing = [e for e in sent if e not in seen]
    if missing:
        fail(f"{len(missing)} of {len(sent)} events neither received nor dead-lettered, e.g. {missing[0]}")
    got = sum(1 for w in seen.values() if w == "received")
    print(f"ok: {len(sent)} events: {got} received once, {len(sent) - got} in the dead-letter file")


def cmd_status(path, kind, *flags):
    st = json.loads(read_lines(path)[-1])
    for s in st["sinks"]:
        if s["kind"] != kind:
            continue
        print(f"{kind}: {s}")
        if s["dropped"] or s["queued"]:
            fail(f"{kind}: dropped={s['dropped']} queued={s['queued']}")
        if s["submitted"] != s["delivered"] + s["dead_lettered"]:
            fail(f"{kind}: submitted != delivered + dead_lettered")
        if "--no-dlq" in flags and s["dead_lettered"]:
            fail(f"{kind}: {s['dead_lettered']} dead-lettered")
        if s["submitted"] != st["events"]:
            fail(f"{kind}: submitted {s['submitted']} of {st['events']}")
        return
    fail(f"no {kind} sink in the status")


def ns(ts):
    dt = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 10**9 + dt.microsecond * 1000


def attrs(obj):
    out = {}
    for a in obj.get("attributes", []):
        (k, v), = a["value"].items()
        out[a["key"]] = v if k != "arrayValue" else [list(x.values())[0] for x in v["values"]]
    return out


def cmd_otlp(sent_path, outdir):
    errors = read_lines(f"{outdir}/errors.txt")
    if errors:
        fail(f"OTLP shape errors: {errors[:3]}")
    sent = [json.loads(line) for line in read_lines(sent_path)]
    lines = {json.loads(line)["event_id"]: line for line in read_lines(sent_path)}
    recs = [json.loads(line) for line in read_lines(f"{outdir}/logs.jsonl")]
    if len(recs) != len(sent):
        fail(f"{len(recs)} log records for {len(sent)} events")
    by_id = {}
    for r in recs:
        a = attrs(r)
        eid = a.get("oisp.event_id")
        if r["body"]["stringValue"] != lines.get(eid):
            fail(f"log record body is not the event line of {eid}")
        by_id[eid] = (r, a)
    requests = {}
    for ev in sent:
        r, a = by_id[ev["event_id"]]
        d = ev.get("data", {})
        if a.get("oisp.event_type") != ev["event_type"] or a.get("process.pid") != str(ev["process"]["pid"]):
            fail(f"oisp.event_type/process.pid wrong on {ev['event_id']}: {a}")
        if ev["event_type"] == "ai.request":
            requests[d["request_id"]] = ev
            if a.get("gen_ai.request.model") != d["model"]["id"] or a.get("gen_ai.system") != "openai":
                fail(f"request attributes wrong: {a}")
        if ev["event_type"] == "ai.response":
            want = {"gen_ai.system": "openai", "gen_ai.response.model": d["model"]["id"],
                    "gen_ai.request.model": requests[d["request_id"]]["data"]["model"]["id"],
                    "gen_ai.usage.input_tokens": str(d["usage"]["prompt_tokens"]),
                    "gen_ai.usage.output_tokens": str(d["usage"]["completion_tokens"]),
                    "gen_ai.response.finish_reasons": [d["finish_reason"]]}
            for k, v in want.items():
                if a.get(k) != v:
                    fail(f"response attribute {k} is {a.get(k)!r}, want {v!r}")
        if int(r["timeUnixNano"]) != ns(ev["ts"]):
            fail(f"timeUnixNano {r['timeUnixNano']} != ts {ev['ts']}")
    spans = [json.loads(line) for line in read_lines(f"{outdir}/spans.jsonl")]
    chats = {s["spanId"]: s for s in spans if s["name"].startswith("chat ")}
    tools = [s for s in spans if s["name"].startswith("execute_tool ")]
    resp = [e for e in sent if e["event_type"] == "ai.response"]
    calls = [e for e in sent if e["event_type"] == "agent.tool_call"]
    if len(chats) != len(resp) or len(tools) != len(calls):
        fail(f"{len(chats)} chat spans for {len(resp)} exchanges, {len(tools)} tool spans for {len(calls)} calls")
    for ev in resp:
        req = requests[ev["data"]["request_id"]]
        rrec, _ = by_id[req["event_id"]]
        s = chats.get(rrec.get("spanId"))
        if not s:
            fail("request log record not linked to its chat span")
        if s["name"] != f"chat {req['data']['model']['id']}":
            fail(f"span name {s['name']}")
        if int(s["startTimeUnixNano"]) != ns(req["ts"]) or int(s["endTimeUnixNano"]) != ns(ev["ts"]):
            fail("chat span does not run from request ts to response ts")
        tc = req.get("trace_context", {}).get("trace_id")
        if tc and s["traceId"] != tc:
            fail("chat span ignores trace_context.trace_id")
        if s.get("kind") != 3 or attrs(s).get("gen_ai.operation.name") != "chat":
            fail("chat span kind/operation")
    for t in tools:
        parent = chats.get(t.get("parentSpanId"))
        if not parent or parent["traceId"] != t["traceId"]:
            fail(f"tool span {t['name']} not a child of its chat span")
        if t["name"] != "execute_tool read_file":
            fail(f"tool span name {t['name']}")
    print(f"ok: {len(recs)} log records, {len(chats)} chat spans, {len(tools)} tool spans, shapes valid")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"once": cmd_once, "status": cmd_status, "otlp": cmd_otlp}[cmd](*args)


if __name__ == "__main__":
    main()
