"""py_loop.py: N OpenAI chat requests on one keep-alive connection, spaced by DELAY seconds,
each with its own marker (for the reload test: traffic flows while the sensor reloads).
usage: py_loop.py N DELAY"""
import sys, time

import e2e_common as c


def main():
    n, delay = int(sys.argv[1]), float(sys.argv[2])
    conn = c.connect()
    for _ in range(n):
        path, body, headers = c.request("openai", c.marker("loop"))
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
        time.sleep(delay)
    print("loop done", n)


if __name__ == "__main__":
    main()
