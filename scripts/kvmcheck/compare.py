# SPDX-License-Identifier: GPL-2.0-only
"""compare [--json FILE] BASE CANDIDATE    what changed between two runs, per test and subtest

BASE, CANDIDATE: a runner JSON (run_tests.sh --json), a matrix shard (results/matrix-LINE.json),
a matrix.json or a KCIDB file (--kcidb). A file holding several kernel lines names one as
FILE#LINE (results/matrix.json#sid); a KCIDB file's lines are its builds' config_name.

One line per test or subtest whose verdict changed, with its kind and the candidate's reason:
  regression     PASS before; FAIL, TIMEOUT, CRASH, ERROR after, or no longer reported
  new failure    SKIP (or absent) before; failing after
  fixed          failing before, PASS after
  now passes     SKIP before, PASS after
  now skips      PASS or failing before, SKIP after (with the reason)
  disappeared    reported before, not after (a test that did not pass)
  new            not reported before
  changed        another change (FAIL -> TIMEOUT ...)
The last line counts them. Exit status: 0 no regression and no new failure, 1 one of them
(listed), 2 bad input (named: file and field), 4 neither file holds a test.
"""
import argparse
import os
import sys
from dataclasses import asdict, dataclass

from . import util
from .results import parse_run, read_json
from .util import InputError

FAILING = ("FAIL", "TIMEOUT", "CRASH", "ERROR", "MISS")
KINDS = ("regression", "new failure", "fixed", "now passes", "now skips", "disappeared", "new",
         "changed")
BAD_KINDS = ("regression", "new failure")


@dataclass
class Outcome:
    verdict: str
    reason: str | None = None


@dataclass
class Side:
    """One run flattened: 'x86/directed_eoi' and 'x86/directed_eoi:cap_advertised' -> Outcome."""
    label: str
    kernel: str | None
    outcomes: dict


@dataclass
class Change:
    name: str
    kind: str
    base: str | None        # verdict, None: not reported
    candidate: str | None
    reason: str | None      # the candidate's reason (the base's when it disappeared)


def transition(base, candidate):
    """The kind of change from verdict BASE to CANDIDATE (None: not reported); None: unchanged.
    The one rule kvmcheck applies wherever two runs meet (compare, review's before/after)."""
    if base == candidate:
        return None
    if candidate is None:
        return "regression" if base == "PASS" else "disappeared"
    if candidate in FAILING:
        if base == "PASS":
            return "regression"
        if base in (None, "SKIP"):
            return "new failure"
        return "changed"
    if base is None:
        return "new"
    if candidate == "PASS":
        return "fixed" if base in FAILING else "now passes"
    if candidate == "SKIP":
        return "now skips"
    return "changed"


# --- reading either kind of file ----------------------------------------------------------------

def _from_run(run, label):
    out = {}
    for t in run.tests:
        out[t.name] = Outcome(t.verdict, t.reason)
        for s in t.subtests:
            out[f"{t.name}:{s.name}"] = Outcome(s.verdict, s.reason)
    return Side(label, run.kernel, out)


def _from_kcidb(data, path, want):
    builds = {b.get("id"): b for b in data.get("builds", []) if isinstance(b, dict)}
    names = sorted({b.get("config_name") or bid for bid, b in builds.items()})
    if want is None:
        if len(names) != 1:
            raise InputError(f"{path} holds {len(names)} kernel lines ({', '.join(names)}): "
                             f"name one as {path}#LINE")
        want = names[0]
    ids = {bid for bid, b in builds.items() if (b.get("config_name") or bid) == want}
    if not ids:
        raise InputError(f"{path}: no kernel line {want} (it has {', '.join(names) or 'none'})")
    checkouts = {c.get("id"): c for c in data.get("checkouts", []) if isinstance(c, dict)}
    kernel = None
    for bid in ids:
        c = checkouts.get(builds[bid].get("checkout_id")) or {}
        kernel = (c.get("misc") or {}).get("kernel_release") or kernel
    out = {}
    for i, t in enumerate(data.get("tests", [])):
        if not isinstance(t, dict) or t.get("build_id") not in ids:
            continue
        p = t.get("path")
        if not isinstance(p, str) or not t.get("status"):
            raise InputError(f"{path}: tests[{i}]: no path or status")
        parts = p.split(".")
        if parts[0] != "kvmcheck" or len(parts) < 3:
            continue          # the suite node of a line that did not run
        name = "/".join(parts[1:3]) + (":" + ".".join(parts[3:]) if len(parts) > 3 else "")
        misc = t.get("misc") or {}
        verdict = misc.get("verdict") or t["status"]
        out[name] = Outcome(verdict, misc.get("reason") or t.get("log_excerpt"))
    return Side(want, kernel, out)


