# SPDX-License-Identifier: GPL-2.0-only
"""make mutants (kvmcheck.mutants): every way a mutant run could claim more than it proved,
reproduced without a real kernel.

The base is a stand-in kernel tree whose Makefile does what kernel-build.sh asks of Kbuild in
milliseconds (the "image" is a copy of lapic.c), so the real kernel-build.sh applies each mutant,
builds, caches and reverts. The tests come from a stand-in build directory (shell programs that
print --meta) listed by the real runner. Booting is the one step replaced: the verdicts a kernel
"gave" are read off its image (a mutant writes BREAK-CAP, CRASH ... into lapic.c)."""
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
from kvmcheck import mutants, results  # noqa: E402

KBUILD_MAKEFILE = """\
OUT := $(if $(O),$(O),.)
kernelversion:
\t@echo 7.2.0
defconfig:
\t@mkdir -p $(OUT) && echo CONFIG_FAKE=y > $(OUT)/.config
olddefconfig:
\t@test -f $(OUT)/.config
bzImage:
\t@mkdir -p $(OUT)/arch/$(ARCH)/boot $(OUT)/include/config
\t@echo 7.2.0-fake > $(OUT)/include/config/kernel.release
\t@cat arch/x86/kvm/lapic.c > $(OUT)/arch/$(ARCH)/boot/$@
modules:
\t@if grep -q BUILD-ERROR arch/x86/kvm/lapic.c; then echo "arch/x86/kvm/lapic.c:2: error: expected ';'"; exit 1; fi
\t@s=$$(sed -n 's/.*SLOW-BUILD-\\([0-9]*\\).*/\\1/p' arch/x86/kvm/lapic.c); if [ -n "$$s" ]; then sleep 97.$$s; fi
modules_install:
\t@mkdir -p $(INSTALL_MOD_PATH)/lib/modules/7.2.0-fake
"""
MERGE_CONFIG = "#!/bin/sh\nshift 3; cfg=$1; shift; cat \"$@\" >> \"$cfg\"\n"
LAPIC = "int lapic;\nint eoi;\nint storm;\n"

TESTS = {   # name: (groups, timeout, subtests)
    "x86/fake_eoi": (["x86", "seed"], 60, ["cap", "storm"]),
    "common/fake_ucall": (["runtime"], 30, ["sync"]),
    "x86/fake_slow": (["runtime"], 120, ["long"]),      # runtime, but not quick
}


def mutant(name, old, new, caught="x86/fake_eoi:cap", extra=""):
    o, n = LAPIC.splitlines(), LAPIC.replace(old, new).splitlines()
    diff = (f"--- a/arch/x86/kvm/lapic.c\n+++ b/arch/x86/kvm/lapic.c\n@@ -1,{len(o)} +1,{len(n)} @@\n"
            + "".join(f"-{x}\n" for x in o) + "".join(f"+{x}\n" for x in n))
    return (f"kvmcheck mutant: {name}\nBehaviour: fake_eoi\nRule: the {old.strip()} rule\n"
            f"Caught-by: {caught}\n{extra}\n{diff}")


def verdicts(image):
    """What a kernel whose lapic.c is IMAGE does to the stand-in tests."""
    text = Path(image).read_text()
    v = {"x86/fake_eoi": {"cap": "PASS", "storm": "PASS"}, "common/fake_ucall": {"sync": "PASS"},
         "x86/fake_slow": {"long": "PASS"}}
    if "BREAK-CAP" in text:
        v["x86/fake_eoi"]["cap"] = "FAIL"
    if "BREAK-UCALL" in text:
        v["common/fake_ucall"]["sync"] = "FAIL"
    if "UCALL-ALWAYS-FAILS" in text:      # the base itself fails this test
        v["common/fake_ucall"]["sync"] = "FAIL"
    return v


