# SPDX-License-Identifier: GPL-2.0-only
"""Shared helpers of the fault-injection suite: where things are, and what "left behind" means."""
import os
import re
import subprocess
import tempfile
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
SCRIPTS = TOP / "scripts"
BUILD = Path(os.environ.get("KVMCHECK_BUILD", TOP / "build" / "x86_64"))
RUNNER = Path(os.environ.get("KVMCHECK_RUNNER", BUILD / "kvmcheck-run"))


def run(argv, env=None, timeout=600, cwd=None):
    """Run argv (a list, never a shell string); return (rc, stdout, stderr)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=e,
                       timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def tmp_entries(prefix="kvmcheck"):
    """Names under $TMPDIR (or /tmp) that kvmcheck's scripts create: compared before and after
    a run, a new one is something left behind."""
    d = Path(os.environ.get("TMPDIR", tempfile.gettempdir()))
    return {p.name for p in d.iterdir() if p.name.startswith(prefix)}


def stray_processes(pattern):
    """PIDs whose command line matches the regular expression pattern (as pgrep -f would; read
    from /proc here, since a minimal Debian has no procps)."""
    rx = re.compile(pattern)
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue    # gone meanwhile, or a kernel thread's empty command line
        if cmd and rx.search(cmd):
            pids.append(int(d))
    return pids


class PrivateCacheCase(unittest.TestCase):
    """A test with a cache (XDG_CACHE_HOME) and a TMPDIR of its own, passed to the scripts as
    self.env: other runs on the machine cannot make them look dirty, and anything the scripts
    leave in TMPDIR fails the test."""
    prefix = "faults."

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix=self.prefix)
        self.dir = Path(self.tmp.name)
        self.cache = self.dir / "cache"
        self.tmpdir = self.dir / "tmp"
        self.tmpdir.mkdir()
        self.env = {"XDG_CACHE_HOME": str(self.cache), "TMPDIR": str(self.tmpdir)}

    def left_behind(self):
        """What a test adds to the check before the directory goes (override to extend)."""
        return {}

    def tearDown(self):
        left = sorted(p.name for p in self.tmpdir.iterdir())
        more = self.left_behind()
        self.tmp.cleanup()
        self.assertEqual(left, [], "temporary files left in TMPDIR")
        for what, found in more.items():
            self.assertEqual(found, [], what)
