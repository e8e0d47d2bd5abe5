# SPDX-License-Identifier: GPL-2.0-only
"""A kernel line -> one verified kernel directory.

resolve() turns what the user typed (bookworm, sid-riscv64, host, build:TREE, NAME=IMAGE:MODS)
into a Line and refuses bad input with InputError (exit 2) before anything boots: a user's
image is read here (boot header, size, version string) and its modules matched to it.
materialize() fetches or builds the kernel (scripts/kernel-fetch.sh, scripts/kernel-build.sh)
or, for a user's kernel, writes the normalised directory itself, and returns a KernelDir.

Also a command line for the shell scripts, so a user's kernel is checked by one piece of code:
    python3 -m kvmcheck.kernels [--prog NAME] resolve LINE      prints id kind arch spec (tabs)
    python3 -m kvmcheck.kernels [--prog NAME] materialize LINE  prints the kernel directory
Exit status: 0, 2 bad input (named), 3 the kernel could not be fetched, built or verified.
"""
import contextlib
import dataclasses
import hashlib
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass

from . import util
from .util import InputError

SUITES = ("bookworm", "trixie", "sid")
LINE_HELP = ("use bookworm, trixie, sid, sid-riscv64, host, build:debian, build:TREE, "
             "debug:debian, debug:TREE or IMAGE[:MODULES_DIR]")


class KernelUnavailable(Exception):
    """The kernel could not be fetched, built or verified: exit 3, the message says why."""


@dataclass(frozen=True)
class Line:
    id: str     # column name and expect/ID.txt
    kind: str   # debian | host | build | custom
    spec: str   # suite name, tree path, or IMAGE[:MODULES]
    arch: str   # x86_64 | riscv64
    params: tuple = ()   # KVM module parameters the guest loads its modules with: kvm_amd.npt=0
    debug: bool = False  # debug: lines: built with scripts/config/debug.config (KASAN, lockdep)


# LINE+MODULE.PARAM=VALUE[+...]: kept to characters a kernel command line carries as one word.
PARAM_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_]+=[A-Za-z0-9_.,:-]*")


def _split_params(text):
    """'sid+kvm_amd.npt=0+kvm.enable_pmu=0' -> ('sid', ('kvm_amd.npt=0', 'kvm.enable_pmu=0'))."""
    base, params = text, []
    # From the right, so a '+' inside a user's image path stays part of the path.
    while "+" in base and PARAM_RE.fullmatch(base.rpartition("+")[2]):
        base, _, p = base.rpartition("+")
        params.insert(0, p)
    # NAME=IMAGE[:MODULES]: the image is what must exist for a '+' to be part of a path.
    spec = base.partition("=")[2] if "=" in base.partition(":")[0] else base
    if "+" in base and not os.path.lexists(spec.partition(":")[0]):
        bad = base.partition("+")[2]
        raise InputError(f"kernel line {text}: '{bad}' is not a module parameter "
                         "(MODULE.PARAM=VALUE, e.g. sid+kvm_amd.npt=0)")
    return base, tuple(params)


@dataclass(frozen=True)
class KernelDir:
    path: str
    kver: str
    arch: str
    version: str
    suite: str
    image: str
    modules: str | None

    @classmethod
    def load(cls, path):
        path = os.path.abspath(path)
        facts = {}
        for name in ("kver", "arch", "version", "suite"):
            try:
                with open(os.path.join(path, name), encoding="utf-8") as f:
                    facts[name] = f.read().strip()
            except OSError as e:
                raise InputError(f"{path} is not a kernel directory ({name}: "
                                 f"{e.strerror})") from None
            if not facts[name]:
                raise InputError(f"{path} is not a kernel directory ({name} is empty)")
        if facts["arch"] not in ("x86_64", "riscv64"):
            raise InputError(f"{path}/arch: unknown architecture '{facts['arch']}'")
        image = os.path.join(path, "Image" if facts["arch"] == "riscv64" else "vmlinuz")
        if not os.path.isfile(image):
            raise InputError(f"{path} is not a kernel directory (no {os.path.basename(image)})")
        modules = os.path.join(path, "modules")
        return cls(path=path, image=image, modules=modules if os.path.isdir(modules) else None,
                   **facts)


# --- a kernel image: what it is, read from its own header --------------------------------------

@dataclass(frozen=True)
class ImageInfo:
    arch: str
    kver: str | None     # the release string the image carries (None when unreadable, e.g.
                         # a compressed RISC-V Image.gz)
    size: int            # bytes the header says the file must have at least


