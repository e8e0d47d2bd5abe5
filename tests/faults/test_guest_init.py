# SPDX-License-Identifier: GPL-2.0-only
"""guest-init.sh is the initramfs's /init. Run by mistake on a host (a test poking at its
module-parameter code, a user reading it), it mounted a tmpfs over the host's /tmp (hiding
every file there: a kernel build's compiler temporaries vanished mid-build), stacked /proc,
/dev/pts and /dev/shm, wrote the guest marker /run/kvmcheck-guest (after which tests treat the
host kernel as a disposable guest) and tried to power the machine off. It must refuse."""
import os
import unittest

import faultlib

INIT = faultlib.SCRIPTS / "guest-init.sh"
MARKER = "/run/kvmcheck-guest"


def mounts():
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return f.read()


class TestGuestInitOnAHost(unittest.TestCase):
    def test_refuses_unless_pid_1(self):
        before, marker = mounts(), os.path.exists(MARKER)
        rc, out, err = faultlib.run(["sh", INIT], timeout=30)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("runs as PID 1 in the QEMU guest, never on a host", err)
        self.assertEqual(mounts(), before, "guest-init.sh changed this machine's mounts")
        self.assertEqual(os.path.exists(MARKER), marker, "guest-init.sh wrote the guest marker")


if __name__ == "__main__":
    unittest.main()
