# SPDX-License-Identifier: GPL-2.0-only
"""The HTML report (kvmcheck.report) without a browser: reading a matrix, its logs and the
tests' metadata, what changed since a baseline (worst first), the page's text and its escaping,
the review and mutant sections, the SVG plots, history/ and the command's exit statuses."""
import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "scripts"))
from kvmcheck import matrix as mx  # noqa: E402
from kvmcheck import report as rp  # noqa: E402
from kvmcheck.util import InputError  # noqa: E402

SAMPLES = TOP / "tests" / "report"


def run_json(kernel, tests):
    """tests = {name: (verdict, reason, {sub: (verdict, reason)})}: a kvmcheck-run --json."""
    return {"kernel": kernel, "machine": "x86_64", "target": "qemu:x", "summary": {},
            "tests": [{"name": n, "verdict": v, "reason": r, "duration_s": 0.5, "exit_status": 0,
                       "patch": {"subject": f"KVM: fix {n}", "link": "https://lore.kernel.org/x"}
                       if n != "common/ucall" else None,
                       "subtests": [{"name": s, "verdict": sv, "reason": sr}
                                    for s, (sv, sr) in subs.items()]}
                      for n, (v, r, subs) in tests.items()]}


GOOD = {"common/ucall": ("PASS", None, {"sync": ("PASS", None)}),
        "x86/eoi": ("PASS", None, {"cap": ("PASS", None), "storm": ("PASS", None)}),
        "upstream/x86/xapic_state_test": ("PASS", None, {}),
        "vhost/task": ("PASS", None, {"kick": ("PASS", None)})}
TAP = """TAP version 13
1..2
    # Subtest: common/ucall
    1..1
    ok 1 sync
ok 1 common/ucall
# kvmcheck-test: 1 duration_s=0.5 exit_status=0 verdict=PASS
    # Subtest: x86/eoi
    1..2
    ok 1 cap
    # interrupt storm: 200 deliveries
    not ok 2 storm # interrupt storm
not ok 2 x86/eoi
# kvmcheck-test: 2 duration_s=0.5 exit_status=1 verdict=FAIL
not ok 3 vhost/task # CRASHED BUG: kernel NULL pointer dereference, address: 0 | RIP: 0010:vhost_worker+0x10
"""
CONSOLE = """[    1.000000] Linux version 7.2.13
[    5.100000] vhost: something harmless
[    5.200000] BUG: kernel NULL pointer dereference, address: 0000000000000000
[    5.200001] #PF: supervisor read access in kernel mode
[    5.200002] RIP: 0010:vhost_worker+0x10/0x80
[    5.200003] Call Trace:
[    5.200004] ---[ end trace 0000000000000000 ]---
[    5.300000] after the splat
"""


class Fixture(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="kc-report-unit."))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.expect = self.tmp / "expect"
        self.expect.mkdir()

    def matrix(self, name, columns, logs=None):
        """A judged matrix.json in tmp/NAME/ from {line: tests}; logs: {line: (tap, console)}."""
        d = self.tmp / name
        d.mkdir()
        files = []
        for line, tests in columns.items():
            col = {"line": line, "status": "ok", "kernel": f"{line}-kver", "version": "7.2.13-1",
                   "timings": {"boot_s": 12.5, "column_s": 40.0}, "runner": run_json(line, tests or {})}
            if tests is None:
                col.update(status="BOOT-ERROR", reason="kernel panic: VFS", runner=None)
            if logs and line in logs:
                ld = d / "logs" / line
                ld.mkdir(parents=True)
                (ld / "tap.log").write_text(logs[line][0])
                (ld / "console.log").write_text(logs[line][1])
                col["logs"] = f"logs/{line}"
            f = d / f"matrix-{line}.json"
            f.write_text(json.dumps({"schema": 1, "kernels": [col]}))
            files.append(str(f))
        with contextlib.redirect_stdout(io.StringIO()):
            mx.report([c for f in files for c in mx.load_columns(f)], str(self.expect), str(d),
                      builds=[])
        return d / "matrix.json"


