# SPDX-License-Identifier: GPL-2.0-only
"""A headless Chromium driven over the DevTools protocol on --remote-debugging-pipe: stdlib only,
no WebSocket, no port. Chromium reads NUL-terminated JSON commands on fd 3 and writes replies and
events on fd 4. Every wait is bounded; the browser runs in its own process group, which close()
ends whole (TERM, then KILL), and its profile directory is removed."""
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
         "--remote-debugging-pipe"]


class BrowserError(Exception):
    """The browser did not start, answer in time, or answered with an error."""


def find_chromium():
    for c in (os.environ.get("KVMCHECK_CHROMIUM"), shutil.which("chromium"),
              shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if c and os.access(c, os.X_OK):
            return c
    return None


def _high(fd):
    """fd duplicated above the low numbers, close-on-exec, so placing the pipe ends on 3 and 4
    never overwrites one with the other."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


class Browser:
    def __init__(self, chromium, timeout=30.0, log=None):
        self.timeout = timeout
        self.events = []
        self.next_id = 0
        self.buf = b""
        self.proc = None
        self.profile = tempfile.mkdtemp(prefix="kvmcheck-chromium.")
        # Chromium leaves org.chromium.Chromium.* scratch directories in $TMPDIR: inside the
        # profile they go with it.
        tmp = os.path.join(self.profile, "tmp")
        os.mkdir(tmp)
        self.log = log
        to_r, to_w = os.pipe()          # we write commands; chromium reads fd 3
        from_r, from_w = os.pipe()      # chromium writes fd 4; we read
        # All four ends moved above 10 first: none of them may sit on 3 or 4, which are
        # about to be overwritten.
        child_in, child_out, self.wfd, self.rfd = (_high(fd) for fd in (to_r, from_w, to_w, from_r))
        for fd in (to_r, from_w, to_w, from_r):
            os.close(fd)
        saved = {}
        try:
            # The child gets the pipe on 3 and 4: put them there in this process for the spawn
            # (this checker has one thread), then restore what 3 and 4 were.
            for target in (3, 4):
                try:
                    saved[target] = _high(target)
                except OSError:
                    saved[target] = None
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)
            try:
                self.proc = subprocess.Popen(
                    [chromium, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                    stdin=subprocess.DEVNULL, stdout=log or subprocess.DEVNULL,
                    stderr=log or subprocess.DEVNULL, pass_fds=(3, 4), start_new_session=True,
                    env=dict(os.environ, TMPDIR=tmp))
            except OSError as ex:
                raise BrowserError(f"{chromium}: cannot start: {ex}") from ex
        finally:
            for target in (3, 4):
                if saved.get(target) is not None:
                    os.dup2(saved[target], target)
                    os.close(saved[target])
                else:
                    with contextlib.suppress(OSError):
                        os.close(target)
            os.close(child_in)
            os.close(child_out)
            if self.proc is None:
                self._cleanup_fds()
                shutil.rmtree(self.profile, ignore_errors=True)

    # --- the protocol ---------------------------------------------------------------------------

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer from the browser within {self.timeout:g} s")
            r, _, _ = select.select([self.rfd], [], [], left)
            if not r:
                continue
            chunk = os.read(self.rfd, 1 << 16)
            if not chunk:
                self._gone()
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def _gone(self):
        try:
            rc = self.proc.wait(timeout=2)    # the pipe closes just before the exit
        except subprocess.TimeoutExpired:
            rc = None
        raise BrowserError("the browser closed its DevTools pipe" +
                           (f" (exit status {rc})" if rc is not None else ""))

    def send(self, method, params=None, session=None, timeout=None):
        """One command; its result, or BrowserError. Events that arrive meanwhile are kept."""
        self.next_id += 1
        cmd = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            cmd["sessionId"] = session
        data = json.dumps(cmd).encode() + b"\0"
        deadline = time.monotonic() + (timeout or self.timeout)
        while data:
            _, w, _ = select.select([], [self.wfd], [], max(0.0, deadline - time.monotonic()))
            if not w:
                raise BrowserError(f"the browser does not read its DevTools pipe ({method})")
            try:
                data = data[os.write(self.wfd, data):]
            except BrokenPipeError:
                self._gone()
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise BrowserError(f"{method}: {m['error'].get('message')}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method, session=None, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, ev in enumerate(self.events):
                if ev["method"] == method and (session is None or ev.get("sessionId") == session):
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def drain(self, seconds=0.2):
        """Events that come within a short while (console messages logged after a click)."""
        deadline = time.monotonic() + seconds
        with contextlib.suppress(BrowserError):
            while time.monotonic() < deadline:
                r, _, _ = select.select([self.rfd], [], [], max(0.0, deadline - time.monotonic()))
                if not r and b"\0" not in self.buf:
                    break
                self.events.append(self._read_message(deadline))

    # --- the end --------------------------------------------------------------------------------

    def _cleanup_fds(self):
        for fd in (self.wfd, self.rfd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self):
        if self.proc is not None:
            with contextlib.suppress(BrowserError, OSError):
                if self.proc.poll() is None:
                    self.send("Browser.close", timeout=3)
            for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)     # the renderer, GPU and zygote too
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout=wait)
                    # the leader gone, its children may not be: one more round for them
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._cleanup_fds()
        # Chromium's helpers may still be writing the profile for a moment after the kill.
        for _ in range(20):
            shutil.rmtree(self.profile, ignore_errors=True)
            if not os.path.exists(self.profile):
                break
            time.sleep(0.1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
