# SPDX-License-Identifier: GPL-2.0-only
"""review.sh [--out DIR] [--base BASE] [--base-series FILE|DIR] [--build-dir DIR]
          [--riscv-build-dir DIR] [--suite WORDS] FILE|DIR
        what a patch series does to kvmcheck's verdicts

FILE: an mbox, a `git format-patch` file, a mailing-list digest (like the seed) or a directory
of patches. Each patch is mapped to tests: those whose metadata names it (subject, normalized;
Revert "subject"; Fixes tag; the cover letter of its series), else those whose metadata lists a
kernel path the patch writes, else the whole suite. Kernel patches with a diff are applied to
BASE, the kernel is built before and after (scripts/kernel-build.sh: riscv64 when the patches
write only under arch/riscv, x86_64 otherwise), both are booted under QEMU, and the chosen tests
run on both. One line per patch and test: applies or not (rejected hunks named), build, how the
test was chosen, the verdict before and after, and what changed: "proven" (FAIL/SKIP -> PASS),
"regressed" (PASS -> FAIL; a kernel crash under the test after the series), "no behaviour
change seen", or why nothing ran.

  --base BASE             debian (default, or $BASE): Debian's linux-source as
                          kernel-build.sh fetches it; DIR: a kernel tree; DIR@REF: a git ref
  --base-series FILE|DIR  (or $BASE_SERIES) patches applied to BASE first, for both kernels:
                          the tree the series was written against. The before kernel is BASE +
                          the base series, the after kernel BASE + the base series + FILE
                          (DIR: its *.patch in name order). A base series that does not apply
                          is exit 4 with the rejected hunks named.
  --out DIR               results (default results/): review.txt, review.json,
                          review-junit.xml, review/ (the split patches, build and run logs)
  --build-dir DIR         the x86_64 test binaries (default build/x86_64, built when missing)
  --riscv-build-dir DIR   the riscv64 ones (default build/riscv64; their --meta is read under
                          qemu-user)
  --suite WORDS           kvmcheck (default, or $SUITES), upstream, or both: with upstream, the
                          kernel's own KVM selftests of the areas the series touches (by path)
                          and the selftests the series adds or changes, built from the after
                          tree, run on both kernels (scripts/kvmcheck/upstream.py)

Hook for tests without a compiler: a file KVMCHECK_KERNEL at the top of a BASE tree names the
kernel to boot instead of building one (bookworm, trixie, sid or IMAGE[:MODULES], as for
bisect-step.sh); the after kernel is the one KVMCHECK_KERNEL names once the series is applied
(with a base series, the before kernel the one it names once the base series is).
"BUILD-FAIL reason" there stands for a build that fails.

BASE's source tree is read (the series tried on copies of its files, the upstream after
tree copied) under kernel-build.sh's lock of that tree, so a build applying a series in place
there at the same time is never seen half-way.

Exit status: 0 the series was built, booted and tested and nothing regressed; 1 a patch
regressed a test (or crashed the kernel under it); 2 bad usage, no patch in FILE, or BASE is
not a kernel tree; 3 a kernel could not be fetched, built or booted; 4 nothing was reviewed
(no kernel patch with a diff, the series or its base series does not apply, no test to run);
130 interrupted.
"""
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

from kvmcheck import compare, kernels, patches, results, suite, upstream, util
from kvmcheck.util import InputError, msg

SCHEMA = "kvmcheck-review/2"
SIDES = ("before", "after")
RUN_TIMEOUT = int(os.environ.get("KVMCHECK_REVIEW_RUN_TIMEOUT", "1500"))
BUILD_TIMEOUT = 6 * 3600


def say(text):
    msg(f"review: {text}")


@dataclass
class Side:
    """One kernel of the review: how it was had, and what running the tests on it gave."""
    kernel: str | None = None         # the kernel directory (or "(hook) SPEC")
    build: str | None = None          # ok | failed
    build_s: float | None = None
    cached: bool = False
    status: str = "NOT-RUN"           # ok | BOOT-ERROR | NOT-BUILT | NOT-RUN
    reason: str | None = None
    json: str | None = None           # the runner JSON of the run
    wall_s: float | None = None
    boot_s: float | None = None