class MutantsFault(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="kc-mutants-fault."))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.tmpdir = self.tmp / "tmp"
        self.tmpdir.mkdir()
        self.cache = self.tmp / "cache"
        p = mock.patch.dict(os.environ, {"TMPDIR": str(self.tmpdir),
                                         "XDG_CACHE_HOME": str(self.cache)})
        p.start()
        self.addCleanup(p.stop)
        old = tempfile.tempdir
        tempfile.tempdir = str(self.tmpdir)
        self.addCleanup(setattr, tempfile, "tempdir", old)
        self.tree = self.make_tree(LAPIC)
        self.build = self.make_build()
        self.mdir = self.tmp / "mutants"
        self.mdir.mkdir()
        self.out = self.tmp / "out"
        self.boots = []

    def make_tree(self, lapic):
        t = self.tmp / "linux"
        for rel, text in {"Makefile": KBUILD_MAKEFILE, "Kconfig": 'mainmenu "fake"\n',
                          "arch/x86/kvm/lapic.c": lapic,
                          "scripts/kconfig/merge_config.sh": MERGE_CONFIG}.items():
            (t / rel).parent.mkdir(parents=True, exist_ok=True)
            (t / rel).write_text(text)
        (t / "scripts/kconfig/merge_config.sh").chmod(0o755)
        return t

    def make_build(self):
        if not faultlib.RUNNER.exists():
            self.skipTest(f"no runner at {faultlib.RUNNER} (make)")
        b = self.tmp / "build"
        for name, (groups, timeout, subs) in TESTS.items():
            meta = {"name": name, "arch": "x86_64", "summary": "stand-in", "groups": groups,
                    "timeout": timeout, "patch": None, "min_kernel": None, "shown_on": None,
                    "paths": ["arch/x86/kvm/lapic.c"], "subtests": subs, "options": []}
            f = b / name
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text("#!/bin/sh\n[ \"$1\" = --meta ] && echo '%s'\n" % json.dumps(meta))
            f.chmod(0o755)
        (b / "tests.list").write_text("\n".join(TESTS) + "\n")
        shutil.copy(faultlib.RUNNER, b / "kvmcheck-run")
        return b

    def add(self, name, *args, **kw):
        (self.mdir / f"{name}.patch").write_text(mutant(name, *args, **kw))

    def fake_run(self, k, build_dir, tests, logdir, json_path):
        self.boots.append((k.path, list(tests)))
        v = verdicts(k.image)
        doc = {"kernel": "7.2.0-fake", "tests": []}
        for t in tests:
            subs = [{"name": s, "verdict": x, "reason": None if x == "PASS" else f"{s} broke"}
                    for s, x in v[t].items()]
            doc["tests"].append({"name": t, "verdict": results.combine(s["verdict"] for s in subs),
                                 "reason": None, "subtests": subs})
        if "CRASH" in Path(k.image).read_text() and "x86/fake_eoi" in tests:
            doc["tests"][0] = {"name": "x86/fake_eoi", "verdict": "CRASH", "subtests": [
                {"name": "cap", "verdict": "PASS", "reason": None}],
                "reason": "BUG: kernel NULL pointer dereference"}
        os.makedirs(logdir, exist_ok=True)
        Path(json_path).write_text(json.dumps(doc))
        return json_path, None

    def main(self, *args):
        argv = ["--base", str(self.tree), "--build-dir", str(self.build), "--out", str(self.out),
                *args, str(self.mdir)]
        o, e = io.StringIO(), io.StringIO()
        with mock.patch.object(mutants, "run_tests", self.fake_run), \
                contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            try:
                rc = mutants.main(argv)
            except SystemExit as ex:
                rc = ex.code
        rep = None
        if (self.out / "mutants.json").exists():
            rep = json.loads((self.out / "mutants.json").read_text())
        return rc, o.getvalue(), e.getvalue(), rep

    def assert_nothing_left(self):
        self.assertEqual(list(self.tmpdir.iterdir()), [], "temporary files left behind")
        self.assertEqual((self.tree / "arch/x86/kvm/lapic.c").read_text(), LAPIC,
                         "the base tree was left changed")
        self.assertFalse((self.tree / ".kvmcheck-review-journal").exists(), "a mutant left applied")
        builds = self.cache / "kvmcheck" / "builds"
        if builds.exists():
            left = [p for p in builds.rglob("*") if p.name.startswith((".stage.", ".drop."))
                    or p.name.endswith(".kvtmp")]
            self.assertEqual(left, [], "half-written or half-removed build left in the cache")
            self.assertEqual([p for p in builds.iterdir() if "-series-" in p.name], [],
                             "a mutant kernel was left in the build cache")

    def by_name(self, rep):
        return {m["name"]: m for m in rep["mutants"]}


