# SPDX-License-Identifier: GPL-2.0-only
"""The runner's verdict (issue 10, case 2, and what crash attribution needs from it).

kvmcheck-run passed a test binary that printed no TAP and exited 0, and one that printed
'ok 1 x' twice under plan 1..2; --import-tap of a guest's stream counted one failure more than
the guest had ("2 passed, 1 failed" there, "2 passed, 2 failed" after import), because it read
a test's verdict from its reason's first word. Each case here is reproduced with a fake build
dir (tests.list and tiny shell scripts that answer --meta like the real binaries) and asserts
the reason the user sees, the exit status (docs/ORCHESTRATION.md: 0 only when something was
tested and nothing failed, 1 a test failed, 2 bad usage) and that nothing is left behind: no
process of the fakes, no temporary file. No QEMU; about a second in all."""
import json
import os
import re
import shutil
import signal
import tempfile
import textwrap
import unittest

import faultlib

RUNNER = faultlib.RUNNER
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")

# Every fake records its pid, so the test can tell that none outlived the run.
PROLOGUE = r'''#!/bin/sh
echo $$ >> "$FAKE_STATE/pids"
if [ "$1" = "--meta" ]; then
	cat <<'EOF'
%s
EOF
	exit 0
fi
if [ "$1" = "--list" ]; then
	printf '%%s\n' %s
	exit 0
fi
'''


def meta(name, subtests, **extra):
    m = {"name": name, "arch": "x86_64", "summary": "fake " + name, "groups": ["fake"],
         "timeout": 30, "patch": None, "min_kernel": None, "shown_on": None,
         "paths": [], "subtests": list(subtests), "options": []}
    m.update(extra)
    return m


def tap(*lines, rc=0):
    """A body printing these TAP lines, then exiting with rc."""
    return "".join("echo '%s'\n" % l for l in lines) + "exit %d\n" % rc


FAKES = {
    # Case 2 as the issue saw it: nothing printed, exit 0, three subtests declared.
    "x86/silent": (meta("x86/silent", ["a", "b", "c"]), "exit 0\n"),
    # 'ok 1 x' twice under plan 1..2.
    "x86/dup": (meta("x86/dup", ["x", "y"]),
                tap("TAP version 13", "1..2", "ok 1 x", "ok 1 x")),
    # Plan and count agree, but a declared subtest never came.
    "x86/missing": (meta("x86/missing", ["a", "b"]), tap("TAP version 13", "1..1", "ok 1 a")),
    # A subtest nobody declared.
    "x86/undeclared": (meta("x86/undeclared", ["a"]),
                       tap("TAP version 13", "1..2", "ok 1 a", "ok 2 zz")),
    # The plan promises more than came.
    "x86/plan": (meta("x86/plan", ["a", "b"]),
                 tap("TAP version 13", "1..3", "ok 1 a", "ok 2 b")),
    # Ignores -s: prints every subtest whatever was asked.
    "x86/deaf": (meta("x86/deaf", ["a", "b"]),
                 tap("TAP version 13", "1..2", "ok 1 a", "ok 2 b")),
    # A subtest's own reason starts with TIMEOUT (the harness's per-subtest alarm): the test
    # is FAIL with one failure, not TIMEOUT with two.
    "x86/subtimeout": (meta("x86/subtimeout", ["a", "b", "c"]),
                       tap("TAP version 13", "1..3", "ok 1 a",
                           "not ok 2 b # TIMEOUT after 5 s (the guest or an ioctl did not "
                           "return)", "ok 3 c", rc=1)),
    # Its reason starts with CRASHED, and it is still only a subtest failure.
    "x86/subcrash": (meta("x86/subcrash", ["a", "b"]),
                     tap("TAP version 13", "1..2",
                         "not ok 1 a # CRASHED in the guest: #PF at 0x0", "ok 2 b", rc=1)),
    # Well-behaved ones, for selection and crash streams.
    "x86/one": (meta("x86/one", ["a", "b"], patch={"subject": "KVM: one", "fixes": None,
                                                   "link": None, "author": "A <a@b>"},
                     paths=["arch/x86/kvm/lapic.c"], future_field={"kept": [1, 2.5]}),
                tap("TAP version 13", "1..2", "ok 1 a", "ok 2 b")),
    "x86/directed_eoi": (meta("x86/directed_eoi", ["cap_advertised", "disable"]), r'''
sel=""
while [ $# -gt 0 ]; do
	case "$1" in
	-s) sel="$sel $2"; shift 2 ;;
	*) exit 2 ;;
	esac
done
[ -n "$sel" ] || sel="cap_advertised disable"
n=0; for s in $sel; do n=$((n+1)); done
echo "TAP version 13"; echo "1..$n"
i=0; for s in $sel; do i=$((i+1)); echo "ok $i $s"; done
'''),
    "x86/three": (meta("x86/three", ["a"]), tap("TAP version 13", "1..1", "ok 1 a")),
}


