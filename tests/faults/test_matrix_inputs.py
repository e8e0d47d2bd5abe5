# SPDX-License-Identifier: GPL-2.0-only
"""Issue 10, the matrix and the bisect step: what they are handed (shards, kernel lines, temp
paths) and what they say back. All synthetic: no kernel boots here (make check's matrix stage
boots bookworm and sid, test_bisect a synthetic history).

Each case asserts the message names the cause, the documented exit status, and that nothing is
left behind: no traceback, no half-written results, no temporary files."""
import json
import subprocess
import sys
import tempfile
import threading
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path
from unittest import mock

import faultlib

sys.path.insert(0, str(faultlib.SCRIPTS))
from kvmcheck import kernels  # noqa: E402
from kvmcheck import matrix as mx  # noqa: E402
from kvmcheck import suite  # noqa: E402

MATRIX = faultlib.SCRIPTS / "matrix.sh"
STEP = faultlib.SCRIPTS / "bisect-step.sh"


def runner(tests):
    """A runner JSON: tests = [(name, verdict, reason, [(sub, verdict, reason)])]."""
    return {"kernel": "7.2.13+deb14-amd64", "machine": "x86_64", "target": "qemu:sid",
            "summary": {}, "tests": [
                {"name": n, "number": i, "verdict": v, "reason": r, "duration_s": 0.5,
                 "exit_status": 0, "patch": None,
                 "subtests": [{"name": s, "verdict": sv, "reason": sr} for s, sv, sr in subs]}
                for i, (n, v, r, subs) in enumerate(tests, 1)]}


GOOD = runner([("common/ucall", "PASS", None, [("sync", "PASS", None)]),
               ("x86/pio_mmio", "PASS", None, [("pio_out", "PASS", None)]),
               ("x86/memslot", "PASS", None, []),
               ("x86/exceptions", "PASS", None, [("ud", "PASS", None)])])


def shard(line, run, status="ok", reason=None):
    return {"schema": 1, "kernels": [{"line": line, "label": line, "target": f"qemu:{line}",
                                      "status": status, "reason": reason, "kernel": "7.2",
                                      "version": "7.2", "timings": {}, "runner": run}]}


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="faults-matrix.")
        self.dir = Path(self.tmp.name)
        self.expect = self.dir / "expect"
        self.expect.mkdir()
        self.out = self.dir / "out"
        quiet = mock.patch.object(mx, "say")      # in-process runs: their progress is noise here
        quiet.start()
        self.addCleanup(quiet.stop)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        p = self.dir / name
        p.write_text(data if isinstance(data, str) else json.dumps(data))
        return p

    def matrix(self, *args, env=None):
        return faultlib.run([MATRIX, "--out", self.out, "--expect", self.expect, *args],
                            env=env, timeout=120)

    def assert_refused(self, rc, err, *needles):
        self.assertEqual(rc, 2, err)
        for n in needles:
            self.assertIn(n, err)
        self.assertNotIn("Traceback", err)
        self.assertNotIn("booting", err)
        # Refused means nothing written: no table files, no shards, no temporaries.
        left = sorted(p.name for p in self.out.iterdir()) if self.out.exists() else []
        self.assertEqual(left, [], f"left behind in --out: {left}")


