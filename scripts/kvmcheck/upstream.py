# SPDX-License-Identifier: GPL-2.0-only
"""The kernel's own KVM selftests (tools/testing/selftests/kvm) as kvmcheck tests.

scripts/upstream-build.sh builds them from a kernel line's own source (Debian's linux-source of
that suite, or the tree of a build: line), statically; this module chooses which (the quick set,
or every test with full=True), and stages a build directory the runner takes like its own:

    DIR/kvmcheck-run, DIR/tests.list          the runner and the test list (upstream/... names)
    DIR/<kvmcheck's own tests>                when the kvmcheck suite is selected too
    DIR/kvmcheck-upstream                     scripts/upstream-wrap.c: the protocol bridge
    DIR/upstream/REL -> ../kvmcheck-upstream  one link per upstream test (what tests.list names)
    DIR/upstream-bin/REL, REL.meta            the upstream binary and its metadata

An upstream test is judged by the runner through the bridge: exit 0 PASS, 4 SKIP, other FAIL,
the reason from its TAP or its assertion report, 120 s from upstream's settings file, the
kernel-health rules of kvmcheck's own tests. A test that did not build with this machine's
compiler is still a row: FAIL with the compiler's error.

    python3 -m kvmcheck.upstream stage --build-dir DIR --arch ARCH --source SRC [--suites S]
                                 --out DIR     prints the staged directory (S: parse_suites)
    python3 -m kvmcheck.upstream list [--arch ARCH] [--full]   the quick set (or "all")
Exit status: 0, 2 bad input (named), 3 the source could not be fetched or nothing built.
"""
import argparse
import contextlib
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from . import util
from .util import InputError

SUITE_NAMES = ("kvmcheck", "upstream")
PREFIX = "upstream/"
WRAP_SRC = os.path.join(util.SCRIPTS, "upstream-wrap.c")
BUILD_SH = os.path.join(util.SCRIPTS, "upstream-build.sh")

# The quick set: what runs in a few minutes per line under TCG and still covers each area a
# review can touch (memslots, guest_memfd, APIC, nested SVM, MSRs, SMM, PMU, Hyper-V, SEV).
# The perf and stress programs (dirty_log_perf_test, memslot_perf_test, mmu_stress_test,
# demand_paging_test, ...) run for minutes under TCG: the full set only.
QUICK = {
    "x86_64": (
        "guest_memfd_test set_memory_region_test kvm_binary_stats_test guest_print_test "
        "irqfd_test coalesced_io_test system_counter_offset_test x86/xapic_state_test "
        "x86/xapic_ipi_test x86/cpuid_test x86/set_sregs_test x86/sync_regs_test "
        "x86/userspace_io_test x86/userspace_msr_exit_test x86/platform_info_test "
        "x86/debug_regs x86/tsc_msrs_test x86/xcr0_cpuid_test x86/hwcr_msr_test "
        "x86/fix_hypercall_test x86/kvm_pv_test x86/smm_test x86/state_test "
        "x86/svm_vmcall_test x86/svm_int_ctl_test x86/nested_close_kvm_test "
        "x86/svm_nested_shutdown_test x86/private_mem_conversions_test "
        "x86/private_mem_kvm_exits_test x86/exit_on_emulation_failure_test x86/msrs_test "
        "x86/kvm_clock_test x86/monitor_mwait_test x86/hyperv_cpuid x86/vmx_msrs_test "
        "x86/triple_fault_event_test x86/sev_smoke_test x86/pmu_counters_test").split(),
    "riscv64": (
        "riscv/ebreak_test riscv/sbi_pmu_test get-reg-list guest_print_test "
        "set_memory_region_test kvm_binary_stats_test coalesced_io_test arch_timer steal_time "
        "irqfd_test").split(),
}
# Seconds of TCG the perf and stress programs take with upstream's defaults: longer than a
# quick run may; named so the full set can say why it is slow.
SLOW = ("dirty_log_perf_test", "memslot_perf_test", "mmu_stress_test", "demand_paging_test",
        "memslot_modification_stress_test", "access_tracking_perf_test", "dirty_log_test",
        "kvm_page_table_test", "rseq_test", "hardware_disable_test", "kvm_create_max_vcpus",
        "x86/nx_huge_pages_test", "x86/recalc_apic_map_test", "x86/xapic_ipi_test")

