# SPDX-License-Identifier: GPL-2.0-only
"""The upstream KVM selftests through kvmcheck's runner (issue 12): every way an upstream
program ends is a verdict with its reason, and nothing outlives it.

An upstream binary keeps kselftest's contract (exit 0 pass, 4 skip, anything else fail; TAP when
it prints it), not kvmcheck's; scripts/upstream-wrap.c bridges the two. Each case is a tiny shell
script standing in for an upstream binary in a fake upstream build (bin/, built.list,
failed.tsv, settings), staged with kvmcheck.upstream.stage() against this checkout's real build,
and run by the real runner: the verdict and reason the user sees, the exit status, no process
and no temporary left behind. No QEMU, no kernel source; a few seconds (one case waits for its
timeout)."""
import json
import os
import shutil
import sys
import tempfile
import textwrap
import unittest

import faultlib

sys.path.insert(0, str(faultlib.SCRIPTS))
from kvmcheck import upstream  # noqa: E402
from kvmcheck.util import InputError  # noqa: E402

BUILD = faultlib.BUILD
MARK = "kvmcheck-upstream-fault-"

FAKES = {
    "pass_test": "echo '# all good'\nexit 0\n",
    "x86/skip_test": "echo '1..0 # SKIP - Requirement not met: kvm_has_cap(KVM_CAP_X86_FAKE)'\n"
                     "exit 4\n",
    "x86/assert_test": textwrap.dedent("""\
        echo '==== Test Assertion Failure ===='
        echo '  x86/assert_test.c:42: val == 0x10'
        echo '  pid=12 tid=12 errno=0 - Success'
        echo 'sh: addr2line: not found'
        echo '     1\t0x0000000000402f1e: main at assert_test.c:42'
        echo '  Guest value 0x11, expected 0x10'
        exit 254
        """),
    "tap_fail_test": "echo 'TAP version 13'\necho '1..2'\necho 'ok 1 first'\n"
                     "echo 'not ok 2 second # value mismatch'\nexit 0\n",
    "x86/segv_test": "kill -SEGV $$\n",
    # A hang that also leaves a child behind: the bridge must end both at the timeout.
    "hang_test": f"sleep 307 &\nexec sleep 309 # {MARK}hang\n",
}