class TestVerdicts(MutantsFault):
    def test_all_killed_is_exit_0_and_equivalent_not_counted(self):
        """Killed by its claimed subtest, killed by a crash (shown apart), an equivalent one not
        run: exit 0, the base tree as it was, no mutant kernel kept."""
        self.add("m-cap", "int eoi;", "int eoi; /* BREAK-CAP */")
        self.add("m-crash", "int storm;", "int storm; /* CRASH */", caught="x86/fake_eoi:storm")
        self.add("m-same", "int lapic;", "int lapic; /* a comment */",
                 extra="Equivalent: a comment changes no behaviour\n")
        rc, out, err, rep = self.main()
        self.assertEqual(rc, 0, out + err)
        m = self.by_name(rep)
        self.assertEqual(m["m-cap"]["status"], "KILLED")
        self.assertTrue(m["m-cap"]["claimed_caught"])
        self.assertEqual(m["m-cap"]["cells"], {"x86/fake_eoi": "KILLED", "common/fake_ucall": "SURVIVED"})
        self.assertIn("x86/fake_eoi:cap FAIL: cap broke", m["m-cap"]["killed_by"])
        self.assertEqual(m["m-crash"]["status"], "KILLED")
        self.assertEqual(m["m-crash"]["cells"]["x86/fake_eoi"], "CRASH")
        self.assertIn("KILLED(CRASH)", out)
        self.assertEqual(m["m-same"]["status"], "EQUIVALENT")
        self.assertIn("fake_eoi   2/2", out)
        # Quick tests: the runtime group with a short timeout, never the slow one.
        self.assertEqual(rep["quick"], ["common/fake_ucall"])
        # The base ran once, then each non-equivalent mutant once, each on its own kernel.
        self.assertEqual(len(self.boots), 3)
        self.assertEqual(len({b[0] for b in self.boots}), 3)
        self.assertTrue((self.out / "mutants-junit.xml").exists())
        self.assertIn("every counted mutant was killed (exit 0)", out)
        self.assert_nothing_left()

    def test_survivor_is_exit_1_and_named(self):
        """A mutant no test catches: exit 1, the table and the line below name it, its rule and
        the subtests that should have caught it."""
        self.add("m-cap", "int eoi;", "int eoi; /* BREAK-CAP */")
        self.add("m-quiet", "int storm;", "int storm_renamed;", caught="x86/fake_eoi:storm")
        rc, out, err, rep = self.main()
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(self.by_name(rep)["m-quiet"]["status"], "SURVIVED")
        self.assertIn("[m-quiet] SURVIVED: the int storm; rule; must be caught by x86/fake_eoi:storm", out)
        self.assertIn("a mutant survived (exit 1)", out)
        junit = (self.out / "mutants-junit.xml").read_text()
        self.assertIn('type="survived"', junit)
        self.assert_nothing_left()

    def test_kill_of_a_test_failing_on_the_base_does_not_count(self):
        """A test that already fails on the base kernel cannot kill a mutant: the cell says
        BASE-FAIL and the mutant survives (before: any FAIL would have counted)."""
        shutil.rmtree(self.tree)
        self.tree = self.make_tree(LAPIC + "/* UCALL-ALWAYS-FAILS */\n")
        # The mutant's diff against this tree's text.
        text = (self.tree / "arch/x86/kvm/lapic.c").read_text()
        o, n = text.splitlines(), text.replace("int lapic;", "int lapic; /* BREAK-UCALL */").splitlines()
        diff = (f"--- a/arch/x86/kvm/lapic.c\n+++ b/arch/x86/kvm/lapic.c\n@@ -1,{len(o)} +1,{len(n)} @@\n"
                + "".join(f"-{x}\n" for x in o) + "".join(f"+{x}\n" for x in n))
        (self.mdir / "m-ucall.patch").write_text(
            "kvmcheck mutant: m-ucall\nBehaviour: runtime\nRule: sync\nCaught-by: common/fake_ucall:sync\n\n" + diff)
        rc, out, err, rep = self.main()
        self.assertEqual(rc, 1, out + err)
        m = self.by_name(rep)["m-ucall"]
        self.assertEqual(m["cells"]["common/fake_ucall"], "BASE-FAIL")
        self.assertEqual(m["status"], "SURVIVED")
        self.assertIn("failing on the base (cannot kill): common/fake_ucall", err)


