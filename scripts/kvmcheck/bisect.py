# SPDX-License-Identifier: GPL-2.0-only
"""bisect-step.sh [--find-fix] [--skip-is-bad] TEST[:SUBTEST]    one step of `git bisect run`

Run inside a kernel tree: builds it (its .config + olddefconfig + scripts/config/kvmcheck.config,
via kernel-build.sh), boots it under QEMU, runs one kvmcheck test (or subtest), and exits
  0    good: the test passed
  1    bad:  the test failed, timed out or crashed (the kernel too)
  125  cannot say: the test skipped or did not run, the build failed, the kernel did not boot
  255  bad usage (git bisect stops rather than take it for a verdict)
--find-fix      look for the commit that fixed (or added) a behaviour: PASS is bad (1) and
                FAIL good (0); use with `git bisect start --term-old=broken --term-new=fixed`
--skip-is-bad   a SKIP is a verdict, not 125: it counts as FAIL (with --find-fix: the feature
                is absent in the old commits, so they are good/broken)

Hook: a file KVMCHECK_KERNEL at the top of the tree names a kernel to boot instead of building
one: bookworm, trixie, sid, or IMAGE[:MODULES_DIR]. It lets a history whose commits only say
which kernel to use (as tests/unit/test_bisect.py builds) or a set of prebuilt kernels be bisected
without a compiler.

KVMCHECK_TOP (default: this script's checkout) is the kvmcheck tree whose tests run,
KVMCHECK_BUILD_DIR (default: its build/x86_64) the build of them.
An upstream KVM selftest, upstream/x86/NAME, is built from the commit's own
tools/testing/selftests/kvm (or the hook's Debian source) for each step; a commit that lacks it
or cannot build it is 125.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from . import kernels, suite, upstream, util
from .results import load_run, verdict_of
from .util import InputError

GOOD, BAD, SKIP, ABORT = 0, 1, 125, 255
STEP_TIMEOUT = int(os.environ.get("KVMCHECK_QEMU_TIMEOUT", "1800"))


class Stop(Exception):
    """This step's answer: exit code and the one line git bisect's log keeps."""

    def __init__(self, code, why):
        super().__init__(why)
        self.code = code


def usage(text=None):
    if text:
        util.msg(f"bisect-step: {text}")
    sys.stderr.write(__doc__)
    raise Stop(ABORT, None)


def parse_args(argv):
    find_fix = skip_bad = False
    test = None
    for a in argv:
        if a in ("-h", "--help"):
            usage()
        elif a == "--find-fix":
            find_fix = True
        elif a == "--skip-is-bad":
            skip_bad = True
        elif a.startswith("-"):
            usage(f"unknown option {a}")
        elif test is not None:
            usage("one TEST only")
        else:
            test = a
    if not test:
        usage()
    if not re.fullmatch(r"[A-Za-z0-9_./-]+(:[A-Za-z0-9_.-]+)?", test):
        usage(f"'{test}' is not TEST or TEST:SUBTEST")
    return find_fix, skip_bad, test


def _last(path_or_text, is_path=True):
    text = path_or_text
    if is_path:
        try:
            with open(path_or_text, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return ""
    lines = [x for x in text.splitlines() if x.strip() and not x.startswith("# ")]
    return lines[-1][:200] if lines else ""


def check_test(top, test):
    """A test name that matches nothing would make every step 125 and the bisect end in
    'cannot tell': stop at once instead. The static runner lists without a guest."""
    build = os.environ.get("KVMCHECK_BUILD_DIR") or os.path.join(top, "build", "x86_64")
    runner = os.path.join(build, "kvmcheck-run")
    if not os.access(runner, os.X_OK):
        p = util.run(["make", "-C", top, "-s", f"O={build}"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, timeout=1800)
        if p.returncode != 0:
            raise Stop(ABORT, f"cannot build kvmcheck in {top}: {_last(p.stderr, False)}")
    if test.startswith(upstream.PREFIX):
        return build    # built from each commit's own source: nothing to list before
    p = util.run([runner, "-l", "-t", test], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                 text=True, stdin=subprocess.DEVNULL, timeout=60)
    if p.returncode != 0:
        raise Stop(ABORT, _last(p.stderr, False) or f"-t {test} matches no test")
    return build


def hook_kernel(tree):
    """The first non-comment line of KVMCHECK_KERNEL, or None when the tree has none."""
    path = os.path.join(tree, "KVMCHECK_KERNEL")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        for ln in f:
            ln = ln.strip()
            if ln and not ln.startswith("#"):
                return "".join(ln.split())
    raise Stop(SKIP, "KVMCHECK_KERNEL is empty")


def kernel_of(tree, work):
    """This commit's kernel directory: named by the hook, or built from the tree."""
    named = hook_kernel(tree)
    if named is not None:
        try:
            line = kernels.resolve(named)
        except InputError as e:
            # One commit naming a kernel that is gone cannot say good or bad.
            raise Stop(SKIP, f"KVMCHECK_KERNEL: {e}") from None
        if line.kind not in ("debian", "custom"):
            raise Stop(SKIP, f"KVMCHECK_KERNEL: {named} is not a kernel to boot")
        what = "kernel not available"
    else:
        if not (os.path.isfile(os.path.join(tree, "Makefile")) and
                os.path.isfile(os.path.join(tree, "Kconfig"))):
            raise Stop(ABORT, f"{tree} is not a kernel tree and has no KVMCHECK_KERNEL")
        line = kernels.Line(f"build-{os.path.basename(tree)}", "build", tree, "x86_64")
        what = "build failed"
    try:
        return kernels.materialize(line, log=os.path.join(work, "kernel.log"))
    except (kernels.KernelUnavailable, InputError) as e:
        raise Stop(SKIP, f"{what}: {e}") from None


