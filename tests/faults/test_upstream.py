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
        # Removed even when setUpClass itself fails (tearDownClass would not run then).
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        ub = write_fake_build(os.path.join(cls.tmp, "ub"))
        cls.stage = upstream.stage(str(BUILD), "x86_64", upstream.parse_suites("upstream"), ub,
                                   os.path.join(cls.tmp, "stage"))
        cls.json = os.path.join(cls.tmp, "run.json")
        cls.rc, cls.out, cls.err = faultlib.run(
            [os.path.join(cls.stage, "kvmcheck-run"), "-j", "4", "--json", cls.json],
            env={"KVMCHECK_HEALTH": "off"}, timeout=120)
        with open(cls.json, encoding="utf-8") as f:
            cls.tests = {t["name"]: t for t in json.load(f)["tests"]}

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


class UpstreamMatrixColumn(unittest.TestCase):
    """A line whose upstream tests cannot be built is NOT-RUN with upstream-build.sh's reason
    (exit 3 of the script: nothing of that line was tested), a selection the source lacks is
    refused for that line (exit 2), and neither boots a kernel or leaves a stage behind."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kc-upstream-col.")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def column(self, script_rc, text):
        from unittest import mock
        from kvmcheck import kernels, matrix as mx, suite
        fake = os.path.join(self.tmp, "upstream-build.sh")
        with open(fake, "w", encoding="utf-8") as f:
            f.write(f"#!/bin/sh\necho 'upstream-build.sh: {text}' >&2\nexit {script_rc}\n")
        os.chmod(fake, 0o755)
        line = kernels.Line("sid", "debian", "sid", "x86_64")
        kdir = kernels.KernelDir("/x", "7.2", "x86_64", "7.2", "sid", "/x/vmlinuz", None)
        o = mx.Options(suites=upstream.parse_suites("upstream"))
        with mock.patch.object(upstream, "BUILD_SH", fake), \
                mock.patch.object(kernels, "materialize", return_value=kdir), \
                mock.patch.object(suite, "run_on_kernel", side_effect=AssertionError("booted")):
            return mx.run_line(line, o, {"x86_64": mx.Build("x86_64", str(BUILD))},
                               os.path.join(self.tmp, "out"))

    def test_build_failure_is_not_run_with_the_reason(self):
        col = self.column(3, "download of linux-source-7.2 failed: 404  Not Found")
        self.assertEqual(col.status, "NOT-RUN")
        self.assertIn("upstream tests not built", col.reason)
        self.assertIn("404  Not Found", col.reason)
        self.assertEqual([x for x in os.listdir(os.path.join(self.tmp, "out", "matrix"))
                          if x.startswith(".stage")], [])

    def test_selection_the_source_lacks_is_refused(self):
        col = self.column(2, "--tests: linux-source-6.1 has no x86_64 test named guest_memfd_test")
        self.assertEqual(col.status, "NOT-RUN")
        self.assertIn("refused", col.reason)
        self.assertIn("guest_memfd_test", col.reason)


# Reviewer mode's strongest proof: a series that adds a selftest and the change it tests shows
# that selftest FAIL before and PASS after. The base is Debian's linux-source-7.2 (hard-linked,
# never written) with a KVMCHECK_KERNEL hook naming bookworm's 6.1 kernel; patch 1 adds an
# upstream-style selftest that wants KVM_CAP_X2APIC_API to advertise
# KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST (7.2 has it, 6.1 does not), patch 2 stands for the
# kernel change: it moves the hook to sid's 7.2. The selftest is built from the after tree and
# runs on both kernels: two QEMU boots. The same proof with both kernels really built (a base
# series that removes a rule, the fix that restores it): review/fixtures/x86-cpuid-regs-selftest,
# bench/review_bench.sh proof, too slow for make check.
SELFTEST = """\
// SPDX-License-Identifier: GPL-2.0-only
/* KVM_CAP_X2APIC_API must advertise KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST. */
#include "kvm_util.h"
#include "kselftest.h"

