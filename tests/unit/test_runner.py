# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of kvmcheck-run against fake test programs.

Each fake is a shell script that speaks the test-binary protocol of
docs/PROTOCOL.md.  The runner under test is $KVMCHECK_RUNNER, else
$KVMCHECK_BUILD/kvmcheck-run, else build/x86_64/kvmcheck-run in the
repository that holds this file.

    python3 -m unittest discover -s tests/unit -v
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
import unittest
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.environ.get("KVMCHECK_RUNNER", os.path.join(
    os.environ.get("KVMCHECK_BUILD", os.path.join(REPO, "build", "x86_64")), "kvmcheck-run"))

SUMMARY_RE = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")


def meta(name, groups, timeout=None, patch=None, subtests=()):
    return json.dumps({
        "name": name, "arch": "x86_64", "summary": "fake " + name,
        "groups": list(groups), "timeout": timeout, "patch": patch,
        "min_kernel": None, "shown_on": None, "subtests": list(subtests),
        "options": [],
    })


# Shell that prints the chosen subtests; "$sel" is the -s arguments.
SELECT = r'''
sel=""
while [ $# -gt 0 ]; do
	case "$1" in
	-s) sel="$sel $2"; shift 2 ;;
	*) echo "usage: $0 [-s NAME]..." >&2; exit 2 ;;
	esac
done
echo "$sel" > "$FAKE_STATE/$(basename $0).args"
'''

PATCH = {"subject": "KVM: x86: fix \"quotes\" & <angles> \u00e9",
         "fixes": "abc123 (\"KVM: old\")", "link": "https://lore.example/x\U0001F600"}

FAKES = {
    "x86/pass": (meta("x86/pass", ["runtime", "smoke"], 30, PATCH, ["alpha", "beta"]),
                 SELECT + r'''
echo "TAP version 13"
if [ -z "$sel" ]; then sel="alpha beta"; fi
n=0; for s in $sel; do n=$((n+1)); done
echo "1..$n"
i=0; for s in $sel; do i=$((i+1)); echo "ok $i $s"; done
echo "# Totals: pass:$n fail:0 skip:0"
exit 0
'''),
    "x86/fail": (meta("x86/fail", ["runtime"], 30, None, ["good", "bad"]), r'''
echo "TAP version 13"
echo "1..2"
echo "ok 1 good"
echo "not ok 2 bad # guest assert at x86/ucall.c:40: a == b (0x1 vs 0x2) <&\"'>"
exit 1
'''),
    "x86/skip": (meta("x86/skip", ["runtime"], 30, None, ["s1", "s2"]), r'''
echo "TAP version 13"
echo "1..2"
echo "ok 1 s1 # SKIP needs KVM_CAP_SPLIT_IRQCHIP"
echo "ok 2 s2 # SKIP needs something else"
exit 4
'''),
    "x86/mixed": (meta("x86/mixed", ["smoke"], 30, None, ["m1", "m2"]), r'''
echo "TAP version 13"
echo "1..2"
echo "# some diagnostics"
echo "ok 1 m1"
echo "ok 2 m2 # SKIP not on this CPU"
exit 0
'''),
    "x86/hang": (meta("x86/hang", ["slow"], 1, None, ["first", "second"]), r'''
echo "TAP version 13"
echo "1..2"
echo "ok 1 first"
sleep 1000 &
echo $! >> "$FAKE_STATE/pids"
echo $$ >> "$FAKE_STATE/pids"
touch "$FAKE_STATE/hang.started"
wait
'''),
    "x86/crash": (meta("x86/crash", ["runtime"], 30, None, ["c1", "c2"]), r'''
echo "TAP version 13"
echo "1..2"
echo "ok 1 c1"
kill -SEGV $$
'''),
    "x86/garbage": (meta("x86/garbage", ["junk"], None, None), r'''
printf 'no tap here\n\001\377 binary \342\202 bytes\n'
echo "Bail out"
exit 3
'''),
    "x86/badmeta": ("{not json", r'''
echo "TAP version 13"
echo "1..1"
echo "ok 1 only"
'''),
}


def noisy(tag):
    return (meta(tag, ["noisy"], 30), r'''
echo "TAP version 13"
echo "1..5"
for i in 1 2 3 4 5; do echo "# %s line $i"; sleep 0.05; echo "ok $i %s_$i"; done
''' % (tag, tag))


