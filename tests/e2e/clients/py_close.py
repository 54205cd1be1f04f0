#!/usr/bin/env python3
"""py_close.py: a response whose body ends where the connection does (no Content-Length,
no chunking). The client reads to EOF, frees its SSL object and stays alive: the exchange
can only be complete once the sensor has seen SSL_free, not the process exit.

usage: py_close.py READY_FILE DONE_FILE: writes READY_FILE when the SSL object is gone,
then waits (at most 30 s) for DONE_FILE before exiting."""
import gc
import os
import socket
import sys
import time

import e2e_common as c

ready, done = sys.argv[1], sys.argv[2]
mark = c.marker("close")
path, body, headers = c.request("openai", mark, opts=("close",))
s = c.ssl_context().wrap_socket(socket.create_connection(("127.0.0.1", c.PORT)),
                                server_hostname="127.0.0.1")
head = "POST %s HTTP/1.1\r\nHost: api.openai.com\r\n%sContent-Length: %d\r\n\r\n" % (
    path, "".join("%s: %s\r\n" % kv for kv in headers.items()), len(body))
s.sendall(head.encode() + body)
raw = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    raw += b
if mark.encode() not in raw or b"Content-Length" in raw.split(b"\r\n\r\n")[0]:
    c.die("the answer is not a close-delimited body carrying the marker")
s.close()
del s
gc.collect()  # the SSLSocket's SSL object is freed here: SSL_free
open(ready, "w").close()
for _ in range(300):
    if os.path.exists(done):
        break
    time.sleep(0.1)
