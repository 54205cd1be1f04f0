#!/usr/bin/env python3
"""check_agent.py: checks the story one scripted agent run (clients/agent.py) left in a sensor's
output: ai.response with the tool call -> agent.tool_call -> process.exec of the command ->
file.write of the file -> network.connect -> agent.tool_result, linked by ids and one trace.
usage: check_agent.py EVENTS.jsonl MANIFEST.json     (exit 1 with the reasons on failure)
       check_agent.py --noise EVENTS.jsonl TAG [--expect-present]
         (no event mentions TAG, or with --expect-present: process.exec and file.write do)"""
import json, sys


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def rel(ev, relationship):
    return [r["event_id"] for r in ev.get("related_events", []) if r["relationship"] == relationship]


def in_tree(ev, pid):
    p = ev.get("process", {})
    return p.get("pid") == pid or any(a.get("pid") == pid for a in p.get("ancestors", []))


def check_story(events, m):
    errors = []
    def want(cond, what):
        if not cond:
            errors.append(what)
        return cond
    pid = m["pid"]
    ai = [e for e in events if e["event_type"].startswith("ai.") and e["process"]["pid"] == pid]
    want(len([e for e in ai if e["event_type"] == "ai.request"]) == 2, "want 2 ai.request from the agent")
    want(len([e for e in ai if e["event_type"] == "ai.response"]) == 2, "want 2 ai.response to the agent")
    calls = [e for e in events if e["event_type"] == "agent.tool_call" and e["data"].get("call_id") == m["call_id"]]
    if not want(len(calls) == 1, "want 1 agent.tool_call %s, got %d" % (m["call_id"], len(calls))):
        return errors
    call = calls[0]
    resp = [e for e in ai if e["event_type"] == "ai.response" and
            any(t.get("id") == m["call_id"] for t in e["data"].get("tool_calls", []))]
    want(len(resp) == 1 and rel(call, "caused_by") == [resp[0]["event_id"]],
         "tool_call is not caused_by the ai.response carrying the call")
    want(call["data"]["tool"]["name"] == "run_shell", "tool name")
    cid = call["event_id"]
    caused = [e for e in events if cid in rel(e, "caused_by")]
    execs = [e for e in caused if e["event_type"] == "process.exec" and e["data"].get("args", [None])[0] == "sh"
             and m["out_file"] in " ".join(e["data"]["args"])]
    writes = [e for e in caused if e["event_type"] == "file.write" and e["data"]["path"] == m["out_file"]]
    conns = [e for e in caused if e["event_type"] == "network.connect" and e["data"]["dest"]["port"] == m["port"]]
    want(len(execs) == 1, "want 1 process.exec of the tool's sh caused_by the call, got %d" % len(execs))
    want(len(writes) == 1 and writes[0]["data"]["bytes_written"] == m["bytes"],
         "want 1 file.write of %s with %d bytes caused_by the call: %s" % (
             m["out_file"], m["bytes"], [w["data"] for w in writes]))
    want(len(conns) == 1 and conns[0]["data"]["success"], "want 1 successful network.connect to port %d" % m["port"])
    want(all(in_tree(e, pid) for e in caused), "a caused event is outside the agent's process tree")
    results = [e for e in events if e["event_type"] == "agent.tool_result" and e["data"].get("call_id") == m["call_id"]]
    if want(len(results) == 1, "want 1 agent.tool_result, got %d" % len(results)):
        r = results[0]
        want(rel(r, "parent") == [cid], "tool_result's parent is not the tool_call")
        causes = set(rel(r, "causes"))
        want(all(e["event_id"] in causes for e in execs + writes + conns), "tool_result does not list the exec/write/connect")
        want(r["data"]["success"] is True and r["data"]["result_size_bytes"] == len(m["result"].encode()),
             "result size %s, want %d" % (r["data"].get("result_size_bytes"), len(m["result"].encode())))
        want(r["data"]["duration_ms"] >= 0 and r["data"]["result_hash"].startswith("sha256:"), "duration/hash")
        req2 = [e for e in ai if e["event_type"] == "ai.request"][-1:]
        want(req2 and r["ts"] <= req2[0]["ts"], "tool_result comes after the second request")
    story = ai + calls + caused + results
    traces = {e.get("trace_context", {}).get("trace_id") for e in story}
    want(len(traces) == 1 and None not in traces, "the story spans %d trace ids: %s" % (len(traces), traces))
    return errors


def main(argv):
    if argv[0] == "--noise":
        events, tag = load(argv[1]), argv[2]
        hits = [e for e in events if tag in json.dumps(e.get("data", {})) or tag in json.dumps(e.get("process", {}))]
        if "--expect-present" in argv:
            kinds = {e["event_type"] for e in hits}
            missing = {"process.exec", "file.write"} - kinds
            if missing:
                print("with --all-processes, no %s mentions %s" % (sorted(missing), tag))
                return 1
            return 0
        if hits:
            print("%d events of the unrelated busy process appear: %s" % (len(hits), hits[0]["event_type"]))
            return 1
        return 0
    errors = check_story(load(argv[0]), json.load(open(argv[1])))
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
