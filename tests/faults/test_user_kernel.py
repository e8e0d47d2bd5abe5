# SPDX-License-Identifier: GPL-2.0-only
"""A user's own kernel (issue 10, cases 5 and 10).

Case 5: a truncated or non-kernel image was booted and reported as BOOT-ERROR; it must be
refused by kernels.resolve() (and kernel-fetch.sh IMAGE) with exit 2, naming the file, before
anything is fetched or booted. The checks read the boot header: a bzImage's setup_sects and
syssize (and an EFI stub's PE sections) give the size the file must have, a RISC-V Image's PE
sections likewise.

Case 10: Debian's 6.12 kernel unpacked from its .deb (boot/vmlinuz-*, usr/lib/modules/<kver>
without modules.dep) failed twice: `depmod -o`, which Debian 12's kmod 30 lacks, and a kernel
directory whose modules are a symlink resolved again into "0 kernel versions". Proven here on
the three layouts a user has: a package kernel (one real download of trixie's linux-image, kept
in the cache, and one QEMU boot), a tree's `make modules_install` output (faked from Debian's
modules, no modules.dep; initramfs contents checked without a boot) and a kernel with
everything built in (an image, no modules).

Each test asserts the message, the exit status, and that nothing is left behind (temporary
files, a user's tree written to, half-made kernel directories)."""
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import faultlib

sys.path.insert(0, str(faultlib.SCRIPTS))
from kvmcheck import kernels, util  # noqa: E402

FETCH = faultlib.SCRIPTS / "kernel-fetch.sh"
INITRAMFS = faultlib.SCRIPTS / "initramfs.sh"


