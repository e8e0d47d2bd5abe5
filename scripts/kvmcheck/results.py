# SPDX-License-Identifier: GPL-2.0-only
"""The runner's JSON (kvmcheck-run --json) as dataclasses, validated where it is read; the
verdict rules every driver shares; and the one JUnit writer of the matrix and the review.

The C runner decides each test's verdict; nothing here re-judges a run. What lives here is
reading that decision back (refusing a file that is not one, naming the file and the field),
finding one test's or subtest's verdict in it, and adding up subtests the way the runner does
when an expectation has to be derived from them."""
import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .util import InputError, atomic_write

# What the runner can say about a test or a subtest.
VERDICTS = ("PASS", "FAIL", "SKIP", "TIMEOUT", "CRASH")
# What a matrix cell or an expect/ rule can say besides: a kernel that gave no result.
COLUMN_VERDICTS = VERDICTS + ("BOOT-ERROR", "NOT-RUN")
# The verdicts that mean "the behaviour is broken" (a bisect's bad, a review's regression).
FAILING = ("FAIL", "TIMEOUT", "CRASH")


@dataclass
class Subtest:
    name: str
    verdict: str
    reason: str | None = None
    extra: dict = field(default_factory=dict)   # fields this version does not know, kept

    def to_dict(self):
        return {"name": self.name, "verdict": self.verdict, "reason": self.reason, **self.extra}


@dataclass
class Test:
    name: str
    verdict: str
    reason: str | None = None
    number: int | None = None
    duration_s: float | None = None
    exit_status: int | None = None
    patch: dict | None = None
    subtests: list = field(default_factory=list)     # [Subtest]
    extra: dict = field(default_factory=dict)

    def subtest(self, name):
        return next((s for s in self.subtests if s.name == name), None)

    def to_dict(self):
        d = {"name": self.name}
        if self.number is not None:
            d["number"] = self.number
        d.update({"verdict": self.verdict, "reason": self.reason, "duration_s": self.duration_s,
                  "exit_status": self.exit_status, "patch": self.patch,
                  "subtests": [s.to_dict() for s in self.subtests]})
        d.update(self.extra)
        return d


@dataclass
class Run:
    tests: list                                   # [Test]
    kernel: str | None = None
    machine: str | None = None
    target: str | None = None
    summary: dict | None = None
    extra: dict = field(default_factory=dict)
    source: str = ""                              # the file it was read from, for messages

    def test(self, name):
        return next((t for t in self.tests if t.name == name), None)

    def to_dict(self):
        return {"kernel": self.kernel, "machine": self.machine, "target": self.target,
                "summary": self.summary, "tests": [t.to_dict() for t in self.tests], **self.extra}


# --- validation ---------------------------------------------------------------------------------

def _show(v):
    """A bad value as the message shows it: JSON, cut short."""
    s = json.dumps(v)
    return s if len(s) <= 60 else s[:57] + "..."


class _Where:
    """'FILE: a.b[3].c' for messages: which file, which field."""

    def __init__(self, source, path=""):
        self.source, self.path = source, path

    def __call__(self, key):
        if isinstance(key, int):
            return _Where(self.source, f"{self.path}[{key}]")
        return _Where(self.source, f"{self.path}.{key}" if self.path else key)

    def fail(self, what):
        where = f"{self.source}: {self.path}" if self.path else f"{self.source}"
        raise InputError(f"{where}: {what}")


def _obj(v, w):
    if not isinstance(v, dict):
        w.fail(f"{_show(v)} is not an object")
    return v


def _str(v, w, *, null=False, empty=False):
    if v is None and null:
        return None
    if not isinstance(v, str) or (not empty and not v):
        w.fail(f"{_show(v)} is not a {'non-empty ' if not empty else ''}string"
               + (" or null" if null else ""))
    return v


def _num(v, w):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        w.fail(f"{_show(v)} is not a number")
    return v


def _int(v, w):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        w.fail(f"{_show(v)} is not an integer")
    return v


def _verdict(v, w, allowed=VERDICTS):
    if not isinstance(v, str) or v not in allowed:
        w.fail(f"{_show(v)} is not a verdict ({', '.join(allowed)})")
    return v


def _required(d, key, w):
    if key not in d:
        w.fail(f"missing field '{key}'")
    return d[key]


def _extra(d, known):
    return {k: v for k, v in d.items() if k not in known}


