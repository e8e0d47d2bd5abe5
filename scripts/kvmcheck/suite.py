# SPDX-License-Identifier: GPL-2.0-only
"""Run the suite on one kernel: under QEMU (run_on_kernel) or on this machine (run_on_host).

Under QEMU, a kernel that crashes (panic, oops, or a hang: no TAP progress for longer than the
running tests' timeouts plus a margin) after the first test started is not "nothing was
tested": the test(s) in flight get CRASH with the splat's first lines, the guest is booted again
for the tests not yet run, and every boot's results are merged into one TAP stream that the C
runner imports once, so the JSON, JUnit and summary are one run's. With -j N several tests may
be in flight: they are run again one at a time in the next boot to find the one that crashes.
A crash before any test started is a boot failure (exit 3).

    PYTHONPATH=scripts python3 -m kvmcheck.suite --target qemu:sid [--arch A] [--build-dir D]
        [--json F] [--junit F] [--results D] [--boot-silence S] [--max-boots N] -- RUNNER_ARGS

is what run_tests.sh hands the QEMU target to; exit statuses as docs/ORCHESTRATION.md says.
"""
import argparse
import contextlib
import fnmatch
import json as jsonlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from kvmcheck import util
from kvmcheck.util import InputError

# Seconds past the in-flight tests' own timeouts before a silent guest counts as hung: the
# guest's runner kills a test at its timeout and reports it, so only a stuck kernel stays quiet.
HANG_MARGIN_S = int(os.environ.get("KVMCHECK_HANG_MARGIN", "60"))
BOOT_SILENCE_S = 60
MAX_BOOTS = 6
# A kernel built with any of these runs the same work several times slower (KASAN checks every
# access, lockdep every lock taken): each test's timeout and its subtests' grow by
# SLOW_KERNEL_SCALE there. Measured on the debug line against build:debian, same source, same
# machine: the tests took 5 to 12 times as long, 8.7 times at the median
# (bench/debug_line.results).
SLOW_OPTIONS = ("CONFIG_KASAN", "CONFIG_PROVE_LOCKING", "CONFIG_KCSAN")
SLOW_KERNEL_SCALE = int(os.environ.get("KVMCHECK_SLOW_KERNEL_SCALE", "8"))
DEFAULT_TIMEOUT_S = 60.0     # the runner's own default (runner/runner.h)
META_TIMEOUT_S = 10.0        # the runner's bound on one --meta while it discovers the tests

# Lines of a kernel splat, first line first (console.log, after the timestamp).
SPLAT_RE = re.compile(r"(Kernel panic|Oops|BUG:|kernel BUG|general protection fault|"
                      r"Unable to handle kernel|unable to handle|WARNING:|refcount_t:|"
                      r"watchdog: BUG|INFO: task .* blocked|sysrq: Trigger a crash)")
STAMP_RE = re.compile(r"^\[\s*\d+\.\d+\]\s*")
RESULT_RE = re.compile(r"^(ok|not ok) (\d+) (\S+)(?: # (.*))?$")


@dataclass
class SuiteRun:
    rc: int             # 0 nothing failed, 1 something failed, 3 nothing was tested
    status: str         # ok | BOOT-ERROR
    reason: str | None  # why not ok
    runner_json: str | None   # the merged runner JSON (one run, one count)
    timings: dict = field(default_factory=dict)   # boot_s, first_test_s, column_s, boots
    logdir: str = ""


@dataclass
class Selection:
    """The runner arguments this module must understand to split a run over several boots."""
    jobs: int = 1
    timeout: float | None = None
    repeat: int = 1                # --repeat N: each test runs N times in the guest
    patterns: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    list_only: bool = False
    timeout_scale: int = 1         # --timeout-scale N: each test's own timeout times N
    groups_applied: bool = True   # False: -g is left to the guest (no metadata readable here)


@dataclass
class Result:
    """One test's lines from a guest's TAP stream, renumbered when the boots are merged."""
    name: str
    block: list           # its output, indented, "# Subtest:" line first
    ok: bool
    directive: str | None
    facts: str | None     # "duration_s=... exit_status=... verdict=...", None: no facts line
                          # (a verdict decided here: the result line's words say it)


@dataclass
class Boot:
    kind: str = "boot-error"   # ok | crash | hang | boot-error | no-kvm
    reason: str = ""
    rc: int | None = None      # the guest runner's exit status
    header: str | None = None  # "# kvmcheck: kernel ..."
    results: list = field(default_factory=list)
    started: dict = field(default_factory=dict)   # name -> monotonic time it started
    inflight: list = field(default_factory=list)
    runner_started: bool = False
    boot_s: float | None = None          # QEMU start to the guest's first TAP line
    first_result_at: float | None = None  # time.monotonic() of the first result


