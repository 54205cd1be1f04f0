#!/usr/bin/env python3
"""dns_server.py: a tiny authoritative DNS server for the e2e suite, on UDP 127.0.0.1:53 only.
usage: dns_server.py DIR      (writes DIR/dns.ready when bound, DIR/dns.jsonl: one line per query)

Answers (the rule is dns_answer() below, which check_dns.py imports):
  A     NAME.oisp.test   -> 127.0.0.N, N from the name (2..251), TTL 60
  AAAA  NAME.oisp.test   -> fd00::N, TTL 60
  alias.oisp.test        -> CNAME target.oisp.test, then target's A
  nx.oisp.test, anything outside oisp.test -> NXDOMAIN
  silent.oisp.test       -> no reply at all
  other types            -> NOERROR, no answers
"""
import json, os, socket, struct, sys

ZONE = "oisp.test"
TTL = 60


def host_number(name):
    return sum(name.lower().encode()) % 250 + 2


def dns_answer(name, qtype):
    """(rcode, [(type, value)]) for a question; None: no reply.  qtype: 'A', 'AAAA' or a number."""
    n = name.lower().rstrip(".")
    if n == "silent." + ZONE:
        return None
    if n == "nx." + ZONE or not n.endswith("." + ZONE):
        return 3, []
    if n == "alias." + ZONE:
        target = "target." + ZONE
        rest = dns_answer(target, qtype)[1] if qtype in ("A", "AAAA") else []
        return 0, [("CNAME", target)] + rest
    if qtype == "A":
        return 0, [("A", "127.0.0.%d" % host_number(n))]
    if qtype == "AAAA":
        return 0, [("AAAA", "fd00::%x" % host_number(n))]
    return 0, []


def read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels), off + 1
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def reply(msg):
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    name, off = read_name(msg, 12)
    qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    question = msg[12:off + 4]
    tname = {1: "A", 28: "AAAA"}.get(qtype, qtype)
    ans = dns_answer(name, tname)
    log = {"id": qid, "name": name, "qtype": qtype}
    if ans is None:
        return None, log
    rcode, records = ans
    body = b""
    for rtype, value in records:
        if rtype == "A":
            rdata, t = socket.inet_aton(value), 1
        elif rtype == "AAAA":
            rdata, t = socket.inet_pton(socket.AF_INET6, value), 28
        else:
            rdata, t = encode_name(value), 5
        owner = b"\xc0\x0c" if not body else encode_name(records[0][1])  # first: a pointer to the question
        body += owner + struct.pack("!HHIH", t, 1, TTL, len(rdata)) + rdata
    hdr = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode, 1, len(records), 0, 0)
    log.update(rcode=rcode, answers=len(records))
    return hdr + question + body, log


def main():
    d = sys.argv[1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 53))
    except OSError as e:
        print("dns_server: cannot bind 127.0.0.1:53: %s" % e, file=sys.stderr)
        sys.exit(1)
    open(os.path.join(d, "dns.ready"), "w").close()
    with open(os.path.join(d, "dns.jsonl"), "a") as logf:
        while True:
            msg, peer = s.recvfrom(4096)
            try:
                out, log = reply(msg)
            except (ValueError, IndexError, struct.error) as e:
                print("dns_server: bad query from %s: %s" % (peer, e), file=sys.stderr)
                continue
            log["client_port"] = peer[1]
            logf.write(json.dumps(log) + "\n")
            logf.flush()
            if out is not None:
                s.sendto(out, peer)


if __name__ == "__main__":
    main()