def parse_subtest(d, w):
    _obj(d, w)
    return Subtest(name=_str(_required(d, "name", w), w("name")),
                   verdict=_verdict(_required(d, "verdict", w), w("verdict")),
                   reason=_str(d.get("reason"), w("reason"), null=True, empty=True),
                   extra=_extra(d, ("name", "verdict", "reason")))


def parse_test(d, w):
    _obj(d, w)
    subs = d.get("subtests")
    if subs is not None and not isinstance(subs, list):
        w("subtests").fail(f"{_show(subs)} is not a list")
    patch = d.get("patch")
    if patch is not None:
        _obj(patch, w("patch"))
    t = Test(name=_str(_required(d, "name", w), w("name")),
             verdict=_verdict(_required(d, "verdict", w), w("verdict")),
             reason=_str(d.get("reason"), w("reason"), null=True, empty=True),
             number=_int(d.get("number"), w("number")),
             duration_s=_num(d.get("duration_s"), w("duration_s")),
             exit_status=_int(d.get("exit_status"), w("exit_status")),
             patch=patch,
             subtests=[parse_subtest(s, w("subtests")(i)) for i, s in enumerate(subs or [])],
             extra=_extra(d, ("name", "number", "verdict", "reason", "duration_s", "exit_status",
                              "patch", "subtests")))
    seen = set()
    for i, s in enumerate(t.subtests):
        if s.name in seen:
            w("subtests")(i)("name").fail(f"subtest {s.name} appears twice")
        seen.add(s.name)
    return t


def parse_run(d, source, path=""):
    """A Run from an already-decoded runner JSON document; source (the file) and path (where
    in it, for a run embedded in a matrix shard) name the field a message blames."""
    w = _Where(source, path)
    _obj(d, w)
    tests = _required(d, "tests", w)
    if not isinstance(tests, list):
        w("tests").fail(f"{_show(tests)} is not a list")
    summary = d.get("summary")
    if summary is not None:
        _obj(summary, w("summary"))
    run = Run(tests=[parse_test(t, w("tests")(i)) for i, t in enumerate(tests)],
              kernel=_str(d.get("kernel"), w("kernel"), null=True, empty=True),
              machine=_str(d.get("machine"), w("machine"), null=True, empty=True),
              target=_str(d.get("target"), w("target"), null=True, empty=True),
              summary=summary, extra=_extra(d, ("kernel", "machine", "target", "summary", "tests")),
              source=source)
    seen = set()
    for i, t in enumerate(run.tests):
        if t.name in seen:
            w("tests")(i)("name").fail(f"test {t.name} appears twice")
        seen.add(t.name)
    return run


