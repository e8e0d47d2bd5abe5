# SPDX-License-Identifier: GPL-2.0-only
"""Reviewer mode (make review, scripts/review.sh, kvmcheck.review, kernel-build.sh): every way a
review was seen to review nothing and exit 0, reproduced without a real kernel.

The base is a stand-in kernel tree whose Makefile does what kernel-build.sh asks of Kbuild
(defconfig, bzImage, modules, modules_install) in milliseconds, so the real kernel-build.sh
applies, builds, caches and reverts. The tests come from a stand-in build directory: tiny shell
programs that print --meta with kernel paths. Booting is the one step replaced: the runner JSON
each kernel "gave" is written by the test (a CRASH after the series, PASS on both ...)."""
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

import faultlib

sys.path.insert(0, str(faultlib.SCRIPTS))
from kvmcheck import review  # noqa: E402

REVIEW = faultlib.SCRIPTS / "review.sh"
KBUILD = faultlib.SCRIPTS / "kernel-build.sh"
FIXTURE = faultlib.TOP / "review" / "fixtures" / "x86-directed-eoi-regression"

KBUILD_MAKEFILE = """\
# A stand-in for Kbuild: the targets kernel-build.sh calls; the image is a copy of lapic.c.
OUT := $(if $(O),$(O),.)
kernelversion:
\t@echo 7.2.0
defconfig:
\t@mkdir -p $(OUT) && echo CONFIG_FAKE=y > $(OUT)/.config
olddefconfig:
\t@test -f $(OUT)/.config
bzImage Image:
\t@mkdir -p $(OUT)/arch/$(ARCH)/boot $(OUT)/include/config
\t@echo 7.2.0-fake > $(OUT)/include/config/kernel.release
\t@cat arch/x86/kvm/lapic.c > $(OUT)/arch/$(ARCH)/boot/$@
modules:
\t@if grep -q BUILD-ERROR arch/x86/kvm/lapic.c; then echo "arch/x86/kvm/lapic.c:2: error: expected ';'"; exit 1; fi
\t@if grep -q SLOW-BUILD arch/x86/kvm/lapic.c; then sleep 120; fi
modules_install:
\t@mkdir -p $(INSTALL_MOD_PATH)/lib/modules/7.2.0-fake
"""
MERGE_CONFIG = "#!/bin/sh\nshift 3; cfg=$1; shift; cat \"$@\" >> \"$cfg\"\n"
LAPIC = "int lapic;\nint eoi;\n"
VHOST = "int vhost;\n"

TESTS = {  # name: kernel paths its --meta lists
    "x86/fake_lapic": ["arch/x86/kvm/lapic.c"],
    "x86/fake_svm": ["arch/x86/kvm/svm/"],
    "vhost/fake_task": ["drivers/vhost/"],
}


def diff(path, old, new):
    """A one-file unified diff that replaces the file's whole text."""
    o, n = old.splitlines(), new.splitlines()
    return (f"--- a/{path}\n+++ b/{path}\n@@ -1,{len(o)} +1,{len(n)} @@\n" +
            "".join(f"-{x}\n" for x in o) + "".join(f"+{x}\n" for x in n))


def mail(subject, body_diff, n=1, total=1):
    return (f"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
            f"From: Dev <dev@example.org>\nSubject: [PATCH {n}/{total}] {subject}\n\n"
            f"A change.\n\nSigned-off-by: Dev <dev@example.org>\n---\n{body_diff}-- \n2.47.0\n\n")


