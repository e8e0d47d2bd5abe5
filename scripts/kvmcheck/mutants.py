# SPDX-License-Identifier: GPL-2.0-only
"""make mutants [MUTANTS=GLOB] [BASE=debian|TREE]: does each test catch the kernel bug it claims to?

    PYTHONPATH=scripts python3 -m kvmcheck.mutants [--base BASE] [--build-dir DIR] [--out DIR]
        [--select GLOB]... [--no-quick] [--base-json FILE] [--debug] [--keep-kernels] [--list]
        [--budget S] [MUTANT_DIR]

MUTANT_DIR (default mutants/) holds one kernel patch per mutant, NAME.patch, each breaking one
rule a test claims to check. Its header, before the diff, says which:

    kvmcheck mutant: NAME
    Behaviour: directed_eoi              the behaviour the scores are grouped by
    Rule: ...                            the rule it breaks, one line
    Caught-by: TEST:SUBTEST ...          the subtests that must fail on it
    Equivalent: REASON                   (optional) no observable change: not run, not counted
    Needs: kasan|sev|tdx (REASON)        (optional) only a KASAN kernel / that hardware can show
                                         it: not counted here (kasan ones run with --debug: the debug
                                         line's KASAN + lockdep base)
    Gap: REASON                          (optional) no test claims it yet: run and counted

Each mutant is built on BASE with kernel-build.sh --series (incrementally, on the cached base
kernel; the base tree is reverted after each), booted under QEMU (suite.run_on_kernel) and the
tests it names run there, with the quick runtime tests (group 'runtime', timeout <= 30 s) unless
--no-quick. The base kernel runs the same tests once first (or --base-json names the runner JSON
of such a run, e.g. work/base-run.json of an earlier run): a subtest that does not pass there
cannot kill anything. --list prints each mutant, its status and the tests it would run, and
builds nothing. Cells (mutant x test): KILLED (a subtest that passed or skipped on the base
fails), TIMEOUT and CRASH (killed, shown apart), SURVIVED (no such failure), SKIPPED (the whole
test skipped), BASE-FAIL (the test fails on the base: no verdict), '-' (not run).

Mutants run in the order the --select globs name them (file name order within a glob), so with
--budget S (no mutant is started after S seconds; the rest are NOT-RUN, not counted) or an
interrupt (the report is still written, exit 130) the ones that matter most have run.

Written to --out (default results/mutants): mutants.txt (the table, the kills and the scores),
mutants.json, mutants-junit.xml, and per mutant its build log and QEMU logs under work/. A mutant
kernel is removed from the build cache after its run unless --keep-kernels.

Exit status: 0 every counted mutant was killed; 1 one survived; 2 bad usage, no mutant matches,
or a header lacks a field; 3 the base or a mutant could not be built or booted; 4 nothing was
counted (every selected mutant is equivalent or needs what is not here); 130 interrupted.
"""
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

from kvmcheck import kernels, results, review, suite, util
from kvmcheck.util import InputError, msg

SCHEMA = "kvmcheck-mutants/1"
QUICK_GROUP = "runtime"
QUICK_MAX_TIMEOUT_S = 30
RUN_TIMEOUT = int(os.environ.get("KVMCHECK_MUTANT_RUN_TIMEOUT", "900"))
BUILD_TIMEOUT = 6 * 3600
NEEDS_HERE = ("kasan",)     # what --debug brings; sev and tdx need hardware this suite lacks
# Cells that kill a mutant; the first is a failure, the others are shown apart.
KILLING = ("KILLED", "TIMEOUT", "CRASH")
COUNTED = ("KILLED", "SURVIVED")
TEST_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(:[A-Za-z0-9_*.-]+)?$")


def say(text):
    msg(f"mutants: {text}")