def parse_runner_args(args):
    """The selection in RUNNER_ARGS (the runner's own syntax, --opt=VAL too); unknown is bad input."""
    sel = Selection()
    it = iter(args)
    for a in it:
        opt, eq, val = a.partition("=") if a.startswith("--") else (a, "", "")
        if opt in ("-l", "--list"):
            sel.list_only = True
            continue
        if opt not in ("-j", "--jobs", "-t", "--test", "-g", "--group", "--timeout", "--repeat",
                       "--timeout-scale"):
            raise InputError(f"runner option {a} is not one run_on_kernel understands")
        if not eq:
            val = next(it, None)
            if val is None:
                raise InputError(f"{opt} needs a value")
        if opt in ("-j", "--jobs"):
            if not re.fullmatch(r"[1-9][0-9]*", val):
                raise InputError(f"{opt} wants a positive number, not '{val}'")
            sel.jobs = int(val)
        elif opt == "--repeat":
            if not re.fullmatch(r"[1-9][0-9]*", val) or int(val) > 1000:
                raise InputError(f"--repeat wants a number of runs from 1 to 1000, not '{val}'")
            sel.repeat = int(val)
        elif opt == "--timeout-scale":
            if not re.fullmatch(r"[1-9][0-9]*", val) or int(val) > 100:
                raise InputError(f"--timeout-scale wants a whole factor from 1 to 100, not '{val}'")
            sel.timeout_scale = int(val)
        elif opt == "--timeout":
            try:
                sel.timeout = float(val)
            except ValueError:
                raise InputError(f"--timeout wants a number of seconds, not '{val}'") from None
            if not sel.timeout > 0:
                raise InputError(f"--timeout wants a positive number of seconds, not '{val}'")
        elif opt in ("-t", "--test"):
            sel.patterns.append(val)
        else:
            sel.groups.append(val)
    return sel


def _check_writable(path, what):
    """Refuse an output path now, not after a boot: create it (or open it for appending) and
    remove what was created, so a refused run leaves no empty report behind."""
    if os.path.isdir(path):
        raise InputError(f"{what} {path}: is a directory")
    existed = os.path.lexists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as e:
        raise InputError(f"{what} {path}: cannot write: {e.strerror}") from None
    if not existed:
        os.unlink(path)


def list_json(lister, args=(), timeout=600):
    """LISTER (a kvmcheck-run and its options) run with -l --json into a temporary, always
    removed: (the finished process, the JSON it wrote, or None when it wrote none that parses).
    subprocess.TimeoutExpired and OSError (no such program) reach the caller."""
    fd, tmp = tempfile.mkstemp(prefix="kvmcheck-list.", suffix=".json")
    os.close(fd)
    try:
        p = util.run(list(lister) + ["-l", "--json", tmp] + list(args), capture_output=True,
                     text=True, stdin=subprocess.DEVNULL, timeout=timeout)
        try:
            with open(tmp, encoding="utf-8") as f:
                return p, jsonlib.load(f)
        except ValueError:
            return p, None
    finally:
        os.unlink(tmp)


def _listing(lister, sel_args, strict):
    """kvmcheck-run -l --json: the selected tests' metadata, or InputError for a selection it
    refuses. Not strict (another machine's runner reading a foreign build, which may be older
    than the build or lack --emulator): any other failure gives None, and tests.list decides."""
    try:
        p, data = list_json(lister, sel_args)
    except (OSError, subprocess.TimeoutExpired) as e:
        if not strict:
            return None
        raise InputError(f"{lister[0]} -l: {e}") from None
    last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    selection = re.search(r"(^|: )-[tg] '", last)
    if p.returncode == util.EXIT_USAGE and (strict or selection):
        raise InputError(last or "kvmcheck-run -l refused the selection")
    # 1: some test's --meta failed; it still runs (and fails) in the guest.
    if p.returncode not in (0, 1) or data is None:
        if not strict:
            return None
        raise InputError(f"{lister[0]} -l failed (exit {p.returncode}): "
                         f"{last[-300:] or 'no JSON written'}")
    return data


def selected_tests(build_dir, arch, sel):
    """[(name, timeout)] in the order the runner runs them, or InputError naming a -t/-g that
    selects nothing. The runner lists here when its binaries run here (static x86_64 on
    x86_64; a riscv64 build through this machine's runner with --emulator qemu-riscv64); else
    -t is checked against tests.list."""
    runner = os.path.join(build_dir, "kvmcheck-run")
    tests_list = os.path.join(build_dir, "tests.list")
    if not (os.access(runner, os.X_OK) and os.path.isfile(tests_list)):
        raise InputError(f"{build_dir} is not a kvmcheck build (no kvmcheck-run or tests.list): "
                         f"make O={build_dir}" + (f" ARCH={arch}" if arch != "x86_64" else ""))
    sel_args = [x for p in sel.patterns for x in ("-t", p)] + \
        [x for g in sel.groups for x in ("-g", g)]
    native = arch == os.uname().machine
    lister = [runner] if native else None
    if not native:
        # This machine's runner reads the foreign build through qemu-user (--emulator).
        here = _importer(build_dir, arch)
        emu = next((e for e in (f"qemu-{arch}", f"qemu-{arch}-static") if shutil.which(e)), None)
        if here and emu:
            lister = [here, "--dir", build_dir, "--emulator", emu]
    metas = _listing(lister, sel_args, strict=native) if lister else None
    if metas is not None:
        return [(m["name"], float(sel.timeout or
                                  sel.timeout_scale * (m.get("timeout") or DEFAULT_TIMEOUT_S)))
                for m in metas]
    with open(tests_list, encoding="utf-8") as f:
        names = [x.strip() for x in f if x.strip() and not x.startswith("#")]
    keep = names
    if sel.patterns:
        keep = []
        for p in sel.patterns:
            test = p.partition(":")[0]
            hit = [n for n in names if name_matches(n, test)]
            if not hit:
                raise InputError(f"-t '{p}' matches no test in {tests_list}")
        keep = [n for n in names
                if any(name_matches(n, p.partition(":")[0]) for p in sel.patterns)]
    # -g needs the metadata, which only the guest can print here: it is checked there.
    sel.groups_applied = not sel.groups
    return [(n, sel.timeout or sel.timeout_scale * DEFAULT_TIMEOUT_S) for n in keep]


