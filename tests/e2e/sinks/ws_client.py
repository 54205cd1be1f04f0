#!/usr/bin/python3
"""ws_client.py: WebSocket clients for the sink end-to-end tests (Debian's
python3-websocket, a real RFC 6455 client).

  ws_client.py read URL OUT.jsonl SECONDS [--subscribe JSON] [--header H]
      connects, optionally sends a subscribe message, and writes every text
      message it receives to OUT.jsonl until SECONDS pass without a message
      (after the first) or the server closes.  Prints "connected" on stdout
      as soon as the handshake is done.
  ws_client.py stall URL FLAGFILE SECONDS
      connects and reads nothing until FLAGFILE exists (or SECONDS pass);
      then reports whether the server had closed it.
  ws_client.py refuse URL [--header H]
      exits 0 if the handshake is refused.
"""
import os
import socket
import sys
import time

import websocket


def opt(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def connect(url, timeout):
    kw = {"header": [opt("--header")]} if opt("--header") else {}
    return websocket.create_connection(url, timeout=timeout, **kw)


def read(url, out, idle):
    ws = connect(url, idle)
    sub = opt("--subscribe")
    if sub:
        ws.send(sub)
    print("connected", flush=True)
    n = 0
    with open(out, "w") as f:
        while True:
            try:
                msg = ws.recv()
            except websocket.WebSocketTimeoutException:
                break
            except websocket.WebSocketConnectionClosedException:
                break
            if not msg:
                break
            f.write(msg + "\n")
            n += 1
    ws.close()
    print(f"received {n}", flush=True)


def stall(url, flag, secs):
    ws = connect(url, 5)
    sock = ws.sock
    print("connected", flush=True)
    deadline = time.time() + secs
    while time.time() < deadline and not os.path.exists(flag):
        time.sleep(0.1)
    # now look: a dropped client finds the connection closed after draining
    sock.settimeout(2)
    closed = False
    try:
        while True:
            data = sock.recv(1 << 20)
            if not data:
                closed = True
                break
    except (socket.timeout, TimeoutError):
        pass
    except OSError:
        closed = True
    print("closed" if closed else "open", flush=True)


def refuse(url):
    try:
        ws = connect(url, 5)
        ws.close()
        print("accepted")
        return 1
    except (websocket.WebSocketBadStatusException, websocket.WebSocketConnectionClosedException,
            ConnectionError, OSError) as e:
        print(f"refused: {type(e).__name__}")
        return 0


def main():
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "read":
        read(url, sys.argv[3], float(sys.argv[4]))
    elif mode == "stall":
        stall(url, sys.argv[3], float(sys.argv[4]))
    elif mode == "refuse":
        return refuse(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