@dataclass
class Row:
    test: str
    how: str
    test_arch: str
    before: str | None = None
    after: str | None = None
    change: str | None = None
    note: str | None = None
    before_reason: str | None = None
    after_reason: str | None = None
    before_subtests: dict = field(default_factory=dict)
    after_subtests: dict = field(default_factory=dict)


# --- small things --------------------------------------------------------------------------------

def last_reason(text):
    """The last line of a script's stderr that is not a '# ' progress line, without the
    script's name: the reason a step failed."""
    lines = [x for x in (text or "").splitlines() if x.strip() and not x.startswith("# ")]
    if not lines:
        return None
    r = lines[-1].strip()
    head, sep, rest = r.partition(": ")
    return rest if sep and head.endswith((".sh", ".py")) else r


def stop_group(p, grace=30):
    """SIGTERM to p's process group, SIGKILL after grace seconds: kernel-build.sh's EXIT trap
    reverts a series applied in place, so it gets the chance before the hard kill."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            break
        try:
            p.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


def run_logged(argv, log, timeout, env=None):
    """argv with stderr into log; its own process group, stopped whole at the bound or on
    Ctrl-C, so no build or QEMU outlives the review. Returns (rc, stdout, stderr); rc 124 past
    the bound."""
    e = dict(os.environ, **(env or {}))
    with open(log, "w", encoding="utf-8") as errf:
        p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE, stderr=errf,
                             stdin=subprocess.DEVNULL, env=e, text=True, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=timeout)
        except BaseException as ex:
            stop_group(p)
            p.communicate()
            if isinstance(ex, subprocess.TimeoutExpired):
                with open(log, "a", encoding="utf-8") as f:
                    f.write(f"no result within {timeout} s\n")
                out = ""
                p.returncode = 124
            else:
                raise
    with open(log, encoding="utf-8", errors="replace") as f:
        err = f.read()
    return p.returncode, out, err


def first_line(text):
    for ln in (text or "").splitlines():
        if ln.strip():
            return ln.strip()
    return ""


# --- the kernels ---------------------------------------------------------------------------------

def hook_spec(path):
    """The kernel a KVMCHECK_KERNEL file names (its first line that is not a comment)."""
    try:
        with open(path, encoding="utf-8") as f:
            for ln in f:
                ln = ln.strip()
                if ln and not ln.startswith("#"):
                    return ln
    except OSError:
        return None
    return None


def find_hook(base):
    if base == "debian" or "@" in base:
        return None
    p = os.path.join(base, "KVMCHECK_KERNEL")
    return os.path.abspath(p) if os.path.isfile(p) else None


def base_source(base, work):
    """The source tree of BASE, fetched (Debian's) but not built. (path, None) or (None, why,
    exit code)."""
    rc, out, err = run_logged([os.path.join(util.SCRIPTS, "kernel-build.sh"), "--source", base],
                              os.path.join(work, "source.log"), timeout=3600)
    path = out.strip().splitlines()[-1] if out.strip() else ""
    if rc == 0 and path:
        return path, None, 0
    why = last_reason(err) or f"kernel-build.sh --source exited {rc}"
    return None, why, util.EXIT_USAGE if rc == util.EXIT_USAGE else util.EXIT_NOT_TESTED


# kernel-build.sh's journal of a series applied in a source tree in place (its journal()).
JOURNAL = ".kvmcheck-review-journal"


def tree_lock_file(src):
    """kernel-build.sh's lock of the source tree SRC, as its lock_tree takes it:
    builds/locks/<sha256 of the path as kernel-build.sh prints it, 16 hex>.lock."""
    name = hashlib.sha256(src.encode()).hexdigest()[:16] + ".lock"
    return util.cache_dir("builds", "locks", name)


@contextlib.contextmanager
def tree_locked(src, base, work):
    """SRC held still for the block, as kernel-build.sh holds it: a build applies its series
    in the source tree itself (and an x86_64 build's tree is the pristine one a riscv64 copy
    and the upstream after tree are linked from), so review reads the tree only under the
    same lock. A series an interrupted build left applied is reverted first, by
    kernel-build.sh --source (which takes the lock itself)."""
    lock = tree_lock_file(src)
    for _ in range(3):
        with util.file_lock(lock, waiting=f"review: waiting for {src} (a kernel build holds it)"):
            if not os.path.isdir(os.path.join(src, JOURNAL)):
                yield
                return
        if find_hook(base):
            break
        say(f"{src}: an interrupted build left a series applied: kernel-build.sh --source reverts it")
        base_source(base, work)
    raise util.NotTested(f"{src}: a series a kernel build applied stays there ({JOURNAL})")


def base_series_files(path):
    """The base series' patch files in apply order: FILE itself, or DIR's *.patch by name (as
    kernel-build.sh --series takes a directory). InputError naming PATH otherwise."""
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path)
                       if f.endswith(".patch") and os.path.isfile(os.path.join(path, f)))
        if not files:
            raise InputError(f"--base-series {path}: holds no *.patch")
    elif os.path.isfile(path):
        files = [path]
    else:
        raise InputError(f"--base-series {path}: no such file or directory")
    return [os.path.abspath(f) for f in files]


def stage_series(base_files, todo, work):
    """The directories kernel-build.sh --series takes, (before, after): BEFORE holds the base
    series (None without one); AFTER the base series, then the series. Named so that name
    order is apply order (kernel-build.sh sorts, so does upstream.after_tree)."""
    after = os.path.join(work, "series")
    os.makedirs(after)
    before = None
    if base_files:
        before = os.path.join(work, "base-series")
        os.makedirs(before)
        for i, f in enumerate(base_files, 1):
            name = f"0-{i:04d}-{os.path.basename(f)}"
            name += "" if name.endswith(".patch") else ".patch"
            shutil.copy(f, os.path.join(before, name))
            shutil.copy(f, os.path.join(after, name))
    for p in todo:
        shutil.copy(p.file, os.path.join(after, ("1-" if base_files else "") + os.path.basename(p.file)))
    return before, after


def hook_kernel(spec, side):
    """The kernel a hook names, as a KernelDir; a Side that says why not otherwise."""
    s = Side(kernel=f"(hook) {spec}", build_s=0, cached=True)
    if not spec:
        s.build, s.status, s.reason = "failed", "NOT-BUILT", "KVMCHECK_KERNEL names no kernel"
        return None, s
    if spec.startswith("BUILD-FAIL"):
        s.build, s.status = "failed", "NOT-BUILT"
        s.reason = "build failed: " + (spec[len("BUILD-FAIL"):].strip() or "(no reason)")
        return None, s
    try:
        k = kernels.materialize(kernels.resolve(spec))
    except (InputError, kernels.KernelUnavailable) as e:
        s.build, s.status, s.reason = "failed", "NOT-BUILT", f"{side} kernel {spec}: {e}"
        return None, s
    s.build = "ok"
    return k, s


def built_kernel(base, arch, side, series_dir, work, before_dir=None):
    """kernel-build.sh's kernel for one side; (KernelDir|None, Side). BEFORE_DIR: the base
    series, which the before kernel is built with (SERIES_DIR then holds it too)."""
    argv = [os.path.join(util.SCRIPTS, "kernel-build.sh"), "--arch", arch]
    if side == "after":
        argv += ["--series", series_dir]
    elif before_dir:
        argv += ["--series", before_dir]
    argv.append(base)
    log = os.path.join(work, f"build-{arch}-{side}.log")
    t0 = time.monotonic()
    rc, out, err = run_logged(argv, log, timeout=BUILD_TIMEOUT)
    s = Side(wall_s=round(time.monotonic() - t0, 1))
    path = out.strip().splitlines()[-1] if out.strip() else ""
    if rc != 0 or not path:
        s.build, s.status = "failed", "NOT-BUILT"
        s.reason = f"build failed (kernel-build.sh exit {rc}): {last_reason(err) or 'see ' + log}"
        say(f"{arch} {side}: {s.reason}")
        return None, s
    try:
        k = kernels.KernelDir.load(path)
    except InputError as e:
        s.build, s.status, s.reason = "failed", "NOT-BUILT", f"build gave no kernel: {e}"
        return None, s
    s.kernel, s.build = k.path, "ok"
    s.cached = any(ln.startswith("# build: ") and "cached)" in ln for ln in err.splitlines()[-1:])
    try:
        with open(os.path.join(k.path, "build_s"), encoding="utf-8") as f:
            s.build_s = float(f.read().strip())
    except (OSError, ValueError):
        pass
    say(f"{arch} {side}: {k.path} ({s.wall_s} s)")
    return k, s


# --- running the tests ---------------------------------------------------------------------------

def run_suite(k, arch, build_dir, tests, side, s, work):
    """The tests on kernel k under QEMU; fills s (status, json or the reason)."""
    logdir = os.path.join(work, f"qemu-{arch}-{side}")
    json_path = os.path.join(work, f"run-{arch}-{side}.json")
    targs = [a for t in tests for a in ("-t", t)]
    t0 = time.monotonic()
    # The one QEMU driver: a kernel crash under a test comes back as that test's CRASH.
    r = suite.run_on_kernel(k, build_dir, targs, logdir=logdir, json=json_path,
                            timeout=RUN_TIMEOUT, echo=False)
    rc, ok, why = r.rc, r.status == "ok" and r.runner_json, r.reason
    json_path = r.runner_json or json_path
    s.boot_s = round(time.monotonic() - t0, 1)
    if ok:
        s.status, s.json, s.reason = "ok", json_path, None
    else:
        s.status = "BOOT-ERROR"
        s.reason = f"did not boot or run (exit {rc}): {why or 'no reason given'}"
    say(f"{arch} {side}: tests ran in {s.boot_s} s (exit {rc})")


# --- judging -------------------------------------------------------------------------------------

def change(before, after, test, after_reason):
    """What a reviewer wants to read about one test across the series."""
    if after == "CRASH" and before != "CRASH":
        splat = first_line(after_reason)
        return f"regressed: kernel crashed in {test}" + (f": {splat}" if splat else "")
    # The kinds of change scripts/compare prints, in a reviewer's words: one rule for both.
    if before == "-":         # a subtest the before kernel did not have
        kind = "now skips" if after == "SKIP" else "changed"
    else:
        kind = compare.transition(before, after)
    if kind in ("fixed", "now passes"):
        return "proven"
    if kind == "regression":
        return "regressed"
    if kind is None:
        return "no behaviour change seen"
    if kind == "now skips":
        return f"now skips ({before} -> SKIP)"
    return f"{before} -> {after}"


def is_regressed(c):
    return bool(c) and c.startswith("regressed")


def load(path, cache):
    if path not in cache:
        try:
            cache[path] = results.load_run(path)
        except InputError as e:
            say(f"{e}")
            cache[path] = None
    return cache[path]


def why_not_run(p):
    if p.kind == "qemu":
        why = "not a kernel patch (QEMU)"
        if p.tests:
            why += ": modelled by " + ", ".join(h.test for h in p.tests)
        return why
    if p.kind == "unknown":
        return "not a kernel patch (no kernel path)" if p.files else "no paths: cannot tell what it patches"
    if not p.has_diff:
        return "no diff in this message: nothing to build"
    if not (p.apply or {}).get("ok", False):
        return (p.apply or {}).get("reason", "not applied")
    if not p.tests:
        return ("selftests only: no kernel change to test (its own selftest runs with --suite "
                "upstream)") if selftests_only(p) else "no test selected"
    return None


def evaluate(plist, kern):
    """Each patch's rows (one per test), its status, and why there is none."""
    runs = {}
    out = []
    for p in plist:
        why = why_not_run(p)
        rows = []
        kb = kern.get(p.arch, {})
        for h in p.tests:
            row = Row(test=h.test, how=h.how, test_arch=h.arch)
            rows.append(row)
            if why:
                row.change, row.note = "not run", why
                continue
            if h.arch != p.arch:
                row.change, row.note = "not run", f"a {h.arch} test; this patch builds {p.arch}"
                continue
            for side in SIDES:
                s = kb.get(side)
                if s is None or s.status != "ok":
                    row.change = "not run"
                    row.note = f"{side} kernel: {(s.reason if s else None) or 'not built'}"
                    break
                run = load(s.json, runs)
                v = results.verdict_of(run, h.test) if run else None
                if v is None or not v.ran:
                    row.change = "not run"
                    row.note = f"{h.test} did not run on the {side} kernel" + (f" ({v.reason})" if v else "")
                    break
                t = run.test(h.test)
                setattr(row, side, v.verdict)
                setattr(row, side + "_reason", v.reason)
                setattr(row, side + "_subtests", {x.name: x.verdict for x in t.subtests})
            else:
                judge(row)
        changes = [r.change for r in rows]
        status = next((c for c in changes if is_regressed(c)), None)
        if status is None:
            if "proven" in changes:
                status = "proven"
            elif rows and all(c == "no behaviour change seen" for c in changes):
                status = "no behaviour change seen"
            else:
                status = why or (changes[0] if changes else "no test")
        d = p.to_json()
        d.update({"why": why, "rows": [asdict(r) for r in rows], "status": status})
        out.append(d)
    return out


