# SPDX-License-Identifier: GPL-2.0-only
"""The QEMU target (run_tests.sh, scripts/kvmcheck/suite.py, qemu-run.sh): issue 10's cases 4
(boot half), 5, 7 and 11. A kernel crash during a test is that test's CRASH and the rest still
run; bad input is refused before a boot; a kernel that cannot start or stays silent is a boot
failure named in seconds, not a half-hour wait. Each case checks the message, the exit status,
and that no QEMU or temporary directory is left. Two real boots of qemu:sid in all."""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import faultlib

TOP = faultlib.TOP
RUN_TESTS = TOP / "run_tests.sh"
QEMU_RUN = faultlib.SCRIPTS / "qemu-run.sh"
sys.path.insert(0, str(faultlib.SCRIPTS))

META = ('{"name":"%s","arch":"x86_64","summary":"a fake test of the fault suite","groups":'
        '["fake"],"timeout":%d,"patch":null,"min_kernel":null,"shown_on":null,'
        '"subtests":["one"],"options":[]}')

# A test binary is anything the runner can exec: a busybox-sh script runs in the guest (/bin/sh
# is busybox there) and here (for --meta). The crasher crashes only the disposable guest: all
# three marks of the kvmcheck initramfs must be there.
SCRIPT = """#!/bin/sh
case "$1" in
--meta) echo '%s'; exit 0 ;;
--list) echo one; exit 0 ;;
esac
echo 'TAP version 13'
echo '1..1'
%s
echo 'ok 1 one'
exit 0
"""
CRASH = """if [ -f /kvmcheck/args ] && [ -f /run/kvmcheck-guest ] &&
   [ "$(cat /run/kvmcheck-guest)" = "$(uname -r)" ]; then
	echo c >/proc/sysrq-trigger
	sleep 5
fi
echo 'not ok 1 one # not in the kvmcheck guest: refusing to crash this kernel'
exit 1"""


def fake_build(root, tests):
    """A build dir the runner accepts: the real kvmcheck-run, tests.list, and TESTS
    ({name: body}) as shell scripts."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(faultlib.RUNNER, root / "kvmcheck-run")
    for name, body in tests.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(SCRIPT % (META % (name, 30), body))
        p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (root / "tests.list").write_text("".join(f"{n}\n" for n in tests))
    return root


def fake_kernel(root, image_bytes=None, image_from=None):
    """A kernel dir as kernel-fetch.sh writes it, whose image is IMAGE_BYTES or a copy of
    IMAGE_FROM."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name, val in (("kver", "6.99.0-fake"), ("arch", "x86_64"), ("version", "6.99.0-fake"),
                      ("suite", "custom")):
        (root / name).write_text(val + "\n")
    if image_from:
        shutil.copyfile(image_from, root / "vmlinuz")
    else:
        (root / "vmlinuz").write_bytes(image_bytes)
    return root


class QemuTargetCase(unittest.TestCase):
    def setUp(self):
        # Other runs may share this machine: what this test starts is found by its own work
        # directory (QEMU's command line names the initrd in it) and its own TMPDIR.
        self.work = Path(tempfile.mkdtemp(prefix="fault-qemu."))
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.tmpdir = self.work / "tmp"
        self.tmpdir.mkdir()
        self.env = {"KVMCHECK_LOGDIR": str(self.work / "logs"), "TMPDIR": str(self.tmpdir)}

    def assert_nothing_left(self):
        # QEMU is stopped by its parent's trap; give the kernel a moment to reap it.
        for _ in range(20):
            left = faultlib.stray_processes(str(self.work))
            if not left:
                break
            time.sleep(0.5)
        self.assertEqual(left, [], "a QEMU or script was left running")
        self.assertEqual(sorted(p.name for p in self.tmpdir.iterdir()), [],
                         "temporary files left behind")


