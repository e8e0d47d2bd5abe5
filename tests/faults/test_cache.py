# SPDX-License-Identifier: GPL-2.0-only
"""The caches under ~/.cache/kvmcheck (issue 10, cases 3 and 4).

Case 3: two runs at once wrote the initramfs through one `$base.tmp`: one failed with
"mv: cannot stat", and the cached archive was left corrupt for every later run. Now every write
is a unique temporary renamed into place under a lock, and a cached archive that fails gzip -t
is built again.

Case 4: a cached vmlinuz with 64 KiB overwritten booted to silence, a truncated one failed as
"QEMU failed to start". Now kernel-fetch.sh records the unpacked files (sha256, size, mtime) in
a manifest written last, checks it at every use, names the damaged file and fetches it again.

Synthetic where it can be (a fake kernel dir and build dir in a temporary XDG_CACHE_HOME); one
real download: a damaged sid kernel fetched again, by two fetchers at once. No QEMU boot.
Each test asserts the message, the exit status and that nothing is left behind."""
import gzip
import hashlib
import os
import subprocess
import time
import unittest
from pathlib import Path

import faultlib

FETCH = faultlib.SCRIPTS / "kernel-fetch.sh"
INITRAMFS = faultlib.SCRIPTS / "initramfs.sh"
BUSYBOX = faultlib.SCRIPTS / "busybox-fetch.sh"