def judge(row):
    row.change = change(row.before, row.after, row.test, row.after_reason)
    bs, as_ = row.before_subtests, row.after_subtests
    changed = [n for n, v in as_.items() if bs.get(n) != v]
    if row.change == "no behaviour change seen" and changed:
        # Same test verdict (PASS with some subtests skipped, say): the subtests tell whether
        # the series brought or broke a behaviour.
        subs = [change(bs.get(n, "-"), as_[n], row.test, None) for n in changed]
        if "regressed" in subs:
            row.change = "regressed"
        elif "proven" in subs:
            row.change = "proven"
    # An upstream test's one subtest is the program itself: its change says nothing new.
    if changed and list(as_) != [row.test.rpartition("/")[2]]:
        row.note = "subtests changed: " + ", ".join(f"{n} {bs.get(n, '-')}->{as_[n]}" for n in changed)
    elif row.change == "proven" and row.before_reason:
        # What the series fixed, in the words of the test that saw it broken.
        row.note = f"before: {row.before_reason}"
    elif row.after != "PASS" and row.after_reason and not is_regressed(row.change):
        row.note = row.after_reason


def exit_status(rep):
    """The documented code (docs/ORCHESTRATION.md) of a finished review."""
    pats = rep["patches"]
    if any(is_regressed(p["status"]) for p in pats):
        return util.EXIT_FAILED
    needed = {p["arch"] for p in pats if p["kind"] == "kernel" and (p.get("apply") or {}).get("ok")}
    for arch in needed:
        for side in SIDES:
            s = rep["kernels"].get(arch, {}).get(side)
            if s and s["status"] in ("NOT-BUILT", "BOOT-ERROR"):
                return util.EXIT_NOT_TESTED
    if any(r["before"] and r["after"] for p in pats for r in p["rows"]):
        return util.EXIT_OK
    return util.EXIT_EMPTY