# Kernel sources -> the upstream tests that exercise them (reviewer mode: a patch touching a
# path runs these). Globs on the test name; paths as in docs/PROTOCOL.md (a directory ends '/').
AREAS = (
    (("arch/x86/kvm/lapic.c", "arch/x86/kvm/lapic.h", "arch/x86/kvm/irq.c"),
     ("x86/xapic_*", "x86/apic_bus_clock_test", "x86/recalc_apic_map_test", "x86/xapic_tpr_test")),
    (("arch/x86/kvm/ioapic.c", "arch/x86/kvm/irq_comm.c", "virt/kvm/eventfd.c"),
     ("irqfd_test", "x86/xapic_ipi_test")),
    (("virt/kvm/guest_memfd.c",),
     ("guest_memfd_test", "x86/private_mem_*", "pre_fault_memory_test")),
    (("virt/kvm/kvm_main.c",),
     ("set_memory_region_test", "kvm_binary_stats_test", "guest_memfd_test",
      "coalesced_io_test", "irqfd_test", "kvm_create_max_vcpus")),
    (("virt/kvm/coalesced_mmio.c",), ("coalesced_io_test",)),
    (("virt/kvm/dirty_ring.c", "arch/x86/kvm/mmu/"),
     ("dirty_log_test", "x86/dirty_log_page_splitting_test", "set_memory_region_test",
      "x86/private_mem_conversions_test")),
    (("arch/x86/kvm/svm/nested.c", "arch/x86/kvm/svm/svm.c"),
     ("x86/svm_*", "x86/nested_*", "x86/state_test", "x86/smm_test",
      "x86/triple_fault_event_test")),
    (("arch/x86/kvm/vmx/",), ("x86/vmx_*", "x86/nested_*", "x86/state_test")),
    (("arch/x86/kvm/svm/sev.c",), ("x86/sev_*",)),
    (("arch/x86/kvm/pmu.c", "arch/x86/kvm/svm/pmu.c", "arch/x86/kvm/vmx/pmu_intel.c"),
     ("x86/pmu_*",)),
    (("arch/x86/kvm/hyperv.c",), ("x86/hyperv_*",)),
    (("arch/x86/kvm/xen.c",), ("x86/xen_*",)),
    (("arch/x86/kvm/smm.c",), ("x86/smm_test", "x86/state_test")),
    (("arch/x86/kvm/emulate.c",),
     ("x86/exit_on_emulation_failure_test", "x86/fastops_test", "x86/userspace_io_test")),
    (("arch/x86/kvm/cpuid.c",), ("x86/cpuid_test", "x86/xcr0_cpuid_test", "x86/hyperv_cpuid")),
    (("arch/x86/kvm/x86.c",),
     ("x86/msrs_test", "x86/userspace_msr_exit_test", "x86/set_sregs_test", "x86/sync_regs_test",
      "x86/platform_info_test", "x86/tsc_msrs_test", "x86/kvm_clock_test", "x86/debug_regs",
      "x86/hwcr_msr_test", "x86/fix_hypercall_test", "x86/kvm_pv_test",
      "x86/monitor_mwait_test", "system_counter_offset_test")),
    (("arch/riscv/kvm/vcpu_sbi_pmu.c", "arch/riscv/kvm/vcpu_pmu.c"), ("riscv/sbi_pmu_test",)),
    (("arch/riscv/kvm/",), ("riscv/*", "get-reg-list", "arch_timer", "steal_time")),
)


@dataclass(frozen=True)
class Suites:
    names: tuple = ("kvmcheck",)   # in SUITE_NAMES order
    full: bool = False             # every upstream test, not the quick set

    def __contains__(self, name):
        return name in self.names

    def __str__(self):
        return " ".join(n + ("-full" if n == "upstream" and self.full else "") for n in self.names)


