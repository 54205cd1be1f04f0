#!/usr/bin/env python3
"""py_httpclient.py MODE [ARGS]: python http.client (SSL_read_ex/SSL_write_ex) e2e client.

  keepalive        5 mixed requests on one kept-alive connection
  big              one OpenAI request whose user message is exactly 1 MiB
  unicode          OpenAI request and answer with accents, CJK and emoji
  presensor DIR    1 request, then touch DIR/waiting and wait for DIR/go, then 2 more requests on
                   the same connection (the sensor is started in between)
"""
import os, sys, time
import e2e_common as c


def same_connection(conn, sock):
    if conn.sock is not sock:
        c.die("http.client opened a new connection; keep-alive was wanted")


def keepalive():
    conn = c.connect()
    c.exchange(conn, "openai", c.marker("ka"), stream=True)
    sock = conn.sock
    c.exchange(conn, "openai", c.marker("ka"))
    c.exchange(conn, "anthropic", c.marker("ka"), stream=True)
    c.exchange(conn, "anthropic", c.marker("ka"), opts=["chunked"])
    c.exchange(conn, "openai", c.marker("ka"), opts=["gzip"], model="o3-mini")
    same_connection(conn, sock)


def big():
    mark = c.marker("bigpy")
    text = c.filler((1 << 20) - len(c.prompt(mark, ["sha"], "")))
    answer = c.exchange(c.connect(), "openai", mark, text=text, opts=["sha"])
    if "sha256=" + c.sha256(c.prompt(mark, ["sha"], text)) not in answer:
        c.die("the 1 MiB prompt did not arrive intact at the server")


def unicode():
    conn = c.connect()
    c.exchange(conn, "openai", c.marker("uni"), opts=["echo", "unicode"],
               text="Ünïcödé prompt: 北京, Ελληνικά, 😀👍🏽, ﬁ ligature, done")


def presensor(d):
    conn = c.connect()
    c.exchange(conn, "openai", c.marker("presensor"))
    sock = conn.sock
    open(os.path.join(d, "waiting"), "w").close()
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(d, "go")):
        if time.time() > deadline:
            c.die("nobody created %s/go" % d)
        time.sleep(0.05)
    c.exchange(conn, "openai", c.marker("after"), stream=True)
    c.exchange(conn, "anthropic", c.marker("after"))
    same_connection(conn, sock)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"keepalive": keepalive, "big": big, "unicode": unicode, "presensor": presensor}[mode](*args)
