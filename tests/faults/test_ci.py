# SPDX-License-Identifier: GPL-2.0-only
"""Issue 13, kernel CI engines: the kselftest install tree run by the kernel's own
run_kselftest.sh (from Debian's linux-source package, here and inside qemu:sid), KCIDB output
refused up front when it cannot be written, a module-parameter line on sid (the guest loads kvm_amd
with it, the column and the results name it), the CI workflows' YAML and the commands they call,
and the LAVA job against the dispatcher's own schema.

Two QEMU boots in all (the kselftest run in the guest and the module-parameter line); the rest is
synthetic. Each case asserts the message, the exit status and that nothing is left behind."""
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import faultlib

sys.path.insert(0, str(faultlib.SCRIPTS))
from kvmcheck import kernels  # noqa: E402
from kvmcheck.util import InputError  # noqa: E402

TOP = faultlib.TOP
BUILD = faultlib.BUILD
YAMLLINT = "{extends: default, rules: {line-length: {max: 110}, truthy: {check-keys: false}, " \
           "document-start: disable}}"
CI_FILES = [TOP / "ci/examples/github/kvmcheck-matrix.yml", TOP / "ci/examples/gitlab-ci.yml"]
LAVA_JOB = TOP / "lava/kvmcheck-kselftest.yaml"


def apt_install(*pkgs):
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *pkgs],
                       capture_output=True, timeout=900, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


# What the code under test makes in $TMPDIR: other runs on the machine make their own.
OURS = ("kvmcheck-initramfs.", "kvmcheck-list.", "kvmcheck-kcidb.", "kvmcheck-test-ci")


def left_behind(before):
    return {n for n in faultlib.tmp_entries() - before if n.startswith(OURS)}


def installed_tree(dest):
    """make install of BUILD into DEST with the kernel's runner from Debian's linux-source."""
    rc, out, err = faultlib.run(["make", "-C", TOP, "-s", f"O={BUILD}", "install",
                                 f"INSTALL_PATH={dest}"], timeout=1800)
    if rc != 0 or "installed" not in err:
        raise AssertionError(f"make install exited {rc}: {out}{err}")
    return dest