class RefusedBeforeBoot(QemuTargetCase):
    """Case 5: refused at once (exit 2, named), before any kernel is fetched or booted."""

    def run_refused(self, *args):
        build = fake_build(self.work / "build", {"fake/ok": "true"})
        rc, out, err = faultlib.run([RUN_TESTS, "--target", "qemu:sid", "--build-dir", build,
                                     *args], env=self.env, timeout=60)
        self.assertEqual(rc, 2, err)
        self.assertNotIn("# qemu:", err)
        self.assertFalse((self.work / "logs" / "boot-1").exists(), "a boot was started")
        self.assert_nothing_left()
        return err

    def test_unwritable_json(self):
        err = self.run_refused("--json", "/dev/null/out.json")
        self.assertIn("--json /dev/null/out.json: cannot write", err)

    def test_unwritable_junit(self):
        err = self.run_refused("--junit", str(self.work))
        self.assertIn(f"--junit {self.work}: is a directory", err)

    def test_unwritable_results(self):
        err = self.run_refused("--results", "/dev/null/logs")
        self.assertIn("--results /dev/null/logs", err)

    def test_pattern_matching_nothing(self):
        err = self.run_refused("-t", "no/such_test")
        self.assertIn("-t 'no/such_test' matches no test", err)

    def test_group_matching_nothing(self):
        err = self.run_refused("-g", "nosuchgroup")
        self.assertIn("-g 'nosuchgroup'", err)

    def test_json_not_created(self):
        """A refused run leaves no empty report behind."""
        out = self.work / "r.json"
        self.run_refused("--json", str(out), "-t", "nothing")
        self.assertFalse(out.exists())


class Messages(QemuTargetCase):
    """Case 11: what to install to build for riscv64; --help prints the whole header."""

    def test_riscv64_without_build(self):
        # A compiler prefix that exists nowhere stands for a machine without the packages.
        cross = str(self.work / "none" / "riscv64-linux-gnu-")
        rc, out, err = faultlib.run([RUN_TESTS, "--arch", "riscv64", "--build-dir",
                                     self.work / "rv", "--target", "qemu:sid"],
                                    env=dict(self.env, CROSS_COMPILE=cross), timeout=60)
        self.assertEqual(rc, 3, err)
        self.assertIn(f"no {cross}gcc", err)
        self.assertIn("apt-get install gcc-riscv64-linux-gnu libc6-dev-riscv64-cross", err)
        self.assertIn(f"make ARCH=riscv64 CROSS_COMPILE={cross} O={self.work / 'rv'}", err)
        self.assert_nothing_left()

    def test_help_is_the_whole_header(self):
        for script, last in ((RUN_TESTS, "130 interrupted."),
                             (QEMU_RUN, "--append ARGS   extra kernel command line")):
            rc, out, err = faultlib.run([script, "--help"], timeout=30)
            self.assertEqual(rc, 0, err)
            text = (out + err).rstrip("\n")
            self.assertTrue(text.endswith(last), f"{script.name} --help ends: {text[-200:]}")
            self.assertNotIn("set -euo pipefail", text)


