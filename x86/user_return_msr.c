// SPDX-License-Identifier: GPL-2.0-only
/*
 * User-return MSRs: values a guest writes to MSRs that KVM switches lazily (restored only when
 * the host thread returns to userspace) never reach the host's userspace.
 *
 * Patch: "KVM: x86: Add helper to retrieve cached value of user return MSR" (Hou Wenlong), 1/2
 * of a series. It adds kvm_get_user_return_msr(), the per-CPU cached "curr" value that KVM keeps
 * for every user-return MSR (arch/x86/kvm/x86.c: kvm_set_user_return_msr() writes the MSR and
 * records it, kvm_on_user_return() writes the host value back when it differs). Patch 2/2 (not
 * in the digest, which only shows 1/2) makes SEV-ES guests on CPUs with V_TSC_AUX fill the host
 * save area's TSC_AUX from that cached value instead of RDMSR (7.2:
 * arch/x86/kvm/svm/sev.c, sev_es_prepare_switch_to_guest(): hostsa->tsc_aux =
 * kvm_get_user_return_msr(tsc_aux_uret_slot)); the CPU loads it on #VMEXIT. Both rely on one
 * invariant, which is what this test checks from userspace:
 *
 *  - Linux keeps (node << 12) | cpu in TSC_AUX on every CPU (setup_getcpu(), when the CPU has
 *    RDTSCP or RDPID), so RDPID/RDTSCP in the VMM thread must equal what getcpu() says, after
 *    every KVM_RUN, whatever the guest wrote to TSC_AUX (SVM switches TSC_AUX through the
 *    user-return slot, svm_set_msr()/svm_prepare_switch_to_guest(); VMX through its uret list).
 *  - The same holds after the VMM thread moves to another host CPU between exits, and for other
 *    tasks on the CPUs the vCPU ran on (the pending notifier follows the CPU, not the task:
 *    TIF_USER_RETURN_NOTIFY is propagated at context switch) - a witness thread pinned to each
 *    CPU checks that while the guest keeps the MSR dirty.
 *  - STAR, LSTAR, CSTAR and SYSCALL_MASK written by a 64-bit guest with EFER.SCE (VMX switches
 *    them as user-return MSRs when load_syscall_msrs, vmx.c vmx_setup_uret_msrs(); SVM through
 *    VMLOAD/VMSAVE of the host save area): the VMM thread keeps making system calls between
 *    exits, which would jump to the guest's LSTAR (an address in the non-canonical-adjacent
 *    guard hole) if the host value were not back.
 *  - The guest reads its own value back each time (RDMSR, and RDTSCP/RDPID where its CPUID has
 *    them), and KVM_GET_MSRS returns the guest's value, not the host's.
 * Where TSC_AUX is touched by the guest: only when KVM_GET_SUPPORTED_CPUID offers RDTSCP or
 * RDPID (x86.c kvm_set_msr_common(): otherwise a guest WRMSR faults, by design).
 *
 * Patch 1/2 itself changes no visible behaviour for non-SEV-ES guests (it only adds the helper;
 * the cached value equals the hardware value), so no kernel "lacking" it fails here; SEV-ES with
 * V_TSC_AUX (patch 2/2) needs an SEV-ES host and KVM_SEV_INIT2, which this suite does not launch.
 * What fails here is a broken rule above, such as a host value never written back or a guest
 * TSC_AUX never loaded. kvm_pvm's KVM_GET_SUPPORTED_CPUID offers neither RDTSCP nor RDPID, so its
 * guests cannot own TSC_AUX and tsc_aux_restored_on_exit skips there.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "x86_64/x86_vm.h"

#define NR_EXITS		256	/* guest writes and host checks per subtest */
#define NR_MIGRATIONS		128
#define MAX_WITNESS_CPUS	8
#define WITNESS_MAX_ITERS	2000000UL

/* Guest configuration, one bit each. */
#define G_TSC_AUX	(1UL << 0)	/* write/read TSC_AUX */
#define G_RDTSCP	(1UL << 1)	/* the vCPU's CPUID has RDTSCP */
#define G_RDPID		(1UL << 2)	/* ... RDPID */
#define G_SYSCALL_MSRS	(1UL << 3)	/* write/read STAR, LSTAR, CSTAR, SYSCALL_MASK */