class TestMergeRefusesBadShards(Base):
    """Case 5: a shard is validated against the schema, refused naming file and field (exit 2)."""

    def test_tests_null(self):
        bad = shard("sid", dict(GOOD, tests=None))
        f = self.write("matrix-sid.json", bad)
        rc, _, err = self.matrix("--merge", f)
        self.assert_refused(rc, err, f"{f}: kernels[0].runner.tests: null is not a list")

    def test_verdict_42(self):
        run = json.loads(json.dumps(GOOD))
        run["tests"][3]["verdict"] = 42
        f = self.write("matrix-sid.json", shard("sid", run))
        rc, _, err = self.matrix("--merge", f)
        self.assert_refused(rc, err, f"{f}: kernels[0].runner.tests[3].verdict: 42 is not a verdict")

    def test_subtest_verdict_unknown(self):
        run = json.loads(json.dumps(GOOD))
        run["tests"][0]["subtests"][0]["verdict"] = "OK"
        f = self.write("matrix-sid.json", shard("sid", run))
        rc, _, err = self.matrix("--merge", f)
        self.assert_refused(rc, err, "kernels[0].runner.tests[0].subtests[0].verdict: \"OK\" is not a verdict")

    def test_missing_fields(self):
        run = json.loads(json.dumps(GOOD))
        del run["tests"][1]["name"]
        f = self.write("matrix-sid.json", shard("sid", run))
        rc, _, err = self.matrix("--merge", f)
        self.assert_refused(rc, err, f"{f}: kernels[0].runner.tests[1]: missing field 'name'")
        col = shard("sid", GOOD)
        del col["kernels"][0]["status"]
        f = self.write("matrix-sid.json", col)
        rc, _, err = self.matrix("--merge", f)
        self.assert_refused(rc, err, f"{f}: kernels[0]: missing field 'status'")
        f = self.write("matrix-sid.json", shard("sid", None, status="BOOT-ERROR"))
        rc, _, err = self.matrix("--merge", f)
        self.assert_refused(rc, err, f"{f}: kernels[0].reason: a BOOT-ERROR column must say why")

    def test_not_json(self):
        f = self.write("matrix-sid.json", '{"schema": 1, "kernels": [')
        rc, _, err = self.matrix("--merge", f)
        self.assert_refused(rc, err, f"{f}: not JSON")
        f = self.write("matrix-sid.json", b"\xff\xfe".decode("latin-1"))
        rc, _, err = self.matrix("--merge", f)
        self.assert_refused(rc, err, f"{f}: not JSON")
        rc, _, err = self.matrix("--merge", self.dir)
        self.assert_refused(rc, err, f"{self.dir}: Is a directory")

    def test_one_bad_shard_refuses_the_whole_merge(self):
        good = self.write("matrix-bookworm.json", shard("bookworm", GOOD))
        bad = self.write("matrix-sid.json", shard("sid", dict(GOOD, tests=None)))
        rc, _, err = self.matrix("--merge", good, bad)
        self.assert_refused(rc, err, f"{bad}: kernels[0].runner.tests")


