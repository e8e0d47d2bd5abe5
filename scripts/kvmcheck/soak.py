# SPDX-License-Identifier: GPL-2.0-only
"""soak.sh [--host N] [--qemu M] [--build-dir DIR] [--keep DIR]

The suite again and again: on the running kernel N times (default 50), then on Debian sid's
kernel under QEMU M times (default 10), one run after the other. Every run's verdicts are judged
against expect/host.txt and expect/sid.txt, the rules the matrix uses (scripts/kvmcheck/expect.py).
Prints name=value lines on stdout, per target: runs, unexpected verdicts, wall time per run, and
the tests that flaked (a verdict that changed between runs, or one not as expect/ says, with how
often); progress and every unexpected verdict on stderr.

  --host N          runs on this kernel (needs a read-write /dev/kvm; 0 skips them)
  --qemu M          runs on qemu:sid (0 skips them)
  --build-dir DIR   the make O= tree (default build/x86_64; built by run_tests.sh when missing)
  --keep DIR        keep every run's JSON and log there (default: a temporary directory,
                    removed at the end)
  --run-timeout S   bound on one run (default 600 on the host, 1800 under QEMU)

Exit status: 0 every run tested something and every verdict was as expect/ says, 1 a verdict
was not (or a run ended without results), 2 bad usage, 3 nothing was tested (no runs asked),
130 interrupted."""
import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from . import util
from .expect import Expect, judge_column
from .results import load_run
from .util import InputError

TARGETS = (("host", "host", "host"), ("qemu", "qemu:sid", "sid"))   # (option, --target, expect)


@dataclass
class RunResult:
    n: int
    rc: int
    wall_s: float
    verdicts: dict                # TEST or TEST:SUBTEST -> verdict
    unexpected: list              # messages


@dataclass
class Soak:
    name: str                     # host | qemu_sid
    runs: list = field(default_factory=list)

    def unexpected(self):
        return sum(len(r.unexpected) for r in self.runs)

    def flaked(self):
        """NAME(what/runs) for every test or subtest whose verdict changed between runs or was
        not as expected in some run."""
        seen = defaultdict(Counter)
        bad = Counter()
        for r in self.runs:
            for name, v in r.verdicts.items():
                seen[name][v] += 1
            for m in r.unexpected:
                bad[m.split(": ")[1] if ": " in m else m] += 1
        out = []
        for name in sorted(set(seen) | set(bad)):
            counts = seen.get(name, Counter())
            if len(counts) > 1 or name in bad:
                what = ",".join(f"{v}x{c}" for v, c in sorted(counts.items()))
                out.append(f"{name}({what or 'no verdict'};{bad[name]} unexpected)")
        return out