def write_fake_build(root, timeout=8):
    os.makedirs(os.path.join(root, "bin", "x86"))
    for rel, body in FAKES.items():
        p = os.path.join(root, "bin", rel)
        with open(p, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(p, 0o755)
    with open(os.path.join(root, "built.list"), "w", encoding="utf-8") as f:
        f.write("\n".join(FAKES) + "\n")
    with open(os.path.join(root, "failed.tsv"), "w", encoding="utf-8") as f:
        f.write("x86/nobuild_test\tx86/nobuild_test.c:7:3: error: 'KVM_CAP_NEW' undeclared\n")
    with open(os.path.join(root, "settings"), "w", encoding="utf-8") as f:
        f.write(f"timeout={timeout}\n")
    with open(os.path.join(root, "source"), "w", encoding="utf-8") as f:
        f.write("linux-source-fake 1.0-1\n")
    return upstream.load_build(root, "x86_64")


@unittest.skipUnless(os.access(BUILD / "kvmcheck-run", os.X_OK) and
                     (BUILD / "libkvmcheck.a").exists(), f"no kvmcheck build in {BUILD}")
class UpstreamVerdicts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Only this area's names: other runs on the machine make kvmcheck-* entries meanwhile.
        cls.tmp_before = faultlib.tmp_entries("kvmcheck-upstream")
        cls.tmp = tempfile.mkdtemp(prefix="kc-upstream-fault.")
        ub = write_fake_build(os.path.join(cls.tmp, "ub"))
        cls.stage = upstream.stage(str(BUILD), "x86_64", upstream.parse_suites("upstream"), ub,
                                   os.path.join(cls.tmp, "stage"))
        cls.json = os.path.join(cls.tmp, "run.json")
        cls.rc, cls.out, cls.err = faultlib.run(
            [os.path.join(cls.stage, "kvmcheck-run"), "-j", "4", "--json", cls.json],
            env={"KVMCHECK_HEALTH": "off"}, timeout=120)
        with open(cls.json, encoding="utf-8") as f:
            cls.tests = {t["name"]: t for t in json.load(f)["tests"]}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def verdict(self, name):
        t = self.tests[f"upstream/{name}"]
        sub = (t.get("subtests") or [{}])[0]
        return t["verdict"], " ".join(str(x) for x in (t.get("reason"), sub.get("reason")) if x)

    def test_names_are_prefixed(self):
        self.assertEqual(sorted(self.tests), sorted(
            ["upstream/" + n for n in list(FAKES) + ["x86/nobuild_test"]]))

    def test_pass(self):
        self.assertEqual(self.verdict("pass_test")[0], "PASS")

    def test_skip_carries_upstream_reason(self):
        v, why = self.verdict("x86/skip_test")
        self.assertEqual(v, "SKIP")
        self.assertIn("Requirement not met: kvm_has_cap(KVM_CAP_X86_FAKE)", why)

    def test_assertion_report_is_the_reason(self):
        v, why = self.verdict("x86/assert_test")
        self.assertEqual(v, "FAIL")
        self.assertIn("exit status 254", why)
        self.assertIn("x86/assert_test.c:42: val == 0x10 | Guest value 0x11, expected 0x10", why)

    def test_tap_not_ok_fails_despite_exit_0(self):
        v, why = self.verdict("tap_fail_test")
        self.assertEqual(v, "FAIL")
        self.assertIn("not ok 2 second", why)

    def test_signal(self):
        v, why = self.verdict("x86/segv_test")
        self.assertEqual(v, "FAIL")
        self.assertIn("signal 11", why)

    def test_timeout_from_settings_and_nothing_left(self):
        v, why = self.verdict("hang_test")
        self.assertEqual(v, "FAIL")
        self.assertIn("TIMEOUT after 8 s", why)
        self.assertEqual(faultlib.stray_processes(f"{MARK}hang"), [])
        self.assertEqual(faultlib.stray_processes("sleep 307"), [])

    def test_build_failure_is_a_row_with_the_compiler_error(self):
        v, why = self.verdict("x86/nobuild_test")
        self.assertEqual(v, "FAIL")
        self.assertIn("did not build", why)
        self.assertIn("'KVM_CAP_NEW' undeclared", why)

    def test_exit_status_and_summary(self):
        self.assertEqual(self.rc, 1, self.err)
        self.assertEqual(self.out.strip().splitlines()[-1], "1 passed, 5 failed, 1 skipped")

    def test_meta_timeout_and_groups(self):
        rc, out, err = faultlib.run([os.path.join(self.stage, "upstream", "x86", "skip_test"),
                                     "--meta"])
        self.assertEqual(rc, 0, err)
        meta = json.loads(out)
        self.assertEqual(meta["name"], "upstream/x86/skip_test")
        self.assertEqual(meta["timeout"], 8)
        self.assertIn("upstream", meta["groups"])
        self.assertEqual(meta["subtests"], ["skip_test"])

    def test_no_temporaries_left(self):
        self.assertEqual(faultlib.tmp_entries("kvmcheck-upstream") - self.tmp_before, set())


class UpstreamInputs(unittest.TestCase):
    def test_unknown_suite_is_refused(self):
        with self.assertRaises(InputError) as e:
            upstream.parse_suites("kvmcheck upstrem")
        self.assertIn("upstrem", str(e.exception))

    def test_suites(self):
        s = upstream.parse_suites("kvmcheck,upstream-full")
        self.assertEqual(s.names, ("kvmcheck", "upstream"))
        self.assertTrue(s.full)
        self.assertEqual(upstream.parse_suites("").names, ("kvmcheck",))

    def test_build_script_refuses_bad_names_before_any_fetch(self):
        env = {"XDG_CACHE_HOME": tempfile.gettempdir() + "/kc-upstream-nocache",
               "KVMCHECK_OFFLINE": "1"}
        rc, _, err = faultlib.run([faultlib.SCRIPTS / "upstream-build.sh", "--tests",
                                   "x86/../../etc/passwd", "sid"], env=env)
        self.assertEqual(rc, 2)
        self.assertIn("is not a test name", err)
        rc, _, err = faultlib.run([faultlib.SCRIPTS / "upstream-build.sh", "/nonexistent"], env=env)
        self.assertEqual(rc, 2)
        self.assertIn("no such directory", err)
        self.assertFalse(os.path.exists(env["XDG_CACHE_HOME"]))

    def test_tree_without_selftests_is_refused(self):
        d = tempfile.mkdtemp(prefix="kc-upstream-tree.")
        try:
            rc, _, err = faultlib.run([faultlib.SCRIPTS / "upstream-build.sh", "--out",
                                       os.path.join(d, "o"), d])
            self.assertEqual(rc, 2)
            self.assertIn("not a kernel tree", err)
            self.assertEqual(os.listdir(d), [])
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main()
