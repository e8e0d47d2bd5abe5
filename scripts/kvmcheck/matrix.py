# SPDX-License-Identifier: GPL-2.0-only
"""matrix.sh [options] [LINE...]    the suite on several kernels: a kernel x test table
matrix.sh --merge FILE...         join per-job files (results/matrix-LINE.json) into one table

LINE (default: bookworm trixie sid sid-riscv64, and host when /dev/kvm is usable):
  bookworm | trixie | sid          Debian's current amd64 kernel of that suite, under QEMU
  sid-riscv64 (or riscv64)         Debian sid's riscv64 kernel (the riscv64 build is made first)
  host                             the running kernel
  build:debian | build:TREE        a kernel built by scripts/kernel-build.sh
  debug:debian | debug:TREE        the same with scripts/config/debug.config (KASAN, lockdep,
                                   DEBUG_LIST): the debug line; timeouts scale with it
  IMAGE[:MODULES_DIR]              your own kernel; NAME=IMAGE[:MODULES_DIR] names its line
Options:
  --out DIR         results directory (default results/)
  --expect DIR      expectations (default expect/): expect/LINE.txt
  --build-dir [ARCH=]DIR  the make O= tree of ARCH (default x86_64; default build/ARCH); a
                    missing build is made, the riscv64 cross compiler installed when root
  -t PATTERN        only these tests (repeatable, passed to the runner)
  -j N              tests in parallel inside each kernel (default 2)
  --line-timeout S  bound on one kernel's boot and run (default 1200)
  --repeat N        each test N times in each kernel (flaky: FAIL 'F:N runs failed')
  --kcidb FILE      the columns as KCIDB I/O v5 JSON too (scripts/kvmcheck/kcidb.py)
  --suite WORDS     kvmcheck (default), upstream (the kernel's own KVM selftests, built from
                    each line's source: scripts/kvmcheck/upstream.py), upstream-full, or both
                    ("kvmcheck upstream"); default $SUITES (make matrix SUITES=upstream)

Writes OUT/matrix-LINE.json per line (the shard a CI job keeps), OUT/matrix.json,
OUT/matrix-junit.xml, and per-line logs in a directory of their own per run,
OUT/matrix/LINE.XXXXXX/ (printed). Every file is replaced atomically: runs side by side on one
--out never see each other's half-written files. Exit status: 0 something was tested and every
verdict is as expect/ says, 1 a verdict (or a column) is not as expect/ says, 2 bad usage or bad
input (named, before anything boots), 3 nothing was tested (no kernel booted), 130 interrupted.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from . import kernels, suite, upstream, util
from .expect import Expect, judge_column
from .results import Case, Suite, parse_run, read_json, summary_line, write_junit
from .util import InputError

SCHEMA = 1
STATUSES = ("ok", "BOOT-ERROR", "NOT-RUN")
CROSS = {"riscv64": ("riscv64-linux-gnu-", ["gcc-riscv64-linux-gnu", "libc6-dev-riscv64-cross"])}
HOST_ARCH = os.uname().machine


def say(text):
    """Progress on stderr with a fixed prefix, so a CI log greps one kernel's story."""
    util.msg(f"matrix: {text}")


# --- a column ----------------------------------------------------------------------------------

@dataclass
class Column:
    """One kernel line's results: the runner's Run when the kernel ran tests, else why not."""
    line: str
    status: str                     # ok | BOOT-ERROR | NOT-RUN
    reason: str | None = None
    label: str | None = None
    target: str | None = None
    kernel: str | None = None
    version: str | None = None
    timings: dict = field(default_factory=dict)
    runner: object = None           # results.Run
    logs: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self):
        return {"line": self.line, "label": self.label or self.line, "target": self.target,
                "status": self.status, "reason": self.reason, "kernel": self.kernel,
                "version": self.version, "timings": self.timings,
                "runner": self.runner.to_dict() if self.runner is not None else None,
                **({"logs": self.logs} if self.logs else {}), **self.extra}


# Fields a matrix.json adds to a column when it judges it: dropped on reading, judged again.
JUDGED = ("cells", "counts", "unexpected", "as_expected", "expected", "expected_reason",
          "expect_file")
KNOWN = ("line", "label", "target", "status", "reason", "kernel", "version", "timings", "runner",
         "logs")