class ReviewFault(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="kc-review-fault."))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        # Private TMPDIR and cache: what a run leaves behind is ours to see, and no other run's.
        self.tmpdir = self.tmp / "tmp"
        self.tmpdir.mkdir()
        self.cache = self.tmp / "cache"
        env = {"TMPDIR": str(self.tmpdir), "XDG_CACHE_HOME": str(self.cache)}
        p = mock.patch.dict(os.environ, env)
        p.start()
        self.addCleanup(p.stop)
        old = tempfile.tempdir
        tempfile.tempdir = str(self.tmpdir)
        self.addCleanup(setattr, tempfile, "tempdir", old)
        self.tree = self.make_tree()
        self.build = self.make_build()
        self.out = self.tmp / "out"

    def make_tree(self):
        t = self.tmp / "linux"
        for rel, text in {"Makefile": KBUILD_MAKEFILE, "Kconfig": 'mainmenu "fake"\n',
                          "arch/x86/kvm/lapic.c": LAPIC, "arch/x86/kvm/mmu.c": "int mmu;\n",
                          "drivers/vhost/vhost.c": VHOST,
                          "scripts/kconfig/merge_config.sh": MERGE_CONFIG}.items():
            (t / rel).parent.mkdir(parents=True, exist_ok=True)
            (t / rel).write_text(text)
        (t / "scripts/kconfig/merge_config.sh").chmod(0o755)
        return t

    def make_build(self):
        b = self.tmp / "build"
        for name, paths in TESTS.items():
            meta = {"name": name, "arch": "x86_64", "summary": "stand-in", "groups": [],
                    "timeout": 10, "patch": None, "min_kernel": None, "shown_on": None,
                    "paths": paths, "subtests": ["one"], "options": []}
            f = b / name
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text("#!/bin/sh\n[ \"$1\" = --meta ] && echo '%s'\n" % json.dumps(meta))
            f.chmod(0o755)
        (b / "tests.list").write_text("\n".join(TESTS) + "\n")
        # The real runner: the QEMU driver lists the selection with it before a boot.
        if faultlib.RUNNER.exists():
            shutil.copy(faultlib.RUNNER, b / "kvmcheck-run")
        return b

    def series(self, *mails):
        f = self.tmp / "series.mbox"
        f.write_text("".join(mails))
        return f

    def tree_files(self):
        return {str(p.relative_to(self.tree)): p.read_text() for p in self.tree.rglob("*")
                if p.is_file()}

    def main(self, *args, verdicts=None, cwd=None):
        """kvmcheck.review in this process, the boot replaced by verdicts[side][test]
        (default PASS). Returns (rc, stdout, stderr, report, runs)."""
        runs = []

        def fake_run(k, arch, build_dir, tests, side, s, work):
            runs.append((side, list(tests), k.path))
            vs = (verdicts or {}).get(side, {})
            doc = {"kernel": "7.2.0-fake", "tests": [
                {"name": t, "verdict": vs.get(t, ("PASS", None))[0], "reason": vs.get(t, ("PASS", None))[1],
                 "subtests": []} for t in tests]}
            path = os.path.join(work, f"run-{arch}-{side}.json")
            Path(path).write_text(json.dumps(doc))
            s.status, s.json = "ok", path

        argv = ["--build-dir", str(self.build), *map(str, args)]
        o, e = io.StringIO(), io.StringIO()
        here = os.getcwd()
        try:
            if cwd:
                os.chdir(cwd)
            with mock.patch.object(review, "run_suite", fake_run), \
                    contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
                try:
                    rc = review.main(argv)
                except SystemExit as ex:
                    rc = ex.code
        finally:
            os.chdir(here)
        out = Path(cwd or ".") / args[args.index("--out") + 1] if "--out" in args else None
        rep = None
        if out and (out / "review.json").exists():
            rep = json.loads((out / "review.json").read_text())
        return rc, o.getvalue(), e.getvalue(), rep, runs

    def assert_nothing_left(self, before_tree=None):
        self.assertEqual(list(self.tmpdir.iterdir()), [], "temporary files left behind")
        if before_tree is not None:
            self.assertEqual(self.tree_files(), before_tree, "the base tree was left changed")
        self.assertFalse((self.tree / ".kvmcheck-review-journal").exists(), "series left applied")
        builds = self.cache / "kvmcheck" / "builds"
        if builds.exists():
            left = [p for p in builds.rglob(".stage.*")] + [p for p in builds.rglob("*.kvtmp")]
            self.assertEqual(left, [], "half-written build left in the cache")

    def pristine(self):
        """The tree's files once kernel-build.sh has configured it (its own .config and logs
        are the build's, not the series')."""
        return {k: v for k, v in self.tree_files().items()
                if k.startswith(("arch/x86/kvm/", "drivers/"))}

    def leave_series_applied(self):
        """What a build killed half-way leaves: lapic.c patched, its journal in the tree."""
        j = self.tree / ".kvmcheck-review-journal"
        (j / "orig/arch/x86/kvm").mkdir(parents=True)
        (j / "orig/arch/x86/kvm/lapic.c").write_text(LAPIC)
        (j / "files").write_text("arch/x86/kvm/lapic.c\n")
        (self.tree / "arch/x86/kvm/lapic.c").write_text(LAPIC + "int killed_midway;\n")


