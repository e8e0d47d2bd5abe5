# SPDX-License-Identifier: GPL-2.0-only
"""Issue 11 item 3: the kernel's health in every verdict (lib/harness_health.c).

A kernel report logged while a subtest ran, new taint, or a process the subtest left running
must fail that subtest with a reason that says which, under the runner with exit status 1;
reports that belong elsewhere (another test's task, or on the machine's shared kernel anything
not naming this test's tasks) must not. Reproduced on this machine's kernel with a small test
program built against the library: it logs through /dev/kmsg with the fault tag
(KC_FAULT_TAG), which is how user space can write a record the scanner reads as the kernel's
(the records name only this program's tasks, so no other test on this machine counts them).
One QEMU boot shows vhost_task_lifetime's harness self-checks --self-check-log-line and
--self-check-taint in the guest, where taint counts.
"""
import json
import re
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import faultlib
from faultlib import BUILD, RUNNER, TOP, run, tmp_entries

# Two test programs (their task names are what the attribution reads): kc_health_fault (15
# characters, the kernel's limit) and kc_health_other, only listed in tests.list.
PROGRAM = r"""
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "kvmcheck/test.h"
#include "kvmcheck/host_kernel.h"

static void report(int pid, const char *comm, const char *where)
{
	char msg[256];

	snprintf(msg, sizeof(msg), KC_FAULT_TAG "WARNING: CPU: 0 PID: %d at %s\n", pid, where);
	kc_kmsg_write(msg);
	snprintf(msg, sizeof(msg), KC_FAULT_TAG "CPU: 0 UID: 0 PID: %d Comm: %s Not tainted\n",
		 pid, comm);
	kc_kmsg_write(msg);
}

static void own_report(void)
{
	report(getpid(), "kc_health_fault", "fake.c:1 own_report+0x0/0x10");
}

static void other_test_report(void)
{
	report(1, "kc_health_other", "fake.c:2 other_test_report+0x0/0x10");
}

static void kworker_report(void)
{
	report(1, "kworker/0:1", "fake.c:3 kworker_report+0x0/0x10");
}

static void leftover(void)
{
	if (fork() == 0) {
		for (;;)
			pause();
	}
}

static void child_dies_with_parent(void)
{
	pid_t parent = getpid();

	if (fork() == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The parent may have gone before the prctl: then no signal comes. */
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
}

static void clean(void)
{
}

static const char *requires(void)
{
	return NULL;
}

static const struct kc_subtest subtests[] = {
	{ "own_report", own_report },
	{ "other_test_report", other_test_report },
	{ "kworker_report", kworker_report },
	{ "leftover", leftover },
	{ "child_dies_with_parent", child_dies_with_parent },
	{ "clean", clean },
	{ 0 },
};

static const struct kc_test test = {
	.name = "health/kc_health_fault",
	.summary = "stand-in for the kernel health check",
	.groups = "health",
	.timeout_s = 60,
	.subtests = subtests,
	.requires = requires,
};

KVMCHECK_MAIN(test)
"""


def subtest_lines(out):
    """{subtest: its TAP line} from the runner's indented output."""
    lines = {}
    for l in out.splitlines():
        l = l.strip()
        for head in ("ok ", "not ok "):
            if l.startswith(head) and not l.startswith(head + "1 health/"):
                parts = l[len(head):].split(" ", 2)
                if len(parts) >= 2:
                    lines[parts[1]] = l
    return lines


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    st = Path("/proc/%d/stat" % pid)
    return st.exists() and st.read_text().rsplit(")", 1)[1].split()[0] != "Z"


