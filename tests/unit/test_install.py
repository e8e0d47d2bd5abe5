# SPDX-License-Identifier: GPL-2.0-only
"""make install / make gen_tar (kvmcheck.kselftest): the kselftest install layout of a build,
written whole or not at all. The kernel's own runner running it is tests/faults/test_ci.py's."""
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "scripts"))
from kvmcheck import kselftest as ks  # noqa: E402
from kvmcheck.util import InputError  # noqa: E402

BUILD = Path(os.environ.get("KVMCHECK_BUILD", TOP / "build" / "x86_64"))


def fake_runner(d):
    """A stand-in for tools/testing/selftests' runner files: only their presence matters here."""
    (d / "kselftest").mkdir(parents=True)
    for f in ("run_kselftest.sh", "kselftest/runner.sh", "kselftest/ktap_helpers.sh"):
        (d / f).write_text("#!/bin/sh\n")
    return d


class Layout(unittest.TestCase):
    def test_names(self):
        self.assertEqual(ks.collection_of("x86/directed_eoi"), ("kvmcheck/x86", "directed_eoi"))
        self.assertEqual(ks.kvmcheck_name("kvmcheck/x86:directed_eoi"), "x86/directed_eoi")
        self.assertIsNone(ks.kvmcheck_name("net:udpgso"))

    def test_settings_take_the_longest_timeout(self):
        lay = ks.layout([("x86/a", 30), ("x86/b", 120.5), ("common/c", 10)])
        self.assertEqual(lay.settings("kvmcheck/x86"), "timeout=121\n")
        self.assertEqual(lay.list_lines(), ["kvmcheck/x86:a", "kvmcheck/x86:b",
                                            "kvmcheck/common:c"])

    def test_refused_names(self):
        with self.assertRaisesRegex(InputError, "cannot carry"):
            ks.layout([("x86/a b", 30)])
        with self.assertRaisesRegex(InputError, "install to the same file"):
            ks.layout([("x86/a", 30), ("x86/a", 30)])


@unittest.skipUnless((BUILD / "kvmcheck-run").exists(), f"no build in {BUILD}: make first")
class Install(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kvmcheck-test-install.")
        self.d = Path(self.tmp.name)
        self.runner = fake_runner(self.d / "runner")

    def tearDown(self):
        self.tmp.cleanup()

    def test_tree(self):
        dest = self.d / "inst"
        dest.mkdir()
        (dest / "stale").write_text("from an older install")
        ks.install(str(BUILD), str(dest), str(self.runner))
        names = (BUILD / "tests.list").read_text().split()
        lines = (dest / "kselftest-list.txt").read_text().split()
        self.assertEqual(lines, [f"kvmcheck/{n.rpartition('/')[0]}:{n.rpartition('/')[2]}"
                                 for n in names])
        for n in names:
            self.assertTrue(os.access(dest / "kvmcheck" / n, os.X_OK), n)
        meta = json.loads(subprocess.run([str(BUILD / "x86" / "directed_eoi"), "--meta"],
                                         capture_output=True, text=True).stdout)
        self.assertGreaterEqual(int((dest / "kvmcheck/x86/settings").read_text()
                                    .split("=")[1]), meta["timeout"])
        self.assertTrue((dest / "run_kselftest.sh").exists())
        self.assertEqual((dest / "kvmcheck/tests.list").read_text().split(), names)
        self.assertFalse((dest / "stale").exists())
        self.assertEqual(sorted(p.name for p in self.d.iterdir()), ["inst", "runner"])

    def test_gen_tar(self):
        dest = self.d / "inst"
        ks.install(str(BUILD), str(dest), str(self.runner))
        tar = dest / "kselftest-packages" / "kselftest.tar.gz"
        ks.gen_tar(str(dest), str(tar))
        with tarfile.open(tar) as t:
            members = t.getnames()
        self.assertIn("./kselftest-list.txt", members)
        self.assertIn("./kvmcheck/x86/directed_eoi", members)
        self.assertFalse(any("kselftest-packages" in m for m in members))
        self.assertEqual([p.name for p in tar.parent.iterdir()], ["kselftest.tar.gz"])

    def test_unwritable_dest_refused_and_nothing_left(self):
        # Root writes anywhere: a parent that is a file refuses everyone.
        (self.d / "afile").write_text("")
        with self.assertRaisesRegex(InputError, r"INSTALL_PATH .*afile/inst: .*afile is not a directory"):
            ks.install(str(BUILD), str(self.d / "afile" / "inst"), str(self.runner))
        self.assertEqual(sorted(p.name for p in self.d.iterdir()), ["afile", "runner"])

if __name__ == "__main__":
    unittest.main()