def check_inputs(build_dir, arch, runner_args, *, json=None, junit=None, results=None):
    """Everything that can be refused before a boot (exit 2): returns (Selection, tests)."""
    sel = parse_runner_args(runner_args)
    if sel.list_only and (junit or results):
        raise InputError("-l runs nothing: --junit and --results have nothing to write")
    for path, what in ((json, "--json"), (junit, "--junit")):
        if path:
            _check_writable(path, what)
    if results:
        util.check_writable_dir(results, "--results")
    return sel, selected_tests(build_dir, arch, sel)


def name_matches(name, pattern):
    """The runner's -t rule: a glob on the name; one without '/' also on the part after the
    last '/' (so directed_eoi selects x86/directed_eoi)."""
    return (fnmatch.fnmatchcase(name, pattern) or
            ("/" not in pattern and fnmatch.fnmatchcase(name.rpartition("/")[2], pattern)))


def _args_for(names, sel, jobs):
    """Runner arguments that run exactly NAMES as the user's selection would have run them:
    a test asked for by NAME:SUBTEST keeps its subtest patterns."""
    args = ["-j", str(jobs)]
    if sel.timeout:
        args += ["--timeout", f"{sel.timeout:g}"]
    if sel.timeout_scale > 1:
        args += ["--timeout-scale", str(sel.timeout_scale)]
    if sel.repeat > 1:
        args += ["--repeat", str(sel.repeat)]
    if not sel.groups_applied:
        # NAMES came from tests.list alone: -t and -g together keep what both select.
        args += [x for g in sel.groups for x in ("-g", g)]
    for n in names:
        whole = not sel.patterns or any(
            ":" not in p and name_matches(n, p) for p in sel.patterns)
        if whole:
            args += ["-t", n]
            continue
        for p in sel.patterns:
            test, _, sub = p.partition(":")
            if sub and name_matches(n, test):
                args += ["-t", f"{n}:{sub}"]
    return args


def splat(console_path):
    """The first lines of the kernel's complaint in a console log, as one line."""
    try:
        with open(console_path, encoding="utf-8", errors="replace") as f:
            lines = [STAMP_RE.sub("", x.replace("\r", "").rstrip()) for x in f]
    except OSError:
        return None
    first = next((i for i, x in enumerate(lines) if SPLAT_RE.search(x)), None)
    if first is None:
        return None
    # The first line, then what says where (RIP, #PF, the next complaint), not the boilerplate
    # (CPU:, Hardware name:, registers, Call Trace) that every splat has.
    picked = [lines[first].strip()]
    for x in lines[first + 1:first + 16]:
        if len(picked) >= 4:
            break
        x = x.strip()
        if x and (SPLAT_RE.search(x) or x.startswith(("RIP:", "#PF:", "pc :", "epc :"))):
            picked.append(x)
    panic = next((x.strip() for x in lines[first:] if "Kernel panic" in x), None)
    if panic and panic not in picked:
        picked.append(panic)
    text = " | ".join(picked)
    return text if len(text) <= 400 else text[:397] + "..."


def _last_console_line(console_path):
    with contextlib.suppress(OSError):
        with open(console_path, encoding="utf-8", errors="replace") as f:
            lines = [STAMP_RE.sub("", x.replace("\r", "").strip()) for x in f if x.strip()]
        if lines:
            return lines[-1][:200]
    return None