class TestReuse(MutantsFault):
    def test_list_builds_nothing(self):
        self.add("m-cap", "int eoi;", "int eoi; /* BREAK-CAP */")
        self.add("m-kasan", "int eoi;", "int eoi2;", extra="Needs: kasan (a use-after-free)\n")
        rc, out, err, rep = self.main("--list")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("m-cap  fake_eoi  run  x86/fake_eoi common/fake_ucall", out)
        self.assertIn("m-kasan  fake_eoi  NEEDS", out)
        self.assertFalse((self.cache / "kvmcheck" / "builds").exists(), "--list built something")
        self.assertEqual(self.boots, [])

    def test_base_json_reused_not_booted_again(self):
        """--base-json: an earlier run's base results; the base is not booted again, and a base
        run lacking a test the mutants need is refused (exit 2) rather than judged without it."""
        self.add("m-cap", "int eoi;", "int eoi; /* BREAK-CAP */")
        rc, out, err, rep = self.main()
        self.assertEqual(rc, 0, out + err)
        saved = self.tmp / "base-run.json"
        shutil.copy(self.out / "work" / "base-run.json", saved)
        self.boots.clear()
        rc, out, err, rep = self.main("--base-json", str(saved))
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(len(self.boots), 1, "the base was booted again")
        doc = json.loads(saved.read_text())
        doc["tests"] = [t for t in doc["tests"] if t["name"] != "x86/fake_eoi"]
        saved.write_text(json.dumps(doc))
        rc, out, err, rep = self.main("--base-json", str(saved))
        self.assertEqual(rc, 2, out + err)
        self.assertIn("has no result for x86/fake_eoi", err)
        self.assert_nothing_left()


class TestInterrupted(MutantsFault):
    def test_interrupt_during_a_boot_drops_the_kernel(self):
        """Ctrl-C while a mutant's tests run: what ran is reported, exit 130, the mutant kernel
        leaves the cache, the tree is as it was."""
        self.add("m-cap", "int eoi;", "int eoi; /* BREAK-CAP */")
        real = self.fake_run

        def interrupted(k, build_dir, tests, logdir, json_path):
            if "BREAK-CAP" in Path(k.image).read_text():
                raise KeyboardInterrupt
            return real(k, build_dir, tests, logdir, json_path)

        self.fake_run = interrupted
        rc, out, err, rep = self.main()
        self.assertEqual(rc, 130, out + err)
        m = self.by_name(rep)["m-cap"]
        self.assertEqual((m["status"], m["reason"]), ("NOT-RUN", "interrupted"))
        self.assertIn("mutants: interrupted (exit 130)", out)
        self.assert_nothing_left()

    def test_sigterm_during_a_build_reverts_and_stops_it(self):
        """SIGTERM to make mutants while kernel-build.sh builds a mutant: exit 130 within
        seconds with the report written, the build's processes gone, the mutant reverted from
        the base tree."""
        # A sleep of its own: another run of this suite (make check elsewhere) sleeps too.
        tag = f"{os.getpid() % 100000:05d}"
        sleeper = f"sleep 97.{tag}"
        self.add("m-slow", "int eoi;", f"int eoi; /* SLOW-BUILD-{tag} */")
        base = self.tmp / "base-run.json"
        base.write_text(json.dumps({"kernel": "7.2.0-fake", "tests": [
            {"name": t, "verdict": "PASS", "subtests": [{"name": x, "verdict": "PASS"} for x in subs]}
            for t, (_, _, subs) in TESTS.items()]}))
        env = dict(os.environ, PYTHONPATH=str(faultlib.SCRIPTS))
        p = subprocess.Popen([sys.executable, "-m", "kvmcheck.mutants", "--base", str(self.tree),
                              "--build-dir", str(self.build), "--out", str(self.out),
                              "--base-json", str(base), str(self.mdir)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.communicate()))
        deadline = time.monotonic() + 60
        while not faultlib.stray_processes(sleeper) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertTrue(faultlib.stray_processes(sleeper), "the mutant build never started")
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, out + err)
        self.assertLess(time.monotonic() - t0, 45)
        self.assertIn("mutants: interrupted (exit 130)", out)
        rep = json.loads((self.out / "mutants.json").read_text())
        self.assertEqual(rep["mutants"][0]["status"], "NOT-RUN")
        self.assertEqual(faultlib.stray_processes(sleeper), [], "the build outlived make mutants")
        self.assert_nothing_left()


