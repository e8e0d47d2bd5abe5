# SPDX-License-Identifier: GPL-2.0-only
"""make check in a chroot (issue 10, case 9). test_harness hides /dev/kvm in a mount namespace;
in a chroot unshare(1) cannot make / private ("cannot change root filesystem propagation": the
chroot's / is no mount point) and the test used to fail. A test that cannot build its
environment skips with the reason.

Reproduced with a real chroot: a temporary root holding bind mounts of /usr, /dev, the checkout
and the build dir, all made inside a private mount namespace of this machine (so they vanish
with it), with Debian's python3 running test_harness inside. Each check asserts the message,
the exit status, and that no mount, directory or process is left. Seconds, no QEMU."""
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import faultlib

TOP = faultlib.TOP
BUILD = faultlib.BUILD.resolve()
PYTHON = Path("/usr/bin/python3")  # what a Debian chroot has; the caller's may live elsewhere
HARNESS_TEST = "test_harness.TestHostTargetWithoutKvm"
PROPAGATION = "cannot change root filesystem propagation"

# Runs in a private mount namespace of this machine: its mounts are gone when it exits. Every
# path comes in as an argument, never as shell text.
ENTER = r"""
set -e
root=$1 top=$2 build=$3
shift 3
mount --rbind /usr "$root/usr"
mount --rbind /dev "$root/dev"
for d in "$top" "$build"; do
	mount --bind "$d" "$root$d"
	mount -o remount,bind,ro "$root$d"
done
exec chroot "$root" "$@"
"""


def host_can_chroot():
    """None when this machine can build the chroot, else why not."""
    if os.geteuid() != 0:
        return "needs root for mount namespaces and chroot"
    for tool in ("unshare", "chroot", "mount"):
        if not shutil.which(tool):
            return "needs %s(1)" % tool
    if not PYTHON.exists():
        return "needs %s (Debian's python3) to run test_harness inside the chroot" % PYTHON
    r = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        return "this machine cannot unshare a mount namespace: %s" % r.stderr.strip()
    return None


def mounts_under(path):
    """Mount points of this process's namespace at or below path."""
    prefix = str(path).rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == str(path) or p.startswith(prefix)]


class Chroot:
    """A temporary chroot directory: empty mount points and the merged-/usr links. Removed
    entry by entry (rmdir, unlink of our own links), never recursively: if a bind mount had
    somehow outlived its namespace, rmdir fails on it instead of deleting through it."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="kvmcheck-chroot."))
        self.made = []  # in creation order
        for name in ("usr", "dev", "tmp"):
            self._dir(self.root / name)
        for name in ("bin", "sbin", "lib", "lib64"):
            link = Path("/") / name
            if link.is_symlink() and os.readlink(link).startswith("usr/"):
                (self.root / name).symlink_to(os.readlink(link))
                self.made.append(self.root / name)
        for d in (TOP, BUILD):
            for part in reversed([d, *d.parents]):
                if part != Path("/"):
                    self._dir(self.root / part.relative_to("/"))

    def _dir(self, p):
        if not p.exists():
            p.mkdir()
            self.made.append(p)

    def run(self, argv, env, timeout=120):
        """argv inside the chroot; returns the CompletedProcess."""
        cmd = ["unshare", "-m", "sh", "-c", ENTER, "sh", str(self.root), str(TOP), str(BUILD),
               "env", "-i", *("%s=%s" % kv for kv in env.items()), *argv]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def remove(self):
        left = mounts_under(self.root)
        if left:
            raise AssertionError("mounts left under the chroot, not removing it: %s" % left)
        for p in reversed(self.made):
            if p.is_symlink():
                p.unlink()
            else:
                p.rmdir()
        self.root.rmdir()


CANNOT_CHROOT = host_can_chroot()


@unittest.skipIf(CANNOT_CHROOT, CANNOT_CHROOT)
class TestMakeCheckInChroot(unittest.TestCase):
    def setUp(self):
        self.chroot = Chroot()

    def tearDown(self):
        root = self.chroot.root
        self.chroot.remove()
        self.assertFalse(root.exists())
        self.assertEqual(mounts_under(root), [])
        self.assertEqual(faultlib.stray_processes(root.name), [])

    def test_unshare_fails_in_the_chroot(self):
        """The condition of case 9, as a chroot shows it."""
        r = self.chroot.run(["unshare", "-m", "true"], {"PATH": "/usr/sbin:/usr/bin"})
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(PROPAGATION, r.stderr)

    def test_harness_skips_with_the_reason(self):
        """test_harness's no-/dev/kvm case cannot build its namespace in a chroot: it skips,
        naming unshare's error, and the unit run exits 0."""
        env = {"PATH": "/usr/sbin:/usr/bin", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": str(TOP / "tests" / "unit"), "KVMCHECK_BUILD": str(BUILD)}
        r = self.chroot.run([str(PYTHON), "-m", "unittest", "-v", HARNESS_TEST], env)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("skipped 'cannot hide /dev/kvm in a mount namespace here: unshare: %s"
                      % PROPAGATION, out)
        self.assertIn("OK (skipped=1)", out)


if __name__ == "__main__":
    unittest.main()