class BootFailures(QemuTargetCase):
    """Case 4 (the boot half): a kernel QEMU cannot load, and one that never prints."""

    def qemu_run(self, kdir, *args, timeout=120):
        initrd = self.work / "initrd.gz"
        initrd.write_bytes(b"\x1f\x8b" + os.urandom(64))
        t0 = time.monotonic()
        rc, out, err = faultlib.run([QEMU_RUN, "--quiet", "--timeout", "600", *args, kdir,
                                     initrd], env=self.env, timeout=timeout)
        return rc, err, time.monotonic() - t0

    def test_garbage_image_names_the_file(self):
        kdir = fake_kernel(self.work / "k", image_bytes=os.urandom(256 * 1024))
        rc, err, secs = self.qemu_run(kdir)
        self.assertEqual(rc, 3, err)
        self.assertIn(f"QEMU failed to start with kernel image {kdir}/vmlinuz", err)
        # QEMU's own reason, not the TCG feature warnings printed before it.
        self.assertIn("linux kernel too old to load a ram disk", err)
        self.assertNotIn("warning: TCG", err)
        self.assert_nothing_left()

    def test_garbage_image_through_run_on_kernel(self):
        from kvmcheck import kernels, suite
        kdir = fake_kernel(self.work / "k", image_bytes=os.urandom(256 * 1024))
        build = fake_build(self.work / "build", {"fake/ok": "true"})
        saved = os.environ.get("TMPDIR"), tempfile.tempdir
        os.environ["TMPDIR"] = tempfile.tempdir = str(self.tmpdir)
        try:
            r = suite.run_on_kernel(kernels.KernelDir.load(kdir), str(build), [],
                                    logdir=str(self.work / "logs"), echo=False)
        finally:
            if saved[0] is None:
                os.environ.pop("TMPDIR")
            else:
                os.environ["TMPDIR"] = saved[0]
            tempfile.tempdir = saved[1]
        self.assertEqual((r.rc, r.status), (3, "BOOT-ERROR"))
        self.assertIn(f"{kdir}/vmlinuz", r.reason)
        self.assert_nothing_left()

    def test_silent_kernel(self):
        """A real bzImage with its middle overwritten decompresses to nothing and prints
        nothing on the serial console: a boot failure after the silence bound."""
        image = sid_image()
        if not image:
            self.skipTest("no cached sid kernel (the crash test fetches it)")
        kdir = fake_kernel(self.work / "k", image_from=image)
        data = bytearray((kdir / "vmlinuz").read_bytes())
        mid = len(data) // 2
        data[mid:mid + 65536] = os.urandom(65536)
        (kdir / "vmlinuz").write_bytes(bytes(data))
        rc, err, secs = self.qemu_run(kdir, "--boot-silence", "5")
        self.assertEqual(rc, 3, err)
        self.assertIn("no console output for 5 s", err)
        self.assertLess(secs, 40, "the silence bound did not stop the boot")
        self.assert_nothing_left()