class TestReading(Fixture):
    def test_test_blocks_split_a_merged_tap(self):
        b = rp.test_blocks(TAP.splitlines())
        self.assertEqual(sorted(b), ["common/ucall", "vhost/task", "x86/eoi"])
        self.assertEqual(b["x86/eoi"][0], "    # Subtest: x86/eoi")
        self.assertIn("    not ok 2 storm # interrupt storm", b["x86/eoi"])
        self.assertTrue(b["x86/eoi"][-1].startswith("# kvmcheck-test: 2"))
        self.assertEqual(b["vhost/task"], [TAP.splitlines()[-1]])

    def test_cells_logs_and_splat(self):
        bad = dict(GOOD, **{"x86/eoi": ("FAIL", None, {"cap": ("PASS", None),
                                                       "storm": ("FAIL", "interrupt storm")}),
                            "vhost/task": ("CRASH", "BUG: kernel NULL pointer dereference, "
                                           "address: 0 | RIP: 0010:vhost_worker+0x10", {})})
        m = rp.load_matrix(str(self.matrix("m", {"sid": bad}, {"sid": (TAP, CONSOLE)})))
        c = m.cells[("x86/eoi", "sid")]
        self.assertEqual((c.verdict, c.as_expected, c.short()), ("FAIL", False, "FAIL 1/2"))
        self.assertIn("not ok 2 storm", c.log)
        self.assertIsNone(c.kernel_log)       # a FAIL without a kernel report has no splat
        crash = m.cells[("vhost/task", "sid")]
        self.assertTrue(crash.kernel_log.splitlines()[KERNEL_BEFORE].endswith(
            "BUG: kernel NULL pointer dereference, address: 0000000000000000"))
        self.assertIn("---[ end trace", crash.kernel_log)
        self.assertNotIn("after the splat", crash.kernel_log)
        self.assertEqual(m.cells[("common/ucall", "sid")].kernel_log, None)

    def test_health_failure_gets_its_report(self):
        console = CONSOLE.replace("BUG: kernel NULL pointer dereference",
                                  "WARNING: CPU: 0 PID: 812 at kvmcheck-fault")
        bad = dict(GOOD, **{"vhost/task": ("FAIL", None, {"kick": (
            "FAIL", "kernel report in this test's task task/812: WARNING: CPU: 0 PID: 812 at "
                    "kvmcheck-fault | RIP: 0010:x")})})
        m = rp.load_matrix(str(self.matrix("m", {"sid": bad}, {"sid": (TAP, console)})))
        self.assertIn("WARNING: CPU: 0 PID: 812", m.cells[("vhost/task", "sid")].kernel_log)

    def test_a_boot_time_warning_is_no_splat(self):
        """A CRASH whose reason names no console line gets the first report that starts a
        line, never the SRSO notice bookworm and trixie print at boot; the excerpt ends where
        the console moves on."""
        console = ("[    0.037723] Speculative Return Stack Overflow: WARNING: See https://x\n"
                   "[    9.000000] Oops: general protection fault, probably for address 0x1\n"
                   "[    9.000001] RIP: 0010:kvm_arch_vcpu_ioctl_run+0x1\n"
                   "[   12.000000] reboot: Power down\n")
        cell = rp.CellView("x86/eoi", "sid", "CRASH", False, "the guest stopped")
        ex = rp.kernel_excerpt(console.splitlines(), cell)
        self.assertNotIn("Speculative", ex.splitlines()[-2])
        self.assertTrue(ex.splitlines()[1].endswith("Oops: general protection fault, probably "
                                                     "for address 0x1"))
        self.assertNotIn("Power down", ex)
        self.assertIsNone(rp.kernel_excerpt(console.splitlines(), rp.CellView(
            "x86/eoi", "sid", "FAIL", False, "storm")))

    def test_boot_error_column_fills_every_row(self):
        m = rp.load_matrix(str(self.matrix("m", {"sid": GOOD, "trixie": None})))
        self.assertEqual([c.status for c in m.columns], ["ok", "BOOT-ERROR"])
        for r in m.rows:
            c = m.cells[(r.name, "trixie")]
            self.assertEqual((c.verdict, c.reason), ("BOOT-ERROR", "kernel panic: VFS"))
            self.assertFalse(c.as_expected)

    def test_groups_from_metadata_else_directory_and_suite(self):
        m = rp.load_matrix(str(self.matrix("m", {"sid": GOOD})))
        rp.apply_meta(m, [{"name": "x86/eoi", "groups": ["x86", "seed"], "summary": "eoi"}])
        rows = {r.name: r for r in m.rows}
        self.assertEqual(rows["x86/eoi"].groups, ["x86", "seed"])
        self.assertEqual(rows["x86/eoi"].summary, "eoi")
        self.assertEqual(rows["vhost/task"].groups, ["vhost"])
        self.assertEqual(rows["upstream/x86/xapic_state_test"].groups, ["x86"])
        self.assertEqual(rows["upstream/x86/xapic_state_test"].suite, "upstream")
        self.assertEqual(rows["common/ucall"].suite, "kvmcheck")
        self.assertEqual(rows["x86/eoi"].patch["subject"], "KVM: fix x86/eoi")

    def test_recorded_cell_without_expectation_is_refused(self):
        f = self.matrix("m", {"sid": GOOD})
        d = json.loads(f.read_text())
        del d["kernels"][0]["cells"][1]["as_expected"]
        f.write_text(json.dumps(d))
        with self.assertRaisesRegex(InputError, r"matrix.json: kernels\[0\].cells\[1\]"):
            rp.load_matrix(str(f))

    def test_shard_is_judged_against_expect(self):
        f = self.matrix("m", {"sid": dict(GOOD, **{"vhost/task": ("SKIP", "no vhost", {
            "kick": ("SKIP", "no vhost")})})})
        (self.expect / "sid.txt").write_text("vhost/task  SKIP  Debian has no vhost here\n")
        m = rp.load_matrix(str(f.parent / "matrix-sid.json"), str(self.expect))
        c = m.cells[("vhost/task", "sid")]
        self.assertTrue(c.as_expected)
        self.assertEqual(c.expected_reason, "Debian has no vhost here")


