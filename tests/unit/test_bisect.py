# SPDX-License-Identifier: GPL-2.0-only
"""scripts/bisect-step.sh under a real `git bisect run`.

A synthetic history stands in for a kernel tree: each commit holds only a KVMCHECK_KERNEL file
naming one of Debian's kernels, oldest to newest (bookworm 6.1, bookworm, trixie 6.12, sid 7.x,
sid). The bisected verdict is real: x86/directed_eoi:cap_advertised SKIPs on 6.1 and 6.12 ("kernel
predates KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST") and PASSes on sid's 7.2, so
`--find-fix --skip-is-bad` with `git bisect start --term-old=broken --term-new=fixed` must land on
the first sid commit. Each step boots one kernel under QEMU (about 10 s)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "scripts"))
from kvmcheck import bisect  # noqa: E402
from kvmcheck.results import parse_run, verdict_of  # noqa: E402
STEP = TOP / "scripts" / "bisect-step.sh"
FETCH = TOP / "scripts" / "kernel-fetch.sh"
TEST = "x86/directed_eoi:cap_advertised"
HISTORY = ["bookworm", "bookworm", "trixie", "sid", "sid"]


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=kvmcheck", "-c",
                           "user.email=kvmcheck@localhost", *args],
                          check=True, capture_output=True, text=True).stdout


class TestBisectStepUsage(unittest.TestCase):
    """Mistakes must abort the bisect (exit > 127), never count as a bad commit."""

    def run_step(self, *args, cwd=None):
        return subprocess.run([str(STEP), *args], capture_output=True, text=True, timeout=120,
                              cwd=cwd or tempfile.gettempdir())

    def test_no_test_named(self):
        self.assertEqual(self.run_step().returncode, 255)

    def test_unknown_option(self):
        self.assertEqual(self.run_step("--bogus", "common/ucall").returncode, 255)

    def test_unknown_test(self):
        p = self.run_step("x86/no_such_test")
        self.assertEqual(p.returncode, 255)
        self.assertIn("matches no test", p.stderr)

    def test_not_a_kernel_tree(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.run_step("common/ucall", cwd=d)
            self.assertEqual(p.returncode, 255)
            self.assertIn("not a kernel tree and has no KVMCHECK_KERNEL", p.stderr)


class TestBisectDecide(unittest.TestCase):
    """The exit contract from one run's verdict, without a boot (kvmcheck.bisect.decide)."""

    RUN = parse_run({"kernel": "7.2.13", "tests": [
        {"name": "x86/a", "verdict": "PASS", "subtests": [{"name": "s", "verdict": "PASS"}]},
        {"name": "x86/b", "verdict": "FAIL", "reason": "1 subtest failed",
         "subtests": [{"name": "s", "verdict": "FAIL", "reason": "guest assert"}]},
        {"name": "x86/c", "verdict": "SKIP", "reason": "predates it",
         "subtests": [{"name": "s", "verdict": "SKIP", "reason": "predates it"}]},
        {"name": "vhost/d", "verdict": "CRASH", "reason": "kernel crashed: refcount_t: underflow",
         "subtests": [{"name": "first", "verdict": "PASS"}]}]}, "r.json")

    def code(self, name, find_fix=False, skip_bad=False):
        return bisect.decide(verdict_of(self.RUN, name), "7.2.13", find_fix, skip_bad)[0]

    def test_regression_hunt(self):
        self.assertEqual([self.code(n) for n in ("x86/a", "x86/a:s", "x86/b:s", "x86/c", "x86/nope")],
                         [0, 0, 1, 125, 125])
        self.assertEqual(self.code("x86/c", skip_bad=True), 1)

    def test_fix_hunt(self):
        self.assertEqual(self.code("x86/a", find_fix=True), 1)
        self.assertEqual(self.code("x86/b", find_fix=True), 0)
        self.assertEqual(self.code("x86/c", find_fix=True), 125)
        self.assertEqual(self.code("x86/c", find_fix=True, skip_bad=True), 0)

    def test_a_crash_under_the_test_is_bad(self):
        # The subtest never reported: the kernel crashed under its test, which is its verdict.
        self.assertEqual(self.code("vhost/d:second"), 1)
        self.assertEqual(self.code("vhost/d:first"), 0)
        self.assertIn("refcount_t: underflow",
                      bisect.decide(verdict_of(self.RUN, "vhost/d:second"), "7.2.13", False, False)[1])


class TestBisectRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("git"):
            raise unittest.SkipTest("git is not installed")
        for suite in sorted(set(HISTORY)):
            p = subprocess.run([str(FETCH), suite], capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                raise unittest.SkipTest(f"Debian {suite} kernel unavailable: {p.stderr.strip()[-200:]}")

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.repo = Path(self.tmp.name)
        git(self.repo, "init", "-q", "-b", "main")
        self.commits = []
        for i, suite in enumerate(HISTORY, 1):
            (self.repo / "KVMCHECK_KERNEL").write_text(f"# the kernel of commit {i}\n{suite}\n")
            git(self.repo, "add", "KVMCHECK_KERNEL")
            git(self.repo, "commit", "-q", "-m", f"commit {i}: {suite}")
            self.commits.append(git(self.repo, "rev-parse", "HEAD").strip())

    def tearDown(self):
        self.tmp.cleanup()

    def test_bisect_finds_the_first_kernel_with_the_feature(self):
        git(self.repo, "bisect", "start", "--term-old=broken", "--term-new=fixed",
            self.commits[-1], self.commits[0])
        env = dict(os.environ, KVMCHECK_TOP=str(TOP))
        p = subprocess.run(["git", "-C", str(self.repo), "bisect", "run", str(STEP), "--find-fix",
                            "--skip-is-bad", TEST], capture_output=True, text=True, timeout=900,
                           env=env)
        log = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, log)
        first_sid = self.commits[HISTORY.index("sid")]
        self.assertIn(f"{first_sid} is the first fixed commit", log)
        # Every step said why, in one line, with the real verdict.
        self.assertRegex(log, r"bisect-step: \w+: x86/directed_eoi:cap_advertised: PASS on 7\.")
        self.assertRegex(log, r"SKIP on 6\.\d+\.\S+ \(kernel predates KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST")

    def test_skip_without_skip_is_bad_is_125(self):
        # Without --skip-is-bad a SKIP cannot say good or bad: git bisect must be told 125.
        git(self.repo, "checkout", "-q", self.commits[0])
        p = subprocess.run([str(STEP), TEST], capture_output=True, text=True, timeout=300,
                           cwd=self.repo)
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertIn("SKIP on 6.1", p.stderr)


if __name__ == "__main__":
    unittest.main()