class TestCrashCell(Base):
    """Case 7, the matrix half: a kernel that crashed under a test is that test's CRASH cell
    with the splat as its reason, not a BOOT-ERROR column."""

    SPLAT = ("kernel crashed: refcount_t: underflow; use-after-free. "
             "WARNING: CPU: 0 PID: 91 at lib/refcount.c:28 refcount_warn_saturate")

    def crashed(self):
        run = json.loads(json.dumps(GOOD))
        run["tests"].append({"name": "vhost/vhost_task_lifetime", "number": 5, "verdict": "CRASH",
                             "reason": self.SPLAT, "duration_s": 2.0, "exit_status": None,
                             "patch": None, "subtests": [
                                 {"name": "create", "verdict": "PASS", "reason": None}]})
        return run

    def test_shard_with_crash_renders_as_crash_with_its_reason(self):
        f = self.write("matrix-after.json", shard("after", self.crashed()))
        rc, out, err = self.matrix("--merge", f)
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r"vhost/vhost_task_lifetime\s+CRASH! \[1\]")
        self.assertRegex(out, r"common/ucall\s+PASS")
        self.assertIn("[1] after vhost/vhost_task_lifetime: " + self.SPLAT, out)
        self.assertNotIn("BOOT-ERROR", out)
        self.assertNotIn("INCOMPLETE", out)
        case = [c for c in ET.parse(self.out / "matrix-junit.xml").iter("testcase")
                if c.get("name") == "vhost/vhost_task_lifetime"][0]
        self.assertIn("refcount_t: underflow", case.find("failure").get("message"))

    def test_run_line_keeps_results_of_a_crashed_kernel(self):
        """What the suite runner hands back after a crash (rc 1, some status, a runner JSON
        with the CRASH) becomes an ok column with the CRASH cell."""
        rj = self.write("runner.json", self.crashed())
        line = kernels.Line("after", "custom", "/x/bzImage", "x86_64")
        kdir = kernels.KernelDir("/x", "7.2", "x86_64", "7.2", "custom", "/x/vmlinuz", None)
        for status in ("ok", "BOOT-ERROR"):
            ret = suite.SuiteRun(1, status, "kernel crashed", str(rj), {"column_s": 1.0}, "")
            with mock.patch.object(kernels, "materialize", return_value=kdir), \
                    mock.patch.object(mx, "run_suite", return_value=ret):
                col = mx.run_line(line, mx.Options(), {"x86_64": mx.Build("x86_64", "/b")},
                                  str(self.out))
            self.assertEqual(col.status, "ok")
            self.assertEqual(col.runner.test("vhost/vhost_task_lifetime").verdict, "CRASH")

    def test_nothing_tested_is_a_boot_error(self):
        rj = self.write("runner.json", dict(GOOD, tests=[]))
        line = kernels.Line("after", "custom", "/x/bzImage", "x86_64")
        kdir = kernels.KernelDir("/x", "7.2", "x86_64", "7.2", "custom", "/x/vmlinuz", None)
        ret = suite.SuiteRun(3, "BOOT-ERROR", "the guest kernel panicked before the first test",
                          str(rj), {"column_s": 1.0}, "")
        with mock.patch.object(kernels, "materialize", return_value=kdir), \
                mock.patch.object(mx, "run_suite", return_value=ret):
            col = mx.run_line(line, mx.Options(), {"x86_64": mx.Build("x86_64", "/b")},
                              str(self.out))
        self.assertEqual(col.status, "BOOT-ERROR")
        self.assertIn("panicked before the first test", col.reason)


class TestLinesRefusedBeforeBoot(Base):
    """Case 5: a truncated image (through kernels.resolve) is refused before anything boots."""

    def bzimage(self, path, cut):
        # setup_sects 4 and syssize 0x100 paragraphs: the header says 5*512 + 4096 bytes.
        img = bytearray(5 * 512 + 4096)
        img[0x1f1] = 4
        img[0x1f4:0x1f8] = (0x100).to_bytes(4, "little")
        img[0x1fe:0x200] = b"\x55\xaa"
        img[0x202:0x206] = b"HdrS"
        img[0x206:0x208] = (0x020f).to_bytes(2, "little")
        img[0x20e:0x210] = (0x300).to_bytes(2, "little")
        img[0x500:0x520] = b"6.99.0-test (root@x) #1 SMP\0".ljust(0x20, b"\0")
        path.write_bytes(bytes(img[:len(img) - cut]))
        return path

    def test_truncated_image(self):
        img = self.bzimage(self.dir / "bzImage", cut=1000)
        cache = self.dir / "cache"
        rc, out, err = self.matrix("bookworm", f"mine={img}", env={"XDG_CACHE_HOME": str(cache)})
        self.assert_refused(rc, err, f"kernel line mine={img}", "truncated")
        # Refused before bookworm was even fetched.
        self.assertFalse((cache / "kvmcheck" / "kernels").exists())

    def test_bad_lines_named(self):
        rc, _, err = self.matrix("sid", "buster")
        self.assert_refused(rc, err, "unknown kernel line 'buster'")
        rc, _, err = self.matrix("sid", "unstable")
        self.assert_refused(rc, err, "kernel line unstable: a second line named sid")
        rc, _, err = self.matrix("-j", "0", "sid")
        self.assert_refused(rc, err, "-j wants a positive number")

    def test_pattern_matching_nothing_refused_before_boot(self):
        if not (faultlib.BUILD / "tests.list").exists():
            self.skipTest(f"no build in {faultlib.BUILD}")
        cache = self.dir / "cache"
        rc, _, err = self.matrix("--build-dir", faultlib.BUILD, "-t", "x86/no_such_test", "sid",
                                 env={"XDG_CACHE_HOME": str(cache)})
        self.assert_refused(rc, err, "x86/no_such_test", "matches no test")
        self.assertFalse((cache / "kvmcheck" / "kernels").exists())

    def test_pattern_of_one_arch_leaves_the_other_not_run(self):
        if not (faultlib.BUILD / "tests.list").exists():
            self.skipTest(f"no build in {faultlib.BUILD}")
        riscv = self.dir / "build-riscv64"
        riscv.mkdir()
        (riscv / "tests.list").write_text("common/ucall\nriscv/sbi\n")
        (riscv / "kvmcheck-run").write_text("#!/bin/sh\nexit 0\n")
        (riscv / "kvmcheck-run").chmod(0o755)
        builds = {"x86_64": mx.Build("x86_64", str(faultlib.BUILD)),
                  "riscv64": mx.Build("riscv64", str(riscv))}
        mx.check_selection(builds, ["-t", "x86/*"])
        self.assertIsNone(builds["x86_64"].missing)
        # Whether the riscv64 build is listed through qemu-user or its tests.list is suite's
        # business; the line is not run, and says so, instead of refusing the whole matrix.
        self.assertTrue((builds["riscv64"].missing or "").startswith("nothing to run: "),
                        builds["riscv64"].missing)

    def test_broken_expect_file_refused_before_boot(self):
        (self.expect / "sid.txt").write_text("x86/ucall SKIP\n")
        rc, _, err = self.matrix("sid")
        self.assert_refused(rc, err, "sid.txt:1: ", "needs its reason")


