# SPDX-License-Identifier: GPL-2.0-only
"""kvmcheck.kcidb: runner JSON and matrix files as KCIDB I/O v5, checked against the JSON Schema
in tests/schema/ (written from KCIDB's published v5.0 schema documentation)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "scripts"))
from kvmcheck import kcidb  # noqa: E402
from kvmcheck.util import InputError  # noqa: E402

SCHEMA = TOP / "tests" / "schema" / "kcidb.v5.schema.json"
PATCH = {"subject": "KVM: x86: Add x2APIC \"features\" to control EOI broadcast suppression",
         "fixes": "6c5c1f6e0a3d", "link": "https://lore.kernel.org/kvm/x", "author": "A <a@b>"}


def jsonschema_module():
    """python3-jsonschema (Debian's): installed with apt when root and missing."""
    try:
        import jsonschema
        return jsonschema
    except ImportError:
        pass
    if os.geteuid() == 0 and os.path.exists("/usr/bin/apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "python3-jsonschema"],
                       capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
        if "/usr/lib/python3/dist-packages" not in sys.path:
            sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import jsonschema
            return jsonschema
        except ImportError:
            return None
    return None


def validate(testcase, data):
    js = jsonschema_module()
    if js is None:
        testcase.fail("python3-jsonschema is missing: apt-get install python3-jsonschema")
    schema = json.loads(SCHEMA.read_text())
    js.Draft202012Validator.check_schema(schema)
    errors = sorted(js.Draft202012Validator(schema, format_checker=js.FormatChecker())
                    .iter_errors(data), key=lambda e: list(e.path))
    testcase.assertEqual([f"{list(e.path)}: {e.message}" for e in errors], [])


def run_json(target="qemu:sid 7.2.13", kernel="7.2.13+deb14-amd64 x86_64"):
    return {"kernel": kernel, "machine": "x86_64", "target": target, "summary": {}, "tests": [
        {"name": "x86/directed_eoi", "number": 1, "verdict": "PASS", "reason": None,
         "duration_s": 1.5, "exit_status": 0, "patch": PATCH, "subtests": [
             {"name": "cap_advertised", "verdict": "PASS", "reason": None},
             {"name": "enable_directed_eoi", "verdict": "SKIP", "reason": "needs split irqchip"}]},
        {"name": "x86/pio_mmio", "number": 2, "verdict": "TIMEOUT", "reason": "TIMEOUT after 30 s",
         "duration_s": 30.0, "exit_status": None, "patch": None, "subtests": []},
        {"name": "x86/memslot", "number": 3, "verdict": "CRASH", "reason": "BUG: oops",
         "duration_s": None, "exit_status": None, "patch": None, "subtests": []},
        {"name": "vhost/vhost_task_lifetime", "number": 4, "verdict": "FAIL",
         "reason": "not run: the kernel crashed 6 times", "duration_s": None,
         "exit_status": None, "patch": None, "subtests": []}]}


class Mapping(unittest.TestCase):
    def test_paths(self):
        self.assertEqual(kcidb.path_of("x86/directed_eoi", "enable_directed_eoi"),
                         "kvmcheck.x86.directed_eoi.enable_directed_eoi")
        self.assertEqual(kcidb.path_of("x86/a.b", "c d"), "kvmcheck.x86.a_b.c_d")

    def test_statuses(self):
        self.assertEqual([kcidb.status_of(v) for v in
                          ("PASS", "FAIL", "SKIP", "TIMEOUT", "CRASH", "BOOT-ERROR", "NOT-RUN")],
                         ["PASS", "FAIL", "SKIP", "ERROR", "ERROR", "ERROR", "MISS"])
        self.assertEqual(kcidb.status_of("FAIL", "not run: the bound ran out"), "MISS")

    def test_bad_run_id(self):
        with self.assertRaises(InputError):
            kcidb.Writer("a b;c")


class Files(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kvmcheck-test-kcidb.")
        self.d = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_runner_json(self):
        src = self.d / "run.json"
        src.write_text(json.dumps(run_json()))
        out = self.d / "k.json"
        kcidb.write(str(out), [str(src)], run_id="r1", log_url="https://ci.example/logs/1")
        data = json.loads(out.read_text())
        validate(self, data)
        self.assertEqual(data["version"], {"major": 5, "minor": 0})
        tests = {t["path"]: t for t in data["tests"]}
        t = tests["kvmcheck.x86.directed_eoi"]
        self.assertEqual(t["status"], "PASS")
        self.assertEqual(t["comment"], PATCH["subject"])
        self.assertEqual(t["misc"]["patch"]["link"], PATCH["link"])
        self.assertEqual(t["log_url"], "https://ci.example/logs/1/x86_directed_eoi.log")
        self.assertEqual(tests["kvmcheck.x86.directed_eoi.enable_directed_eoi"]["status"], "SKIP")
        self.assertEqual(tests["kvmcheck.x86.pio_mmio"]["status"], "ERROR")
        self.assertEqual(tests["kvmcheck.x86.memslot"]["status"], "ERROR")
        self.assertEqual(tests["kvmcheck.vhost.vhost_task_lifetime"]["status"], "MISS")
        for obj in data["checkouts"] + data["builds"] + data["tests"]:
            self.assertTrue(obj["id"].startswith("kvmcheck:r1-"), obj["id"])
            self.assertNotIn(None, obj.values())
        self.assertEqual(data["checkouts"][0]["misc"]["kernel_release"], "7.2.13+deb14-amd64")
        self.assertEqual([p.name for p in self.d.iterdir() if p.name.startswith(".")], [])

    def test_matrix_three_lines(self):
        cols = []
        for line, kernel in (("bookworm", "6.1.0-50-amd64"), ("sid", "7.2.13+deb14-amd64")):
            cols.append({"line": line, "status": "ok", "kernel": kernel, "version": "x",
                         "target": f"qemu:{line}", "runner": run_json(f"qemu:{line}", kernel)})
        cols.append({"line": "trixie", "status": "BOOT-ERROR", "reason": "kernel panic",
                     "runner": None})
        src = self.d / "matrix.json"
        src.write_text(json.dumps({"schema": 1, "kernels": cols}))
        out = self.d / "k.json"
        kcidb.write(str(out), [str(src)], run_id="m")
        data = json.loads(out.read_text())
        validate(self, data)
        self.assertEqual(len(data["checkouts"]), 3)
        tri = [t for t in data["tests"] if t["build_id"] == "kvmcheck:m-trixie-b"]
        self.assertEqual(tri[0]["path"], "kvmcheck")
        self.assertEqual(tri[0]["status"], "ERROR")
        self.assertEqual({t["status"] for t in tri[1:]}, {"MISS"})
        self.assertEqual(len(tri), 1 + 4)

    def test_bad_input_named(self):
        src = self.d / "run.json"
        bad = run_json()
        bad["tests"][0]["verdict"] = "GREAT"
        src.write_text(json.dumps(bad))
        out = self.d / "k.json"
        with self.assertRaisesRegex(InputError, r"run.json: tests\[0\].verdict"):
            kcidb.write(str(out), [str(src)])
        self.assertFalse(out.exists())

    def test_schema_refuses_what_kcidb_refuses(self):
        js = jsonschema_module()
        if js is None:
            self.fail("python3-jsonschema is missing: apt-get install python3-jsonschema")
        schema = json.loads(SCHEMA.read_text())
        for bad in ({"version": {"major": 4}},
                    {"version": {"major": 5}, "tests": [{"id": "x", "origin": "kvmcheck",
                                                         "build_id": "kvmcheck:b"}]},
                    {"version": {"major": 5}, "tests": [{"id": "kvmcheck:1", "origin": "kvmcheck",
                                                         "build_id": "kvmcheck:b",
                                                         "status": "TIMEOUT"}]},
                    {"version": {"major": 5}, "tests": [{"id": "kvmcheck:1", "origin": "kvmcheck",
                                                         "build_id": "kvmcheck:b",
                                                         "path": "x86/a"}]},
                    {"version": {"major": 5}, "builds": [{"id": "kvmcheck:1", "origin": "kvmcheck",
                                                          "checkout_id": None}]}):
            self.assertFalse(js.Draft202012Validator(schema).is_valid(bad), bad)


if __name__ == "__main__":
    unittest.main()