# --- the report ----------------------------------------------------------------------------------

def build_cell(rep, p, side):
    if p["kind"] != "kernel" or not p["has_diff"] or not (p.get("apply") or {}).get("ok"):
        return "-"
    k = rep["kernels"].get(p["arch"], {}).get(side)
    if not k:
        return "-"
    if k["build"] == "ok" and (k.get("kernel") or "").startswith("(hook)"):
        return "hook"
    if k["build"] == "ok":
        return "built" + (f" {k['build_s']:g}s" if k.get("build_s") is not None else "") + \
            (" (cached)" if k.get("cached") else "")
    return "FAILED"


def render(rep):
    out = []
    bs = rep.get("base_series")
    if bs:
        out.append(f"# base series: {bs['path']} ({', '.join(bs['patches'])}): {bs.get('apply') or '-'}; "
                   "before = base + base series, after = base + base series + the series")
    for arch, kb in sorted(rep["kernels"].items()):
        for side in SIDES:
            k = kb.get(side) or {}
            out.append(f"# {arch} {side}: {k.get('kernel') or '-'}  build: {k.get('build') or '-'}  "
                       f"boot: {k.get('status') or '-'}" + (f"  ({k['reason']})" if k.get("reason") else ""))
    if not rep["patches"]:
        out.append(f"{rep['input']}: no patch found (no digest entry, mail or diff): nothing to review")
        return "\n".join(out)
    head = ["#", "patch", "arch", "apply", "build before/after", "test", "chosen by", "before", "after", "verdict"]
    table = []
    for p in rep["patches"]:
        subj = p["subject"] if len(p["subject"]) <= 60 else p["subject"][:57] + "..."
        ok = (p.get("apply") or {}).get("ok")
        apply = "-" if p["kind"] != "kernel" or not p["has_diff"] else \
            ("clean" if ok else "REJECTED" if ok is False else "not tried")
        build = f"{build_cell(rep, p, 'before')} / {build_cell(rep, p, 'after')}"
        arch = p["arch"] if p["kind"] == "kernel" else "-"
        if not p["rows"]:
            table.append([str(p["index"]), subj, arch, apply, build, "-", "-", "-", "-", p["status"]])
        for i, r in enumerate(p["rows"]):
            verdict = p["why"] or (r["change"] + (f": {r['note']}" if r.get("note") else ""))
            first = i == 0
            table.append([str(p["index"]) if first else "", subj if first else "", arch if first else "",
                          apply if first else "", build if first else "", r["test"], r["how"],
                          r["before"] or "-", r["after"] or "-", verdict])
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(head)]
    out.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    for row in table:
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    for p in rep["patches"]:
        if (p.get("apply") or {}).get("ok") is not True and p.get("apply"):
            out.append(f"[{p['index']}] {p['apply']['reason']}")
    counts = {}
    for p in rep["patches"]:
        short = p["status"].split(": ")[0]
        counts[short] = counts.get(short, 0) + 1
    out.append(f"{len(rep['patches'])} patches: " +
               ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda x: -x[1])))
    out.append(f"review: {rep['verdict']} (exit {rep['exit']})")
    return "\n".join(out)