@dataclass
class Mutant:
    name: str
    file: str
    behaviour: str
    rule: str
    caught_by: list                       # ["x86/directed_eoi:cap_advertised", ...]
    equivalent: str | None = None
    needs: str | None = None              # "kasan (...)", "sev (...)"
    gap: str | None = None
    notes: list = field(default_factory=list)
    # what happened
    status: str = "NOT-RUN"   # KILLED SURVIVED NOT-BUILT BOOT-ERROR EQUIVALENT NEEDS NOT-RUN
    reason: str | None = None
    kernel: str | None = None
    build_s: float | None = None
    run_s: float | None = None
    run_json: str | None = None
    tests: list = field(default_factory=list)
    cells: dict = field(default_factory=dict)      # test -> cell
    killed_by: list = field(default_factory=list)  # "test:subtest: reason"
    claimed_caught: bool | None = None

    @property
    def counted(self):
        return self.status in COUNTED

    def needs_kind(self):
        return (self.needs or "").split()[0].lower() if self.needs else None


# --- the mutant files ----------------------------------------------------------------------------

def parse_header(path):
    """A mutant file's header fields; InputError names the file and what is missing."""
    fields, notes = {}, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for ln in f:
            if ln.startswith(("--- ", "diff ", "Index: ")):
                break
            ln = ln.rstrip("\n")
            key, sep, val = ln.partition(":")
            key = key.strip().lower()
            if sep and key in ("kvmcheck mutant", "behaviour", "rule", "caught-by",
                               "equivalent", "needs", "gap"):
                fields[key] = val.strip()
            elif ln.strip():
                notes.append(ln.strip())
    name = os.path.basename(path)[:-len(".patch")]
    for need in ("behaviour", "rule", "caught-by"):
        if not fields.get(need):
            raise InputError(f"{path}: the header has no '{need.capitalize()}:' line")
    if fields.get("kvmcheck mutant", name) != name:
        raise InputError(f"{path}: the header names mutant '{fields['kvmcheck mutant']}', "
                         f"the file '{name}'")
    caught = [w for w in fields["caught-by"].split() if TEST_NAME.match(w)]
    if not caught and not fields.get("gap") and not fields.get("equivalent"):
        raise InputError(f"{path}: 'Caught-by:' names no test (TEST:SUBTEST); a mutant no test "
                         "claims says so with 'Gap:'")
    return Mutant(name=name, file=os.path.abspath(path), behaviour=fields["behaviour"],
                  rule=fields["rule"], caught_by=caught, equivalent=fields.get("equivalent"),
                  needs=fields.get("needs"), gap=fields.get("gap"), notes=notes)


def load_mutants(mdir, globs):
    if not os.path.isdir(mdir):
        raise InputError(f"{mdir}: no such directory (the mutant patches)")
    files = sorted(f for f in os.listdir(mdir) if f.endswith(".patch"))
    if globs:
        # In the order the globs name them: the mutants that matter most run first.
        chosen = []
        for g in globs:
            chosen += [f for f in files if f not in chosen and
                       (fnmatch.fnmatchcase(f[:-len(".patch")], g) or fnmatch.fnmatchcase(f, g))]
        if not chosen:
            raise InputError(f"--select {' '.join(globs)}: matches none of the {len(files)} "
                             f"mutants in {mdir}")
    else:
        chosen = files
    if not chosen:
        raise InputError(f"{mdir}: holds no *.patch")
    return [parse_header(os.path.join(mdir, f)) for f in chosen]


# --- the tests -----------------------------------------------------------------------------------

def suite_meta(build_dir):
    """Every test's --meta, as the runner lists them (kvmcheck-run -l --json)."""
    runner = os.path.join(build_dir, "kvmcheck-run")
    if not os.path.isfile(os.path.join(build_dir, "tests.list")) or not os.access(runner, os.X_OK):
        raise InputError(f"--build-dir {build_dir}: no tests.list or kvmcheck-run (build it: make)")
    try:
        r, data = suite.list_json([runner, "--dir", build_dir], timeout=300)
    except (subprocess.TimeoutExpired, OSError) as e:
        raise InputError(f"{runner} -l --json: {e}") from e
    if r.returncode != 0 or not isinstance(data, list):
        raise InputError(f"{runner} -l --json failed (exit {r.returncode}): "
                         f"{(r.stderr or '').strip()[-200:]}")
    return {d["name"]: d for d in data if isinstance(d, dict) and d.get("meta_ok") and d.get("name")}