def write_script(path, meta_line, body):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n")
        f.write('if [ "$1" = "--meta" ]; then\n')
        f.write("\tcat <<'EOF'\n%s\nEOF\n\texit 0\nfi\n" % meta_line)
        f.write(textwrap.dedent(body))
    os.chmod(path, 0o755)


def proc_alive(pid):
    """True for a live process; a zombie waiting for init is dead enough."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class RunnerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(RUNNER, os.X_OK):
            raise unittest.SkipTest("no runner at %s: build it first" % RUNNER)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kvmcheck-unit-")
        self.dir = os.path.join(self.tmp, "build")
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(self.state)
        self.fakes = dict(FAKES)
        self.fakes["x86/noisy_a"] = noisy("x86/noisy_a")
        self.fakes["x86/noisy_b"] = noisy("x86/noisy_b")
        for name, (m, body) in self.fakes.items():
            write_script(os.path.join(self.dir, name), m, body)
        with open(os.path.join(self.dir, "tests.list"), "w") as f:
            f.write("\n".join(self.fakes) + "\n")

    def tearDown(self):
        for pid in self.pids():
            if proc_alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.tmp)

    def pids(self):
        try:
            with open(os.path.join(self.state, "pids")) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return []

    def run_runner(self, *args, timeout=60, env=None):
        e = dict(os.environ, FAKE_STATE=self.state)
        e.pop("KVMCHECK_TARGET", None)
        e.update(env or {})
        return subprocess.run([RUNNER, "--dir", self.dir] + list(args),
                              capture_output=True, timeout=timeout, env=e)

    def out(self, res):
        return res.stdout.decode("utf-8", "replace")

    def top_lines(self, res):
        return [l for l in self.out(res).splitlines() if not l.startswith("    ")]

    def result_lines(self, res):
        return {m.group(3): (m.group(1), m.group(4))
                for m in (re.match(r"^(ok|not ok) (\d+) (\S+)(?: # (.*))?$", l)
                          for l in self.top_lines(res)) if m}

    def summary(self, res):
        last = self.out(res).rstrip("\n").splitlines()[-1]
        m = SUMMARY_RE.match(last)
        self.assertTrue(m, "last line is not the summary: %r" % last)
        return tuple(int(x) for x in m.groups())

    def tmpfile(self, name):
        return os.path.join(self.tmp, name)


class OptionErrors(RunnerTest):
    def assert_usage_error(self, args, words):
        res = self.run_runner(*args)
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 2, "%s: %s" % (args, err))
        # The one error line, after any warnings about a test's --meta.
        lines = err.strip().splitlines()
        self.assertTrue(all("--meta" in l for l in lines[:-1]), "%s: %r" % (args, err))
        err = lines[-1]
        self.assertTrue(err.startswith("kvmcheck-run: "), err)
        self.assertIn(words, err)
        self.assertEqual(res.stdout, b"")

    def test_bad_values(self):
        self.assert_usage_error(["-j", "0"], "-j")
        self.assert_usage_error(["-j", "many"], "-j")
        self.assert_usage_error(["-j", "3x"], "-j")
        self.assert_usage_error(["--timeout", "-1"], "--timeout")
        self.assert_usage_error(["--timeout", "soon"], "--timeout")
        self.assert_usage_error(["--json", ""], "--json")

    def test_unknown_and_missing(self):
        self.assert_usage_error(["--bogus"], "--bogus")
        self.assert_usage_error(["-x"], "-x")
        self.assert_usage_error(["stray"], "stray")
        self.assert_usage_error(["-j"], "-j")
        self.assert_usage_error(["--timeout"], "--timeout")

    def test_selection_errors(self):
        self.assert_usage_error(["-t", "x86/nothing*"], "x86/nothing*")
        self.assert_usage_error(["-t", "x86/pass", "-t", "nope"], "nope")
        self.assert_usage_error(["-g", "nogroup"], "nogroup")
        self.assert_usage_error(["-t", "x86/pass:gamma"], "gamma")
        self.assert_usage_error(["-t", ":x"], ":x")
        self.assert_usage_error(["-t", "x86/*:zzz"], "zzz")

    def test_missing_list(self):
        os.unlink(os.path.join(self.dir, "tests.list"))
        self.assert_usage_error([], "tests.list")

    def test_unwritable_report(self):
        self.assert_usage_error(["-t", "x86/pass", "--json", "/nonexistent/dir/x.json"],
                                "/nonexistent/dir/x.json")

    def test_help(self):
        res = self.run_runner("-h")
        self.assertEqual(res.returncode, 0)
        self.assertIn("usage: kvmcheck-run", self.out(res))
        self.assertIn("--import-tap", self.out(res))


class Selection(RunnerTest):
    def test_glob(self):
        res = self.run_runner("-t", "x86/p*", "-t", "x86/mixed")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(sorted(self.result_lines(res)), ["x86/mixed", "x86/pass"])
        self.assertIn("1..2", self.top_lines(res))

    def test_subtest(self):
        res = self.run_runner("-t", "x86/pass:beta")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("    1..1", self.out(res))
        self.assertIn("    ok 1 beta", self.out(res))
        self.assertNotIn("alpha", self.out(res))
        with open(os.path.join(self.state, "pass.args")) as f:
            self.assertEqual(f.read().split(), ["beta"])
        self.assertEqual(self.summary(res), (1, 0, 0))

    def test_subtest_across_tests(self):
        res = self.run_runner("-t", "*:beta")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(list(self.result_lines(res)), ["x86/pass"])
        with open(os.path.join(self.state, "pass.args")) as f:
            self.assertEqual(f.read().split(), ["beta"])

    def test_subtest_of_test_without_list(self):
        res = self.run_runner("-t", "x86/badmeta:only")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(list(self.result_lines(res)), ["x86/badmeta"])

    def test_whole_test_wins_over_subtest(self):
        res = self.run_runner("-t", "x86/pass:beta", "-t", "x86/pa*")
        self.assertEqual(self.summary(res), (2, 0, 0))

    def test_group(self):
        res = self.run_runner("-g", "smoke")
        self.assertEqual(sorted(self.result_lines(res)), ["x86/mixed", "x86/pass"])
        res = self.run_runner("-g", "smoke", "-t", "x86/m*")
        self.assertEqual(sorted(self.result_lines(res)), ["x86/mixed"])
        res = self.run_runner("-g", "smoke", "-g", "junk")
        self.assertEqual(sorted(self.result_lines(res)),
                         ["x86/garbage", "x86/mixed", "x86/pass"])

    def test_bad_meta_still_runs(self):
        res = self.run_runner("-t", "x86/badmeta")
        self.assertEqual(res.returncode, 0)
        self.assertIn("x86/badmeta --meta", res.stderr.decode())
        self.assertEqual(self.result_lines(res), {"x86/badmeta": ("ok", None)})

    def test_emulator(self):
        # env(1) stands in for qemu-riscv64: it runs its first argument with the rest.
        path = self.tmpfile("meta.json")
        res = self.run_runner("-l", "-t", "pass", "--emulator", "env", "--json", path)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(json.load(f)[0]["subtests"], ["alpha", "beta"])
        res = self.run_runner("-t", "pass:beta", "--emulator", "env")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("    ok 1 beta", self.out(res))
        with open(os.path.join(self.state, "pass.args")) as f:
            self.assertEqual(f.read().split(), ["beta"])
        res = self.run_runner("-l", "--emulator", "no-such-emulator-here")
        self.assertEqual(res.returncode, 2)
        self.assertIn("no-such-emulator-here", res.stderr.decode())

    def test_list(self):
        path = self.tmpfile("meta.json")
        res = self.run_runner("-l", "-t", "x86/*", "--json", path)
        # x86/badmeta's --meta is not JSON: the list is written, but incomplete.
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("x86/badmeta --meta", res.stderr.decode())
        lines = self.out(res).splitlines()
        self.assertEqual(len(lines), len(self.fakes))
        line = [l for l in lines if l.startswith("x86/pass ")][0]
        self.assertIn("runtime,smoke", line)
        self.assertIn("timeout=30", line)
        self.assertIn(PATCH["subject"], line)
        hang = [l for l in lines if l.startswith("x86/hang ")][0]
        self.assertIn("timeout=1", hang)
        garbage = [l for l in lines if l.startswith("x86/garbage ")][0]
        self.assertIn("timeout=60", garbage)
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        self.assertEqual(len(data), len(self.fakes))
        by_name = {m["name"]: m for m in data}
        self.assertEqual(by_name["x86/pass"]["patch"], PATCH)
        self.assertEqual(by_name["x86/pass"]["groups"], ["runtime", "smoke"])
        self.assertEqual(by_name["x86/pass"]["subtests"], ["alpha", "beta"])


class FullRun(RunnerTest):
    """Every kind of fake at once, with all the reports."""

    EXPECTED = {
        "x86/pass": ("ok", None),
        "x86/fail": ("not ok", "guest assert at x86/ucall.c:40: a == b (0x1 vs 0x2) <&\"'>"),
        "x86/skip": ("ok", "SKIP needs KVM_CAP_SPLIT_IRQCHIP"),
        "x86/mixed": ("ok", None),
        "x86/hang": ("not ok", "TIMEOUT after 1 s"),
        "x86/crash": ("not ok", "CRASHED (signal SIGSEGV)"),
        "x86/garbage": ("not ok", "exit status 3"),
        "x86/badmeta": ("ok", None),
        "x86/noisy_a": ("ok", None),
        "x86/noisy_b": ("ok", None),
    }
    VERDICTS = {
        "x86/pass": "PASS", "x86/fail": "FAIL", "x86/skip": "SKIP", "x86/mixed": "PASS",
        "x86/hang": "TIMEOUT", "x86/crash": "CRASH", "x86/garbage": "FAIL",
        "x86/badmeta": "PASS", "x86/noisy_a": "PASS", "x86/noisy_b": "PASS",
    }
    # pass 2, fail 1+1, skip 2s, mixed 1+1s, hang 1+1, crash 1+1, garbage 1f,
    # badmeta 1, noisy 5+5
    SUMMARY = (17, 4, 3)

    def run_all(self, *extra):
        self.json = self.tmpfile("out.json")
        self.junit = self.tmpfile("out.xml")
        self.results = os.path.join(self.tmp, "res", "deeper")
        start = time.monotonic()
        res = self.run_runner("-j", "4", "--json", self.json, "--junit", self.junit,
                              "--results", self.results, *extra)
        self.elapsed = time.monotonic() - start
        return res

    def check_reports(self, res, target="host"):
        self.assertEqual(self.result_lines(res), self.EXPECTED)
        self.assertEqual(self.summary(res), self.SUMMARY)
        self.assertEqual(res.returncode, 1)

        with open(self.json, encoding="utf-8") as f:
            data = json.load(f)
        self.assertEqual(data["target"], target)
        self.assertEqual(data["kernel"], os.uname().release)
        self.assertEqual(data["machine"], os.uname().machine)
        passed, failed, skipped = self.SUMMARY
        self.assertEqual(data["summary"], {"passed": passed, "failed": failed,
                                           "skipped": skipped, "timeout": 1, "crashed": 1})
        tests = {t["name"]: t for t in data["tests"]}
        self.assertEqual({n: t["verdict"] for n, t in tests.items()}, self.VERDICTS)
        self.assertEqual(tests["x86/pass"]["patch"], PATCH)
        self.assertIsNone(tests["x86/fail"]["patch"])
        self.assertEqual(tests["x86/fail"]["exit_status"], 1)
        self.assertEqual(tests["x86/skip"]["exit_status"], 4)
        self.assertIsNone(tests["x86/hang"]["exit_status"])
        self.assertEqual(tests["x86/skip"]["reason"], "needs KVM_CAP_SPLIT_IRQCHIP")
        self.assertEqual([(s["name"], s["verdict"]) for s in tests["x86/fail"]["subtests"]],
                         [("good", "PASS"), ("bad", "FAIL")])
        self.assertGreaterEqual(tests["x86/hang"]["duration_s"], 0.9)
        self.assertEqual([t["name"] for t in data["tests"]],
                         [n for n in self.result_lines_ordered(res)])

        root = ET.parse(self.junit).getroot()
        self.assertEqual(root.tag, "testsuite")
        self.assertEqual(root.get("name"), "kvmcheck")
        cases = root.findall("testcase")
        self.assertEqual(int(root.get("tests")), sum(self.SUMMARY))
        self.assertEqual(len(cases), sum(self.SUMMARY))
        self.assertEqual(int(root.get("failures")), failed)
        self.assertEqual(len([c for c in cases if c.find("failure") is not None]), failed)
        self.assertEqual(int(root.get("skipped")), skipped)
        self.assertEqual(len([c for c in cases if c.find("skipped") is not None]), skipped)
        bad = [c for c in cases if c.get("classname") == "x86/fail" and c.get("name") == "bad"]
        self.assertEqual(bad[0].find("failure").get("message"), self.EXPECTED["x86/fail"][1])
        for c in cases:
            float(c.get("time"))

        logs = sorted(os.listdir(self.results))
        self.assertEqual(logs, sorted(n.replace("/", "_") + ".log" for n in self.fakes))
        with open(os.path.join(self.results, "x86_fail.log")) as f:
            self.assertIn("not ok 2 bad", f.read())
        return data

    def result_lines_ordered(self, res):
        return [m.group(1) for m in (re.match(r"^(?:ok|not ok) \d+ (\S+)", l)
                                     for l in self.top_lines(res)) if m]

    def test_everything(self):
        res = self.run_all()
        self.check_reports(res)
        out = self.top_lines(res)
        self.assertEqual(out[0], "TAP version 13")
        self.assertEqual(out[1], "# kvmcheck: kernel %s %s, %d tests" %
                         (os.uname().release, os.uname().machine, len(self.fakes)))
        self.assertEqual(out[2], "1..%d" % len(self.fakes))
        self.assertNotIn("    TAP version 13", self.out(res))
        numbers = [int(m.group(1)) for m in (re.match(r"^(?:ok|not ok) (\d+) ", l)
                                             for l in out) if m]
        self.assertEqual(numbers, list(range(1, len(self.fakes) + 1)))
        self.assertLess(self.elapsed, 20)
        for pid in self.pids():
            self.assertFalse(proc_alive(pid), "process %d survived its timeout" % pid)

    def test_target_env(self):
        res = self.run_runner("-t", "x86/pass", "--json", self.tmpfile("t.json"),
                              env={"KVMCHECK_TARGET": "qemu-7.2"})
        with open(self.tmpfile("t.json")) as f:
            self.assertEqual(json.load(f)["target"], "qemu-7.2")
        self.assertEqual(res.returncode, 0)

    def test_import(self):
        live = self.run_all()
        with open(self.json) as f:
            live_json = json.load(f)
        stream = (b"\x1b[2J\x1b[HSeaBIOS (version 1.16)\r\nBooting from ROM...\r\n"
                  b"garbage \xff\xfe\r\n" +
                  live.stdout.replace(b"\n", b"\r\n") + b"# kvmcheck-exit: 1\r\n")
        cap = self.tmpfile("serial.tap")
        with open(cap, "wb") as f:
            f.write(stream)
        shutil.rmtree(self.results)
        res = self.run_runner("--import-tap", cap, "--json", self.json,
                              "--junit", self.junit, "--results", self.results,
                              env={"KVMCHECK_TARGET": "qemu"})
        self.assertEqual(res.returncode, 1, res.stderr)
        # The import writes the same stream, less the start lines: when each
        # test started was news only while the guest ran.
        self.assertEqual(res.stdout, re.sub(rb"(?m)^# kvmcheck: start .*\n", b"", live.stdout))
        data = self.check_reports(res, target="qemu")
        for a, b in zip(live_json["tests"], data["tests"]):
            self.assertEqual(a, b)

    def test_import_truncated(self):
        live = self.run_runner("-t", "x86/pass", "-t", "x86/mixed", "-t", "x86/skip")
        self.assertEqual(live.returncode, 0)
        lines = live.stdout.decode().splitlines(keepends=True)
        second = [i for i, l in enumerate(lines) if l.startswith("ok 2 ")][0]
        # The guest died after test 2, in the middle of test 3's block.
        cut = "".join(lines[:second + 2]) + "    # Subtest: x86/pass\n    1..2\n    ok 1 al"
        cap = self.tmpfile("cut.tap")
        with open(cap, "w") as f:
            f.write("console junk\r\n" + cut.replace("\n", "\r\n"))
        json_path = self.tmpfile("cut.json")
        res = self.run_runner("--import-tap", cap, "--json", json_path,
                              "--junit", self.tmpfile("cut.xml"))
        self.assertEqual(res.returncode, 1)
        self.assertIn("output ended after test 2 of 3 (guest crashed or timed out?)",
                      res.stderr.decode())
        reported = self.summary(live)
        got = self.summary(res)
        self.assertEqual(got[1], 1)
        self.assertLess(got[0], reported[0] + 1)
        with open(json_path) as f:
            data = json.load(f)
        self.assertEqual(len(data["tests"]), 3)
        self.assertEqual(data["tests"][2]["verdict"], "FAIL")
        self.assertIn("output ended after test 2 of 3", data["tests"][2]["reason"])
        self.assertEqual(data["summary"]["failed"], 1)
        root = ET.parse(self.tmpfile("cut.xml")).getroot()
        self.assertEqual(int(root.get("failures")), 1)

    def test_import_two_missing(self):
        live = self.run_runner("-t", "x86/pass", "-t", "x86/mixed", "-t", "x86/skip")
        lines = live.stdout.decode().splitlines(keepends=True)
        first = [i for i, l in enumerate(lines) if l.startswith("ok 1 ")][0]
        cap = self.tmpfile("cut.tap")
        with open(cap, "w") as f:
            f.write("".join(lines[:first + 1]))
        res = self.run_runner("--import-tap", cap)
        self.assertEqual(res.returncode, 1)
        self.assertIn("output ended after test 1 of 3", res.stderr.decode())
        self.assertEqual(self.summary(res)[1], 2)
        missing = [l for l in self.top_lines(res) if l.startswith("not ok ")]
        self.assertEqual(len(missing), 2)
        for line in missing:
            self.assertTrue(line.endswith(
                "# output ended after test 1 of 3 (guest crashed or timed out?)"), line)

    def test_import_nothing(self):
        cap = self.tmpfile("empty.tap")
        with open(cap, "w") as f:
            f.write("Kernel panic - not syncing\r\n")
        res = self.run_runner("--import-tap", cap)
        self.assertEqual(res.returncode, 1)
        self.assertIn("output ended before the plan", res.stderr.decode())
        self.assertEqual(self.summary(res), (0, 1, 0))

    def test_import_guest_usage_error(self):
        cap = self.tmpfile("usage.tap")
        with open(cap, "w") as f:
            f.write("kvmcheck-run: -t 'x' matches no test\r\n# kvmcheck-exit: 2\r\n")
        res = self.run_runner("--import-tap", cap)
        self.assertEqual(res.returncode, 2)

    def test_import_missing_file(self):
        res = self.run_runner("--import-tap", self.tmpfile("nope.tap"))
        self.assertEqual(res.returncode, 2)
        self.assertIn("nope.tap", res.stderr.decode())


class Processes(RunnerTest):
    def test_timeout_kills_group(self):
        start = time.monotonic()
        res = self.run_runner("-t", "x86/hang", "--timeout", "0.5")
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(res.returncode, 1)
        self.assertIn("not ok 1 x86/hang # TIMEOUT after 0.5 s", self.top_lines(res))
        self.assertEqual(self.summary(res), (1, 1, 0))
        pids = self.pids()
        self.assertEqual(len(pids), 2)
        for pid in pids:
            self.assertFalse(proc_alive(pid), "process %d survived" % pid)

    def test_sigint_kills_tests_and_reports(self):
        e = dict(os.environ, FAKE_STATE=self.state)
        # tests.list order: hang runs first, crash waits for it.
        p = subprocess.Popen([RUNNER, "--dir", self.dir, "-t", "x86/hang", "-t", "x86/crash",
                              "--timeout", "100"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=e)
        started = os.path.join(self.state, "hang.started")
        deadline = time.monotonic() + 10
        while not os.path.exists(started) and time.monotonic() < deadline:
            time.sleep(0.02)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 1)
        text = out.decode()
        self.assertRegex(text, r"not ok 1 x86/hang # interrupted")
        self.assertRegex(text, r"ok 2 x86/crash # SKIP not run")
        self.assertTrue(SUMMARY_RE.match(text.splitlines()[-1]), text)
        self.assertIn("interrupted", err.decode())
        for pid in self.pids():
            self.assertFalse(proc_alive(pid), "process %d survived" % pid)

    def add_fake(self, name, body, timeout=30):
        write_script(os.path.join(self.dir, name), meta(name, [], timeout), body)
        with open(os.path.join(self.dir, "tests.list"), "a") as f:
            f.write(name + "\n")

    def test_escaped_daemon_is_killed(self):
        self.add_fake("x86/daemon", r'''
echo "TAP version 13"
echo "1..1"
setsid sh -c 'echo $$ >> "$FAKE_STATE/pids"; exec sleep 1000' &
while ! grep -q . "$FAKE_STATE/pids" 2>/dev/null; do sleep 0.01; done
echo "ok 1 daemon"
''')
        start = time.monotonic()
        res = self.run_runner("-t", "x86/daemon")
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(res.returncode, 0, self.out(res))
        pids = self.pids()
        self.assertEqual(len(pids), 1)
        self.assertFalse(proc_alive(pids[0]), "the setsid daemon survived")

    def test_flood_keeps_results(self):
        self.add_fake("x86/flood", r'''
echo "TAP version 13"
echo "1..2"
echo "ok 1 before"
head -c 20000000 /dev/zero | tr '\0' 'x' | fold -w 1000
echo
echo "not ok 2 after # the verdict after the flood"
exit 1
''')
        res = self.run_runner("-t", "x86/flood")
        self.assertEqual(res.returncode, 1)
        self.assertLess(len(res.stdout), 18 << 20)
        self.assertIn("output cut at", self.out(res))
        self.assertIn("not ok 1 x86/flood # the verdict after the flood", self.top_lines(res))
        self.assertEqual(self.summary(res), (1, 1, 0))

    def test_parallel_blocks_do_not_interleave(self):
        res = self.run_runner("-j", "2", "-t", "x86/noisy_*")
        self.assertEqual(res.returncode, 0)
        lines = self.out(res).splitlines()
        owner = None
        for line in lines:
            if line.startswith("    # Subtest: "):
                owner = line.split()[-1]
            elif "noisy_" in line and line.startswith("    "):
                self.assertIn(owner, line)
            elif re.match(r"^(ok|not ok) ", line):
                self.assertEqual(line.split()[2], owner)
                owner = None
        self.assertEqual(self.summary(res), (10, 0, 0))

    def test_parallel_is_parallel(self):
        # Two tests that can only pass together: each waits for the other to have started.
        # Concurrency shown by a rendezvous, not by a stopwatch (a loaded machine is slow).
        for me, other in (("meet_a", "meet_b"), ("meet_b", "meet_a")):
            write_script(os.path.join(self.dir, "x86", me), meta("x86/" + me, ["meet"], 60,
                                                                 subtests=["met"]), r'''
echo "TAP version 13"
echo "1..1"
touch "$FAKE_STATE/%s.here"
i=0
while [ ! -e "$FAKE_STATE/%s.here" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
if [ -e "$FAKE_STATE/%s.here" ]; then echo "ok 1 met"; else echo "not ok 1 met # alone"; fi
''' % (me, other, other))
        with open(os.path.join(self.dir, "tests.list"), "a") as f:
            f.write("x86/meet_a\nx86/meet_b\n")
        res = self.run_runner("-j", "2", "-g", "meet")
        self.assertEqual(res.returncode, 0, self.out(res))
        self.assertEqual(self.out(res).splitlines()[-1], "2 passed, 0 failed, 0 skipped")

    def test_all_pass_exit_zero(self):
        res = self.run_runner("-t", "x86/pass", "-t", "x86/mixed", "-t", "x86/skip")
        self.assertEqual(res.returncode, 0)
        self.assertEqual(self.out(res).splitlines()[-1], "3 passed, 0 failed, 3 skipped")
        self.assertEqual(self.result_lines(res)["x86/skip"],
                         ("ok", "SKIP needs KVM_CAP_SPLIT_IRQCHIP"))

    def test_no_fd_leak_into_tests(self):
        path = os.path.join(self.dir, "x86/fds")
        write_script(path, meta("x86/fds", []), r'''
echo "TAP version 13"
echo "1..1"
ls -l /proc/$$/fd/ > "$FAKE_STATE/fds"
echo "ok 1 fds"
''')
        with open(os.path.join(self.dir, "tests.list"), "a") as f:
            f.write("x86/fds\n")
        res = self.run_runner("-t", "x86/fds", "-j", "3", "--json", self.tmpfile("f.json"),
                              "--results", self.tmpfile("r"))
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(os.path.join(self.state, "fds")) as f:
            fds = dict((int(l.split("->")[0].split()[-1]), l.split("->")[1].strip())
                       for l in f if "->" in l)
        # stdin, stdout, stderr; the shell holds its script and may keep a
        # copy of the output pipe while it redirects ls.
        extra = {n: t for n, t in fds.items()
                 if n > 2 and not t.endswith("/x86/fds") and t != fds[2]}
        self.assertEqual(extra, {}, fds)
        self.assertEqual(fds[0], "/dev/null")


if __name__ == "__main__":
    unittest.main()
