#!/usr/bin/env python3
"""toml_diff.py: write a corpus of TOML documents judged by python3's tomllib.

The C parser (src/config/toml.c) is tested against it by
tests/unit/test_toml.c, which runs this script, parses every document and
requires the same verdict (valid or invalid) and, for valid documents, the
same value.

    python3 tests/toml_diff.py OUT.jsonl [--count N] [--seed S]

Documents come from three sources:
  * hand-written cases, a few per TOML 1.0 feature and per error;
  * a grammar-driven generator that writes random documents from a small key
    alphabet (so tables, dotted keys and [[arrays]] collide often) and
    near-miss scalars (numbers, dates, strings with random escapes);
  * mutations of valid documents (bytes deleted, inserted, replaced, lines
    swapped or repeated, truncation, invalid UTF-8).

Each output line is a JSON object:
  {"name": ..., "doc": HEX-OF-BYTES, "valid": bool, "expect": TAGGED|null,
   "note": "..."}
TAGGED is {"type": T, "value": V}: tables are {"type":"table","value":[[key,
TAGGED], ...]}, arrays {"type":"array","value":[TAGGED, ...]}, scalars carry
their value as text: integer "42", float repr() ("inf", "-0.0", "nan"), bool
"true"/"false", string itself, date-times "1979-05-27T07:32:00.000000+00:00"
(types datetime, datetime-local, date-local, time-local; six fraction
digits, offsets as +HH:MM).

"note" marks a deliberate difference from tomllib, where the C parser must
reject a document tomllib accepts: "int64" (an integer outside the signed
64-bit range, which TOML 1.0 says is an error), "depth" (values nested
deeper than TOML_MAX_DEPTH = 100, or Python's own recursion limit hit),
"size" (over TOML_MAX_DOC = 1 MiB).
"""

import argparse
import datetime
import json
import math
import random
import sys
import tomllib

MAX_DEPTH = 100          # TOML_MAX_DEPTH in src/config/toml.h
MAX_DOC = 1 << 20        # TOML_MAX_DOC
INT64 = (-(1 << 63), (1 << 63) - 1)


# ---- judging and encoding -------------------------------------------------

def fmt_time(h, m, s, us):
    return "%02d:%02d:%02d.%06d" % (h, m, s, us)