/* Guest values: none can be a host's (node << 12 | cpu) for a machine this suite runs on. */
#define GUEST_AUX(i)	(0x7a5a0000U + (uint32_t)(i))
#define GUEST_STAR(i)	(0x0023001000000000ULL + ((uint64_t)(i) & 0xffff))
/* In x86_64's guard hole below the direct map: a host that jumped here would crash loudly. */
#define GUEST_LSTAR(i)	(0xffff800000a00000ULL + ((uint64_t)(i) << 12))
#define GUEST_CSTAR(i)	(0xffff800000c00000ULL + ((uint64_t)(i) << 12))
#define GUEST_SFMASK(i)	(0x00000300U + ((uint32_t)(i) & 0xff))

/* ---- guest ---- */

static void guest_code(uint64_t cfg, uint64_t iters)
{
	uint64_t efer, v;

	if (cfg & G_SYSCALL_MSRS) {
		/* VMX loads the syscall MSRs for the guest only with EFER.SCE in long mode. */
		GUEST_ASSERT_EQ(rdmsr_safe(MSR_EFER, &efer), 0);
		GUEST_ASSERT_EQ(wrmsr_safe(MSR_EFER, efer | EFER_SCE), 0);
	}
	for (uint64_t i = 0; i < iters; i++) {
		uint32_t aux = 0;

		if (cfg & G_TSC_AUX) {
			GUEST_ASSERT_EQ(wrmsr_safe(MSR_TSC_AUX, GUEST_AUX(i)), 0);
			GUEST_ASSERT_EQ(rdmsr_safe(MSR_TSC_AUX, &v), 0);
			GUEST_ASSERT_EQ(v, GUEST_AUX(i));
			if (cfg & G_RDTSCP) {
				rdtscp(&aux);
				GUEST_ASSERT_EQ(aux, GUEST_AUX(i));
			}
			if (cfg & G_RDPID)
				GUEST_ASSERT_EQ(rdpid(), GUEST_AUX(i));
		}
		if (cfg & G_SYSCALL_MSRS) {
			wrmsr(MSR_STAR, GUEST_STAR(i));
			wrmsr(MSR_LSTAR, GUEST_LSTAR(i));
			wrmsr(MSR_CSTAR, GUEST_CSTAR(i));
			wrmsr(MSR_SYSCALL_MASK, GUEST_SFMASK(i));
			GUEST_ASSERT_EQ(rdmsr(MSR_STAR), GUEST_STAR(i));
			GUEST_ASSERT_EQ(rdmsr(MSR_LSTAR), GUEST_LSTAR(i));
			GUEST_ASSERT_EQ(rdmsr(MSR_CSTAR), GUEST_CSTAR(i));
			GUEST_ASSERT_EQ(rdmsr(MSR_SYSCALL_MASK), GUEST_SFMASK(i));
		}
		/* The exit: the VMM thread goes back to userspace with the guest's values live. */
		GUEST_SYNC(i);
		/*
		 * Still the guest's after the host ran: KVM reloads it on every entry (svm.c
		 * svm_prepare_switch_to_guest()). RDMSR is intercepted and answers from KVM's copy;
		 * RDTSCP and RDPID read the register itself.
		 */
		if (cfg & G_TSC_AUX) {
			GUEST_ASSERT_EQ(rdmsr(MSR_TSC_AUX), GUEST_AUX(i));
			if (cfg & G_RDTSCP) {
				rdtscp(&aux);
				GUEST_ASSERT_EQ(aux, GUEST_AUX(i));
			}
			if (cfg & G_RDPID)
				GUEST_ASSERT_EQ(rdpid(), GUEST_AUX(i));
		}
		if (cfg & G_SYSCALL_MSRS)
			GUEST_ASSERT_EQ(rdmsr(MSR_LSTAR), GUEST_LSTAR(i));
	}
	GUEST_DONE();
}

/* ---- host ---- */

struct host_aux {
	bool rdpid;	/* the host CPU has RDPID (CPUID.7.0:ECX[22]) */
	bool rdtscp;	/* ... RDTSCP (CPUID.80000001:EDX[27]) */
	bool linux_sets; /* the host kernel lists rdtscp or rdpid, so setup_getcpu() wrote it */
};

