# SPDX-License-Identifier: GPL-2.0-only
"""kselftest.py --build-dir DIR --install-path DEST [--runner-dir D] [--tar FILE]
        a kvmcheck build as a kselftest install tree (make install / make gen_tar)

What tools/testing/selftests' `make install` writes, so run_kselftest.sh, tuxrun and LAVA's
kselftest test definition run kvmcheck as they run any other kselftest:

  DEST/run_kselftest.sh, DEST/kselftest/...   the kernel's own runner (scripts/kselftest-fetch.sh)
  DEST/kselftest-list.txt                      'kvmcheck/x86:directed_eoi', one test a line
  DEST/kvmcheck/x86/directed_eoi ...           the static binaries, one collection per directory
  DEST/kvmcheck/x86/settings                   'timeout=S': the longest test timeout there
  DEST/kvmcheck/kvmcheck-run, tests.list       the build tree's own runner: DEST/kvmcheck is a
                                               build directory kvmcheck-run --dir reads too

A test is named back by dropping the 'kvmcheck/' prefix and the ':' ('kvmcheck/x86:directed_eoi'
is x86/directed_eoi). DEST is written whole or not at all: the tree is made in a temporary
directory beside it and renamed over it. --tar FILE adds a tarball of DEST (compression from
the name, as `tar caf`), written atomically.

Exit status: 0 written, 2 bad input (not a build, DEST not writable, a test name with
characters kselftest-list.txt cannot carry), 3 the kselftest runner could not be had.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field

from kvmcheck import suite, util
from kvmcheck.util import InputError

COLLECTION_PREFIX = "kvmcheck"
# kselftest-list.txt is split on ':' and on whitespace; run_kselftest.sh greps names as regexes.
NAME_RE = re.compile(r"[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*")


@dataclass
class Layout:
    """What an install tree holds: collections (kvmcheck/x86) -> [(test, timeout)]."""
    collections: dict = field(default_factory=dict)

    def list_lines(self):
        return [f"{c}:{t}" for c, tests in self.collections.items() for t, _ in tests]

    def settings(self, collection):
        return f"timeout={max(int(-(-to // 1)) for _, to in self.collections[collection])}\n"


def collection_of(name):
    """x86/directed_eoi -> ('kvmcheck/x86', 'directed_eoi')."""
    d, _, base = name.rpartition("/")
    return (f"{COLLECTION_PREFIX}/{d}" if d else COLLECTION_PREFIX), base


def kvmcheck_name(entry):
    """'kvmcheck/x86:directed_eoi' (a kselftest-list.txt line, or a KTAP 'selftests: DIR: T'
    pair joined with ':') -> 'x86/directed_eoi'; None when it is not one of ours."""
    coll, sep, test = entry.partition(":")
    if not sep or not (coll == COLLECTION_PREFIX or coll.startswith(COLLECTION_PREFIX + "/")):
        return None
    d = coll[len(COLLECTION_PREFIX) + 1:]
    return f"{d}/{test}" if d else test


def layout(tests):
    """[(name, timeout)] -> Layout; InputError for a name kselftest cannot carry."""
    lay = Layout()
    seen = {}
    for name, timeout in tests:
        if not NAME_RE.fullmatch(name):
            raise InputError(f"test {name!r}: kselftest-list.txt cannot carry this name")
        coll, base = collection_of(name)
        if (coll, base) in seen:
            raise InputError(f"tests {seen[(coll, base)]} and {name} install to the same file")
        seen[(coll, base)] = name
        lay.collections.setdefault(coll, []).append((base, float(timeout)))
    return lay


def runner_dir(given=None):
    """The kernel's kselftest runner: scripts/kselftest-fetch.sh's directory."""
    argv = [os.path.join(util.SCRIPTS, "kselftest-fetch.sh")] + ([given] if given else [])
    p = util.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                 stdin=subprocess.DEVNULL, timeout=1800)
    for x in p.stderr.splitlines():
        if x.startswith("# "):
            util.msg(x)
    why = next((x for x in reversed(p.stderr.splitlines()) if not x.startswith("# ")), "")
    why = re.sub(r"^kselftest-fetch\.sh: ", "", why) or f"kselftest-fetch.sh exited {p.returncode}"
    if p.returncode == util.EXIT_USAGE:
        raise InputError(why)
    if p.returncode != 0 or not p.stdout.strip():
        raise RuntimeError(why)
    return p.stdout.strip().splitlines()[-1]


def _copy_runner(src, dest):
    for rel in ("run_kselftest.sh", "kselftest"):
        s = os.path.join(src, rel)
        if os.path.isdir(s):
            shutil.copytree(s, os.path.join(dest, rel))
        else:
            shutil.copy2(s, os.path.join(dest, rel))
    for d, _, files in os.walk(dest):
        for f in files:
            if f.endswith((".sh", ".pl", ".py")):
                os.chmod(os.path.join(d, f), 0o755)


def _build_tree(build_dir, names, root):
    """BUILD_DIR's runner, tests.list and the binaries of NAMES under ROOT/kvmcheck."""
    top = os.path.join(root, COLLECTION_PREFIX)
    os.makedirs(top)
    shutil.copy2(os.path.join(build_dir, "kvmcheck-run"), top)
    util.atomic_write(os.path.join(top, "tests.list"), "".join(n + "\n" for n in names))
    for n in names:
        src = os.path.join(build_dir, n)
        if not os.access(src, os.X_OK):
            raise InputError(f"{build_dir}: tests.list names {n} but {src} is not an executable "
                             f"(make O={build_dir})")
        os.makedirs(os.path.join(top, os.path.dirname(n)), exist_ok=True)
        shutil.copy2(src, os.path.join(top, n))


