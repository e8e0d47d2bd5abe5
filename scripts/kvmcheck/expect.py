# SPDX-License-Identifier: GPL-2.0-only
"""expect/LINE.txt: the verdicts a kernel line is expected to give, each with its reason, and
judging one column of the matrix against them (expect/README has the format).

A test or subtest that no rule names is expected to PASS. Rules are read in order, includes
where they stand: the exact name wins over a glob, and among globs the first one wins."""
import fnmatch
import os
from dataclasses import asdict, dataclass, field

from .results import COLUMN_VERDICTS, combine

# What a rule may expect: a verdict, or FLAKY (--repeat runs that failed some, not all).
RULE_VERDICTS = COLUMN_VERDICTS + ("FLAKY",)
from .util import InputError


@dataclass(frozen=True)
class Rule:
    pattern: str         # TEST, TEST:SUBTEST, a glob of either, or '*' for the whole column
    verdicts: tuple      # ('SKIP', 'PASS')
    reason: str
    where: str           # 'bookworm.txt:12', for messages


class Expect:
    """One kernel line's rules."""

    def __init__(self, rules=None, path=None):
        self.rules = list(rules or [])
        self.path = path

    @classmethod
    def load(cls, expect_dir, line):
        path = os.path.join(expect_dir, line + ".txt")
        if not os.path.exists(path):
            return cls([], None)
        rules = []
        cls._read(expect_dir, path, rules, set())
        return cls(rules, path)

    @classmethod
    def _read(cls, expect_dir, path, rules, seen):
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(f"{path}: include loop")
        seen.add(real)
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.readlines()
        except OSError as e:
            raise InputError(f"{path}: {e.strerror}") from e
        except UnicodeDecodeError as e:
            raise InputError(f"{path}: not UTF-8 text ({e})") from e
        for n, raw in enumerate(lines, 1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.split(None, 2)
            where = f"{os.path.basename(path)}:{n}"
            if parts[0] == "include":
                if len(parts) != 2 or "/" in parts[1]:
                    raise InputError(f"{where}: include takes one file name of this directory")
                cls._read(expect_dir, os.path.join(expect_dir, parts[1]), rules, seen)
                continue
            if len(parts) < 3:
                raise InputError(f"{where}: want 'TEST[:SUBTEST] VERDICT reason', got '{text}' "
                                 "(every expectation needs its reason)")
            verdicts = tuple(parts[1].split("|"))
            bad = [v for v in verdicts if v not in RULE_VERDICTS]
            if bad:
                raise InputError(f"{where}: unknown verdict {bad[0]} (use {', '.join(RULE_VERDICTS)})")
            if "FLAKY" in verdicts and ":" in parts[0]:
                raise InputError(f"{where}: FLAKY names a test, not a subtest (runs are counted "
                                 "per test)")
            rules.append(Rule(parts[0], verdicts, parts[2], where))

    def lookup(self, name):
        """(verdicts, reason) of the first rule naming NAME exactly, else of the first glob that
        matches it; None when no rule does. A test name never matches a subtest pattern (one
        with ':') nor a subtest name a test pattern; '*' is the column's rule, not a glob."""
        for r in self.rules:
            if r.pattern == name:
                return r.verdicts, r.reason
        for r in self.rules:
            if r.pattern == "*":
                continue
            if (":" in r.pattern) == (":" in name) and fnmatch.fnmatchcase(name, r.pattern):
                return r.verdicts, r.reason
        return None

    def column(self):
        """The rule for a column that gave no results (BOOT-ERROR, NOT-RUN): pattern '*'."""
        for r in self.rules:
            if r.pattern == "*":
                return r.verdicts, r.reason
        return None


def is_flaky(test):
    """A test run N times (--repeat) that failed some of its runs, not all."""
    runs, failed = test.extra.get("runs"), test.extra.get("failed_runs")
    return isinstance(runs, int) and isinstance(failed, int) and 0 < failed < runs


def flaky_rule_holds(verdicts, test):
    """FLAKY (a test known to fail now and then, its bug in the reason) is as expected when
    the test passed every run, or failed some runs and passed others; failing every run is a
    real failure, never excused as a flake."""
    return "FLAKY" in verdicts and (test.verdict == "PASS" or is_flaky(test))


def test_rule_for_subtests(rule):
    """A test's rule read for its subtests: SKIP means each skips; a failing test (FAIL,
    TIMEOUT, CRASH) still has subtests that pass, so PASS is allowed there too."""
    if rule is None:
        return None
    verdicts, reason = rule
    if any(v in ("FAIL", "TIMEOUT", "CRASH") for v in verdicts) and "PASS" not in verdicts:
        verdicts = verdicts + ("PASS",)
    return verdicts, reason


@dataclass
class SubCell:
    name: str
    verdict: str
    reason: str | None
    expected: str                # 'SKIP|PASS'
    expected_reason: str | None
    as_expected: bool


@dataclass
class Cell:
    test: str
    verdict: str
    reason: str | None
    duration_s: float | None
    expected: str
    expected_reason: str | None
    as_expected: bool
    subtests: list = field(default_factory=list)   # [SubCell]


@dataclass
class Judgement:
    """A column judged: its cells, its counts (subtests as expected and passing, not as
    expected, as expected and not passing) and every verdict not as expected, named."""
    cells: list
    counts: dict
    unexpected: list
    as_expected: bool
    expected: str | None = None          # for a column without results: its '*' rule
    expected_reason: str | None = None

    def to_dict(self):
        d = {"cells": [asdict(c) for c in self.cells], "counts": self.counts,
             "unexpected": self.unexpected, "as_expected": self.as_expected}
        if self.expected is not None:
            d["expected"] = self.expected
            d["expected_reason"] = self.expected_reason
        return d


def judge_column(line, status, reason, run, expect):
    """Judge one column: status 'ok' with run (a results.Run), or a status that gave no results
    (BOOT-ERROR, NOT-RUN) with its reason."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    unexpected = []
    if status != "ok":
        exp = expect.column()
        ok = exp is not None and status in exp[0]
        counts["skipped" if ok else "failed"] += 1
        if not ok:
            unexpected.append(f"{line}: {status}: {reason}")
        return Judgement([], counts, unexpected, ok, "|".join(exp[0]) if exp else "PASS",
                         exp[1] if exp else None)
    cells = []
    for t in run.tests:
        subs = []
        test_rule = expect.lookup(t.name)
        excused = test_rule is not None and flaky_rule_holds(test_rule[0], t)
        for s in t.subtests:
            full = f"{t.name}:{s.name}"
            exp = (expect.lookup(full) or test_rule_for_subtests(test_rule)
                   or (("PASS",), None))
            # A flaking test's subtests fail in some runs: the test's FLAKY rule covers them.
            ok = s.verdict in exp[0] or (excused and s.verdict in ("PASS", "FAIL"))
            subs.append(SubCell(s.name, s.verdict, s.reason, "|".join(exp[0]), exp[1], ok))
            if ok:
                counts["passed" if s.verdict == "PASS" else "skipped"] += 1
            else:
                counts["failed"] += 1
                unexpected.append(f"{line}: {full}: {s.verdict}, expected {'|'.join(exp[0])}"
                                  + (f" ({s.reason})" if s.reason else ""))
        exp = expect.lookup(t.name)
        if exp is None:
            # Derived from the subtests' expectations, so listing subtests is enough. Where
            # every subtest is as expected, so is the verdict they add up to; otherwise the
            # verdict their first expected outcomes would add up to.
            if subs and all(s.as_expected for s in subs):
                exp = ((combine(s.verdict for s in subs),), None)
            else:
                exp = ((combine(s.expected.split("|")[0] for s in subs) if subs else "PASS",), None)
        ok = t.verdict in exp[0] or excused
        # A test's own verdict counts on its own only where no subtest shows it: no subtests,
        # or a TIMEOUT/CRASH/exit failure that every subtest line missed.
        if not subs:
            counts["passed" if ok and t.verdict == "PASS" else "skipped" if ok else "failed"] += 1
        elif not ok and all(s.as_expected for s in subs):
            counts["failed"] += 1
        if not ok:
            unexpected.append(f"{line}: {t.name}: {t.verdict}, expected {'|'.join(exp[0])}"
                              + (f" ({t.reason})" if t.reason else ""))
        cells.append(Cell(t.name, t.verdict, t.reason, t.duration_s, "|".join(exp[0]), exp[1],
                          ok and all(s.as_expected for s in subs), subs))
    return Judgement(cells, counts, unexpected, not unexpected)