def _pe_min_size(data, path):
    """The bytes a PE/COFF image (an EFI stub kernel) needs: the end of its last section's raw
    data. None when there is no PE header."""
    if data[:2] != b"MZ" or len(data) < 0x40:
        return None
    pe = struct.unpack_from("<I", data, 0x3c)[0]
    if pe + 24 > len(data) or data[pe:pe + 4] != b"PE\0\0":
        return None
    nsect, = struct.unpack_from("<H", data, pe + 6)
    optsz, = struct.unpack_from("<H", data, pe + 20)
    sect = pe + 24 + optsz
    end = 0
    for i in range(nsect):
        off = sect + 40 * i
        if off + 40 > len(data):
            raise InputError(f"{path}: truncated PE section table (section {i} of {nsect})")
        rawsize, rawptr = struct.unpack_from("<II", data, off + 16)
        end = max(end, rawptr + rawsize)
    return end


def _x86(data, path, fsize):
    if len(data) < 0x264 or data[0x202:0x206] != b"HdrS":
        return None
    if data[0x1fe:0x200] != b"\x55\xaa":
        raise InputError(f"{path}: not a bootable bzImage (no 0xAA55 boot flag at 0x1fe)")
    proto, = struct.unpack_from("<H", data, 0x206)
    if proto < 0x0204:
        raise InputError(f"{path}: boot protocol {proto >> 8}.{proto & 0xff} is older than 2.04 "
                         "(not a bzImage kvmcheck can boot)")
    setup_sects = data[0x1f1] or 4
    syssize, = struct.unpack_from("<I", data, 0x1f4)
    need = (setup_sects + 1) * 512 + syssize * 16
    pe = _pe_min_size(data, path)
    if pe:
        need = max(need, pe)
    kver = None
    ptr, = struct.unpack_from("<H", data, 0x20e)
    if ptr:
        s = data[ptr + 0x200:ptr + 0x200 + 256].split(b"\0", 1)[0]
        m = re.match(rb"(\d+\.\d+[^\s]*)", s)
        if not m:
            raise InputError(f"{path}: the bzImage's kernel_version string is not a kernel "
                             f"release ({s[:40]!r})")
        kver = m.group(1).decode("ascii", "replace")
    if need > fsize:
        raise InputError(f"{path}: truncated: the boot header says {need} bytes, the file has "
                         f"{fsize}")
    return ImageInfo("x86_64", kver, need)


def _riscv(data, path, fsize):
    if len(data) < 0x40 or data[0x38:0x3c] != b"RSC\x05":
        return None
    image_size, = struct.unpack_from("<Q", data, 0x10)
    need = _pe_min_size(data, path) or 0x40
    # image_size is the memory the kernel occupies, bss included: never less than the file.
    if image_size and image_size < fsize:
        raise InputError(f"{path}: not a RISC-V Image (header image_size {image_size} is "
                         f"smaller than the file, {fsize} bytes)")
    if need > fsize:
        raise InputError(f"{path}: truncated: the PE header says {need} bytes, the file has "
                         f"{fsize}")
    return ImageInfo("riscv64", None, need)


_BANNER = re.compile(rb"Linux version (\d+\.\d+[^\s\0]*)")


