# SPDX-License-Identifier: GPL-2.0-only
"""The test binaries' own contract (docs/PROTOCOL.md): --meta is JSON, --list, bad
arguments, and a deliberate guest assert whose report names file, line, expression and
values. Runs the binaries on this kernel when /dev/kvm is usable, else inside QEMU."""
import json
import os
import re
import shutil
import subprocess
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("KVMCHECK_BUILD", TOP / "build" / "x86_64"))

# The machine seen without KVM: an empty /dev (but for /dev/null) in a private mount namespace.
HIDE_KVM = "mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3"


def tests():
    return [l.strip() for l in (BUILD / "tests.list").read_text().splitlines() if l.strip()]


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def why_kvm_cannot_be_hidden():
    """None when /dev/kvm can be hidden in a mount namespace here, else why not. Needs root and
    unshare(1); in a chroot, unshare cannot make / private ("cannot change root filesystem
    propagation", / is no mount point there), and a container without CAP_SYS_ADMIN or
    CAP_MKNOD refuses the namespace, the mount or the node. Tried once, exactly as the test
    builds it, so a failure here is this machine's, never the code under test's."""
    if os.geteuid() != 0:
        return "needs root to hide /dev/kvm in a mount namespace"
    if not shutil.which("unshare"):
        return "needs unshare(1) (util-linux) to hide /dev/kvm in a mount namespace"
    try:
        r = subprocess.run(["unshare", "-m", "sh", "-c", HIDE_KVM + " && test ! -e /dev/kvm"],
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "cannot hide /dev/kvm here: unshare -m did not finish in 30 s"
    if r.returncode != 0:
        err = r.stderr.strip().splitlines()
        return "cannot hide /dev/kvm in a mount namespace here: %s" % (
            err[-1] if err else "exit status %d" % r.returncode)
    return None


def assert_line():
    """The line of GUEST_ASSERT_EQ(a, b) in common/ucall.c: the report must name it."""
    for n, line in enumerate((TOP / "common" / "ucall.c").read_text().splitlines(), 1):
        if "GUEST_ASSERT_EQ(a, b)" in line:
            return n
    raise AssertionError("common/ucall.c lost its GUEST_ASSERT_EQ(a, b)")


class TestBinaries(unittest.TestCase):
    def test_meta_is_json_with_the_contract_fields(self):
        for name in tests():
            out = subprocess.run([BUILD / name, "--meta"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout
            meta = json.loads(out)
            self.assertEqual(meta["name"], name)
            for key in ("arch", "groups", "timeout", "patch", "subtests", "options"):
                self.assertIn(key, meta, name)
            self.assertTrue(meta["subtests"], name)
            if "seed" in meta["groups"]:
                self.assertTrue(meta["patch"] and meta["patch"]["subject"], name)
                self.assertTrue(meta["shown_on"], name)

    def test_list_matches_meta(self):
        for name in tests():
            listed = subprocess.run([BUILD / name, "--list"], capture_output=True, text=True,
                                    timeout=10, check=True).stdout.split()
            meta = json.loads(subprocess.run([BUILD / name, "--meta"], capture_output=True,
                                             text=True, timeout=10).stdout)
            self.assertEqual(listed, meta["subtests"], name)

    def test_bad_argument_is_usage_and_exit_2(self):
        for args in (["--no-such-switch"], ["-s", "no_such_subtest"], ["-s"]):
            r = subprocess.run([BUILD / "common/ucall", *args], capture_output=True, text=True,
                               timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("usage:", r.stderr)
            self.assertEqual(r.stdout, "")

    def test_selftest_guest_assert_is_reported(self):
        """--self-check-fail: the guest asserts 1 == 2 and the host reports it."""
        if kvm_usable():
            r = subprocess.run([BUILD / "common/ucall", "--self-check-fail", "-s", "guest_assert"],
                               capture_output=True, text=True, timeout=60)
            out = r.stdout
            self.assertEqual(r.returncode, 1, out)
        else:
            env = dict(os.environ, KVMCHECK_TEST_OPTIONS="--self-check-fail")
            r = subprocess.run([TOP / "run_tests.sh", "--target", "qemu:sid", "--build-dir",
                                BUILD, "-t", "common/ucall:guest_assert"], capture_output=True,
                               text=True, timeout=600, env=env, cwd=TOP)
            out = r.stdout
            self.assertEqual(r.returncode, 1, out + r.stderr)
        want = (r"not ok 1 guest_assert # guest assert at common/ucall\.c:%d: a == b: "
                r"0x1 != 0x2" % assert_line())
        self.assertRegex(out, want)
        self.assertIn("# guest assertion failed at common/ucall.c:%d" % assert_line(), out)

    def test_default_run_of_ucall_passes(self):
        if not kvm_usable():
            self.skipTest("no usable /dev/kvm here; the QEMU stage of make check runs it")
        r = subprocess.run([BUILD / "common/ucall"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertTrue(re.search(r"^ok 3 guest_assert$", r.stdout, re.M), r.stdout)


class TestHostTargetWithoutKvm(unittest.TestCase):
    """--target host on a machine without /dev/kvm: every subtest skips with the reason."""

    def test_every_subtest_skips_with_the_reason(self):
        why = why_kvm_cannot_be_hidden()
        if why:
            self.skipTest(why)
        # The build dir is an argument ($1), never shell text.
        script = (HIDE_KVM + ' && exec ./run_tests.sh --target host --build-dir "$1" '
                  '-t common/ucall -t x86/pio_mmio')
        r = subprocess.run(["unshare", "-m", "bash", "-c", script, "bash", str(BUILD)],
                           capture_output=True, text=True, timeout=120, cwd=TOP,
                           stdin=subprocess.DEVNULL)
        # Every subtest skipped: nothing was tested, which is kselftest's skip code, not 0.
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("no /dev/kvm here", r.stderr)
        self.assertIn("nothing was tested: every subtest skipped", r.stderr)
        results = re.findall(r"^\s*ok \d+ \S+(.*)$", r.stdout, re.M)
        self.assertEqual(len(results), 10, r.stdout)
        for rest in results:
            self.assertIn("# SKIP no /dev/kvm", rest)
        self.assertEqual(r.stdout.strip().splitlines()[-1], "0 passed, 0 failed, 8 skipped")


if __name__ == "__main__":
    unittest.main()
