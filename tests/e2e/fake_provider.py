#!/usr/bin/env python3
"""fake_provider.py: a local HTTPS stand-in for the OpenAI and Anthropic APIs, for the e2e suite.

Usage: fake_provider.py DIR
Makes a self-signed certificate for 127.0.0.1, api.openai.com and api.anthropic.com in DIR
(openssl CLI), listens on a free port of 127.0.0.1 (HTTP/1.1 keep-alive, ALPN http/1.1 only, one thread per connection), writes the port
to DIR/port once listening, and appends one JSON line per exchange to DIR/server.jsonl.

Routes: POST /v1/chat/completions and /v1/embeddings (OpenAI), POST /v1/messages (Anthropic),
streaming (SSE) or not, tool calls, Anthropic thinking blocks, usage with cached/reasoning tokens.
The request steers the answer:
  MARK-xxx         first such token in the body is the exchange's marker; answers repeat it
  opt:gzip         Content-Encoding: gzip (for SSE: one sync-flushed gzip stream)
  opt:chunked      Transfer-Encoding: chunked for a non-streaming body (SSE is always chunked)
  opt:status=NNN   answer with that HTTP status and the provider's real error body
  opt:echo         the answer repeats the whole user message
  opt:unicode      the answer ends with non-ASCII text (accents, CJK, emoji)
  opt:sha          the answer carries sha256 of the user message
  tools in body    the answer is a tool call to (up to two of) the tools offered, unless the
                   last message returns a tool result (then the answer is text)
The log line records what was received and answered, so tests can compare exactly: path,
provider, model, marker, stream, status, client pid (X-E2E-Pid header) and its comm, user
message sha256/length, answer text, tool calls, raw usage, finish reason, error.
"""
import base64, gzip, hashlib, http.server, json, os, re, socketserver, ssl, struct
import subprocess, sys, threading, time, zlib

FIRST_BYTE_DELAY = 0.03   # seconds before the first body byte: gives latency a floor tests check
UNICODE_TAIL = " Grüße, café, naïve — 日本語のテキスト, 中文, 한국어, emoji 🚀🎉👩‍💻, Ωμέγα."
OPENAI_ERRORS = {
    400: ("invalid_request_error", "Invalid value for 'messages'.", None),
    401: ("invalid_request_error", "Incorrect API key provided. You can find your API key at "
          "https://platform.openai.com/account/api-keys.", "invalid_api_key"),
    429: ("requests", "Rate limit reached for requests.", "rate_limit_exceeded"),
    500: ("server_error", "The server had an error while processing your request. Sorry about that!",
          None),
}
ANTHROPIC_ERRORS = {
    400: ("invalid_request_error", "messages: at least one message is required"),
    401: ("authentication_error", "invalid x-api-key"),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:api.openai.com,DNS:api.anthropic.com"],
                       check=True, capture_output=True)
    return cert, key


def user_text(req):
    """Text of the last user message (string or list of text parts), or the embeddings input."""
    if "input" in req and "messages" not in req:
        inp = req["input"]
        return inp if isinstance(inp, str) else "\n".join(map(str, inp))
    for m in reversed(req.get("messages") or []):
        if m.get("role") != "user":
            continue
        c = m.get("content")
        if isinstance(c, list):
            return "".join(p.get("text", "") for p in c if isinstance(p, dict))
        return c if isinstance(c, str) else ""
    return ""


def tool_names(req):
    return [t.get("name") or (t.get("function") or {}).get("name") for t in req.get("tools") or []]


def answers_tool_call(req):
    """True when the last message returns a tool's result: then, like a real model, answer in text."""
    msgs = req.get("messages") or []
    if not msgs or not isinstance(msgs[-1], dict):
        return False
    last = msgs[-1]
    if last.get("role") == "tool":
        return True
    c = last.get("content")
    return isinstance(c, list) and any(isinstance(p, dict) and p.get("type") == "tool_result" for p in c)


