# SPDX-License-Identifier: GPL-2.0-only
"""A test's --meta "shown_on" comes from runs, not from its source (issue 11): make shown-on
writes meta/shown-on.txt from matrix and mutant runs, and the build turns it into the table
the harness prints. Checked on small synthetic runs: the verdicts per kernel line, the mutants
a test killed and those that claim it and survived, the last run winning, bad input refused
with the file and field named, and the generated C compiling with quotes and backslashes."""
import json
import os
import subprocess
import tempfile
import unittest

import faultlib

AWK = faultlib.SCRIPTS / "shown-on-c.awk"


def kernel(line, version, verdicts, status="ok"):
    """One column of a matrix file, its runner results as the guest's runner wrote them."""
    k = {"line": line, "version": version, "status": status}
    if status == "ok":
        k["runner"] = {"tests": [{"name": t, "verdict": v} for t, v in verdicts]}
    else:
        k["reason"] = "did not boot"
    return k


def matrix_file(*kernels):
    return {"schema": 1, "kernels": list(kernels)}


def mutants_file(*mutants, base=None):
    return {"schema": "kvmcheck-mutants/1", "base_kernel": base, "mutants": list(mutants)}


def mutant(name, cells, caught_by=(), status="KILLED"):
    return {"name": name, "status": status, "cells": dict(cells), "caught_by": list(caught_by)}


class ShownOn(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kcfault-shown-")
        self.dir = self.tmp.name
        self.out = os.path.join(self.dir, "shown-on.txt")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, obj):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(obj, f)
        return path

    def run_it(self, *args):
        return faultlib.run(["python3", "-m", "kvmcheck.shown_on", "--out", self.out, *args],
                            env={"PYTHONPATH": str(faultlib.SCRIPTS)}, timeout=60)

    def lines(self):
        with open(self.out) as f:
            return dict(x.rstrip("\n").split("\t", 1) for x in f if not x.startswith("#"))

    def test_kernels_and_mutants(self):
        mx = self.write("matrix.json", matrix_file(
            kernel("bookworm", "6.1.176-1", [("x86/a", "PASS"), ("x86/b", "SKIP")]),
            kernel("sid", "7.2.13-1", [("x86/a", "PASS"), ("x86/b", "FAIL")]),
            kernel("trixie", None, [], status="BOOT-ERROR")))
        m1 = self.write("m1.json", mutants_file(
            mutant("deoi-01-cap", {"x86/a": "KILLED", "x86/b": "SURVIVED"}, ["x86/a:s"]),
            mutant("deoi-14-irr", {"x86/a": "SURVIVED"}, ["x86/a:t"], status="SURVIVED"),
            mutant("vhost-02-put", {"x86/b": "CRASH"}), base="/c/builds/debian-7.2.13-1-x/k"))
        # A later run of deoi-14 kills it; a listing that did not run keeps the earlier verdict.
        m2 = self.write("m2.json", mutants_file(
            mutant("deoi-14-irr", {"x86/a": "KILLED"}, ["x86/a:t"]),
            mutant("vhost-02-put", {}, status="NOT-RUN")))
        rc, _, err = self.run_it("--matrix", mx, "--mutants", f"{m1} {m2}")
        self.assertEqual(rc, 0, err)
        got = self.lines()
        self.assertEqual(got["x86/a"], "pass: bookworm 6.1.176-1, sid 7.2.13-1; "
                                       "killed mutants: deoi-01 deoi-14")
        self.assertEqual(got["x86/b"], "fail: sid 7.2.13-1; skip: bookworm 6.1.176-1; "
                                       "killed mutants: vhost-02")
        rc, _, err = self.run_it("--mutants", m1)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.lines()["x86/a"], "killed mutants: deoi-01; survived by: deoi-14")

    def test_bad_input_is_named(self):
        bad = self.write("bad.json", matrix_file({"status": "ok", "runner": {"tests": []}}))
        rc, _, err = self.run_it("--matrix", bad)
        self.assertEqual(rc, 2)
        self.assertIn("bad.json: kernels[0]: missing field 'line'", err)
        bad = self.write("bad-m.json", mutants_file({"status": "KILLED"}))
        rc, _, err = self.run_it("--mutants", bad)
        self.assertEqual(rc, 2)
        self.assertIn("bad-m.json: mutants[0]: not a mutant", err)
        rc, _, err = self.run_it()
        self.assertEqual(rc, 2)
        self.assertFalse(os.path.exists(self.out))

    def test_runs_without_evidence_write_nothing(self):
        """A matrix whose lines all failed to boot and mutants never run: exit 4, and the
        file the build links in keeps what it had."""
        with open(self.out, "w") as f:
            f.write("x86/a\tpass: sid 7.2.13-1\n")
        mx = self.write("matrix.json", matrix_file(kernel("sid", None, [], status="BOOT-ERROR")))
        mu = self.write("m.json", mutants_file(mutant("deoi-01-cap", {}, status="NOT-RUN")))
        rc, _, err = self.run_it("--matrix", mx, "--mutants", mu)
        self.assertEqual(rc, 4, err)
        self.assertIn("left as it was", err)
        self.assertEqual(self.lines(), {"x86/a": "pass: sid 7.2.13-1"})

    def test_generated_table_compiles(self):
        with open(self.out, "w") as f:
            f.write('# comment\nx86/q\tsays "quoted" and a \\ backslash\nno-tab line\n')
        c = os.path.join(self.dir, "t.c")
        with open(c, "w") as f:
            subprocess.run(["awk", "-f", str(AWK), self.out], stdout=f, check=True)
        with open(c, "a") as f:
            f.write('#include <stdio.h>\nint main(void) { printf("%s|%s", '
                    'kc_shown_on_table[0][0], kc_shown_on_table[0][1]); '
                    'return kc_shown_on_table[1][0] != NULL; }\n')
        exe = os.path.join(self.dir, "t")
        subprocess.run(["cc", "-Wall", "-Werror", "-o", exe, c], check=True)
        rc, out, _ = faultlib.run([exe])
        self.assertEqual((rc, out), (0, 'x86/q|says "quoted" and a \\ backslash'))


if __name__ == "__main__":
    unittest.main()