def expect_for(expect_dir, line):
    """expect/LINE.txt; a line with module parameters (sid+kvm_amd.npt=0) without a file of its
    own is held to its kernel's file (sid.txt): the same kernel, expected to behave the same."""
    if "+" in line and not os.path.exists(os.path.join(expect_dir, line + ".txt")):
        line = line.partition("+")[0]
    return Expect.load(expect_dir, line)


def _fail(path, where, what):
    raise InputError(f"{path}: {where}: {what}")


def _opt_str(path, where, v):
    if v is not None and not isinstance(v, str):
        _fail(path, where, f"{v!r} is not a string or null")
    return v


def parse_column(k, path, i):
    """One entry of a shard's 'kernels' list, validated; InputError names file and field."""
    w = f"kernels[{i}]"
    if not isinstance(k, dict):
        _fail(path, w, "not an object")
    for key in ("line", "status"):
        if key not in k:
            _fail(path, w, f"missing field '{key}'")
    line = k["line"]
    if not isinstance(line, str) or not re.fullmatch(r"[A-Za-z0-9._-]+(\+[A-Za-z0-9._,:=-]+)*", line):
        _fail(path, f"{w}.line", f"{line!r} is not a kernel line name")
    status = k["status"]
    if status not in STATUSES:
        _fail(path, f"{w}.status", f"{status!r} is not a column status ({', '.join(STATUSES)})")
    timings = k.get("timings") or {}
    if not isinstance(timings, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in timings.values()):
        _fail(path, f"{w}.timings", "not an object of seconds")
    runner = None
    if status == "ok":
        if k.get("runner") is None:
            _fail(path, f"{w}.runner", f"line {line} says ok but has no runner results")
        runner = parse_run(k["runner"], path, f"{w}.runner")
    reason = _opt_str(path, f"{w}.reason", k.get("reason"))
    if status != "ok" and not reason:
        _fail(path, f"{w}.reason", f"a {status} column must say why")
    return Column(line=line, status=status, reason=reason,
                  label=_opt_str(path, f"{w}.label", k.get("label")),
                  target=_opt_str(path, f"{w}.target", k.get("target")),
                  kernel=_opt_str(path, f"{w}.kernel", k.get("kernel")),
                  version=_opt_str(path, f"{w}.version", k.get("version")),
                  timings=timings, runner=runner,
                  logs=_opt_str(path, f"{w}.logs", k.get("logs")),
                  extra={x: v for x, v in k.items() if x not in KNOWN + JUDGED})


def load_columns(path):
    """Columns from a shard or a matrix.json (both hold 'kernels', each with its raw runner
    results), validated against the schema."""
    data = read_json(path)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or "kernels" not in data:
        raise InputError(f"{path}: not a kvmcheck matrix file (no schema {SCHEMA} 'kernels' list)")
    if not isinstance(data["kernels"], list):
        _fail(path, "kernels", f"{data['kernels']!r:.40} is not a list")
    return [parse_column(k, path, i) for i, k in enumerate(data["kernels"])]


def write_shard(col, path):
    util.atomic_write_json(path, {"schema": SCHEMA, "kernels": [col.to_dict()]})


# --- the table ---------------------------------------------------------------------------------

def cell_reason(cell):
    """Why a cell is not a plain PASS: the test's reason, else its non-passing subtests',
    those sharing a verdict and reason named together."""
    lines = []
    if cell.reason:
        lines.append(cell.reason)
    odd = [s for s in cell.subtests if s.verdict != "PASS" or not s.as_expected]
    groups = {}
    for s in odd:
        reason = "" if cell.reason and s.reason == cell.reason else (s.reason or "")
        groups.setdefault((s.verdict, s.as_expected, s.expected, reason), []).append(s.name)
    for (verdict, ok, expected, reason), names in groups.items():
        mark = "" if ok else f" UNEXPECTED (expected {expected})"
        lines.append(f"{', '.join(names)}: {verdict}{mark}" + (f" - {reason}" if reason else ""))
    exp = [cell.expected_reason] if cell.expected_reason else []
    for s in odd:
        if s.expected_reason and s.expected_reason not in exp:
            exp.append(s.expected_reason)
    if exp:
        lines.append("expected: " + "; ".join(exp))
    return lines