class KselftestHere(unittest.TestCase):
    """The installed tree under Debian linux-source's run_kselftest.sh on this machine."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="kvmcheck-test-ci.")
        cls.tree = installed_tree(Path(cls.tmp.name) / "ks")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def ks(self, *args):
        return faultlib.run([self.tree / "run_kselftest.sh", *args], timeout=600, cwd=self.tree)

    def test_runner_is_the_kernels(self):
        text = (self.tree / "kselftest" / "runner.sh").read_text()
        self.assertIn("kselftest_default_timeout", text)
        self.assertIn("Run installed kselftest tests", (self.tree / "run_kselftest.sh").read_text())

    def test_list(self):
        rc, out, _ = self.ks("-l")
        self.assertEqual(rc, 0)
        self.assertIn("kvmcheck/x86:directed_eoi", out.split())
        self.assertIn("kvmcheck/common:ucall", out.split())

    def test_one_test_and_summary_log(self):
        rc, out, err = self.ks("-s", "-t", "kvmcheck/common:ucall")
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"(?m)^ok 1 selftests: kvmcheck/common: ucall")
        self.assertRegex((self.tree / "output.log").read_text(), r"(?m)^# timeout set to \d+")
        (self.tree / "output.log").unlink()

    def test_collection_and_per_test_log(self):
        logs = self.tree.parent / "logs"
        rc, out, err = self.ks("-p", logs, "-c", "kvmcheck/vhost")
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"(?m)^ok 1 selftests: kvmcheck/vhost: vhost_task_lifetime")
        self.assertIn("TAP version 13", (logs / "vhost_task_lifetime").read_text())
        shutil.rmtree(logs)

    def test_unknown_test_refused(self):
        rc, _, err = self.ks("-t", "kvmcheck/x86:no_such_test")
        self.assertEqual(rc, 1)
        self.assertIn("No such test 'kvmcheck/x86:no_such_test'", err)

    def test_gen_tar_and_bad_runner_dir(self):
        d = Path(self.tmp.name)
        rc, out, err = faultlib.run(["make", "-C", TOP, "-s", f"O={BUILD}", "gen_tar",
                                     f"INSTALL_PATH={d / 'tar'}", "FORMAT=.xz"], timeout=1800)
        self.assertEqual(rc, 0, out + err)
        self.assertTrue((d / "tar/kselftest-packages/kselftest.tar.xz").is_file())
        rc, out, err = faultlib.run(["make", "-C", TOP, "-s", f"O={BUILD}", "install",
                                     f"INSTALL_PATH={d / 'bad'}", f"KSELFTEST_DIR={d}"])
        self.assertNotEqual(rc, 0)
        self.assertIn("no kselftest runner there", err)
        self.assertFalse((d / "bad").exists())
        self.assertEqual([p.name for p in d.iterdir() if p.name.startswith(".")], [])


class KselftestInQemu(unittest.TestCase):
    """Boot 1 of 2: the kernel's run_kselftest.sh runs the installed tree inside qemu:sid. With
    Debian's lava-dispatcher (installed when root), LAVA runs it: lava/prepare.sh and
    lava/kvmcheck-kselftest.yaml on lava/qemu-device.yaml, each kselftest a LAVA test case.
    Without it, the tree stands where guest-init.sh expects a build (/kvmcheck), with
    run_kselftest.sh as its kvmcheck-run, and qemu-run.sh boots it."""

    def test_sid(self):
        if not shutil.which("lava-run"):
            apt_install("lava-dispatcher")
        before = faultlib.tmp_entries()
        with tempfile.TemporaryDirectory(prefix="kvmcheck-test-ci-qemu.") as t:
            t = Path(t)
            if shutil.which("lava-run"):
                self.lava(t)
            else:
                self.direct(t)
        self.assertEqual(left_behind(before), set())
        self.assertEqual(faultlib.stray_processes("qemu-system-x86_64 .*kvmcheck-test-ci"), [])

    def lava(self, t):
        rc, out, err = faultlib.run([TOP / "lava/prepare.sh", t / "out", BUILD], timeout=1800)
        self.assertEqual(rc, 0, err[-2000:])
        job = out.strip().splitlines()[-1]
        rc, out, err = faultlib.run(["lava-run", "--device", TOP / "lava/qemu-device.yaml",
                                     "--job-id", f"kvmcheck-{os.getpid()}", "--output-dir",
                                     t / "lava", job], timeout=1800)
        log = out + err
        # lava-run's log lines are not all JSON (YAML tags in numbers): the results by pattern.
        cases = dict(re.findall(r'"lvl": "results", "msg": \{"case": "([^"]+)", '
                                r'"definition": "0_kvmcheck-kselftest"[^}]*"result": "(\w+)"', log))
        sys.stderr.write(f"lava-run: {cases}\n")
        self.assertEqual(rc, 0, log[-3000:] + err[-1000:])
        self.assertIn('"Job finished correctly"', log)
        self.assertEqual(cases.get("kvmcheck_common_ucall"), "pass", cases)
        self.assertEqual(cases.get("kvmcheck_x86_directed_eoi"), "pass", cases)
        self.assertNotIn("fail", cases.values(), cases)

    def direct(self, t):
        tree = installed_tree(t / "ks")
        shim = tree / "kvmcheck-run"
        shim.write_text("#!/bin/sh\ncd /kvmcheck && exec ./run_kselftest.sh \"$@\"\n")
        shim.chmod(0o755)
        rc, kdir, err = faultlib.run([faultlib.SCRIPTS / "kernel-fetch.sh", "sid"], timeout=1800)
        self.assertEqual(rc, 0, err)
        kdir = kdir.strip()
        rc, _, err = faultlib.run([faultlib.SCRIPTS / "initramfs.sh", kdir, tree,
                                   t / "initrd.gz", "--", "-c", "kvmcheck/x86",
                                   "-t", "kvmcheck/common:ucall"], timeout=600)
        self.assertEqual(rc, 0, err)
        rc, out, err = faultlib.run([faultlib.SCRIPTS / "qemu-run.sh", "--timeout", "900",
                                     kdir, t / "initrd.gz"], timeout=1000)
        sys.stderr.write(out)
        self.assertEqual(rc, 0, err[-2000:])
        self.assertRegex(out, r"(?m)^ok 1 selftests: kvmcheck/common: ucall$")
        self.assertRegex(out, r"(?m)^ok \d+ selftests: kvmcheck/x86: directed_eoi$")
        self.assertRegex(out, r"(?m)^# Totals: pass:\d+ fail:0 ")
        self.assertRegex(out, r"(?m)^# kvmcheck-exit: 0$")


class ModuleParams(unittest.TestCase):
    def test_lines_resolved_or_refused(self):
        line = kernels.resolve("sid+kvm_amd.npt=0+kvm.enable_pmu=0")
        self.assertEqual((line.id, line.spec, line.params),
                         ("sid+kvm_amd.npt=0+kvm.enable_pmu=0", "sid",
                          ("kvm_amd.npt=0", "kvm.enable_pmu=0")))
        for bad, why in (("sid+npt", "'npt' is not a module parameter"),
                         ("sid+kvm.x=1;reboot", "is not a module parameter"),
                         ("sid+kvm.x=a b", "is not a module parameter")):
            with self.assertRaisesRegex(InputError, why):
                kernels.resolve(bad)
        if kernels.host_usable():
            with self.assertRaisesRegex(InputError, "host's modules are not reloaded"):
                kernels.resolve("host+kvm.enable_pmu=0")

    def test_bad_line_refused_before_a_boot(self):
        with tempfile.TemporaryDirectory(prefix="kvmcheck-test-ci.") as t:
            rc, out, err = faultlib.run([faultlib.SCRIPTS / "matrix.sh", "--build-dir", BUILD,
                                         "--out", t, "sid+kvm_amd.npt"])
            self.assertEqual(rc, 2, err)
            self.assertIn("'kvm_amd.npt' is not a module parameter", err)
            self.assertEqual(os.listdir(t), [])

    def test_sid_npt_off(self):
        """Boot 2 of 2: the guest loads kvm_amd with npt=0 and says so; the column, its shard
        and the runner's target name the parameter; sid's expect/ holds."""
        before = faultlib.tmp_entries()
        with tempfile.TemporaryDirectory(prefix="kvmcheck-test-ci.") as t:
            rc, out, err = faultlib.run([faultlib.SCRIPTS / "matrix.sh", "--build-dir", BUILD,
                                         "--out", t, "-t", "common/ucall", "-t", "directed_eoi",
                                         "sid+kvm_amd.npt=0"], timeout=1500)
            self.assertEqual(rc, 0, out + err)
            self.assertRegex(out, r"(?m)^test +sid\+kvm_amd\.npt=0$")
            shard = json.loads((Path(t) / "matrix-sid+kvm_amd.npt=0.json").read_text())
            col = shard["kernels"][0]
            self.assertEqual(col["line"], "sid+kvm_amd.npt=0")
            self.assertTrue(col["runner"]["target"].endswith(" kvm_amd.npt=0"), col["runner"])
            raw = "".join(p.read_text() for p in Path(col["logs"]).glob("boot-*/tap.raw"))
            self.assertRegex(raw, r"module parameters: kvm_amd\.npt=0\(N\)")
        self.assertEqual(left_behind(before), set())


class Kcidb(unittest.TestCase):
    def test_unwritable_refused_before_a_boot(self):
        with tempfile.TemporaryDirectory(prefix="kvmcheck-test-ci.") as t:
            for argv in ([TOP / "run_tests.sh", "--build-dir", BUILD, "--target", "qemu:sid",
                          "--kcidb", Path(t) / "no/such/dir/k.json"],
                         [TOP / "run_tests.sh", "--build-dir", BUILD, "--kcidb", t],
                         [faultlib.SCRIPTS / "matrix.sh", "--build-dir", BUILD, "--out", t,
                          "--kcidb", Path(t) / "no/k.json", "sid"]):
                rc, out, err = faultlib.run(argv, timeout=120)
                self.assertEqual(rc, 2, err)
                self.assertRegex(err, r"--kcidb .*: cannot write it")
                self.assertNotIn("booting", err)
            self.assertEqual(os.listdir(t), [])

    def test_corrupt_input_named_no_output(self):
        with tempfile.TemporaryDirectory(prefix="kvmcheck-test-ci.") as t:
            src = Path(t) / "run.json"
            src.write_text('{"tests": [{"name": "x86/a", "verdict": "PASS", "subtests": 3}]}')
            rc, _, err = faultlib.run([sys.executable, "-m", "kvmcheck.kcidb", "-o",
                                       Path(t) / "k.json", src],
                                      env={"PYTHONPATH": str(faultlib.SCRIPTS)})
            self.assertEqual(rc, 2)
            self.assertIn("run.json: tests[0].subtests: 3 is not a list", err)
            self.assertEqual(os.listdir(t), ["run.json"])

    def test_host_run_kcidb(self):
        with tempfile.TemporaryDirectory(prefix="kvmcheck-test-ci.") as t:
            k = Path(t) / "k.json"
            rc, out, err = faultlib.run([TOP / "run_tests.sh", "--build-dir", BUILD, "--target",
                                         "host", "-t", "common/ucall", "--kcidb", k])
            self.assertIn(rc, (0, 4), err)
            data = json.loads(k.read_text())
            self.assertEqual(data["version"]["major"], 5)
            self.assertIn("kvmcheck.common.ucall", [x["path"] for x in data["tests"]])
            self.assertEqual(os.listdir(t), ["k.json"])


class Workflows(unittest.TestCase):
    def test_yamllint(self):
        if not shutil.which("yamllint"):
            apt_install("yamllint")
        self.assertTrue(shutil.which("yamllint"), "yamllint missing: apt-get install yamllint")
        rc, out, err = faultlib.run(["yamllint", "-f", "parsable", "-d", YAMLLINT,
                                     *CI_FILES, LAVA_JOB, TOP / "lava/qemu-device.yaml"])
        self.assertEqual(rc, 0, out + err)

    def test_commands_exist(self):
        targets = set(re.findall(r"(?m)^([a-z_][a-z_ ]*[a-z_]):", (TOP / "Makefile").read_text()))
        targets = {w for t in targets for w in t.split()}
        for f in CI_FILES:
            text = f.read_text()
            scripts = set(re.findall(r"\./(scripts/[\w.-]+)", text))
            self.assertTrue(scripts, f)
            for s in scripts:
                self.assertTrue(os.access(TOP / s, os.X_OK), f"{f.name}: {s} is not in the tree")
            for m in re.findall(r"\bmake -s( [a-z_]+)?", text):
                self.assertTrue(not m.strip() or m.strip() in targets, f"{f.name}: make{m}")
            for opt in set(re.findall(r"matrix\.sh [^\n]*", text)):
                for o in re.findall(r"(--[a-z-]+)", opt):
                    self.assertIn(o, (faultlib.SCRIPTS / "kvmcheck/matrix.py").read_text(),
                                  f"{f.name}: matrix.sh {o}")
            self.assertIn("--merge", text)
            self.assertRegex(text, r"matrix-\*\.json")


class Lava(unittest.TestCase):
    VALIDATE = ("import sys, yaml\n"
                "from lava_common.schemas import validate\n"
                "validate(yaml.safe_load(sys.stdin.read()), strict=True)\n"
                "print('valid')\n")

    def test_device_and_job_accepted_by_lava_run(self):
        if not shutil.which("lava-run"):
            apt_install("lava-dispatcher")
        self.assertTrue(shutil.which("lava-run"), "lava-run missing: apt-get install lava-dispatcher")
        with tempfile.TemporaryDirectory(prefix="kvmcheck-test-ci.") as t:
            job = Path(t) / "job.yaml"
            text = LAVA_JOB.read_text()
            for k in ("KERNEL", "RAMDISK", "KSELFTEST", "SHELL"):
                # --validate checks the files are there; what they hold is the real run's.
                (Path(t) / k.lower()).write_bytes(b"")
                text = text.replace(f"@{k}_URL@", f"file://{t}/{k.lower()}")
            job.write_text(text)
            jobid = f"kvmcheck-v{os.getpid()}"
            try:
                rc, out, err = faultlib.run(["lava-run", "--validate", "--device",
                                             TOP / "lava/qemu-device.yaml", "--job-id", jobid,
                                             "--output-dir", Path(t) / "v", job], timeout=300)
            finally:
                # A validation leaves the dispatcher's scratch directory of the job behind.
                shutil.rmtree(f"/var/lib/lava/dispatcher/tmp/{jobid}", ignore_errors=True)
            self.assertEqual(rc, 0, out[-2000:] + err)
            self.assertIn('"Job finished correctly"', out + err)

    def test_job_valid_for_the_dispatcher(self):
        py = "/usr/bin/python3"
        probe = ["-c", "import lava_common.schemas"]
        if faultlib.run([py, *probe])[0] != 0:
            apt_install("lava-common")
        self.assertEqual(faultlib.run([py, *probe])[0], 0,
                         "lava-common missing: apt-get install lava-common")
        job = LAVA_JOB.read_text()
        self.assertEqual(set(re.findall(r"@[A-Z_]+@", job)),
                         {"@KERNEL_URL@", "@RAMDISK_URL@", "@KSELFTEST_URL@", "@SHELL_URL@"})
        for k in ("KERNEL", "RAMDISK", "KSELFTEST", "SHELL"):
            job = job.replace(f"@{k}_URL@", f"file:///srv/{k.lower()}")
        p = subprocess.run([py, "-c", self.VALIDATE], input=job, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "valid"), p.stderr)
        bad = job.replace("method: qemu", "method: qemu-x")
        p = subprocess.run([py, "-c", self.VALIDATE], input=bad, capture_output=True, text=True,
                           timeout=120)
        self.assertNotEqual(p.returncode, 0)


FLAKY_TEST = """#!/bin/sh
if [ "$1" = --meta ]; then
	echo '{"name":"x/flaky","arch":"x86_64","summary":"s","groups":["runtime"],"timeout":10,' \\
		'"patch":null,"min_kernel":null,"shown_on":null,"paths":[],"subtests":["a","b"],"options":[]}'
	exit 0