def say(text):
    util.msg(f"soak: {text}")


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def end_group(p):
    """End the whole process group of p: SIGTERM (run_tests.sh traps it, stops QEMU and removes
    its temporaries), up to 10 s for every member to go, then SIGKILL for what is left. p is
    reaped either way; nothing of the run outlives this."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.poll() is not None and not group_alive(p.pid):
            break
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def run_once(n, target, line, build, workdir, timeout, expect):
    """One run of run_tests.sh; its verdicts judged against expect. Bounded, and its whole
    process group is ended on a timeout or an interrupt."""
    json_path = os.path.join(workdir, f"{line}-{n:03d}.json")
    log_path = os.path.join(workdir, f"{line}-{n:03d}.log")
    argv = [os.path.join(util.TOP, "run_tests.sh"), "--target", target, "--build-dir", build,
            "--json", json_path]
    t0 = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             cwd=util.TOP, start_new_session=True)
        try:
            rc = p.wait(timeout=timeout)
        except BaseException as e:
            # A timeout or Ctrl-C: the runner, QEMU and the tests are in the run's group.
            end_group(p)
            if not isinstance(e, subprocess.TimeoutExpired):
                raise
            rc = None
    wall = time.monotonic() - t0
    if rc is None:
        return RunResult(n, -1, wall, {}, [f"run {n}: run_tests.sh: no end in {timeout} s "
                                           f"(log {log_path})"])
    if not os.path.exists(json_path):
        return RunResult(n, rc, wall, {}, [f"run {n}: run_tests.sh: exit {rc} and no results "
                                           f"(log {log_path})"])
    run = load_run(json_path)
    verdicts = {}
    for t in run.tests:
        verdicts[t.name] = t.verdict
        for s in t.subtests:
            verdicts[f"{t.name}:{s.name}"] = s.verdict
    j = judge_column(line, "ok", None, run, expect)
    unexpected = [f"run {n}: {m.split(': ', 1)[1]}" for m in j.unexpected]
    if rc not in (0, 1):
        unexpected.append(f"run {n}: run_tests.sh: exit {rc} (log {log_path})")
    elif rc == 1 and not j.unexpected:
        # Expected failures exist nowhere in expect/host.txt or sid.txt today; say so if one does.
        say(f"run {n}: exit 1, every verdict as expected")
    if not run.tests:
        unexpected.append(f"run {n}: nothing was tested (log {log_path})")
    return RunResult(n, rc, wall, verdicts, unexpected)


def report(s):
    walls = [r.wall_s for r in s.runs]
    print(f"{s.name}_runs={len(s.runs)}")
    print(f"{s.name}_unexpected={s.unexpected()}")
    print(f"{s.name}_runs_unexpected={sum(1 for r in s.runs if r.unexpected)}")
    if walls:
        print(f"{s.name}_wall_s_min={min(walls):.2f}")
        print(f"{s.name}_wall_s_median={statistics.median(walls):.2f}")
        print(f"{s.name}_wall_s_max={max(walls):.2f}")
        print(f"{s.name}_wall_s_total={sum(walls):.1f}")
        print(f"{s.name}_wall_s_each={','.join(f'{w:.2f}' for w in walls)}")
    flaked = s.flaked()
    print(f"{s.name}_flaked={' '.join(flaked) if flaked else 'none'}")
    sys.stdout.flush()


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="soak.sh", add_help=False)
    ap.add_argument("-h", "--help", action="store_true")
    ap.add_argument("--host", type=int, default=50)
    ap.add_argument("--qemu", type=int, default=10)
    ap.add_argument("--build-dir", default=os.path.join(util.TOP, "build", "x86_64"))
    ap.add_argument("--keep")
    ap.add_argument("--run-timeout", type=int)
    try:
        a = ap.parse_args(argv)
    except SystemExit:
        raise InputError("bad usage (soak.sh --help)") from None
    if a.help:
        print(__doc__)
        sys.exit(util.EXIT_OK)
    if a.host < 0 or a.qemu < 0 or (a.run_timeout is not None and a.run_timeout < 1):
        raise InputError("--host, --qemu and --run-timeout take counts >= 0 (timeout >= 1)")
    if a.host and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        raise InputError("--host needs a read-write /dev/kvm on this machine (use --host 0)")
    a.build_dir = os.path.abspath(a.build_dir)
    if a.keep:
        a.keep = os.path.abspath(a.keep)
        os.makedirs(a.keep, exist_ok=True)
        if not os.access(a.keep, os.W_OK):
            raise InputError(f"--keep {a.keep}: not writable")
    return a


def main(argv):
    a = parse_args(argv)
    counts = {"host": a.host, "qemu": a.qemu}
    if not any(counts.values()):
        say("nothing to run (--host 0 --qemu 0)")
        return util.EXIT_NOT_TESTED
    expect_dir = os.path.join(util.TOP, "expect")
    workdir = a.keep or tempfile.mkdtemp(prefix="kvmcheck-soak.")
    soaks = []
    try:
        for opt, target, line in TARGETS:
            if not counts[opt]:
                continue
            expect = Expect.load(expect_dir, line)
            timeout = a.run_timeout or (600 if opt == "host" else 1800)
            s = Soak(target.replace(":", "_"))
            soaks.append(s)
            for n in range(1, counts[opt] + 1):
                r = run_once(n, target, line, a.build_dir, workdir, timeout, expect)
                s.runs.append(r)
                say(f"{target} {n}/{counts[opt]}: exit {r.rc}, {r.wall_s:.1f} s, "
                    f"{len(r.unexpected)} unexpected")
                for m in r.unexpected:
                    say(f"  {m}")
            report(s)
    finally:
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return util.EXIT_FAILED if any(s.unexpected() for s in soaks) else util.EXIT_OK


def entry():
    try:
        sys.exit(main(sys.argv[1:]))
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    except KeyboardInterrupt:
        util.die(util.EXIT_INTERRUPTED, "interrupted")


if __name__ == "__main__":
    entry()