def _one_line(text, limit=400):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def render(judged):
    """The kernel x test table and its numbered notes. judged: [(Column, Judgement)]."""
    tests = sorted({c.test for _, j in judged for c in j.cells})
    if not tests:
        tests = ["(all tests)"]  # no kernel ran a test: still one row to carry the reasons
    notes = []
    grid = {}
    for ci, (col, j) in enumerate(judged):
        if col.status != "ok":
            notes.append(f"{col.line}: {col.status}: {_one_line(col.reason)}"
                         + (f" (expected: {j.expected_reason})" if j.expected_reason else ""))
            mark = "=" if j.as_expected else "!"
            for t in tests:
                grid[(t, ci)] = f"{col.status}{mark} [{len(notes)}]"
            continue
        by_test = {c.test: c for c in j.cells}
        for t in tests:
            c = by_test.get(t)
            if c is None:
                grid[(t, ci)] = "-"
                continue
            if c.verdict == "PASS" and c.as_expected and all(s.verdict == "PASS" for s in c.subtests):
                grid[(t, ci)] = "PASS"
                continue
            nskip = sum(1 for s in c.subtests if s.verdict != "PASS")
            detail = f" {nskip}/{len(c.subtests)}" if c.verdict == "PASS" and nskip else ""
            # --repeat: a test that failed some of its runs, not all, is shown apart.
            rt = col.runner.test(t) if col.runner is not None else None
            runs, failed = (rt.extra.get("runs"), rt.extra.get("failed_runs")) if rt else (0, 0)
            shown = f"FLAKY {failed}:{runs}" if (isinstance(runs, int) and isinstance(failed, int)
                                                 and 0 < failed < runs) else c.verdict
            notes.append(f"{col.line} {t}: " + " ".join("; ".join(cell_reason(c)).split()))
            mark = "=" if c.as_expected else "!"
            grid[(t, ci)] = f"{shown}{detail}{mark} [{len(notes)}]"
    heads = [col.line for col, _ in judged]
    w0 = max([len("test")] + [len(t) for t in tests])
    widths = [max([len(h)] + [len(grid[(t, i)]) for t in tests]) for i, h in enumerate(heads)]
    out = ["  ".join(["test".ljust(w0)] + [h.ljust(w) for h, w in zip(heads, widths)]).rstrip()]
    out.append("  ".join(["-" * w0] + ["-" * w for w in widths]))
    for t in tests:
        out.append("  ".join([t.ljust(w0)] + [grid[(t, i)].ljust(w) for i, w in enumerate(widths)]).rstrip())
    out.append("kernels: " + ", ".join(f"{col.line}={col.kernel or '?'}" for col, _ in judged))
    out.append("marks: = as expect/ says, ! unexpected; 'PASS 3/9' = passed with 3 of 9 subtests "
               "not passing; [n] reason below")
    out.extend(f"[{i}] {n}" for i, n in enumerate(notes, 1))
    return "\n".join(out)


def junit_suites(judged):
    """One testsuite per kernel line, one testcase per test (subtests in system-out); an
    unexpected verdict is a failure, an expected non-PASS a skip carrying both reasons."""
    suites = []
    for col, j in judged:
        cls = f"kvmcheck.{col.line}"
        s = Suite(name=cls, hostname=col.kernel or "")
        if col.status != "ok":
            s.cases.append(Case("boot", cls, col.status, col.reason, expected=j.as_expected,
                                expected_verdicts=j.expected, failure_type=col.status))
        for c in j.cells:
            out = "\n".join(
                f"{x.name}: {x.verdict}" + ("" if x.as_expected else f" UNEXPECTED (expected {x.expected})")
                + (f" - {x.reason}" if x.reason else "") for x in c.subtests) or None
            s.cases.append(Case(c.test, cls, c.verdict, "; ".join(cell_reason(c)) or None,
                                time=c.duration_s or 0, expected=c.as_expected,
                                expected_verdicts=c.expected, system_out=out))
        suites.append(s)
    return suites