def junit_suite(rep):
    suite = results.Suite(name="kvmcheck.review")
    for p in rep["patches"]:
        props = {"author": p.get("author") or "", "link": p.get("link") or "",
                 "fixes": "; ".join(p["fixes"])}
        for r in p["rows"] or [None]:
            name = f"{p['index']:02d} {p['subject']}" + (f" :: {r['test']}" if r else "")
            state = r["change"] if r else p["status"]
            text = state + (f": {r['note']}" if r and r.get("note") else "")
            if r and r["before"]:
                text = f"{r['before']} before, {r['after']} after: {text}"
            if is_regressed(state):
                c = results.Case(name, "kvmcheck.review", r["after"] if r else "FAIL", text,
                                 failure_type="regressed", properties=props)
            elif state == "proven":
                c = results.Case(name, "kvmcheck.review", "PASS", text, properties=props)
            else:
                c = results.Case(name, "kvmcheck.review", "NOT-RUN" if not r or not r["before"] else "SKIP",
                                 text if r else (p["why"] or state), properties=props)
            suite.cases.append(c)
    return suite


VERDICT_WORDS = {util.EXIT_OK: "reviewed, nothing regressed", util.EXIT_FAILED: "a patch regressed",
                 util.EXIT_USAGE: "bad input", util.EXIT_NOT_TESTED: "a kernel could not be built or booted",
                 util.EXIT_EMPTY: "nothing was reviewed"}