class _Stream:
    """Follows one guest's TAP stream line by line: which tests started, ended, are in flight."""

    def __init__(self, boot, order, timeouts, jobs, t0):
        self.b = boot
        self.order = order
        self.timeouts = timeouts
        self.jobs = jobs
        self.t0 = t0
        self.block = []
        self.last = None          # the Result the next "# kvmcheck-test:" line belongs to
        self.have_start_lines = False
        self.guess = {}           # name -> when it must have started (no start lines)
        self.progress = t0
        self.runner_said = None   # the guest runner's last complaint (its usage errors)

    def reported(self):
        return {r.name for r in self.b.results}

    def inflight(self):
        done = self.reported()
        if self.have_start_lines:
            return [n for n in self.b.started if n not in done]
        if self.b.header is None:
            return []
        # Without start lines: the runner starts tests in order and keeps -j of them running.
        return [n for n in self.order if n not in done][:self.jobs]

    def feed(self, line, now):
        b = self.b
        self.progress = now
        if b.boot_s is None:
            b.boot_s = now - self.t0
        if line == "TAP version 13":
            # A runner starting again in the same boot is not ours to merge: keep the last.
            b.runner_started = True
            b.results.clear()
            b.started.clear()
            self.block = []
            return
        if line.startswith("    ") or (not line and self.block):
            self.block.append(line)
            return
        m = RESULT_RE.match(line)
        if m:
            b.results.append(Result(m.group(3), self.block, m.group(1) == "ok", m.group(4), None))
            self.last = b.results[-1]
            self.block = []
            if b.first_result_at is None:
                b.first_result_at = now
            self._note_inflight(now)
            return
        if line.startswith("# kvmcheck: start "):
            self.have_start_lines = True
            b.started[line[len("# kvmcheck: start "):].strip()] = now
            return
        if line.startswith("# kvmcheck: kernel "):
            b.header = line
            self._note_inflight(now)
            return
        if line.startswith("# kvmcheck-test: ") and self.last:
            num, _, facts = line[len("# kvmcheck-test: "):].partition(" ")
            if num.isdigit():
                self.last.facts = facts
            return
        if line.startswith("# kvmcheck-exit: "):
            with contextlib.suppress(ValueError):
                b.rc = int(line.split()[2])
            return
        if line.startswith("Bail out!"):
            b.kind, b.reason = "no-kvm", line[len("Bail out! "):]
        elif line.startswith("kvmcheck-run: "):
            self.runner_said = line[len("kvmcheck-run: "):]

    def _note_inflight(self, now):
        if not self.have_start_lines:
            for n in self.inflight():
                self.guess.setdefault(n, now)

    def start_time(self, name):
        return self.b.started.get(name, self.guess.get(name, self.progress))

    def deadline(self):
        """When a guest that printed nothing since counts as hung; None: not yet judged."""
        if not self.b.runner_started:
            return None
        fl = self.inflight()
        if fl:
            return max(self.start_time(n) + self.timeouts.get(n, DEFAULT_TIMEOUT_S)
                       for n in fl) + HANG_MARGIN_S
        if self.b.header is None:
            # The runner is discovering the tests: one --meta each, each bounded.
            return self.progress + META_TIMEOUT_S * max(len(self.order), 1) + HANG_MARGIN_S
        return self.progress + HANG_MARGIN_S


def _stop(p, grace=20):
    """qemu-run.sh stops its QEMU on SIGTERM (its trap); wait for that, bounded."""
    if p.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)


def _call(argv):
    """Run a leaf script to its end; interrupted, it gets SIGTERM (its traps remove its temporary
    files) rather than the SIGKILL subprocess.run would send."""
    p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL)
    try:
        return p.wait()
    except BaseException:
        _stop(p, grace=30)
        raise


def _boot(kdir, build_dir, args, bootdir, *, order, timeouts, jobs, bound, silence, echo,
          modparams=()):
    """One QEMU boot running ARGS; returns what happened as a Boot."""
    os.makedirs(bootdir, exist_ok=True)
    initrd = os.path.join(bootdir, "initrd.gz")
    tap = os.path.join(bootdir, "tap.log")
    errpath = os.path.join(bootdir, "qemu-run.err")
    b = Boot()
    rc = _call([os.path.join(util.SCRIPTS, "initramfs.sh"), kdir.path, build_dir, initrd, "--"]
               + args)
    if rc != 0:
        b.reason = f"initramfs.sh failed (exit {rc})"
        if rc == util.EXIT_USAGE:
            b.kind = "usage"
        return b
    argv = [os.path.join(util.SCRIPTS, "qemu-run.sh"), "--quiet", "--timeout", str(max(int(bound), 1)),
            "--boot-silence", str(silence), "--logdir", bootdir, "--tap", tap, kdir.path, initrd]
    if modparams:
        # On the kernel command line, where guest-init.sh hands MODULE.PARAM=V to insmod.
        argv[1:1] = ["--append", " ".join(modparams)]
    t0 = time.monotonic()
    st = _Stream(b, order, timeouts, jobs, t0)
    hung = None
    with open(errpath, "w", encoding="utf-8") as err:
        # Its own session: a signal meant for the caller's group is the caller's to pass on,
        # and the last resort (killpg) never reaches the caller.
        q = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            f = None
            partial = ""
            while True:
                done = q.poll() is not None
                if f is None and os.path.exists(tap):
                    f = open(tap, encoding="utf-8", errors="replace")
                if f is not None:
                    data = partial + f.read()
                    lines = data.split("\n")
                    partial = lines.pop()
                    now = time.monotonic()
                    for line in lines:
                        st.feed(line, now)
                        if echo:
                            print(line, flush=True)
                if done:
                    break
                dl = st.deadline()
                if dl is not None and time.monotonic() > dl and b.rc is None:
                    fl = st.inflight()
                    hung = (f"kernel hang: no TAP output for {time.monotonic() - st.progress:.0f} s"
                            + (f" while {', '.join(fl)} ran (timeout "
                               f"{max(timeouts.get(n, DEFAULT_TIMEOUT_S) for n in fl):g} s + "
                               f"{HANG_MARGIN_S} s)" if fl else ""))
                    _stop(q)
                    continue
                time.sleep(0.2)
            if f is not None:
                if partial:
                    st.feed(partial, time.monotonic())
                f.close()
        except BaseException:
            _stop(q)
            raise
    with open(errpath, encoding="utf-8", errors="replace") as f:
        errlines = [x.rstrip("\n") for x in f]
    console = os.path.join(bootdir, "console.log")
    b.inflight = st.inflight()
    for n in b.inflight:
        b.started[n] = st.start_time(n)
    if b.rc == util.EXIT_USAGE and not b.results:
        # What could not be checked here (-g on a foreign build) the guest's runner refused.
        b.kind, b.reason = "usage", st.runner_said or "the guest's kvmcheck-run refused its arguments"
        return b
    if b.rc is not None:
        b.kind = "ok"
        if echo:
            for x in errlines:
                util.msg(x)
        return b
    if b.kind == "no-kvm":
        if kdir.modules is None:
            # Nothing told us before the boot: built-in modules leave no trace in the image.
            b.reason += (" (no modules directory was given: use IMAGE:MODULES_DIR, or build KVM "
                         "into the kernel)")
        return b
    if hung:
        last = _last_console_line(console)
        b.reason = hung + (f"; console: {splat(console) or last}" if last else "")
        if b.results or b.inflight:
            b.kind = "hang"
        else:
            b.kind, b.reason = "boot-error", "the guest stopped before the first test started: " + b.reason
        return b
    why = [x for x in errlines if x.startswith("qemu-run.sh:")]
    why = re.sub(r"^qemu-run\.sh: ", "", why[-1]) if why else f"qemu-run.sh exited {q.returncode}"
    if q.returncode == util.EXIT_USAGE:
        b.kind, b.reason = "usage", why
        return b
    if q.returncode == util.EXIT_INTERRUPTED:
        raise KeyboardInterrupt
    if b.results or b.inflight:
        b.kind = "crash"
        b.reason = splat(console) or f"the guest stopped without a verdict: {why}"
        return b
    # Nothing had started: a crash here is the kernel's or the guest's boot, not a test's.
    b.kind, b.reason = "boot-error", why
    if b.runner_started:
        b.reason = ("the guest stopped before the first test started: "
                    + (splat(console) or why))
    for x in errlines:
        if x.startswith("  | "):
            b.reason += "\n" + x
    return b