def report(columns, expect_dir, out_dir, name="matrix", builds=None):
    """Judge columns against expect/, write NAME.json and NAME-junit.xml and the HTML page
    (builds: where the tests' metadata is read), print the table. Returns the exit status."""
    judged = [(c, judge_column(c.line, c.status, c.reason, c.runner, expect_for(expect_dir, c.line)))
              for c in columns]
    counts = {k: sum(j.counts[k] for _, j in judged) for k in ("passed", "failed", "skipped")}
    unexpected = [u for _, j in judged for u in j.unexpected]
    complete = all(c.status == "ok" for c in columns)
    tested = any(c.status == "ok" and c.runner.tests for c in columns)
    kernels_out = []
    for c, j in judged:
        d = c.to_dict()
        d.update(j.to_dict())
        d["expect_file"] = expect_for(expect_dir, c.line).path
        kernels_out.append(d)
    jpath = os.path.join(out_dir, name + ".json")
    xpath = os.path.join(out_dir, name + "-junit.xml")
    util.atomic_write_json(jpath, {"schema": SCHEMA, "complete": complete, "tested": tested,
                                   "kernels": kernels_out,
                                   "summary": dict(counts, unexpected=unexpected)})
    write_junit(xpath, junit_suites(judged), name=f"kvmcheck-{name}")
    print(render(judged))
    if not complete:
        missing = [c.line for c in columns if c.status != "ok"]
        print(f"INCOMPLETE: not tested: {', '.join(missing)} (their columns say why)")
    if unexpected:
        print(f"{len(unexpected)} unexpected verdict(s) (not in expect/):")
        for u in unexpected:
            print(f"  {_one_line(u)}")
    else:
        print("every verdict as expect/ says")
    if not tested:
        print("nothing was tested: no kernel line ran a test")
    print(f"written: {jpath}, {xpath}")
    # The page people look at (kvmcheck.report); its path is the last line but one. Imported
    # here: kvmcheck.report reads matrix files with this module.
    from . import report as html
    print(html.after_run(out_dir, builds), flush=True)
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped",
          flush=True)
    if not tested:
        return util.EXIT_NOT_TESTED
    return util.EXIT_FAILED if unexpected else util.EXIT_OK


def write_kcidb(path, files, expect_dir):
    """The matrix's files (shards or matrix.json) as one KCIDB file; InputError when it cannot."""
    from . import kcidb
    try:
        w = kcidb.write(path, files, expect_dir=expect_dir)
    except OSError as e:
        raise InputError(f"--kcidb {path}: {e.strerror or e}") from None
    say(f"written: {path} (KCIDB v5: {len(w.data['tests'])} tests)")


def merge(files, expect_dir, out_dir):
    columns = []
    for path in files:
        for col in load_columns(path):
            if any(c.line == col.line for c in columns):
                raise InputError(f"{path}: kernel line {col.line} appears twice in the inputs")
            columns.append(col)
    if not columns:
        raise InputError("no kernel lines to report")
    for c in columns:
        expect_for(expect_dir, c.line)        # a broken expect file is refused before writing
    return report(columns, expect_dir, out_dir)


# --- builds ------------------------------------------------------------------------------------

@dataclass
class Build:
    arch: str
    path: str
    missing: str | None = None      # why there is none: the line is NOT-RUN with this reason


def _tail(text, n=1):
    lines = [x for x in (text or "").splitlines() if x.strip() and not x.startswith("# ")]
    return " / ".join(lines[-n:])[:300]


def _built(path):
    return os.path.isfile(os.path.join(path, "tests.list")) and \
        os.access(os.path.join(path, "kvmcheck-run"), os.X_OK)


def ensure_build(arch, path, timeout=1800):
    """The suite built for ARCH in PATH, as make check builds it: the cross compiler installed
    with apt when root (named, with the command, when not), then make. Returns a Build.
    Two matrices started together would run two makes in one tree and two apt-gets: the
    second waits on a lock (beside the tree, never in it: the tree is copied into guests)."""
    if _built(path):
        return Build(arch, path)
    lock = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.lock")
    with util.file_lock(lock):
        if _built(path):
            return Build(arch, path)
        return _build(arch, path, timeout)


def _build(arch, path, timeout):
    b = Build(arch, path)
    argv = ["make", "-C", util.TOP, "-s", f"ARCH={arch}", f"O={path}"]
    if arch != HOST_ARCH:
        prefix, pkgs = CROSS.get(arch, (f"{arch}-linux-gnu-", [f"gcc-{arch}-linux-gnu"]))
        argv.append(f"CROSS_COMPILE={prefix}")
        missing = []
        if not shutil.which(prefix + "gcc"):
            missing.append(pkgs[0])
        if len(pkgs) > 1 and not os.path.exists(f"/usr/{prefix[:-1]}/lib/libc.a"):
            missing += pkgs[1:]
        if not shutil.which(f"qemu-system-{arch}"):
            missing.append("qemu-system-misc")
        if missing:
            cmd = f"apt-get install {' '.join(missing)}"
            if os.geteuid() != 0 or not shutil.which("apt-get"):
                b.missing = (f"no {arch} build and no cross compiler: run `{cmd}` as root, then "
                             f"`make ARCH={arch} CROSS_COMPILE={prefix} O={path}`")
                return b
            say(f"installing {' '.join(missing)} for the {arch} line")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            util.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600,
                     stdin=subprocess.DEVNULL)
            p = util.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                         env=env, capture_output=True, text=True, timeout=1200,
                         stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                b.missing = f"`{cmd}` failed: {_tail(p.stderr or p.stdout)}"
                return b
    say(f"building the {arch} suite into {path}")
    try:
        p = util.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        b.missing = f"`{' '.join(argv[3:])}` took more than {timeout} s"
        return b
    if p.returncode != 0:
        b.missing = f"`make {' '.join(argv[3:])}` failed: {_tail(p.stderr or p.stdout, 2)}"
    return b