int main(void)
{
\tint caps = kvm_check_cap(KVM_CAP_X2APIC_API);

\tksft_print_header();
\tksft_set_plan(1);
\tksft_test_result(caps & KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST,
\t\t\t "suppress_eoi_broadcast advertised (KVM_CAP_X2APIC_API = %#x)\\n", caps);
\tksft_finished();
}
"""


def _mail(n, total, subject, diffs):
    return (f"From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
            f"From: kvmcheck <kvmcheck@localhost>\nDate: Tue, 1 Dec 2026 04:00:00 +0000\n"
            f"Subject: [PATCH {n}/{total}] {subject}\n\n{subject}.\n---\n" + "".join(diffs) +
            "--\n2.39.5\n\n")


def _diff(rel, old, new):
    import difflib
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    head = f"diff --git a/{rel} b/{rel}\n" + ("new file mode 100644\n" if not old else "")
    body = "".join(difflib.unified_diff(a, b, "/dev/null" if not old else f"a/{rel}", f"b/{rel}"))
    return head + body


@unittest.skipUnless(os.environ.get("KVMCHECK_UPSTREAM_REVIEW", "1") != "0" and
                     (BUILD / "tests.list").exists(), "KVMCHECK_UPSTREAM_REVIEW=0 or no build")
class UpstreamReviewProof(unittest.TestCase):
    REL = "x86/suppress_eoi_cap_test"

    def test_series_own_selftest_fails_before_passes_after(self):
        tmp = tempfile.mkdtemp(prefix="kc-upstream-review.")
        try:
            self._run(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _run(self, tmp):
        # sid's source, fetched (and one small test built) the way the matrix does it.
        ub = upstream.build("sid", "x86_64", tests=["guest_print_test"])
        src = os.path.join(os.path.dirname(ub.path), "src",
                           ub.source.replace(" ", "-"))
        self.assertTrue(os.path.isfile(os.path.join(src, ".kvmcheck-complete")), src)
        base = os.path.join(tmp, "base")
        rc, _, err = faultlib.run(["cp", "-al", src, base])
        if rc != 0:
            # TMPDIR on another filesystem than the cache (a tmpfs /tmp): no hard links there.
            shutil.rmtree(base, ignore_errors=True)
            rc, _, err = faultlib.run(["cp", "-a", src, base])
        self.assertEqual(rc, 0, err)
        os.unlink(os.path.join(base, ".kvmcheck-complete"))
        with open(os.path.join(base, "KVMCHECK_KERNEL"), "w", encoding="utf-8") as f:
            f.write("bookworm\n")
        mk = os.path.join("tools", "testing", "selftests", "kvm", "Makefile.kvm")
        with open(os.path.join(base, mk), encoding="utf-8") as f:
            old_mk = f.read()
        new_mk = old_mk.replace("TEST_GEN_PROGS_x86 += x86/xapic_state_test\n",
                                "TEST_GEN_PROGS_x86 += x86/xapic_state_test\n"
                                f"TEST_GEN_PROGS_x86 += {self.REL}\n", 1)
        self.assertNotEqual(old_mk, new_mk)
        series = os.path.join(tmp, "series")
        os.makedirs(series)
        with open(os.path.join(series, "0001-selftest.patch"), "w", encoding="utf-8") as f:
            f.write(_mail(1, 2, "KVM: selftests: x86: check that suppress-EOI-broadcast is advertised",
                          [_diff(f"tools/testing/selftests/kvm/{self.REL}.c", "", SELFTEST),
                           _diff("tools/testing/selftests/kvm/Makefile.kvm", old_mk, new_mk)]))
        with open(os.path.join(series, "0002-fix.patch"), "w", encoding="utf-8") as f:
            f.write(_mail(2, 2, "KVM: x86: advertise KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST",
                          [_diff("KVMCHECK_KERNEL", "bookworm\n", "sid\n")]))
        out = os.path.join(tmp, "out")
        rc, stdout, err = faultlib.run(
            [faultlib.SCRIPTS / "review.sh", "--out", out, "--base", base, "--build-dir",
             BUILD, "--suite", "upstream", series], timeout=1800)
        with open(os.path.join(out, "review.json"), encoding="utf-8") as f:
            rep = json.load(f)
        rows = [r for p in rep["patches"] for r in p["rows"]]
        name = upstream.PREFIX + self.REL
        mine = [r for r in rows if r["test"] == name]
        self.assertTrue(mine, f"{name} not reviewed: {stdout[-2000:]} {err[-2000:]}")
        for r in mine:
            self.assertEqual((r["before"], r["after"], r["change"]), ("FAIL", "PASS", "proven"),
                             r)
            self.assertEqual(r["how"], "the series' own selftest")
        self.assertIn("suppress_eoi_broadcast advertised", mine[0]["before_reason"] or "")
        self.assertEqual(rc, 0, err[-2000:])
        # The base was never written: the series went to a copy.
        self.assertFalse(os.path.exists(os.path.join(base, "tools", "testing", "selftests", "kvm",
                                                     self.REL + ".c")))
        with open(os.path.join(base, "KVMCHECK_KERNEL"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "bookworm\n")
        self.assertEqual([x for x in os.listdir(os.path.join(out, "review"))
                          if x.startswith("after-src-")], [])


if __name__ == "__main__":
    unittest.main()