fi
n=$(cat "$(dirname "$0")/../count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$(dirname "$0")/../count"
echo "TAP version 13"; echo "1..2"; echo "ok 1 a"
case " $FAIL_RUNS " in *" $n "*) echo "not ok 2 b # broke on run $n"; exit 1 ;; esac
echo "ok 2 b"
"""


class Repeat(unittest.TestCase):
    """--repeat N: a test that fails one run in N is FAIL (flaky, with its count), never PASS;
    the count survives the guest's TAP stream (--import-tap) and shows in the matrix."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kvmcheck-test-ci.")
        self.d = Path(self.tmp.name)
        shutil.copy(faultlib.RUNNER, self.d / "kvmcheck-run")
        (self.d / "tests.list").write_text("x/flaky\n")
        (self.d / "x").mkdir()
        (self.d / "x/flaky").write_text(FLAKY_TEST)
        (self.d / "x/flaky").chmod(0o755)

    def tearDown(self):
        self.tmp.cleanup()

    def run_it(self, n, fail_runs, *extra):
        with contextlib.suppress(FileNotFoundError):
            (self.d / "count").unlink()
        return faultlib.run([self.d / "kvmcheck-run", "--repeat", n, "--json", self.d / "r.json",
                             *extra], env={"FAIL_RUNS": fail_runs})

    def test_verdicts(self):
        rc, out, _ = self.run_it(3, "")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"(?m)^ok 1 x/flaky$")
        self.assertRegex(out, r"verdict=PASS runs=0:3")
        rc, out, _ = self.run_it(3, "2")
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"(?m)^not ok 1 x/flaky # flaky: 1:3 runs failed \(first: FAIL: "
                              r"broke on run 2\)$")
        self.assertIn("    not ok 2 b # broke on run 2", out)
        t = json.loads((self.d / "r.json").read_text())["tests"][0]
        self.assertEqual((t["verdict"], t["runs"], t["failed_runs"]), ("FAIL", 3, 1))
        rc, out, _ = self.run_it(2, "1 2")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"# 2:2 runs failed: broke on run 1")

    def test_import_keeps_the_count(self):
        rc, out, _ = self.run_it(4, "3")
        (self.d / "tap").write_text(out)
        rc, out, err = faultlib.run([self.d / "kvmcheck-run", "--import-tap", self.d / "tap",
                                     "--json", self.d / "i.json"])
        self.assertEqual(rc, 1, err)
        t = json.loads((self.d / "i.json").read_text())["tests"][0]
        self.assertEqual((t["verdict"], t["runs"], t["failed_runs"]), ("FAIL", 4, 1))
        shard = {"schema": 1, "kernels": [{"line": "sid", "status": "ok", "kernel": "7.2",
                                           "runner": json.loads((self.d / "i.json").read_text())}]}
        (self.d / "matrix-sid.json").write_text(json.dumps(shard))
        exp = self.d / "expect"
        exp.mkdir()
        rc, out, err = faultlib.run([faultlib.SCRIPTS / "matrix.sh", "--expect", exp, "--out",
                                     self.d / "out", "--merge", self.d / "matrix-sid.json"])
        self.assertEqual(rc, 1, err)
        self.assertRegex(out, r"(?m)^x/flaky +FLAKY 1:4! \[1\]$")

    def test_bad_repeat_refused(self):
        for args in (["--repeat", "0"], ["--repeat", "x"], ["--repeat", "2", "-l"],
                     ["--repeat", "1001"]):
            rc, _, err = faultlib.run([self.d / "kvmcheck-run", *args])
            self.assertEqual(rc, 2, args)
            self.assertIn("--repeat", err)
        rc, _, err = faultlib.run([TOP / "run_tests.sh", "--build-dir", self.d, "--repeat", "-1"])
        self.assertEqual(rc, 2)
        rc, _, err = faultlib.run([faultlib.SCRIPTS / "matrix.sh", "--build-dir", self.d,
                                   "--repeat", "0", "sid"])
        self.assertEqual(rc, 2)
        self.assertIn("--repeat wants a number of runs from 1 to 1000, not '0'", err)


if __name__ == "__main__":
    unittest.main()