# --- one kernel line: running it ---------------------------------------------------------------

def run_suite(kdir, line, build_dir, runner_args, logdir, timeout):
    """The suite on one line's kernel: kvmcheck.suite attributes a crash under a test to that
    test (CRASH, the splat's first lines) and boots again for the rest."""
    if line.kind == "host":
        return suite.run_on_host(build_dir, runner_args, logdir=logdir)
    return suite.run_on_kernel(kdir, build_dir, runner_args, logdir=logdir, timeout=timeout,
                               modparams=line.params,
                               echo=False)


KEEP_LOG_RUNS = 5


def prune_logs(logroot, line_id, current, keep=KEEP_LOG_RUNS):
    """Keep the newest KEEP runs' logs of one line. Only older directories go: a matrix running
    beside this one made its directory just now, so it is among the newest and stays."""
    pat = re.compile(re.escape(line_id) + r"\.[A-Za-z0-9_]{8}")
    runs = []
    for name in os.listdir(logroot):
        path = os.path.join(logroot, name)
        if pat.fullmatch(name) and path != current and os.path.isdir(path):
            try:
                runs.append((os.stat(path).st_mtime, path))
            except FileNotFoundError:
                continue
    for _, path in sorted(runs, reverse=True)[keep - 1:]:
        shutil.rmtree(path, ignore_errors=True)


def run_line(line, opts, builds, out):
    """One column, start to end; never raises for the kernel's sake: whatever happens to it
    becomes the column."""
    target = {"debian": f"qemu:{line.spec}", "host": "host"}.get(line.kind, f"qemu:{line.spec}")
    col = Column(line=line.id, status="NOT-RUN", label=line.id, target=target)
    b = builds[line.arch]
    if b.missing:
        col.reason = b.missing
        say(f"{line.id}: NOT-RUN: {b.missing}")
        return col
    logroot = os.path.join(out, "matrix")
    os.makedirs(logroot, exist_ok=True)
    # A directory of its own per run: a second matrix on the same --out (a CI retry, two
    # shards side by side) never removes or interleaves these logs.
    logdir = tempfile.mkdtemp(dir=logroot, prefix=f"{line.id}.")
    os.chmod(logdir, 0o755)
    prune_logs(logroot, line.id, logdir)
    col.logs = logdir
    kdir = None
    if line.kind != "host":
        t0 = time.monotonic()
        what = {"debian": f"fetching Debian {line.spec} {line.arch} kernel",
                "build": f"building {line.spec} (first build: tens of minutes)"}.get(
                    line.kind, f"checking {line.spec}")
        say(f"{line.id}: {what}")
        try:
            kdir = kernels.materialize(line, log=os.path.join(logdir, "fetch.log"))
        except (kernels.KernelUnavailable, InputError) as e:
            col.status, col.reason = "BOOT-ERROR", f"kernel not available: {e}"
            say(f"{line.id}: BOOT-ERROR: {col.reason} (logs: {logdir}/)")
            return col
        col.timings["fetch_s"] = round(time.monotonic() - t0, 2)
        col.kernel, col.version = kdir.kver, kdir.version
        say(f"{line.id}: kernel {kdir.version} ({kdir.kver}) ready in {col.timings['fetch_s']} s")
    try:
        # The upstream tests of this line's own source, staged beside its logs for this run.
        with upstream.staged(b.path, line.arch, opts.suites, upstream.source_for(line),
                             parent=logroot, log=os.path.join(logdir, "upstream-build.log")) as (bdir, ub):
            if ub:
                col.extra["upstream"] = {"source": ub.source, "built": len(ub.built),
                                         "failed": ub.failed, "absent": ub.absent,
                                         "build_s": ub.build_s}
                say(f"{line.id}: {upstream.describe(ub)}")
            say(f"{line.id}: booting ({target})")
            s = run_suite(kdir, line, bdir, runner_args(opts), logdir, opts.line_timeout)
    except upstream.UpstreamUnavailable as e:
        col.status, col.reason = "NOT-RUN", f"upstream tests not built: {e}"
        say(f"{line.id}: NOT-RUN: {col.reason}")
        return col
    except InputError as e:
        # Checked for every build before the first boot; still, one line's refusal is that
        # line's, never a traceback in the middle of a table.
        col.status, col.reason = "NOT-RUN", f"refused: {e}"
        say(f"{line.id}: NOT-RUN: {col.reason}")
        return col
    col.timings.update({k: v for k, v in (s.timings or {}).items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool)})
    run = None
    if s.runner_json:
        try:
            run = parse_run(read_json(s.runner_json), s.runner_json)
        except InputError as e:
            s.status, s.reason = "BOOT-ERROR", f"the runner's JSON is unusable: {e}"
    # A kernel that crashed under a test still tested the ones before it: that test is the
    # runner's CRASH cell. BOOT-ERROR is only for a column where nothing was tested at all.
    if run is not None and run.tests:
        col.status, col.reason, col.runner = "ok", None, run
        col.kernel = run.kernel or col.kernel
        say(f"{line.id}: {summary_line(run)} (boot {col.timings.get('boot_s', '?')} s, "
            f"column {col.timings['column_s']} s)")
    else:
        col.status = "BOOT-ERROR"
        col.reason = s.reason or "no test ran"
        say(f"{line.id}: BOOT-ERROR: {col.reason} (logs: {logdir}/)")
    return col