static bool cpuinfo_has_flag(const char *flag)
{
	char line[4096], pat[64];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	snprintf(pat, sizeof(pat), " %s", flag);
	while (!found && fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "flags", 5))
			continue;
		for (p = strstr(line, pat); p; p = strstr(p + 1, pat)) {
			char end = p[strlen(pat)];

			if (end == ' ' || end == '\n' || end == 0) {
				found = true;
				break;
			}
		}
		break;	/* the first CPU's flags are enough */
	}
	fclose(f);
	return found;
}

static struct host_aux host_aux_caps(void)
{
	struct host_aux h = { 0 };
	uint32_t a, b, c, d, max;

	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		h.rdpid = c & (1U << 22);
	}
	cpuid(0x80000000, 0, &max, &b, &c, &d);
	if (max >= 0x80000001) {
		cpuid(0x80000001, 0, &a, &b, &c, &d);
		h.rdtscp = d & (1U << 27);
	}
	h.linux_sets = cpuinfo_has_flag("rdtscp") || cpuinfo_has_flag("rdpid");
	return h;
}

static const char *host_aux_unusable(const struct host_aux *h)
{
	if (!h->rdpid && !h->rdtscp)
		return "the host CPU has neither RDPID nor RDTSCP (CPUID 7.ECX[22], 80000001.EDX[27]), so userspace cannot read TSC_AUX";
	if (!h->linux_sets)
		return "the host kernel hides rdtscp/rdpid (/proc/cpuinfo), so it does not keep the CPU number in TSC_AUX";
	return NULL;
}

static uint32_t getcpu_encoded(unsigned int *cpu_out)
{
	unsigned int cpu = 0, node = 0;

	/* The system call, not the vDSO: the vDSO itself may read TSC_AUX with RDPID. */
	TEST_ASSERT(syscall(SYS_getcpu, &cpu, &node, NULL) == 0, "getcpu: %s", strerror(errno));
	if (cpu_out)
		*cpu_out = cpu;
	return (node << 12) | (cpu & 0xfff);
}

/*
 * What this thread sees in TSC_AUX now, through the instructions the host CPU has; both must
 * agree. Returns false (with *got) on the first that does not equal want.
 */
static bool host_aux_is(const struct host_aux *h, uint32_t want, uint32_t *got)
{
	if (h->rdpid) {
		*got = (uint32_t)rdpid();
		if (*got != want)
			return false;
	}
	if (h->rdtscp) {
		rdtscp(got);
		if (*got != want)
			return false;
	}
	return true;
}

static uint32_t host_aux_read(const struct host_aux *h)
{
	uint32_t aux = 0;

	if (h->rdpid)
		return (uint32_t)rdpid();
	rdtscp(&aux);
	return aux;
}

/* Right after KVM_RUN returned: TSC_AUX is read before any other system call. */
static void check_host_aux(const struct host_aux *h, uint64_t iter, uint32_t guest_val,
			   bool guest_wrote)
{
	uint32_t got = host_aux_read(h), want;
	unsigned int cpu;

	want = getcpu_encoded(&cpu);
	TEST_ASSERT(got == want,
		    "exit %llu: host TSC_AUX (RDPID/RDTSCP) on CPU %u is %#x, expected %#x%s",
		    (unsigned long long)iter, cpu, got, want,
		    guest_wrote && got == guest_val ? " - the guest's value leaked to the host" : "");
	/* Both instructions, where the CPU has both. */
	TEST_ASSERT(host_aux_is(h, want, &got),
		    "exit %llu: RDPID and RDTSCP disagree on the host (%#x vs %#x)",
		    (unsigned long long)iter, got, want);
}

struct guest_setup {
	uint64_t cfg;
	const char *why_no_aux;		/* non-NULL: the guest leaves TSC_AUX alone, and why */
};

static struct guest_setup guest_setup(bool want_aux, bool want_syscall)
{
	struct guest_setup s = { .cfg = want_syscall ? G_SYSCALL_MSRS : 0 };
	bool rdtscp = kc_host_cpu_has(0x80000001, 0, 'd', 27);
	bool rdpid = kc_host_cpu_has(7, 0, 'c', 22);

