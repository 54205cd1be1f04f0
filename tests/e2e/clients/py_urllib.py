#!/usr/bin/env python3
"""py_urllib.py: urllib.request e2e client (a new connection per request, Connection: close):
an OpenAI non-streaming request and an Anthropic streaming one."""
import urllib.request
import e2e_common as c


def post(provider, mark, **kw):
    path, body, headers = c.request(provider, mark, **kw)
    req = urllib.request.Request("https://127.0.0.1:%d%s" % (c.PORT, path), data=body, headers=headers)
    with urllib.request.urlopen(req, context=c.ssl_context(), timeout=60) as resp:
        text = c.answer_text(provider, resp.headers, resp.read())
    if mark not in text:
        c.die("%s: answer does not carry the marker" % mark)


post("openai", c.marker("urllib"))
post("anthropic", c.marker("urllib"), stream=True)
