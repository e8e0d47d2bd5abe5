# SPDX-License-Identifier: GPL-2.0-only
"""The kernel-log scanner the harness runs around every subtest (lib/host_kernel.c,
kc_log_scan_record): canned kernel logs of each kind of report it must catch, the task each
report names (the harness attributes reports by it), and boot and runtime noise that must not
match. The scanner is linked from the build's libkvmcheck.a into a small driver compiled here."""
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("KVMCHECK_BUILD", TOP / "build" / "x86_64"))

# Reads records, one a line (a /dev/kmsg record's own newline is written as \n here), prints
# one line per report: pid, comm, text, tab separated; then "more N".
DRIVER = r"""
#include <stdio.h>
#include <string.h>
#include "kvmcheck/host_kernel.h"

int main(void)
{
	struct kc_log_scan s;
	char line[4096];

	kc_log_scan_init(&s);
	while (fgets(line, sizeof(line), stdin))
		kc_log_scan_record(&s, line);
	for (int i = 0; i < s.nsplats; i++)
		printf("%d\t%s\t%s\n", (int)s.splats[i].pid, s.splats[i].comm, s.splats[i].text);
	printf("more %lu\n", s.more);
	return 0;
}
"""

KASAN_UAF = """\
[  101.234567] ==================================================================
[  101.234601] BUG: KASAN: slab-use-after-free in wake_up_process+0x1c/0x40
[  101.234640] Read of size 4 at addr ffff888104c3a0b8 by task vhost_task_life/812
[  101.234650]
[  101.234671] CPU: 1 UID: 0 PID: 812 Comm: vhost_task_life Not tainted 7.2.13-kasan #1
[  101.234690] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.3 04/01/2014
[  101.234700] Call Trace:
[  101.234710]  <TASK>
[  101.234720]  dump_stack_lvl+0x5d/0x80
[  101.234730]  print_report+0xce/0x610
[  101.234740]  ? wake_up_process+0x1c/0x40
[  101.234750]  kasan_report+0xbe/0xf0
[  101.234760]  vhost_task_wake+0x15/0x20
[  101.234770]  </TASK>
[  101.234780]
[  101.234790] Allocated by task 790:
[  101.234800] Freed by task 0:
[  101.234810] ==================================================================
"""

LOCKDEP = """\
[   55.100000] ======================================================
[   55.100001] WARNING: possible circular locking dependency detected
[   55.100002] 7.2.13-debug #1 Not tainted
[   55.100003] ------------------------------------------------------
[   55.100004] directed_eoi/433 is trying to acquire lock:
[   55.100005] ffff88810a3c8b28 (&kvm->lock){+.+.}-{4:4}, at: kvm_vm_ioctl+0x8e/0x1a0 [kvm]
[   55.100006]
[   55.100007] but task is already holding lock:
[   55.100008] ffff88810a3c9f70 (&kvm->slots_lock){+.+.}-{4:4}, at: kvm_set_memory+0x2e/0x60 [kvm]
[   55.100009]
[   55.100010] which lock already depends on the new lock.
"""

REFCOUNT = """\
[   77.000001] ------------[ cut here ]------------
[   77.000002] refcount_t: underflow; use-after-free.
[   77.000003] WARNING: CPU: 0 PID: 519 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110
[   77.000004] Modules linked in: vhost_net vhost tap kvm_amd kvm
[   77.000005] CPU: 0 UID: 0 PID: 519 Comm: kworker/0:2 Not tainted 7.2.13 #1
[   77.000006] Workqueue: events kvm_async_pf_execute [kvm]
[   77.000007] RIP: 0010:refcount_warn_saturate+0xba/0x110
[   77.000008] Code: 01 01 e8 a5 22 9a ff 0f 0b c3 cc cc cc cc 80 3d 8f
[   77.000009] RSP: 0018:ffffc90000ab7e08 EFLAGS: 00010286
[   77.000010] RAX: 0000000000000000 RBX: ffff88810b3a4000 RCX: 0000000000000000
[   77.000011] R10: 0000000000000001 R11: 0000000000000001 R12: ffff88810b3a4000
[   77.000012] ---[ end trace 0000000000000000 ]---
"""

RCU_STALL = """\
[  300.000001] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[  300.000002] rcu: 	1-...!: (0 ticks this GP) idle=1f4c/1/0x4000000000000000 softirq=5571/5571 fqs=0
[  300.000003] rcu: 	(detected by 0, t=21002 jiffies, g=9897, q=283 ncpus=2)
[  300.000004] Sending NMI from CPU 0 to CPUs 1:
"""

