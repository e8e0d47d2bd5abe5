# SPDX-License-Identifier: GPL-2.0-only
"""The debug line (issue 11, item 4): a kernel with KASAN and lockdep runs the same work several
times slower, so its bounds must grow with it instead of turning slowness into TIMEOUTs.

Checked without a kernel build: the `debug:` kernel line and the environment it builds with,
the runner's --timeout-scale (each test's own timeout times N, exported to the tests for their
subtest bounds), the scale the QEMU target picks from a kernel's own .config, and
kernel-build.sh refusing to merge the debug fragment into a user's own .config."""
import json
import os
import shutil
import sys
import tempfile
import textwrap
import types
import unittest

import faultlib
from test_review import KBUILD_MAKEFILE, LAPIC, MERGE_CONFIG

sys.path.insert(0, str(faultlib.SCRIPTS))
from kvmcheck import kernels, suite  # noqa: E402
from kvmcheck.util import InputError  # noqa: E402

RUNNER = faultlib.RUNNER

# A test that declares a 1 s timeout, takes 2 s, and passes only when the runner told it the
# scale (as the harness reads it for its subtest bounds).
SLOW_TEST = """#!/bin/sh
if [ "$1" = "--meta" ]; then
	echo '%s'
	exit 0
fi
sleep 2
echo 'TAP version 13'
echo '1..1'
if [ "$KVMCHECK_TIMEOUT_SCALE" = 4 ]; then echo 'ok 1 a'; else echo "not ok 1 a # scale '$KVMCHECK_TIMEOUT_SCALE'"; fi
"""


@unittest.skipUnless(os.access(RUNNER, os.X_OK), "no runner at %s: build it first" % RUNNER)
class RunnerTimeoutScale(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kcfault-debug-")
        m = {"name": "x86/slow", "arch": "x86_64", "summary": "slow", "groups": ["fake"],
             "timeout": 1, "patch": None, "min_kernel": None, "shown_on": None, "paths": [],
             "subtests": ["a"], "options": []}
        os.makedirs(os.path.join(self.tmp, "x86"))
        path = os.path.join(self.tmp, "x86", "slow")
        with open(path, "w") as f:
            f.write(SLOW_TEST % json.dumps(m))
        os.chmod(path, 0o755)
        with open(os.path.join(self.tmp, "tests.list"), "w") as f:
            f.write("x86/slow\n")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def runner(self, *args):
        return faultlib.run([RUNNER, "--dir", self.tmp, *args], env={"KVMCHECK_TARGET": ""},
                            timeout=60)

    def test_own_timeout_kills_the_slow_test(self):
        rc, out, _ = self.runner()
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"not ok 1 x86/slow # TIMEOUT")

    def test_scaled_timeout_lets_it_finish_and_tells_it_the_scale(self):
        rc, out, _ = self.runner("--timeout-scale", "4")
        self.assertEqual(rc, 0, out)
        self.assertIn("ok 1 x86/slow", out)

    def test_an_explicit_timeout_is_not_scaled(self):
        rc, out, _ = self.runner("--timeout", "1", "--timeout-scale", "4")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"not ok 1 x86/slow # TIMEOUT")

    def test_bad_scales_are_usage_errors(self):
        for bad in ("0", "1.5", "101", "x", ""):
            rc, _, err = self.runner("--timeout-scale", bad)
            self.assertEqual(rc, 2, bad)
            self.assertIn("--timeout-scale", err)


