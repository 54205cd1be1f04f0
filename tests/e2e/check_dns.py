#!/usr/bin/env python3
"""check_dns.py: checks the r_dns scenario: every lookup clients/dns_client.py made as a tracked process
is one network.dns event with the right question, path (syscalls), response code, answers (dns_server.py's
rule) and resolver; the file it wrote with os.writev has one file.write with the exact byte count; the
untracked client's lookup reached the server but not the events.
usage: check_dns.py EVENTS.jsonl SERVER_LOG.jsonl MANIFEST... [--untracked MANIFEST]
(exit 1 with the reasons on failure)"""
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dns_server import dns_answer  # noqa: E402

RESOLVER = "127.0.0.1:53"


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def check_tracked(events, served, m, errors):
    pid = m["pid"]
    mine = [e for e in events if e["event_type"] == "network.dns" and e["process"]["pid"] == pid]
    seen = set()
    for q in m["queries"]:
        key = (q["name"], q["type"])
        seen.add(key)
        what = "%s %s (%s/%s)" % (q["name"], q["type"], q["send"], q["recv"])
        if key not in served:
            errors.append("%s: the DNS server never got it (harness)" % what)
        evs = [e for e in mine if (e["data"]["query_name"], e["data"]["query_type"]) == key]
        if len(evs) != 1:
            errors.append("%s: want 1 network.dns event of pid %d, got %d" % (what, pid, len(evs)))
            continue
        e = evs[0]
        d, attrs = e["data"], e.get("attrs", {})
        if d.get("resolver") != RESOLVER:
            errors.append("%s: resolver %r, want %r" % (what, d.get("resolver"), RESOLVER))
        if e["source"].get("capture_point") != "sys_exit_" + q["send"]:
            errors.append("%s: sent by %s, want sys_exit_%s" % (what, e["source"].get("capture_point"), q["send"]))
        if q["outcome"] == "none":
            if "response_code" in d or attrs.get("no_reply") != "process_exited":
                errors.append("%s: want no response and no_reply=process_exited: %s %s" % (what, d, attrs))
            continue
        if attrs.get("reply_syscall") != q["recv"]:
            errors.append("%s: reply read by %r, want %s" % (what, attrs.get("reply_syscall"), q["recv"]))
        rcode, records = dns_answer(q["name"], q["type"])
        want_rc = {0: "NOERROR", 3: "NXDOMAIN"}[rcode]
        if d.get("response_code") != want_rc:
            errors.append("%s: response_code %r, want %s" % (what, d.get("response_code"), want_rc))
        got = [(a.get("type"), a.get("value")) for a in d.get("answers", [])]
        if got != records:
            errors.append("%s: answers %s, want %s" % (what, got, records))
        if any(a.get("ttl") != 60 for a in d.get("answers", [])):
            errors.append("%s: answer TTLs %s, want 60" % (what, [a.get("ttl") for a in d["answers"]]))
        lat = d.get("latency_ms")
        if not isinstance(lat, (int, float)) or not 0 <= lat < 5000:
            errors.append("%s: latency_ms %r" % (what, lat))
        if e["confidence"].get("completeness") != "full":
            errors.append("%s: completeness %r" % (what, e["confidence"].get("completeness")))
    extra = [(e["data"]["query_name"], e["data"]["query_type"]) for e in mine
             if (e["data"]["query_name"], e["data"]["query_type"]) not in seen]
    if extra:
        errors.append("pid %d: unexpected network.dns events %s" % (pid, extra))
    if "addresses" in m:  # getaddrinfo saw the server's answers
        want = sorted(v for q in m["queries"] for _, v in dns_answer(q["name"], q["type"])[1])
        if m["addresses"] != want:
            errors.append("getaddrinfo returned %s, want %s (harness)" % (m["addresses"], want))
    if "writev" in m:
        w = m["writev"]
        writes = [e for e in events if e["event_type"] == "file.write" and e["data"].get("path") == w["path"]]
        if len(writes) != 1 or writes[0]["data"].get("bytes_written") != w["bytes"]:
            errors.append("want 1 file.write of %s with %d bytes (writev), got %s" % (
                w["path"], w["bytes"], [x["data"] for x in writes]))


def main(argv):
    untracked = None
    if "--untracked" in argv:
        i = argv.index("--untracked")
        untracked = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    events, served_log = load(argv[0]), load(argv[1])
    served = {(s["name"], {1: "A", 28: "AAAA"}.get(s["qtype"], s["qtype"])) for s in served_log}
    errors = []
    for path in argv[2:]:
        check_tracked(events, served, json.load(open(path)), errors)
    if untracked:
        m = json.load(open(untracked))
        name = m["queries"][0]["name"]
        if (name, "A") not in served:
            errors.append("the untracked lookup of %s never reached the server (harness)" % name)
        leaked = [e for e in events if e["process"].get("pid") == m["pid"] or
                  (e["event_type"] == "network.dns" and e["data"].get("query_name") == name)]
        if leaked:
            errors.append("%d events of the untracked process appear: %s" % (len(leaked), leaked[0]["event_type"]))
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