class TestCase1NothingReviewed(ReviewFault):
    def test_relative_out_dir_applies(self):
        """--out results (relative, as make review's default): the split patches are opened by
        absolute path; before, every patch was REJECTED 'Can't open patch file' and exit 0."""
        s = self.series(mail("KVM: x86: tidy kvm_ioapic_send_eoi", diff(
            "arch/x86/kvm/lapic.c", LAPIC, LAPIC + "int tidy;\n")))
        cwd = self.tmp / "cwd"
        cwd.mkdir()
        rc, out, err, rep, runs = self.main("--out", "results", "--base", self.tree, s, cwd=cwd)
        self.assertEqual(rc, 0, out + err)
        p = rep["patches"][0]
        self.assertEqual(p["apply"], {"ok": True, "reason": "applies cleanly"})
        self.assertTrue(os.path.isabs(p["file"]) and os.path.isfile(p["file"]), p["file"])
        self.assertNotIn("REJECTED", out)
        self.assertEqual([r[0] for r in runs], ["before", "after"])
        self.assertIn("int tidy;", Path(runs[1][2], "vmlinuz").read_text(), "after kernel lacks the series")
        self.assertNotIn("int tidy;", Path(runs[0][2], "vmlinuz").read_text())
        self.assertEqual((self.tree / "arch/x86/kvm/lapic.c").read_text(), LAPIC)
        self.assert_nothing_left()

    def test_empty_cache_default_base_is_not_clean(self):
        """Default base, empty cache, no mirror: before, "base …/debian is not a kernel tree" and
        exit 0 for the fixture that must regress. Now: the reason and exit 3."""
        rc, out, err = faultlib.run([REVIEW, "--out", self.out, "--build-dir", self.build, FIXTURE],
                                    env={"KVMCHECK_MIRROR": "http://127.0.0.1:9/debian/", "BASE": ""},
                                    timeout=300)
        self.assertEqual(rc, 3, out + err)
        self.assertIn("cannot reach http://127.0.0.1:9/debian/", err)
        rep = json.loads((self.out / "review.json").read_text())
        self.assertEqual(rep["exit"], 3)
        self.assertIn("base debian: build:debian: cannot reach", rep["patches"][0]["status"])
        self.assertNotIn("clean", out)
        self.assertIn("a kernel could not be built or booted (exit 3)", out)
        src = self.cache / "kvmcheck" / "builds" / "src"
        self.assertEqual([p.name for p in src.iterdir()] if src.exists() else [], [])
        self.assert_nothing_left()

    def test_source_does_not_build(self):
        """kernel-build.sh --source (was review-kbuild.sh src, documented "no build", which built)."""
        before = self.tree_files()
        rc, out, err = faultlib.run([KBUILD, "--source", self.tree], timeout=60)
        self.assertEqual((rc, out.strip()), (0, str(self.tree)), err)
        self.assertEqual(self.tree_files(), before, "--source configured or built the tree")
        builds = self.cache / "kvmcheck" / "builds"
        self.assertEqual(sorted(p.name for p in builds.iterdir()), ["locks"])
        self.assert_nothing_left()

    def test_source_reverts_a_series_left_applied(self):
        self.leave_series_applied()
        rc, _, err = faultlib.run([KBUILD, "--source", self.tree], timeout=60)
        self.assertEqual(rc, 0, err)
        self.assertIn("reverting a series left applied", err)
        self.assertEqual((self.tree / "arch/x86/kvm/lapic.c").read_text(), LAPIC)
        self.assert_nothing_left()

    def test_series_that_does_not_apply_is_exit_4(self):
        s = self.series(mail("KVM: x86: change", diff("arch/x86/kvm/lapic.c", "int other;\nint x;\nint y;\n",
                                                      "int z;\n")))
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree, s)
        self.assertEqual(rc, 4, out + err)
        self.assertIn("REJECTED", out)
        self.assertRegex(out, r"\[1\] does not apply: arch/x86/kvm/lapic.c: hunk #1 FAILED")
        self.assertIn("nothing was reviewed (exit 4)", out)
        self.assertEqual(runs, [])
        self.assert_nothing_left(None)

    def test_no_diff_is_exit_4(self):
        f = self.tmp / "digest.txt"
        f.write_text("New: KVM: x86: something\n\nAuthor: Dev <dev@example.org>\n\nNo diff here.\n---\n"
                     " arch/x86/kvm/lapic.c | 2 +-\n 1 file changed\n")
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree, f)
        self.assertEqual(rc, 4, out + err)
        self.assertIn("no diff in this message: nothing to build", out)
        self.assertIn("nothing was reviewed (exit 4)", out)
        self.assertEqual(runs, [])

    def test_after_build_fails_is_exit_3_and_reverted(self):
        s = self.series(mail("KVM: x86: break the build", diff(
            "arch/x86/kvm/lapic.c", LAPIC, LAPIC + "BUILD-ERROR\n")))
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree, s)
        self.assertEqual(rc, 3, out + err)
        after = rep["kernels"]["x86_64"]["after"]
        self.assertEqual(after["status"], "NOT-BUILT")
        self.assertIn("arch/x86/kvm/lapic.c:2: error: expected ';'", after["reason"])
        self.assertEqual([r[0] for r in runs], ["before"])
        self.assertEqual((self.tree / "arch/x86/kvm/lapic.c").read_text(), LAPIC)
        self.assert_nothing_left()


