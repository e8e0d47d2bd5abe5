#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run the project's own unit tests (tests/unit) and end with the plain summary line
'N passed, N failed, N skipped' that tests/run_all.sh adds up."""
import sys
import unittest
from pathlib import Path

here = Path(__file__).resolve().parent
# An optional file pattern narrows the run (make check runs test_runner*.py again under ASan).
pattern = sys.argv[1] if len(sys.argv) > 1 else "test*.py"
suite = unittest.defaultTestLoader.discover(str(here / "unit"), pattern=pattern,
                                            top_level_dir=str(here / "unit"))
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
failed = len(result.failures) + len(result.errors)
skipped = len(result.skipped)
passed = result.testsRun - failed - skipped
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(0 if failed == 0 else 1)