def parse_suites(text=None):
    """The suite selector every entry point takes: 'kvmcheck' (default), 'upstream' (the quick
    set), 'upstream-full' (every upstream test), or several ('kvmcheck upstream', commas too;
    'all' is kvmcheck and upstream). None reads $SUITES (what `make ... SUITES=...` exports).
    Anything else is InputError."""
    if text is None:
        text = os.environ.get("SUITES", "")
    words = [w for w in text.replace(",", " ").split() if w]
    if not words:
        return Suites()
    got, full = set(), False
    for w in words:
        if w == "all":
            got.update(SUITE_NAMES)
        elif w == "upstream-full":
            got.add("upstream")
            full = True
        elif w in SUITE_NAMES:
            got.add(w)
        else:
            raise InputError(f"suite '{w}': want kvmcheck, upstream, upstream-full, or several "
                             "('kvmcheck upstream')")
    return Suites(tuple(s for s in SUITE_NAMES if s in got), full)


def paths_of(rel):
    """The kernel sources an upstream test exercises (for reviewer mode and --meta)."""
    out = []
    for paths, globs in AREAS:
        if any(fnmatch.fnmatchcase(rel, g) for g in globs):
            out += [p for p in paths if p not in out]
    return out or ["virt/kvm/kvm_main.c"]


def tests_for_paths(files, available):
    """The upstream tests (of AVAILABLE, names without the prefix) a set of touched kernel
    files reaches; a selftest the series itself touches is always in."""
    want = []
    for f in files:
        if f.startswith("tools/testing/selftests/kvm/"):
            rel = f[len("tools/testing/selftests/kvm/"):].removesuffix(".c").replace("x86_64/", "x86/")
            if rel in available and rel not in want:
                want.append(rel)
            continue
        for paths, globs in AREAS:
            if any(f == p or (p.endswith("/") and f.startswith(p)) for p in paths):
                want += [t for t in available if t not in want and
                         any(fnmatch.fnmatchcase(t, g) for g in globs)]
    return want


def source_for(line):
    """The source a kernel line's upstream tests are built from: the suite's own linux-source
    for Debian lines, sid's (the source build:debian builds) for build:debian, the tree itself
    for build:TREE, sid's for the host and a user's kernel (the newest tests; say so)."""
    if line.kind == "debian":
        return line.spec
    if line.kind == "build" and line.spec != "debian":
        return line.spec
    return "sid"


class UpstreamUnavailable(Exception):
    """The upstream tests could not be fetched or built: exit 3, the message says why."""


@dataclass
class UpstreamBuild:
    path: str
    arch: str
    source: str                  # "linux-source-7.2 7.2.13-1" or "tree PATH DESCRIBE"
    built: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)     # rel -> the compiler's first error
    absent: list = field(default_factory=list)     # asked for, not in this source
    timeout: int = 120
    build_s: float = 0.0         # this call's wall time (a cached build: the look-up)


def _lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [x.rstrip("\n") for x in f if x.strip()]
    except FileNotFoundError:
        return []


def load_build(path, arch):
    b = UpstreamBuild(path=path, arch=arch, source=" ".join(_lines(os.path.join(path, "source"))))
    b.built = _lines(os.path.join(path, "built.list"))
    b.absent = _lines(os.path.join(path, "absent.list"))
    for row in _lines(os.path.join(path, "failed.tsv")):
        rel, _, err = row.partition("\t")
        b.failed[rel] = err
    for row in _lines(os.path.join(path, "settings")):
        k, _, v = row.partition("=")
        if k == "timeout" and v.isdigit() and int(v) > 0:
            b.timeout = int(v)
    return b


def build(source, arch, *, full=False, tests=None, out=None, log=None, timeout=3600):
    """The upstream tests of SOURCE (a suite or a tree) for ARCH: TESTS, else the quick set,
    else (full) every one. A tree needs OUT. Raises UpstreamUnavailable with the script's
    reason."""
    argv = [BUILD_SH, "--arch", arch]
    if tests is None and not full:
        # KVMCHECK_UPSTREAM_TESTS narrows the quick set (make check builds two or three).
        tests = os.environ.get("KVMCHECK_UPSTREAM_TESTS", "").split() or QUICK[arch]
    if tests:
        argv += ["--tests", " ".join(tests)]
    if out:
        argv += ["--out", out]
    argv.append(source)
    t0 = time.monotonic()
    try:
        p = util.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                     timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise UpstreamUnavailable(f"upstream-build.sh {source} took more than {timeout} s") from None
    if log:
        util.atomic_write(log, p.stderr)
    if p.returncode == 2:
        raise InputError(_last(p.stderr) or f"upstream-build.sh refused {source}")
    if p.returncode != 0 or not p.stdout.strip():
        raise UpstreamUnavailable(_last(p.stderr) or f"upstream-build.sh exited {p.returncode}")
    ub = load_build(p.stdout.strip().splitlines()[-1], arch)
    ub.build_s = round(time.monotonic() - t0, 1)
    return ub