def write_fake(path, m, body):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(PROLOGUE % (json.dumps(m), " ".join(m["subtests"])))
        f.write(textwrap.dedent(body))
    os.chmod(path, 0o755)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@unittest.skipUnless(os.access(RUNNER, os.X_OK), "no runner at %s: build it first" % RUNNER)
class RunnerVerdicts(unittest.TestCase):
    def setUp(self):
        # Not "kvmcheck*": that prefix is what the leftover check watches.
        self.tmp = tempfile.mkdtemp(prefix="kcfault-runner-")
        self.dir = os.path.join(self.tmp, "build")
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(self.state)
        for name, (m, body) in FAKES.items():
            write_fake(os.path.join(self.dir, name), m, body)
        with open(os.path.join(self.dir, "tests.list"), "w") as f:
            f.write("\n".join(FAKES) + "\n")
        self.before = faultlib.tmp_entries()

    def tearDown(self):
        for pid in self.pids():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.tmp)

    def pids(self):
        try:
            with open(os.path.join(self.state, "pids")) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return []

    def runner(self, *args):
        rc, out, err = faultlib.run([RUNNER, "--dir", self.dir, *args],
                                    env={"FAKE_STATE": self.state, "KVMCHECK_TARGET": ""},
                                    timeout=60)
        self.assert_nothing_left()
        return rc, out, err

    def assert_nothing_left(self):
        self.assertEqual([p for p in self.pids() if alive(p)], [], "a fake outlived the run")
        self.assertEqual(faultlib.stray_processes(self.dir), [])
        self.assertEqual(faultlib.tmp_entries() - self.before, set(), "temporary files left")

    def result(self, out, name):
        for line in out.splitlines():
            m = re.match(r"^(ok|not ok) \d+ (\S+)[^#]*(?: # (.*))?$", line)
            if m and m.group(2) == name:
                return m.group(1), m.group(3)
        self.fail("no result line for %s in:\n%s" % (name, out))

    def summary(self, out):
        m = SUMMARY.match(out.rstrip("\n").splitlines()[-1])
        self.assertTrue(m, "last line is not the summary:\n" + out)
        return tuple(int(x) for x in m.groups())

    def assert_fails(self, name, reason, pattern=None):
        rc, out, err = self.runner("-t", pattern or name)
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(self.result(out, name), ("not ok", reason))
        return out

    # -- case 2: a pass is a claim that every declared subtest reported once --

    def test_no_tap_exit_0_fails(self):
        out = self.assert_fails("x86/silent", "reported no TAP: subtests 'a', 'b', 'c' missing")
        self.assertEqual(self.summary(out), (0, 1, 0))

    def test_duplicate_ok_fails(self):
        out = self.assert_fails("x86/dup", "subtest 1 'x' reported twice; 'y' missing")
        self.assertEqual(self.summary(out)[1], 1)

    def test_missing_subtest_fails(self):
        self.assert_fails("x86/missing", "'b' missing")

    def test_undeclared_subtest_fails(self):
        self.assert_fails("x86/undeclared", "subtest 2 'zz' is not declared by --meta")

    def test_plan_mismatch_fails(self):
        self.assert_fails("x86/plan", "planned 3 subtests but reported 2")

    def test_selection_is_the_declared_set(self):
        # Asked for b only, the fake printed a and b: a was not asked for.
        self.assert_fails("x86/deaf", "subtest 1 'a' was not selected", "x86/deaf:b")
        rc, out, err = self.runner("-t", "x86/directed_eoi:disable")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("    1..1\n    ok 1 disable\n", out)

    def test_well_behaved_passes(self):
        rc, out, err = self.runner("-t", "x86/one", "-t", "x86/three")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.summary(out), (3, 0, 0))

    # -- selection by bare name (case 11) --

    def test_bare_name_selects(self):
        rc, out, err = self.runner("-t", "directed_eoi")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.result(out, "x86/directed_eoi"), ("ok", None))
        self.assertIn("1..1\n", out)
        rc, out, err = self.runner("-t", "directed_eoi:cap_advertised")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("    1..1\n    ok 1 cap_advertised\n", out)
        self.assertEqual(self.summary(out), (1, 0, 0))

    def test_pattern_matching_nothing_is_usage_error(self):
        for pattern in ("directed_eo", "nosuch", "riscv/*"):
            rc, out, err = self.runner("-t", pattern)
            self.assertEqual(rc, 2, err)
            self.assertEqual(out, "")
            self.assertIn("-t '%s' matches no test in %s/tests.list" % (pattern, self.dir), err)

    def test_nothing_to_run_is_not_a_pass(self):
        with open(os.path.join(self.dir, "tests.list"), "w") as f:
            f.write("# every test commented out\n")
        rc, out, err = self.runner()
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("%s/tests.list names no test" % self.dir, err)
        stream = os.path.join(self.tmp, "empty.tap")
        with open(stream, "w") as f:
            f.write("TAP version 13\n1..0\n0 passed, 0 failed, 0 skipped\n# kvmcheck-exit: 0\n")
        rc, out, err = self.runner("--import-tap", stream)
        self.assertEqual(rc, 1)
        self.assertIn("the runner there ran no test", err)

    # -- the start line, for crash attribution --

    def test_start_line_before_each_block(self):
        rc, out, err = self.runner("-t", "x86/one", "-t", "x86/three")
        lines = out.splitlines()
        for name in ("x86/one", "x86/three"):
            start = lines.index("# kvmcheck: start " + name)
            self.assertLess(start, lines.index("    # Subtest: " + name))

    # -- --import-tap: one run, one count --

    def live_and_import(self, *tests):
        args = [a for t in tests for a in ("-t", t)]
        rc, live, err = self.runner(*args, "--json", os.path.join(self.tmp, "live.json"))
        stream = os.path.join(self.tmp, "guest.tap")
        with open(stream, "w") as f:
            f.write("SeaBIOS noise\r\n" + live.replace("\n", "\r\n") + "# kvmcheck-exit: %d\r\n" % rc)
        irc, imp, ierr = self.runner("--import-tap", stream, "--json",
                                     os.path.join(self.tmp, "import.json"))
        return (rc, live), (irc, imp, ierr)

    def load(self, name):
        with open(os.path.join(self.tmp, name)) as f:
            return json.load(f)

    def test_import_counts_equal_guest_counts(self):
        tests = ("x86/subtimeout", "x86/subcrash", "x86/one", "x86/silent", "x86/dup")
        (rc, live), (irc, imp, ierr) = self.live_and_import(*tests)
        self.assertEqual(rc, 1)
        self.assertEqual(irc, 1, ierr)
        # subtimeout 2+1f, subcrash 1+1f, one 2, silent 1f, dup 2+1f
        self.assertEqual(self.summary(live), (7, 4, 0))
        self.assertEqual(self.summary(imp), self.summary(live))
        self.assertEqual(self.result(imp, "x86/subtimeout"), self.result(live, "x86/subtimeout"))
        a, b = self.load("live.json"), self.load("import.json")
        self.assertEqual(a["summary"], b["summary"])
        self.assertEqual([(t["name"], t["verdict"], t["reason"]) for t in a["tests"]],
                         [(t["name"], t["verdict"], t["reason"]) for t in b["tests"]])
        verdicts = {t["name"]: t["verdict"] for t in b["tests"]}
        self.assertEqual(verdicts["x86/subtimeout"], "FAIL")
        self.assertEqual(verdicts["x86/subcrash"], "FAIL")
        self.assertEqual(b["summary"]["timeout"], 0)
        self.assertEqual(b["summary"]["crashed"], 0)

    def test_import_refuses_counts_that_differ(self):
        (rc, live), _ = self.live_and_import("x86/one")
        stream = os.path.join(self.tmp, "tampered.tap")
        with open(stream, "w") as f:
            f.write(live.replace("2 passed, 0 failed, 0 skipped", "3 passed, 0 failed, 0 skipped"))
        irc, imp, ierr = self.runner("--import-tap", stream)
        self.assertEqual(irc, 1)
        self.assertIn("the runner there counted 3 passed, 0 failed, 0 skipped; its TAP reads "
                      "2 passed, 0 failed, 0 skipped", ierr)

    def crashed_stream(self, then_rest):
        """The guest ran one, started directed_eoi and died; the host wrote the CRASHED line
        and, with then_rest, appended a second boot's stream that ran x86/three."""
        rc, first, err = self.runner("-t", "x86/one", "-t", "x86/directed_eoi", "-t", "x86/three")
        self.assertEqual(rc, 0, first + err)
        cut = first[:first.index("# kvmcheck: start x86/directed_eoi\n")]
        cut += "# kvmcheck: start x86/directed_eoi\n"
        cut += ("not ok 2 x86/directed_eoi # CRASHED refcount_t: underflow; use-after-free "
                "(kernel panic)\n")
        if then_rest:
            rc, rest, err = self.runner("-t", "x86/three")
            self.assertEqual(rc, 0, rest + err)
            cut += rest + "# kvmcheck-exit: 0\n"
        stream = os.path.join(self.tmp, "crash.tap")
        with open(stream, "w") as f:
            f.write(cut)
        return self.runner("--import-tap", stream, "--json", os.path.join(self.tmp, "c.json"))

    def test_import_crashed_line_then_second_boot(self):
        rc, out, err = self.crashed_stream(then_rest=True)
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.result(out, "x86/directed_eoi"),
                         ("not ok", "CRASHED refcount_t: underflow; use-after-free (kernel panic)"))
        self.assertEqual(self.result(out, "x86/three"), ("ok", None))
        self.assertNotIn("# kvmcheck: start", out)
        # one: 2 passed; directed_eoi: the crash, one failure; three: 1 passed.
        self.assertEqual(self.summary(out), (3, 1, 0))
        data = self.load("c.json")
        self.assertEqual([(t["name"], t["number"], t["verdict"]) for t in data["tests"]],
                         [("x86/one", 1, "PASS"), ("x86/directed_eoi", 2, "CRASH"),
                          ("x86/three", 3, "PASS")])
        self.assertEqual(data["summary"]["crashed"], 1)
        self.assertEqual(data["tests"][2]["exit_status"], 0)

    def test_import_crashed_line_rest_missing(self):
        rc, out, err = self.crashed_stream(then_rest=False)
        self.assertEqual(rc, 1)
        self.assertIn("output ended after test 2 of 3", err)
        self.assertEqual(self.result(out, "x86/directed_eoi")[1][:7], "CRASHED")
        # tests.list here is not the guest's: nothing names the third test.
        self.assertEqual(self.result(out, "(unreported"),
                         ("not ok", "output ended after test 2 of 3 (guest crashed or timed out?)"))
        self.assertEqual(self.summary(out), (2, 2, 0))

    def test_import_names_the_started_test(self):
        # No host line: the stream just stops after the start line.
        rc, first, err = self.runner("-t", "x86/one", "-t", "x86/three")
        stream = os.path.join(self.tmp, "cut.tap")
        with open(stream, "w") as f:
            f.write(first[:first.index("# kvmcheck: start x86/three\n")] +
                    "# kvmcheck: start x86/three\n")
        # tests.list here is not what the guest ran: only the start line can name it.
        rc, out, err = self.runner("--import-tap", stream)
        self.assertEqual(rc, 1)
        self.assertEqual(self.result(out, "x86/three")[0], "not ok")

    # -- one metadata schema --

    def test_list_json_keeps_every_field(self):
        path = os.path.join(self.tmp, "meta.json")
        rc, out, err = self.runner("-l", "-t", "x86/one", "--json", path)
        self.assertEqual(rc, 0, err)
        [m] = self.load(path)
        want = dict(FAKES["x86/one"][0], meta_ok=True)
        self.assertEqual(m, want)
        self.assertEqual(m["patch"]["author"], "A <a@b>")
        self.assertEqual(m["paths"], ["arch/x86/kvm/lapic.c"])
        rc, out, err = self.runner("-t", "x86/one", "--json", path)
        self.assertEqual(self.load(path)["tests"][0]["patch"]["author"], "A <a@b>")


if __name__ == "__main__":
    unittest.main()
