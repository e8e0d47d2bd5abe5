# SPDX-License-Identifier: GPL-2.0-only
"""kvmcheck.upstream without a kernel source: the suite selector, the line -> source rule, the
path -> test map reviewer mode uses, the test list read from a Makefile, and the hits a series
gets (its own selftest always among them)."""
import os
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from kvmcheck import kernels, patches, upstream  # noqa: E402
from kvmcheck.util import InputError  # noqa: E402

MAKEFILE = """\
TEST_GEN_PROGS_COMMON = set_memory_region_test
TEST_GEN_PROGS_COMMON += guest_print_test
TEST_GEN_PROGS_x86 = $(TEST_GEN_PROGS_COMMON)
TEST_GEN_PROGS_x86 += x86/xapic_state_test
TEST_GEN_PROGS_x86 += x86/svm_vmcall_test
TEST_GEN_PROGS_x86 += guest_memfd_test
TEST_GEN_PROGS_riscv = $(TEST_GEN_PROGS_COMMON)
TEST_GEN_PROGS_riscv += riscv/ebreak_test
"""


class Suites(unittest.TestCase):
    def test_default_and_env(self):
        old = os.environ.pop("SUITES", None)
        try:
            self.assertEqual(upstream.parse_suites().names, ("kvmcheck",))
            os.environ["SUITES"] = "upstream"
            self.assertEqual(upstream.parse_suites().names, ("upstream",))
        finally:
            os.environ.pop("SUITES", None)
            if old is not None:
                os.environ["SUITES"] = old

    def test_both_in_order_and_full(self):
        s = upstream.parse_suites("upstream kvmcheck")
        self.assertEqual(s.names, ("kvmcheck", "upstream"))
        self.assertFalse(s.full)
        self.assertEqual(str(upstream.parse_suites("all upstream-full")), "kvmcheck upstream-full")

    def test_unknown(self):
        with self.assertRaises(InputError):
            upstream.parse_suites("selftests")


class Sources(unittest.TestCase):
    def test_line_sources(self):
        L = kernels.Line
        self.assertEqual(upstream.source_for(L("bookworm", "debian", "bookworm", "x86_64")),
                         "bookworm")
        self.assertEqual(upstream.source_for(L("sid-riscv64", "debian", "sid", "riscv64")), "sid")
        self.assertEqual(upstream.source_for(L("build-debian", "build", "debian", "x86_64")), "sid")
        self.assertEqual(upstream.source_for(L("build-linux", "build", "/src/linux", "x86_64")),
                         "/src/linux")
        self.assertEqual(upstream.source_for(L("host", "host", "host", "x86_64")), "sid")

    def test_quick_set_excludes_nothing_it_names_twice(self):
        for arch, tests in upstream.QUICK.items():
            self.assertEqual(len(tests), len(set(tests)), arch)


class Paths(unittest.TestCase):
    def test_paths_of(self):
        self.assertIn("arch/x86/kvm/lapic.c", upstream.paths_of("x86/xapic_state_test"))
        self.assertIn("virt/kvm/guest_memfd.c", upstream.paths_of("guest_memfd_test"))
        self.assertEqual(upstream.paths_of("no_such_area_test"), ["virt/kvm/kvm_main.c"])

    def test_tests_for_paths(self):
        avail = ["x86/xapic_state_test", "x86/svm_vmcall_test", "guest_memfd_test",
                 "set_memory_region_test", "x86/new_test"]
        self.assertEqual(upstream.tests_for_paths(["arch/x86/kvm/lapic.c"], avail),
                         ["x86/xapic_state_test"])
        self.assertEqual(upstream.tests_for_paths(["virt/kvm/guest_memfd.c"], avail),
                         ["guest_memfd_test"])
        self.assertEqual(upstream.tests_for_paths(
            ["tools/testing/selftests/kvm/x86/new_test.c"], avail), ["x86/new_test"])
        self.assertEqual(upstream.tests_for_paths(["Documentation/x.rst"], avail), [])


class Trees(unittest.TestCase):
    def setUp(self):
        self.tree = tempfile.mkdtemp(prefix="kc-upstream-unit.")
        kvm = os.path.join(self.tree, "tools", "testing", "selftests", "kvm")
        os.makedirs(kvm)
        with open(os.path.join(kvm, "Makefile.kvm"), "w", encoding="utf-8") as f:
            f.write(MAKEFILE)
        with open(os.path.join(kvm, "Makefile"), "w", encoding="utf-8") as f:
            f.write("include Makefile.kvm\n")

    def tearDown(self):
        shutil.rmtree(self.tree)

    def test_available(self):
        self.assertEqual(upstream.available(self.tree, "x86_64"),
                         ["set_memory_region_test", "guest_print_test", "x86/xapic_state_test",
                          "x86/svm_vmcall_test", "guest_memfd_test"])
        self.assertEqual(upstream.available(self.tree, "riscv64"),
                         ["set_memory_region_test", "guest_print_test", "riscv/ebreak_test"])

    def test_source_of_tree(self):
        self.assertEqual(upstream.source_of_tree(self.tree), self.tree)
        self.assertEqual(upstream.source_of_tree("/nonexistent", "trixie"), "trixie")
        self.assertEqual(upstream.source_of_tree("/nonexistent", "custom"), "sid")

    def test_review_hits(self):
        def patch(i, files):
            p = patches.Patch.__new__(patches.Patch)
            p.index, p.kind, p.arch, p.files, p.tests = i, "kernel", "x86_64", files, []
            p.apply = {"ok": True}
            return p
        test_patch = patch(1, ["tools/testing/selftests/kvm/x86/svm_vmcall_test.c"])
        fix = patch(2, ["arch/x86/kvm/lapic.c"])
        names = upstream.review_tests([test_patch, fix], self.tree, "x86_64")
        self.assertEqual(names, ["upstream/x86/svm_vmcall_test", "upstream/x86/xapic_state_test"])
        self.assertEqual([(h.test, h.how) for h in test_patch.tests],
                         [("upstream/x86/svm_vmcall_test", "the series' own selftest")])
        self.assertIn(("upstream/x86/svm_vmcall_test", "the series' own selftest"),
                      [(h.test, h.how) for h in fix.tests])
        self.assertIn(("upstream/x86/xapic_state_test", "upstream, by path"),
                      [(h.test, h.how) for h in fix.tests])


if __name__ == "__main__":
    unittest.main()