def image_info(path):
    """The arch, release and needed size of a kernel image, read from its boot header; InputError
    for a file that is missing, unreadable, not a kernel, or shorter than its header says."""
    try:
        with open(path, "rb") as f:
            fsize = os.fstat(f.fileno()).st_size
            data = f.read(0x10000)
    except FileNotFoundError:
        raise InputError(f"kernel image {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"kernel image {path}: is a directory, not a bzImage/Image") from None
    except OSError as e:
        raise InputError(f"kernel image {path}: {e.strerror}") from None
    info = _x86(data, path, fsize) or _riscv(data, path, fsize)
    if info is None:
        raise InputError(f"{path} is neither an x86 bzImage nor a RISC-V Image (give "
                         "arch/x86/boot/bzImage or arch/riscv/boot/Image)")
    if info.kver is None and info.arch == "riscv64":
        # An uncompressed Image carries its banner; read it in chunks, never the whole file.
        with open(path, "rb") as f:
            tail = b""
            while chunk := f.read(1 << 20):
                m = _BANNER.search(tail + chunk)
                if m:
                    info = dataclasses.replace(info, kver=m.group(1).decode("ascii", "replace"))
                    break
                tail = chunk[-128:]
    return info


# --- a user's modules --------------------------------------------------------------------------

def modules_tree(mods, path_for_msgs=None):
    """The lib/modules/<kver> directory in MODS: the install root (make modules_install
    INSTALL_MOD_PATH=X gives X/lib/modules/<kver>, a package gives X/usr/lib/modules/<kver> or
    X/lib/modules/<kver>), a kernel dir's modules/, or the <kver> directory itself."""
    shown = path_for_msgs or mods
    if not os.path.isdir(mods):
        raise InputError(f"modules directory {shown}: no such directory")
    for sub in ("lib/modules", "usr/lib/modules"):
        root = os.path.join(mods, sub)
        if os.path.isdir(root):
            # Symlinked <kver> dirs count: a kernel dir's modules may point at the user's tree.
            vers = sorted(e for e in os.listdir(root) if os.path.isdir(os.path.join(root, e)))
            if len(vers) != 1:
                raise InputError(f"{shown}/{sub} holds {len(vers)} kernel versions"
                                 f"{' (' + ', '.join(vers) + ')' if vers else ''}; "
                                 f"name one: {shown}/{sub}/<kver>")
            return os.path.realpath(os.path.join(root, vers[0]))
    if os.path.isfile(os.path.join(mods, "modules.order")) or \
            os.path.isdir(os.path.join(mods, "kernel")):
        return os.path.realpath(mods)
    raise InputError(f"{shown} holds neither lib/modules/<kver> nor a modules tree "
                     "(kernel/, modules.order)")


def _find_module(tree, name):
    """TREE's file of module NAME, "builtin" when modules.builtin lists it, else None."""
    pat = re.compile(re.escape(name) + r"\.ko(\.xz|\.zst|\.gz)?")
    for d, _, files in os.walk(os.path.join(tree, "kernel")):
        for f in files:
            if pat.fullmatch(f):
                return os.path.join(d, f)
    with contextlib.suppress(OSError), open(os.path.join(tree, "modules.builtin"),
                                            encoding="utf-8") as f:
        if any(line.strip().endswith(f"/{name}.ko") for line in f):
            return "builtin"
    return None


def _vermagic_release(module):
    """The kernel release a module was built for (its vermagic), or None when modinfo cannot
    tell (no kmod here, or not a module file)."""
    try:
        p = subprocess.run(["modinfo", "-F", "vermagic", module], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = p.stdout.split()
    return words[0] if p.returncode == 0 and words else None


def check_custom(spec):
    """IMAGE[:MODULES_DIR] checked: returns (image, tree or None, kver, ImageInfo). The release
    is the image's; the modules must be built for it (kvm's vermagic, else the directory's name)."""
    image, sep, mods = spec.partition(":")
    if not image:
        raise InputError(f"{spec}: no image before ':'")
    info = image_info(image)
    tree = None
    kver = info.kver or "unknown"
    if sep and mods:
        tree = modules_tree(mods)
        kvm = _find_module(tree, "kvm")
        built_for = _vermagic_release(kvm) if kvm not in (None, "builtin") else None
        named = os.path.basename(tree)
        if info.kver and built_for and built_for != info.kver:
            raise InputError(f"{tree} holds modules for {built_for} (vermagic of "
                             f"{os.path.basename(kvm)}) but {image} is {info.kver}")
        if info.kver and not built_for and named != info.kver:
            raise InputError(f"{tree} holds modules for {named} but {image} is {info.kver}")
        if kvm is None:
            raise InputError(f"{tree} has no kvm module and its modules.builtin does not list "
                             f"kvm: this kernel was built without KVM")
        kver = info.kver or built_for or named
    elif sep:
        raise InputError(f"{spec}: no modules directory after ':'")
    return os.path.realpath(image), tree, kver, info


# --- resolve -----------------------------------------------------------------------------------

def host_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def resolve(text):
    """What the user asked for, as a Line; bad input raises InputError naming it. A line may
    carry module parameters (sid+kvm_amd.npt=0): the id keeps them, the guest loads with them."""
    base, params = _split_params(text)
    line = resolve_base(base)
    if not params:
        return line
    if line.kind == "host":
        raise InputError(f"kernel line {text}: the host's modules are not reloaded; module "
                         "parameters need a QEMU line (sid+..., build:...+...)")
    return dataclasses.replace(line, id=line.id + "".join("+" + p for p in params), params=params)


def resolve_base(text):
    line = text
    name = None
    if "=" in line:
        name, _, line = line.partition("=")
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
            raise InputError(f"kernel line name '{name}' must be letters, digits, . _ -")
    if line in ("bookworm", "trixie", "sid", "unstable"):
        spec = "sid" if line == "unstable" else line
        return Line(name or spec, "debian", spec, "x86_64")
    if line in ("riscv64", "sid-riscv64", "trixie-riscv64", "unstable-riscv64"):
        spec = line.removesuffix("-riscv64")
        spec = "sid" if spec in ("riscv64", "unstable") else spec
        return Line(name or f"{spec}-riscv64", "debian", spec, "riscv64")
    if line == "bookworm-riscv64":
        raise InputError(f"kernel line {line}: bookworm has no riscv64 kernel (use sid-riscv64)")
    if line == "host":
        if not host_usable():
            raise InputError("kernel line host: no usable /dev/kvm on this machine (drop 'host' "
                             "or run where /dev/kvm opens read-write)")
        return Line(name or "host", "host", "host", os.uname().machine)
    for prefix, debug in (("build:", False), ("debug:", True)):
        if line.startswith(prefix):
            return _build_line(name, line, line[len(prefix):], prefix[:-1], debug)
    image = line.partition(":")[0]
    if os.path.lexists(image) or "/" in line:
        try:
            image, tree, _, info = check_custom(line)
        except InputError as e:
            raise InputError(f"kernel line {text}: {e}") from None
        spec = image + (f":{tree}" if tree else "")
        return Line(name or f"custom-{os.path.basename(line.partition(':')[0])}", "custom",
                    spec, info.arch)
    raise InputError(f"unknown kernel line '{text}': {LINE_HELP}")


def _build_line(name, text, spec, kind_word, debug):
    """build:SPEC or debug:SPEC; the debug line is the same source with debug.config merged, a
    column of its own (debug-debian) beside build-debian."""
    if not spec:
        raise InputError(f"kernel line {text}: {kind_word}: wants 'debian' or a kernel tree")
    if spec == "debian":
        lid = name or f"{kind_word}-debian"
    else:
        if not (os.path.isfile(os.path.join(spec, "Makefile")) and
                os.path.isfile(os.path.join(spec, "Kconfig"))):
            raise InputError(f"kernel line {text}: {spec} is not a kernel tree (no Makefile "
                             "and Kconfig)")
        spec = os.path.realpath(spec)
        lid = name or f"{kind_word}-{os.path.basename(spec)}"
    return Line(lid, "build", spec, "x86_64", debug=debug)


# --- materialize -------------------------------------------------------------------------------

def _script(argv, env=None, log=None, timeout=None):
    """Run a kernel script; its progress goes to log (a path) or our stderr as it comes, and
    the last line that is not progress ('# ...') is the reason when it fails. Bounded by
    timeout: past it the script and everything it started (apt, make) are killed. Returns the
    directory it printed."""
    e = dict(os.environ, **(env or {}))
    name = os.path.basename(str(argv[0]))
    reasons = []
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(open(log, "a", encoding="utf-8")) if log else sys.stderr
        out = stack.enter_context(tempfile.TemporaryFile(mode="w+", encoding="utf-8"))
        # Its own session, so a timeout or an interrupt stops its children too.
        p = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=e, text=True, errors="replace",
                             start_new_session=True)

        def pump():
            for line in p.stderr:
                sink.write(line)
                sink.flush()
                if line.strip() and not line.startswith("# "):
                    reasons.append(line.rstrip("\n"))
                    del reasons[:-5]

        t = threading.Thread(target=pump, daemon=True)
        t.start()
        try:
            rc = p.wait(timeout=timeout)
        except BaseException as ex:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            t.join(5)
            if isinstance(ex, subprocess.TimeoutExpired):
                raise KernelUnavailable(f"{name} took more than {timeout} s (stopped)") from None
            raise
        t.join()
        p.stderr.close()
        out.seek(0)
        printed = out.read().strip()
    reason = reasons[-1] if reasons else f"{name} exited {rc}"
    # The scripts prefix their messages with their name: keep the reason, drop the prefix.
    reason = re.sub(r"^[\w.-]+\.(sh|py): ", "", reason)
    if rc == util.EXIT_USAGE:
        raise InputError(reason)
    if rc != 0:
        raise KernelUnavailable(reason)
    path = printed.splitlines()[-1] if printed else ""
    if not path:
        raise KernelUnavailable(f"{name} printed no kernel directory")
    return path


def _custom_dir(line):
    """The normalised directory of a user's kernel: symlinks to their image and modules (a tree
    is large and rebuilt in place), one directory per (image, modules) pair so its initramfs is
    cached apart. Rewritten only when what it says changed; replaced atomically, under a lock."""
    image, tree, kver, info = check_custom(line.spec)
    key = hashlib.sha256(f"{image}:{tree or ''}".encode()).hexdigest()[:16]
    root = util.cache_dir("kernels", "custom")
    path = os.path.join(root, key)
    want = {"kver": kver, "arch": info.arch, "version": kver, "suite": "custom"}
    img_name = "Image" if info.arch == "riscv64" else "vmlinuz"
    with util.file_lock(os.path.join(root, ".lock")):
        with contextlib.suppress(InputError):
            k = KernelDir.load(path)
            if ({n: getattr(k, n) for n in want} == want and
                    os.readlink(k.image) == image and
                    (os.path.realpath(os.path.join(path, "modules", "lib", "modules", kver))
                     if tree else None) == tree and (k.modules is None) == (tree is None)):
                return k
        new = tempfile.mkdtemp(dir=root, prefix=".new.")
        try:
            os.chmod(new, 0o755)
            os.symlink(image, os.path.join(new, img_name))
            if tree:
                os.makedirs(os.path.join(new, "modules", "lib", "modules"))
                os.symlink(tree, os.path.join(new, "modules", "lib", "modules", kver))
            for n, v in want.items():
                util.atomic_write(os.path.join(new, n), v + "\n")
            old = None
            if os.path.lexists(path):
                old = tempfile.mkdtemp(dir=root, prefix=".old.")
                os.rename(path, os.path.join(old, "k"))
            os.rename(new, path)
            new = None
            if old:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if new:
                shutil.rmtree(new, ignore_errors=True)
    return KernelDir.load(path)


def materialize(line, *, log=None, timeout=None):
    """The kernel directory of LINE: fetched (Debian; verified against the hashes recorded at
    unpack time and fetched again on mismatch), built (build:), or normalised (a user's kernel,
    whose image is checked again here: it may have been rebuilt since resolve())."""
    if line.kind == "debian":
        arch = "riscv64" if line.arch == "riscv64" else "amd64"
        path = _script([os.path.join(util.SCRIPTS, "kernel-fetch.sh"), line.spec, arch],
                       log=log, timeout=timeout or 1800)
    elif line.kind == "build":
        path = _script([os.path.join(util.SCRIPTS, "kernel-build.sh"), line.spec],
                       env={"DEBUG": "1" if line.debug else "0"}, log=log,
                       timeout=timeout or 6 * 3600)
    elif line.kind == "custom":
        try:
            return _custom_dir(line)
        except OSError as e:
            raise KernelUnavailable(f"{line.spec}: {e}") from None
    else:
        raise ValueError(f"kernel line {line.id} ({line.kind}) has no kernel directory")
    try:
        k = KernelDir.load(path)
    except InputError as e:
        raise KernelUnavailable(str(e)) from None
    if k.arch != line.arch:
        raise KernelUnavailable(f"{path} is a {k.arch} kernel, the line {line.id} wants "
                                f"{line.arch}")
    if line.kind == "build":
        # A build's image has no manifest; its boot header still says how long it must be.
        try:
            image_info(k.image)
        except InputError as e:
            raise KernelUnavailable(f"the built kernel is unusable: {e}") from None
    return k


def main(argv):
    # A script that execs this module names itself, so messages say what the user ran.
    sys.argv[0] = "kvmcheck.kernels"
    if len(argv) == 4 and argv[0] == "--prog":
        sys.argv[0] = argv[1]
        argv = argv[2:]
    if len(argv) != 2 or argv[0] not in ("resolve", "materialize"):
        util.die(util.EXIT_USAGE, "usage: python3 -m kvmcheck.kernels [--prog NAME] "
                 "resolve|materialize LINE")
    try:
        line = resolve(argv[1])
        if argv[0] == "resolve":
            print(f"{line.id}\t{line.kind}\t{line.arch}\t{line.spec}")
            return 0
        k = materialize(line)
        if line.kind == "custom":
            mods = (f"modules {os.path.realpath(os.path.join(k.modules, 'lib/modules', k.kver))}"
                    if k.modules else "no modules")
            util.msg(f"# kernel: {k.image} -> {os.path.realpath(k.image)} ({k.arch}, {k.kver}, "
                     f"{mods})")
        print(k.path)
        return 0
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    except KernelUnavailable as e:
        util.die(util.EXIT_NOT_TESTED, str(e))
    except KeyboardInterrupt:
        return util.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