	if (!want_aux)
		return s;
	if (!rdtscp && !rdpid) {
		s.why_no_aux = "KVM_GET_SUPPORTED_CPUID offers neither RDTSCP nor RDPID, so guests may not use TSC_AUX";
		return s;
	}
	s.cfg |= G_TSC_AUX | (rdtscp ? G_RDTSCP : 0) | (rdpid ? G_RDPID : 0);
	return s;
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set), "sched_setaffinity(CPU %d): %s", cpu,
		    strerror(errno));
}

/* The CPUs this process may use, at most max, into cpus[]. */
static int allowed_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	TEST_ASSERT(!sched_getaffinity(0, sizeof(set), &set), "sched_getaffinity: %s",
		    strerror(errno));
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

static void check_guest_msrs(struct kvm_vcpu *vcpu, uint64_t cfg, uint64_t i)
{
	if (cfg & G_TSC_AUX)
		TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_TSC_AUX), GUEST_AUX(i));
	if (cfg & G_SYSCALL_MSRS) {
		TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_STAR), GUEST_STAR(i));
		TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_LSTAR), GUEST_LSTAR(i));
		TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_CSTAR), GUEST_CSTAR(i));
		TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_SYSCALL_MASK), GUEST_SFMASK(i));
	}
}

/*
 * Run the guest for iters exits. before_run (may be NULL) is called before each KVM_RUN, e.g.
 * to move the thread. Each exit: the host's TSC_AUX right away, then system calls (getcpu,
 * getpid: they go through the host's LSTAR), then KVM_GET_MSRS.
 */
static void run_guest(struct kvm_vcpu *vcpu, const struct host_aux *h, uint64_t cfg,
		      uint64_t iters, void (*before_run)(uint64_t i))
{
	struct ucall uc;

	vcpu_args_set(vcpu, 2, cfg, iters);
	for (uint64_t i = 0; i < iters; i++) {
		if (before_run)
			before_run(i);
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
		if (h)
			check_host_aux(h, i, GUEST_AUX(i), cfg & G_TSC_AUX);
		TEST_ASSERT_EQ(uc.args[0], i);
		TEST_ASSERT(getpid() > 0 && syscall(SYS_getpid) == getpid(),
			    "system calls misbehave after exit %llu", (unsigned long long)i);
		check_guest_msrs(vcpu, cfg, i);
	}
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
}

static void test_tsc_aux_restored_on_exit(void)
{
	struct host_aux h = host_aux_caps();
	const char *why = host_aux_unusable(&h);
	struct guest_setup s = guest_setup(true, false);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int cpus[1];

	if (why)
		kc_skip("%s", why);
	if (s.why_no_aux)
		kc_skip("%s", s.why_no_aux);
	TEST_ASSERT(allowed_cpus(cpus, 1) == 1, "no CPU in this process's affinity mask");
	pin_to_cpu(cpus[0]);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	run_guest(vcpu, &h, s.cfg, NR_EXITS, NULL);
	kvm_vm_free(vm);
}

static void test_syscall_msrs_restored_on_exit(void)
{
	struct host_aux h = host_aux_caps();
	bool host_check = !host_aux_unusable(&h);
	struct guest_setup s = guest_setup(true, true);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int cpus[1];

	TEST_ASSERT(allowed_cpus(cpus, 1) == 1, "no CPU in this process's affinity mask");
	pin_to_cpu(cpus[0]);
	if (!host_check)
		kc_info("host TSC_AUX not checked: %s", host_aux_unusable(&h));
	if (s.why_no_aux)
		kc_info("guest leaves TSC_AUX alone: %s", s.why_no_aux);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	run_guest(vcpu, host_check ? &h : NULL, s.cfg, NR_EXITS, NULL);
	kvm_vm_free(vm);
}

/* ---- migration, with a witness thread on each CPU ---- */

struct witness {
	pthread_t thread;
	int cpu;
	const struct host_aux *h;
	volatile bool stop;
	volatile bool ready;
	unsigned long checks;
	bool failed;
	uint32_t got, want;
	char error[128];
};