def quick_tests(meta):
    return sorted(n for n, d in meta.items() if QUICK_GROUP in (d.get("groups") or [])
                  and (d.get("timeout") or 0) <= QUICK_MAX_TIMEOUT_S)


def tests_for(m, meta, quick):
    """The tests to run on M: those it names, then the quick ones. A name no test has is bad
    input (the header is wrong), not a survivor."""
    named = []
    for c in m.caught_by:
        test, sub = results.split_name(c)
        if test not in meta:
            raise InputError(f"{m.file}: Caught-by names {test}, which is not a test of the build")
        if sub and sub not in (meta[test].get("subtests") or []):
            raise InputError(f"{m.file}: Caught-by names {c}: {test} has no subtest {sub}")
        if test not in named:
            named.append(test)
    return named + [t for t in quick if t not in named]


# --- building and running ------------------------------------------------------------------------

def build_env(a):
    return {"DEBUG": "1" if a.debug else "0"}


def build_kernel(a, series_dir, log):
    """kernel-build.sh's kernel for BASE (+ the series in series_dir); (KernelDir|None, seconds,
    reason, exit code)."""
    argv = [os.path.join(util.SCRIPTS, "kernel-build.sh")]
    if series_dir:
        argv += ["--series", series_dir]
    argv.append(a.base)
    t0 = time.monotonic()
    rc, out, err = review.run_logged(argv, log, timeout=BUILD_TIMEOUT, env=build_env(a))
    secs = round(time.monotonic() - t0, 1)
    path = out.strip().splitlines()[-1] if out.strip() else ""
    if rc != 0 or not path:
        why = review.last_reason(err) or f"see {log}"
        return None, secs, f"kernel-build.sh exit {rc}: {why}", rc
    try:
        return kernels.KernelDir.load(path), secs, None, 0
    except InputError as e:
        return None, secs, f"the build gave no kernel: {e}", 3


def run_tests(k, build_dir, tests, logdir, json_path):
    """The tests on kernel K under QEMU: (runner JSON path or None, reason)."""
    args = [x for t in tests for x in ("-t", t)]
    r = suite.run_on_kernel(k, build_dir, args, logdir=logdir, json=json_path,
                            timeout=RUN_TIMEOUT, echo=False)
    if r.status == "ok" and r.runner_json:
        return r.runner_json, None
    return None, f"did not boot or run (exit {r.rc}): {r.reason or 'no reason given'}"


def drop_kernel(k):
    """A mutant's kernel leaves the build cache: one per mutant would fill the disk. Renamed
    away first, so a half-removed entry never looks like a kernel."""
    entry = os.path.dirname(k.path)
    if not os.path.basename(entry).count("-series-"):
        return
    gone = tempfile.mkdtemp(dir=os.path.dirname(entry), prefix=".drop.")
    try:
        os.rename(entry, os.path.join(gone, "k"))
    except OSError:
        pass
    shutil.rmtree(gone, ignore_errors=True)


# --- judging -------------------------------------------------------------------------------------

def subtest_verdicts(run, test):
    t = run.test(test) if run else None
    if t is None:
        return None, {}
    return t, {s.name: (s.verdict, s.reason) for s in t.subtests}


def first(text):
    return (text or "").strip().splitlines()[0][:160] if (text or "").strip() else ""


