# SPDX-License-Identifier: GPL-2.0-only
"""scripts/review.sh (kvmcheck.review) and kvmcheck.patches without a kernel build.

A small kernel-like git tree (Makefile, Kconfig, arch/x86/kvm/lapic.c and arch/riscv/kvm/vcpu.c
stubs) stands in for the base, and its KVMCHECK_KERNEL file (the hook bisect-step.sh has too)
names the kernel that "building" it gives: a series that changes KVMCHECK_KERNEL from bookworm
to sid turns the base kernel into Debian's 6.1 and the patched one into 7.2, so the verdicts of
the one end-to-end test are real ones from two QEMU boots (about 30 s). Everything else (the
three input formats, applying, rejected hunks, matching by subject, Revert and Fixes, the bad
inputs) runs no guest."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
REVIEW = TOP / "scripts" / "review.sh"
BUILD = Path(os.environ.get("KVMCHECK_BUILD", TOP / "build" / "x86_64"))
RISCV_BUILD = Path(os.environ.get("KVMCHECK_BUILD_RISCV64", TOP / "build" / "riscv64"))
sys.path.insert(0, str(TOP / "scripts"))
from kvmcheck import patches  # noqa: E402
SEED = Path("/work/shared/seed/kvm-digest-9dae7b43b-002d7bd6b.txt")
DIRECTED_EOI = "KVM: x86: skip userspace IOAPIC EOI exit when Directed EOI is enabled"

LAPIC = """// SPDX-License-Identifier: GPL-2.0-only
static void kvm_ioapic_send_eoi(struct kvm_lapic *apic, int vector)
{
	if (irqchip_split(apic->vcpu->kvm)) {
		apic->vcpu->arch.pending_ioapic_eoi = vector;
		kvm_make_request(KVM_REQ_IOAPIC_EOI_EXIT, apic->vcpu);
		return;
	}
}
"""
VCPU = """// SPDX-License-Identifier: GPL-2.0-only
int kvm_arch_vcpu_ioctl_set_mpstate(struct kvm_vcpu *vcpu, struct kvm_mp_state *mp_state)
{
	return -EINVAL;
}
"""


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=kvmcheck", "-c",
                           "user.email=kvmcheck@localhost", *args],
                          check=True, capture_output=True, text=True).stdout


class Tree:
    """The synthetic base tree, and format-patch series made from commits on top of it."""

    def __init__(self, root, kernel="bookworm"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        git(self.root, "init", "-q", "-b", "main")
        self.write("Makefile", "VERSION = 7\nPATCHLEVEL = 2\n")
        self.write("Kconfig", "mainmenu \"synthetic\"\n")
        self.write("arch/x86/kvm/lapic.c", LAPIC)
        self.write("arch/riscv/kvm/vcpu.c", VCPU)
        self.write("KVMCHECK_KERNEL", f"# the kernel this tree 'builds'\n{kernel}\n")
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", "base")
        self.base = git(self.root, "rev-parse", "HEAD").strip()

    def write(self, rel, text):
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def commit(self, subject, files, body=""):
        for rel, text in files.items():
            self.write(rel, text)
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", subject + ("\n\n" + body if body else ""))

    def format_patch(self, outdir):
        git(self.root, "format-patch", "-q", "--numbered", "-o", str(outdir), self.base)
        return sorted(Path(outdir).glob("*.patch"))

    def reset(self):
        """Back to the base, so the series applies to what the reviewer has."""
        git(self.root, "reset", "-q", "--hard", self.base)


class ReviewCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def review(self, source, base, timeout=110):
        out = self.dir / "out"
        rv = ["--riscv-build-dir", str(RISCV_BUILD)] if (RISCV_BUILD / "tests.list").exists() else []
        p = subprocess.run([str(REVIEW), "--out", str(out), "--base", str(base), "--build-dir",
                            str(BUILD), *rv, str(source)], capture_output=True, text=True, timeout=timeout)
        rep = json.loads((out / "review.json").read_text()) if (out / "review.json").exists() else None
        return p, rep, out

    def split(self, source):
        ps = patches.split_input(source)
        patches.write_patches(ps, self.dir / "split")
        return ps

    def check(self, ps, src):
        """apply_check in a scratch directory; (applies, the scratch dir)."""
        scratch = self.dir / "scratch"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        return patches.apply_check(ps, src, scratch), scratch


class TestSplit(ReviewCase):
    def make_series(self):
        t = Tree(self.dir / "linux")
        t.commit(DIRECTED_EOI, {"arch/x86/kvm/lapic.c": LAPIC.replace(
            "\tif (irqchip_split", "\tif (suppress(apic))\n\t\treturn;\n\tif (irqchip_split")},
            "Link: https://lore.kernel.org/kvm/example@nutanix.com/")
        t.commit("RISCV: KVM: Add support for userspace to suspend a vCPU",
                 {"arch/riscv/kvm/vcpu.c": VCPU.replace("return -EINVAL;", "return 0;")})
        files = t.format_patch(self.dir / "fp")
        t.reset()
        return t, files

    def test_format_patch_dir_and_mbox_agree(self):
        _, files = self.make_series()
        mbox = self.dir / "series.mbox"
        mbox.write_text("".join(f.read_text() for f in files))
        for source in (self.dir / "fp", mbox):
            ps = self.split(source)
            self.assertEqual([p.subject for p in ps],
                             [DIRECTED_EOI, "RISCV: KVM: Add support for userspace to suspend a vCPU"])
            self.assertEqual([p.arch for p in ps], ["x86_64", "riscv64"])
            self.assertTrue(all(p.has_diff and p.kind == "kernel" for p in ps))
            self.assertTrue(all(os.path.isabs(p.file) for p in ps))
            self.assertEqual(ps[0].link, "https://lore.kernel.org/kvm/example@nutanix.com/")
            self.assertEqual(ps[0].series, {"version": 1, "n": 1, "total": 2})

    @unittest.skipUnless(SEED.exists(), "seed digest not on this machine")
    def test_seed_digest_is_a_coverage_table(self):
        p, rep, out = self.review(SEED, "debian")
        # A digest has no diffs: a coverage table, nothing built or run, so never exit 0.
        self.assertEqual(p.returncode, 4, p.stderr)
        pats = rep["patches"]
        self.assertEqual(len(pats), 9)
        by = {x["subject"]: x for x in pats}
        self.assertEqual(by[DIRECTED_EOI]["status"], "no diff in this message: nothing to build")
        self.assertEqual([r["test"] for r in by[DIRECTED_EOI]["rows"]], ["x86/directed_eoi"])
        conv = by["accel/kvm: Fix kvm_convert_memory calls crossing memory regions"]
        self.assertTrue(conv["status"].startswith("not a kernel patch"))
        self.assertIn("x86/private_mem_conversion", conv["status"])
        sev1 = by["target/i386: SEV: Generalize handling of SVM_SEV_FEAT_SNP_ACTIVE"]
        self.assertEqual([(r["test"], r["how"]) for r in sev1["rows"]], [("x86/sev_vmsa_features", "series")])
        riscv = by["RISCV: KVM: Add support for userspace to suspend a vCPU"]
        if (RISCV_BUILD / "tests.list").exists():  # riscv64 metadata comes from its binaries
            self.assertEqual((riscv["arch"], riscv["rows"][0]["test"]), ("riscv64", "riscv/mp_state_suspended"))
        self.assertIn("no diff in this message", (out / "review.txt").read_text())
        self.assertIn("<testsuite", (out / "review-junit.xml").read_text())

    def test_no_patches(self):
        f = self.dir / "empty.txt"
        f.write_text("just some mail\n\nwithout any diff\n")
        p, rep, _ = self.review(f, "debian")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(rep["patches"], [])
        self.assertIn("no patch found", p.stdout)


class TestApplyAndMatch(ReviewCase):
    def test_rejected_hunk_is_named_and_the_rest_not_tried(self):
        t = Tree(self.dir / "linux")
        t.commit("KVM: x86: first", {"arch/x86/kvm/lapic.c": LAPIC.replace("vector;", "vector; /* 1 */")})
        t.commit("KVM: x86: second", {"arch/x86/kvm/lapic.c": LAPIC.replace("vector;", "vector; /* 2 */")})
        files = t.format_patch(self.dir / "fp")
        t.reset()
        # Drop the first patch: the second one's context no longer exists in the base.
        files[0].unlink()
        shutil.copy(files[1], self.dir / "x.patch")
        ps = self.split(self.dir / "x.patch")
        ok, _ = self.check(ps, t.root)
        self.assertFalse(ok)
        reason = ps[0].apply["reason"]
        self.assertRegex(reason, r"does not apply: arch/x86/kvm/lapic.c: hunk #1 FAILED at line \d+")

    def test_series_applies_in_order_on_copies(self):
        t = Tree(self.dir / "linux")
        t.commit("KVM: x86: first", {"arch/x86/kvm/lapic.c": LAPIC.replace("vector;", "vector; /* 1 */")})
        t.commit("KVM: x86: second", {"arch/x86/kvm/lapic.c": LAPIC.replace("vector;", "vector; /* 12 */")})
        t.format_patch(self.dir / "fp")
        t.reset()
        ps = self.split(self.dir / "fp")
        ok, scratch = self.check(ps, t.root)
        self.assertTrue(ok, [p.apply for p in ps])
        self.assertIn("/* 12 */", (scratch / "arch/x86/kvm/lapic.c").read_text())
        self.assertNotIn("/* 1", (t.root / "arch/x86/kvm/lapic.c").read_text(), "the base was touched")

    def test_match_by_fixes_tag_and_revert(self):
        t = Tree(self.dir / "linux")
        t.commit("KVM: TDX: Initialize r before tdx_get_sysinfo()", {"arch/x86/kvm/lapic.c": LAPIC + "\n"},
                 'Fixes: 61bb28279623 ("KVM: TDX: Get system-wide info about TDX module on initialization")')
        t.commit(f'Revert "{DIRECTED_EOI}"', {"arch/x86/kvm/lapic.c": LAPIC + "\n\n"})
        t.commit("KVM: x86: unrelated cleanup", {"arch/x86/kvm/lapic.c": LAPIC + "\n\n\n"})
        t.format_patch(self.dir / "fp")
        ps = self.split(self.dir / "fp")
        meta = patches.collect_meta(BUILD, "x86_64")
        for m in meta:
            m.paths = []  # named matches only: the paths fallback has its own test
        patches.match(ps, meta)
        self.assertEqual([(h.test, h.how) for h in ps[0].tests], [("x86/tdx_bringup", "Fixes tag")])
        self.assertEqual([(h.test, h.how) for h in ps[1].tests],
                         [("x86/directed_eoi", "reverts the patch it verifies")])
        self.assertEqual(ps[2].tests, [])

    def test_match_by_kernel_path(self):
        """A patch no test names, matched by the kernel files in the tests' --meta paths."""
        meta = patches.collect_meta(BUILD, "x86_64")
        if not any(m.paths for m in meta):
            self.skipTest(f"{BUILD}: no test lists kernel paths")
        t = Tree(self.dir / "linux")
        t.commit("KVM: x86: unrelated cleanup", {"arch/x86/kvm/lapic.c": LAPIC + "\n"})
        ps = self.split(Path(t.format_patch(self.dir / "fp")[0]))
        patches.match(ps, meta)
        self.assertIn(("x86/directed_eoi", "paths: arch/x86/kvm/lapic.c"), [(h.test, h.how) for h in ps[0].tests])

    def test_base_not_a_kernel_tree(self):
        t = Tree(self.dir / "linux")
        t.commit(DIRECTED_EOI, {"arch/x86/kvm/lapic.c": LAPIC + "\n"})
        t.format_patch(self.dir / "fp")
        notkernel = self.dir / "notkernel"
        notkernel.mkdir()
        p, rep, _ = self.review(self.dir / "fp", notkernel)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("not a kernel tree", p.stderr)
        self.assertIn("not a kernel tree", rep["patches"][0]["status"])
        self.assertEqual(rep["kernels"], {})  # nothing built, nothing booted

    def test_build_fails_and_kernel_does_not_boot(self):
        junk = self.dir / "junk.img"
        junk.write_bytes(b"\0" * 4096)
        t = Tree(self.dir / "linux", kernel=str(junk))
        t.commit(DIRECTED_EOI, {"arch/x86/kvm/lapic.c": LAPIC + "\n",
                                "KVMCHECK_KERNEL": "BUILD-FAIL lapic.c: error: expected ';'\n"})
        t.format_patch(self.dir / "fp")
        t.reset()
        p, rep, out = self.review(self.dir / "fp", t.root)
        self.assertEqual(p.returncode, 3, p.stderr)  # no kernel to test: never a pass
        k = rep["kernels"]["x86_64"]
        self.assertEqual(k["before"]["status"], "NOT-BUILT")
        self.assertIn("junk.img", k["before"]["reason"])
        self.assertEqual(k["after"]["build"], "failed")
        self.assertIn("lapic.c: error: expected ';'", k["after"]["reason"])
        row = rep["patches"][0]["rows"][0]
        self.assertEqual(row["change"], "not run")  # no verdict without both kernels
        self.assertIn("before kernel:", row["note"])