static void *witness_fn(void *arg)
{
	struct witness *w = arg;
	cpu_set_t set;
	uint32_t want;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		snprintf(w->error, sizeof(w->error), "sched_setaffinity(CPU %d): %s", w->cpu,
			 strerror(errno));
		w->ready = true;
		return NULL;
	}
	want = getcpu_encoded(NULL);
	w->ready = true;
	for (unsigned long i = 0; i < WITNESS_MAX_ITERS && !w->stop; i++) {
		uint32_t got = 0;

		/* A context switch on this CPU each time: where a pending restore is handed on. */
		sched_yield();
		w->checks++;
		if (!host_aux_is(w->h, want, &got)) {
			w->failed = true;
			w->got = got;
			w->want = want;
			break;
		}
	}
	return NULL;
}

static int migrate_cpus[MAX_WITNESS_CPUS];
static int nr_migrate_cpus;

static void migrate_before_run(uint64_t i)
{
	int target = migrate_cpus[i % nr_migrate_cpus];
	unsigned int cpu;

	pin_to_cpu(target);
	getcpu_encoded(&cpu);
	TEST_ASSERT(cpu == (unsigned int)target, "still on CPU %u after pinning to CPU %d", cpu,
		    target);
}

static void test_tsc_aux_across_migration(void)
{
	struct host_aux h = host_aux_caps();
	const char *why = host_aux_unusable(&h);
	struct guest_setup s = guest_setup(true, true);
	struct witness w[MAX_WITNESS_CPUS];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	if (why)
		kc_skip("%s", why);
	if (s.why_no_aux)
		kc_info("guest keeps only the syscall MSRs dirty, not TSC_AUX: %s", s.why_no_aux);
	nr_migrate_cpus = allowed_cpus(migrate_cpus, MAX_WITNESS_CPUS);
	if (nr_migrate_cpus < 2)
		kc_skip("only one host CPU is available to this process: nothing to migrate between (give the VM or cgroup 2+ CPUs)");

	memset(w, 0, sizeof(w));
	for (int c = 0; c < nr_migrate_cpus; c++) {
		w[c].cpu = migrate_cpus[c];
		w[c].h = &h;
		TEST_ASSERT(!pthread_create(&w[c].thread, NULL, witness_fn, &w[c]),
			    "pthread_create failed");
	}
	for (int c = 0; c < nr_migrate_cpus; c++) {
		for (int spin = 0; spin < 100000 && !w[c].ready; spin++)
			usleep(10);
		TEST_ASSERT(w[c].ready && !w[c].error[0], "witness on CPU %d did not start: %s",
			    w[c].cpu, w[c].error[0] ? w[c].error : "timed out");
	}

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	run_guest(vcpu, &h, s.cfg, NR_MIGRATIONS, migrate_before_run);

	for (int c = 0; c < nr_migrate_cpus; c++) {
		w[c].stop = true;
		pthread_join(w[c].thread, NULL);
	}
	for (int c = 0; c < nr_migrate_cpus; c++) {
		TEST_ASSERT(!w[c].failed,
			    "another task on CPU %d saw TSC_AUX %#x, its CPU says %#x (after %lu checks)",
			    w[c].cpu, w[c].got, w[c].want, w[c].checks);
		kc_info("witness on CPU %d: %lu checks", w[c].cpu, w[c].checks);
	}
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "tsc_aux_restored_on_exit", test_tsc_aux_restored_on_exit },
	{ "syscall_msrs_restored_on_exit", test_syscall_msrs_restored_on_exit },
	{ "tsc_aux_across_migration", test_tsc_aux_across_migration },
	{ 0 },
};

static const struct kc_patch patch = {
	.subject = "KVM: x86: Add helper to retrieve cached value of user return MSR",
	.fixes = NULL,
	.link = NULL,
	.author = "Hou Wenlong <houwenlong.hwl@antgroup.com>",
};

static const struct kc_test test = {
	.name = "x86/user_return_msr",
	.summary = "guest TSC_AUX/STAR/LSTAR/CSTAR/SYSCALL_MASK never reach the VMM thread: RDPID equals getcpu() after every exit and migration",
	.groups = "x86,seed,runtime",
	.timeout_s = 120,
	.subtest_timeout_s = 60,
	.patch = &patch,
	.min_kernel = NULL,
	.paths = KC_PATHS(KC_PATHS_RUNTIME, "arch/x86/kvm/svm/sev.c",
			 "kernel/user-return-notifier.c"),
	.subtests = subtests,
};

KVMCHECK_MAIN(test)
