// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_MP_STATE_SUSPENDED on riscv64, as "RISCV: KVM: Add support for userspace to suspend a
 * vCPU" adds it with arm64's meaning (api.rst, KVM_SET_MP_STATE, "For arm64"): a suspended vCPU
 * does not run guest code; KVM_RUN waits, as for WFI, until a wakeup event (an interrupt the
 * guest has enabled in sie becomes pending) and then exits with KVM_EXIT_SYSTEM_EVENT of type
 * KVM_SYSTEM_EVENT_WAKEUP, leaving the vCPU suspended; userspace makes it RUNNABLE to resume
 * it, or keeps it suspended (and should quiet the event, or KVM_RUN returns at once again).
 *
 * Every KVM_RUN that may wait is bounded by a watchdog thread that sets immediate_exit and
 * signals the vCPU thread, so a kernel that never wakes the vCPU fails with a reason.
 * A kernel without the patch refuses SUSPENDED with EINVAL: the subtests skip, unless
 * --self-check-fail asks to count that as a failure.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "riscv64/riscv_vm.h"

#define WAIT_BOUND_MS	5000	/* a wakeup that takes longer is a failure */
#define QUIET_MS	300	/* how long a vCPU with no wakeup event must stay blocked */
#define INJECT_DELAY_MS	200

static bool self_check_fail;

/* --- guest ----------------------------------------------------------------------------- */

static volatile uint64_t irq_count;

/* Count the interrupt and disable it in sie: an external one stays pending until the host
 * withdraws it, so only sie can quiet it. */
static void quiet_irq(struct ex_regs *regs)
{
	irq_count++;
	csr_clear(CSR_SIE, 1UL << (regs->vector - KC_IRQ_VECTOR(0)));
}

/* Enable one interrupt in sie with sstatus.SIE clear: it can wake the vCPU but is not taken. */
static void guest_arm(uint64_t irq, uint64_t timer_delay)
{
	guest_install_handler((int)KC_IRQ_VECTOR(irq), quiet_irq);
	local_irq_disable();
	csr_set(CSR_SIE, 1UL << irq);
	if (irq == IRQ_S_TIMER)
		timer_set_next(rdtime() + timer_delay);
	GUEST_SYNC(1);
	/* Resumed after the wakeup: the interrupt is pending, so setting SIE takes it. */
	local_irq_enable();
	asm volatile("nop" ::: "memory");
	local_irq_disable();
	GUEST_SYNC(2, irq_count);
	GUEST_DONE();
}

/* --- host: bounded KVM_RUN ------------------------------------------------------------- */

struct watchdog {
	pthread_t vcpu_thread, thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct kvm_vcpu *vcpu;
	unsigned int ms;
	bool done, fired;
};

static void on_sigusr1(int sig)
{
	(void)sig;
}

