#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run the fault-injection suite (tests/faults): every way a verdict path was seen to lie
(a review that built nothing, a test that printed nothing, two runs sharing a cache, a kernel
that crashed under a test, ...), reproduced, with the clear error, the exit status and nothing
left behind asserted. Ends with 'N passed, N failed, N skipped' as tests/run_all.sh expects.

  faults_main.py [-j N] [PATTERN]    PATTERN: module file glob (default test*.py); -j: modules
                                     run side by side (default: the machine's CPUs, at most 4)

Most of the suite waits (QEMU boots under TCG take one core each, scripted runs sleep), so
modules run side by side, each in its own process with a TMPDIR of its own: "nothing left
behind" is then about that module's programs, not whatever else runs, and what is left there
fails the module."""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

here = Path(__file__).resolve().parent
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


def run_module(name):
    """Child: one module's tests, in a TMPDIR of its own."""
    tmp = tempfile.mkdtemp(prefix="kvmcheck-faults.")
    os.environ["TMPDIR"] = tempfile.tempdir = tmp
    suite = unittest.defaultTestLoader.discover(str(here / "faults"), pattern=name,
                                                top_level_dir=str(here / "faults"))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    left = sorted(os.listdir(tmp))
    if left:
        print(f"FAIL: {name}: left behind in its TMPDIR {tmp}: {', '.join(left)}")
        failed += 1
    shutil.rmtree(tmp, ignore_errors=True)
    skipped = len(result.skipped)
    print(f"{result.testsRun - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


def run_all(pattern, jobs):
    # Larger modules first: they hold the boots, and the small ones fill in beside them.
    mods = sorted((p for p in (here / "faults").glob(pattern) if p.name.startswith("test")),
                  key=lambda p: -p.stat().st_size)
    if not mods:
        print(f"no fault test module matches {pattern}")
        print("0 passed, 1 failed, 0 skipped")
        return 1

    def child(p):
        r = subprocess.run([sys.executable, __file__, "--module", p.name], capture_output=True,
                           text=True, stdin=subprocess.DEVNULL)
        return p.name, r.returncode, r.stdout + r.stderr

    total = [0, 0, 0]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, rc, out in pool.map(child, mods):
            print(f"### {name}")
            print(out, end="" if out.endswith("\n") else "\n", flush=True)
            m = SUMMARY.findall(out)
            counts = [int(x) for x in m[-1]] if m else [0, 1, 0]
            if rc != 0 and counts[1] == 0:
                counts[1] = 1    # died without saying why: still a failure
            total = [a + b for a, b in zip(total, counts)]
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 0 if total[1] == 0 and total[0] + total[2] > 0 else 1


def main(argv):
    if len(argv) == 2 and argv[0] == "--module":
        return run_module(argv[1])
    jobs = min(os.cpu_count() or 1, 4)
    if argv[:1] == ["-j"] and len(argv) >= 2:
        jobs = int(argv[1])
        argv = argv[2:]
    return run_all(argv[0] if argv else "test*.py", max(jobs, 1))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