def _merge(results, header, rc):
    lines = ["TAP version 13", header or "# kvmcheck: kernel unknown unknown, 0 tests",
             f"1..{len(results)}"]
    lines[1] = re.sub(r", \d+ tests$", f", {len(results)} tests", lines[1])
    for i, r in enumerate(results, 1):
        lines += r.block
        word = "ok" if r.ok else "not ok"
        lines.append(f"{word} {i} {r.name}" + (f" # {r.directive}" if r.directive else ""))
        if r.facts:
            lines.append(f"# kvmcheck-test: {i} {r.facts}")
    lines.append(f"# kvmcheck-exit: {rc}")
    return "\n".join(lines) + "\n"


def _crash_result(name, reason):
    return Result(name, [], False, f"CRASHED {reason}", None)


def _target_label(kdir):
    if kdir.suite == "custom":
        return "qemu:" + os.path.basename(os.path.realpath(kdir.image))
    version = kdir.version.rsplit("-", 1)[0] if "-" in kdir.version else kdir.version
    return f"qemu:{kdir.suite} {version}"


def _importer(build_dir, arch):
    if arch == os.uname().machine:
        return os.path.join(build_dir, "kvmcheck-run")
    here = os.path.join(util.TOP, "build", os.uname().machine, "kvmcheck-run")
    return here if os.access(here, os.X_OK) else None


def slow_options(config_path):
    """The SLOW_OPTIONS a kernel's .config turns on ([] when it has none or no .config)."""
    try:
        with open(config_path, encoding="utf-8", errors="replace") as f:
            on = {x.strip() for x in f if x.rstrip().endswith("=y")}
    except OSError:
        return []
    return [o for o in SLOW_OPTIONS if f"{o}=y" in on]


def _scaled_for(kdir, runner_args, timeout):
    """RUNNER_ARGS and the kernel's bound, scaled for a slow (debug) kernel unless the user
    chose a scale or a --timeout of their own."""
    # The .config a kernel directory keeps beside its modules, as Debian's packages do.
    slow = kdir.modules and slow_options(os.path.join(kdir.modules, "lib", "modules", kdir.kver,
                                                      "config"))
    args = list(runner_args)
    if not slow or SLOW_KERNEL_SCALE <= 1 or any(
            a.partition("=")[0] in ("--timeout", "--timeout-scale") for a in args):
        return args, timeout
    util.msg(f"# kvmcheck: {', '.join(o + '=y' for o in slow)}: test and subtest timeouts "
             f"and this kernel's bound x{SLOW_KERNEL_SCALE}")
    return args + ["--timeout-scale", str(SLOW_KERNEL_SCALE)], timeout * SLOW_KERNEL_SCALE