static void deadline_in(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Past the deadline: immediate_exit covers a KVM_RUN not yet entered, the signal one that is
 * waiting; repeat until the vCPU thread is out, since a signal may land just before the ioctl.
 */
static void *watchdog_fn(void *arg)
{
	struct watchdog *w = arg;
	struct timespec ts;

	pthread_mutex_lock(&w->lock);
	deadline_in(&ts, w->ms);
	while (!w->done && pthread_cond_timedwait(&w->cond, &w->lock, &ts) != ETIMEDOUT)
		;
	while (!w->done) {
		w->fired = true;
		w->vcpu->run->immediate_exit = 1;
		pthread_kill(w->vcpu_thread, SIGUSR1);
		deadline_in(&ts, 10);
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* KVM_RUN bounded by ms: returns its result (errno kept); *fired when the watchdog ended it. */
static int run_bounded(struct kvm_vcpu *vcpu, unsigned int ms, bool *fired, uint64_t *took_ms)
{
	struct watchdog w = { .vcpu_thread = pthread_self(), .vcpu = vcpu, .ms = ms };
	struct sigaction sa = { .sa_handler = on_sigusr1 };	/* no SA_RESTART: EINTR */
	uint64_t start = now_ms();
	int ret, err;

	sigaction(SIGUSR1, &sa, NULL);
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	TEST_ASSERT(pthread_create(&w.thread, NULL, watchdog_fn, &w) == 0, "pthread_create");
	ret = __vcpu_run(vcpu);
	err = errno;
	pthread_mutex_lock(&w.lock);
	w.done = true;
	pthread_cond_signal(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.thread, NULL);
	vcpu->run->immediate_exit = 0;
	*fired = w.fired;
	*took_ms = now_ms() - start;
	errno = err;
	return ret;
}

/* --- host: checks ---------------------------------------------------------------------- */

static uint32_t mp_state(struct kvm_vcpu *vcpu)
{
	struct kvm_mp_state mp;

	vcpu_get_mp_state(vcpu, &mp);
	return mp.mp_state;
}

static void suspend(struct kvm_vcpu *vcpu)
{
	if (__vcpu_set_mp_state(vcpu, KVM_MP_STATE_SUSPENDED) == 0) {
		TEST_ASSERT_EQ(mp_state(vcpu), KVM_MP_STATE_SUSPENDED);
		return;
	}
	if (errno == EINVAL && !self_check_fail)
		kc_skip("kernel lacks riscv KVM_MP_STATE_SUSPENDED (EINVAL)");
	TEST_FAIL("KVM_SET_MP_STATE(KVM_MP_STATE_SUSPENDED) refused: %s", kc_errno_str());
}

/* KVM_RUN on a suspended vCPU must end in a WAKEUP exit within the bound. */
static uint64_t expect_wakeup(struct kvm_vcpu *vcpu, const char *event)
{
	char detail[128];
	uint64_t took;
	bool fired;
	int ret = run_bounded(vcpu, WAIT_BOUND_MS, &fired, &took);

	TEST_ASSERT(!fired, "suspended vCPU not woken by %s within %u ms (KVM_RUN: %s)", event,
		    WAIT_BOUND_MS, ret ? kc_errno_str() : "returned");
	TEST_ASSERT(ret == 0, "KVM_RUN of a suspended vCPU waiting for %s: %s", event,
		    kc_errno_str());
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_SYSTEM_EVENT &&
		    vcpu->run->system_event.type == KVM_SYSTEM_EVENT_WAKEUP,
		    "%s: expected KVM_EXIT_SYSTEM_EVENT/WAKEUP, got %s%s", event,
		    exit_reason_str(vcpu->run->exit_reason),
		    kc_arch_exit_detail(vcpu, detail, sizeof(detail)));
	/* The wakeup is reported, not acted on: userspace decides (api.rst). */
	TEST_ASSERT_EQ(mp_state(vcpu), KVM_MP_STATE_SUSPENDED);
	return took;
}

/* With no wakeup event the vCPU stays blocked: only the watchdog ends KVM_RUN. */
static void expect_blocked(struct kvm_vcpu *vcpu, const char *why)
{
	char detail[128];
	uint64_t took;
	bool fired;
	int ret = run_bounded(vcpu, QUIET_MS, &fired, &took);

	TEST_ASSERT(fired && ret < 0 && errno == EINTR,
		    "%s: KVM_RUN returned after %llu ms (%s, exit %s%s) instead of waiting", why,
		    (unsigned long long)took, ret ? kc_errno_str() : "0",
		    exit_reason_str(vcpu->run->exit_reason),
		    kc_arch_exit_detail(vcpu, detail, sizeof(detail)));
	TEST_ASSERT_EQ(mp_state(vcpu), KVM_MP_STATE_SUSPENDED);
}

/* Make the vCPU runnable; the guest reports how many interrupts it then took. */
static uint64_t resume_guest(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	TEST_ASSERT(__vcpu_set_mp_state(vcpu, KVM_MP_STATE_RUNNABLE) == 0,
		    "KVM_SET_MP_STATE(RUNNABLE): %s", kc_errno_str());
	TEST_ASSERT_EQ(mp_state(vcpu), KVM_MP_STATE_RUNNABLE);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 2);
	return uc.args[1];
}

static struct kvm_vm *create_armed(struct kvm_vcpu **vcpu, uint64_t irq, uint64_t delay)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_arm);
	struct ucall uc;

	TEST_ASSERT_EQ(mp_state(*vcpu), KVM_MP_STATE_RUNNABLE);
	vcpu_args_set(*vcpu, 2, irq, delay);
	TEST_ASSERT_EQ(vcpu_run_ucall(*vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 1);
	return vm;
}

/* --- subtests -------------------------------------------------------------------------- */

static void guest_spin(void)
{
	for (;;)
		GUEST_SYNC(0);
}

static void test_set_get(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_spin);

	TEST_ASSERT_EQ(mp_state(vcpu), KVM_MP_STATE_RUNNABLE);
	suspend(vcpu);
	TEST_ASSERT(__vcpu_set_mp_state(vcpu, KVM_MP_STATE_RUNNABLE) == 0,
		    "KVM_SET_MP_STATE(RUNNABLE) after SUSPENDED: %s", kc_errno_str());
	TEST_ASSERT_EQ(mp_state(vcpu), KVM_MP_STATE_RUNNABLE);
	kvm_vm_free(vm);
}