class TestParallelSafety(Base):
    """Two matrices on one --out: per-run log directories, every results file atomic."""

    def test_logs_have_a_directory_per_run(self):
        line = kernels.Line("sid", "debian", "sid", "x86_64")
        kdir = kernels.KernelDir("/x", "7.2", "x86_64", "7.2", "sid", "/x/vmlinuz", None)
        rj = self.write("runner.json", GOOD)
        seen = []

        def fake(kd, ln, build, args, logdir, timeout):
            (Path(logdir) / "tap.log").write_text("ok 1\n")
            seen.append(logdir)
            return suite.SuiteRun(0, "ok", None, str(rj), {"column_s": 1.0}, logdir)
        with mock.patch.object(kernels, "materialize", return_value=kdir), \
                mock.patch.object(mx, "run_suite", side_effect=fake):
            for _ in range(2):
                mx.run_line(line, mx.Options(), {"x86_64": mx.Build("x86_64", "/b")}, str(self.out))
        self.assertEqual(len(set(seen)), 2)
        self.assertTrue(all((Path(d) / "tap.log").exists() for d in seen), "a run removed another's logs")

    def test_concurrent_merges_never_show_a_partial_file(self):
        files = [self.write(f"matrix-{k}.json", shard(k, GOOD)) for k in ("bookworm", "sid")]
        stop = threading.Event()
        bad = []

        def reader():
            while not stop.is_set():
                for name in ("matrix.json", "matrix-junit.xml"):
                    p = self.out / name
                    try:
                        data = p.read_text()
                    except FileNotFoundError:
                        continue
                    try:
                        json.loads(data) if name.endswith(".json") else ET.fromstring(data)
                    except (ValueError, ET.ParseError) as e:
                        bad.append(f"{name}: {e}")
        t = threading.Thread(target=reader)
        t.start()
        try:
            procs = [subprocess.Popen([str(MATRIX), "--out", str(self.out), "--expect",
                                       str(self.expect), "--merge", *map(str, files)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for _ in range(4)]
            rcs = [p.wait(timeout=120) for p in procs]
        finally:
            stop.set()
            t.join()
        self.assertEqual(rcs, [0] * 4)
        self.assertEqual(bad, [])
        self.assertEqual(sorted(p.name for p in self.out.iterdir()),
                         ["history", "matrix-junit.xml", "matrix.json", "report.html"],
                         "temporaries left behind")


class TestBuildsAndHelp(Base):
    """Case 11: the default matrix has its riscv64 line; a missing build is made, or the line
    says NOT-RUN with the exact command; --help prints the whole header."""

    def test_default_lines_have_riscv64(self):
        self.assertIn("sid-riscv64", mx.default_lines())

    def test_no_cross_compiler_and_not_root_is_not_run_with_the_command(self):
        with mock.patch("shutil.which", return_value=None), \
                mock.patch("os.geteuid", return_value=1000):
            b = mx.ensure_build("riscv64", str(self.dir / "build-riscv64"))
        self.assertIn("apt-get install gcc-riscv64-linux-gnu", b.missing)
        self.assertIn("make ARCH=riscv64 CROSS_COMPILE=riscv64-linux-gnu-", b.missing)
        line = kernels.Line("sid-riscv64", "debian", "sid", "riscv64")
        col = mx.run_line(line, mx.Options(), {"riscv64": b}, str(self.out))
        self.assertEqual((col.status, col.reason), ("NOT-RUN", b.missing))

    def test_help_prints_the_whole_header(self):
        rc, out, err = faultlib.run([MATRIX, "--help"])
        self.assertEqual(rc, 0)
        self.assertIn("130 interrupted.", out)
        self.assertIn("--build-dir", out)
        rc, out, err = faultlib.run([STEP, "--help"])
        self.assertEqual(rc, 255)
        self.assertIn("KVMCHECK_BUILD_DIR", err)


class TestBisectTempNames(unittest.TestCase):
    """Case 6: no predictable temporary names; a symlink planted at one is never followed."""

    def test_planted_symlinks_are_not_clobbered(self):
        with tempfile.TemporaryDirectory(prefix="faults-bisect.") as d:
            d = Path(d)
            victim = d / "victim"
            victim.write_text("precious\n")
            tmp = d / "tmp"
            tmp.mkdir()
            tree = d / "tree"
            tree.mkdir()
            # The old step wrote ${TMPDIR}/kvmcheck-bisect-list.$$: a launcher plants a symlink
            # at exactly that name (its own pid, which the exec'd step keeps), then execs it.
            plant = ("import os, sys\n"
                     "os.symlink(sys.argv[1], os.path.join(sys.argv[2], "
                     "f'kvmcheck-bisect-list.{os.getpid()}'))\n"
                     "os.execv(sys.argv[3], sys.argv[3:])\n")
            for args in (["common/ucall"], ["x86/no_such_test"]):
                before = {p.name for p in tmp.iterdir()}
                rc, _, err = faultlib.run([sys.executable, "-c", plant, victim, tmp, STEP, *args],
                                          env={"TMPDIR": str(tmp)}, cwd=tree, timeout=120)
                self.assertEqual(rc, 255, err)
                self.assertNotIn("Traceback", err)
                planted = {p.name for p in tmp.iterdir()} - before
                self.assertEqual(len(planted), 1, "the planted link was removed or followed")
            self.assertEqual(victim.read_text(), "precious\n")
            left = [p.name for p in tmp.iterdir() if not p.name.startswith("kvmcheck-bisect-list.")]
            self.assertEqual(left, [], "left behind in TMPDIR")

    def test_sources_use_no_predictable_names(self):
        for f in (faultlib.SCRIPTS / "bisect-step.sh", faultlib.SCRIPTS / "matrix.sh"):
            text = f.read_text()
            self.assertNotIn("$$", text, f)
            self.assertNotIn("/tmp/", text, f)
        for f in ("bisect.py", "matrix.py", "expect.py", "results.py"):
            text = (faultlib.SCRIPTS / "kvmcheck" / f).read_text()
            self.assertNotIn("getpid", text, f)
            self.assertNotIn('".tmp"', text, f)
            self.assertNotIn("shell=True", text, f)
        self.assertIn("tempfile.mkdtemp(", (faultlib.SCRIPTS / "kvmcheck" / "bisect.py").read_text())


if __name__ == "__main__":
    unittest.main()