def judge(m, base_run, run):
    """Fills M's cells, killed_by, claimed_caught and status from the runs."""
    m.cells, m.killed_by = {}, []
    failed = set()
    for test in m.tests:
        bt, bsubs = subtest_verdicts(base_run, test)
        t, subs = subtest_verdicts(run, test)
        if t is None:
            m.cells[test] = "-"
            continue
        kills = []
        for name, (v, why) in subs.items():
            before = bsubs.get(name, (bt.verdict, bt.reason))[0] if bt else "PASS"
            if results.is_failing(v) and not results.is_failing(before):
                kills.append(f"{test}:{name}")
                m.killed_by.append(f"{test}:{name} {v}" + (f": {first(why)}" if why else ""))
        base_failing = bt is not None and results.is_failing(bt.verdict)
        if not kills and results.is_failing(t.verdict) and not base_failing:
            # A timeout, a crash, or a test the runner failed as a whole (no TAP, a subtest
            # missing): the test itself is the kill.
            kills.append(test)
            m.killed_by.append(f"{test} {t.verdict}" + (f": {first(t.reason)}" if t.reason else ""))
        if kills:
            m.cells[test] = t.verdict if t.verdict in ("TIMEOUT", "CRASH") else "KILLED"
        elif base_failing:
            m.cells[test] = "BASE-FAIL"
        elif t.verdict == "SKIP":
            m.cells[test] = "SKIPPED"
        else:
            m.cells[test] = "SURVIVED"
        failed.update(kills)
    m.claimed_caught = (any(c in failed or results.split_name(c)[0] in failed for c in m.caught_by)
                        if m.caught_by else None)
    m.status = "KILLED" if any(c in KILLING for c in m.cells.values()) else "SURVIVED"


def exit_status(ms, base_ok):
    counted = [m for m in ms if m.counted]
    if any(m.status == "SURVIVED" for m in counted):
        return util.EXIT_FAILED
    if not base_ok or any(m.status in ("NOT-BUILT", "BOOT-ERROR") for m in ms):
        return util.EXIT_NOT_TESTED
    if not counted:
        return util.EXIT_EMPTY
    return util.EXIT_OK


# --- the report ----------------------------------------------------------------------------------

def short(test):
    return test.rsplit("/", 1)[-1]


def scores(ms):
    by_beh, by_test = {}, {}
    for m in ms:
        b = by_beh.setdefault(m.behaviour, {"killed": 0, "counted": 0, "survived": [],
                                            "not_counted": 0})
        if not m.counted:
            b["not_counted"] += 1
            continue
        b["counted"] += 1
        if m.status == "KILLED":
            b["killed"] += 1
        else:
            b["survived"].append(m.name)
        claimed = {results.split_name(c)[0] for c in m.caught_by}
        for test, cell in m.cells.items():
            s = by_test.setdefault(test, {"kills": 0, "ran": 0, "claimed": 0, "claimed_kills": 0})
            if cell in ("-", "BASE-FAIL"):
                continue
            s["ran"] += 1
            s["kills"] += cell in KILLING
            if test in claimed:
                s["claimed"] += 1
                s["claimed_kills"] += cell in KILLING
    return by_beh, by_test


def table(rows, head):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return out