class TestBaseSeries(ReviewFault):
    """--base-series: the tree the series was written against is BASE + the base series; the
    before kernel is built from it, the after kernel from it + the series."""
    MUTANT = LAPIC + "int mutant;\n"

    def base_series_dir(self):
        d = self.tmp / "base-series"
        d.mkdir()
        # Two patches, the second written on top of the first: name order is apply order.
        (d / "0001-mutant.patch").write_text("kvmcheck mutant: stand-in\nRule: none\n\n" +
                                            diff("arch/x86/kvm/lapic.c", LAPIC, self.MUTANT))
        (d / "0002-more.patch").write_text(diff("arch/x86/kvm/lapic.c", self.MUTANT,
                                                 self.MUTANT + "int mutant2;\n"))
        return d

    def test_base_series_is_under_both_kernels(self):
        base = self.base_series_dir()
        # The fix is written against the base series: it applies only on top of it.
        s = self.series(mail("KVM: x86: undo the mutant", diff(
            "arch/x86/kvm/lapic.c", self.MUTANT + "int mutant2;\n", LAPIC + "int fixed;\n")))
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree,
                                            "--base-series", base, s)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual([r[0] for r in runs], ["before", "after"])
        before = Path(runs[0][2], "vmlinuz").read_text()
        after = Path(runs[1][2], "vmlinuz").read_text()
        self.assertEqual(before, self.MUTANT + "int mutant2;\n", "before kernel is not base + base series")
        self.assertEqual(after, LAPIC + "int fixed;\n", "after kernel is not base + base series + series")
        self.assertEqual(rep["base_series"], {"path": str(base), "apply": "applies cleanly",
                                              "patches": ["0001-mutant.patch", "0002-more.patch"]})
        self.assertEqual(rep["patches"][0]["apply"], {"ok": True, "reason": "applies cleanly"})
        self.assertIn(f"# base series: {base} (0001-mutant.patch, 0002-more.patch): applies cleanly", out)
        self.assertEqual((self.tree / "arch/x86/kvm/lapic.c").read_text(), LAPIC)
        self.assert_nothing_left()

    def test_base_series_that_does_not_apply_is_exit_4(self):
        bad = self.tmp / "bad.patch"
        bad.write_text(diff("arch/x86/kvm/lapic.c", "int other;\nint x;\nint y;\n", "int z;\n"))
        s = self.series(mail("KVM: x86: change", diff("arch/x86/kvm/lapic.c", LAPIC, LAPIC + "int c;\n")))
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree,
                                            "--base-series", bad, s)
        self.assertEqual(rc, 4, out + err)
        why = "not tried: the base series does not apply: bad.patch: arch/x86/kvm/lapic.c: hunk #1 FAILED"
        self.assertTrue(rep["base_series"]["apply"].startswith(why), rep["base_series"])
        self.assertTrue(rep["patches"][0]["status"].startswith(why), rep["patches"][0])
        self.assertIn(f"[1] {why}", out)
        self.assertIn("nothing was reviewed (exit 4)", out)
        self.assertEqual(runs, [])
        builds = self.cache / "kvmcheck" / "builds"
        self.assertEqual([p.name for p in builds.iterdir() if p.name.startswith("tree-")], [],
                         "a kernel was built")
        self.assertEqual((self.tree / "arch/x86/kvm/lapic.c").read_text(), LAPIC)
        self.assert_nothing_left()

    def test_hook_names_each_side_s_kernel(self):
        """A KVMCHECK_KERNEL tree (no build): the before kernel is the one the hook names once
        the base series is applied, the after kernel once the series is too."""
        (self.tree / "KVMCHECK_KERNEL").write_text("bookworm\n")
        base = self.tmp / "base.patch"
        base.write_text(diff("KVMCHECK_KERNEL", "bookworm\n", "BUILD-FAIL base series applied\n"))
        s = self.series(mail("KVM: x86: change", diff("KVMCHECK_KERNEL", "BUILD-FAIL base series applied\n",
                                                      "BUILD-FAIL series applied\n")))
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree,
                                            "--base-series", base, s)
        self.assertEqual(rc, 3, out + err)
        k = rep["kernels"]["x86_64"]
        self.assertEqual((k["before"]["reason"], k["after"]["reason"]),
                         ("build failed: base series applied", "build failed: series applied"))
        self.assertEqual((self.tree / "KVMCHECK_KERNEL").read_text(), "bookworm\n")

    def test_missing_base_series_is_exit_2(self):
        s = self.series(mail("KVM: x86: change", diff("arch/x86/kvm/lapic.c", LAPIC, LAPIC + "int c;\n")))
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree,
                                            "--base-series", self.tmp / "nope", s)
        self.assertEqual(rc, 2, out + err)
        self.assertIn(f"--base-series {self.tmp / 'nope'}: no such file or directory", err)
        empty = self.tmp / "empty"
        empty.mkdir()
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree,
                                            "--base-series", empty, s)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("holds no *.patch", err)
        self.assertEqual(runs, [])


