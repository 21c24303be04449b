#!/usr/bin/env python3
"""Splits each kill of a bench/chaos.sh run into the engine's share and corral's.

usage: bench/chaos-timeline.py LOG_DIR...   (the directories bench/chaos.sh names at its end)

Reads chaos.out (chaos's JSON line: each fault's start, detection and
replacement time), chaos.log (the wall-clock time chaos counts from: the
origin_unix_ms field of its first progress line) and
events.log (docker events of the pool, engine clock in ns). Both clocks are
this host's, so they line up to within a millisecond. For every kill it
prints, in ms from the SIGKILL: corral's `rename` of the dead container (to
<pool>-<port>-gone-<id>, which frees the name), the engine's `die` event, the
`create` and `start` events of the replacement, the `destroy` of the dead
container, and the moment chaos saw the replacement ready in /status; then
min / median / max of each step, over all the runs given. The replacement no
longer waits for the removal, so `destroy` usually comes after `create`, and
the path to ready is rename -> create -> start -> ready. Steps between engine
events are engine work plus corral's reaction; see docs/BENCHMARKS.md for how
to read them.
"""
import json
import re
import statistics
import sys
from pathlib import Path

MARKS = ("rename", "die", "create", "start", "destroy", "ready")


def load(run: Path):
    result = json.loads(next(l for l in (run / "chaos.out").read_text().splitlines()
                              if l.startswith("{")))
    # Text (origin_unix_ms=N) or JSON ("origin_unix_ms":N) lines of corral's
    # logger; older runs wrote "count from unix time N ms".
    origin = re.search(r'origin_unix_ms"?[=:](\d+)|count from unix time (\d+) ms',
                       (run / "chaos.log").read_text())
    if not origin:
        sys.exit(f"{run}/chaos.log has no origin line: chaos too old")
    events = []
    for line in (run / "events.log").read_text().splitlines():
        ns, action, name, cid = line.split()[:4]
        events.append((int(ns) / 1e6, action, name, cid))
    return result, int(origin.group(1) or origin.group(2)), sorted(events)


def first(events, after_ms, action, name=None, cid=None, not_cid=None):
    """The first `action` event at or after `after_ms` that matches every
    given filter, as (time, container id); (None, None) when there is none."""
    for t, a, n, c in events:
        if t >= after_ms and a == action and (name is None or n == name) \
                and (cid is None or c == cid) and (not_cid is None or c != not_cid):
            return t, c
    return None, None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    steps = {k: [] for k in MARKS + ("rename → create", "create → start", "start → ready",
                                     "die → destroy")}
    for arg in sys.argv[1:]:
        run = Path(arg)
        result, origin_ms, events = load(run)
        pool = result["pool"]
        print(f"{run}:\n")
        print("| kill | port | " + " | ".join(MARKS[:-1]) + " | ready (/status) |")
        print("|---:|---:|" + "---:|" * len(MARKS))
        for i, f in enumerate(result["faults"], 1):
            if f["kind"] != "kill" or f["replacement_ms"] is None:
                continue
            t0 = origin_ms + f["at_ms"]
            name = f"{pool}-{f['port']}"
            # The victim is the container chaos's kill names: the SIGKILL
            # reaches the engine before corral can have renamed it.
            _, victim = first(events, t0 - 5, "kill", name=name)
            if victim is None:
                print(f"| {i} | {f['port']} | events missing |" + " |" * (len(MARKS) - 1))
                continue
            # Since the rename the dead container's events carry its new
            # name, so they are matched by id alone.
            rename, _ = first(events, t0 - 5, "rename", cid=victim)
            die, _ = first(events, t0 - 5, "die", cid=victim)
            destroy, _ = first(events, t0 - 5, "destroy", cid=victim)
            # The replacement takes the name the rename freed.
            create, new = first(events, t0 - 5, "create", name=name, not_cid=victim)
            start, _ = first(events, t0 - 5, "start", cid=new)
            if None in (rename, die, destroy, create, start):
                print(f"| {i} | {f['port']} | events missing |" + " |" * (len(MARKS) - 1))
                continue
            marks = {"rename": rename - t0, "die": die - t0, "create": create - t0,
                     "start": start - t0, "destroy": destroy - t0,
                     "ready": float(f["replacement_ms"])}
            for k, v in marks.items():
                steps[k].append(v)
            steps["rename → create"].append(marks["create"] - marks["rename"])
            steps["create → start"].append(marks["start"] - marks["create"])
            steps["start → ready"].append(marks["ready"] - marks["start"])
            steps["die → destroy"].append(marks["destroy"] - marks["die"])
            print(f"| {i} | {f['port']} | " + " | ".join(f"{marks[k]:.0f}" for k in MARKS) + " |")
        print()
    print(f"| ms after the SIGKILL ({len(sys.argv) - 1} runs) | n | min | median | max |")
    print("|---|---:|---:|---:|---:|")
    for k, v in steps.items():
        if v:
            print(f"| {k} | {len(v)} | {min(v):.0f} | {statistics.median(v):.0f} | {max(v):.0f} |")


if __name__ == "__main__":
    main()