def report(rep, out, code=None):
    """Writes review.txt, review.json and review-junit.xml (each atomically), prints the table;
    returns the exit status."""
    rep["exit"] = exit_status(rep) if code is None else code
    rep["verdict"] = VERDICT_WORDS.get(rep["exit"], str(rep["exit"]))
    text = render(rep)
    util.atomic_write_json(os.path.join(out, "review.json"), rep)
    results.write_junit(os.path.join(out, "review-junit.xml"), [junit_suite(rep)], name="kvmcheck-review")
    util.atomic_write(os.path.join(out, "review.txt"), text + "\n")
    # The HTML page (kvmcheck.report) of this review and whatever else OUT holds: its path is
    # the last line but one, before the verdict.
    from kvmcheck import report as html
    head, _, last = text.rpartition("\n")
    print((head + "\n" if head else "") + html.after_run(out) + "\n" + last, flush=True)
    return rep["exit"]


# --- the review ----------------------------------------------------------------------------------

def parse(argv):
    ap = util.ArgParser(prog="review.sh", add_help=True, doc=__doc__)
    ap.add_argument("--out", default=os.path.join(util.TOP, "results"))
    ap.add_argument("--base", default=os.environ.get("BASE") or "debian")
    ap.add_argument("--base-series", default=os.environ.get("BASE_SERIES") or None)
    ap.add_argument("--build-dir")
    ap.add_argument("--riscv-build-dir")
    ap.add_argument("--suite", help="kvmcheck (default), upstream, upstream-full, or several")
    ap.add_argument("input")
    return ap.parse_args(argv)