def tag(v):
    if isinstance(v, bool):
        return {"type": "bool", "value": "true" if v else "false"}
    if isinstance(v, int):
        return {"type": "integer", "value": str(v)}
    if isinstance(v, float):
        return {"type": "float", "value": repr(v)}
    if isinstance(v, str):
        return {"type": "string", "value": v}
    if isinstance(v, datetime.datetime):
        d = "%04d-%02d-%02dT%s" % (v.year, v.month, v.day,
                                   fmt_time(v.hour, v.minute, v.second, v.microsecond))
        if v.tzinfo is None:
            return {"type": "datetime-local", "value": d}
        off = int(v.utcoffset().total_seconds()) // 60
        sign = "-" if off < 0 else "+"
        off = abs(off)
        return {"type": "datetime", "value": d + "%s%02d:%02d" % (sign, off // 60, off % 60)}
    if isinstance(v, datetime.date):
        return {"type": "date-local", "value": "%04d-%02d-%02d" % (v.year, v.month, v.day)}
    if isinstance(v, datetime.time):
        return {"type": "time-local",
                "value": fmt_time(v.hour, v.minute, v.second, v.microsecond)}
    if isinstance(v, dict):
        return {"type": "table", "value": [[k, tag(x)] for k, x in v.items()]}
    if isinstance(v, list):
        return {"type": "array", "value": [tag(x) for x in v]}
    raise TypeError(type(v))


def out_of_range(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return not INT64[0] <= v <= INT64[1]
    if isinstance(v, dict):
        return any(out_of_range(x) for x in v.values())
    if isinstance(v, list):
        return any(out_of_range(x) for x in v)
    return False


def max_depth(v, d=0):
    """Deepest value: the root table is 0, each nesting adds 1."""
    if isinstance(v, dict):
        return max([d] + [max_depth(x, d + 1) for x in v.values()])
    if isinstance(v, list):
        return max([d] + [max_depth(x, d + 1) for x in v])
    return d


def judge(doc):
    """-> (valid, tagged value or None, note)"""
    if len(doc) > MAX_DOC:
        return False, None, "size"
    try:
        value = tomllib.loads(doc.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False, None, ""
    except RecursionError:
        return False, None, "depth"
    try:
        if max_depth(value) > MAX_DEPTH:
            return False, None, "depth"
    except RecursionError:
        return False, None, "depth"
    if out_of_range(value):
        return False, None, "int64"
    return True, tag(value), ""


# ---- hand-written cases ---------------------------------------------------

VALID = [
    # comments and whitespace
    "", "\n", "# only a comment", "  \t# indented comment\n", "a = 1 # trailing\n",
    "a = 1\r\nb = 2\r\n", "# comment with unicode é 😀\n", "a=1", "\ta\t=\t1\t",
    # keys
    "bare_key = 1\nbare-key = 2\n1234 = 3\n", '"quoted key" = 1', "'literal key' = 1",
    '"" = 1', "'' = 1", '"a.b" = 1\na.b = 2', "a . b . c = 1", "3.14159 = 'pi'",
    "a.\"b.c\".'d' = 1", "-- = 1\n__ = 2",
    'a = {"x\\u0000y" = 1}',
    # strings
    'a = "basic \\" \\\\ \\b \\t \\n \\f \\r"', 'a = "\\u00E9\\U0001F600"',
    'a = "tab\tinside"', "a = 'C:\\Users\\x'", "a = '<\\i\\c*\\s*>'",
    'a = """\nline1\nline2"""', 'a = """\\\n   folded \\\n  text"""',
    'a = """a \\  \n   b"""', 'a = """\r\nx\r\ny"""', 'a = """""a"""""',
    'a = """a""""', "a = '''a''''", "a = '''''a'''''", "a = '''\nraw \\n\n'''",
    'a = """\\""""', 'a = """ "" """', "a = ''' '' '''", 'a = "\\u0000"',
    'a = "😀 é ü"', 'a = """\\\n"""', 'a = """\\\t\n x"""', 'a = ""', "a = ''",
    'a = """"""', "a = ''''''", 'a = "\\U0010FFFF"', 'a = "\\uD7FF\\uE000"',
    # integers
    "a = 0\nb = +0\nc = -0\nd = 42\ne = -17\nf = +99",
    "a = 1_000\nb = 5_349_221\nc = 1_2_3_4_5",
    "a = 0xDEADBEEF\nb = 0xdead_beef\nc = 0o755\nd = 0b1101_0110\ne = 0x0001",
    "a = 9223372036854775807\nb = -9223372036854775808",
    "a = 0x7FFFFFFFFFFFFFFF\nb = 0o777777777777777777777\nc = 0b" + "1" * 63,
    # floats
    "a = 1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\ng = 6.626e-34",
    "a = 224_617.445_991_228\nb = 1e1_0\nc = 0.0\nd = -0.0\ne = +0.0",
    "a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan",
    "a = 1e400\nb = -1e400\nc = 1e-400", "a = 0e0\nb = 0E+5\nc = 1e007",
    "a = 0.1\nb = 0.30000000000000004\nc = 1.7976931348623157e308\nd = 5e-324",
    # booleans
    "a = true\nb = false", "a = [true,false]",
    # date-times
    "a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00-07:00\n"
    "c = 1979-05-27T00:32:00.999999-07:00\nd = 1979-05-27 07:32:00Z",
    "a = 1979-05-27T07:32:00\nb = 1979-05-27T00:32:00.999999\nc = 1979-05-27\n"
    "d = 07:32:00\ne = 00:32:00.999999",
    "a = 1979-05-27t07:32:00z", "a = 2000-02-29", "a = 1979-05-27T07:32:00.1234567891Z",
    "a = 1979-05-27T07:32:00.5", "a = 23:59:59.9", "a = 0001-01-01",
    "a = 1979-05-27T07:32:00+23:59", "a = 1979-05-27T07:32:00-00:00",
    "a = 1979-05-27 # date then comment", "a = [1979-05-27 , 07:32:00]",
    "a = 9999-12-31T23:59:59.999999Z",
    # arrays
    "a = [1, 2, 3]\nb = [\"a\", 'b']\nc = [[1, 2], [\"a\"]]\nd = []",
    "a = [1, 'mixed', 1.5, true, 1979-05-27, [], {}]",
    "a = [\n  1,\n  2, # comment\n]", "a = [ # c\n # c\n ]", "a = [1,]",
    "a = [\r\n1,\r\n2\r\n]", "a = [[[[[[1]]]]]]", "a = [{x = 1}, {x = 2}]",
    # inline tables
    "a = {}", "a = {x = 1, y = 'two'}", "a = { x.y = 1, x.z = 2 }",
    "a = {b = {c = {d = 1}}}", "a = {b = [1, {c = 2}]}", "point = { x = 1, y = 2 }",
    "a = {'' = 1}", "a = { b.c = 1, d = 2, b.e = 3 }",
    # tables
    "[table]\nkey = 1", "[a.b.c]\nx = 1", "[ a . b ]", "[a.\"b.c\"]",
    "[x.y.z.w]\n[x]", "[a]\n[b]\n[a.c]", "[a.b]\n[a]\nc = 1", "[\"\"]\na = 1",
    "[a]\nb.c = 1\n[a.d]", "a.b.c = 1\na.b.d = 2\n[a.e]", "[fruit]\napple.color = 'red'\n"
    "apple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true",
    "[a.b.c]\n[a]\nb.d = 1", "[a]\n[a.b.c]\n[a.b]", "[[a]]\n[a.b]\n[[a]]\n[a.b]",
    # arrays of tables
    "[[products]]\nname = 'Hammer'\n[[products]]\n[[products]]\nname = 'Nail'",
    "[[fruits]]\nname = 'apple'\n[fruits.physical]\ncolor = 'red'\n[[fruits.varieties]]\n"
    "name = 'red delicious'\n[[fruits.varieties]]\nname = 'granny smith'\n[[fruits]]\n"
    "name = 'banana'\n[[fruits.varieties]]\nname = 'plantain'",
    "[[a]]\n[[a.b]]\n[a.b.c]\n[[a.b]]\n[a.b.c]", "[[a.b]]\n[a]", "[[ a ]]\n[[ a ]]",
    "[[a]]\nb.c = 1\n[[a]]\nb.c = 2", "[x]\n[[x.y]]\n[[x.y]]",
    # assorted real-world config shapes
    "[capture]\nmax_capture = '4M'\npids = [1, 2]\n[[sinks.webhook]]\nurl = 'http://x'\n"
    "[[sinks.webhook]]\nurl = 'http://y'\n[sinks.otlp]\nheaders = { 'X-A' = 'b' }",
]

INVALID = [
    # statements and comments
    "a", "a =", "= 1", "a = 1 b = 2", "a = 1\n=", "a = # nothing", "[", "[]", "[a",
    "[a]]", "[[a]", "[[a] ]", "[ [a]]", "a = 1 # \x00", "# \x7f", "# \r", "a = 1\r",
    "\ufeffa = 1", "a\n= 1", "a =\n1", "a.= 1", ".a = 1", "a..b = 1", "a. = 1",
    "[a.]", "[.a]", "a = 1 # ok\nb", "é = 1", "a b = 1", "[a b]", "a = 1,",
    # keys
    "a = 1\na = 2", "a = 1\n'a' = 2", '"a" = 1\na = 2', "a.b = 1\na.b = 2",
    "a = 1\na.b = 2", "a.b = 1\na = 2", '"\\u00e9" = 1\n"é" = 2', '"""a""" = 1', "'''a''' = 1",
    # strings
    'a = "unterminated', "a = 'unterminated", 'a = "a\nb"', "a = 'a\nb'",
    'a = "\\x41"', 'a = "\\e"', 'a = "\\u00"', 'a = "\\uD800"', 'a = "\\U00110000"',
    'a = "\\UFFFFFFFF"', 'a = "\x01"', 'a = "\x7f"', "a = '\x00'", 'a = """a\x00"""',
    'a = """a\rb"""', 'a = """a""""""', "a = '''a''''''", 'a = """a \\ b"""',
    'a = """\\  x\n"""', 'a = """', "a = '''", 'a = """a""', 'a = "\\"', 'a = "\\',
    'a = "a"b"', 'a = "\\ "', 'a = """\\u12"""',
    # integers
    "a = 01", "a = 00", "a = +01", "a = 1__0", "a = _1", "a = 1_", "a = 0x", "a = 0xG",
    "a = 0X1F", "a = +0x1", "a = -0o7", "a = 0b2", "a = 0o8", "a = 0x_1", "a = 0_0",
    "a = 1__000", "a = --1", "a = +-1", "a = 1 2", "a = 9223372036854775808",
    "a = -9223372036854775809", "a = 0x8000000000000000", "a = 0o1777777777777777777777",
    "a = 0b1" + "0" * 63, "a = 99999999999999999999999999",
    # floats
    "a = 1.", "a = .1", "a = +.1", "a = 1.e5", "a = 1e", "a = 1e+", "a = 1._5",
    "a = 1.5_", "a = 1e_5", "a = 01.5", "a = 1.5.5", "a = infinity", "a = NaN",
    "a = Inf", "a = inf_", "a = 0x1.5", "a = 1e5.5", "a = -nan1",
    # booleans
    "a = True", "a = FALSE", "a = tru", "a = truex", "a = yes",
    # date-times
    "a = 1979-05-27T", "a = 1979-05-27T07:32", "a = 1979-05-27 07:32", "a = 07:32",
    "a = 1979-13-27", "a = 1979-02-30", "a = 1979-05-32", "a = 1979-05-27T24:00:00",
    "a = 1979-05-27T07:60:00", "a = 1979-05-27T07:32:60", "a = 1979-05-27T07:32:00.",
    "a = 1979-05-27T07:32:00+24:00", "a = 1979-05-27T07:32:00+0800",
    "a = 1979-05-27T07:32:00Zx", "a = 79-05-27", "a = 1979-5-27", "a = 2001-02-29",
    "a = 0000-01-01", "a = 1979-05-27T07:32:00 Z", "a = 1979-05-27_07:32:00",
    "a = 7:32:00", "a = 1979-05-27T07:32:00+8:00",
    # arrays
    "a = [", "a = [1", "a = [1,,2]", "a = [,]", "a = [,1]", "a = [1 2]", "a = [1,\n",
    "a = ]", "a = [1]]", "a = [1 # c ]",
    # inline tables
    "a = {", "a = {x = 1", "a = {x = 1,}", "a = {,}", "a = {x = 1\n}", "a = {\nx = 1}",
    "a = {x = 1, x = 2}", "a = {x.y = 1, x = 2}", "a = {x = {}, x.y = 1}",
    "a = {x = [], x.y = 1}", "a = {x = 1 y = 2}", "a = {x}", "a = {x = }",
    "a = {}\na.b = 1", "a = {}\n[a]", "a = {}\n[a.b]", "a = {b = {}}\n[a.b.c]",
    "a = {x.y = 1}\na.x.z = 2", "[a]\nb = {}\n[a.b]",
    # tables
    "[a]\n[a]", "[a]\n[ a ]", "[a.b]\n[a.b]", "[a]\nb = 1\n[a.b]", "a.b = 1\n[a]",
    "a.b = 1\n[a.b]", "[a]\nb.c = 1\n[a.b]", "[a.b.c]\n[a]\nb.c.d = 1",
    "[a]\nb.c.d = 1\n[a.b.c]", "a = 1\n[a]", "a = 1\n[a.b]", "a = [1]\n[a.b]",
    "a = [{}]\n[a.b]", "[a.b]\n[[a]]", "[a]\n[[a]]", "a = []\n[[a]]", "a = [{}]\n[[a]]",
    "[[a]]\n[a]", "[[a.b]]\n[a]\nb.c = 1", "[a.b.c.d]\n[a]\nb.c.d.k.t = 1",
    "[[a]]\nb = 1\n[a.b]", "[a]\n[a.b]\n[a]",
]


def deep(n, open_, close, inner="1"):
    return "a = " + open_ * n + inner + close * n


def depth_cases():
    """Documents near the nesting cap (values at depth 100 pass, 101 fail)."""
    docs = []
    for n in (98, 99, 100, 101, 150, 400, 3000):
        docs.append(("deep-array-%d" % n, deep(n, "[", "]")))       # scalar at n + 1
        docs.append(("deep-empty-array-%d" % n, deep(n, "[", "]", "")))
        docs.append(("deep-inline-%d" % n, deep(n, "{b=", "}")))
    for n in (99, 100, 101, 300):
        docs.append(("deep-header-%d" % n, "[" + ".".join(["t"] * n) + "]\nx = 1"))
        docs.append(("deep-dotted-%d" % n, ".".join(["k"] * n) + " = 1"))
        docs.append(("deep-aot-%d" % n, "[[" + ".".join(["t"] * n) + "]]"))
    return docs


def size_cases():
    return [("size-at-limit", "a = '" + "x" * (MAX_DOC - 6) + "'"),
            ("size-over-limit", "# " + "x" * (MAX_DOC - 1)),
            ("many-keys", "\n".join("k%d = %d" % (i, i) for i in range(20000))),
            ("wide-table", "[t]\n" + "\n".join("'%d' = [%d]" % (i, i) for i in range(5000))),
            ("long-array", "a = [" + ",".join(["1"] * 50000) + "]"),
            ("many-aot", "[[a]]\nx = 1\n" * 5000)]


# ---- random documents -----------------------------------------------------

KEYS = ["a", "b", "c", "'a'", '"b"', "\"\"", "a-b", "1", "_"]


def rand_key(r, maxparts=3):
    n = r.choice([1, 1, 1, 2, 2, 3][:maxparts * 2])
    sep = r.choice([".", ".", " . ", ". ", " ."])
    return sep.join(r.choice(KEYS) for _ in range(n))


def rand_digits(r, alphabet="0123456789", n=None):
    n = n or r.randint(1, 6)
    out = ""
    for i in range(n):
        out += r.choice(alphabet)
        if i + 1 < n and r.random() < 0.15:
            out += "_" * r.choice([1, 1, 1, 2])
    return out


def rand_number(r):
    kind = r.random()
    if kind < 0.15:
        pre, alpha = r.choice([("0x", "0123456789abcdefABCDEF"), ("0o", "01234567"),
                               ("0b", "01")])
        if r.random() < 0.1:
            pre = r.choice(["0X", "0O", "+0x", "-0b", "0x_", "0"])
        return pre + rand_digits(r, alpha, r.randint(1, 20))
    if kind < 0.2:
        return r.choice(["9223372036854775807", "-9223372036854775808",
                         "9223372036854775808", "-9223372036854775809",
                         "0x7fffffffffffffff", "0x8000000000000000", "18446744073709551615"])
    if kind < 0.25:
        return r.choice(["", "+", "-"]) + r.choice(["inf", "nan", "in", "infi", "NaN", "Inf"])
    s = r.choice(["", "", "+", "-"])
    s += r.choice(["0", rand_digits(r), "0" + rand_digits(r), rand_digits(r, n=19)])
    if r.random() < 0.4:
        s += "." + (rand_digits(r) if r.random() < 0.9 else r.choice(["", "_1", "e1"]))
    if r.random() < 0.3:
        s += r.choice("eE") + r.choice(["", "+", "-"]) + \
            (rand_digits(r, n=r.randint(1, 3)) if r.random() < 0.9 else r.choice(["", "_"]))
    if r.random() < 0.05:
        s += r.choice(["_", ".", "e", "x"])
    return s


def rand_datetime(r):
    def two(lo, hi, bad=0.05):
        if r.random() < bad:
            return r.choice(["00", "99", "1", "60", "24", "32", "13"])
        return "%02d" % r.randint(lo, hi)
    y = r.choice(["1979", "2000", "2001", "1900", "2400", "0000", "0001", "9999", "197"])
    date = "%s-%s-%s" % (y, two(1, 12), two(1, 31))
    time = "%s:%s:%s" % (two(0, 23), two(0, 59), two(0, 59))
    if r.random() < 0.3:
        time += "." + rand_digits(r, n=r.randint(0, 10)).replace("_", "")
    off = r.choice(["", "Z", "z", "+%s:%s" % (two(0, 23), two(0, 59)),
                    "-%s:%s" % (two(0, 23), two(0, 59)), "+0800", " Z"])
    shape = r.random()
    if shape < 0.25:
        return date
    if shape < 0.4:
        return time
    return date + r.choice(["T", "t", " ", "T", "_"]) + time + off


ESCAPES = ["\\n", "\\t", "\\\\", "\\\"", "\\b", "\\f", "\\r", "\\u00e9", "\\U0001F600",
           "\\uD800", "\\x41", "\\e", "\\u12", "\\ ", "\\U00110000", "\\u0000"]
STRCHARS = ["a", "b", " ", "é", "😀", "'", '"', "\t", "#", "=", "[", "\x01", "\x7f", "\\"]


def rand_string(r):
    body = "".join(r.choice(ESCAPES) if r.random() < 0.2 else r.choice(STRCHARS[:10])
                   if r.random() < 0.95 else r.choice(STRCHARS)
                   for _ in range(r.randint(0, 8)))
    kind = r.random()
    if kind < 0.5:
        return '"' + body + '"'
    if kind < 0.7:
        return "'" + body.replace("'", "") + "'"
    if kind < 0.85:
        nl = r.choice(["", "\n", "\r\n"])
        return '"""' + nl + body.replace("\\ ", "\\  \n ") + r.choice(["", "\n", '"', '""']) \
            + '"""'
    return "'''" + r.choice(["", "\n"]) + body + r.choice(["", "'", "''"]) + "'''"


def rand_value(r, depth=0):
    k = r.random()
    if depth > 3:
        k = k * 0.6
    if k < 0.2:
        return rand_number(r)
    if k < 0.3:
        return rand_datetime(r)
    if k < 0.5:
        return rand_string(r)
    if k < 0.6:
        return r.choice(["true", "false"])
    if k < 0.8:
        items = [rand_value(r, depth + 1) for _ in range(r.randint(0, 4))]
        sep = r.choice([",", ", ", ",\n", " ,", ", # c\n"])
        trail = r.choice(["", "", ",", "\n", ",\n"])
        return "[" + sep.join(items) + trail + "]"
    pairs = [rand_key(r, 2) + r.choice(["=", " = "]) + rand_value(r, depth + 1)
             for _ in range(r.randint(0, 3))]
    return "{" + r.choice(["", " "]) + ", ".join(pairs) + r.choice(["", " "]) + "}"


def rand_doc(r):
    lines = []
    for _ in range(r.randint(1, 8)):
        k = r.random()
        if k < 0.2:
            lines.append("[" + rand_key(r) + "]")
        elif k < 0.3:
            lines.append("[[" + rand_key(r) + "]]")
        elif k < 0.35:
            lines.append(r.choice(["# comment", "", "  "]))
        else:
            v = rand_value(r) if r.random() < 0.7 else r.choice(["1", "{}", "[]", "{x=1}"])
            lines.append(rand_key(r) + r.choice([" = ", "=", "\t=  "]) + v +
                         r.choice(["", "", " # c"]))
    return r.choice(["\n", "\n", "\r\n"]).join(lines) + r.choice(["", "\n"])


# ---- mutations ------------------------------------------------------------

INSERTS = [b"[", b"]", b"{", b"}", b"=", b",", b".", b"\"", b"'", b"#", b"\n", b"\r",
           b"\t", b" ", b"_", b"-", b"+", b":", b"0", b"x", b"e", b"\\", b"\x00", b"\xff",
           b"\xc3", b"\xe9", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\x80", "é".encode(),
           b"\"\"\"", b"'''", b"[[", b"]]", b"\\u", b"inf", b"1979-05-27"]


def mutate(r, doc):
    b = bytearray(doc)
    for _ in range(r.randint(1, 3)):
        op = r.random()
        pos = r.randint(0, len(b))
        if op < 0.25 and b:
            del b[min(pos, len(b) - 1)]
        elif op < 0.55:
            b[pos:pos] = r.choice(INSERTS)
        elif op < 0.7 and b:
            b[min(pos, len(b) - 1)] = r.choice(INSERTS)[0]
        elif op < 0.8:
            b = b[:pos]
        else:
            lines = bytes(b).split(b"\n")
            i = r.randrange(len(lines))
            if op < 0.9:
                lines.insert(i, lines[i])
            elif len(lines) > 1:
                j = r.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            b = bytearray(b"\n".join(lines))
    return bytes(b)


# ---- main -----------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=6000,
                    help="random and mutated documents (default 6000)")
    ap.add_argument("--seed", type=int, default=20240501)
    args = ap.parse_args()
    sys.setrecursionlimit(1000)
    r = random.Random(args.seed)

    cases = []
    for i, d in enumerate(VALID):
        cases.append(("valid-%d" % i, d.encode()))
    for i, d in enumerate(INVALID):
        cases.append(("invalid-%d" % i, d.encode()))
    for name, d in depth_cases() + size_cases():
        cases.append((name, d.encode()))
    cases.append(("bad-utf8-key", b"a = '\xff'"))
    cases.append(("bad-utf8-comment", b"# \xc3\x28"))
    cases.append(("surrogate-utf8", b"a = '\xed\xa0\x80'"))
    cases.append(("overlong-utf8", b"a = '\xc0\xaf'"))
    cases.append(("nul-byte", b"a = 1\x00"))
    n_hand = len(cases)

    seeds = [d.encode() for d in VALID]
    n_rand = args.count // 2
    for i in range(n_rand):
        d = rand_doc(r).encode()
        cases.append(("random-%d" % i, d))
        if judge(d)[0]:
            seeds.append(d)
    for i in range(args.count - n_rand):
        cases.append(("mutant-%d" % i, mutate(r, r.choice(seeds))))

    stats = {"valid": 0, "invalid": 0}
    with open(args.out, "w") as f:
        for name, doc in cases:
            valid, expect, note = judge(doc)
            stats["valid" if valid else "invalid"] += 1
            if note:
                stats[note] = stats.get(note, 0) + 1
            rec = {"name": name, "doc": doc.hex(), "valid": valid, "expect": expect}
            if note:
                rec["note"] = note
            f.write(json.dumps(rec) + "\n")
    print("toml_diff: %d documents (%d hand-written, %d random/mutated): %s" %
          (len(cases), n_hand, len(cases) - n_hand,
           ", ".join("%s %d" % kv for kv in sorted(stats.items()))), file=sys.stderr)


if __name__ == "__main__":
    main()
