# SPDX-License-Identifier: GPL-2.0-only
"""What every driver needs: messages, exit codes, atomic writes, locks, commands as argv lists."""
import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

# The exit statuses of every entry point (docs/ORCHESTRATION.md).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_TESTED = 3
EXIT_EMPTY = 4
EXIT_INTERRUPTED = 130

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(TOP, "scripts")


class InputError(Exception):
    """Bad input from the user (a file, a line, an option): exit 2; the message names it."""


def msg(text):
    """Everything for humans goes to stderr: stdout of the drivers is data or the table."""
    print(text, file=sys.stderr, flush=True)


def die(code, text):
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "kvmcheck"
    msg(f"{prog}: {text}")
    sys.exit(code)


def cache_dir(*parts):
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kvmcheck", *parts)


@contextlib.contextmanager
def replacing(path):
    """A unique temporary beside PATH for the block to write, renamed over PATH when the block
    ends and removed when it raises: a reader (another run, a crash half-way) sees the old file
    or the whole new one, never a part."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_writable_dir(path, what):
    """PATH, made if missing, shown writable by creating a file there (access() answers yes to
    root on a read-only mount); else InputError '{what} {path}: cannot write there (why)'."""
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".kvmcheck-probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"{what} {path}: cannot write there ({e.strerror or e})") from None


def atomic_write(path, data):
    """Write path as a whole or not at all (replacing()), fsync'd before the rename."""
    with replacing(path) as tmp:
        with open(tmp, "wb" if isinstance(data, bytes) else "w",
                  **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_write_json(path, obj):
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


@contextlib.contextmanager
def file_lock(path, shared=False, waiting=None):
    """An flock held for the block: writers of one cache entry take it exclusive, so two runs
    never build the same entry at once; the lock dies with the process, never goes stale.
    WAITING, when given, is said once if another holder makes this one wait (a build holds a
    source tree for minutes: a silent wait looks like a hang)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                msg(waiting)
            fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)


def need(cmd, pkg):
    """CMD on PATH, installing the Debian package PKG as root (as scripts/lib.sh's need does);
    otherwise NotTested naming the package. A minimal Debian lacks patch, for one."""
    if shutil.which(cmd):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        msg(f"# installing {pkg} (for {cmd})")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        lock = ["-o", "DPkg::Lock::Timeout=600"]
        inst = ["apt-get", *lock, "install", "-y", "-q", "--no-install-recommends", pkg]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
                 "stdin": subprocess.DEVNULL, "env": env}
        if run(inst, **quiet).returncode != 0:
            run(["apt-get", *lock, "update", "-q"], **quiet)
            run(inst, **quiet)
        if shutil.which(cmd):
            return
        raise NotTested(f"could not install {pkg} (needed for {cmd})")
    raise NotTested(f"missing {cmd}: install the Debian package {pkg} (apt-get install {pkg})")


class NotTested(Exception):
    """Something this run needs is missing: exit 3, nothing was tested."""


def stop_on_signals():
    """SIGTERM and SIGHUP (a CI job cancelled, git bisect killed, a terminal closed) unwind like
    Ctrl-C: the KeyboardInterrupt paths stop QEMU and builds and remove temporaries."""
    def interrupted(signum, frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)


class ArgParser(argparse.ArgumentParser):
    """A driver's options: a usage mistake exits 2 naming it; --help prints the module's
    docstring, the one description of its usage."""

    def __init__(self, *args, doc, **kw):
        super().__init__(*args, **kw)
        self.doc = doc

    def error(self, message):
        die(EXIT_USAGE, f"{message} (see --help)")

    def print_help(self, file=None):
        print(self.doc.strip("\n"), file=file or sys.stdout)


def run(argv, **kw):
    """A command as an argv list, never a shell string: user input stays data."""
    if isinstance(argv, str):
        raise TypeError("run() takes an argv list, not a shell string")
    return subprocess.run([str(a) for a in argv], check=False, **kw)