def render(rep, ms):
    out = [f"# base: {rep['base']} ({rep.get('base_kernel') or '-'}), base run: "
           f"{rep.get('base_status') or '-'}" + (f" ({rep['base_reason']})" if rep.get("base_reason") else "")]
    tests = []
    for m in ms:
        tests += [t for t in m.tests if t not in tests]
    head = ["mutant", "behaviour", "build", "run", "status"] + [short(t) for t in tests]
    rows = []
    for m in ms:
        status = m.status
        if m.status == "KILLED":
            kinds = {c for c in m.cells.values() if c in KILLING}
            status = "KILLED" if "KILLED" in kinds else "KILLED(" + "/".join(sorted(kinds)) + ")"
            if m.claimed_caught is False:
                status += "*"
        rows.append([m.name, m.behaviour, f"{m.build_s:g}s" if m.build_s is not None else "-",
                     f"{m.run_s:g}s" if m.run_s is not None else "-", status] +
                    [m.cells.get(t, "") for t in tests])
    out += table(rows, head)
    out.append("status KILLED*: killed, but not by the subtests its header names")
    for m in ms:
        if m.killed_by:
            out.append(f"[{m.name}] killed by " + "; ".join(m.killed_by[:4]) +
                       (f"; ... ({len(m.killed_by)} in all)" if len(m.killed_by) > 4 else ""))
        elif m.reason:
            out.append(f"[{m.name}] {m.status}: {m.reason}")
        elif m.status == "SURVIVED":
            out.append(f"[{m.name}] SURVIVED: {m.rule}; must be caught by "
                       f"{' '.join(m.caught_by) or '(no test: ' + (m.gap or '') + ')'}")
    by_beh, by_test = scores(ms)
    out.append("mutation score per behaviour (killed / counted; equivalent and 'Needs:' not counted):")
    out += ["  " + r for r in table([[b, f"{s['killed']}/{s['counted']}",
                                      f"{100 * s['killed'] // s['counted']}%" if s["counted"] else "-",
                                      str(s["not_counted"]), " ".join(s["survived"]) or "-"]
                                     for b, s in sorted(by_beh.items())],
                                    ["behaviour", "score", "%", "not counted", "survivors"])]
    out.append("mutation score per test (kills / mutants it ran on; of the mutants that name it):")
    out += ["  " + r for r in table([[t, f"{s['kills']}/{s['ran']}", f"{s['claimed_kills']}/{s['claimed']}"]
                                     for t, s in sorted(by_test.items())],
                                    ["test", "kills", "claimed kills"])]
    counted = [m for m in ms if m.counted]
    killed = sum(m.status == "KILLED" for m in counted)
    out.append(f"{len(ms)} mutants: {killed} killed, {len(counted) - killed} survived, "
               f"{sum(m.status in ('NOT-BUILT', 'BOOT-ERROR') for m in ms)} not built or booted, "
               f"{sum(m.status in ('EQUIVALENT', 'NEEDS') for m in ms)} not counted, "
               f"{sum(m.status == 'NOT-RUN' for m in ms)} not run")
    out.append(f"mutants: {rep['verdict']} (exit {rep['exit']})")
    return "\n".join(out)


def junit(ms):
    s = results.Suite(name="kvmcheck.mutants")
    for m in ms:
        props = {"behaviour": m.behaviour, "rule": m.rule, "caught_by": " ".join(m.caught_by)}
        if m.status == "KILLED":
            c = results.Case(m.name, "kvmcheck.mutants", "PASS", None, time=m.run_s or 0,
                             system_out="\n".join(m.killed_by), properties=props)
        elif m.status == "SURVIVED":
            c = results.Case(m.name, "kvmcheck.mutants", "FAIL", f"survived: {m.rule}",
                             time=m.run_s or 0, failure_type="survived", properties=props)
        elif m.status in ("NOT-BUILT", "BOOT-ERROR"):
            c = results.Case(m.name, "kvmcheck.mutants", "FAIL", m.reason,
                             failure_type=m.status.lower(), properties=props)
        else:
            c = results.Case(m.name, "kvmcheck.mutants", "NOT-RUN", f"{m.status}: {m.reason}",
                             properties=props)
        s.cases.append(c)
    return s


VERDICT_WORDS = {util.EXIT_OK: "every counted mutant was killed",
                 util.EXIT_FAILED: "a mutant survived",
                 util.EXIT_NOT_TESTED: "a kernel could not be built or booted",
                 util.EXIT_EMPTY: "no mutant was counted",
                 util.EXIT_INTERRUPTED: "interrupted"}


def report(rep, ms, out):
    rep["verdict"] = VERDICT_WORDS.get(rep["exit"], str(rep["exit"]))
    rep["mutants"] = [asdict(m) for m in ms]
    by_beh, by_test = scores(ms)
    rep["scores"] = {"behaviour": by_beh, "test": by_test}
    text = render(rep, ms)
    util.atomic_write_json(os.path.join(out, "mutants.json"), rep)
    results.write_junit(os.path.join(out, "mutants-junit.xml"), [junit(ms)], name="kvmcheck-mutants")
    util.atomic_write(os.path.join(out, "mutants.txt"), text + "\n")
    print(text, flush=True)
    return rep["exit"]