class TestHealthOnThisKernel(unittest.TestCase):
    """The harness on the machine's own kernel, a fake build tree of one test."""

    @classmethod
    def setUpClass(cls):
        lib = BUILD / "libkvmcheck.a"
        if not lib.exists() or not RUNNER.exists():
            raise unittest.SkipTest("needs a build (%s, %s)" % (lib, RUNNER))
        if not shutil.which("gcc"):
            raise unittest.SkipTest("needs gcc")
        if not os.access("/dev/kmsg", os.R_OK | os.W_OK):
            raise unittest.SkipTest("needs read and write access to /dev/kmsg (root)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="kvmcheck-health-")
        cls.build = Path(cls.tmp.name)
        (cls.build / "health").mkdir()
        src = cls.build / "fault.c"
        src.write_text(PROGRAM)
        arch = "riscv64" if "riscv" in str(BUILD) else "x86_64"
        subprocess.run(["gcc", "-std=gnu11", "-O1", "-Wall", "-Werror", "-D_GNU_SOURCE",
                        "-static", "-no-pie", "-I", str(TOP / "include"),
                        "-I", str(TOP / "include" / arch), str(src), str(lib), "-lpthread",
                        "-o", str(cls.build / "health" / "kc_health_fault")],
                       check=True, timeout=120)
        (cls.build / "tests.list").write_text("health/kc_health_fault\nhealth/kc_health_other\n")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def runner(self, health=None):
        before = tmp_entries()
        env = {"KVMCHECK_HEALTH": health} if health else {"KVMCHECK_HEALTH": ""}
        js = self.build / "out.json"
        rc, out, err = run([RUNNER, "--dir", self.build, "-t", "health/kc_health_fault",
                            "--json", js], env=env, timeout=120)
        self.assertEqual(tmp_entries() - before, set())
        pids = [int(w.split()[0]) for w in out.split("left pid ")[1:]]
        for pid in pids:
            self.assertFalse(alive(pid), "pid %d left behind\n%s" % (pid, out))
        json.loads(js.read_text())
        js.unlink()
        return rc, out, subtest_lines(out)

    def test_shared_kernel_counts_only_own_tasks(self):
        rc, out, st = self.runner()
        self.assertEqual(rc, 1, out)
        self.assertIn("shared host kernel", out)
        self.assertRegex(st["own_report"], r"^not ok \d own_report # kernel report in this "
                         r"test's task kc_health_fault/\d+: WARNING: CPU: 0 PID: \d+ at "
                         r"fake.c:1 own_report")
        self.assertRegex(st["other_test_report"], r"^ok \d other_test_report$")
        self.assertRegex(st["kworker_report"], r"^ok \d kworker_report$")
        self.assertIn("report during this subtest in kworker/0:1/1, not counted here (shared "
                      "host kernel)", out)
        self.assertRegex(st["leftover"], r"^not ok \d leftover # the subtest left pid \d+ "
                         r"'kc_health_fault' state S running after it ended$")
        self.assertRegex(st["child_dies_with_parent"], r"^ok \d child_dies_with_parent$")
        self.assertRegex(st["clean"], r"^ok \d clean$")
        self.assertTrue(out.splitlines()[-1].startswith("4 passed, 2 failed"), out)

    def test_strict_counts_every_report_but_another_tests(self):
        rc, out, st = self.runner("strict")
        self.assertEqual(rc, 1, out)
        self.assertIn("KVMCHECK_HEALTH=strict: any kernel report or new taint", out)
        self.assertRegex(st["own_report"], r"^not ok \d own_report # kernel report in this "
                         r"test's task")
        self.assertRegex(st["other_test_report"], r"^ok \d other_test_report$")
        self.assertIn("in kc_health_other/1, not counted here (another test's task)", out)
        self.assertRegex(st["kworker_report"], r"^not ok \d kworker_report # kernel report "
                         r"during this subtest \(kworker/0:1/1: not this test's task; a test "
                         r"running at the same time may be the cause\): WARNING: CPU: 0 PID: "
                         r"1 at fake.c:3")
        self.assertTrue(out.splitlines()[-1].startswith("3 passed, 3 failed"), out)

    def test_off_still_reaps_leftovers(self):
        rc, out, st = self.runner("off")
        self.assertEqual(rc, 1, out)
        self.assertIn("kernel health: not checked (KVMCHECK_HEALTH=off)", out)
        self.assertRegex(st["own_report"], r"^ok \d own_report$")
        self.assertRegex(st["leftover"], r"^not ok \d leftover # the subtest left pid")

    def test_clean_subtests_pass(self):
        # What the check costs is bench/ material; here only that clean subtests pass.
        rc, out, err = run([self.build / "health" / "kc_health_fault", "-s", "clean",
                            "-s", "child_dies_with_parent"], timeout=60)
        self.assertEqual(rc, 0, out + err)


class TestHealthInTheGuest(unittest.TestCase):
    """One QEMU boot: vhost_task_lifetime's harness self-checks in the kvmcheck guest, where
    every report and new taint counts. --self-check-log-line fires in net_kick_vs_kill,
    --self-check-taint in vsock_kick_vs_kill; kvm_nx_wake_vs_kill runs after the taint was set,
    so it is not new."""

    def test_selftest_switches_fail_their_subtests(self):
        if not (BUILD / "vhost" / "vhost_task_lifetime").exists():
            self.skipTest("no vhost/vhost_task_lifetime in %s" % BUILD)
        if "riscv" in str(BUILD):
            self.skipTest("x86_64 build only")
        before = tmp_entries()
        with tempfile.TemporaryDirectory(prefix="kvmcheck-health-") as tmp:
            js = Path(tmp) / "out.json"
            rc, out, err = run([TOP / "run_tests.sh", "--target", "qemu:sid", "--build-dir",
                                BUILD, "-t", "vhost/vhost_task_lifetime", "--json", js],
                               env={"KVMCHECK_TEST_OPTIONS": "--self-check-log-line,--self-check-taint",
                                    "KVMCHECK_LOGDIR": str(Path(tmp) / "logs")}, timeout=600)
            if rc == 3:
                self.skipTest("the guest did not boot here: %s" % err.strip()[-300:])
            st = subtest_lines(out)
            self.assertEqual(rc, 1, out + err)
            self.assertIn("kernel health: kvmcheck guest kernel", out)
            self.assertRegex(st["net_kick_vs_kill"], r"^not ok 1 net_kick_vs_kill # kernel "
                             r"report in this test's task vhost_task_life/\d+: WARNING: CPU: 0 "
                             r"PID: \d+ at vhost/vhost_task_lifetime.c:0 synthetic")
            self.assertRegex(st["vsock_kick_vs_kill"], r"^not ok 2 vsock_kick_vs_kill # the "
                             r"kernel got new taint \(U: 0x?[0-9a-f]* -> 0x[0-9a-f]+\) during "
                             r"this subtest, with no kernel report \(taint names no task")
            self.assertRegex(st["kvm_nx_wake_vs_kill"], r"^ok 3 kvm_nx_wake_vs_kill$")
            # The short race away from a debug kernel, and why.
            self.assertIn("race bound: 40 rounds or 1500 ms (neither CONFIG_KASAN nor "
                          "CONFIG_PROVE_LOCKING", out)
            verdicts = json.loads(js.read_text())
            self.assertTrue(verdicts)
            self.assertEqual([p for p in stray_processes_in(tmp)], [])
        self.assertEqual(tmp_entries() - before, set())


def stray_processes_in(path):
    """Processes whose command line names @path (a QEMU started for this test's logs)."""
    return faultlib.stray_processes(re.escape(str(path)))


if __name__ == "__main__":
    unittest.main()