KERNEL_BEFORE = rp.KERNEL_LINES_BEFORE - 1     # the splat's line in the excerpt (two before it)


class TestSinceLastTime(Fixture):
    def test_regressions_first_then_the_rest_fixed_last(self):
        base = self.matrix("base", {
            "bookworm": dict(GOOD, **{"common/ucall": ("FAIL", "deliberate", {"sync": ("FAIL", "x")})}),
            "sid": GOOD, "trixie": GOOD})
        cur = self.matrix("cur", {
            "bookworm": GOOD,
            "sid": dict(GOOD, **{"x86/eoi": ("FAIL", None, {"cap": ("PASS", None),
                                                            "storm": ("FAIL", "storm")})}),
            "trixie": dict(GOOD, **{"vhost/task": ("SKIP", "no vhost", {"kick": ("SKIP", "no")})})})
        b, c = rp.load_matrix(str(base)), rp.load_matrix(str(cur))
        ch = rp.compare(b, c)
        self.assertEqual([(x.kind, x.line, x.test) for x in ch],
                         [("regression", "sid", "x86/eoi"), ("now skips", "trixie", "vhost/task"),
                          ("fixed", "bookworm", "common/ucall")])
        self.assertEqual((ch[0].before, ch[0].after), ("PASS", "FAIL 1/2"))
        self.assertIn("storm PASS->FAIL", ch[0].detail)
        self.assertIs(c.cells[("x86/eoi", "sid")].change, ch[0])
        self.assertIsNone(c.cells[("x86/eoi", "bookworm")].change)

    def test_lines_and_tests_that_come_and_go(self):
        base = self.matrix("base", {"sid": GOOD, "trixie": GOOD})
        less = {k: v for k, v in GOOD.items() if k != "vhost/task"}
        cur = self.matrix("cur", {"sid": less, "bookworm": GOOD})
        ch = rp.compare(rp.load_matrix(str(base)), rp.load_matrix(str(cur)))
        got = [(x.kind, x.line, x.test) for x in ch]
        self.assertEqual(got[0], ("regression", "sid", "vhost/task"))   # PASS, then no result
        self.assertIn(("disappeared", "trixie", "(kernel line)"), got)
        self.assertIn(("new", "bookworm", "(kernel line)"), got)

    def test_a_boot_error_is_a_regression_of_every_test(self):
        base = self.matrix("base", {"sid": GOOD})
        cur = self.matrix("cur", {"sid": None})
        ch = rp.compare(rp.load_matrix(str(base)), rp.load_matrix(str(cur)))
        self.assertEqual({x.kind for x in ch}, {"regression"})
        self.assertEqual(len(ch), len(GOOD))

    def test_history_keeps_each_run_once_and_names_the_previous(self):
        a = self.matrix("a", {"sid": GOOD})
        b = self.matrix("b", {"sid": dict(GOOD, **{"x86/eoi": ("FAIL", None, {})})})
        h = self.tmp / "history"
        self.assertIsNone(rp.keep_history(str(a), str(h)))
        self.assertIsNone(rp.keep_history(str(a), str(h)))            # same run: no baseline
        prev = rp.keep_history(str(b), str(h))
        self.assertEqual(Path(prev).read_bytes(), a.read_bytes())
        self.assertEqual(rp.keep_history(str(b), str(h)), prev)      # regenerated: same one
        self.assertEqual(len([f for f in os.listdir(h) if f.endswith(".json")]), 2)

    def test_history_keeps_the_newest(self):
        h = self.tmp / "history"
        f = self.tmp / "m.json"
        for i in range(rp.HISTORY_KEEP + 5):
            f.write_text(json.dumps({"schema": 1, "kernels": [], "n": i}))
            rp.keep_history(str(f), str(h))
        kept = sorted(x for x in os.listdir(h) if x.endswith(".json"))
        self.assertEqual(len(kept), rp.HISTORY_KEEP)
        self.assertEqual(json.loads((h / kept[-1]).read_text())["n"], rp.HISTORY_KEEP + 4)
        self.assertEqual([x for x in os.listdir(h) if x.startswith(".") and x != ".lock"], [])


