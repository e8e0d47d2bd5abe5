# SPDX-License-Identifier: GPL-2.0-only
"""bench/soak.sh (issue 10's soak): a test whose verdict changes between runs is named as a
flake with its counts, the unexpected verdict is counted and the exit status is 1; bad usage is
refused with exit 2. Synthetic: a fake build dir whose one test is a shell script that fails on
its second run, on the host target. Seconds, no QEMU; nothing is left in TMPDIR."""
import os
import shutil
import stat
import tempfile
import unittest
from pathlib import Path

import faultlib

SOAK = faultlib.TOP / "bench" / "soak.sh"
META = ('{"name":"fake/flip","arch":"x86_64","summary":"a fake test of the soak","groups":'
        '["fake"],"timeout":30,"patch":null,"min_kernel":null,"shown_on":null,'
        '"subtests":["one"],"options":[]}')
# Counts its runs in $KC_SOAK_COUNTER; the second one fails.
FLIP = """#!/bin/sh
case "$1" in
--meta) echo '%s'; exit 0 ;;
--list) echo one; exit 0 ;;
esac
n=$(( $(cat "$KC_SOAK_COUNTER" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$KC_SOAK_COUNTER"
echo 'TAP version 13'
echo '1..1'
if [ "$n" = 2 ]; then echo 'not ok 1 one # flaked on purpose'; exit 1; fi
echo 'ok 1 one'
exit 0
""" % META


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


class Soak(unittest.TestCase):
    def setUp(self):
        self.work = Path(tempfile.mkdtemp(prefix="fault-soak."))
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.tmpdir = self.work / "tmp"
        self.tmpdir.mkdir()
        self.env = {"TMPDIR": str(self.tmpdir), "KC_SOAK_COUNTER": str(self.work / "count")}

    def fake_build(self, body=FLIP):
        root = self.work / "build"
        (root / "fake").mkdir(parents=True)
        shutil.copy2(faultlib.RUNNER, root / "kvmcheck-run")
        t = root / "fake" / "flip"
        t.write_text(body)
        t.chmod(t.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        (root / "tests.list").write_text("fake/flip\n")
        return root

    def assert_nothing_left(self):
        self.assertEqual(sorted(p.name for p in self.tmpdir.iterdir()), [],
                         "temporary files left behind")

    @unittest.skipUnless(kvm_usable(), "the host target needs a read-write /dev/kvm")
    def test_flake_is_named_and_fails(self):
        rc, out, err = faultlib.run([SOAK, "--host", "3", "--qemu", "0", "--build-dir",
                                     self.fake_build()], env=self.env, timeout=120)
        self.assertEqual(rc, 1, out + err)
        lines = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        self.assertEqual(lines["host_runs"], "3")
        self.assertEqual(lines["host_unexpected"], "2", out)   # the subtest and the test
        self.assertEqual(lines["host_runs_unexpected"], "1")
        self.assertEqual(len(lines["host_wall_s_each"].split(",")), 3)
        self.assertIn("fake/flip:one(FAILx1,PASSx2;1 unexpected)", lines["host_flaked"])
        self.assertIn("run 2: fake/flip:one: FAIL, expected PASS (flaked on purpose)", err)
        self.assertEqual((self.work / "count").read_text().strip(), "3")
        self.assert_nothing_left()

    @unittest.skipUnless(kvm_usable(), "the host target needs a read-write /dev/kvm")
    def test_hung_run_is_ended(self):
        """A run past --run-timeout is ended with its whole process group and counted."""
        hang = FLIP.replace('n=$((', 'while :; do sleep 1; done\nn=$((')
        build = self.fake_build(hang)
        rc, out, err = faultlib.run([SOAK, "--host", "1", "--qemu", "0", "--run-timeout", "3",
                                     "--build-dir", build], env=self.env, timeout=60)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("host_unexpected=1", out)
        self.assertIn("run 1: run_tests.sh: no end in 3 s", err)
        self.assertEqual(faultlib.stray_processes(str(self.work)), [])
        self.assert_nothing_left()

    def test_bad_usage_is_exit_2(self):
        for args in (["--host", "-1"], ["--qemu", "x"], ["--no-such-option"]):
            rc, out, err = faultlib.run([SOAK, *args], env=self.env, timeout=60)
            self.assertEqual(rc, 2, args)
            self.assertEqual(out, "", args)
            self.assertIn("soak", err)
        self.assert_nothing_left()

    def test_nothing_asked_is_exit_3(self):
        rc, out, err = faultlib.run([SOAK, "--host", "0", "--qemu", "0"], env=self.env,
                                    timeout=60)
        self.assertEqual(rc, 3, err)
        self.assertIn("nothing to run", err)
        self.assert_nothing_left()


if __name__ == "__main__":
    unittest.main()