class Interrupted(QemuTargetCase):
    """Ctrl-C or a cancelled CI job while the guest runs: exit 130, and QEMU goes too."""

    def test_signal_during_boot_leaves_no_qemu(self):
        if not sid_image():
            self.skipTest("no cached sid kernel (the crash test fetches it)")
        build = fake_build(self.work / "build", {"fake/slow": "sleep 600"})
        qemu = f"qemu-system-x86_64 .*{re.escape(str(self.work))}"
        for sig in (signal.SIGTERM, signal.SIGINT):
            env = dict(os.environ, **self.env)
            # A job started in the background by a script inherits SIGINT ignored (and Python
            # then installs no handler): give the run the disposition a terminal's Ctrl-C meets.
            p = subprocess.Popen([RUN_TESTS, "--target", "qemu:sid", "--build-dir", build],
                                 env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
            try:
                deadline = time.monotonic() + 300
                while not faultlib.stray_processes(qemu) and time.monotonic() < deadline:
                    self.assertIsNone(p.poll(), "run_tests.sh ended before QEMU started")
                    time.sleep(0.2)
                self.assertTrue(faultlib.stray_processes(qemu), "QEMU never started")
                p.send_signal(sig)
                out, err = p.communicate(timeout=60)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
            self.assertEqual(p.returncode, 130, err)
            self.assertIn("interrupted", err)
            self.assert_nothing_left()


class AcrossBoots(QemuTargetCase):
    """Case 7's bookkeeping without QEMU: boots scripted, the merge imported by the real runner.
    -j N crashes are re-run one at a time; the run is one run's; reboots are bounded."""

    def run_scripted(self, boots, runner_args, **kw):
        from types import SimpleNamespace
        from kvmcheck import suite
        build = fake_build(self.work / "build", {n: "true" for n in ("fake/a", "fake/b", "fake/c")})
        calls = []

        def fake_boot(kdir, build_dir, args, bootdir, *, order, jobs, **_):
            os.makedirs(bootdir, exist_ok=True)
            calls.append((list(order), jobs))
            return boots[len(calls) - 1](list(order))

        kdir = SimpleNamespace(path=str(self.work), arch="x86_64", suite="sid", version="7.2-1",
                               image=str(self.work / "vmlinuz"), kver="7.2", modules=None)
        real, suite._boot = suite._boot, fake_boot
        try:
            r = suite.run_on_kernel(kdir, str(build), runner_args, logdir=str(self.work / "logs"),
                                    json=str(self.work / "r.json"), echo=False, **kw)
        finally:
            suite._boot = real
        with open(self.work / "r.json", encoding="utf-8") as f:
            verdicts = {t["name"]: (t["verdict"], t.get("reason") or "")
                        for t in json.load(f)["tests"]}
        return r, calls, verdicts

    @staticmethod
    def passed(name):
        from kvmcheck import suite
        return suite.Result(name, ["    # Subtest: " + name, "    1..1", "    ok 1 one"], True,
                            None, "duration_s=0.100 exit_status=0 verdict=PASS")

    def boot(self, kind, results=(), inflight=(), reason="Kernel panic - not syncing: boom"):
        from kvmcheck import suite

        def make(order):
            b = suite.Boot(kind=kind, reason=reason if kind != "ok" else "",
                           rc=0 if kind == "ok" else None, runner_started=True,
                           header="# kvmcheck: kernel 7.2 x86_64, 3 tests")
            b.results = [self.passed(n) for n in results]
            b.inflight = list(inflight)
            return b
        return make

    def test_two_in_flight_are_run_alone(self):
        r, calls, v = self.run_scripted([
            self.boot("crash", inflight=["fake/a", "fake/b"]),
            self.boot("crash", inflight=["fake/a"]),
            self.boot("ok", results=["fake/b", "fake/c"])], ["-j", "2"])
        self.assertEqual(calls, [(["fake/a", "fake/b", "fake/c"], 2), (["fake/a", "fake/b"], 1),
                                 (["fake/b", "fake/c"], 2)])
        self.assertEqual(v["fake/a"][0], "CRASH")
        self.assertIn("Kernel panic - not syncing: boom", v["fake/a"][1])
        self.assertEqual((v["fake/b"][0], v["fake/c"][0]), ("PASS", "PASS"))
        self.assertEqual((r.rc, r.status, r.timings["boots"]), (1, "ok", 3))

    def test_none_crashes_alone(self):
        r, calls, v = self.run_scripted([
            self.boot("crash", inflight=["fake/a", "fake/b"]),
            self.boot("ok", results=["fake/a", "fake/b"]),
            self.boot("ok", results=["fake/c"])], ["-j", "2"])
        self.assertEqual(calls[1], (["fake/a", "fake/b"], 1))
        for n in ("fake/a", "fake/b"):
            self.assertEqual(v[n][0], "CRASH", v)
            self.assertIn("none crashed alone", v[n][1])
        self.assertEqual(v["fake/c"][0], "PASS")
        self.assertEqual(r.rc, 1)

    def test_reboots_are_bounded(self):
        r, calls, v = self.run_scripted([
            self.boot("crash", inflight=["fake/a"]),
            self.boot("crash", inflight=["fake/b"])], [], max_boots=2)
        self.assertEqual(len(calls), 2)
        self.assertEqual((v["fake/a"][0], v["fake/b"][0], v["fake/c"][0]),
                         ("CRASH", "CRASH", "FAIL"))
        self.assertIn("not run", v["fake/c"][1])
        self.assertEqual(r.rc, 1)

    def test_crash_before_any_test_is_a_boot_error(self):
        from types import SimpleNamespace
        from kvmcheck import suite
        build = fake_build(self.work / "build", {"fake/a": "true"})
        real, suite._boot = suite._boot, lambda *a, **k: suite.Boot(
            kind="boot-error", reason="the guest stopped before the first test started: boom")
        try:
            r = suite.run_on_kernel(SimpleNamespace(path="k", arch="x86_64", suite="sid",
                                                    version="7.2-1", image="k/vmlinuz", kver="7.2",
                                                    modules=None),
                                    str(build), [], logdir=str(self.work / "logs"), echo=False)
        finally:
            suite._boot = real
        self.assertEqual((r.rc, r.status), (3, "BOOT-ERROR"))
        self.assertIn("before the first test started", r.reason)


class HangBound(unittest.TestCase):
    """Case 7's hang: the guest counts as hung only after the running tests' own timeouts plus
    a margin (the runner in the guest kills a test at its timeout and reports it)."""

    def test_deadline_follows_the_tests_in_flight(self):
        from kvmcheck import suite
        for start_lines in (False, True):
            b = suite.Boot()
            st = suite._Stream(b, ["fake/a", "fake/b"], {"fake/a": 30.0, "fake/b": 300.0}, 1, 0.0)
            st.feed("# kvmcheck-guest: kernel 7.2, /dev/kvm present", 20.0)
            self.assertIsNone(st.deadline(), "judged before the runner started")
            st.feed("TAP version 13", 21.0)
            st.feed("# kvmcheck: kernel 7.2 x86_64, 2 tests", 22.0)
            st.feed("1..2", 22.0)
            if start_lines:
                st.feed("# kvmcheck: start fake/a", 23.0)
            self.assertEqual(st.inflight(), ["fake/a"])
            self.assertAlmostEqual(st.deadline(), (23.0 if start_lines else 22.0) + 30 +
                                   suite.HANG_MARGIN_S)
            st.feed("ok 1 fake/a", 40.0)
            if start_lines:
                st.feed("# kvmcheck: start fake/b", 41.0)
            self.assertEqual(st.inflight(), ["fake/b"])
            self.assertAlmostEqual(st.deadline(), (41.0 if start_lines else 40.0) + 300 +
                                   suite.HANG_MARGIN_S)


def sid_image():
    for base in (os.environ.get("XDG_CACHE_HOME"), os.path.expanduser("~/.cache")):
        if not base:
            continue
        d = Path(base) / "kvmcheck" / "kernels" / "sid-amd64"
        cur = d / "current"
        if cur.is_file() and (d / cur.read_text().strip() / "vmlinuz").is_file():
            return d / cur.read_text().strip() / "vmlinuz"
    return None


class KernelCrash(QemuTargetCase):
    """Case 7: a test that panics the guest kernel gets CRASH with the panic line; the guest is
    booted again and the next test still runs and passes; exit 1, one run's JSON."""

    def test_crash_is_the_tests_crash(self):
        build = fake_build(self.work / "build", {"fake/crasher": CRASH, "fake/ok": "true"})
        out_json = self.work / "r.json"
        rc, out, err = faultlib.run([RUN_TESTS, "--target", "qemu:sid", "--build-dir", build,
                                     "--json", out_json], env=self.env, timeout=900)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("booting again", err)
        with open(out_json, encoding="utf-8") as f:
            data = json.load(f)
        tests = {t["name"]: t for t in data["tests"]}
        self.assertEqual(set(tests), {"fake/crasher", "fake/ok"})
        crasher = tests["fake/crasher"]
        self.assertEqual(crasher["verdict"], "CRASH", crasher)
        self.assertIn("Kernel panic", crasher["reason"])
        self.assertIn("sysrq", crasher["reason"])
        self.assertEqual(tests["fake/ok"]["verdict"], "PASS", tests["fake/ok"])
        self.assertTrue(out.rstrip().endswith("1 passed, 1 failed, 0 skipped"), out[-300:])
        self.assert_nothing_left()


if __name__ == "__main__":
    unittest.main()