class SlowKernelScale(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kcfault-debug-")
        self.kdir = types.SimpleNamespace(path=self.tmp, modules=os.path.join(self.tmp, "m"),
                                          kver="7.2.13")
        self.config = os.path.join(self.tmp, "m", "lib", "modules", "7.2.13", "config")
        os.makedirs(os.path.dirname(self.config))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(textwrap.dedent(text))

    def test_kasan_and_lockdep_scale_tests_and_the_bound(self):
        self.write_config("""\
            CONFIG_KVM=m
            CONFIG_KASAN=y
            # CONFIG_KCSAN is not set
            CONFIG_PROVE_LOCKING=y
            """)
        args, bound = suite._scaled_for(self.kdir, ["-j", "2"], 1800)
        self.assertEqual(args, ["-j", "2", "--timeout-scale", str(suite.SLOW_KERNEL_SCALE)])
        self.assertEqual(bound, 1800 * suite.SLOW_KERNEL_SCALE)
        self.assertEqual(suite.slow_options(self.config), ["CONFIG_KASAN", "CONFIG_PROVE_LOCKING"])

    def test_a_normal_kernel_is_not_scaled(self):
        self.write_config("CONFIG_KVM=m\n# CONFIG_KASAN is not set\n")
        self.assertEqual(suite._scaled_for(self.kdir, ["-j", "2"], 1800),
                         (["-j", "2"], 1800))

    def test_no_config_is_not_scaled(self):
        self.assertEqual(suite._scaled_for(self.kdir, [], 900), ([], 900))

    def test_the_users_own_choice_wins(self):
        self.write_config("CONFIG_KASAN=y\n")
        for own in (["--timeout", "30"], ["--timeout-scale=2"]):
            self.assertEqual(suite._scaled_for(self.kdir, own, 900), (own, 900))

    def test_the_scale_reaches_each_boots_arguments(self):
        sel = suite.parse_runner_args(["--timeout-scale", "4", "-t", "x86/a"])
        self.assertEqual(sel.timeout_scale, 4)
        self.assertIn("--timeout-scale", suite._args_for(["x86/a"], sel, 1))
        with self.assertRaises(InputError):
            suite.parse_runner_args(["--timeout-scale", "0"])


class DebugLine(unittest.TestCase):
    def test_debug_debian_is_its_own_column(self):
        line = kernels.resolve("debug:debian")
        self.assertEqual((line.id, line.kind, line.spec, line.debug),
                         ("debug-debian", "build", "debian", True))
        self.assertFalse(kernels.resolve("build:debian").debug)
        self.assertEqual(kernels.resolve("dbg=debug:debian").id, "dbg")

    def test_bad_debug_lines_name_themselves(self):
        with self.assertRaisesRegex(InputError, "debug: wants 'debian' or a kernel tree"):
            kernels.resolve("debug:")
        with self.assertRaisesRegex(InputError, "is not a kernel tree"):
            kernels.resolve("debug:/nonexistent/linux")

    def test_the_debug_line_builds_with_debug_1(self):
        seen = {}
        real = kernels._script

        def fake(argv, env=None, log=None, timeout=None):
            seen.update(env or {})
            raise kernels.KernelUnavailable("stop here")
        kernels._script = fake
        try:
            for text, want in (("debug:debian", "1"), ("build:debian", "0")):
                with self.assertRaises(kernels.KernelUnavailable):
                    kernels.materialize(kernels.resolve(text))
                self.assertEqual(seen["DEBUG"], want, text)
        finally:
            kernels._script = real


class DebugBuildOfAConfiguredTree(faultlib.PrivateCacheCase):
    def test_refused_before_anything_is_merged(self):
        tree = os.path.join(self.dir, "linux")
        os.makedirs(tree)
        for name, text in (("Makefile", "all:\n"), ("Kconfig", ""), (".config", "CONFIG_X=y\n")):
            with open(os.path.join(tree, name), "w") as f:
                f.write(text)
        rc, _, err = faultlib.run([faultlib.SCRIPTS / "kernel-build.sh", tree],
                                  env={**self.env, "DEBUG": "1"}, timeout=60)
        self.assertEqual(rc, 2, err)
        self.assertIn("has its own .config", err)
        with open(os.path.join(tree, ".config")) as f:
            self.assertEqual(f.read(), "CONFIG_X=y\n")


class DebugBuildOfACleanTree(faultlib.PrivateCacheCase):
    """DEBUG=1 on a stand-in Kbuild tree (test_review's): the debug fragment is merged, and a
    kernel whose .config lost KASAN on the way (olddefconfig drops what its dependencies or the
    compiler cannot have) is no debug kernel: exit 3, nothing cached."""

    def tree(self, merge):
        t = self.dir / "linux"
        for rel, text in {"Makefile": KBUILD_MAKEFILE, "Kconfig": 'mainmenu "fake"\n',
                          "arch/x86/kvm/lapic.c": LAPIC,
                          "scripts/kconfig/merge_config.sh": merge}.items():
            (t / rel).parent.mkdir(parents=True, exist_ok=True)
            (t / rel).write_text(text)
        (t / "scripts/kconfig/merge_config.sh").chmod(0o755)
        return t

    def build(self, merge):
        return faultlib.run([faultlib.SCRIPTS / "kernel-build.sh", self.tree(merge)],
                            env={**self.env, "DEBUG": "1"}, timeout=120)

    def test_kasan_merged_builds(self):
        rc, out, err = self.build(MERGE_CONFIG)
        self.assertEqual(rc, 0, err)
        self.assertIn("debug.config", err)
        self.assertTrue(os.path.isfile(os.path.join(out.strip(), "vmlinuz")), out)

    def test_kasan_dropped_is_no_debug_kernel(self):
        drop = MERGE_CONFIG.replace('cat "$@" >> "$cfg"', 'cat "$@" | grep -v KASAN >> "$cfg"')
        self.assertNotEqual(drop, MERGE_CONFIG)
        rc, out, err = self.build(drop)
        self.assertEqual(rc, 3, err)
        self.assertIn("CONFIG_KASAN=y did not survive olddefconfig", err)
        self.assertEqual(out, "")
        builds = self.cache / "kvmcheck" / "builds"
        self.assertEqual([p.name for p in builds.iterdir() if not p.name.startswith(("locks", "obj"))],
                         [])


if __name__ == "__main__":
    unittest.main()