SUSPICIOUS_RCU = """\
[   12.000001] =============================
[   12.000002] WARNING: suspicious RCU usage
[   12.000003] 7.2.13-debug #1 Not tainted
[   12.000004] -----------------------------
[   12.000005] arch/x86/kvm/x86.c:9123 suspicious rcu_dereference_check() usage!
[   12.000006]
[   12.000007] other info that might help us debug this:
[   12.000008] 1 lock held by pio_mmio/301:
"""

UBSAN = """\
[   40.000001] ------------[ cut here ]------------
[   40.000002] UBSAN: array-index-out-of-bounds in arch/x86/kvm/lapic.c:2345:13
[   40.000003] index 256 is out of range for type 'u32 [256]'
[   40.000004] CPU: 1 UID: 0 PID: 377 Comm: directed_eoi Not tainted 7.2.13 #1
"""

OOPS = """\
[   90.000001] Oops: general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] SMP KASAN NOPTI
[   90.000002] KASAN: null-ptr-deref in range [0x0000000000000018-0x000000000000001f]
[   90.000003] CPU: 1 UID: 0 PID: 42 Comm: vhost-41 Not tainted 7.2.13 #1
[   90.000004] RIP: 0010:vhost_task_wake+0x12/0x30
"""

HUNG = """\
[  245.000001] INFO: task kvm-nx-lpage-re:610 blocked for more than 120 seconds.
[  245.000002]       Not tainted 7.2.13 #1
[  245.000003] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
"""

SOFT_LOCKUP = """\
[  500.000001] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [vsock_kick:1234]
[  500.000002] Modules linked in: vhost_vsock
"""

# Lines a healthy kernel prints at boot or while the suite runs.
NOISE = """\
[    0.000000] Linux version 7.2.13+deb14-amd64 (debian-kernel@lists.debian.org)
[    0.101000] RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!
[    0.102000] Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via Spectre v2 BHB attacks!
[    0.200000] ACPI BIOS Error (bug): Could not resolve symbol [\\_SB.PCI0.S08.PCNT], AE_NOT_FOUND (20240827/psargs-330)
[    1.500000] clocksource: timekeeping watchdog on CPU0: Marking clocksource 'tsc' as unstable because the skew is too large:
[    2.000000] kvm_amd: TSC scaling supported
[    2.000100] kvm_amd: Nested Virtualization enabled
[    3.000000] traps: pio_mmio[300] general protection fault ip:401234 sp:7ffd1234 error:0 in pio_mmio[401000+80000]
[    3.100000] ucall[301]: segfault at 0 ip 0000000000401000 sp 00007ffc00000000 error 4 in ucall[401000,+1000]
[    4.000000] kvm [302]: vcpu0, guest rIP: 0x1000 Unhandled WRMSR(0xc0010117) = 0x1
[    5.000000] audit: type=1400 audit(1700000000.000:2): apparmor="STATUS"
[    6.000000] workqueue: vmstat_shepherd hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND
[    7.000000] hrtimer: interrupt took 1234567 ns
[    8.000000] x86/split lock detection: #AC: crashing the kernel on kernel split_locks and warning on user-space split_locks
"""


def driver():
    lib = BUILD / "libkvmcheck.a"
    if not lib.exists():
        raise unittest.SkipTest("no %s: build first (make O=...)" % lib)
    if not shutil.which("gcc"):
        raise unittest.SkipTest("needs gcc")
    return lib