def test_meta(a):
    """Every test's metadata, from the binaries of each build there is; the x86_64 one is
    built when it is the default and missing."""
    meta = []
    x86 = os.path.abspath(a.build_dir or os.path.join(util.TOP, "build", "x86_64"))
    if not os.path.isfile(os.path.join(x86, "tests.list")):
        if a.build_dir:
            raise InputError(f"--build-dir {a.build_dir}: no tests.list (not a kvmcheck build)")
        say("building the tests (make)")
        if util.run(["make", "-C", util.TOP, "-s"], stdout=sys.stderr).returncode != 0:
            raise InputError("make failed: the tests could not be built")
    meta += patches.collect_meta(x86, "x86_64")
    rv = os.path.abspath(a.riscv_build_dir or os.path.join(util.TOP, "build", "riscv64"))
    if os.path.isfile(os.path.join(rv, "tests.list")):
        try:
            meta += patches.collect_meta(rv, "riscv64")
        except InputError as e:
            if a.riscv_build_dir:
                raise
            say(f"riscv64 tests left out: {e}")
    elif a.riscv_build_dir:
        raise InputError(f"--riscv-build-dir {a.riscv_build_dir}: no tests.list (not a kvmcheck build)")
    return meta, {"x86_64": x86, "riscv64": rv}


def selftests_only(p):
    """A patch that writes only the kernel's selftests: no kernel code changes with it."""
    return bool(p.files) and all(f.startswith("tools/testing/selftests/") for f in p.files)


def choose(plist, meta, arch):
    """The tests to run for ARCH's patches; a patch no test names or covers by path gets the
    whole suite, so a refactor that breaks something is still seen. A patch that only adds or
    changes selftests does not: its kernel is the one before it, and its own selftest is
    what runs for it (--suite upstream)."""
    mine = [p for p in plist if p.kind == "kernel" and (p.apply or {}).get("ok") and p.arch == arch]
    suite = [t.name for t in meta if t.arch == arch]
    chosen = []
    for p in mine:
        if not any(h.arch == arch for h in p.tests) and not selftests_only(p):
            p.tests += [patches.Hit(t, arch, "whole suite") for t in suite]
        chosen += [h.test for h in p.tests if h.arch == arch and h.test not in chosen]
    return chosen


