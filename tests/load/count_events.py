#!/usr/bin/env python3
"""count_events.py: ai.request and ai.response events per model in a JSONL
file written by `oisp-sensor record` (tests/load).

    count_events.py FILE MODEL...

Prints one line per model: MODEL requests=N responses=M partial=P, where
partial counts responses whose confidence.completeness is not "full".
Models are matched exactly against data.model.id (or data.model when it is
a string).  Lines that are not JSON are counted and reported as torn=N.
"""

import json
import sys


def model_of(data):
    m = data.get("model")
    if isinstance(m, dict):
        return m.get("id")
    return m if isinstance(m, str) else None


def main():
    path, models = sys.argv[1], sys.argv[2:]
    counts = {m: [0, 0, 0] for m in models}
    torn = 0
    with open(path, "rb") as f:
        for line in f:
            if b'"ai.re' not in line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                torn += 1
                continue
            t = ev.get("event_type")
            m = model_of(ev.get("data") or {})
            if m not in counts:
                continue
            if t == "ai.request":
                counts[m][0] += 1
            elif t == "ai.response":
                counts[m][1] += 1
                if (ev.get("confidence") or {}).get("completeness") != "full":
                    counts[m][2] += 1
    for m in models:
        q, r, p = counts[m]
        print(f"{m} requests={q} responses={r} partial={p}")
    print(f"torn={torn}")


if __name__ == "__main__":
    main()
