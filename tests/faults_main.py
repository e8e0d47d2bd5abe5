#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run the fault-injection suite (tests/faults): every way a verdict path was seen to lie
(a review that built nothing, a test that printed nothing, two runs sharing a cache, a kernel
that crashed under a test, ...), reproduced, with the clear error, the exit status and nothing
left behind asserted. Ends with 'N passed, N failed, N skipped' as tests/run_all.sh expects."""
import os
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

here = Path(__file__).resolve().parent
pattern = sys.argv[1] if len(sys.argv) > 1 else "test*.py"
# A TMPDIR of this run alone: "nothing left behind" is then about this run's programs, not
# whatever else the machine runs, and what is left shows up here.
tmp = tempfile.mkdtemp(prefix="kvmcheck-faults.")
os.environ["TMPDIR"] = tempfile.tempdir = tmp
suite = unittest.defaultTestLoader.discover(str(here / "faults"), pattern=pattern,
                                            top_level_dir=str(here / "faults"))
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
failed = len(result.failures) + len(result.errors)
left = sorted(os.listdir(tmp))
if left:
    print(f"FAIL: left behind in the run's TMPDIR {tmp}: {', '.join(left)}")
    failed += 1
shutil.rmtree(tmp, ignore_errors=True)
skipped = len(result.skipped)
passed = result.testsRun - failed - skipped
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