def fake_build(d):
    """The smallest BUILD_DIR initramfs.sh accepts: a runner and a test list."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    (d / "kvmcheck-run").write_text("#!/bin/sh\nexit 0\n")
    (d / "kvmcheck-run").chmod(0o755)
    (d / "tests.list").write_text("common/ucall\n")
    return d


def write_manifest(d):
    """kernel-fetch.sh's manifest: "SHA256 SIZE MTIME PATH" per file, sorted by path, MTIME as
    stat -c %.9Y prints it."""
    d = Path(d)
    lines = []
    for p in sorted((p for p in d.rglob("*") if p.is_file() and not p.is_symlink()
                     and p.name != "manifest"), key=lambda p: str(p.relative_to(d)).encode()):
        st = p.stat()
        mtime = f"{st.st_mtime_ns // 10**9}.{st.st_mtime_ns % 10**9:09d}"
        lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()} {st.st_size} {mtime} "
                     f"{p.relative_to(d)}\n")
    (d / "manifest").write_text("".join(lines))


def fake_debian_kernel(cache, suite="sid", version="7.99.1-1", kver="7.99.1+deb14-amd64"):
    """A small kernel dir as kernel-fetch.sh leaves it, manifest included, marked current."""
    base = Path(cache) / "kvmcheck/kernels" / f"{suite}-amd64"
    d = base / version
    mods = d / "modules/lib/modules" / kver
    (mods / "kernel/arch/x86/kvm").mkdir(parents=True)
    (d / "vmlinuz").write_bytes(os.urandom(256 * 1024))
    (mods / "kernel/arch/x86/kvm/kvm.ko.xz").write_bytes(os.urandom(4096))
    (mods / "modules.dep").write_text("kernel/arch/x86/kvm/kvm.ko.xz:\n")
    for name, value in (("kver", kver), ("arch", "x86_64"), ("suite", suite),
                        ("version", version)):
        (d / name).write_text(value + "\n")
    write_manifest(d)
    (base / "current").write_text(version + "\n")
    (base / "checked").write_text(f"{int(time.time())}\n")
    return d


def leftovers(root):
    """Temporaries a writer leaves when it dies or races: *.tmp, .new.*, .old.*, .base.* ..."""
    return sorted(str(p) for p in Path(root).rglob("*")
                  if p.name.endswith(".tmp") or p.name.startswith((".new.", ".old.", ".base.",
                                                                    ".depmod.", ".current.",
                                                                    ".checked.", ".initrd")))


class Base(faultlib.PrivateCacheCase):
    prefix = "faults-cache."

    def left_behind(self):
        return {"temporaries left in the cache or next to OUT": leftovers(self.dir)}


class TestInitramfs(Base):
    """Case 3: the initramfs cache shared by runs side by side."""

    def setUp(self):
        super().setUp()
        self.kdir = self.dir / "kernel"
        self.kdir.mkdir()
        (self.kdir / "kver").write_text("6.99.0-fake\n")
        (self.kdir / "arch").write_text(os.uname().machine + "\n")
        self.build = fake_build(self.dir / "build")
        self.icache = self.cache / "kvmcheck/initramfs"

    def start(self, out, *args):
        env = dict(os.environ, **self.env)
        return subprocess.Popen([str(INITRAMFS), str(self.kdir), str(self.build), str(out), "--",
                                 *args], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)

    def archives(self):
        return sorted(self.icache.glob("*.cpio.gz"))

    def assert_gzip_ok(self, path):
        p = subprocess.run(["gzip", "-t", str(path)], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, f"{path}: {p.stderr}")

    def test_four_builds_at_once(self):
        procs = [self.start(self.dir / f"initrd{i}.gz", "-t", f"test{i}") for i in range(4)]
        results = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
        for i, (_, err, rc) in enumerate(results):
            self.assertEqual(rc, 0, err)
            self.assertNotIn("cannot stat", err)
            self.assert_gzip_ok(self.dir / f"initrd{i}.gz")
            with gzip.open(self.dir / f"initrd{i}.gz") as f:
                data = f.read()
            self.assertIn(b"init", data)                 # the cached base
            self.assertIn(f"test{i}\n".encode(), data)   # this run's arguments
        built = sum("base with" in err for _, err, _ in results)
        self.assertEqual(built, 1, "the base archive was built more than once")
        self.assertEqual(len(self.archives()), 1)
        self.assert_gzip_ok(self.archives()[0])

    def test_corrupt_cached_archive_rebuilt(self):
        p = self.start(self.dir / "initrd.gz")
        _, err = p.communicate(timeout=600)
        self.assertEqual(p.returncode, 0, err)
        base = self.archives()[0]
        good = base.read_bytes()
        base.write_bytes(good[:len(good) // 2])            # what a crash or a race leaves
        p = self.start(self.dir / "initrd.gz")
        _, err = p.communicate(timeout=600)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn(f"cached {base} is corrupt (gzip -t fails): building it again", err)
        self.assert_gzip_ok(base)
        self.assert_gzip_ok(self.dir / "initrd.gz")

    def test_temporaries_of_a_killed_run_removed(self):
        self.icache.mkdir(parents=True)
        (self.icache / ".base.Ab12Cd").write_bytes(b"\x1f\x8b half")
        p = self.start(self.dir / "initrd.gz")
        _, err = p.communicate(timeout=600)
        self.assertEqual(p.returncode, 0, err)
        self.assertFalse((self.icache / ".base.Ab12Cd").exists())

    def test_unwritable_out_refused(self):
        p = self.start(self.dir / "no" / "such" / "initrd.gz")
        _, err = p.communicate(timeout=600)
        self.assertEqual(p.returncode, 2, err)
        self.assertIn(f"cannot write {self.dir}/no/such/initrd.gz", err)


class TestKernelCache(Base):
    """Case 4: a damaged cached kernel is named and never used (KVMCHECK_OFFLINE=1: no network,
    so the refusal is visible as exit 3)."""

    def fetch(self, *args, offline=True):
        env = dict(self.env, KVMCHECK_OFFLINE="1") if offline else self.env
        return faultlib.run([FETCH, "sid", *args], env=env, timeout=900)

    def test_intact_kernel_used(self):
        d = fake_debian_kernel(self.cache)
        rc, out, err = self.fetch()
        self.assertEqual((rc, out.strip()), (0, str(d)), err)
        self.assertIn("cached, verified in", err)

    def test_overwritten_middle_detected(self):
        d = fake_debian_kernel(self.cache)
        img = d / "vmlinuz"
        st = img.stat()
        with open(img, "r+b") as f:                          # 64 KiB of junk in the middle
            f.seek(96 * 1024)
            f.write(os.urandom(64 * 1024))
        os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and mtime as recorded
        rc, out, err = self.fetch()
        self.assertEqual((rc, out), (3, ""), err)
        self.assertIn(f"{img}: sha256 differs from the one recorded when it was unpacked", err)
        self.assertIn("KVMCHECK_OFFLINE=1 and no usable cached sid amd64 kernel", err)

    def test_truncated_detected(self):
        d = fake_debian_kernel(self.cache)
        os.truncate(d / "vmlinuz", 100 * 1024)
        rc, out, err = self.fetch()
        self.assertEqual((rc, out), (3, ""), err)
        self.assertIn(f"{d}/vmlinuz changed since it was unpacked (size or mtime differs)", err)

    def test_module_changed_detected(self):
        d = fake_debian_kernel(self.cache)
        ko = next(d.rglob("kvm.ko.xz"))
        ko.write_bytes(os.urandom(4000))
        rc, _, err = self.fetch()
        self.assertEqual(rc, 3, err)
        self.assertIn(f"{ko} changed since it was unpacked", err)

    def test_missing_file_detected(self):
        d = fake_debian_kernel(self.cache)
        (d / "kver").unlink()
        rc, _, err = self.fetch()
        self.assertEqual(rc, 3, err)
        self.assertIn(f"{d}/kver is missing", err)

    def test_no_manifest_not_trusted(self):
        d = fake_debian_kernel(self.cache)
        (d / "manifest").unlink()
        rc, _, err = self.fetch()
        self.assertEqual(rc, 3, err)
        self.assertIn("no manifest", err)

    def test_unreachable_mirror_after_damage(self):
        """With a network that fails, a damaged kernel is still never handed out: exit 3."""
        d = fake_debian_kernel(self.cache)
        os.truncate(d / "vmlinuz", 1000)
        self.env["KVMCHECK_MIRROR"] = "http://127.0.0.1:9/debian"
        rc, out, err = self.fetch(offline=False)
        self.assertEqual((rc, out), (3, ""), err)
        self.assertIn("damaged", err)
        self.assertIn("cannot reach http://127.0.0.1:9/debian/", err)

    def test_busybox_damaged(self):
        d = self.cache / "kvmcheck/busybox/riscv64"
        d.mkdir(parents=True)
        (d / "busybox").write_bytes(b"\x7fELF" + os.urandom(1000))
        (d / "busybox").chmod(0o755)
        (d / "busybox.sha256").write_text("0" * 64 + "  busybox\n")
        rc, out, err = faultlib.run([BUSYBOX, "riscv64"], env=dict(self.env, KVMCHECK_OFFLINE="1"))
        self.assertEqual((rc, out), (3, ""), err)
        self.assertIn(f"cached {d}/busybox does not match its recorded sha256", err)

    def test_help_prints_the_whole_header(self):
        for script in (FETCH, INITRAMFS, BUSYBOX):
            rc, out, err = faultlib.run([script, "--help"])
            self.assertEqual(rc, 0, f"{script.name}: {err}")
            header = []
            for line in script.read_text().splitlines()[1:]:
                if not line.startswith("#"):
                    break
                header.append(line)
            last = [h for h in header if h.strip("# ")][-1][2:]
            self.assertIn(last, err, f"{script.name} --help stops before its header's end")
            self.assertNotIn("SPDX", err)


class TestDamagedKernelFetchedAgain(Base):
    """Case 4 with the network: sid's kernel, damaged in the cache, is fetched again: one real
    download, by two kernel-fetch.sh at once (the second waits on the lock and uses the first's
    download)."""

    def test_refetch(self):
        rc, out, err = faultlib.run([FETCH, "sid"], timeout=900)   # the normal cache
        if rc != 0:
            self.skipTest(f"Debian sid kernel unavailable: {err.strip()[-200:]}")
        version = Path(out.strip(), "version").read_text().strip()
        d = fake_debian_kernel(self.cache, version=version)
        with open(d / "vmlinuz", "r+b") as f:
            f.seek(64 * 1024)
            f.write(os.urandom(64 * 1024))
        env = dict(os.environ, **self.env, KVMCHECK_KERNEL_TTL="0")
        procs = [subprocess.Popen([str(FETCH), "sid"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
                 for _ in range(2)]
        results = [p.communicate(timeout=900) + (p.returncode,) for p in procs]
        for out, err, rc in results:
            self.assertEqual(rc, 0, err)
            self.assertEqual(out.strip(), str(d))
        errs = "".join(err for _, err, _ in results)
        self.assertIn("the cached sid amd64 kernel is damaged", errs)
        self.assertEqual(errs.count("# kernel: downloading"), 1, errs)
        # What was fetched verifies, offline, and is a real kernel.
        rc, out, err = faultlib.run([FETCH, "sid"], env=dict(self.env, KVMCHECK_OFFLINE="1"))
        self.assertEqual((rc, out.strip()), (0, str(d)), err)
        self.assertGreater((d / "vmlinuz").stat().st_size, 4 << 20)
        self.assertTrue((d / "debs.sha256").read_text().strip())


if __name__ == "__main__":
    unittest.main()