# --- the run -------------------------------------------------------------------------------------

class Listed(Exception):
    """--list printed what it had to: nothing was built or run."""


def parse(argv):
    ap = util.ArgParser(prog="mutants", add_help=True, doc=__doc__)
    ap.add_argument("--base", default=os.environ.get("BASE") or "debian")
    ap.add_argument("--build-dir", default=os.path.join(util.TOP, "build", "x86_64"))
    ap.add_argument("--out", default=os.path.join(util.TOP, "results", "mutants"))
    ap.add_argument("--select", action="append", default=[])
    ap.add_argument("--no-quick", action="store_true")
    ap.add_argument("--base-json")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--debug", action="store_true")
    ap.add_argument("--keep-kernels", action="store_true")
    ap.add_argument("--budget", type=int, metavar="S")
    ap.add_argument("mutant_dir", nargs="?", default=os.path.join(util.TOP, "mutants"))
    return ap.parse_args(argv)


def plan(ms, a):
    """Which mutants run; the others get their status and reason now."""
    for m in ms:
        if m.equivalent:
            m.status, m.reason = "EQUIVALENT", m.equivalent
        elif m.needs and not (m.needs_kind() in NEEDS_HERE and a.debug):
            m.status, m.reason = "NEEDS", f"needs {m.needs}" + \
                ("; run with --debug (make mutants DEBUG=1)" if m.needs_kind() == "kasan" else "")
    return [m for m in ms if m.status == "NOT-RUN"]


def run_mutant(m, a, work, base_run):
    mdir = os.path.join(work, m.name)
    series = os.path.join(mdir, "series")
    os.makedirs(series)
    shutil.copy(m.file, os.path.join(series, os.path.basename(m.file)))
    say(f"{m.name}: building")
    k, m.build_s, why, rc = build_kernel(a, series, os.path.join(mdir, "build.log"))
    if k is None:
        m.status = "NOT-BUILT"
        m.reason = ("does not apply to the base: " if rc == util.EXIT_EMPTY else "") + why
        say(f"{m.name}: {m.status}: {m.reason}")
        return
    m.kernel = k.path
    try:
        t0 = time.monotonic()
        rjson, why = run_tests(k, a.build_dir, m.tests, os.path.join(mdir, "qemu"),
                               os.path.join(mdir, "run.json"))
        m.run_s = round(time.monotonic() - t0, 1)
    finally:
        if not a.keep_kernels:
            drop_kernel(k)
    if rjson is None:
        m.status, m.reason = "BOOT-ERROR", why
        say(f"{m.name}: {m.reason}")
        return
    m.run_json = rjson
    try:
        run = results.load_run(rjson)
    except InputError as e:
        m.status, m.reason = "BOOT-ERROR", f"unreadable run: {e}"
        return
    judge(m, base_run, run)
    say(f"{m.name}: {m.status} (build {m.build_s} s, run {m.run_s} s)"
        + (f": {m.killed_by[0]}" if m.killed_by else ""))