def load_side(spec):
    """FILE or FILE#LINE as a Side; InputError names the file and what is wrong with it."""
    path, line = spec, None
    if not os.path.exists(spec) and "#" in spec:
        path, _, line = spec.rpartition("#")
    data = read_json(path)
    if isinstance(data, dict) and "version" in data and "tests" in data and "kernels" not in data:
        return _from_kcidb(data, path, line)
    if isinstance(data, dict) and "kernels" in data:
        from . import matrix
        cols = matrix.load_columns(path)
        if line is None:
            if len(cols) != 1:
                raise InputError(f"{path} holds {len(cols)} kernel lines "
                                 f"({', '.join(c.line for c in cols)}): name one as {path}#LINE")
            col = cols[0]
        else:
            col = next((c for c in cols if c.line == line), None)
            if col is None:
                raise InputError(f"{path}: no kernel line {line} "
                                 f"(it has {', '.join(c.line for c in cols)})")
        if col.runner is None:
            return Side(col.line, col.kernel, {})
        side = _from_run(col.runner, col.line)
        side.kernel = col.kernel or side.kernel
        return side
    if line is not None:
        raise InputError(f"{path} is a single run: '#{line}' names nothing in it")
    run = parse_run(data, path)
    label = (run.target or os.path.basename(path)).split()[0]
    return Side(label, run.kernel, _from_run(run, label).outcomes)


# --- comparing ----------------------------------------------------------------------------------

def _order(name):
    # A test before its subtests, tests in name order.
    test, _, sub = name.partition(":")
    return (test, sub != "", sub)


def diff(base, cand):
    """[Change] for every name whose verdict differs, tests before their subtests."""
    out = []
    for name in sorted(set(base.outcomes) | set(cand.outcomes), key=_order):
        b, c = base.outcomes.get(name), cand.outcomes.get(name)
        kind = transition(b.verdict if b else None, c.verdict if c else None)
        if kind is None:
            continue
        if c is None and ":" in name and name.partition(":")[0] in cand.outcomes:
            t = cand.outcomes[name.partition(":")[0]]
            if t.verdict in ("TIMEOUT", "CRASH"):
                # The test never got to report it: its own verdict is the subtest's too.
                kind = transition(b.verdict, t.verdict)
                c = t
        out.append(Change(name, kind, b.verdict if b else None, c.verdict if c else None,
                          (c.reason if c else b.reason if b else None)))
    return out


def _one_line(text, limit=160):
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def render(base, cand, changes):
    lines = [f"compare: {base.label} ({base.kernel or '?'}) -> {cand.label} ({cand.kernel or '?'})"]
    if changes:
        w = max(len(c.name) for c in changes)
        for c in changes:
            v = f"{c.base or '-'} -> {c.candidate or '-'}"
            why = f"  {_one_line(c.reason)}" if c.reason and c.kind in (
                "regression", "new failure", "now skips", "disappeared", "changed") else ""
            lines.append(f"{c.name.ljust(w)}  {v.ljust(20)} {c.kind}{why}")
    else:
        lines.append("no verdict changed")
    counts = {k: sum(1 for c in changes if c.kind == k) for k in KINDS}
    same = sum(1 for n in set(base.outcomes) & set(cand.outcomes)
               if base.outcomes[n].verdict == cand.outcomes[n].verdict)
    lines.append(", ".join(f"{n} {k}" for k, n in counts.items() if n) +
                 (", " if changes else "") + f"{same} unchanged")
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(prog="compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="the changes as JSON, written atomically")
    ap.add_argument("base")
    ap.add_argument("candidate")
    a = ap.parse_args(argv)
    sys.argv[0] = "compare"
    try:
        base, cand = load_side(a.base), load_side(a.candidate)
        if a.json and (os.path.isdir(a.json) or not os.access(
                os.path.dirname(os.path.abspath(a.json)), os.W_OK)):
            raise InputError(f"--json {a.json}: cannot write it")
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    changes = diff(base, cand)
    print(render(base, cand, changes), flush=True)
    bad = [c for c in changes if c.kind in BAD_KINDS]
    if a.json:
        util.atomic_write_json(a.json, {"base": a.base, "candidate": a.candidate,
                                        "changes": [asdict(c) for c in changes],
                                        "regressions": len(bad)})
    if not base.outcomes and not cand.outcomes:
        util.msg("compare: neither run holds a test: nothing was compared")
        return util.EXIT_EMPTY
    return util.EXIT_FAILED if bad else util.EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