/* A suspended vCPU with nothing enabled in sie never wakes, and runs no guest code. */
static void test_no_event_stays_blocked(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_spin);

	suspend(vcpu);
	expect_blocked(vcpu, "no interrupt enabled");
	kvm_vm_free(vm);
}

static void test_wakeup_by_timer(void)
{
	struct kvm_vcpu *vcpu;
	uint64_t freq, took;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_spin);
	freq = vcpu_get_reg(vcpu, RISCV_TIMER_REG(frequency));
	kvm_vm_free(vm);
	vm = create_armed(&vcpu, IRQ_S_TIMER, freq / 5);	/* 200 ms */
	suspend(vcpu);
	took = expect_wakeup(vcpu, "the guest's timer");
	kc_info("woken by the timer after %llu ms", (unsigned long long)took);
	/* Kept suspended, the still-pending timer wakes it again at once (api.rst warning). */
	expect_wakeup(vcpu, "the still-pending timer");
	TEST_ASSERT_EQ(resume_guest(vcpu), 1);
	kvm_vm_free(vm);
}

struct injector {
	struct kvm_vcpu *vcpu;
	unsigned int delay_ms;
};

/* KVM_INTERRUPT is one of riscv's vCPU ioctls that run beside a KVM_RUN (async ioctl). */
static void *inject_fn(void *arg)
{
	struct injector *in = arg;
	struct kvm_interrupt irq = { .irq = KVM_INTERRUPT_SET };

	usleep(in->delay_ms * 1000);
	if (ioctl(in->vcpu->fd, KVM_INTERRUPT, &irq))
		kc_info("KVM_INTERRUPT(SET) from the injector thread: %s", kc_errno_str());
	return NULL;
}

static uint64_t wakeup_by_injection(struct kvm_vcpu *vcpu)
{
	struct injector in = { .vcpu = vcpu, .delay_ms = INJECT_DELAY_MS };
	pthread_t t;
	uint64_t took;

	TEST_ASSERT(pthread_create(&t, NULL, inject_fn, &in) == 0, "pthread_create");
	took = expect_wakeup(vcpu, "KVM_INTERRUPT from another thread");
	pthread_join(t, NULL);
	TEST_ASSERT(took + 50 >= INJECT_DELAY_MS,
		    "KVM_RUN returned after %llu ms, before the interrupt came at %u ms",
		    (unsigned long long)took, INJECT_DELAY_MS);
	return took;
}

static void test_wakeup_by_injected_irq(void)
{
	struct kvm_interrupt unset = { .irq = KVM_INTERRUPT_UNSET };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create_armed(&vcpu, IRQ_S_EXT, 0);

	suspend(vcpu);
	kc_info("woken by KVM_INTERRUPT after %llu ms",
		(unsigned long long)wakeup_by_injection(vcpu));
	/* Userspace keeps it suspended: quiet the event and it waits again. */
	expect_wakeup(vcpu, "the still-pending external interrupt");
	vcpu_ioctl(vcpu, KVM_INTERRUPT, &unset);
	expect_blocked(vcpu, "kept suspended after the interrupt was withdrawn");
	wakeup_by_injection(vcpu);
	TEST_ASSERT_EQ(resume_guest(vcpu), 1);
	vcpu_ioctl(vcpu, KVM_INTERRUPT, &unset);
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "set_get", test_set_get },
	{ "no_event_stays_blocked", test_no_event_stays_blocked },
	{ "wakeup_by_timer", test_wakeup_by_timer },
	{ "wakeup_by_injected_irq", test_wakeup_by_injected_irq },
	{ 0 },
};

static const struct kc_option options[] = {
	{ "self-check-fail", "self-check: count EINVAL for SUSPENDED as a failure, not a skip",
	  &self_check_fail },
	{ 0 },
};

static const struct kc_patch patch = {
	.subject = "RISCV: KVM: Add support for userspace to suspend a vCPU",
	.fixes = NULL,
	.link = NULL,
	.author = "Zhe Qiao <qiaozhe@iscas.ac.cn>",
};

static const struct kc_test test = {
	.name = "riscv/mp_state_suspended",
	.summary = "KVM_MP_STATE_SUSPENDED: KVM_RUN waits for a wakeup, exits SYSTEM_EVENT/WAKEUP",
	.groups = "seed,mp_state",
	.timeout_s = 90,
	.subtest_timeout_s = 30,
	.patch = &patch,
	.paths = KC_PATHS("arch/riscv/kvm/", "virt/kvm/kvm_main.c"),
	.subtests = subtests,
	.options = options,
};

KVMCHECK_MAIN(test)
