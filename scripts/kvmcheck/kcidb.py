# SPDX-License-Identifier: GPL-2.0-only
"""kcidb.py: kvmcheck results as KCIDB I/O schema v5 JSON, the one writer of that format.

    python3 -m kvmcheck.kcidb [options] -o FILE RESULT...

RESULT: a runner JSON (kvmcheck-run --json, run_tests.sh --json), a matrix shard or matrix.json.
KCIDB (KernelCI's common results database) takes checkouts (what source was tested), builds
(what was built from it) and tests (what ran on a build). kvmcheck tests a kernel it did not
build, so each kernel line is one checkout (the kernel's package or release) and one build (its
image for one arch), and each test and subtest one test object:

  path    kvmcheck.x86.directed_eoi, kvmcheck.x86.directed_eoi.enable_directed_eoi (characters
          KCIDB paths cannot carry become '_'); 'kvmcheck' for a kernel line that gave none
  status  PASS, FAIL, SKIP; ERROR for TIMEOUT, CRASH and BOOT-ERROR (the tested code's status
          is unknown); MISS for a test that should have run and did not (a 'not run: ...' test,
          every test of a line that did not boot or run)
  id      kvmcheck:RUN-LINE-tN[.M]: RUN (--run-id, else $KVMCHECK_KCIDB_RUN_ID, $GITHUB_RUN_ID,
          $CI_PIPELINE_ID, else random) keeps two submissions apart, and a resubmission of one
          run replaces its objects
  misc    the patch each test verifies (subject, fixes, link, author), the reason, the expected
          verdict and the runs of a --repeat test (runs, failed_runs); comment: the patch subject

Options: -o FILE (written atomically), --run-id ID, --log-url BASE (each test's log_url is
BASE/<name with / as _>.log, the --results layout), --expect DIR (for matrix files: marks a
FLAKY cell waived). Exit status: 0 written, 2 bad input (named: file and field).
"""
import argparse
import os
import re
import sys
import uuid

from . import util
from .results import parse_run, read_json
from .util import InputError

ORIGIN = "kvmcheck"
VERSION = {"major": 5, "minor": 0}
# kvmcheck verdicts -> KCIDB status (the priority order there: FAIL ERROR MISS PASS DONE SKIP).
STATUS = {"PASS": "PASS", "FAIL": "FAIL", "SKIP": "SKIP", "TIMEOUT": "ERROR", "CRASH": "ERROR",
          "BOOT-ERROR": "ERROR", "NOT-RUN": "MISS", "FLAKY": "FAIL"}
_PATH_BAD = re.compile(r"[^A-Za-z0-9_-]")
_ID_BAD = re.compile(r"[^A-Za-z0-9_.+-]")
EXCERPT_MAX = 16384


def path_of(test, subtest=None):
    """x86/directed_eoi, enable_directed_eoi -> kvmcheck.x86.directed_eoi.enable_directed_eoi."""
    parts = [ORIGIN] + [_PATH_BAD.sub("_", p) or "_" for p in test.split("/")]
    if subtest is not None:
        parts.append(_PATH_BAD.sub("_", subtest) or "_")
    return ".".join(parts)


def status_of(verdict, reason=None):
    """A kvmcheck verdict as a KCIDB status: a test the run names as not run is MISS."""
    if verdict in ("FAIL", "SKIP") and reason and reason.startswith("not run"):
        return "MISS"
    return STATUS.get(verdict, "ERROR")


def default_run_id():
    for var in ("KVMCHECK_KCIDB_RUN_ID", "GITHUB_RUN_ID", "CI_PIPELINE_ID"):
        v = os.environ.get(var)
        if v:
            return _ID_BAD.sub("_", v)
    return uuid.uuid4().hex[:12]


def _drop_none(d):
    """KCIDB forbids null: a field not known is left out."""
    return {k: v for k, v in d.items() if v is not None and v != {} and v != []}


def _excerpt(text):
    if not text:
        return None
    return text if len(text) <= EXCERPT_MAX else text[:EXCERPT_MAX - 3] + "..."