# --- the command -------------------------------------------------------------------------------

@dataclass
class Options:
    merge: bool = False
    out: str = "results"
    expect: str = os.path.join(util.TOP, "expect")
    tests: list = field(default_factory=list)
    jobs: int = 2
    line_timeout: int = 1200
    builds: dict = field(default_factory=dict)
    lines: list = field(default_factory=list)
    kcidb: str | None = None
    repeat: int = 1
    suites: object = None           # upstream.Suites


def runner_args(o):
    return ["-j", str(o.jobs)] + (["--repeat", str(o.repeat)] if o.repeat > 1 else []) + \
        [x for t in o.tests for x in ("-t", t)]


def usage(code):
    (sys.stdout if code == 0 else sys.stderr).write(__doc__)
    sys.exit(code)


def parse_args(argv):
    o = Options()
    i = 0
    with_value = ("--out", "--expect", "-t", "-j", "--line-timeout", "--build-dir", "--kcidb",
                  "--suite", "--repeat")
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and "=" in a and a.split("=", 1)[0] in with_value:
            a, val = a.split("=", 1)
            argv = argv[:i] + [a, val] + argv[i + 1:]
        if a in ("-h", "--help"):
            usage(0)
        elif a == "--merge":
            o.merge = True
        elif a in with_value:
            if i + 1 >= len(argv):
                raise InputError(f"{a} needs a value")
            val = argv[i + 1]
            i += 1
            if a == "--out":
                o.out = val
            elif a == "--expect":
                o.expect = val
            elif a == "--kcidb":
                o.kcidb = val
            elif a == "--repeat":
                if not re.fullmatch(r"[1-9][0-9]*", val) or int(val) > 1000:
                    raise InputError(f"--repeat wants a number of runs from 1 to 1000, not '{val}'")
                o.repeat = int(val)
            elif a == "--suite":
                o.suites = upstream.parse_suites(val)
            elif a == "-t":
                o.tests.append(val)
            elif a == "-j":
                if not re.fullmatch(r"[1-9][0-9]*", val):
                    raise InputError(f"-j wants a positive number, not '{val}'")
                o.jobs = int(val)
            elif a == "--line-timeout":
                if not re.fullmatch(r"[1-9][0-9]*", val):
                    raise InputError(f"--line-timeout wants seconds, not '{val}'")
                o.line_timeout = int(val)
            else:
                arch, eq, path = val.rpartition("=")
                arch = arch if eq else HOST_ARCH
                if arch not in ("x86_64", "riscv64"):
                    raise InputError(f"--build-dir {val}: ARCH must be x86_64 or riscv64")
                o.builds[arch] = os.path.abspath(path)
        elif a == "--":
            o.lines.extend(argv[i + 1:])
            break
        elif a.startswith("-") and a != "-":
            raise InputError(f"unknown option {a} (see --help)")
        else:
            o.lines.append(a)
        i += 1
    if not os.path.isdir(o.expect):
        raise InputError(f"expectations directory {o.expect}: no such directory")
    if o.suites is None:
        o.suites = upstream.parse_suites()
    return o


