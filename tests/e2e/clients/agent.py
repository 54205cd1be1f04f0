"""agent.py: a scripted AI agent for the e2e suite.  It asks the fake provider (OpenAI or
Anthropic API) with a `run_shell` tool, gets a tool call back, does what a coding agent does
(runs a shell command that writes a file, opens a TCP connection), and sends the result back.
usage: agent.py openai|anthropic OUT_FILE MANIFEST
Writes MANIFEST (JSON): pid, call_id, command, out_file, bytes written, result text, connect port."""
import json, os, subprocess, sys

import e2e_common as c


def exchange(conn, path, body, headers):
    conn.request("POST", path, json.dumps(body, ensure_ascii=False).encode(), headers)
    resp = conn.getresponse()
    data = resp.read()
    assert resp.status == 200, "HTTP %d: %r" % (resp.status, data[:200])
    return json.loads(data)


def run_tool(out_file):
    text = "written by the tool %d\n" % os.getpid()
    cmd = ("printf '%s' > %s && /usr/bin/python3 -c \"import socket; "
           "socket.create_connection(('127.0.0.1', %d)).close()\" && echo done"
           % (text.replace("\n", "\\n"), out_file, c.PORT))
    res = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=60)
    return cmd, text, "exit=%d %s" % (res.returncode, res.stdout.strip())


def main():
    provider, out_file, manifest = sys.argv[1:4]
    mark = c.marker("agent")
    path, raw, headers = c.request(provider, mark, text="Write the report file.", tools=["run_shell"])
    body = json.loads(raw)
    conn = c.connect()
    answer = exchange(conn, path, body, headers)
    if provider == "openai":
        msg = answer["choices"][0]["message"]
        call = msg["tool_calls"][0]
        call_id = call["id"]
        body["messages"].append(msg)
        cmd, text, result = run_tool(out_file)
        body["messages"].append({"role": "tool", "tool_call_id": call_id, "content": result})
    else:
        blocks = answer["content"]
        call = next(b for b in blocks if b.get("type") == "tool_use")
        call_id = call["id"]
        body["messages"].append({"role": "assistant", "content": blocks})
        cmd, text, result = run_tool(out_file)
        body["messages"].append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call_id, "content": result}]})
    final = exchange(conn, path, body, headers)
    with open(manifest, "w") as f:
        json.dump({"pid": os.getpid(), "call_id": call_id, "command": cmd, "out_file": out_file,
                   "bytes": len(text.encode()), "result": result, "port": c.PORT,
                   "provider": provider, "marker": mark}, f)
    print("agent", provider, "call", call_id, "final", json.dumps(final)[:80])


if __name__ == "__main__":
    main()