class Writer:
    """Collects checkouts, builds and tests; one call of add_line per kernel line."""

    def __init__(self, run_id=None, log_url=None):
        self.run = run_id or default_run_id()
        if not re.fullmatch(r"[A-Za-z0-9_.+-]+", self.run):
            raise InputError(f"--run-id {self.run!r}: letters, digits and _ . + - only")
        self.log_url = log_url.rstrip("/") if log_url else None
        self.data = {"version": dict(VERSION), "checkouts": [], "builds": [], "tests": []}
        self.lines = set()

    def add_line(self, line, *, kernel=None, version=None, arch=None, target=None, run=None,
                 status="ok", reason=None, expected=None, waived=(), should_run=()):
        """One kernel line: its checkout, its build, its tests. run: a results.Run, or None when
        the line gave no results (status BOOT-ERROR or NOT-RUN, reason why), then should_run
        names the tests that are MISS. expected: {test or test:subtest: 'SKIP|PASS'} to record;
        waived: names whose status is to be ignored (FLAKY in expect/)."""
        lid = _ID_BAD.sub("_", line)
        if lid in self.lines:
            raise InputError(f"kernel line {line} given twice")
        self.lines.add(lid)
        base = f"{ORIGIN}:{self.run}-{lid}"
        comment = f"{line}: kernel {kernel or 'unknown'}" + (f" ({version})" if version and version != kernel else "")
        self.data["checkouts"].append(_drop_none({
            "id": base, "origin": ORIGIN, "tree_name": line, "comment": comment,
            "valid": True, "misc": _drop_none({"kernel_release": kernel, "package_version": version})}))
        build = _drop_none({
            "id": f"{base}-b", "checkout_id": base, "origin": ORIGIN,
            "architecture": _PATH_BAD.sub("_", arch) if arch else None, "config_name": line,
            "comment": comment, "misc": _drop_none({"target": target})})
        self.data["builds"].append(build)
        env = _drop_none({"comment": target})
        tests = self.data["tests"]
        if run is None:
            tests.append(_drop_none({
                "id": f"{base}-suite", "build_id": build["id"], "origin": ORIGIN, "path": ORIGIN,
                "status": status_of(status), "log_excerpt": _excerpt(reason),
                "comment": f"{status}: {reason}" if reason else status, "environment": env}))
            for n, name in enumerate(should_run, 1):
                tests.append(_drop_none({
                    "id": f"{base}-t{n}", "build_id": build["id"], "origin": ORIGIN,
                    "path": path_of(name), "status": "MISS", "environment": env,
                    "log_excerpt": _excerpt(f"not run: {status}: {reason}")}))
            return
        expected = expected or {}
        for n, t in enumerate(run.tests, 1):
            url = f"{self.log_url}/{t.name.replace('/', '_')}.log" if self.log_url else None
            patch = t.patch if isinstance(t.patch, dict) else None
            misc = _drop_none({
                "verdict": t.verdict, "reason": t.reason, "expected": expected.get(t.name),
                "exit_status": t.exit_status,
                "patch": _drop_none({k: patch.get(k) for k in ("subject", "fixes", "link", "author")})
                if patch else None,
                "runs": t.extra.get("runs"), "failed_runs": t.extra.get("failed_runs")})
            tests.append(_drop_none({
                "id": f"{base}-t{n}", "build_id": build["id"], "origin": ORIGIN,
                "path": path_of(t.name), "status": status_of(t.verdict, t.reason),
                "duration": t.duration_s, "log_url": url, "log_excerpt": _excerpt(t.reason),
                "comment": (patch or {}).get("subject") or None, "environment": env,
                "waived": True if t.name in waived else None, "misc": misc}))
            for m, s in enumerate(t.subtests, 1):
                full = f"{t.name}:{s.name}"
                tests.append(_drop_none({
                    "id": f"{base}-t{n}.{m}", "build_id": build["id"], "origin": ORIGIN,
                    "path": path_of(t.name, s.name), "status": status_of(s.verdict, s.reason),
                    "log_url": url, "log_excerpt": _excerpt(s.reason), "environment": env,
                    "waived": True if full in waived or t.name in waived else None,
                    "misc": _drop_none({"verdict": s.verdict, "reason": s.reason,
                                        "expected": expected.get(full)})}))

    def write(self, path):
        util.atomic_write_json(path, self.data)


# --- inputs ------------------------------------------------------------------------------------

def _arch_of(run, default=None):
    m = re.search(r"\b(x86_64|riscv64)\b", f"{run.kernel or ''} {run.machine or ''}")
    return m.group(1) if m else default


def add_file(w, path, expect_dir=None):
    """A runner JSON or a matrix file into W; InputError names what is wrong."""
    data = read_json(path)
    if isinstance(data, dict) and "kernels" in data:
        from . import matrix
        cols = matrix.load_columns(path)
        names = []
        for c in cols:
            if c.runner is not None:
                names += [t.name for t in c.runner.tests if t.name not in names]
        for c in cols:
            exp = matrix.expect_for(expect_dir, c.line) if expect_dir else None
            expected, waived = {}, set()
            if exp is not None and c.runner is not None:
                for t in c.runner.tests:
                    for name in [t.name] + [f"{t.name}:{s.name}" for s in t.subtests]:
                        rule = exp.lookup(name)
                        if rule:
                            expected[name] = "|".join(rule[0])
                            if "FLAKY" in rule[0]:
                                waived.add(name)
            arch = (_arch_of(c.runner) if c.runner else None) or \
                ("riscv64" if "riscv64" in c.line else "x86_64")
            w.add_line(c.line, kernel=c.kernel, version=c.version, arch=arch, target=c.target,
                       run=c.runner, status=c.status, reason=c.reason, expected=expected,
                       waived=waived, should_run=names if c.runner is None else ())
        return
    run = parse_run(data, path)
    target = run.target or "unknown"
    line = target.split()[0].removeprefix("qemu:") or "run"
    w.add_line(line, kernel=run.kernel.split()[0] if run.kernel else None, arch=_arch_of(run),
               target=target, run=run)


def write(path, inputs, *, run_id=None, log_url=None, expect_dir=None):
    w = Writer(run_id, log_url)
    for p in inputs:
        add_file(w, p, expect_dir)
    w.write(path)
    return w


def main(argv):
    ap = argparse.ArgumentParser(prog="kvmcheck.kcidb", description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--run-id")
    ap.add_argument("--log-url")
    ap.add_argument("--expect")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args(argv)
    sys.argv[0] = "kvmcheck.kcidb"
    try:
        w = write(a.output, a.inputs, run_id=a.run_id, log_url=a.log_url, expect_dir=a.expect)
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    except OSError as e:
        util.die(util.EXIT_USAGE, f"{a.output}: {e.strerror or e}")
    util.msg(f"kcidb: {a.output}: {len(w.data['checkouts'])} checkouts, "
             f"{len(w.data['builds'])} builds, {len(w.data['tests'])} tests")
    return util.EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