class TestOrderAndBudget(MutantsFault):
    def test_select_order_is_run_order_and_budget_stops_starting(self):
        """--select runs the mutants in the order its globs name them; past --budget no new one
        starts, and those left are NOT-RUN, not counted, and said so."""
        self.add("m-a", "int eoi;", "int eoi; /* BREAK-CAP a */")
        self.add("m-b", "int eoi;", "int eoi; /* BREAK-CAP b */")
        self.add("m-c", "int eoi;", "int eoi; /* BREAK-CAP c */")
        real = self.fake_run

        def slow(k, build_dir, tests, logdir, json_path):
            time.sleep(1.2)
            return real(k, build_dir, tests, logdir, json_path)

        self.fake_run = slow
        rc, out, err, rep = self.main("--select", "m-c m-*", "--budget", "1")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual([m["name"] for m in rep["mutants"]], ["m-c", "m-a", "m-b"])
        st = {m["name"]: m["status"] for m in rep["mutants"]}
        self.assertEqual(st, {"m-c": "KILLED", "m-a": "NOT-RUN", "m-b": "NOT-RUN"})
        self.assertIn("[m-a] NOT-RUN: not started: the --budget of 1 s was spent", out)
        self.assertIn("3 mutants: 1 killed, 0 survived, 0 not built or booted, 0 not counted, 2 not run", out)
        self.assert_nothing_left()


class TestNotTested(MutantsFault):
    def test_mutant_that_does_not_apply_is_exit_3(self):
        """A mutant written against another source: NOT-BUILT with the reason, exit 3, the
        others still run."""
        self.add("m-cap", "int eoi;", "int eoi; /* BREAK-CAP */")
        (self.mdir / "m-stale.patch").write_text(
            "kvmcheck mutant: m-stale\nBehaviour: fake_eoi\nRule: r\nCaught-by: x86/fake_eoi:cap\n\n"
            "--- a/arch/x86/kvm/lapic.c\n+++ b/arch/x86/kvm/lapic.c\n@@ -1,1 +1,1 @@\n"
            "-int nothing_like_this;\n+int other;\n")
        rc, out, err, rep = self.main()
        self.assertEqual(rc, 3, out + err)
        m = self.by_name(rep)
        self.assertEqual(m["m-stale"]["status"], "NOT-BUILT")
        self.assertIn("does not apply to the base", m["m-stale"]["reason"])
        self.assertEqual(m["m-cap"]["status"], "KILLED")
        self.assert_nothing_left()

    def test_mutant_that_does_not_compile_is_exit_3(self):
        self.add("m-broken", "int eoi;", "int eoi BUILD-ERROR")
        rc, out, err, rep = self.main()
        self.assertEqual(rc, 3, out + err)
        m = self.by_name(rep)["m-broken"]
        self.assertEqual(m["status"], "NOT-BUILT")
        self.assertIn("error: expected ';'", m["reason"])
        self.assert_nothing_left()