def _last(text):
    lines = [x for x in (text or "").splitlines() if x.strip()]
    return lines[-1][:400] if lines else ""


def _cc(arch):
    return "gcc" if arch == os.uname().machine else f"{arch}-linux-gnu-gcc"


def compile_wrapper(build_dir, arch, dest):
    """scripts/upstream-wrap.c linked with the build's own harness library (libkvmcheck.a),
    static, for ARCH. Raises UpstreamUnavailable when it does not build."""
    lib = os.path.join(build_dir, "libkvmcheck.a")
    if not os.path.isfile(lib):
        raise InputError(f"{build_dir} has no libkvmcheck.a: not a kvmcheck build (make O={build_dir})")
    # The Makefile's flags: a reason is cut to fit its one-line buffer on purpose.
    argv = [_cc(arch), "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
            "-Wno-format-truncation", "-fno-pie", "-I" + os.path.join(util.TOP, "include"),
            "-I" + os.path.join(util.TOP, "include", arch), "-static", "-no-pie",
            "-o", dest, WRAP_SRC, lib, "-lpthread"]
    try:
        p = util.run(argv, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise UpstreamUnavailable(f"no {argv[0]} to build the upstream bridge") from None
    if p.returncode != 0:
        errs = [x for x in p.stderr.splitlines() if "error" in x] or [_last(p.stderr)]
        raise UpstreamUnavailable(f"the upstream bridge did not build: {errs[0][:300]}")


def _one_line(text):
    return " ".join((text or "").split())


def _place(src, dst):
    """A hard link where the cache and the stage share a filesystem, else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def stage(build_dir, arch, suites, ub, dest):
    """The runner's build directory for SUITES in DEST (empty or absent): kvmcheck's own tests
    when selected, UB's upstream tests when selected. Returns DEST."""
    if not os.path.isfile(os.path.join(build_dir, "tests.list")) or \
            not os.access(os.path.join(build_dir, "kvmcheck-run"), os.X_OK):
        raise InputError(f"{build_dir} is not a kvmcheck build (no kvmcheck-run or tests.list)")
    os.makedirs(dest, exist_ok=True)
    names = []
    _place(os.path.join(build_dir, "kvmcheck-run"), os.path.join(dest, "kvmcheck-run"))
    if "kvmcheck" in suites:
        for name in _lines(os.path.join(build_dir, "tests.list")):
            src = os.path.join(build_dir, name)
            os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
            _place(src, os.path.join(dest, name))
            names.append(name)
    if "upstream" in suites and ub is not None:
        compile_wrapper(build_dir, arch, os.path.join(dest, "kvmcheck-upstream"))
        quick = set(QUICK.get(arch, ()))
        for rel in sorted(set(ub.built) | set(ub.failed)):
            link = os.path.join(dest, "upstream", rel)
            binp = os.path.join(dest, "upstream-bin", rel)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.makedirs(os.path.dirname(binp), exist_ok=True)
            os.symlink(os.path.relpath(os.path.join(dest, "kvmcheck-upstream"),
                                       os.path.dirname(link)), link)
            groups = ["upstream", "quick" if rel in quick else "full"]
            if rel in SLOW:
                groups.append("slow")
            meta = [f"summary=upstream KVM selftest {rel} ({ub.source})",
                    f"groups={','.join(groups)}", f"timeout={ub.timeout}",
                    f"paths={','.join(paths_of(rel))}"]
            if rel in ub.built:
                _place(os.path.join(ub.path, "bin", rel), binp)
            else:
                meta.append(f"build_error={_one_line(ub.failed[rel])}")
            util.atomic_write(binp + ".meta", "\n".join(meta) + "\n")
            names.append(PREFIX + rel)
    if not names:
        raise InputError("the selected suites hold no test")
    util.atomic_write(os.path.join(dest, "tests.list"), "\n".join(names) + "\n")
    return dest


@contextlib.contextmanager
def staged(build_dir, arch, suites, source, *, tests=None, parent=None, log=None,
           tree_out=None):
    """stage() in a fresh directory under PARENT (default: beside the build), removed when the
    block ends; yields (path, UpstreamBuild or None). Only kvmcheck selected: the build itself."""
    suites = suites or Suites()     # a caller's Options made without a selector: kvmcheck
    if "upstream" not in suites:
        yield build_dir, None
        return
    if os.path.isdir(source) and not tree_out:
        tree_out = tempfile.mkdtemp(prefix="upstream-tree.", dir=parent or os.path.dirname(
            os.path.abspath(build_dir)))
        own_tree_out = True
    else:
        own_tree_out = False
    d = None
    try:
        ub = build(source, arch, full=suites.full, tests=tests, log=log,
                   out=os.path.join(tree_out, "build") if tree_out else None)
        d = tempfile.mkdtemp(prefix=f".stage-{arch}.", dir=parent or os.path.dirname(
            os.path.abspath(build_dir)))
        os.chmod(d, 0o755)
        stage(build_dir, arch, suites, ub, d)
        yield d, ub
    finally:
        if d:
            shutil.rmtree(d, ignore_errors=True)
        if own_tree_out:
            shutil.rmtree(tree_out, ignore_errors=True)


def source_of_tree(tree, suite=None):
    """bisect and review: a tree's own selftests when it has them, else the suite its kernel
    came from (a KVMCHECK_KERNEL hook naming a Debian kernel), else sid's."""
    if os.path.isfile(os.path.join(tree, "tools", "testing", "selftests", "kvm", "Makefile")):
        return tree
    return suite if suite in ("bookworm", "trixie", "sid") else "sid"


def stage_one(build_dir, arch, source, test, work):
    """bisect: the one upstream test TEST (upstream/REL[:SUB]) built from SOURCE and staged in
    WORK; returns the staged build dir. A test this commit lacks or cannot build raises
    UpstreamUnavailable: the commit cannot say good or bad."""
    rel = test.partition(":")[0].removeprefix(PREFIX)
    tree = os.path.isdir(source)
    try:
        ub = build(source, arch, tests=[rel],
                   out=os.path.join(work, "upstream-build") if tree else None,
                   log=os.path.join(work, "upstream-build.log"))
    except InputError as e:
        raise UpstreamUnavailable(str(e)) from None
    if rel in ub.absent or (rel not in ub.built and rel not in ub.failed):
        raise UpstreamUnavailable(f"{ub.source} has no upstream test {rel}")
    if rel in ub.failed:
        raise UpstreamUnavailable(f"upstream/{rel} did not build: {ub.failed[rel]}")
    return stage(build_dir, arch, Suites(("upstream",)), ub, os.path.join(work, "stage"))


def available(tree, arch):
    """The upstream tests TREE's Makefile lists for ARCH (names as in this package: x86/...),
    read from its TEST_GEN_PROGS lines without running make: enough to match paths."""
    kvm = os.path.join(tree, "tools", "testing", "selftests", "kvm")
    want = {"x86_64": ("COMMON", "x86", "x86_64"), "riscv64": ("COMMON", "riscv")}[arch]
    out = []
    for name in ("Makefile.kvm", "Makefile"):
        try:
            with open(os.path.join(kvm, name), encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        for m in re.finditer(r"^TEST_GEN_PROGS_([A-Za-z0-9_]+)\s*\+?=\s*(\S+)\s*$", text, re.M):
            rel = m.group(2).replace("x86_64/", "x86/")
            if m.group(1) in want and not rel.startswith("$") and rel not in out:
                out.append(rel)
    return out


def review_tests(plist, tree, arch):
    """Reviewer mode: the upstream tests of ARCH's patches in PLIST (applied kernel patches),
    chosen by the paths each touches and, always, the selftests the series adds or changes.
    Each patch gets a patches.Hit per test (how it was chosen); returns the prefixed names.
    TREE is the after tree: a selftest the series adds is only there."""
    from .patches import Hit
    avail = available(tree, arch)
    chosen = []
    for p in plist:
        if p.kind != "kernel" or p.arch != arch or not (p.apply or {}).get("ok"):
            continue
        own = [f for f in p.files if f.startswith("tools/testing/selftests/kvm/")]
        for rel in tests_for_paths(p.files, avail):
            touched = any(f.removesuffix(".c").replace("x86_64/", "x86/").endswith("/kvm/" + rel)
                          for f in own)
            how = "the series' own selftest" if touched else "upstream, by path"
            name = PREFIX + rel
            if not any(h.test == name for h in p.tests):
                p.tests.append(Hit(name, arch, how))
            if name not in chosen:
                chosen.append(name)
    # A selftest added by one patch and fixed by another: the fix's patch claims it too.
    own_all = [h.test for p in plist for h in p.tests if h.how == "the series' own selftest"]
    for p in plist:
        if p.kind == "kernel" and p.arch == arch and (p.apply or {}).get("ok") and \
                not any(f.startswith("tools/testing/selftests/") for f in p.files):
            for name in own_all:
                if not any(h.test == name for h in p.tests):
                    p.tests.append(Hit(name, arch, "the series' own selftest"))
    return chosen


def after_tree(src, series_dir, dest, copy_lock=None):
    """The series applied to a hard-linked copy of SRC in DEST: patch(1) writes each file it
    changes anew (a fresh inode), so SRC itself is never written. COPY_LOCK (a callable giving
    a context manager) is held while SRC is read: kernel-build.sh applies a series in the
    source tree itself, under that tree's lock. Returns DEST, or raises UpstreamUnavailable
    with patch's reason."""
    with (copy_lock or contextlib.nullcontext)():
        p = util.run(["cp", "-al", src, dest], capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            shutil.rmtree(dest, ignore_errors=True)
            p = util.run(["cp", "-a", src, dest], capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        raise UpstreamUnavailable(f"cannot copy {src}: {_last(p.stderr)}")
    for name in sorted(os.listdir(series_dir)):
        with open(os.path.join(series_dir, name), "rb") as f:
            p = util.run(["patch", "-p1", "-f", "-N", "--no-backup-if-mismatch", "-r", "-",
                          "-d", dest], stdin=f, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise UpstreamUnavailable(f"{name} does not apply to the copy: {_last(p.stdout)}")
    return dest


@dataclass
class ReviewStage:
    path: str                    # the staged build dir the review runs on both kernels
    tests: list                  # the upstream test names chosen (prefixed)
    ub: UpstreamBuild


def review_stage(src, series_dir, arch, plist, build_dir, suites, work, copy_lock=None):
    """Reviewer mode: the series applied to a copy of SRC, the chosen upstream tests built from
    that after tree (a selftest the series adds exists only there; the same binaries run on the
    before and the after kernel, so "fails before, passes after" is the series' own proof),
    staged with kvmcheck's tests when selected. SERIES_DIR holds what makes the after tree, in
    name order (a base series first, when the review has one). None when no upstream test is
    chosen."""
    tree = after_tree(src, series_dir, os.path.join(work, f"after-src-{arch}"), copy_lock)
    try:
        names = review_tests(plist, tree, arch)
        if not names:
            return None
        ub = build(tree, arch, tests=[n.removeprefix(PREFIX) for n in names],
                   out=os.path.join(work, f"upstream-build-{arch}"),
                   log=os.path.join(work, f"upstream-build-{arch}.log"))
        # The copy is gone once the review ends: name what it was, not where it lay.
        ub.source = f"the after tree ({src} + {len(os.listdir(series_dir))} patches)"
        path = stage(build_dir, arch, suites, ub, os.path.join(work, f"stage-{arch}"))
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    return ReviewStage(path, names, ub)


def describe(ub):
    """One line for the progress messages and the note: which source, what built."""
    if ub is None:
        return ""
    s = f"upstream tests from {ub.source}: {len(ub.built)} built"
    if ub.failed:
        s += f", {len(ub.failed)} did not build ({', '.join(sorted(ub.failed)[:4])})"
    if ub.absent:
        s += f", {len(ub.absent)} not in this source"
    return s


@dataclass
class LineCounts:
    """One matrix column's upstream tests, counted for the note and bench/."""
    line: str
    source: str = ""
    built: int = 0
    build_failed: int = 0
    run: int = 0
    passing: int = 0
    skipping: int = 0
    failing: int = 0
    skips: dict = field(default_factory=dict)      # reason -> count
    fails: dict = field(default_factory=dict)      # test -> reason
    timings: dict = field(default_factory=dict)


def count_column(col):
    """LineCounts of a matrix column dict (matrix-LINE.json's kernels[i])."""
    from .results import parse_run
    up = col.get("upstream") or {}
    c = LineCounts(col.get("line", "?"), up.get("source", ""), up.get("built", 0),
                   len(up.get("failed") or {}))
    c.timings = dict(col.get("timings") or {})
    if "build_s" in up:
        c.timings["upstream_build_s"] = up["build_s"]
    if not col.get("runner"):
        return c
    for t in parse_run(col["runner"], col.get("line", "?")).tests:
        if not t.name.startswith(PREFIX):
            continue
        c.run += 1
        why = t.reason or next((x.reason for x in t.subtests if x.reason), None) or ""
        if t.verdict == "PASS":
            c.passing += 1
        elif t.verdict == "SKIP":
            c.skipping += 1
            c.skips[why] = c.skips.get(why, 0) + 1
        else:
            c.failing += 1
            c.fails[t.name] = f"{t.verdict}: {why}"
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(prog="kvmcheck.upstream", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("stage")
    st.add_argument("--build-dir", required=True)
    st.add_argument("--arch", default=os.uname().machine)
    st.add_argument("--source", default="sid")
    st.add_argument("--suites", default="upstream")
    st.add_argument("--out", required=True)
    sm = sub.add_parser("summary", help="name=value lines of matrix shards' upstream tests")
    sm.add_argument("files", nargs="+")
    ls = sub.add_parser("list")
    ls.add_argument("--arch", default=os.uname().machine)
    ls.add_argument("--full", action="store_true")
    a = ap.parse_args(argv)
    try:
        if a.cmd in ("list", "stage") and a.arch not in QUICK:
            raise InputError(f"--arch {a.arch}: x86_64 or riscv64")
        if a.cmd == "summary":
            from .results import read_json
            for path in a.files:
                for col in read_json(path).get("kernels", []):
                    c = count_column(col)
                    n = f"upstream_{c.line.replace('-', '_')}"
                    print(f"{n}_source={c.source}")
                    for k in ("built", "build_failed", "run", "passing", "skipping", "failing"):
                        print(f"{n}_{k}={getattr(c, k)}")
                    for i, (why, k) in enumerate(sorted(c.skips.items(), key=lambda x: -x[1])):
                        print(f"{n}_skip_{i}={k} {why}")
                    for name, why in sorted(c.fails.items()):
                        print(f"{n}_fail_{name.removeprefix(PREFIX).replace('/', '_')}={why}")
                    for k, v in sorted(c.timings.items()):
                        print(f"{n}_{k}={v}")
            return 0
        if a.cmd == "list":
            print("all" if a.full else "\n".join(QUICK[a.arch]))
            return 0
        suites = parse_suites(a.suites)
        if os.path.exists(a.out) and os.listdir(a.out):
            raise InputError(f"--out {a.out}: not empty")
        ub = None
        # A tree's build is no cache entry: its binaries are linked into the stage, then it goes.
        tree_out = a.out.rstrip("/") + ".upstream-build" if os.path.isdir(a.source) else None
        try:
            if "upstream" in suites:
                ub = build(a.source, a.arch, full=suites.full, out=tree_out)
                util.msg("# " + describe(ub))
            print(stage(os.path.abspath(a.build_dir), a.arch, suites, ub, a.out))
        finally:
            if tree_out:
                shutil.rmtree(tree_out, ignore_errors=True)
        return 0
    except InputError as e:
        util.die(util.EXIT_USAGE, str(e))
    except UpstreamUnavailable as e:
        util.die(util.EXIT_NOT_TESTED, str(e))
    except KeyboardInterrupt:
        return util.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