class TestLogScanner(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lib = driver()
        cls.tmp = tempfile.TemporaryDirectory(prefix="kvmcheck-health-")
        src = Path(cls.tmp.name) / "scan.c"
        src.write_text(DRIVER)
        cls.exe = Path(cls.tmp.name) / "scan"
        arch = "riscv64" if "riscv" in str(BUILD) else "x86_64"
        subprocess.run(["gcc", "-std=gnu11", "-O1", "-Wall", "-Werror", "-D_GNU_SOURCE",
                        "-static", "-no-pie",
                        "-I", str(TOP / "include"), "-I", str(TOP / "include" / arch),
                        str(src), str(lib), "-o", str(cls.exe)], check=True, timeout=120)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def scan(self, log):
        out = subprocess.run([str(self.exe)], input=log, capture_output=True, text=True,
                             timeout=10, check=True).stdout.splitlines()
        self.assertTrue(out[-1].startswith("more "), out)
        reports = [tuple(l.split("\t", 2)) for l in out[:-1]]
        return [(int(p), c, t) for p, c, t in reports], int(out[-1].split()[1])

    def one(self, log):
        reports, more = self.scan(log)
        self.assertEqual(len(reports), 1, reports)
        self.assertEqual(more, 0)
        return reports[0]

    def test_kasan_use_after_free(self):
        pid, comm, text = self.one(KASAN_UAF)
        self.assertEqual((pid, comm), (812, "vhost_task_life"))
        self.assertTrue(text.startswith(
            "BUG: KASAN: slab-use-after-free in wake_up_process+0x1c/0x40 | Read of size 4"),
            text)
        # Filler (the CPU line, Hardware name, the call trace) never takes a reason's room.
        self.assertNotIn("Hardware", text)
        self.assertNotIn("dump_stack", text)

    def test_lockdep_circular(self):
        pid, comm, text = self.one(LOCKDEP)
        self.assertEqual((pid, comm), (433, "directed_eoi"))
        self.assertTrue(text.startswith("WARNING: possible circular locking dependency "
                                        "detected | directed_eoi/433 is trying"), text)

    def test_refcount_underflow_is_one_report_with_its_warning(self):
        pid, comm, text = self.one(REFCOUNT)
        self.assertEqual((pid, comm), (519, "kworker/0:2"))
        self.assertEqual(text.split(" | ")[:3], [
            "refcount_t: underflow; use-after-free.",
            "WARNING: CPU: 0 PID: 519 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110",
            "RIP: 0010:refcount_warn_saturate+0xba/0x110"])

    def test_rcu_stall_names_no_task(self):
        pid, comm, text = self.one(RCU_STALL)
        self.assertEqual((pid, comm), (0, ""))
        self.assertTrue(text.startswith("rcu: INFO: rcu_preempt detected stalls"), text)

    def test_suspicious_rcu_usage(self):
        pid, comm, text = self.one(SUSPICIOUS_RCU)
        self.assertEqual((pid, comm), (301, "pio_mmio"))
        self.assertIn("arch/x86/kvm/x86.c:9123 suspicious rcu_dereference_check()", text)

    def test_ubsan(self):
        pid, comm, text = self.one(UBSAN)
        self.assertEqual((pid, comm), (377, "directed_eoi"))
        self.assertTrue(text.startswith("UBSAN: array-index-out-of-bounds in "
                                        "arch/x86/kvm/lapic.c:2345:13 | index 256"), text)

    def test_oops_in_a_vhost_worker(self):
        pid, comm, text = self.one(OOPS)
        self.assertEqual((pid, comm), (42, "vhost-41"))
        self.assertIn("KASAN: null-ptr-deref", text)
        self.assertIn("RIP: 0010:vhost_task_wake", text)

    def test_hung_task_and_soft_lockup(self):
        self.assertEqual(self.one(HUNG)[:2], (610, "kvm-nx-lpage-re"))
        self.assertNotIn("hung_task_timeout_secs", self.one(HUNG)[2])
        self.assertEqual(self.one(SOFT_LOCKUP)[:2], (1234, "vsock_kick"))

    def test_noise_does_not_match(self):
        self.assertEqual(self.scan(NOISE), ([], 0))

    def test_reports_among_noise_are_counted_apart(self):
        reports, more = self.scan(NOISE + KASAN_UAF + NOISE + REFCOUNT + RCU_STALL + UBSAN
                                  + HUNG + NOISE)
        self.assertEqual([r[1] for r in reports],
                         ["vhost_task_life", "kworker/0:2", "", "directed_eoi"])
        self.assertEqual(more, 1)

    def test_kmsg_records(self):
        # /dev/kmsg: "prio,seq,usec,flags;text", a record's inner newlines as \x0a, and
        # dictionary lines after it. Facility 1 (prio >> 3) is user space: not the kernel's,
        # unless it carries the harness self-checks' tag.
        log = ("4,900,77000001,-;------------[ cut here ]------------\n"
               "4,901,77000002,-;WARNING: CPU: 1 PID: 55 at arch/x86/kvm/x86.c:10 f+0x1/0x2"
               "\\x0aCPU: 1 UID: 0 PID: 55 Comm: pio_mmio Not tainted\n"
               " SUBSYSTEM=cpu\n"
               "12,902,77000003,-;BUG: this is a user writing to /dev/kmsg\n"
               "12,903,77000004,-;kvmcheck-fault: BUG: synthetic from a self-check\n")
        reports, _ = self.scan(log)
        self.assertEqual(reports, [
            (55, "pio_mmio", "WARNING: CPU: 1 PID: 55 at arch/x86/kvm/x86.c:10 f+0x1/0x2"),
            (0, "", "BUG: synthetic from a self-check")])


if __name__ == "__main__":
    unittest.main()