class TestPage(Fixture):
    def page(self, **kw):
        out = self.tmp / "report.html"
        rp.write(str(out), **kw)
        return out.read_text()

    def test_self_contained_and_escaped(self):
        evil = '</script><img src=x onerror=alert(1)>"&'
        f = self.matrix("m", {"sid": dict(GOOD, **{"x86/eoi": ("FAIL", evil, {"cap": ("FAIL", evil)})})},
                        {"sid": (TAP.replace("interrupt storm", evil), CONSOLE)})
        html = self.page(matrix_path=str(f), history=False)
        self.assertNotIn("<img", html)
        self.assertNotIn("onerror=alert(1)>", html.replace("&lt;img src=x onerror=alert(1)&gt;", ""))
        self.assertEqual(html.count("</script>"), 2)        # the data block and the script
        self.assertNotRegex(html, r"""(src|href)=["']?(https?:)?//(?!lore\.kernel\.org)""")
        self.assertNotRegex(html, r"@import|url\(|<link rel=.stylesheet")
        self.assertIn("default-src 'none'", html)
        data = re.search(r'<script type="application/json" id="cell-data">(.*?)</script>', html).group(1)
        cells = json.loads(data)
        self.assertTrue(any(c["reasons"] == [evil] for c in cells.values()))

    def test_grid_rows_cells_and_filters(self):
        f = self.matrix("m", {"sid": GOOD, "trixie": dict(GOOD, **{"x86/eoi": ("FAIL", "storm", {})})})
        html = self.page(matrix_path=str(f), history=False)
        self.assertEqual(html.count('<td class="cell"'), len(GOOD) * 2)
        self.assertIn('data-test="x86/eoi" data-groups="x86" data-suite="kvmcheck" '
                      'data-verdicts="FAIL PASS" data-unexpected="1"', html)
        for opt in ('<option value="vhost">', '<option value="upstream">', '<option value="FAIL">'):
            self.assertIn(opt, html)
        self.assertIn('!<span class="word"> UNEXPECTED</span>', html)
        self.assertIn('href="https://lore.kernel.org/x"', html)
        self.assertIn("no baseline", html)

    def test_verdict_line_comes_from_the_cells(self):
        """A shard has no summary: the page's verdict is the cells', never 'as expected' by
        default; a matrix where no kernel ran a test says nothing was tested."""
        f = self.matrix("m", {"sid": dict(GOOD, **{"x86/eoi": ("FAIL", "storm", {})})})
        html = self.page(matrix_path=str(f.parent / "matrix-sid.json"), history=False,
                         expect_dir=str(self.expect))
        self.assertIn('id="matrix-verdict">1 cell(s) not as expect/ says, on sid</p>', html)
        f = self.matrix("n", {"sid": None})
        html = self.page(matrix_path=str(f), history=False)
        self.assertRegex(html, r'id="matrix-verdict">1 cell\(s\) not as expect/ says, on sid; '
                               r'INCOMPLETE: a kernel line was not tested; nothing was tested')

    def test_review_and_mutants_sections(self):
        html = self.page(review_path=str(SAMPLES / "review.json"),
                         mutants_path=str(SAMPLES / "mutants.json"))
        rev = json.loads((SAMPLES / "review.json").read_text())
        self.assertEqual(html.count('class="review-patch"'), len(rev["patches"]))
        for p in rev["patches"]:
            self.assertIn(rp.e(p["subject"]), html)
        mu = json.loads((SAMPLES / "mutants.json").read_text())
        self.assertIn('id="mutant-grid"', html)
        for m in mu["mutants"]:
            self.assertIn(rp.e(m["name"]), html)
        self.assertIn("mutation score per behaviour", html)

    def test_mutants_without_scores_are_scored_here(self):
        f = self.tmp / "mutants.json"
        f.write_text(json.dumps({"schema": "kvmcheck-mutants/1", "mutants": [
            {"name": "a", "behaviour": "eoi", "status": "KILLED", "cells": {"x86/eoi": "KILLED"}},
            {"name": "b", "behaviour": "eoi", "status": "SURVIVED", "cells": {"x86/eoi": "SURVIVED"}}]}))
        html = self.page(mutants_path=str(f))
        self.assertIn("eoi: 1/2", html)
        self.assertIn(">50%<", html)

    def test_bar_chart_is_svg(self):
        svg = rp.bar_chart("t <&>", [("sid", [1.5, 30]), ("trixie", [None, 12])], ["boot", "column"])
        root = ET.fromstring(svg)
        self.assertTrue(root.tag.endswith("svg"))
        self.assertIn("no value", svg)
        self.assertIn("t &lt;&amp;&gt;", svg)