def fake_bzimage(path, kver="6.99.0-test", payload=4096, cut=0):
    """A bzImage as far as its boot header goes: boot flag, HdrS, protocol 2.15, setup_sects 4,
    syssize for PAYLOAD bytes, and the kernel_version string; CUT bytes short of its size."""
    img = bytearray(5 * 512 + payload)
    img[0x1f1] = 4
    img[0x1f4:0x1f8] = struct.pack("<I", payload // 16)
    img[0x1fe:0x200] = b"\x55\xaa"
    img[0x202:0x206] = b"HdrS"
    img[0x206:0x208] = struct.pack("<H", 0x020f)
    img[0x20e:0x210] = struct.pack("<H", 0x300)
    img[0x500:0x540] = f"{kver} (root@x) #1 SMP".encode().ljust(0x40, b"\0")
    Path(path).write_bytes(bytes(img[:len(img) - cut]))
    return Path(path)


def fake_riscv_image(path, raw_end=0x3000, cut=0):
    """A RISC-V Image with an EFI stub: MZ, the RSC\\x05 magic at 0x38, image_size, and one PE
    section whose raw data ends at RAW_END."""
    img = bytearray(raw_end)
    img[0:2] = b"MZ"
    img[0x10:0x18] = struct.pack("<Q", raw_end * 2)      # image_size: memory, bss included
    img[0x38:0x3c] = b"RSC\x05"
    img[0x3c:0x40] = struct.pack("<I", 0x40)              # PE header offset
    img[0x40:0x44] = b"PE\0\0"
    img[0x46:0x48] = struct.pack("<H", 1)                 # one section
    img[0x54:0x56] = struct.pack("<H", 0)                 # no optional header
    sect = 0x40 + 24
    img[sect:sect + 8] = b".text\0\0\0"
    img[sect + 16:sect + 24] = struct.pack("<II", raw_end - 0x1000, 0x1000)
    img[0x2000:0x2040] = b"Linux version 6.99.1-rv (root@x) #1 SMP\0".ljust(0x40, b"\0")
    Path(path).write_bytes(bytes(img[:len(img) - cut]))
    return Path(path)


def cpio_members(path):
    """{name: data} of an initramfs: gzip members back to back, each a newc cpio archive."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    out, off = {}, 0
    while off + 110 <= len(data):
        if data[off:off + 6] != b"070701":
            off += 4          # the zero padding between two archives
            continue
        f = [int(data[off + 6 + 8 * i:off + 14 + 8 * i], 16) for i in range(13)]
        size, namesize = f[6], f[11]
        name = data[off + 110:off + 110 + namesize - 1].decode()
        off = (off + 110 + namesize + 3) & ~3
        if name != "TRAILER!!!":
            out[name] = data[off:off + size]
        off = (off + size + 3) & ~3
    return out


def tree_state(root):
    """Every path under root with its size and mtime: a user's tree must come out unchanged."""
    return sorted((str(p.relative_to(root)), p.lstat().st_size, p.lstat().st_mtime_ns)
                  for p in Path(root).rglob("*"))


def fake_build(d):
    """The smallest BUILD_DIR initramfs.sh accepts: a runner and a test list."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    (d / "kvmcheck-run").write_text("#!/bin/sh\nexit 0\n")
    (d / "kvmcheck-run").chmod(0o755)
    (d / "tests.list").write_text("common/ucall\n")
    return d


_SID = None


def sid_kernel():
    """Debian sid's kernel directory from the normal cache (fetched once if absent)."""
    global _SID
    if _SID is None:
        rc, out, err = faultlib.run([FETCH, "sid"], timeout=900)
        if rc != 0:
            raise unittest.SkipTest(f"Debian sid kernel unavailable: {err.strip()[-200:]}")
        _SID = kernels.KernelDir.load(out.strip())
    return _SID


class Base(faultlib.PrivateCacheCase):
    prefix = "faults-userkernel."

    def refused(self, line, *needles):
        """LINE is refused by kernels.resolve and by kernel-fetch.sh: exit 2, the message names
        the file and the cause, and no kernel directory was made."""
        with self.assertRaises(util.InputError) as cm:
            kernels.resolve(line)
        for n in needles:
            self.assertIn(str(n), str(cm.exception))
        rc, out, err = faultlib.run([FETCH, line.partition("=")[2] or line], env=self.env,
                                    timeout=60)
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        for n in needles:
            self.assertIn(str(n), err)
        self.assertNotIn("Traceback", err)
        self.assertFalse((self.cache / "kvmcheck" / "kernels").exists(), "a kernel dir was made")


class TestImageRefused(Base):
    """Case 5: bad images are refused before anything boots, naming the file."""

    def test_truncated_bzimage(self):
        img = fake_bzimage(self.dir / "bzImage", cut=1000)
        self.refused(f"mine={img}", img, "truncated", "header says 6656 bytes, the file has 5656")

    def test_complete_bzimage_accepted(self):
        img = fake_bzimage(self.dir / "bzImage")
        line = kernels.resolve(f"mine={img}")
        self.assertEqual((line.id, line.kind, line.arch), ("mine", "custom", "x86_64"))
        self.assertEqual(kernels.image_info(img).kver, "6.99.0-test")

    def test_truncated_real_vmlinuz(self):
        k = sid_kernel()
        img = self.dir / "vmlinuz"
        with open(k.image, "rb") as src, open(img, "wb") as dst:
            dst.write(src.read(os.path.getsize(k.image) // 2))
        self.refused(str(img), img, "truncated")

    def test_not_a_kernel(self):
        img = self.dir / "notes.txt"
        img.write_text("this is not a kernel\n" * 100)
        self.refused(str(img), img, "neither an x86 bzImage nor a RISC-V Image")

    def test_boot_flag_missing(self):
        img = fake_bzimage(self.dir / "bzImage")
        data = bytearray(img.read_bytes())
        data[0x1fe:0x200] = b"\0\0"
        img.write_bytes(bytes(data))
        self.refused(str(img), img, "no 0xAA55 boot flag")

    def test_bad_version_string(self):
        img = fake_bzimage(self.dir / "bzImage", kver="garbage")
        self.refused(str(img), img, "kernel_version string is not a kernel release")

    def test_directory_as_image(self):
        (self.dir / "linux").mkdir()
        self.refused(str(self.dir / "linux"), self.dir / "linux", "is a directory")

    def test_riscv_image(self):
        img = fake_riscv_image(self.dir / "Image")
        info = kernels.image_info(img)
        self.assertEqual((info.arch, info.kver), ("riscv64", "6.99.1-rv"))
        img = fake_riscv_image(self.dir / "Image", cut=0x800)
        self.refused(str(img), img, "truncated", "PE header says 12288 bytes")

    def test_modules_for_another_kernel(self):
        img = fake_bzimage(self.dir / "bzImage")
        mods = self.dir / "mods"
        (mods / "lib/modules/6.1.0-50-amd64/kernel").mkdir(parents=True)
        self.refused(f"{img}:{mods}", "holds modules for 6.1.0-50-amd64", "is 6.99.0-test")

    def test_modules_without_kvm(self):
        img = fake_bzimage(self.dir / "bzImage")
        tree = self.dir / "mods/lib/modules/6.99.0-test"
        (tree / "kernel/drivers/net").mkdir(parents=True)
        (tree / "kernel/drivers/net/tun.ko").write_bytes(b"\0")
        (tree / "modules.order").write_text("kernel/drivers/net/tun.ko\n")
        (tree / "modules.builtin").write_text("kernel/fs/ext4/ext4.ko\n")
        self.refused(f"{img}:{self.dir / 'mods'}", "has no kvm module", "without KVM")
        # Listed as built in, it is fine.
        (tree / "modules.builtin").write_text("kernel/arch/x86/kvm/kvm.ko\n")
        self.assertEqual(kernels.resolve(f"{img}:{self.dir / 'mods'}").kind, "custom")

    def test_two_kernel_versions(self):
        img = fake_bzimage(self.dir / "bzImage")
        for v in ("6.99.0-test", "6.98.0"):
            (self.dir / f"mods/lib/modules/{v}/kernel").mkdir(parents=True)
        self.refused(f"{img}:{self.dir / 'mods'}", "holds 2 kernel versions (6.98.0, 6.99.0-test)")

    def test_missing_image(self):
        self.refused(str(self.dir / "nope" / "bzImage"), "bzImage: no such file")


class TestBuiltKernelChecked(Base):
    """A build: line's kernel (kernel-build.sh's directory, no manifest) is checked by its boot
    header too: a truncated bzImage is KernelUnavailable (exit 3) naming it, not a silent boot."""

    def test_truncated_build_output(self):
        d = self.dir / "k"
        d.mkdir()
        fake_bzimage(d / "vmlinuz", cut=512)
        for name, value in (("kver", "6.99.0-test"), ("arch", "x86_64"), ("version", "6.99.0"),
                            ("suite", "custom")):
            (d / name).write_text(value + "\n")
        line = kernels.Line("build-debian", "build", "debian", "x86_64")
        with mock.patch.object(kernels, "_script", return_value=str(d)):
            with self.assertRaises(kernels.KernelUnavailable) as cm:
                kernels.materialize(line)
        self.assertIn(f"{d}/vmlinuz: truncated", str(cm.exception))
        fake_bzimage(d / "vmlinuz")
        with mock.patch.object(kernels, "_script", return_value=str(d)):
            self.assertEqual(kernels.materialize(line).path, str(d))


class TestResolve(Base):
    """Every kernel line the matrix takes, resolved once, before anything is fetched."""

    def test_lines(self):
        tree = self.dir / "linux"
        tree.mkdir()
        (tree / "Makefile").write_text("")
        (tree / "Kconfig").write_text("")
        cases = {
            "bookworm": ("bookworm", "debian", "bookworm", "x86_64"),
            "unstable": ("sid", "debian", "sid", "x86_64"),
            "riscv64": ("sid-riscv64", "debian", "sid", "riscv64"),
            "trixie-riscv64": ("trixie-riscv64", "debian", "trixie", "riscv64"),
            "old=bookworm": ("old", "debian", "bookworm", "x86_64"),
            "build:debian": ("build-debian", "build", "debian", "x86_64"),
            f"build:{tree}": ("build-linux", "build", str(tree), "x86_64"),
        }
        for text, want in cases.items():
            self.assertEqual(tuple(getattr(kernels.resolve(text), f)
                                   for f in ("id", "kind", "spec", "arch")), want, text)
        line = kernels.resolve(f"debug:{tree}")
        self.assertEqual((line.id, line.spec, line.debug), ("debug-linux", str(tree), True))

    def test_plus_in_paths(self):
        """Debian's releases carry a '+' (6.12.117+deb13-amd64): in an image's or a modules
        directory's path it is part of the path, never a module parameter."""
        d = self.dir / "6.99.0+deb13"
        d.mkdir()
        img = fake_bzimage(d / "vmlinuz-6.99.0+deb13", kver="6.99.0+deb13")
        tree = self.dir / "root/usr/lib/modules/6.99.0+deb13"
        (tree / "kernel/arch/x86/kvm").mkdir(parents=True)
        (tree / "kernel/arch/x86/kvm/kvm.ko").write_bytes(b"\0")
        for text in (str(img), f"{img}:{self.dir / 'root'}", f"mine={img}:{tree}"):
            line = kernels.resolve(text)
            self.assertEqual((line.kind, line.params), ("custom", ()), text)
        line = kernels.resolve(f"mine={img}:{tree}+kvm_amd.npt=0")
        self.assertEqual((line.id, line.params), ("mine+kvm_amd.npt=0", ("kvm_amd.npt=0",)))
        with self.assertRaises(util.InputError) as cm:
            kernels.resolve(f"{self.dir}/nope+deb13/bzImage")
        self.assertIn("nope+deb13", str(cm.exception))

    def test_bad_lines(self):
        for text, needle in (("buster", "unknown kernel line 'buster'"),
                             ("bookworm-riscv64", "bookworm has no riscv64 kernel"),
                             ("my line=sid", "kernel line name 'my line'"),
                             ("build:", "build: wants 'debian' or a kernel tree"),
                             (f"build:{self.dir}", "is not a kernel tree")):
            with self.assertRaises(util.InputError, msg=text) as cm:
                kernels.resolve(text)
            self.assertIn(needle, str(cm.exception))
        if not kernels.host_usable():
            with self.assertRaises(util.InputError) as cm:
                kernels.resolve("host")
            self.assertIn("no usable /dev/kvm", str(cm.exception))

    def test_cli(self):
        rc, out, err = faultlib.run([sys.executable, "-m", "kvmcheck.kernels", "resolve",
                                     "mine=" + str(fake_bzimage(self.dir / "bzImage"))],
                                    env=dict(self.env, PYTHONPATH=str(faultlib.SCRIPTS)))
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.split("\t")[:3], ["mine", "custom", "x86_64"])
        rc, out, err = faultlib.run([sys.executable, "-m", "kvmcheck.kernels", "resolve", "x"],
                                    env=dict(self.env, PYTHONPATH=str(faultlib.SCRIPTS)))
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("unknown kernel line 'x'", err)


class TestLayouts(Base):
    """Case 10 without a boot: the layouts resolve, materialize once, resolve again to the same
    directory, and give an initramfs with the modules (or none), the user's tree untouched."""

    def modules_install(self, k):
        """X/lib/modules/<kver> as make modules_install INSTALL_MOD_PATH=X writes it (no depmod
        run: no modules.dep), with Debian's KVM, vhost and vfio modules in it."""
        src = Path(k.modules) / "lib/modules" / k.kver
        dst = self.dir / "install/lib/modules" / k.kver
        for sub in ("kernel/arch/x86/kvm", "kernel/virt/lib", "kernel/drivers/crypto/ccp",
                    "kernel/drivers/vhost", "kernel/drivers/vfio", "kernel/drivers/net"):
            if (src / sub).is_dir():
                shutil.copytree(src / sub, dst / sub, symlinks=True)
        for f in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
            shutil.copy2(src / f, dst / f)
        return self.dir / "install", dst

    def initramfs(self, kdir):
        out = self.dir / "initrd.gz"
        rc, _, err = faultlib.run([INITRAMFS, kdir.path, fake_build(self.dir / "build"), out, "--",
                                   "-t", "common/ucall"], env=self.env, timeout=900)
        self.assertEqual(rc, 0, err)
        self.assertEqual([p.name for p in self.dir.iterdir() if p.name.startswith(".initrd")], [])
        return cpio_members(out), err

    def test_modules_install_layout(self):
        k = sid_kernel()
        root, tree = self.modules_install(k)
        before = tree_state(root)
        with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": str(self.cache)}):
            line = kernels.resolve(f"mine={k.image}:{root}")
            kdir = kernels.materialize(line)
            # The directory's modules/lib/modules/<kver> is a symlink to the user's tree:
            # resolving it again finds the one version and gives the same directory.
            again = kernels.materialize(kernels.resolve(f"{kdir.image}:{kdir.modules}"))
        self.assertEqual(again.path, kdir.path)
        self.assertEqual((kdir.kver, kdir.suite), (k.kver, "custom"))
        files, err = self.initramfs(kdir)
        self.assertIn("running depmod on a private copy", err)
        self.assertNotIn("invalid option", err)
        mods = files["etc/kvmcheck-modules"].decode().split()
        names = [os.path.basename(m) for m in mods]
        self.assertIn("kvm.ko", names)
        self.assertIn("kvm-amd.ko", names)
        self.assertLess(names.index("kvm.ko"), names.index("kvm-amd.ko"), "dependencies first")
        for m in mods:
            self.assertIn(f"lib/modules/{k.kver}/{m}", files)
        self.assertEqual(tree_state(root), before, "initramfs.sh wrote into the user's tree")
        # The modules.dep depmod made is cached: a second build does not run depmod again.
        _, err = self.initramfs(kdir)
        self.assertNotIn("running depmod", err)

    def test_modules_matched_by_vermagic(self):
        """The modules' own vermagic decides, not the directory's name: a tree under any name
        is taken for its kernel; another kernel's modules are refused naming both releases."""
        k = sid_kernel()
        _, tree = self.modules_install(k)
        plain = self.dir / "mods"
        tree.rename(plain)
        # Another cache: refused() below checks that self.cache got no kernel directory.
        with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": str(self.dir / "cache2")}):
            kdir = kernels.materialize(kernels.resolve(f"{k.image}:{plain}"))
        self.assertEqual(kdir.kver, k.kver)
        self.assertEqual(os.path.realpath(Path(kdir.modules) / "lib/modules" / k.kver), str(plain))
        img = fake_bzimage(self.dir / "bzImage")
        self.refused(f"{img}:{plain}", f"holds modules for {k.kver} (vermagic of kvm.ko",
                     "is 6.99.0-test")

    def test_two_runs_of_one_tree_at_once(self):
        """Both run depmod aside (or one waits for the other's result); both archives are whole,
        one modules.dep is cached, no temporary is left."""
        k = sid_kernel()
        root, _ = self.modules_install(k)
        with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": str(self.cache)}):
            kdir = kernels.materialize(kernels.resolve(f"{k.image}:{root}"))
        build = fake_build(self.dir / "build")
        env = dict(os.environ, **self.env)
        procs = [subprocess.Popen([str(INITRAMFS), kdir.path, str(build),
                                   str(self.dir / f"initrd{i}.gz")], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for i in range(2)]
        for p in procs:
            _, err = p.communicate(timeout=900)
            self.assertEqual(p.returncode, 0, err)
        for i in range(2):
            self.assertIn("etc/kvmcheck-modules", cpio_members(self.dir / f"initrd{i}.gz"))
        self.assertEqual(len(list((self.cache / "kvmcheck/initramfs").glob("*.modules.dep"))), 1)
        self.assertEqual([p.name for p in (self.cache / "kvmcheck/initramfs").iterdir()
                          if p.name.startswith((".depmod", ".base"))], [])

    def test_image_only(self):
        k = sid_kernel()
        with mock.patch.dict(os.environ, {"XDG_CACHE_HOME": str(self.cache)}):
            kdir = kernels.materialize(kernels.resolve(k.image))
        self.assertIsNone(kdir.modules)
        self.assertEqual(kdir.kver, k.kver)
        files, err = self.initramfs(kdir)
        self.assertIn("KVM must be built into", err)
        self.assertEqual(files["etc/kvmcheck-modules"], b"")
        self.assertFalse([n for n in files if n.endswith(".ko")])


class TestPackageKernel(Base):
    """Case 10 with one boot: trixie's linux-image .deb unpacked by hand (what a user does with
    bookworm-backports), no modules.dep, run with run_tests.sh --target qemu:IMAGE:ROOT on this
    machine's kmod (Debian 12: kmod 30, no depmod -o)."""

    def package_root(self):
        """The unpacked package, kept in the cache: one download for every run of this test."""
        fix = Path(util.cache_dir("fault-fixtures", "trixie-linux-image"))
        if (fix / "done").exists():
            return fix
        fix.parent.mkdir(parents=True, exist_ok=True)
        new = Path(tempfile.mkdtemp(dir=fix.parent, prefix=".new."))
        try:
            script = r"""
set -e
. "$1/lib.sh"
apt_setup "$2/apt" trixie amd64
apt_private apt-get update >"$2/apt.log" 2>&1
p=$(apt_private apt-cache show --no-all-versions linux-image-amd64 |
	sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p')
cd "$2"
apt_private apt-get download "$p" >>"$2/apt.log" 2>&1
dpkg-deb -x "$2"/linux-image-*.deb "$2/root"
"""
            p = subprocess.run(["bash", "-c", script, "bash", str(faultlib.SCRIPTS), str(new)],
                               capture_output=True, text=True, timeout=900)
            if p.returncode != 0:
                raise unittest.SkipTest(f"trixie's linux-image unavailable: {p.stderr[-200:]}")
            for f in new.glob("*.deb"):
                f.unlink()
            shutil.rmtree(new / "apt", ignore_errors=True)
            (new / "done").write_text("")
            if fix.exists():
                shutil.rmtree(fix)
            os.rename(new, fix)
        finally:
            shutil.rmtree(new, ignore_errors=True)
        return fix

    def test_package_kernel_boots(self):
        if not (faultlib.BUILD / "tests.list").exists():
            self.skipTest(f"no build in {faultlib.BUILD}")
        root = self.package_root() / "root"
        images = sorted(root.glob("boot/vmlinuz-*"))
        self.assertEqual(len(images), 1, images)
        for dep in root.glob("*lib/modules/*/modules.dep*"):
            dep.unlink()        # as a hand-unpacked package has it: postinst never ran
        before = tree_state(root)
        # The normal cache: the modules.dep made for this tree is kept for the next run.
        rc, out, err = faultlib.run(
            [faultlib.TOP / "run_tests.sh", "--build-dir", faultlib.BUILD,
             "--target", f"qemu:{images[0]}:{root}", "-t", "common/ucall"],
            env={"TMPDIR": str(self.tmpdir)}, timeout=900)
        self.assertNotIn("invalid option", err)
        self.assertNotIn("0 kernel versions", err)
        self.assertEqual(rc, 0, err[-3000:])
        self.assertRegex(out + err, r"ok \d+ common/ucall")
        self.assertRegex(out + err, r"\d+ passed, 0 failed")
        self.assertEqual(tree_state(root), before, "the run wrote into the unpacked package")
        self.assertEqual(faultlib.stray_processes(str(images[0])), [])

    def test_matrix_line(self):
        """The same kernel as a matrix line, mine=IMAGE:ROOT: resolved once into a kernel
        directory (its modules a symlink to ROOT's tree) and booted from it, never re-resolved
        into "0 kernel versions"."""
        if not (faultlib.BUILD / "tests.list").exists():
            self.skipTest(f"no build in {faultlib.BUILD}")
        root = self.package_root() / "root"
        image = sorted(root.glob("boot/vmlinuz-*"))[0]
        out = self.dir / "results"
        rc, so, err = faultlib.run(
            [faultlib.SCRIPTS / "matrix.sh", "--out", out, "--build-dir", faultlib.BUILD,
             "-t", "common/ucall", f"mine={image}:{root}"],
            env={"TMPDIR": str(self.tmpdir)}, timeout=900)
        self.assertNotIn("kernel versions", err)
        self.assertNotIn("BOOT-ERROR", so + err)
        self.assertEqual(rc, 0, (so + err)[-3000:])
        self.assertRegex(so, r"common/ucall\s+PASS")
        self.assertEqual(faultlib.stray_processes(str(image)), [])


if __name__ == "__main__":
    unittest.main()
