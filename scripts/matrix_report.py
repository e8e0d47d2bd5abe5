#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The kvmcheck matrix's bookkeeping (python3 stdlib only); scripts/matrix.sh drives it.

  matrix_report.py column --line ID --status ok|BOOT-ERROR|NOT-RUN [--reason R] [--runner F]
                          [--label L] [--target T] [--timing NAME=SECONDS]... --out SHARD.json
      one kernel line's column: the runner's JSON (when the kernel booted) plus why it did not
  matrix_report.py report --expect DIR --out-dir DIR [--name matrix] FILE...
      join columns (shards, or earlier matrix.json files) into the table on stdout,
      DIR/NAME.json and DIR/NAME-junit.xml; exit 0 when every verdict is as expected, 1 when not
  matrix_report.py verdict RUNNER.json TEST[:SUBTEST]
      print 'VERDICT reason' of one test or subtest (for bisect-step.sh); NONE when it did not run
  matrix_report.py summary RUNNER.json
      one progress line: '10 tests: 8 PASS, 2 SKIP'

Expectations live in expect/LINE.txt, one per line: `PATTERN VERDICT[|VERDICT] reason`, where
PATTERN is a test (common/ucall), a subtest (x86/directed_eoi:cap_advertised), a glob of either, or
`*` for the whole column (used with BOOT-ERROR); `include FILE` pulls in another file of expect/.
A test or subtest not listed is expected to PASS.
"""
import argparse
import fnmatch
import json
import os
import sys
import xml.etree.ElementTree as ET

VERDICTS = ("PASS", "FAIL", "SKIP", "TIMEOUT", "CRASH", "BOOT-ERROR", "NOT-RUN")
SCHEMA = 1


class InputError(Exception):
    """A file the user handed us is unusable; the message names it."""


# --- expectations ------------------------------------------------------------------------------

class Expect:
    """One kernel line's expectations: ordered (pattern, verdicts, reason, where) rules."""

    def __init__(self, rules=None, path=None):
        self.rules = rules or []
        self.path = path

    @classmethod
    def load(cls, expect_dir, line):
        path = os.path.join(expect_dir, line + ".txt")
        if not os.path.exists(path):
            return cls([], None)
        rules = []
        cls._read(expect_dir, path, rules, set())
        return cls(rules, path)

    @classmethod
    def _read(cls, expect_dir, path, rules, seen):
        if path in seen:
            raise InputError(f"{path}: include loop")
        seen.add(path)
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.readlines()
        except OSError as e:
            raise InputError(f"{path}: {e.strerror}") from e
        for n, raw in enumerate(lines, 1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.split(None, 2)
            where = f"{os.path.basename(path)}:{n}"
            if parts[0] == "include":
                if len(parts) != 2:
                    raise InputError(f"{where}: include takes one file name")
                cls._read(expect_dir, os.path.join(expect_dir, parts[1]), rules, seen)
                continue
            if len(parts) < 3:
                raise InputError(f"{where}: want 'TEST[:SUBTEST] VERDICT reason', got '{text}' "
                                 "(every expectation needs its reason)")
            verdicts = parts[1].split("|")
            bad = [v for v in verdicts if v not in VERDICTS]
            if bad:
                raise InputError(f"{where}: unknown verdict {bad[0]} (use {', '.join(VERDICTS)})")
            rules.append((parts[0], tuple(verdicts), parts[2], where))

    def lookup(self, name):
        """(verdicts, reason) of the first rule naming NAME exactly, else the first glob match.
        A test name never matches a subtest pattern (one with ':') and vice versa, except '*'."""
        exact = [r for r in self.rules if r[0] == name]
        if exact:
            return exact[0][1], exact[0][2]
        for pat, verdicts, reason, _ in self.rules:
            if pat == "*":
                continue
            if (":" in pat) == (":" in name) and fnmatch.fnmatchcase(name, pat):
                return verdicts, reason
        return None

    def column(self):
        for pat, verdicts, reason, _ in self.rules:
            if pat == "*":
                return verdicts, reason
        return None


def test_rule_for_subtests(rule):
    """A test's rule read for its subtests: SKIP means each skips; a failing test (FAIL,
    TIMEOUT, CRASH) still has subtests that pass, so PASS is allowed there too."""
    if rule is None:
        return None
    verdicts, reason = rule
    if any(v in ("FAIL", "TIMEOUT", "CRASH") for v in verdicts) and "PASS" not in verdicts:
        verdicts = verdicts + ("PASS",)
    return verdicts, reason


def combine(verdicts):
    """A test's verdict from its subtests' (the runner's rule): any FAIL fails, all SKIP skips."""
    if any(v != "PASS" and v != "SKIP" for v in verdicts):
        return "FAIL"
    if verdicts and all(v == "SKIP" for v in verdicts):
        return "SKIP"
    return "PASS"


# --- evaluation --------------------------------------------------------------------------------

def evaluate_column(col, expect):
    """Add 'cells' (one per test, with subtests) and 'counts' to a column, judged against expect."""
    col["expect_file"] = expect.path
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    unexpected = []
    cells = []
    if col["status"] != "ok":
        exp = expect.column()
        ok = exp is not None and col["status"] in exp[0]
        col["as_expected"] = ok
        col["expected"] = "|".join(exp[0]) if exp else "PASS"
        col["expected_reason"] = exp[1] if exp else None
        counts["skipped" if ok else "failed"] += 1
        if not ok:
            unexpected.append(f"{col['line']}: {col['status']}: {col['reason']}")
        col["cells"], col["counts"], col["unexpected"] = [], counts, unexpected
        return col
    for t in col["runner"].get("tests", []):
        subs = []
        for s in t.get("subtests") or []:
            full = f"{t['name']}:{s['name']}"
            exp = expect.lookup(full) or test_rule_for_subtests(expect.lookup(t["name"])) or (("PASS",), None)
            ok = s["verdict"] in exp[0]
            subs.append({"name": s["name"], "verdict": s["verdict"], "reason": s.get("reason"),
                         "expected": "|".join(exp[0]), "expected_reason": exp[1], "as_expected": ok})
            if ok:
                counts["passed" if s["verdict"] == "PASS" else "skipped"] += 1
            else:
                counts["failed"] += 1
                unexpected.append(f"{col['line']}: {full}: {s['verdict']}, expected "
                                  f"{'|'.join(exp[0])}" + (f" ({s.get('reason')})" if s.get("reason") else ""))
        exp = expect.lookup(t["name"])
        if exp is None:
            # Derived from the subtests' expectations, so listing subtests is enough.
            # Where every subtest is as expected, so is the verdict they add up to; otherwise
            # the verdict their first expected outcomes would add up to.
            if subs and all(s["as_expected"] for s in subs):
                exp = ((combine([s["verdict"] for s in subs]),), None)
            else:
                exp = ((combine([s["expected"].split("|")[0] for s in subs]) if subs else "PASS",), None)
        ok = t["verdict"] in exp[0]
        # A test's own verdict counts on its own only where no subtest shows it: no subtests,
        # or a TIMEOUT/CRASH/exit failure that every subtest line missed.
        if not subs:
            counts["passed" if ok and t["verdict"] == "PASS" else "skipped" if ok else "failed"] += 1
        elif not ok and all(s["as_expected"] for s in subs):
            counts["failed"] += 1
        if not ok:
            unexpected.append(f"{col['line']}: {t['name']}: {t['verdict']}, expected {'|'.join(exp[0])}"
                              + (f" ({t.get('reason')})" if t.get("reason") else ""))
        cells.append({"test": t["name"], "verdict": t["verdict"], "reason": t.get("reason"),
                      "duration_s": t.get("duration_s"),
                      "expected": "|".join(exp[0]), "expected_reason": exp[1],
                      "as_expected": ok and all(s["as_expected"] for s in subs), "subtests": subs})
    col["cells"], col["counts"], col["unexpected"] = cells, counts, unexpected
    col["as_expected"] = not unexpected
    return col


def cell_reason(cell):
    """Why a cell is not a plain PASS: the test's reason, else its non-passing subtests',
    those sharing a verdict and reason named together."""
    lines = []
    if cell["reason"]:
        lines.append(cell["reason"])
    odd = [s for s in cell["subtests"] if s["verdict"] != "PASS" or not s["as_expected"]]
    groups = {}
    for s in odd:
        reason = "" if cell["reason"] and s["reason"] == cell["reason"] else (s["reason"] or "")
        groups.setdefault((s["verdict"], s["as_expected"], s["expected"], reason), []).append(s["name"])
    for (verdict, ok, expected, reason), names in groups.items():
        mark = "" if ok else f" UNEXPECTED (expected {expected})"
        lines.append(f"{', '.join(names)}: {verdict}{mark}" + (f" - {reason}" if reason else ""))
    exp = [cell["expected_reason"]] if cell["expected_reason"] else []
    for s in odd:
        if s["expected_reason"] and s["expected_reason"] not in exp:
            exp.append(s["expected_reason"])
    if exp:
        lines.append("expected: " + "; ".join(exp))
    return lines


def column_summary(path):
    """One progress line for a runner JSON: '10 tests: 8 PASS, 2 SKIP'."""
    with open(path, encoding="utf-8") as f:
        tests = json.load(f).get("tests", [])
    counts = {}
    for t in tests:
        counts[t["verdict"]] = counts.get(t["verdict"], 0) + 1
    return f"{len(tests)} tests: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))


# --- output ------------------------------------------------------------------------------------

def render(columns):
    """The kernel x test table and its numbered notes, as text."""
    tests = []
    for col in columns:
        for c in col["cells"]:
            if c["test"] not in tests:
                tests.append(c["test"])
    tests.sort()
    if not tests:
        tests = ["(all tests)"]  # no kernel booted: still one row to carry the reasons
    notes = []
    grid = {}
    for ci, col in enumerate(columns):
        if col["status"] != "ok":
            notes.append(f"{col['line']}: {col['status']}: {col['reason']}"
                         + (f" (expected: {col['expected_reason']})" if col.get("expected_reason") else ""))
            mark = "=" if col["as_expected"] else "!"
            for t in tests:
                grid[(t, ci)] = f"{col['status']}{mark} [{len(notes)}]"
            continue
        by_test = {c["test"]: c for c in col["cells"]}
        for t in tests:
            c = by_test.get(t)
            if c is None:
                grid[(t, ci)] = "-"
                continue
            plain = c["verdict"] == "PASS" and c["as_expected"] and all(
                s["verdict"] == "PASS" for s in c["subtests"])
            if plain:
                grid[(t, ci)] = "PASS"
                continue
            nskip = sum(1 for s in c["subtests"] if s["verdict"] != "PASS")
            detail = f" {nskip}/{len(c['subtests'])}" if c["verdict"] == "PASS" and nskip else ""
            notes.append(f"{col['line']} {t}: " + "; ".join(cell_reason(c)))
            mark = "=" if c["as_expected"] else "!"
            grid[(t, ci)] = f"{c['verdict']}{detail}{mark} [{len(notes)}]"
    heads = [col["line"] for col in columns]
    w0 = max([len("test")] + [len(t) for t in tests])
    widths = [max([len(h)] + [len(grid[(t, i)]) for t in tests]) for i, h in enumerate(heads)]
    out = ["  ".join(["test".ljust(w0)] + [h.ljust(w) for h, w in zip(heads, widths)]).rstrip()]
    out.append("  ".join(["-" * w0] + ["-" * w for w in widths]))
    for t in tests:
        out.append("  ".join([t.ljust(w0)] + [grid[(t, i)].ljust(w) for i, w in enumerate(widths)]).rstrip())
    vers = [f"{col['line']}={col.get('kernel') or '?'}" for col in columns]
    out.append("kernels: " + ", ".join(vers))
    out.append("marks: = as expect/ says, ! unexpected; 'PASS 3/9' = passed with 3 of 9 subtests "
               "not passing; [n] reason below")
    out.extend(f"[{i}] {n}" for i, n in enumerate(notes, 1))
    return "\n".join(out)


def junit(columns, path):
    """One testsuite per kernel line, one testcase per test (subtests in system-out); an
    unexpected verdict is a <failure>, an expected non-PASS a <skipped> carrying both reasons."""
    root = ET.Element("testsuites", name="kvmcheck-matrix")
    for col in columns:
        cells = col["cells"]
        suite = ET.SubElement(root, "testsuite", name=f"kvmcheck.{col['line']}",
                              hostname=col.get("kernel") or "", tests=str(max(1, len(cells))))
        nfail = nskip = 0
        if col["status"] != "ok":
            tc = ET.SubElement(suite, "testcase", classname=f"kvmcheck.{col['line']}", name="boot")
            if col["as_expected"]:
                ET.SubElement(tc, "skipped", message=f"{col['status']} (expected): {col['reason']}")
                nskip += 1
            else:
                ET.SubElement(tc, "failure", message=f"{col['status']}: {col['reason']}", type=col["status"])
                nfail += 1
        for c in cells:
            tc = ET.SubElement(suite, "testcase", classname=f"kvmcheck.{col['line']}", name=c["test"],
                               time=str(c.get("duration_s") or 0))
            reasons = "; ".join(cell_reason(c))
            if not c["as_expected"]:
                ET.SubElement(tc, "failure", type="unexpected",
                              message=f"{c['verdict']} (expected {c['expected']}): {reasons}")
                nfail += 1
            elif c["verdict"] != "PASS":
                ET.SubElement(tc, "skipped", message=f"{c['verdict']} (expected): {reasons}")
                nskip += 1
            if c["subtests"]:
                out = ET.SubElement(tc, "system-out")
                out.text = "\n".join(
                    f"{s['name']}: {s['verdict']}" + ("" if s["as_expected"] else f" UNEXPECTED (expected {s['expected']})")
                    + (f" - {s['reason']}" if s["reason"] else "") for s in c["subtests"])
        suite.set("failures", str(nfail))
        suite.set("skipped", str(nskip))
    if hasattr(ET, "indent"):  # python 3.9+; older ones write it on one line
        ET.indent(root)
    tmp = path + ".tmp"
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)