class TestTreeLock(ReviewFault):
    """review reads BASE's source tree (the series tried on copies of its files, the upstream
    after tree copied) under kernel-build.sh's lock of that tree: a build applies its series in
    the tree itself."""

    def test_lock_file_is_kernel_build_sh_s(self):
        rc, _, err = faultlib.run([KBUILD, "--source", self.tree], timeout=60)
        self.assertEqual(rc, 0, err)
        locks = self.cache / "kvmcheck" / "builds" / "locks"
        self.assertEqual([p.name for p in locks.iterdir()],
                         [os.path.basename(review.tree_lock_file(os.path.realpath(self.tree)))])

    def test_review_waits_for_a_build_holding_the_tree(self):
        import fcntl
        lock = review.tree_lock_file(str(self.tree))
        os.makedirs(os.path.dirname(lock), exist_ok=True)
        code = ("import sys; from kvmcheck import review\n"
                "with review.tree_locked(sys.argv[1], sys.argv[1], sys.argv[2]):\n"
                "    print('read the tree', flush=True)\n")
        with open(lock, "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            p = subprocess.Popen([sys.executable, "-c", code, str(self.tree), str(self.tmp)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ, PYTHONPATH=str(faultlib.SCRIPTS)))
            said = p.stderr.readline()
            self.assertIn(f"review: waiting for {self.tree} (a kernel build holds it)", said)
            self.assertIsNone(p.poll(), "review read the tree while a build held it")
        out, err = p.communicate(timeout=60)
        self.assertEqual((p.returncode, out), (0, "read the tree\n"), err)

    def test_series_left_applied_is_reverted_before_reading(self):
        self.leave_series_applied()
        work = self.tmp / "work"
        work.mkdir()
        with contextlib.redirect_stderr(io.StringIO()) as e:
            with review.tree_locked(str(self.tree), str(self.tree), str(work)):
                seen = (self.tree / "arch/x86/kvm/lapic.c").read_text()
        self.assertEqual(seen, LAPIC, e.getvalue())
        self.assertIn("an interrupted build left a series applied", e.getvalue())
        self.assertFalse((self.tree / ".kvmcheck-review-journal").exists())


class TestBadInput(ReviewFault):
    def test_unwritable_out_is_refused_before_anything(self):
        f = self.tmp / "file"
        f.write_text("")
        rc, out, err = faultlib.run([REVIEW, "--out", f / "sub", "--build-dir", self.build, FIXTURE], timeout=60)
        self.assertEqual(rc, 2, out + err)
        self.assertIn(f"--out {f}/sub: cannot write there", err)
        self.assertFalse((self.cache / "kvmcheck").exists(), "something was fetched or built")
        self.assert_nothing_left()


class TestInterrupt(ReviewFault):
    @unittest.skipUnless(faultlib.RUNNER.exists(), f"{faultlib.RUNNER} not built (make)")
    def test_ctrl_c_during_the_after_build_reverts_the_series(self):
        s = self.series(mail("KVM: x86: slow", diff("arch/x86/kvm/lapic.c", LAPIC, LAPIC + "SLOW-BUILD\n")))
        p = subprocess.Popen([str(REVIEW), "--out", str(self.out), "--build-dir", str(self.build),
                              "--base", str(self.tree), str(s)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                             # A background job inherits SIGINT ignored: give it a terminal's.
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        journal = self.tree / ".kvmcheck-review-journal"
        deadline = time.monotonic() + 300
        while not journal.exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.1)
        if not journal.exists():
            p.kill()
            self.fail("the after build never started: " + "".join(p.communicate()))
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, out + err)
        self.assertIn("interrupted", err)
        self.assertEqual((self.tree / "arch/x86/kvm/lapic.c").read_text(), LAPIC)
        self.assertEqual(faultlib.stray_processes(str(self.tree)), [], "a build outlived the review")
        self.assert_nothing_left()


class TestCase6MakeReview(ReviewFault):
    def make_review(self, **env):
        return faultlib.run(["make", "-s", "-C", faultlib.TOP, f"O={faultlib.BUILD}", "review"],
                            env=env, timeout=600)

    def test_injection_is_a_file_name(self):
        rc, out, err = self.make_review(PATCHES="x' ; echo INJECTED ; echo '")
        self.assertEqual(rc, 2, out + err)
        self.assertNotIn("INJECTED", out.splitlines())
        self.assertIn("x' ; echo INJECTED ; echo ': no such file or directory", err)

    def test_quote_in_file_name(self):
        f = self.tmp / "it's a \"series\".mbox"
        f.write_text(mail("KVM: x86: quoted", diff("arch/x86/kvm/lapic.c", LAPIC, LAPIC + "int q;\n")))
        rc, out, err = self.make_review(PATCHES=str(f), BASE=str(self.tmp / "no such tree"),
                                        REVIEW_OUT=str(self.out))
        self.assertEqual(rc, 2, out + err)
        self.assertIn("no such tree: no such kernel tree", err)
        rep = json.loads((self.out / "review.json").read_text())
        self.assertEqual(rep["input"], str(f))
        self.assert_nothing_left()


class TestCase7Crash(ReviewFault):
    def test_crash_after_is_regressed(self):
        s = self.series(mail("vhost: drop a task reference early", diff(
            "drivers/vhost/vhost.c", VHOST, VHOST + "int put_task;\n")))
        splat = "refcount_t: underflow; use-after-free.\nWARNING: CPU: 0 PID: 91 at lib/refcount.c:28"
        before = self.pristine()
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree, s, verdicts={
            "after": {"vhost/fake_task": ("CRASH", splat)}})
        self.assertEqual(rc, 1, out + err)
        self.assertIn("regressed: kernel crashed in vhost/fake_task: refcount_t: underflow; use-after-free.", out)
        self.assertEqual(rep["patches"][0]["status"],
                         "regressed: kernel crashed in vhost/fake_task: refcount_t: underflow; use-after-free.")
        self.assertIn('type="regressed"', (self.out / "review-junit.xml").read_text())
        self.assertEqual(self.pristine(), before)
        self.assert_nothing_left()


