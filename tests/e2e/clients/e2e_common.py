"""e2e_common.py: what the python e2e clients share: request bodies for the fake provider, fake
API keys, TLS trust of the test certificate, and reading answers back (gzip, SSE) so each client can
check that it got its own marker.  Environment: E2E_PORT, E2E_CA (set by tests/e2e/run.sh)."""
import gzip, hashlib, http.client, itertools, json, os, random, ssl, sys

OPENAI_KEY = "sk-proj-TESTKEYopenaiSECRET0123456789abcdefABCDEF"
ANTHROPIC_KEY = "sk-ant-api03-TESTKEYanthropicSECRET0123456789abcdef-AA"
PORT = int(os.environ.get("E2E_PORT", "0"))
_seq = itertools.count(1)


def marker(tag):
    return "MARK-%s-%d-%d" % (tag, os.getpid(), next(_seq))


def ssl_context():
    return ssl.create_default_context(cafile=os.environ["E2E_CA"])


def connect():
    return http.client.HTTPSConnection("127.0.0.1", PORT, context=ssl_context(), timeout=60)


def prompt(mark, opts, text):
    """The user message: the marker, the opt:... words steering the fake provider, then text."""
    return " ".join([mark] + ["opt:" + o for o in opts] + [text])


def filler(n, seed=1):
    """n bytes of deterministic ASCII, with the characters JSON must escape among them."""
    return "".join(random.Random(seed).choices("abcdefghijklmnopqrstuvwxyz0123456789 .,\"\\/{}\n", k=n))


def request(provider, mark, text="Say hello.", stream=False, opts=(), tools=(), model=None):
    """Returns (path, body bytes, headers) for one chat request carrying mark and opt:... words."""
    user = prompt(mark, opts, text)
    headers = {"Content-Type": "application/json", "X-E2E-Pid": str(os.getpid())}
    if provider == "openai":
        path = "/v1/chat/completions"
        headers["Authorization"] = "Bearer " + OPENAI_KEY
        body = {"model": model or "gpt-4o-mini", "stream": stream,
                "messages": [{"role": "system", "content": "You are terse."},
                             {"role": "user", "content": user}]}
        if stream:
            body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t, "description": "tool " + t,
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
                for t in tools]
    else:
        path = "/v1/messages"
        headers.update({"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"})
        body = {"model": model or "claude-sonnet-4-6", "max_tokens": 1024, "stream": stream,
                "system": "You are terse.", "messages": [{"role": "user", "content": user}]}
        if tools:
            body["tools"] = [{"name": t, "description": "tool " + t,
                              "input_schema": {"type": "object"}} for t in tools]
    return path, json.dumps(body, ensure_ascii=False).encode(), headers


def answer_text(provider, headers, raw):
    """Decodes a response body (gzip, SSE or JSON) into the assistant's text."""
    if (headers.get("Content-Encoding") or "").lower() == "gzip":
        raw = gzip.decompress(raw)
    text = raw.decode()
    if "text/event-stream" not in (headers.get("Content-Type") or ""):
        doc = json.loads(text)
        if provider == "openai":
            return doc["choices"][0]["message"]["content"] or ""
        return "".join(b.get("text", "") for b in doc["content"])
    out = []
    for line in text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        ev = json.loads(line[6:])
        if provider == "openai":
            out += [c["delta"].get("content") or "" for c in ev.get("choices", [])]
        elif ev.get("type") == "content_block_delta":
            out.append(ev["delta"].get("text", ""))
    return "".join(out)


def exchange(conn, provider, mark, expect_status=200, **kw):
    """One request on conn; fails the client unless the answer has the status and carries mark."""
    path, body, headers = request(provider, mark, **kw)
    conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    if resp.status != expect_status:
        die("%s: status %d, wanted %d" % (mark, resp.status, expect_status))
    text = answer_text(provider, resp.headers, raw) if resp.status == 200 else ""
    if resp.status == 200 and mark not in text:
        die("%s: answer does not carry the marker: %r" % (mark, text[:200]))
    return text


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


def die(msg):
    print("client error: " + msg, file=sys.stderr)
    sys.exit(1)