def mutants(a, out, work):
    ms = load_mutants(a.mutant_dir, [g for s in a.select for g in s.split()])
    a.build_dir = os.path.abspath(a.build_dir)
    meta = suite_meta(a.build_dir)
    quick = [] if a.no_quick else quick_tests(meta)
    todo = plan(ms, a)
    for m in todo:
        m.tests = tests_for(m, meta, quick)
    rep = {"schema": SCHEMA, "base": a.base, "base_kernel": None, "base_status": None,
           "base_reason": None, "base_run": None, "quick": quick, "debug": a.debug}
    if a.list:
        for m in ms:
            st = "run" if m.status == "NOT-RUN" else m.status
            print(f"{m.name}  {m.behaviour}  {st}  {' '.join(m.tests) or '-'}"
                  + (f"  ({m.reason})" if m.reason else ""))
        raise Listed()
    if not todo:
        return rep, ms, True
    say(f"{len(todo)} of {len(ms)} mutants to build and run on {a.base}"
        f"{' (debug line: KASAN, lockdep)' if a.debug else ''}")
    k, secs, why, rc = build_kernel(a, None, os.path.join(work, "build-base.log"))
    if k is None:
        rep["base_status"], rep["base_reason"] = "NOT-BUILT", why
        for m in todo:
            m.status, m.reason = "NOT-BUILT", f"base: {why}"
        return rep, ms, False
    rep["base_kernel"] = k.path
    base_run = None
    if a.base_json:
        base_run = results.load_run(a.base_json)
        missing = [t for m in todo for t in m.tests if base_run.test(t) is None]
        if missing:
            raise InputError(f"--base-json {a.base_json}: has no result for "
                             f"{' '.join(sorted(set(missing)))}")
        rep["base_status"], rep["base_run"] = "ok", os.path.abspath(a.base_json)
    else:
        union = []
        for m in todo:
            union += [t for t in m.tests if t not in union]
        say(f"base: running {len(union)} tests on {k.path}")
        rjson, why = run_tests(k, a.build_dir, union, os.path.join(work, "base-qemu"),
                               os.path.join(work, "base-run.json"))
        if rjson is None:
            rep["base_status"], rep["base_reason"] = "BOOT-ERROR", why
            for m in todo:
                m.status, m.reason = "NOT-RUN", f"the base kernel did not run the tests: {why}"
            return rep, ms, False
        base_run = results.load_run(rjson)
        rep["base_run"] = rjson
        bad = [t.name for t in base_run.tests if results.is_failing(t.verdict)]
        rep["base_status"] = "ok"
        if bad:
            rep["base_reason"] = "failing on the base (cannot kill): " + " ".join(bad)
            say(rep["base_reason"])
    t0 = time.monotonic()
    for i, m in enumerate(todo):
        if a.budget is not None and time.monotonic() - t0 > a.budget:
            for rest in todo[i:]:
                rest.status, rest.reason = "NOT-RUN", f"not started: the --budget of {a.budget} s was spent"
            break
        try:
            run_mutant(m, a, work, base_run)
        except KeyboardInterrupt:
            # What ran is reported; the build and QEMU were stopped on the way here.
            for rest in todo[i:]:
                rest.status, rest.reason = "NOT-RUN", "interrupted"
            rep["interrupted"] = True
            break
    return rep, ms, True


def main(argv=None):
    a = parse(sys.argv[1:] if argv is None else argv)
    out = os.path.abspath(a.out)
    work = os.path.join(out, "work")
    t0 = time.monotonic()
    try:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    except OSError as e:
        util.die(util.EXIT_USAGE, f"--out {a.out}: cannot write there ({e.strerror or e})")
    try:
        rep, ms, base_ok = mutants(a, out, work)
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    except util.NotTested as e:
        util.die(util.EXIT_NOT_TESTED, str(e))
    except Listed:
        shutil.rmtree(work, ignore_errors=True)
        return util.EXIT_OK
    rep["exit"] = util.EXIT_INTERRUPTED if rep.get("interrupted") else exit_status(ms, base_ok)
    rep["wall_s"] = round(time.monotonic() - t0, 1)
    rc = report(rep, ms, out)
    say(f"wall time {rep['wall_s']} s; {out}/mutants.txt, mutants.json, mutants-junit.xml")
    return rc


if __name__ == "__main__":
    sys.argv[0] = "mutants"
    # A CI job cancelled: the build's process group and QEMU are stopped on the way out (the
    # KeyboardInterrupt path of review.run_logged and suite.run_on_kernel), the tree reverted.
    util.stop_on_signals()
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        util.msg("mutants: interrupted")
        sys.exit(util.EXIT_INTERRUPTED)