def run_on_kernel(kdir, build_dir, runner_args, *, logdir, json=None, junit=None, results=None,
                  timeout=1800, echo=True, target=None, boot_silence=None, max_boots=None,
                  modparams=()):
    """Run RUNNER_ARGS' selection of BUILD_DIR's tests on KDIR (a kernels.KernelDir) under QEMU.
    Bad input raises InputError before anything boots; KeyboardInterrupt stops QEMU and is
    raised again. Logs: LOGDIR/boot-N/ per boot, LOGDIR/tap.log the merged stream imported,
    LOGDIR/import.out, LOGDIR/runner.json, LOGDIR/console.log every boot's console."""
    t_start = time.monotonic()
    build_dir = os.path.abspath(build_dir)
    runner_args, timeout = _scaled_for(kdir, runner_args, timeout)
    sel, tests = check_inputs(build_dir, kdir.arch, runner_args, json=json, junit=junit,
                              results=results)
    if boot_silence is None:
        boot_silence = int(os.environ.get("KVMCHECK_BOOT_SILENCE", BOOT_SILENCE_S))
    if max_boots is None:
        max_boots = int(os.environ.get("KVMCHECK_MAX_BOOTS", MAX_BOOTS))
    target = target or _target_label(kdir)
    if modparams:
        target += " " + " ".join(modparams)
    os.makedirs(logdir, exist_ok=True)
    order = [n for n, _ in tests]
    timeouts = dict(tests)
    timings = {"boot_s": None, "first_test_s": None, "column_s": None, "boots": 0}

    def done(rc, status, reason, rjson=None):
        timings["column_s"] = round(time.monotonic() - t_start, 1)
        _join_consoles(logdir, timings["boots"])
        return SuiteRun(rc, status, reason, rjson, timings, logdir)

    def deadline_left():
        return timeout - (time.monotonic() - t_start)

    if sel.list_only:
        timings["boots"] = 1
        b = _boot(kdir, build_dir, list(runner_args), os.path.join(logdir, "boot-1"),
                  order=order, timeouts=timeouts, jobs=1, bound=timeout, silence=boot_silence,
                  echo=echo, modparams=modparams)
        if b.boot_s is not None:
            timings["boot_s"] = round(b.boot_s, 1)
        if b.kind == "ok":
            return done(b.rc, "ok", None)
        return done(util.EXIT_NOT_TESTED, "BOOT-ERROR", b.reason)

    merged = []           # Result, in the order they were learnt
    header = None
    pending = list(order)     # not run yet, in run order
    suspects = []             # in flight together when the kernel crashed: run alone next
    suspect_reason = None
    crashes = 0
    boot_no = 0
    while pending or suspects:
        if boot_no >= max_boots or (boot_no and deadline_left() < 30):
            why = (f"not run: the kernel crashed {crashes} times and the guest was booted "
                   f"{boot_no} times (the bound)" if boot_no >= max_boots else
                   f"not run: the {timeout} s bound for this kernel ran out after {boot_no} boots")
            merged += [_crash_result(n, f"{suspect_reason} (not run alone: {why})")
                       for n in suspects]
            merged += [Result(n, [], False, why, None)
                       for n in pending]
            break
        boot_no += 1
        timings["boots"] = boot_no
        solo = bool(suspects)
        names = list(suspects) if solo else list(pending)
        jobs = 1 if solo else sel.jobs
        args = list(runner_args) if boot_no == 1 else _args_for(names, sel, jobs)
        if boot_no > 1:
            # The initramfs is the cached base plus this boot's arguments: keep only the last.
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(logdir, f"boot-{boot_no - 1}", "initrd.gz"))
        if boot_no > 1 and echo:
            util.msg(f"# kvmcheck: booting again (boot {boot_no}, at most {max_boots}) for "
                     f"{len(names)} test(s){' one at a time' if solo else ''}: "
                     f"{' '.join(names[:8])}{' ...' if len(names) > 8 else ''}")
        b = _boot(kdir, build_dir, args, os.path.join(logdir, f"boot-{boot_no}"),
                  order=names, timeouts=timeouts, jobs=jobs, bound=deadline_left(),
                  silence=boot_silence, echo=echo, modparams=modparams)
        if b.kind == "usage":
            raise InputError(b.reason)
        if boot_no == 1 and b.boot_s is not None:
            timings["boot_s"] = round(b.boot_s, 1)
        if timings["first_test_s"] is None and b.first_result_at is not None:
            timings["first_test_s"] = round(b.first_result_at - t_start, 1)
        header = header or b.header
        got = {r.name for r in b.results}
        merged += [r for r in b.results if r.name in names]
        if b.kind in ("boot-error", "no-kvm"):
            if boot_no == 1:
                return done(util.EXIT_NOT_TESTED, "BOOT-ERROR", b.reason)
            # The kernel booted before and crashed: what is left cannot run on it.
            why = f"not run: the guest did not boot again after a kernel crash: {b.reason.splitlines()[0]}"
            merged += [_crash_result(n, suspect_reason) for n in suspects]
            merged += [Result(n, [], False, why, None)
                       for n in pending if n not in suspects]
            pending, suspects = [], []
            break
        if b.kind == "hang" and set(names) <= got:
            # Every test reported, then silence (the summary or the power-off): no test to blame.
            if echo:
                util.msg(f"# kvmcheck: every test reported, then the guest stopped answering: "
                         f"{b.reason}")
            b.kind = "ok"
        if b.kind == "ok":
            lost = [n for n in names if n not in got]
            merged += [Result(n, [], False, "not reported by the guest's runner "
                              f"(it exited {b.rc})", None)
                       for n in lost]
            if solo:
                suspects = []
                if suspect_reason:
                    # Each ran alone without crashing: the crash needs them together.
                    for r in merged:
                        if r.name in names:
                            r.ok, r.facts, r.directive = False, None, (
                                f"CRASHED {suspect_reason} (with {', '.join(names)} running "
                                f"together; none crashed alone)")
                    suspect_reason = None
            else:
                pending = []
            continue
        fl = [n for n in b.inflight if n in names]
        crashes += 1
        if not fl and b.results:
            # Between two tests: the one that just ended left the kernel broken (deferred work).
            fl = [b.results[-1].name]
            merged = [r for r in merged if r.name != fl[0]]
        if echo:
            util.msg(f"# kvmcheck: the guest kernel {'hung' if b.kind == 'hang' else 'crashed'}"
                     f" with {', '.join(fl) or 'no test'} in flight: {b.reason}")
        if solo:
            # One at a time: the one in flight is the one. The crash is explained, so the
            # other suspects go back to running with the rest, -j as asked.
            merged += [_crash_result(n, b.reason) for n in fl]
            back = {n for n in suspects if n not in got and n not in fl} | set(pending)
            pending = [n for n in order if n in back]
            suspects, suspect_reason = [], None
            continue
        pending = [n for n in pending if n not in got and n not in fl]
        if len(fl) == 1:
            merged.append(_crash_result(fl[0], b.reason))
        elif fl:
            suspects, suspect_reason = fl, b.reason
    # In the order they ended, as the runner prints them; each name once.
    seen = set()
    merged = [r for r in merged if not (r.name in seen or seen.add(r.name))]
    tap = os.path.join(logdir, "tap.log")
    failed_any = any(not r.ok for r in merged)
    util.atomic_write(tap, _merge(merged, header, 1 if failed_any else 0))
    return done(*_import(tap, build_dir, kdir.arch, logdir, target, json, junit, results, echo))