def install(build_dir, dest, runner, arch=None):
    """Write the install tree DEST from BUILD_DIR; returns the Layout."""
    build_dir = os.path.abspath(build_dir)
    arch = arch or _build_arch(build_dir)
    tests = suite.selected_tests(build_dir, arch, suite.Selection())
    lay = layout(tests)
    dest = os.path.abspath(dest)
    parent = os.path.dirname(dest)
    if os.path.exists(parent) and not os.path.isdir(parent):
        raise InputError(f"INSTALL_PATH {dest}: {parent} is not a directory")
    util.check_writable_dir(parent, f"INSTALL_PATH {dest}: its directory")
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise InputError(f"INSTALL_PATH {dest}: exists and is not a directory")
    new = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(dest)}.")
    old = None
    try:
        os.chmod(new, 0o755)
        _copy_runner(runner, new)
        _build_tree(build_dir, [n for n, _ in tests], new)
        for coll in lay.collections:
            util.atomic_write(os.path.join(new, coll, "settings"), lay.settings(coll))
        util.atomic_write(os.path.join(new, "kselftest-list.txt"),
                          "".join(x + "\n" for x in lay.list_lines()))
        util.atomic_write(os.path.join(new, "VERSION"), _version() + "\n")
        if os.path.isdir(dest):
            old = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(dest)}.old.")
            os.rename(dest, os.path.join(old, "t"))
        os.rename(new, dest)
        new = None
    finally:
        for d in (new, old):
            if d:
                shutil.rmtree(d, ignore_errors=True)
    return lay


def gen_tar(dest, tar_path):
    """DEST as a tarball at TAR_PATH (kselftest's gen_tar: the tree's contents at the top)."""
    mode = {".gz": "w:gz", ".tgz": "w:gz", ".xz": "w:xz", ".bz2": "w:bz2", ".zst": None}
    ext = next((e for e in mode if tar_path.endswith(e)), "")
    if ext == ".zst":
        raise InputError(f"{tar_path}: zstd is not in Python's tarfile; use .tar.gz or .tar.xz")
    with util.replacing(tar_path) as tmp:
        with tarfile.open(tmp, mode.get(ext, "w")) as t:
            for e in sorted(os.listdir(dest)):
                if e == "kselftest-packages":
                    continue
                t.add(os.path.join(dest, e), arcname=f"./{e}")


def _build_arch(build_dir):
    """The build's arch, from its runner's ELF header (e_machine)."""
    try:
        with open(os.path.join(build_dir, "kvmcheck-run"), "rb") as f:
            head = f.read(20)
    except OSError as e:
        raise InputError(f"{build_dir} is not a kvmcheck build: kvmcheck-run: {e.strerror}") from None
    if head[:4] != b"\x7fELF":
        raise InputError(f"{build_dir}/kvmcheck-run is not an ELF executable")
    machine = int.from_bytes(head[18:20], "little")
    arch = {0x3e: "x86_64", 0xf3: "riscv64"}.get(machine)
    if arch is None:
        raise InputError(f"{build_dir}/kvmcheck-run: unknown ELF machine {machine:#x}")
    return arch


def _version():
    p = util.run(["git", "-C", util.TOP, "describe", "--always", "--dirty"],
                 capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return f"kvmcheck {p.stdout.strip() if p.returncode == 0 else 'unknown'}"


def main(argv):
    ap = argparse.ArgumentParser(prog="make install", description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--install-path", required=True)
    ap.add_argument("--runner-dir", help="a kernel's tools/testing/selftests (default: Debian's "
                    "linux-source)")
    ap.add_argument("--tar")
    a = ap.parse_args(argv)
    sys.argv[0] = "make install"
    try:
        runner = runner_dir(a.runner_dir)
        lay = install(a.build_dir, a.install_path, runner)
        n = sum(len(t) for t in lay.collections.values())
        util.msg(f"installed {n} tests in {len(lay.collections)} collections into "
                 f"{os.path.abspath(a.install_path)} (runner from {runner})")
        if a.tar:
            gen_tar(a.install_path, a.tar)
            util.msg(f"written: {a.tar}")
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    except RuntimeError as e:
        util.die(util.EXIT_NOT_TESTED, f"no kselftest runner: {e}")
    except KeyboardInterrupt:
        return util.EXIT_INTERRUPTED
    return util.EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