class TestCase8Paths(ReviewFault):
    def test_lapic_patch_is_chosen_by_path(self):
        s = self.series(mail("KVM: x86: fold two helpers", diff("arch/x86/kvm/lapic.c", LAPIC, "int lapic_eoi;\n")))
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree, s)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual([r[1] for r in runs], [["x86/fake_lapic"], ["x86/fake_lapic"]])
        rows = rep["patches"][0]["rows"]
        self.assertEqual([(r["test"], r["how"], r["change"]) for r in rows],
                         [("x86/fake_lapic", "paths: arch/x86/kvm/lapic.c", "no behaviour change seen")])
        self.assertRegex(out, r"x86/fake_lapic\s+paths: arch/x86/kvm/lapic.c\s+PASS\s+PASS")
        self.assert_nothing_left()

    def test_unmatched_patch_runs_the_whole_suite(self):
        s = self.series(mail("KVM: x86: mmu cleanup", diff("arch/x86/kvm/mmu.c", "int mmu;\n", "int mmu2;\n")))
        rc, out, err, rep, runs = self.main("--out", self.out, "--base", self.tree, s, verdicts={
            "after": {"x86/fake_svm": ("FAIL", "subtest one failed")}})
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(sorted(runs[0][1]), sorted(TESTS))
        hows = {r["test"]: (r["how"], r["change"]) for r in rep["patches"][0]["rows"]}
        self.assertEqual(hows["x86/fake_svm"], ("whole suite", "regressed"))
        self.assertEqual(hows["x86/fake_lapic"], ("whole suite", "no behaviour change seen"))


class TestCase11Help(ReviewFault):
    def test_help_prints_the_whole_header(self):
        rc, out, err = faultlib.run([REVIEW, "--help"], timeout=30)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.rstrip().endswith("130 interrupted."), out[-200:])
        rc, _, err = faultlib.run([KBUILD, "--help"], timeout=30)
        self.assertEqual(rc, 0)
        self.assertIn("4 the series does not apply to this base.", err)
        self.assertIn("--series DIR", err)


if __name__ == "__main__":
    unittest.main()