def default_lines():
    lines = ["bookworm", "trixie", "sid", "sid-riscv64"]
    if kernels.host_usable():
        lines.append("host")
    return lines


def check_kcidb(path):
    """--kcidb refused before anything boots, not after the last column."""
    if path and (os.path.isdir(path) or not os.access(os.path.dirname(os.path.abspath(path)),
                                                      os.W_OK | os.X_OK)):
        raise InputError(f"--kcidb {path}: cannot write it")


def check_selection(builds, runner_args):
    """A -t that matches nothing would boot every kernel for nothing: refused up front (exit
    2) when no build has a test it selects; a build where it selects nothing makes its lines
    NOT-RUN, saying so (-t 'x86/*' leaves the riscv64 line nothing to run)."""
    why = {}
    for arch, b in builds.items():
        if b.missing:
            continue
        try:
            suite.check_inputs(b.path, arch, runner_args)
        except InputError as e:
            why[arch] = str(e)
    usable = [a for a, b in builds.items() if not b.missing]
    if usable and all(a in why for a in usable):
        raise InputError(why[usable[0]])
    for arch, text in why.items():
        builds[arch].missing = f"nothing to run: {text}"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # A CI job cancelled or git bisect killed: stop QEMU and remove temporaries on the way out.
    util.stop_on_signals()
    try:
        o = parse_args(argv)
        if o.merge:
            if not o.lines:
                raise InputError("--merge wants the per-job files (results/matrix-LINE.json ...)")
            util.check_writable_dir(o.out, "--out")
            check_kcidb(o.kcidb)
            rc = merge(o.lines, o.expect, o.out)
            if o.kcidb:
                write_kcidb(o.kcidb, [os.path.join(o.out, "matrix.json")], o.expect)
            return rc
        texts = o.lines or default_lines()
        # Every line resolved, and its expectations read, before the first boot: bad input is
        # refused whole, never found half-way through a matrix.
        lines = []
        for n, text in enumerate(texts):
            if text in texts[:n]:
                raise InputError(f"kernel line {text} given twice")
            line = kernels.resolve(text)
            if any(x.id == line.id for x in lines):
                raise InputError(f"kernel line {text}: a second line named {line.id}")
            expect_for(o.expect, line.id)
            lines.append(line)
        util.check_writable_dir(o.out, "--out")
        check_kcidb(o.kcidb)
        say("kernel lines: " + " ".join(x.id for x in lines))
        # What the lines need, built first (make check's way); the host's runner is always
        # needed: it reads a guest's TAP back, whatever the guest's arch.
        builds = {}
        for arch in sorted({x.arch for x in lines} | {HOST_ARCH}):
            path = o.builds.get(arch) or os.path.join(util.TOP, "build", arch)
            builds[arch] = ensure_build(arch, path)
        if builds[HOST_ARCH].missing:
            say(f"no usable {HOST_ARCH} build: {builds[HOST_ARCH].missing}")
            return util.EXIT_NOT_TESTED
        # The upstream tests exist once a line's source is built: a -t naming them is checked
        # in each line's staged build (a selection that matches nothing there is NOT-RUN).
        if "upstream" not in o.suites:
            check_selection(builds, runner_args(o))
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    except KeyboardInterrupt:
        return util.EXIT_INTERRUPTED
    columns = []
    try:
        for n, line in enumerate(lines, 1):
            say(f"[{n}/{len(lines)}] {line.id}")
            col = run_line(line, o, builds, o.out)
            write_shard(col, os.path.join(o.out, f"matrix-{line.id}.json"))
            columns.append(col)
        rc = report(columns, o.expect, o.out,
                    builds=[b.path for _, b in sorted(builds.items()) if not b.missing])
        if o.kcidb:
            write_kcidb(o.kcidb, [os.path.join(o.out, "matrix.json")], o.expect)
        return rc
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    except KeyboardInterrupt:
        say("interrupted")
        return util.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