def _import(tap, build_dir, arch, logdir, target, json, junit, results, echo):
    importer = _importer(build_dir, arch)
    if importer is None:
        return (util.EXIT_NOT_TESTED, "BOOT-ERROR",
                f"no {os.uname().machine} kvmcheck-run to read the guest's stream: "
                f"make O=build/{os.uname().machine}")
    rjson = os.path.join(logdir, "runner.json")
    argv = [importer, "--import-tap", tap, "--json", rjson]
    if junit:
        argv += ["--junit", junit]
    if results:
        argv += ["--results", results]
    out = os.path.join(logdir, "import.out")
    with open(out, "w", encoding="utf-8") as f:
        p = util.run(argv, stdout=f, stderr=subprocess.PIPE, text=True,
                     stdin=subprocess.DEVNULL, env=dict(os.environ, KVMCHECK_TARGET=target))
    for x in p.stderr.splitlines():
        util.msg(x)
    if p.returncode not in (0, 1, util.EXIT_EMPTY):
        return (util.EXIT_NOT_TESTED, "BOOT-ERROR",
                f"kvmcheck-run --import-tap {tap} failed (exit {p.returncode})", None)
    if json:
        with open(rjson, encoding="utf-8") as f:
            util.atomic_write(json, f.read())
    if echo:
        with open(out, encoding="utf-8") as f:
            last = f.read().rstrip("\n").rpartition("\n")[2]
        print(last, flush=True)
    return p.returncode, "ok", None, rjson


def _join_consoles(logdir, boots):
    parts = []
    for i in range(1, boots + 1):
        c = os.path.join(logdir, f"boot-{i}", "console.log")
        with contextlib.suppress(OSError), open(c, encoding="utf-8", errors="replace") as f:
            parts.append((f"===== boot {i} =====\n" if boots > 1 else "") + f.read())
    if parts:
        util.atomic_write(os.path.join(logdir, "console.log"), "".join(parts))