class Exchange:
    """What one request asks for and what the fake provider answers, independent of wire format."""

    def __init__(self, path, raw, req):
        self.path, self.req = path, req
        body = raw.decode("utf-8", "replace")
        m = re.search(r"MARK-[A-Za-z0-9_-]+", body)
        self.marker = m.group(0) if m else ""
        self.opts = set(re.findall(r"opt:([a-z0-9=_-]+)", body))
        st = [o for o in self.opts if o.startswith("status=")]
        self.status = int(st[0].split("=")[1]) if st else 200
        self.stream = bool(req.get("stream"))
        self.model = req.get("model", "")
        self.text = user_text(req)
        self.tools = [] if answers_tool_call(req) else [n for n in tool_names(req) if n]
        self.answer = "Reply to %s." % self.marker
        if "sha" in self.opts:
            self.answer += " sha256=" + hashlib.sha256(self.text.encode()).hexdigest()
        if "echo" in self.opts:
            self.answer += " You said: " + self.text
        if "unicode" in self.opts:
            self.answer += UNICODE_TAIL
        self.tool_calls = []
        for i, name in enumerate(self.tools[:2]):
            args = json.dumps({"marker": self.marker, "city": "Zürich", "days": 3 + i},
                              ensure_ascii=False)
            self.tool_calls.append({"id": "call_%s_%d" % (short_id(self.marker), i),
                                    "name": name, "arguments": args})
        self.prompt_tokens = 10 + len(self.text) // 4
        self.completion_tokens = 5 + len(self.answer) // 4

    def log(self, host, provider, pid, comm, extra):
        rec = {"ts": time.time(), "host": host, "path": self.path, "provider": provider,
               "model": self.model, "marker": self.marker, "stream": self.stream,
               "status": self.status, "pid": pid, "comm": comm,
               "user_sha256": hashlib.sha256(self.text.encode()).hexdigest(),
               "user_len": len(self.text.encode()), "user_text": self.text[:200],
               "tools": self.tools, "opts": sorted(self.opts)}
        rec.update(extra)
        return rec


def short_id(marker):
    return hashlib.sha1(marker.encode()).hexdigest()[:12]


def pieces(s, n):
    return [s[i:i + n] for i in range(0, len(s), n)] or [""]


def sse(data, event=None, ascii_only=False):
    head = "event: %s\n" % event if event else ""
    return (head + "data: " + json.dumps(data, ensure_ascii=ascii_only) + "\n\n").encode()


# ---------------------------------------------------------------------------------------------
# OpenAI
# ---------------------------------------------------------------------------------------------