class TestEndToEnd(ReviewCase):
    """Two real boots: bookworm's 6.1 as the base, sid's 7.2 after the series."""

    def test_proven_by_subtests(self):
        for suite in ("bookworm", "sid"):
            p = subprocess.run([str(TOP / "scripts/kernel-fetch.sh"), suite], capture_output=True,
                               text=True, timeout=600)
            if p.returncode != 0:
                self.skipTest(f"Debian {suite} kernel unavailable: {p.stderr.strip()[-200:]}")
        t = Tree(self.dir / "linux")
        t.commit(DIRECTED_EOI, {"arch/x86/kvm/lapic.c": LAPIC.replace(
            "\tif (irqchip_split", "\tif (suppress(apic))\n\t\treturn;\n\tif (irqchip_split"),
            "KVMCHECK_KERNEL": "sid\n"})
        t.format_patch(self.dir / "fp")
        t.reset()
        p, rep, out = self.review(self.dir / "fp", t.root, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        row = rep["patches"][0]["rows"][0]
        self.assertEqual((row["test"], row["before"], row["after"], row["change"]),
                         ("x86/directed_eoi", "PASS", "PASS", "proven"), row)
        self.assertIn("cap_advertised SKIP->PASS", row["note"])
        text = (out / "review.txt").read_text()
        self.assertRegex(text, r"x86/directed_eoi\s+subject\s+PASS\s+PASS\s+proven")
        self.assertIn("reviewed, nothing regressed (exit 0)", text)


if __name__ == "__main__":
    unittest.main()
