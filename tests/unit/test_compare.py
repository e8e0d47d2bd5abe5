# SPDX-License-Identifier: GPL-2.0-only
"""kvmcheck.compare (scripts/compare): what changed between two runs, from runner JSON, matrix
files (FILE#LINE) and KCIDB files alike, and its exit statuses."""
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "scripts"))
from kvmcheck import compare, kcidb  # noqa: E402
from kvmcheck import review  # noqa: E402

COMPARE = TOP / "scripts" / "compare"


def run_json(tests, target="qemu:sid"):
    return {"kernel": "7.2.13", "machine": "x86_64", "target": target, "summary": {}, "tests": [
        {"name": n, "number": i, "verdict": v, "reason": r, "duration_s": 1.0, "exit_status": 0,
         "patch": None, "subtests": [{"name": s, "verdict": sv, "reason": sr} for s, sv, sr in subs]}
        for i, (n, v, r, subs) in enumerate(tests, 1)]}


BASE = run_json([
    ("x86/directed_eoi", "PASS", None, [("cap_advertised", "SKIP", "6.1 predates it"),
                                        ("enable_directed_eoi", "PASS", None),
                                        ("gone_sub", "PASS", None)]),
    ("x86/pio_mmio", "PASS", None, [("pio_in", "PASS", None)]),
    ("x86/memslot", "FAIL", "boom", []),
    ("x86/old", "SKIP", "absent", [])], "qemu:bookworm")
CAND = run_json([
    ("x86/directed_eoi", "PASS", None, [("cap_advertised", "PASS", None),
                                        ("enable_directed_eoi", "SKIP", "needs split irqchip")]),
    ("x86/pio_mmio", "TIMEOUT", "TIMEOUT after 30 s", []),
    ("x86/memslot", "PASS", None, []),
    ("x86/new", "PASS", None, [])])


class Transition(unittest.TestCase):
    def test_table(self):
        t = compare.transition
        self.assertIsNone(t("PASS", "PASS"))
        self.assertEqual(t("PASS", "FAIL"), "regression")
        self.assertEqual(t("PASS", "TIMEOUT"), "regression")
        self.assertEqual(t("PASS", None), "regression")
        self.assertEqual(t("SKIP", "FAIL"), "new failure")
        self.assertEqual(t(None, "CRASH"), "new failure")
        self.assertEqual(t("FAIL", "PASS"), "fixed")
        self.assertEqual(t("SKIP", "PASS"), "now passes")
        self.assertEqual(t("PASS", "SKIP"), "now skips")
        self.assertEqual(t("SKIP", None), "disappeared")
        self.assertEqual(t(None, "PASS"), "new")
        self.assertEqual(t("FAIL", "TIMEOUT"), "changed")

    def test_review_speaks_the_same_rule(self):
        self.assertEqual(review.change("SKIP", "PASS", "t", None), "proven")
        self.assertEqual(review.change("FAIL", "PASS", "t", None), "proven")
        self.assertEqual(review.change("PASS", "FAIL", "t", None), "regressed")
        self.assertEqual(review.change("PASS", "PASS", "t", None), "no behaviour change seen")
        self.assertEqual(review.change("PASS", "SKIP", "t", None), "now skips (PASS -> SKIP)")
        self.assertEqual(review.change("SKIP", "FAIL", "t", None), "SKIP -> FAIL")
        self.assertEqual(review.change("-", "PASS", "t", None), "- -> PASS")


class Files(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kvmcheck-test-compare.")
        self.d = Path(self.tmp.name)
        (self.d / "base.json").write_text(json.dumps(BASE))
        (self.d / "cand.json").write_text(json.dumps(CAND))

    def tearDown(self):
        self.tmp.cleanup()

    def cmd(self, *args):
        p = subprocess.run([str(COMPARE), *map(str, args)], capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def test_runner_files(self):
        rc, out, err = self.cmd("--json", self.d / "diff.json", self.d / "base.json",
                                self.d / "cand.json")
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r"x86/directed_eoi:cap_advertised +SKIP -> PASS +now passes")
        self.assertRegex(out, r"x86/directed_eoi:enable_directed_eoi +PASS -> SKIP +now skips "
                              r" needs split irqchip")
        self.assertRegex(out, r"x86/directed_eoi:gone_sub +PASS -> - +regression")
        self.assertRegex(out, r"x86/pio_mmio +PASS -> TIMEOUT +regression  TIMEOUT after 30 s")
        self.assertRegex(out, r"x86/pio_mmio:pio_in +PASS -> TIMEOUT +regression")
        self.assertRegex(out, r"x86/memslot +FAIL -> PASS +fixed")
        self.assertRegex(out, r"x86/old +SKIP -> - +disappeared")
        self.assertRegex(out, r"x86/new +- -> PASS +new")
        self.assertRegex(out.splitlines()[-1], r"^3 regression, 1 fixed, 1 now passes, 1 now skips,"
                                               r" 1 disappeared, 1 new, \d+ unchanged$")
        d = json.loads((self.d / "diff.json").read_text())
        self.assertEqual(d["regressions"], 3)

    def test_no_change_exit_0(self):
        rc, out, _ = self.cmd(self.d / "base.json", self.d / "base.json")
        self.assertEqual(rc, 0)
        self.assertIn("no verdict changed", out)

    def test_matrix_and_kcidb(self):
        cols = [{"line": "bookworm", "status": "ok", "kernel": "6.1", "runner": BASE},
                {"line": "sid", "status": "ok", "kernel": "7.2", "runner": CAND}]
        m = self.d / "matrix.json"
        m.write_text(json.dumps({"schema": 1, "kernels": cols}))
        rc, out, err = self.cmd(f"{m}#bookworm", f"{m}#sid")
        self.assertEqual(rc, 1, err)
        self.assertIn("compare: bookworm (6.1) -> sid (7.2)", out)
        rc, _, err = self.cmd(m, m)
        self.assertEqual(rc, 2)
        self.assertIn("holds 2 kernel lines (bookworm, sid): name one as", err)
        rc, _, err = self.cmd(f"{m}#trixie", f"{m}#sid")
        self.assertEqual(rc, 2)
        self.assertIn("no kernel line trixie", err)
        k = self.d / "k.json"
        kcidb.write(str(k), [str(m)], run_id="x")
        rc, out2, err = self.cmd(f"{k}#bookworm", f"{k}#sid")
        self.assertEqual(rc, 1, err)
        self.assertEqual(out2.splitlines()[1:], out.splitlines()[1:])

    def test_bad_input(self):
        (self.d / "bad.json").write_text('{"tests": [{"name": "x"}]}')
        rc, out, err = self.cmd(self.d / "bad.json", self.d / "base.json")
        self.assertEqual(rc, 2)
        self.assertIn("bad.json: tests[0]: missing field 'verdict'", err)
        self.assertNotIn("Traceback", err)
        rc, _, err = self.cmd(self.d / "missing.json", self.d / "base.json")
        self.assertEqual(rc, 2)
        self.assertIn("missing.json", err)

    def test_nothing_compared(self):
        (self.d / "empty.json").write_text(json.dumps(run_json([])))
        rc, _, err = self.cmd(self.d / "empty.json", self.d / "empty.json")
        self.assertEqual(rc, 4)
        self.assertIn("nothing was compared", err)


if __name__ == "__main__":
    unittest.main()