def decide(v, kver, find_fix, skip_bad):
    """(exit code, what) for one verdict (a results.Verdict) on kernel kver."""
    what = f"{v.verdict} on {kver}" + (f" ({v.reason})" if v.reason else "")
    if v.verdict == "PASS":
        good = True
    elif v.verdict in ("FAIL", "TIMEOUT", "CRASH"):
        good = False
    elif v.verdict == "SKIP" and skip_bad:
        good = False
    else:
        return SKIP, what
    # Regression hunt: PASS is good (old). Fix hunt: the old commits are the broken ones.
    if find_fix:
        return (BAD, what + ": fixed/new") if good else (GOOD, what + ": broken/old")
    return (GOOD, what + ": good") if good else (BAD, what + ": bad")


def step(argv):
    find_fix, skip_bad, test = parse_args(argv)
    top = os.environ.get("KVMCHECK_TOP") or util.TOP
    build = check_test(top, test)
    tree = os.getcwd()
    p = util.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True,
                 text=True, stdin=subprocess.DEVNULL)
    commit = p.stdout.strip() if p.returncode == 0 else "(no git)"
    work = tempfile.mkdtemp(prefix="kvmcheck-bisect.")
    try:
        try:
            kdir = kernel_of(tree, work)
            rjson = os.path.join(work, "r.json")
            target = f"qemu:{kdir.suite if kdir.suite != 'custom' else kdir.image}"
            bdir = build
            if test.startswith(upstream.PREFIX):
                try:
                    bdir = upstream.stage_one(build, "x86_64", upstream.source_of_tree(
                        tree, hook_kernel(tree) and kdir.suite), test, work)
                except upstream.UpstreamUnavailable as e:
                    raise Stop(SKIP, str(e)) from None
            try:
                r = suite.run_on_kernel(kdir, bdir, ["-t", test], logdir=os.path.join(work, "run"),
                                        json=rjson, timeout=STEP_TIMEOUT, echo=False)
            except InputError as e:
                raise Stop(ABORT, str(e)) from None
            if r.rc not in (0, 1, util.EXIT_EMPTY) or not os.path.isfile(rjson) or os.path.getsize(rjson) == 0:
                raise Stop(SKIP, f"no result from {target} ({r.reason or f'exit {r.rc}'})")
            try:
                run = load_run(rjson)
            except InputError as e:
                raise Stop(SKIP, f"no usable result from {target}: {e}") from None
            raise Stop(*decide(verdict_of(run, test), run.kernel or "?", find_fix, skip_bad))
        except Stop as s:
            if s.args[0] is not None:
                util.msg(f"bisect-step: {commit}: {test}: {s.args[0]} -> exit {s.code}")
            return s.code
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # A CI job cancelled or git bisect killed: stop QEMU and remove temporaries on the way out.
    util.stop_on_signals()
    try:
        return step(argv)
    except Stop as s:
        if s.args[0] is not None:
            util.msg(f"bisect-step: {s.args[0]}")
        return s.code
    except KeyboardInterrupt:
        # An interrupted step is not a verdict: 255 stops the bisect.
        util.msg("bisect-step: interrupted")
        return ABORT


if __name__ == "__main__":
    sys.exit(main())