class TestBadInput(MutantsFault):
    def test_header_without_caught_by_is_exit_2_before_building(self):
        (self.mdir / "m-bad.patch").write_text("kvmcheck mutant: m-bad\nBehaviour: x\nRule: r\n\n"
                                              "--- a/arch/x86/kvm/lapic.c\n+++ b/arch/x86/kvm/lapic.c\n")
        rc, out, err, rep = self.main()
        self.assertEqual(rc, 2, out + err)
        self.assertIn("m-bad.patch: the header has no 'Caught-by:' line", err)
        self.assertFalse((self.cache / "kvmcheck" / "builds").exists(), "built before refusing")
        self.assertEqual(self.boots, [])

    def test_caught_by_unknown_subtest_is_exit_2(self):
        self.add("m-typo", "int eoi;", "int eoi2;", caught="x86/fake_eoi:capp")
        rc, out, err, rep = self.main()
        self.assertEqual(rc, 2, out + err)
        self.assertIn("x86/fake_eoi has no subtest capp", err)
        self.assertEqual(self.boots, [])

    def test_select_matching_nothing_is_exit_2(self):
        self.add("m-cap", "int eoi;", "int eoi; /* BREAK-CAP */")
        rc, out, err, rep = self.main("--select", "deoi-*")
        self.assertEqual(rc, 2, out + err)
        self.assertIn("--select deoi-*: matches none of the 1 mutants", err)

    def test_only_uncountable_mutants_is_exit_4(self):
        self.add("m-kasan", "int eoi;", "int eoi2;", extra="Needs: kasan (a use-after-free)\n")
        rc, out, err, rep = self.main()
        self.assertEqual(rc, 4, out + err)
        m = self.by_name(rep)["m-kasan"]
        self.assertEqual(m["status"], "NEEDS")
        self.assertIn("make mutants DEBUG=1", m["reason"])
        self.assertEqual(self.boots, [])


class TestJudge(unittest.TestCase):
    """The cell rules on runner JSON alone."""

    def run_of(self, tests):
        return results.parse_run({"kernel": "k", "tests": tests}, "synthetic")

    def test_timeout_before_the_claimed_subtest_reported_is_a_kill(self):
        m = mutants.Mutant(name="m", file="m.patch", behaviour="b", rule="r",
                           caught_by=["x86/t:b"], tests=["x86/t"])
        base = self.run_of([{"name": "x86/t", "verdict": "PASS", "subtests": [
            {"name": "a", "verdict": "PASS"}, {"name": "b", "verdict": "PASS"}]}])
        run = self.run_of([{"name": "x86/t", "verdict": "TIMEOUT", "reason": "TIMEOUT after 30 s",
                            "subtests": [{"name": "a", "verdict": "PASS"}]}])
        mutants.judge(m, base, run)
        self.assertEqual(m.cells, {"x86/t": "TIMEOUT"})
        self.assertEqual(m.status, "KILLED")
        self.assertTrue(m.claimed_caught)

    def test_kill_elsewhere_is_marked(self):
        m = mutants.Mutant(name="m", file="m.patch", behaviour="b", rule="r",
                           caught_by=["x86/t:b"], tests=["x86/t"])
        run = self.run_of([{"name": "x86/t", "verdict": "FAIL", "subtests": [
            {"name": "a", "verdict": "FAIL", "reason": "x"}, {"name": "b", "verdict": "PASS"}]}])
        mutants.judge(m, None, run)
        self.assertEqual(m.status, "KILLED")
        self.assertFalse(m.claimed_caught)

    def test_skip_is_not_a_kill(self):
        m = mutants.Mutant(name="m", file="m.patch", behaviour="b", rule="r",
                           caught_by=["x86/t:a"], tests=["x86/t"])
        run = self.run_of([{"name": "x86/t", "verdict": "SKIP", "subtests": [
            {"name": "a", "verdict": "SKIP", "reason": "kernel predates it"}]}])
        mutants.judge(m, None, run)
        self.assertEqual(m.cells, {"x86/t": "SKIPPED"})
        self.assertEqual(m.status, "SURVIVED")


if __name__ == "__main__":
    unittest.main()