def review(a, out, work, t0):
    rep = {"schema": SCHEMA, "input": os.path.abspath(a.input), "base": a.base, "base_src": None,
           "base_series": None, "kernels": {}, "patches": []}
    base_files = base_series_files(a.base_series) if a.base_series else []
    if base_files:
        rep["base_series"] = {"path": os.path.abspath(a.base_series), "apply": None,
                              "patches": [os.path.basename(f) for f in base_files]}
    plist = patches.split_input(a.input)
    patches.write_patches(plist, os.path.join(work, "patches"))
    if not plist:
        say(f"{a.input}: no patch found (no digest entry, mail or diff)")
        return rep, plist, util.EXIT_USAGE
    meta, builds = test_meta(a)
    patches.match(plist, meta)
    todo = patches.kernel_patches(plist)
    if not todo:
        say("no kernel patch with a diff: the table shows coverage only, nothing was built")
        return rep, plist, util.EXIT_EMPTY
    hook = find_hook(a.base)
    if hook:
        src = os.path.dirname(hook)
    else:
        src, why, code = base_source(a.base, work)
        if src is None:
            for p in todo:
                p.apply = {"ok": None, "reason": f"base {a.base}: {why}"}   # not tried
            say(f"base {a.base}: {why}")
            return rep, plist, code
    rep["base_src"] = src
    say(f"base: {a.base} ({src})" + (f" + base series {a.base_series}" if base_files else ""))
    # The kernel each side's KVMCHECK_KERNEL names: before, once the base series is applied;
    # after, once the series is too.
    specs = dict.fromkeys(SIDES, hook_spec(hook)) if hook else {}

    def read_hook(side, tree):
        if hook and os.path.isfile(os.path.join(tree, "KVMCHECK_KERNEL")):
            specs[side] = hook_spec(os.path.join(tree, "KVMCHECK_KERNEL"))

    scratch = tempfile.mkdtemp(prefix="kvmcheck-review-")
    try:
        with tree_locked(src, a.base, work):
            applies = patches.apply_check(plist, src, scratch, base=base_files,
                                          on_base=lambda tree: read_hook("before", tree))
        read_hook("after", scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not patches.is_kernel_tree(src):
        say(f"base {src} is not a kernel tree (no Makefile, Kconfig, arch/)")
        return rep, plist, util.EXIT_USAGE
    base_fail = next((p.apply["reason"] for p in todo if (p.apply or {}).get("ok", False) is None), None)
    if rep["base_series"]:
        rep["base_series"]["apply"] = base_fail or "applies cleanly"
    if not applies:
        say(f"{base_fail}: nothing was built" if base_fail else
            "the series does not apply: nothing was built")
        return rep, plist, util.EXIT_EMPTY
    before_dir, series_dir = stage_series(base_files, todo, work)
    suites = upstream.parse_suites(a.suite)
    if "kvmcheck" not in suites:
        for p in plist:
            p.tests = []
    for arch in sorted({p.arch for p in todo}):
        tests = choose(plist, meta, arch) if "kvmcheck" in suites else []
        bdir = builds[arch]
        why = f"no {arch} test binaries to run ({builds[arch]}/tests.list; make ARCH={arch})"
        if "kvmcheck" in suites and any(t.arch == arch for t in meta):
            why = "no test chosen: the series changes only selftests (--suite upstream runs them)"
        if "upstream" in suites:
            # The upstream tests of the areas the series touches and its own selftests, built
            # from the after tree (scripts/kvmcheck/upstream.py), run on both kernels.
            try:
                up = upstream.review_stage(src, series_dir, arch, plist, builds[arch], suites,
                                           work, copy_lock=lambda: tree_locked(src, a.base, work))
            except upstream.UpstreamUnavailable as e:
                up = None
                why = f"upstream tests not built: {e}"
                say(f"{arch}: {why}")
            if up:
                say(f"{arch}: {upstream.describe(up.ub)}")
                rep.setdefault("upstream", {})[arch] = {
                    "source": up.ub.source, "built": up.ub.built, "failed": up.ub.failed,
                    "build_s": up.ub.build_s}
                tests += up.tests
                bdir = up.path
        kb = rep["kernels"].setdefault(arch, {})
        if not tests:
            for side in SIDES:
                kb[side] = Side(status="NOT-RUN", reason=why)
            continue
        say(f"{arch}: {len(tests)} tests: {' '.join(tests)}")
        for side in SIDES:
            if hook:
                k, s = hook_kernel(specs[side], side)
            else:
                k, s = built_kernel(a.base, arch, side, series_dir, work, before_dir)
            kb[side] = s
            if k is not None:
                run_suite(k, arch, bdir, tests, side, s, work)
    return rep, plist, None


def main(argv=None):
    a = parse(sys.argv[1:] if argv is None else argv)
    if not os.path.exists(a.input):
        util.die(util.EXIT_USAGE, f"{a.input}: no such file or directory")
    t0 = time.monotonic()
    # Absolute from here on: patch(1) and the builds run in other directories.
    out = os.path.abspath(a.out)
    work = os.path.join(out, "review")
    try:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    except OSError as e:
        util.die(util.EXIT_USAGE, f"--out {a.out}: cannot write there ({e.strerror or e})")
    try:
        # Applying the series needs patch(1), which a minimal Debian lacks.
        util.need("patch", "patch")
        rep, plist, code = review(a, out, work, t0)
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    except util.NotTested as e:
        util.die(util.EXIT_NOT_TESTED, str(e))
    except OSError as e:
        util.die(util.EXIT_NOT_TESTED, f"{e}")
    kern = {arch: {side: s for side, s in kb.items()} for arch, kb in rep["kernels"].items()}
    rep["patches"] = evaluate(plist, kern)
    rep["kernels"] = {arch: {side: asdict(s) for side, s in kb.items()} for arch, kb in kern.items()}
    rep["wall_s"] = round(time.monotonic() - t0, 1)
    # Said before the table, so that the verdict and the page's path end the output.
    say(f"wall time {rep['wall_s']} s; {out}/review.txt, review.json, review-junit.xml")
    return report(rep, out, code)


if __name__ == "__main__":
    sys.argv[0] = "review.sh"   # what the user typed, in messages
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        util.msg("review: interrupted")
        sys.exit(util.EXIT_INTERRUPTED)