def run_on_host(build_dir, runner_args, *, json=None, junit=None, results=None, logdir=None):
    """The suite on this machine's kernel: the runner itself, which refuses bad input at once."""
    t0 = time.monotonic()
    runner = os.path.join(build_dir, "kvmcheck-run")
    if logdir:
        os.makedirs(logdir, exist_ok=True)
    rjson = json or (os.path.join(logdir, "runner.json") if logdir else None)
    argv = [runner] + list(runner_args)
    for opt, val in (("--json", rjson), ("--junit", junit), ("--results", results)):
        if val:
            argv += [opt, val]
    env = dict(os.environ, KVMCHECK_TARGET=f"host {os.uname().release}")
    p = util.run(argv, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != util.EXIT_USAGE:
        for x in p.stderr.splitlines():
            util.msg(x)
    else:
        raise InputError(p.stderr.strip().splitlines()[-1] if p.stderr.strip()
                         else "kvmcheck-run refused its arguments")
    timings = {"boot_s": 0.0, "first_test_s": None,
               "column_s": round(time.monotonic() - t0, 1), "boots": 0}
    if p.returncode not in (0, 1, util.EXIT_EMPTY):
        return SuiteRun(util.EXIT_NOT_TESTED, "BOOT-ERROR", f"kvmcheck-run exited {p.returncode}",
                        None, timings, logdir or "")
    return SuiteRun(p.returncode, "ok", None, rjson, timings, logdir or "")


# --- the QEMU target of run_tests.sh ----------------------------------------------------------

def _logdir_for(build_dir, label):
    """KVMCHECK_LOGDIR, or a fresh directory next to the build tree (never in it: the build tree
    is copied into the guest), with LABEL.latest pointing at it and the newest five kept."""
    if os.environ.get("KVMCHECK_LOGDIR"):
        os.makedirs(os.environ["KVMCHECK_LOGDIR"], exist_ok=True)
        return os.environ["KVMCHECK_LOGDIR"]
    base = build_dir.rstrip("/") + ".qemu"
    os.makedirs(base, exist_ok=True)
    d = tempfile.mkdtemp(dir=base, prefix=f"{label}.")
    # The link is made in a private directory and renamed over the old one: never half there.
    scratch = tempfile.mkdtemp(dir=base, prefix=".link.")
    os.symlink(os.path.basename(d), os.path.join(scratch, "l"))
    os.replace(os.path.join(scratch, "l"), os.path.join(base, f"{label}.latest"))
    os.rmdir(scratch)
    old = sorted((p for p in os.listdir(base)
                  if p.startswith(f"{label}.") and p != f"{label}.latest"
                  and os.path.isdir(os.path.join(base, p)) and not os.path.islink(os.path.join(base, p))),
                 key=lambda p: os.path.getmtime(os.path.join(base, p)), reverse=True)
    for p in old[5:]:
        shutil.rmtree(os.path.join(base, p), ignore_errors=True)
    return d


def main(argv):
    ap = argparse.ArgumentParser(prog="kvmcheck.suite", description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", default="qemu:sid")
    ap.add_argument("--arch", default=os.uname().machine)
    ap.add_argument("--build-dir")
    ap.add_argument("--json")
    ap.add_argument("--junit")
    ap.add_argument("--results")
    ap.add_argument("--boot-silence", type=int)
    ap.add_argument("--max-boots", type=int)
    ap.add_argument("--suite", help="kvmcheck (default), upstream, upstream-full, or several")
    ap.add_argument("runner_args", nargs="*")
    a = ap.parse_args(argv)
    sys.argv[0] = "run_tests.sh"    # the command the user typed, for util.die's messages
    util.stop_on_signals()
    from kvmcheck import kernels, upstream
    build = os.path.abspath(a.build_dir or os.path.join(util.TOP, "build", a.arch))
    spec = a.target.removeprefix("qemu:") if a.target != "qemu" else "sid"
    try:
        if spec in ("bookworm", "trixie", "sid", "unstable") and a.arch == "riscv64":
            line = kernels.resolve(f"{spec}-riscv64")
        else:
            line = kernels.resolve(spec)
        if line.kind not in ("debian", "custom"):
            raise InputError(f"--target qemu:{spec}: want bookworm, trixie, sid or IMAGE[:MODULES_DIR]")
        if line.arch != a.arch:
            raise InputError(f"{spec} is a {line.arch} kernel but the build is {a.arch}: "
                             f"pass --arch {line.arch}")
        # Bad input is refused before the kernel is fetched, and again before it boots.
        suites = upstream.parse_suites(a.suite)
        with upstream.staged(build, a.arch, suites, upstream.source_for(line)) as (bdir, ub):
            if ub:
                util.msg("# " + upstream.describe(ub))
            check_inputs(bdir, a.arch, a.runner_args, json=a.json, junit=a.junit,
                         results=a.results)
            kdir = kernels.materialize(line)
            label = os.path.basename(spec.partition(":")[0])
            logdir = _logdir_for(build, label)
            r = run_on_kernel(kdir, bdir, a.runner_args, logdir=logdir, json=a.json,
                              junit=a.junit, results=a.results,
                              timeout=int(os.environ.get("KVMCHECK_QEMU_TIMEOUT", "1800")),
                              boot_silence=a.boot_silence, max_boots=a.max_boots,
                              modparams=line.params)
    except upstream.UpstreamUnavailable as e:
        util.die(util.EXIT_NOT_TESTED, str(e))
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    except kernels.KernelUnavailable as e:
        util.die(util.EXIT_NOT_TESTED, str(e))
    except KeyboardInterrupt:
        util.msg("kvmcheck.suite: interrupted; QEMU stopped")
        return util.EXIT_INTERRUPTED
    if r.status != "ok":
        util.msg(f"run_tests.sh: BOOT-ERROR: {r.reason} (logs in {r.logdir})")
    t = r.timings
    util.msg(f"# kvmcheck: {kdir.suite} {kdir.version}: boot {t.get('boot_s')} s, first verdict "
             f"{t.get('first_test_s')} s, column {t.get('column_s')} s, {t.get('boots')} boot(s)")
    return r.rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
