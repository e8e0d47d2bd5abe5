# SPDX-License-Identifier: GPL-2.0-only
"""The matrix's bookkeeping without booting anything: expect/ parsing, verdict judging, the
table, the shard merge (two per-job files joined into one table, JSON and JUnit), and the bad
input that scripts/matrix.sh must refuse before the first boot."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
MATRIX = TOP / "scripts" / "matrix.sh"
sys.path.insert(0, str(TOP / "scripts"))
from kvmcheck import expect as ex  # noqa: E402
from kvmcheck import matrix as mx  # noqa: E402
from kvmcheck.results import parse_run  # noqa: E402
from kvmcheck.util import InputError  # noqa: E402


def runner_json(kernel, tests):
    """A kvmcheck-run --json document: tests = {name: (verdict, reason, {sub: (verdict, reason)})}."""
    out = []
    for name, (verdict, reason, subs) in tests.items():
        out.append({"name": name, "verdict": verdict, "reason": reason, "duration_s": 0.5,
                    "exit_status": 0, "patch": None,
                    "subtests": [{"name": s, "verdict": v, "reason": r} for s, (v, r) in subs.items()]})
    return {"kernel": kernel, "machine": "x86_64", "target": "qemu:x", "summary": {}, "tests": out}


OLD = runner_json("6.1.0-50-amd64", {
    "x86/ucall": ("PASS", None, {"sync": ("PASS", None)}),
    "x86/feature": ("SKIP", "kernel predates FEATURE", {"a": ("SKIP", "kernel predates FEATURE"),
                                                        "b": ("SKIP", "kernel predates FEATURE")}),
    "x86/mixed": ("PASS", None, {"old": ("PASS", None), "new": ("SKIP", "needs 7.x")}),
})
NEW = runner_json("7.2.13+deb14-amd64", {
    "x86/ucall": ("PASS", None, {"sync": ("PASS", None)}),
    "x86/feature": ("PASS", None, {"a": ("PASS", None), "b": ("PASS", None)}),
    "x86/mixed": ("FAIL", "1 subtest failed", {"old": ("PASS", None), "new": ("FAIL", "guest assert at x.c:1")}),
})


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.expect = self.dir / "expect"
        self.expect.mkdir()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, rel, text):
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def shard(self, line, runner=None, status="ok", reason=None):
        """Write one per-job file the way scripts/matrix.sh does (kvmcheck.matrix.write_shard)."""
        col = mx.Column(line=line, status=status, reason=reason, timings={"boot_s": 4.2},
                        runner=parse_run(runner, "test") if runner is not None else None)
        path = self.dir / f"matrix-{line}.json"
        mx.write_shard(col, str(path))
        return path

    def merge(self, *files, expect=None):
        out = self.dir / "out"
        return subprocess.run([str(MATRIX), "--merge", "--out", str(out), "--expect",
                               str(expect or self.expect), *map(str, files)],
                              capture_output=True, text=True, timeout=60), out


class TestExpect(Base):
    def test_exact_beats_glob_and_include(self):
        self.write("expect/common.txt", "x86/mixed:* FAIL shared rule\n")
        self.write("expect/old.txt", "# comment\nx86/mixed:new SKIP needs 7.x\ninclude common.txt\n"
                   "x86/feature SKIP|PASS hardware decides\n")
        e = ex.Expect.load(str(self.expect), "old")
        self.assertEqual(e.lookup("x86/mixed:new"), (("SKIP",), "needs 7.x"))
        self.assertEqual(e.lookup("x86/mixed:old"), (("FAIL",), "shared rule"))
        self.assertEqual(e.lookup("x86/feature"), (("SKIP", "PASS"), "hardware decides"))
        # A subtest glob never judges the test itself, nor a test rule a subtest name.
        self.assertIsNone(e.lookup("x86/mixed"))
        self.assertIsNone(e.lookup("x86/ucall"))

    def test_rule_without_reason_is_refused(self):
        self.write("expect/old.txt", "x86/ucall SKIP\n")
        with self.assertRaisesRegex(InputError, r"old.txt:1: .*needs its reason"):
            ex.Expect.load(str(self.expect), "old")

    def test_unknown_verdict_is_refused(self):
        self.write("expect/old.txt", "x86/ucall MAYBE because\n")
        with self.assertRaisesRegex(InputError, "unknown verdict MAYBE"):
            ex.Expect.load(str(self.expect), "old")

    def test_shipped_expect_files_parse(self):
        for f in (TOP / "expect").glob("*.txt"):
            e = ex.Expect.load(str(TOP / "expect"), f.stem)
            self.assertTrue(all(r.reason for r in e.rules), f)


class TestEvaluate(Base):
    def test_subtest_rules_derive_the_test_verdict(self):
        self.write("expect/old.txt", "x86/feature:* SKIP predates FEATURE\nx86/mixed:new SKIP needs 7.x\n")
        col = ex.judge_column("old", "ok", None, parse_run(OLD, "old"),
                              ex.Expect.load(str(self.expect), "old"))
        self.assertEqual(col.unexpected, [])
        # 1 + 1 passing subtests; 2 + 1 expected skips
        self.assertEqual(col.counts, {"passed": 2, "failed": 0, "skipped": 3})

    def test_unlisted_defaults_to_pass_and_each_miss_is_named(self):
        col = ex.judge_column("new", "ok", None, parse_run(NEW, "new"),
                              ex.Expect.load(str(self.expect), "new"))
        self.assertEqual(col.counts["failed"], 1)
        self.assertTrue(any("x86/mixed:new: FAIL, expected PASS" in u for u in col.unexpected))
        self.assertTrue(any(u.startswith("new: x86/mixed: FAIL") for u in col.unexpected))

    def test_unexpected_pass_is_reported(self):
        self.write("expect/new.txt", "x86/feature SKIP predates FEATURE\n")
        col = ex.judge_column("new", "ok", None, parse_run(NEW, "new"),
                              ex.Expect.load(str(self.expect), "new"))
        self.assertTrue(any("x86/feature:a: PASS, expected SKIP" in u for u in col.unexpected))


    def flaky_run(self, failed_runs, runs=4):
        run = runner_json("7.2", {"x86/mixed": (
            "FAIL" if failed_runs else "PASS", "flaky" if failed_runs else None,
            {"old": ("PASS", None), "new": ("FAIL" if failed_runs else "PASS", None)})})
        run["tests"][0].update(runs=runs, failed_runs=failed_runs)
        return parse_run(run, "flaky")

    def test_flaky_rule_excuses_a_test_that_failed_some_runs_only(self):
        self.write("expect/new.txt", "x86/mixed FLAKY https://bugs.example/1 loses a race under TCG\n")
        rules = ex.Expect.load(str(self.expect), "new")
        for failed, ok in ((0, True), (1, True), (3, True), (4, False)):
            col = ex.judge_column("new", "ok", None, self.flaky_run(failed), rules)
            self.assertEqual(col.as_expected, ok, (failed, col.unexpected))

    def test_flaky_names_a_test_not_a_subtest(self):
        self.write("expect/new.txt", "x86/mixed:new FLAKY https://bugs.example/1 races\n")
        with self.assertRaisesRegex(InputError, "FLAKY names a test"):
            ex.Expect.load(str(self.expect), "new")


class TestLogs(Base):
    def test_old_runs_of_a_line_are_pruned_others_kept(self):
        root = Path(self.tmp.name) / "logs"
        root.mkdir()
        olds = []
        for i in range(8):
            d = Path(tempfile.mkdtemp(dir=root, prefix="sid+kvm_amd.npt=0."))
            os.utime(d, (i, i))
            olds.append(d)
        other = Path(tempfile.mkdtemp(dir=root, prefix="sid."))
        os.utime(other, (0, 0))
        current = Path(tempfile.mkdtemp(dir=root, prefix="sid+kvm_amd.npt=0."))
        mx.prune_logs(str(root), "sid+kvm_amd.npt=0", str(current))
        self.assertTrue(current.exists() and other.exists())
        self.assertEqual([d.exists() for d in olds], [False] * 4 + [True] * 4)


class TestMerge(Base):
    def test_two_shards_make_one_table_json_and_junit(self):
        self.write("expect/old.txt", "x86/feature:* SKIP predates FEATURE\nx86/mixed:new SKIP needs 7.x\n")
        self.write("expect/new.txt", "x86/mixed:new FAIL known bug, fix pending\n"
                   "x86/mixed FAIL follows from its subtest\n")
        p, out = self.merge(self.shard("old", OLD), self.shard("new", NEW))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = p.stdout.splitlines()
        self.assertRegex(lines[0], r"^test\s+old\s+new$")
        self.assertRegex(p.stdout, r"x86/feature\s+SKIP= \[\d\]\s+PASS\n")
        self.assertRegex(p.stdout, r"x86/mixed\s+PASS 1/2= \[\d\]\s+FAIL= \[\d\]")
        self.assertIn("known bug, fix pending", p.stdout)
        self.assertEqual(lines[-1], "6 passed, 0 failed, 4 skipped")
        data = json.loads((out / "matrix.json").read_text())
        self.assertTrue(data["complete"])
        self.assertEqual([k["line"] for k in data["kernels"]], ["old", "new"])
        self.assertEqual(data["kernels"][0]["timings"], {"boot_s": 4.2})
        suites = ET.parse(out / "matrix-junit.xml").getroot().findall("testsuite")
        self.assertEqual([s.get("name") for s in suites], ["kvmcheck.old", "kvmcheck.new"])
        self.assertEqual([s.get("failures") for s in suites], ["0", "0"])
        self.assertEqual([s.get("skipped") for s in suites], ["1", "1"])
        # A merged matrix.json is itself mergeable (columns keep their raw results).
        p2, _ = self.merge(out / "matrix.json")
        self.assertEqual(p2.returncode, 0, p2.stderr)

    def test_unexpected_verdict_fails_and_is_named(self):
        p, out = self.merge(self.shard("new", NEW))
        self.assertEqual(p.returncode, 1)
        self.assertIn("new: x86/mixed:new: FAIL, expected PASS (guest assert at x.c:1)", p.stdout)
        self.assertEqual(p.stdout.splitlines()[-1], "4 passed, 1 failed, 0 skipped")
        suite = ET.parse(out / "matrix-junit.xml").getroot().find("testsuite")
        self.assertEqual(suite.get("failures"), "1")

    def test_boot_error_column_has_its_reason_and_the_table_says_incomplete(self):
        p, out = self.merge(self.shard("old", OLD), self.shard("bad", status="BOOT-ERROR",
                                                              reason="kernel panic: VFS: Unable to mount root"))
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stdout, r"x86/ucall\s+PASS\s+BOOT-ERROR! \[(\d+)\]")
        self.assertIn("bad: BOOT-ERROR: kernel panic: VFS: Unable to mount root", p.stdout)
        self.assertIn("INCOMPLETE: not tested: bad", p.stdout)
        self.assertFalse(json.loads((out / "matrix.json").read_text())["complete"])

    def test_expected_boot_error(self):
        self.write("expect/bad.txt", "* BOOT-ERROR this config has no serial console\n")
        self.write("expect/old.txt", "x86/feature:* SKIP predates FEATURE\nx86/mixed:new SKIP needs 7.x\n")
        p, _ = self.merge(self.shard("old", OLD),
                          self.shard("bad", status="BOOT-ERROR", reason="no output"))
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(p.stdout.splitlines()[-1], "2 passed, 0 failed, 4 skipped")

    def test_nothing_tested_is_exit_3_even_when_expected(self):
        # Exit 0 is a claim that something was tested: a table of expected BOOT-ERRORs is not.
        self.write("expect/bad.txt", "* BOOT-ERROR this config has no serial console\n")
        p, _ = self.merge(self.shard("bad", status="BOOT-ERROR", reason="no output"))
        self.assertEqual(p.returncode, 3, p.stdout)
        self.assertIn("nothing was tested", p.stdout)

    def test_bad_merge_inputs_are_named(self):
        junk = self.write("junk.json", "{not json")
        p, _ = self.merge(junk)
        self.assertEqual(p.returncode, 2)
        self.assertIn("junk.json: not JSON", p.stderr)
        other = self.write("other.json", json.dumps({"kernel": "x", "tests": []}))
        p, _ = self.merge(other)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a kvmcheck matrix file", p.stderr)
        a = self.shard("old", OLD)
        p, _ = self.merge(a, a)
        self.assertEqual(p.returncode, 2)
        self.assertIn("kernel line old appears twice", p.stderr)
        p, _ = self.merge(self.dir / "missing.json")
        self.assertEqual(p.returncode, 2)
        self.assertIn("missing.json", p.stderr)

    def test_ok_column_without_runner_results_is_refused(self):
        f = self.write("matrix-x.json", json.dumps({"schema": 1, "kernels": [
            {"line": "x", "status": "ok", "runner": None}]}))
        p, _ = self.merge(f)
        self.assertEqual(p.returncode, 2)
        self.assertIn("kernels[0].runner: line x says ok but has no runner results", p.stderr)


class TestBadInput(Base):
    """scripts/matrix.sh refuses bad kernel lines by name, with exit 2, before booting anything."""

    def matrix(self, *args):
        return subprocess.run([str(MATRIX), "--out", str(self.dir / "out"), *args],
                              capture_output=True, text=True, timeout=60)

    def test_unknown_line(self):
        p = self.matrix("sid", "buster")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown kernel line 'buster'", p.stderr)
        self.assertNotIn("booting", p.stderr)

    def test_missing_image(self):
        p = self.matrix(str(self.dir / "nope" / "bzImage"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("bzImage: no such file", p.stderr)

    def test_corrupt_image(self):
        img = self.write("bzImage", "this is not a kernel\n" * 100)
        p = self.matrix(f"{img}")
        self.assertEqual(p.returncode, 2)
        self.assertIn("neither an x86 bzImage nor a RISC-V Image", p.stderr)

    def test_modules_for_another_kernel(self):
        # A minimal bzImage: boot flag at 0x1fe, "HdrS" and protocol 2.15 at 0x202, the
        # kernel_version pointer at 0x20e, and as long as its (default) 4 setup sectors say.
        img = bytearray(0xa00)
        img[0x1fe:0x200] = b"\x55\xaa"
        img[0x202:0x206] = b"HdrS"
        img[0x206:0x208] = (0x020f).to_bytes(2, "little")
        img[0x20e:0x210] = (0x300).to_bytes(2, "little")
        img[0x500:0x520] = b"6.99.0-test (root@x) #1 SMP\0".ljust(0x20, b"\0")
        (self.dir / "bzImage").write_bytes(bytes(img))
        (self.dir / "mods/lib/modules/6.1.0-50-amd64/kernel").mkdir(parents=True)
        p = self.matrix(f"{self.dir}/bzImage:{self.dir}/mods")
        self.assertEqual(p.returncode, 2)
        self.assertIn("holds modules for 6.1.0-50-amd64 but", p.stderr)
        self.assertIn("is 6.99.0-test", p.stderr)

    def test_bad_build_tree(self):
        p = self.matrix(f"build:{self.dir}")
        self.assertEqual(p.returncode, 2)
        self.assertIn("is not a kernel tree", p.stderr)

    def test_host_without_kvm(self):
        if os.path.exists("/dev/kvm"):
            self.skipTest("/dev/kvm exists here")
        p = self.matrix("host")
        self.assertEqual(p.returncode, 2)
        self.assertIn("kernel line host: no usable /dev/kvm", p.stderr)

    def test_duplicate_line(self):
        p = self.matrix("sid", "sid")
        self.assertEqual(p.returncode, 2)
        self.assertIn("kernel line sid given twice", p.stderr)

    def test_merge_without_files(self):
        p = self.matrix("--merge")
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main()