def write_json(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def load_columns(path):
    """Columns from a shard or a matrix.json: both hold 'kernels', each with its raw runner JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from e
    except ValueError as e:
        raise InputError(f"{path}: not JSON ({e})") from e
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("kernels"), list):
        raise InputError(f"{path}: not a kvmcheck matrix file (no schema {SCHEMA} 'kernels' list)")
    cols = []
    for k in data["kernels"]:
        if not isinstance(k, dict) or "line" not in k or "status" not in k:
            raise InputError(f"{path}: a kernel entry lacks 'line' or 'status'")
        if k["status"] == "ok" and not isinstance(k.get("runner"), dict):
            raise InputError(f"{path}: kernel line {k['line']} says ok but has no runner results")
        keep = {key: v for key, v in k.items() if key not in ("cells", "counts", "unexpected",
                                                                "as_expected", "expected", "expected_reason")}
        cols.append(keep)
    return cols


# --- commands ----------------------------------------------------------------------------------

def cmd_column(a):
    runner = None
    if a.status == "ok":
        try:
            with open(a.runner, encoding="utf-8") as f:
                runner = json.load(f)
        except (OSError, ValueError) as e:
            print(f"matrix: {a.line}: runner JSON {a.runner} unreadable: {e}", file=sys.stderr)
            a.status, a.reason = "BOOT-ERROR", f"the runner's JSON {a.runner} is missing or corrupt"
    if a.status != "ok" and not a.reason:
        a.reason = "no reason given"
    timings = {}
    for t in a.timing:
        name, _, val = t.partition("=")
        try:
            timings[name] = round(float(val), 2)
        except ValueError:
            pass
    col = {"line": a.line, "label": a.label or a.line, "target": a.target, "status": a.status,
           "reason": a.reason, "kernel": (runner or {}).get("kernel") or a.kernel,
           "version": a.version, "timings": timings, "runner": runner}
    write_json({"schema": SCHEMA, "kernels": [col]}, a.out)
    return 0


def cmd_report(a):
    columns = []
    try:
        for path in a.files:
            for col in load_columns(path):
                if any(c["line"] == col["line"] for c in columns):
                    raise InputError(f"{path}: kernel line {col['line']} appears twice in the inputs")
                columns.append(col)
        if not columns:
            raise InputError("no kernel lines to report")
        for col in columns:
            evaluate_column(col, Expect.load(a.expect, col["line"]))
    except InputError as e:
        print(f"matrix: {e}", file=sys.stderr)
        return 2
    os.makedirs(a.out_dir, exist_ok=True)
    counts = {k: sum(c["counts"][k] for c in columns) for k in ("passed", "failed", "skipped")}
    unexpected = [u for c in columns for u in c["unexpected"]]
    complete = all(c["status"] == "ok" for c in columns)
    write_json({"schema": SCHEMA, "complete": complete, "kernels": columns, "summary": dict(
        counts, unexpected=unexpected)}, os.path.join(a.out_dir, a.name + ".json"))
    junit(columns, os.path.join(a.out_dir, a.name + "-junit.xml"))
    print(render(columns))
    if not complete:
        missing = [c["line"] for c in columns if c["status"] != "ok"]
        print(f"INCOMPLETE: not tested: {', '.join(missing)} (their columns say why)")
    if unexpected:
        print(f"{len(unexpected)} unexpected verdict(s) (not in expect/):")
        for u in unexpected:
            print(f"  {u}")
    else:
        print("every verdict as expect/ says")
    print(f"written: {os.path.join(a.out_dir, a.name + '.json')}, "
          f"{os.path.join(a.out_dir, a.name + '-junit.xml')}")
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if unexpected else 0


def cmd_summary(a):
    try:
        print(column_summary(a.json))
    except (OSError, ValueError, KeyError) as e:
        print(f"unreadable runner JSON ({e})")
    return 0


def cmd_verdict(a):
    try:
        with open(a.json, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        print(f"NONE runner JSON {a.json} unreadable: {e}")
        return 0
    test, _, sub = a.name.partition(":")
    for t in data.get("tests", []):
        if t.get("name") != test:
            continue
        if not sub:
            print(f"{t['verdict']} {t.get('reason') or ''}".rstrip())
            return 0
        for s in t.get("subtests") or []:
            if s.get("name") == sub:
                print(f"{s['verdict']} {s.get('reason') or t.get('reason') or ''}".rstrip())
                return 0
        print(f"NONE {test} has no subtest {sub} on this kernel")
        return 0
    print(f"NONE no test {test} ran")
    return 0


def main(argv):
    p = argparse.ArgumentParser(prog="matrix_report.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("column")
    c.add_argument("--line", required=True)
    c.add_argument("--label")
    c.add_argument("--target")
    c.add_argument("--kernel")
    c.add_argument("--version")
    c.add_argument("--status", required=True, choices=("ok", "BOOT-ERROR", "NOT-RUN"))
    c.add_argument("--reason")
    c.add_argument("--runner")
    c.add_argument("--timing", action="append", default=[])
    c.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--expect", required=True)
    r.add_argument("--out-dir", required=True)
    r.add_argument("--name", default="matrix")
    r.add_argument("files", nargs="+")
    v = sub.add_parser("verdict")
    v.add_argument("json")
    v.add_argument("name")
    m = sub.add_parser("summary")
    m.add_argument("json")
    a = p.parse_args(argv)
    return {"column": cmd_column, "report": cmd_report, "verdict": cmd_verdict,
            "summary": cmd_summary}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
