#!/usr/bin/env python3
"""check_events.py: assertions of the e2e suite on a sensor output file, against the fake
provider's own log of the exchanges it answered (tests/e2e/fake_provider.py).

  check_events.py exchanges EVENTS SERVER_LOG --server-pid PID --expect N
                            [--inbound] [--uncaptured-prefix MARK-xxx] [--partial-requests]
                            [--server-only]
      The provider logged exactly N exchanges (the clients did what they meant to).  Every logged
      exchange (less those whose marker starts with the uncaptured prefix) appears as exactly one
      ai.request and one ai.response from the client's pid, labelled attrs.capture_view
      "outbound", with no other ai.* events from the clients.  Fields must equal what was sent
      and answered: model, streaming, user message (sha256), tools, status, error, answer text,
      thinking, tool calls, usage, finish reason, latency, completeness, endpoint (https://Host/path),
      provider (exact for api.openai.com/api.anthropic.com; the API's own or "other" at 127.0.0.1).  Without --inbound the
      provider's own (server-side) view must not appear; with it, each exchange must also appear
      once from the provider's pid labelled "inbound".  --partial-requests: request bodies were
      cut by --max-capture, so each ai.request must say completeness "partial" and its body
      fields are not compared.  --server-only checks just the log (for running the harness
      without a sensor).
  check_events.py secrets FILE...   no 12-character piece of a fake API key's secret part appears;
                                    every auth.key_prefix is at most 8 characters
  check_events.py mode FILE...      the file's mode is 0600
Prints one line per problem and exits 1 when there is any.
"""
import argparse, hashlib, json, os, re, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients"))
from e2e_common import ANTHROPIC_KEY, OPENAI_KEY  # noqa: E402

MARK_RE = re.compile(r"MARK-[A-Za-z0-9_-]+")
FINISH = {"stop": "stop", "tool_calls": "tool_calls", "end_turn": "stop", "tool_use": "tool_calls",
          "max_tokens": "length", "length": "length"}
KNOWN_HOSTS = {"api.openai.com": "openai", "api.anthropic.com": "anthropic"}
MIN_LATENCY_MS = 20   # the fake provider waits 30 ms before the first body byte


def short(v, n=80):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def narrow(what, got, want):
    """The first differing key or element of two unequal dicts or equally long lists/tuples."""
    while True:
        if isinstance(got, dict) and isinstance(want, dict):
            keys = [k for k in want if got.get(k) != want[k]] or [k for k in got if k not in want]
        elif isinstance(got, (list, tuple)) and isinstance(want, (list, tuple)) and len(got) == len(want):
            keys = [i for i in range(len(want)) if got[i] != want[i]]
        else:
            return what, got, want
        k = keys[0]
        what, got, want = "%s[%r]" % (what, k), get(got, k), get(want, k)


def read_jsonl(path, errors):
    out = []
    if not os.path.exists(path):
        errors.append("%s does not exist" % path)
        return out
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    errors.append("%s:%d: not JSON: %s" % (os.path.basename(path), n, e))
    return out


def get(d, *path):
    for p in path:
        if isinstance(d, tuple):
            d = list(d)
        if isinstance(d, dict):
            d = d.get(p)
        elif isinstance(d, list) and isinstance(p, int) and -len(d) <= p < len(d):
            d = d[p]
        else:
            return None
    return d


def markers(ev):
    return set(MARK_RE.findall(json.dumps(ev.get("data"), ensure_ascii=False)))


def kind(x):
    return {"/v1/embeddings": "embeddings", "/v1/messages": "messages"}.get(x["path"], "chat")