def openai_usage(x):
    reasoning = 64 if x.model.startswith("o") else 0
    return {"prompt_tokens": x.prompt_tokens, "completion_tokens": x.completion_tokens + reasoning,
            "total_tokens": x.prompt_tokens + x.completion_tokens + reasoning,
            "prompt_tokens_details": {"cached_tokens": x.prompt_tokens // 3, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0}}


def openai_error(x):
    etype, msg, code = OPENAI_ERRORS.get(x.status, ("invalid_request_error", "Error %d" % x.status, None))
    body = {"error": {"message": msg, "type": etype, "param": None, "code": code}}
    return body, {"error": {"type": etype, "message": msg, "code": code}}


def openai_chat(x):
    """Returns (log fields, non-stream body or None, list of SSE frames or None)."""
    cid = "chatcmpl-" + short_id(x.marker)
    finish = "tool_calls" if x.tool_calls else "stop"
    usage = openai_usage(x)
    content = None if x.tool_calls else x.answer
    fields = {"answer": content or "", "tool_calls": x.tool_calls, "finish_reason": finish,
              "usage": usage}
    base = {"id": cid, "created": int(time.time()), "model": x.model,
            "system_fingerprint": "fp_e2e"}
    if not x.stream:
        msg = {"role": "assistant", "content": content, "refusal": None}
        if x.tool_calls:
            msg["tool_calls"] = [{"id": t["id"], "type": "function",
                                  "function": {"name": t["name"], "arguments": t["arguments"]}}
                                 for t in x.tool_calls]
        body = dict(base, object="chat.completion", usage=usage,
                    choices=[{"index": 0, "message": msg, "logprobs": None, "finish_reason": finish}])
        return fields, body, None
    chunk = dict(base, object="chat.completion.chunk")

    def frame(delta, fin=None):
        return sse(dict(chunk, choices=[{"index": 0, "delta": delta, "logprobs": None,
                                         "finish_reason": fin}]))
    frames = [frame({"role": "assistant", "content": "" if content else None, "refusal": None})]
    if content:
        frames += [frame({"content": p}) for p in pieces(content, 7)]
    for i, t in enumerate(x.tool_calls):
        frames.append(frame({"tool_calls": [{"index": i, "id": t["id"], "type": "function",
                                             "function": {"name": t["name"], "arguments": ""}}]}))
        frames += [frame({"tool_calls": [{"index": i, "function": {"arguments": p}}]})
                   for p in pieces(t["arguments"], 5)]
    frames.append(frame({}, finish))
    if (x.req.get("stream_options") or {}).get("include_usage"):
        frames.append(sse(dict(chunk, choices=[], usage=usage)))
    frames.append(b"data: [DONE]\n\n")
    return fields, None, frames


def openai_embeddings(x):
    inputs = x.req.get("input")
    inputs = inputs if isinstance(inputs, list) else [inputs]
    vec = [round(0.001 * i, 6) for i in range(16)]
    b64 = x.req.get("encoding_format") == "base64"
    emb = base64.b64encode(struct.pack("<16f", *vec)).decode() if b64 else vec
    usage = {"prompt_tokens": x.prompt_tokens, "total_tokens": x.prompt_tokens}
    body = {"object": "list", "model": x.model, "usage": usage,
            "data": [{"object": "embedding", "index": i, "embedding": emb} for i in range(len(inputs))]}
    return {"answer": "", "tool_calls": [], "finish_reason": None, "usage": usage}, body, None


# ---------------------------------------------------------------------------------------------
# Anthropic (answers use \u escapes, surrogate pairs for emoji; OpenAI answers raw UTF-8: both
# forms must decode to the same text)
# ---------------------------------------------------------------------------------------------

def anthropic_error(x):
    etype, msg = ANTHROPIC_ERRORS.get(x.status, ("invalid_request_error", "Error %d" % x.status))
    body = {"type": "error", "error": {"type": etype, "message": msg}, "request_id": "req_e2e"}
    return body, {"error": {"type": etype, "message": msg, "code": None}}


def anthropic_messages(x):
    thinking = (x.req.get("thinking") or {}).get("type") == "enabled"
    think_text = "The user wants %s handled; think step by step." % x.marker if thinking else ""
    blocks = []
    if think_text:
        blocks.append({"type": "thinking", "thinking": think_text,
                       "signature": "EqQBCkYIBxgCKkA" + short_id(x.marker)})
    text = "Let me check that for %s." % x.marker if x.tool_calls else x.answer
    blocks.append({"type": "text", "text": text})
    for t in x.tool_calls:
        blocks.append({"type": "tool_use", "id": "toolu_" + t["id"][5:], "name": t["name"],
                       "input": json.loads(t["arguments"])})
    out_tokens = x.completion_tokens + len(think_text) // 4
    usage = {"input_tokens": x.prompt_tokens, "cache_creation_input_tokens": 7,
             "cache_read_input_tokens": x.prompt_tokens // 3, "output_tokens": out_tokens}
    stop = "tool_use" if x.tool_calls else "end_turn"
    calls = [{"id": b["id"], "name": b["name"], "arguments": json.dumps(b["input"], ensure_ascii=False)}
             for b in blocks if b["type"] == "tool_use"]
    fields = {"answer": text, "thinking": think_text, "tool_calls": calls, "finish_reason": stop,
              "usage": usage}
    msg = {"id": "msg_" + short_id(x.marker), "type": "message", "role": "assistant",
           "model": x.model, "content": blocks, "stop_reason": stop, "stop_sequence": None,
           "usage": usage}
    if not x.stream:
        return fields, msg, None
    start_usage = dict(usage, output_tokens=1)
    frames = [sse({"type": "message_start", "message": dict(msg, content=[], stop_reason=None,
                                                               usage=start_usage)},
                  "message_start", True),
              sse({"type": "ping"}, "ping", True)]
    for i, b in enumerate(blocks):
        def delta(d):
            return sse({"type": "content_block_delta", "index": i, "delta": d},
                       "content_block_delta", True)
        if b["type"] == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [delta({"type": "thinking_delta", "thinking": p}) for p in pieces(b["thinking"], 9)]
            deltas.append(delta({"type": "signature_delta", "signature": b["signature"]}))
        elif b["type"] == "text":
            start = {"type": "text", "text": ""}
            deltas = [delta({"type": "text_delta", "text": p}) for p in pieces(b["text"], 6)]
        else:
            start = {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}
            deltas = [delta({"type": "input_json_delta", "partial_json": p})
                      for p in [""] + pieces(json.dumps(b["input"], ensure_ascii=False), 3)]
        frames.append(sse({"type": "content_block_start", "index": i, "content_block": start},
                          "content_block_start", True))
        frames += deltas
        frames.append(sse({"type": "content_block_stop", "index": i}, "content_block_stop", True))
    frames.append(sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                       "usage": {"output_tokens": out_tokens}}, "message_delta", True))
    frames.append(sse({"type": "message_stop"}, "message_stop", True))
    return fields, None, frames


ROUTES = {"/v1/chat/completions": ("openai", openai_chat, openai_error),
          "/v1/embeddings": ("openai", openai_embeddings, openai_error),
          "/v1/messages": ("anthropic", anthropic_messages, anthropic_error)}


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-provider/1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                out += self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    return out
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self):
        raw = self.read_body()
        route = ROUTES.get(self.path.split("?")[0])
        try:
            req = json.loads(raw)
        except ValueError:
            req = None
        if route is None or not isinstance(req, dict):
            err = {"error": {"message": "bad route or body", "type": "invalid_request_error"}}
            return self.send_json(404 if route is None else 400, err, False, False)
        provider, answer, error = route
        x = Exchange(self.path, raw, req)
        pid = self.headers.get("X-E2E-Pid", "")
        comm = read_comm(pid)
        if x.status >= 400:
            body, fields = error(x)
            fields.update(answer="", tool_calls=[], finish_reason=None, usage=None)
            frames = None
        else:
            fields, body, frames = answer(x)
        fields["client_port"] = self.client_address[1]
        pid = int(pid) if pid.isdigit() else None
        self.server.log(x.log(self.headers.get("Host"), provider, pid, comm, fields))
        ascii_only = provider == "anthropic"
        if frames is None and "close" in x.opts:
            self.send_until_close(x.status, body)
        elif frames is None:
            self.send_json(x.status, body, "gzip" in x.opts, "chunked" in x.opts, ascii_only)
        else:
            self.send_sse(frames, "gzip" in x.opts)

    def send_common_headers(self, status, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("x-request-id", "req_%d" % time.monotonic_ns())
        self.send_header("openai-processing-ms", "30")

    def send_json(self, status, body, gz, chunked, ascii_only=False):
        data = json.dumps(body, ensure_ascii=ascii_only).encode()
        if gz:
            data = gzip.compress(data)
        self.send_common_headers(status, "application/json")
        if gz:
            self.send_header("Content-Encoding", "gzip")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        time.sleep(FIRST_BYTE_DELAY)
        if not chunked:
            self.wfile.write(data)
            return
        for p in pieces(data, 97):
            self.write_chunk(p)
        self.wfile.write(b"0\r\n\r\n")

    def send_until_close(self, status, body):
        """A body with neither Content-Length nor chunking: it ends where the connection does."""
        self.send_common_headers(status, "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        time.sleep(FIRST_BYTE_DELAY)
        self.wfile.write(json.dumps(body).encode())
        self.close_connection = True

    def send_sse(self, frames, gz):
        """Streams frames as chunked SSE; every third frame is split across two chunks."""
        self.send_common_headers(200, "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        time.sleep(FIRST_BYTE_DELAY)
        z = zlib.compressobj(6, zlib.DEFLATED, 31) if gz else None
        for i, f in enumerate(frames):
            if z:
                f = z.compress(f) + z.flush(zlib.Z_SYNC_FLUSH)
            if i % 3 == 1 and len(f) > 1:
                self.write_chunk(f[:len(f) // 2])
                f = f[len(f) // 2:]
            self.write_chunk(f)
            time.sleep(0.001)
        if z:
            self.write_chunk(z.flush())
        self.wfile.write(b"0\r\n\r\n")

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


def read_comm(pid):
    try:
        with open("/proc/%d/comm" % int(pid)) as f:
            return f.read().strip()
    except (ValueError, OSError):
        return None


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, d):
        super().__init__(("127.0.0.1", 0), Handler)
        cert, key = make_cert(d)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.log_file = open(os.path.join(d, "server.jsonl"), "a", encoding="utf-8")
        self.log_lock = threading.Lock()

    def get_request(self):
        """Accepts, and leaves the TLS handshake to the connection's own thread."""
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def log(self, rec):
        with self.log_lock:
            self.log_file.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.log_file.flush()


def main():
    d = sys.argv[1]
    srv = Server(d)
    with open(os.path.join(d, "port.tmp"), "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