def read_json(path):
    """A JSON file, or InputError naming it: missing, unreadable, not JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise InputError(f"{path}: {e.strerror or e}") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not JSON ({e})") from e


def load_run(path):
    """The runner JSON at path, validated: InputError names the file and the field."""
    return parse_run(read_json(path), str(path))


# --- verdict rules ------------------------------------------------------------------------------

def combine(verdicts):
    """A test's verdict from its subtests' (the runner's rule, runner/result.c): anything that
    is neither PASS nor SKIP fails it, all SKIP skips it, otherwise it passes. An empty list
    passes: a test without subtests is judged by its own verdict, never by this."""
    verdicts = list(verdicts)
    if any(v not in ("PASS", "SKIP") for v in verdicts):
        return "FAIL"
    if verdicts and all(v == "SKIP" for v in verdicts):
        return "SKIP"
    return "PASS"


def is_failing(verdict):
    return verdict in FAILING


@dataclass
class Verdict:
    """One test's or subtest's verdict as a run recorded it. verdict is NONE when it did not
    run at all (then reason says why)."""
    name: str
    verdict: str
    reason: str | None = None

    @property
    def ran(self):
        return self.verdict != "NONE"


def split_name(name):
    test, _, sub = name.partition(":")
    return test, sub or None


def verdict_of(run, name):
    """The verdict of TEST or TEST:SUBTEST in run. A subtest the run has no line for takes its
    test's verdict when the test timed out or crashed (it never got to report: a crash under
    it is its verdict too); otherwise it did not run (NONE)."""
    test, sub = split_name(name)
    t = run.test(test)
    if t is None:
        return Verdict(name, "NONE", f"no test {test} ran")
    if sub is None:
        return Verdict(name, t.verdict, t.reason)
    s = t.subtest(sub)
    if s is not None:
        return Verdict(name, s.verdict, s.reason or (t.reason if s.verdict != "PASS" else None))
    if t.verdict in ("TIMEOUT", "CRASH"):
        return Verdict(name, t.verdict, t.reason)
    return Verdict(name, "NONE", f"{test} has no subtest {sub} on this kernel")


def count_verdicts(run):
    """{'PASS': 8, 'SKIP': 2}: one entry per test verdict, for progress lines."""
    counts = {}
    for t in run.tests:
        counts[t.verdict] = counts.get(t.verdict, 0) + 1
    return counts


def summary_line(run):
    """'10 tests: 8 PASS, 2 SKIP'."""
    counts = count_verdicts(run)
    return f"{len(run.tests)} tests: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))


# --- JUnit --------------------------------------------------------------------------------------

@dataclass
class Case:
    """One <testcase>. expected: None (no expectation: a failing verdict is a failure, SKIP and
    NOT-RUN are skipped), True (as expected: a non-PASS is skipped, saying it was expected) or
    False (not as expected: a failure, PASS included, naming expected_verdicts)."""
    name: str
    classname: str
    verdict: str
    reason: str | None = None
    time: float = 0.0
    expected: bool | None = None
    expected_verdicts: str | None = None          # 'SKIP|PASS', for the message
    failure_type: str | None = None               # default: 'unexpected' or the verdict
    system_out: str | None = None
    properties: dict = field(default_factory=dict)


@dataclass
class Suite:
    name: str
    cases: list = field(default_factory=list)     # [Case]
    hostname: str = ""
    properties: dict = field(default_factory=dict)


# XML 1.0 cannot carry most control characters at all (a kernel splat can hold them).
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _x(text):
    return _XML_BAD.sub("?", str(text)) if text is not None else ""


def case_outcome(c):
    """('pass'|'skipped'|'failure', message) of a case, by the rules in Case's docstring."""
    why = c.reason or ""
    if c.expected is False:
        exp = c.expected_verdicts or "PASS"
        return "failure", f"{c.verdict} (expected {exp})" + (f": {why}" if why else "")
    if c.verdict == "PASS":
        return "pass", ""
    if c.expected is True:
        return "skipped", f"{c.verdict} (expected)" + (f": {why}" if why else "")
    if c.verdict in ("SKIP", "NOT-RUN"):
        return "skipped", why or c.verdict
    return "failure", why or c.verdict


def junit_tree(suites, name="kvmcheck"):
    root = ET.Element("testsuites", name=_x(name))
    for s in suites:
        el = ET.SubElement(root, "testsuite", name=_x(s.name), hostname=_x(s.hostname))
        if s.properties:
            props = ET.SubElement(el, "properties")
            for k, v in s.properties.items():
                ET.SubElement(props, "property", name=_x(k), value=_x(v))
        nfail = nskip = 0
        total = 0.0
        for c in s.cases:
            t = float(c.time or 0)
            total += t
            tc = ET.SubElement(el, "testcase", classname=_x(c.classname), name=_x(c.name),
                               time=f"{t:.3f}")
            if c.properties:
                props = ET.SubElement(tc, "properties")
                for k, v in c.properties.items():
                    ET.SubElement(props, "property", name=_x(k), value=_x(v))
            kind, message = case_outcome(c)
            if kind == "failure":
                ftype = c.failure_type or ("unexpected" if c.expected is False else c.verdict)
                ET.SubElement(tc, "failure", type=_x(ftype), message=_x(message)).text = _x(message)
                nfail += 1
            elif kind == "skipped":
                ET.SubElement(tc, "skipped", message=_x(message))
                nskip += 1
            if c.system_out:
                ET.SubElement(tc, "system-out").text = _x(c.system_out)
        el.set("tests", str(len(s.cases)))
        el.set("failures", str(nfail))
        el.set("errors", "0")
        el.set("skipped", str(nskip))
        el.set("time", f"{total:.3f}")
    ET.indent(root)
    return root


def write_junit(path, suites, name="kvmcheck"):
    """suites ([Suite]) as one JUnit XML file, written atomically."""
    root = junit_tree(suites, name)
    data = ET.tostring(root, encoding="unicode")
    atomic_write(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + data + "\n")