class Checker:
    def __init__(self, errors, partial_requests=False):
        self.errors, self.partial_requests = errors, partial_requests

    def expect(self, x, view, what, got, want):
        if got == want:
            return True
        what, got, want = narrow(what, got, want)
        self.errors.append("%s (%s %s%s, %s): %s is %s, want %s" % (
            x["marker"], x["provider"], kind(x), " stream" if x["stream"] else "", view,
            what, short(got), short(want)))
        return False

    def request(self, x, ev, view):
        d = ev.get("data") or {}
        self.expect(x, view, "request attrs.capture_view", get(ev, "attrs", "capture_view"), view)
        if view == "outbound":
            self.expect(x, view, "request process.name", get(ev, "process", "name"), x["comm"])
        self.provider(x, view, "request", d)
        self.expect(x, view, "request confidence.completeness",
                    get(ev, "confidence", "completeness"),
                    "partial" if self.partial_requests else "full")
        if self.partial_requests or kind(x) == "embeddings":
            return
        self.expect(x, view, "request model.id", get(d, "model", "id"), x["model"])
        self.expect(x, view, "request streaming", d.get("streaming"), x["stream"])
        users = [m for m in d.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
        content = users[-1].get("content") if users else None
        if self.expect(x, view, "user message content type", type(content).__name__, "str"):
            if hashlib.sha256(content.encode()).hexdigest() != x["user_sha256"]:
                self.errors.append("%s (%s): user message differs from what was sent: %d bytes %s, "
                                   "sent %d bytes %s" % (x["marker"], view, len(content.encode()),
                                                         short(content, 60), x["user_len"],
                                                         short(x["user_text"], 60)))
        if x["tools"]:
            self.expect(x, view, "request tools[].name",
                        [t.get("name") for t in d.get("tools") or []], x["tools"])

    def provider(self, x, view, which, d):
        """A known API host names its provider; at 127.0.0.1 the API format may, or "other"."""
        host = x["host"].rsplit(":", 1)[0]
        names = [KNOWN_HOSTS[host]] if host in KNOWN_HOSTS else [x["provider"], "other"]
        name = get(d, "provider", "name")
        if name not in names:
            self.expect(x, view, which + " provider.name", name, " or ".join(names))
        if get(d, "provider", "endpoint") is not None:
            self.expect(x, view, which + " provider.endpoint", get(d, "provider", "endpoint"),
                        "https://%s%s" % (x["host"], x["path"]))

    def response(self, x, ev, view):
        d = ev.get("data") or {}
        self.provider(x, view, "response", d)
        self.expect(x, view, "response attrs.capture_view", get(ev, "attrs", "capture_view"), view)
        self.expect(x, view, "status_code", d.get("status_code"), x["status"])
        self.expect(x, view, "success", d.get("success"), 200 <= x["status"] < 300)
        self.expect(x, view, "response confidence.completeness",
                    get(ev, "confidence", "completeness"), "full")
        lat = d.get("latency_ms")
        if not isinstance(lat, int) or lat < MIN_LATENCY_MS:
            self.errors.append("%s (%s): latency_ms is %s, want an integer >= %d" % (
                x["marker"], view, short(lat), MIN_LATENCY_MS))
        if x["status"] >= 400:
            for f in ("type", "message") + (("code",) if x["error"]["code"] else ()):
                self.expect(x, view, "error." + f, get(d, "error", f), x["error"][f])
            return
        if get(d, "model", "id") is not None:
            self.expect(x, view, "response model.id", get(d, "model", "id"), x["model"])
        if kind(x) == "embeddings":
            self.expect(x, view, "usage.prompt_tokens", get(d, "usage", "prompt_tokens"),
                        x["usage"]["prompt_tokens"])
            return
        if x["stream"]:
            ttft = d.get("time_to_first_token_ms")
            if not isinstance(ttft, int) or not isinstance(lat, int) or not 0 <= ttft <= lat:
                self.errors.append("%s (%s): time_to_first_token_ms is %s, want 0..latency_ms (%s)"
                                   % (x["marker"], view, short(ttft), short(lat)))
        if x["answer"]:
            self.expect(x, view, "choices[0].message.content",
                        get(d, "choices", 0, "message", "content"), x["answer"])
        if get(d, "choices", 0, "message", "thinking") is not None:
            self.expect(x, view, "choices[0].message.thinking",
                        get(d, "choices", 0, "message", "thinking"), x.get("thinking"))
        self.expect(x, view, "finish_reason", d.get("finish_reason"), FINISH[x["finish_reason"]])
        got_calls = [(t.get("id"), t.get("name"), parse_args(t.get("arguments")))
                     for t in d.get("tool_calls") or []]
        want_calls = [(t["id"], t["name"], json.loads(t["arguments"])) for t in x["tool_calls"]]
        self.expect(x, view, "tool_calls (id, name, arguments)", got_calls, want_calls)
        self.usage(x, view, d.get("usage") or {})

    def usage(self, x, view, u):
        raw = x["usage"]
        if x["provider"] == "openai":
            want = {"prompt_tokens": raw["prompt_tokens"], "completion_tokens": raw["completion_tokens"],
                    "total_tokens": raw["total_tokens"],
                    "cached_tokens": raw["prompt_tokens_details"]["cached_tokens"]}
            reasoning = raw["completion_tokens_details"]["reasoning_tokens"]
            if reasoning or "reasoning_tokens" in u:
                want["reasoning_tokens"] = reasoning
        else:
            fresh = raw["input_tokens"]
            every = fresh + raw["cache_read_input_tokens"] + raw["cache_creation_input_tokens"]
            prompt = u.get("prompt_tokens") if u.get("prompt_tokens") in (fresh, every) else fresh
            want = {"prompt_tokens": prompt, "completion_tokens": raw["output_tokens"],
                    "total_tokens": prompt + raw["output_tokens"],
                    "cached_tokens": raw["cache_read_input_tokens"]}
        self.expect(x, view, "usage", {k: u.get(k) for k in want}, want)


def parse_args(a):
    if isinstance(a, str):
        try:
            return json.loads(a)
        except ValueError:
            return a
    return a


def check_exchanges(args):
    errors = []
    log = read_jsonl(args.server_log, errors)
    if len(log) != args.expect:
        errors.append("the fake provider logged %d exchanges, the clients meant to make %d"
                      % (len(log), args.expect))
    if args.server_only:
        errors += ["%s: no client pid in the provider log" % x["marker"] for x in log if not x["pid"]]
        return errors
    expected = [x for x in log if not (args.uncaptured_prefix and
                                       x["marker"].startswith(args.uncaptured_prefix))]
    client_pids = {x["pid"] for x in log}
    all_markers = {x["marker"] for x in log}
    uncaptured = all_markers - {x["marker"] for x in expected}
    ai = [e for e in read_jsonl(args.events, errors)
          if e.get("event_type") in ("ai.request", "ai.response")]
    pid = lambda e: get(e, "process", "pid")  # noqa: E731
    for e in ai:
        mine = sorted(markers(e) & all_markers)
        what = "%s for %s" % (e["event_type"], mine[0] if mine else "?")
        if pid(e) not in client_pids | {args.server_pid} and mine:
            errors.append("%s has pid %s, neither the client's nor the provider's" % (what, pid(e)))
        elif pid(e) == args.server_pid and not args.inbound:
            errors.append("%s from the provider's side (pid %s, capture_view %s) was emitted "
                          "without --inbound" % (what, pid(e), get(e, "attrs", "capture_view")))
        elif set(mine) & uncaptured:
            errors.append("%s was emitted, but that exchange is not to be captured" % what)
    views = [("outbound", client_pids)] + ([("inbound", {args.server_pid})] if args.inbound else [])
    for view, pids in views:
        check_view(Checker(errors, args.partial_requests), expected,
                   [e for e in ai if pid(e) in pids], view, args.server_pid)
    return errors


def check_view(c, expected, ai, view, server_pid):
    errors = c.errors
    reqs = [e for e in ai if e["event_type"] == "ai.request"]
    resps = [e for e in ai if e["event_type"] == "ai.response"]
    for name, evs in (("ai.request", reqs), ("ai.response", resps)):
        if len(evs) != len(expected):
            errors.append("%d %s events in the %s view, want %d (one per exchange)"
                          % (len(evs), name, view, len(expected)))
    by_id = {}
    for r in resps:
        by_id.setdefault(get(r, "data", "request_id"), []).append(r)
    unmatched = list(reqs)
    for x in expected:
        want_pid = x["pid"] if view == "outbound" else server_pid
        mine = [e for e in unmatched if get(e, "process", "pid") == want_pid]
        cand = [e for e in mine if x["marker"] in markers(e)]
        # the input need not be kept in the event: embeddings, or a body cut by the cap
        if not cand and (kind(x) == "embeddings" or c.partial_requests):
            cand = [e for e in mine if get(e, "data", "model", "id") == x["model"]
                    and not markers(e)][:1]
        if len(cand) != 1:
            errors.append("%s (%s %s, %s): %d ai.request events from pid %s, want 1"
                          % (x["marker"], x["provider"], kind(x), view, len(cand), want_pid))
            continue
        req = cand[0]
        unmatched.remove(req)
        c.request(x, req, view)
        rid = get(req, "data", "request_id")
        answers = by_id.pop(rid, []) if rid else []
        if len(answers) != 1:
            errors.append("%s (%s): %d ai.response events with request_id %s, want 1"
                          % (x["marker"], view, len(answers), short(rid)))
            continue
        c.expect(x, view, "response process.pid", get(answers[0], "process", "pid"), want_pid)
        c.response(x, answers[0], view)
    for rid, orphans in by_id.items():
        errors.append("%d ai.response events (%s view) with request_id %s match no ai.request"
                      % (len(orphans), view, short(rid)))


def secret_pieces():
    return {k[i:i + 12] for k in (OPENAI_KEY, ANTHROPIC_KEY) for i in range(8, len(k) - 11)}


def paths_with(v, piece, path=""):
    """JSON paths of the strings in v that contain piece."""
    if isinstance(v, dict):
        return [p for k, x in v.items() for p in paths_with(x, piece, path + "." + k if path else k)]
    if isinstance(v, list):
        return [p for i, x in enumerate(v) for p in paths_with(x, piece, "%s[%d]" % (path, i))]
    return [path] if isinstance(v, str) and piece in v else []


def check_secrets(files):
    errors, pieces = [], secret_pieces()
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                try:
                    ev = json.loads(line)
                except ValueError:
                    ev = None
                leaked = [p for p in pieces if p in line]
                if leaked:
                    where = ", ".join(sorted(set(paths_with(ev, leaked[0])))) or "?"
                    errors.append("%s:%d: API key secret part %r appears in %s"
                                  % (path, n, leaked[0], where))
                prefix = get(ev, "data", "auth", "key_prefix")
                if prefix is not None and len(prefix) > 8:
                    errors.append("%s:%d: auth.key_prefix %r is longer than 8" % (path, n, prefix))
    return errors


def check_mode(files):
    return ["%s: mode %o, want 600" % (p, os.stat(p).st_mode & 0o7777) for p in files
            if os.stat(p).st_mode & 0o7777 != 0o600]


def main():
    ap = argparse.ArgumentParser(description="e2e assertions on oisp-sensor output")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("exchanges")
    ex.add_argument("events")
    ex.add_argument("server_log")
    ex.add_argument("--server-pid", type=int, required=True)
    ex.add_argument("--expect", type=int, required=True)
    ex.add_argument("--inbound", action="store_true")
    ex.add_argument("--uncaptured-prefix")
    ex.add_argument("--partial-requests", action="store_true")
    ex.add_argument("--server-only", action="store_true")
    for name in ("secrets", "mode"):
        sub.add_parser(name).add_argument("files", nargs="+")
    args = ap.parse_args()
    if args.cmd == "exchanges":
        errors = check_exchanges(args)
    else:
        errors = {"secrets": check_secrets, "mode": check_mode}[args.cmd](args.files)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
