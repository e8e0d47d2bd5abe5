# SPDX-License-Identifier: GPL-2.0-only
"""The HTML report (scripts/report, kvmcheck.report, the drivers' hooks, the browser check):
every way the page could claim more than the results say, or leave something behind.

A corrupt or half-judged results file is refused naming the file and the field (exit 2), and an
older page stays as it was; four reports at once on one results directory never show a partial
page or keep a run twice in history/; a kept run that is unusable is named on the page, not
fatal; a page that cannot be written never changes a matrix's verdict; the browser check ends a
browser that does not answer or dies, within its bound, and leaves no process or profile."""
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

import faultlib

REPORT = faultlib.SCRIPTS / "report"
MATRIX = faultlib.SCRIPTS / "matrix.sh"
CHECK = faultlib.TOP / "tests" / "browser" / "check_report.py"
SAMPLES = faultlib.TOP / "tests" / "report"


class ReportFault(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="kc-report-fault."))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.tmpdir = self.tmp / "tmp"
        self.tmpdir.mkdir()
        self.env = {"TMPDIR": str(self.tmpdir)}
        self.res = self.tmp / "results"
        self.res.mkdir()

    def report(self, *args, timeout=120):
        return faultlib.run([REPORT, *args], env=self.env, timeout=timeout)

    def sample(self, name="matrix.json"):
        shutil.copy(SAMPLES / name, self.res / name)
        return self.res / name

    def assert_refused(self, rc, err, *needles):
        self.assertEqual(rc, 2, err)
        for n in needles:
            self.assertIn(n, err)
        self.assertNotIn("Traceback", err)
        self.assertEqual([p.name for p in self.res.iterdir() if p.name.startswith(".")], [],
                         "temporaries left in the results directory")
        self.assertEqual(list(self.tmpdir.iterdir()), [], "temporaries left in TMPDIR")

    def test_truncated_matrix_is_refused_and_the_old_page_kept(self):
        f = self.sample()
        (self.res / "report.html").write_text("the previous page")
        f.write_text(f.read_text()[:5000])
        rc, _, err = self.report(self.res)
        self.assert_refused(rc, err, "matrix.json: not JSON")
        self.assertEqual((self.res / "report.html").read_text(), "the previous page")

    def test_cell_that_does_not_say_whether_it_was_expected_is_refused(self):
        f = self.sample()
        d = json.loads(f.read_text())
        del d["kernels"][2]["cells"][3]["as_expected"]
        f.write_text(json.dumps(d))
        rc, _, err = self.report(self.res)
        self.assert_refused(rc, err, "kernels[2].cells[3]", "as_expected")
        self.assertFalse((self.res / "report.html").exists())

    def test_wrong_schema_review_is_refused(self):
        (self.res / "review.json").write_text(json.dumps({"schema": "kvmcheck-review/0",
                                                          "patches": []}))
        rc, _, err = self.report(self.res)
        self.assert_refused(rc, err, "review.json: not a kvmcheck review file")

    def test_no_results_is_refused(self):
        rc, _, err = self.report(self.res)
        self.assert_refused(rc, err, "no results to report")
        self.assertEqual(list(self.res.iterdir()), [])

    def test_baseline_that_is_not_a_matrix_is_refused(self):
        self.sample()
        rc, _, err = self.report(self.res, "--baseline", SAMPLES / "review.json")
        self.assert_refused(rc, err, "review.json: not a kvmcheck matrix file")

    def test_concurrent_reports_never_show_a_partial_page(self):
        self.sample()
        stop = threading.Event()
        bad = []

        def reader():
            while not stop.is_set():
                try:
                    text = (self.res / "report.html").read_text()
                except FileNotFoundError:
                    continue
                if not text.rstrip().endswith("</html>"):
                    bad.append(len(text))
        t = threading.Thread(target=reader)
        t.start()
        try:
            procs = [subprocess.Popen([str(REPORT), str(self.res), "--meta",
                                       str(SAMPLES / "tests-meta.json")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      env=dict(os.environ, **self.env)) for _ in range(4)]
            errs = [p.communicate(timeout=120)[1] for p in procs]
        finally:
            stop.set()
            t.join()
        self.assertEqual([p.returncode for p in procs], [0] * 4, errs)
        self.assertEqual(bad, [], "a reader saw a partial page")
        self.assertEqual(sorted(p.name for p in self.res.iterdir()),
                         ["history", "matrix.json", "report.html"])
        kept = sorted(p.name for p in (self.res / "history").iterdir())
        self.assertEqual(len(kept), 2, kept)             # the run once, and the lock
        self.assertIn(".lock", kept)
        self.assertEqual(list(self.tmpdir.iterdir()), [])

    def test_unusable_kept_run_is_named_not_fatal(self):
        f = self.sample()
        rc, _, err = self.report(self.res)
        self.assertEqual(rc, 0, err)
        kept = next(p for p in (self.res / "history").iterdir() if p.suffix == ".json")
        kept.write_text("{")                             # a disk that lost it
        d = json.loads(f.read_text())
        d["kernels"][0]["timings"]["boot_s"] = 1.0       # another run: the kept one is the baseline
        f.write_text(json.dumps(d))
        rc, out, err = self.report(self.res)
        self.assertEqual(rc, 0, err)
        page = (self.res / "report.html").read_text()
        self.assertIn("no baseline: the kept run is unusable", page)
        self.assertIn("not JSON", page)

    def test_planted_regression_is_listed_first_and_counted(self):
        self.sample()
        rc, out, err = self.report(self.res, "--no-history", "--baseline",
                                   SAMPLES / "baseline.json")
        self.assertEqual(rc, 0, err)
        self.assertIn("for the worse", err)
        page = (self.res / "report.html").read_text()
        first = page.index('<ol class="changes" id="changes">')
        self.assertIn('data-kind="regression" data-line="sid" data-test="x86/directed_eoi"',
                      page[first:first + 300])
        self.assertFalse((self.res / "history").exists())

    def test_matrix_verdict_stands_when_its_page_cannot_be_written(self):
        """make matrix's exit status is the verdict's: a page that cannot be made is said, in
        the line where its path would be, and changes nothing else."""
        shard = self.tmp / "matrix-sid.json"
        d = json.loads((SAMPLES / "matrix.json").read_text())
        k = {x: v for x, v in d["kernels"][2].items() if x not in ("cells", "counts", "unexpected",
                                                                    "as_expected", "expect_file")}
        k["runner"]["tests"] = [t for t in k["runner"]["tests"] if t["name"] != "x86/directed_eoi"]
        shard.write_text(json.dumps({"schema": 1, "kernels": [k]}))
        (self.res / "review.json").write_text("{")      # another driver's file, broken
        rc, out, err = faultlib.run([MATRIX, "--out", self.res, "--merge", shard], env=self.env,
                                    timeout=120)
        self.assertEqual(rc, 0, out + err)
        lines = out.splitlines()
        self.assertTrue(lines[-2].startswith("report: not written: "), lines[-2])
        self.assertIn("review.json: not JSON", lines[-2])
        self.assertRegex(lines[-1], r"^\d+ passed, 0 failed, \d+ skipped$")
        self.assertFalse((self.res / "report.html").exists())

    def test_matrix_prints_the_page_last_but_one(self):
        rc, out, err = faultlib.run([MATRIX, "--out", self.res, "--merge",
                                     SAMPLES / "matrix.json"], env=self.env, timeout=120)
        self.assertEqual(rc, 1, out + err)              # the sample has unexpected verdicts
        self.assertEqual(out.splitlines()[-2], f"report: {self.res / 'report.html'}")
        self.assertTrue((self.res / "report.html").read_text().rstrip().endswith("</html>"))


    def test_review_prints_the_page_before_its_verdict(self):
        sys.path.insert(0, str(faultlib.SCRIPTS))
        from kvmcheck import review
        rep = {"schema": "kvmcheck-review/2", "input": "x.mbox", "base": "debian",
               "base_src": None, "kernels": {}, "patches": []}
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = review.report(rep, str(self.res), code=4)
        lines = out.getvalue().splitlines()
        self.assertEqual(rc, 4)
        self.assertEqual(lines[-2], f"report: {self.res / 'report.html'}")
        self.assertIn("no patch found", lines[-1])
        self.assertIn("nothing was reviewed", (self.res / "report.html").read_text())


class BrowserCheckFault(unittest.TestCase):
    """The browser check itself: a browser that hangs or dies is a failed check within the
    bound, never a hang of make check, and leaves no process or profile behind."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="kc-report-browser."))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.tmpdir = self.tmp / "tmp"
        self.tmpdir.mkdir()

    def fake(self, body):
        f = self.tmp / "chromium"
        f.write_text(f"#!/bin/sh\n{body}\n")
        f.chmod(0o755)
        return f

    def check(self, chromium, timeout=6):
        env = {"TMPDIR": str(self.tmpdir), "KVMCHECK_CHROMIUM": str(chromium)}
        t0 = time.monotonic()
        rc, out, err = faultlib.run([sys.executable, CHECK, "--out", self.tmp / "out",
                                     "--timeout", str(timeout)], env=env, timeout=120)
        return rc, out, err, time.monotonic() - t0

    def assert_nothing_left(self, marker):
        self.assertEqual(list(self.tmpdir.iterdir()), [], "profile or temporaries left")
        self.assertEqual(faultlib.stray_processes(marker), [], "the browser outlived the check")

    def test_browser_that_never_answers_is_a_failure_within_the_bound(self):
        marker = f"sleep 299.{os.getpid()}"      # the hung browser's command line, unique
        rc, out, err, secs = self.check(self.fake(f"exec {marker}"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("not ok - browser session: the check took more than 6 s", out)
        self.assertRegex(out.splitlines()[-1], r"^0 passed, 1 failed, \d+ skipped$")
        self.assertLess(secs, 60)
        self.assert_nothing_left(marker)

    def test_browser_that_dies_is_named(self):
        rc, out, err, _ = self.check(self.fake("echo 'no display' >&2; exit 1"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("the browser closed its DevTools pipe (exit status 1)", out)
        self.assertEqual(list(self.tmpdir.iterdir()), [])

    def test_no_browser_skips_saying_why(self):
        env = {"TMPDIR": str(self.tmpdir), "KVMCHECK_CHROMIUM": "", "PATH": "/nonexistent"}
        rc, out, err = faultlib.run([sys.executable, CHECK, "--out", self.tmp / "out"], env=env)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("browser: skipped: no chromium", out)
        self.assertRegex(out.splitlines()[-1], r"^0 passed, 0 failed, [1-9]\d* skipped$")


if __name__ == "__main__":
    unittest.main()