class TestCommand(Fixture):
    def main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = rp.main([str(a) for a in argv])
            except SystemExit as ex:
                rc = ex.code
        return rc, out.getvalue(), err.getvalue()

    def test_no_results_is_exit_2(self):
        rc, out, err = self.main(self.tmp)
        self.assertEqual(rc, 2)
        self.assertIn("no results to report", err)
        self.assertFalse((self.tmp / "report.html").exists())

    def test_missing_file_is_exit_2(self):
        rc, _, err = self.main("--review", self.tmp / "nope.json")
        self.assertEqual(rc, 2)
        self.assertIn("nope.json: no such file", err)

    def test_writes_the_page_next_to_the_results_and_prints_its_path_last(self):
        f = self.matrix("m", {"sid": GOOD})
        rc, out, err = self.main(f.parent, "--meta", SAMPLES / "tests-meta.json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines()[-1], str(f.parent / "report.html"))
        self.assertTrue((f.parent / "history").is_dir())
        rc, out, err = self.main(f.parent, "--no-history", "--out", self.tmp / "x.html")
        self.assertEqual(rc, 0, err)
        self.assertTrue((self.tmp / "x.html").exists())

    def test_after_run_never_raises(self):
        d = self.tmp / "r"
        d.mkdir()
        (d / "review.json").write_text("{")
        line = rp.after_run(str(d), [])
        self.assertTrue(line.startswith("report: not written: "), line)
        self.assertIn("review.json: not JSON", line)
        self.assertEqual(sorted(os.listdir(d)), ["review.json"])


if __name__ == "__main__":
    unittest.main()
