// SPDX-License-Identifier: GPL-2.0-only
/*
 * vhost_task lifetime: waking a vhost_task whose owner died by SIGKILL must be safe.
 *
 * The kernel rule (kernel/vhost_task.c, "vhost: Take a reference on the task that is reference
 * in"): vhost_task_create() keeps a pointer to the worker's task_struct. A vhost_task is a
 * thread of its owner (CLONE_THREAD since f9010dbdce911), so a SIGKILL to the owner ends the
 * worker early and frees its task_struct, while the vhost_task and the object that wakes it can
 * still be reached. The fix holds a task_struct reference from vhost_task_create() to
 * vhost_task_stop(), so a late vhost_task_wake() wakes a dead but valid task instead of freed
 * memory.
 *
 * Two users wake a vhost_task, and each subtest races one of them against the owner's death:
 *  - net_kick_vs_kill, vsock_kick_vs_kill: the owner opens /dev/vhost-net (/dev/vhost-vsock),
 *    VHOST_SET_OWNER (creates the worker "vhost-<pid>"), sets up both vrings with a shared kick
 *    eventfd and no backend (a kick still queues the vq's poll work and wakes the worker:
 *    vhost_poll_wakeup -> vhost_vq_work_queue -> vhost_task_wake), then gets SIGKILL while
 *    another process writes the kick eventfd as fast as it can.
 *  - kvm_nx_wake_vs_kill: the owner creates a VM and runs a vCPU once (the first KVM_RUN starts
 *    the x86 NX huge page recovery vhost_task, "kvm-nx-lpage-recovery"), then gets SIGKILL
 *    while another process flips /sys/module/kvm/parameters/nx_huge_pages, which wakes the
 *    recovery task of every VM on vm_list. This is the path of the report the patch closes
 *    (the VM stays on vm_list after its worker died until the VM fd is released) and the
 *    worker's SIGKILL handler is empty there, so nothing else guards the wake.
 * net_kill_with_fd_shared checks the rule the race relies on: SIGKILL to the owner ends its
 * vhost worker even while another process keeps the vhost fd open (see test_net_kill_shared()).
 * The race runs 200 rounds or 15 s per subtest on a kernel with CONFIG_KASAN or
 * CONFIG_PROVE_LOCKING (or with --race-long), 40 rounds or 1.5 s (at least 3 rounds)
 * elsewhere: see race_bound().
 * Afterwards the kernel must be healthy: the harness fails the subtest on a kernel report or a
 * new taint bit logged while it ran (lib/harness_health.c), and no worker thread of a dead
 * owner may be left behind (checked here).
 *
 * What it can and cannot see: without KASAN a use-after-free wake_up_process() on a freed
 * task_struct usually reads stale but plausible memory and goes unnoticed; it shows up only
 * when the slab was reused (an oops, a refcount or scheduler warning, a hang). So on an
 * unfixed kernel without KASAN a pass means "not caught", not "fixed". With KASAN
 * (scripts/config/debug.config, the matrix's debug:debian line) the bad access is
 * reported as "BUG: KASAN: slab-use-after-free in ... wake_up_process" and this test fails.
 * The vhost-net/vsock wake path has also been guarded since 6.10 by vhost_worker_killed()
 * (it detaches the worker from the vqs and waits an RCU grace period before the task exits),
 * so those two subtests mostly exercise worker teardown; the KVM subtest is the sharp one.
 * 6.1 (bookworm) predates vhost_task: vhost and KVM use kthreads there, and the race is
 * harmless by construction (a useful control).
 *
 * It can crash an unfixed kernel, so it runs on the machine's own kernel only with
 * --allow-host-kernel or KVMCHECK_ALLOW_HOST_CRASH=1; in the kvmcheck QEMU guest (marker
 * /run/kvmcheck-guest written by scripts/guest-init.sh) it always runs.
 *
 * The harness self-checks check kvmcheck's harness, not KVM: --self-check-leak-worker leaves one
 * owner alive but counts it as killed (the leftover-worker check must fail),
 * --self-check-log-line logs a WARNING naming this test's task (the harness's log check must fail
 * the subtest), --self-check-taint sets taint bit U (the harness's taint check must fail it).
 * tests/faults/test_health.py runs them in the guest.
 * Where it was shown to pass and fail: its --meta shown_on (generated from runs).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/vhost.h>
#include "kvmcheck/test.h"
#include "kvmcheck/host_kernel.h"

#define LONG_ROUNDS	200
#define LONG_MS		15000
#define SHORT_ROUNDS	40
#define SHORT_MS	1500
/* Even past the time bound: under TCG a round of the NX race takes 0.3 s, 1 s on a busy host. */
#define MIN_ROUNDS	3
#define VRING_NUM	64
#define MEM_SIZE	(64 * 1024)
#define NX_PARAM	"/sys/module/kvm/parameters/nx_huge_pages"

static bool allow_host, race_long;
/* Harness self-checks: what the harness must catch, planted by the test. */
static bool self_check_leak_worker, self_check_log_line, self_check_taint;

/* What the owner child reports on the ready pipe. */
struct owner_report {
	int ok;
	int err;
	char what[48];
};

struct race {
	const char *what;			/* for messages */
	/* In the owner child: set things up, return 0 or fill @r. */
	int (*setup)(struct race *rc, struct owner_report *r);
	/* In the waker child: one wake; never returns an error the race cares about. */
	void (*wake)(struct race *rc, unsigned long i);
	const char *worker_prefix;		/* thread name prefix of the worker */
	bool worker_has_pid;			/* worker is named <prefix><owner pid> */
	int kickfd, callfd;
	const char *dev;
};

/* Milliseconds: this code is built with -mgeneral-regs-only (no floating point). */
static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int fail_at(struct owner_report *r, const char *what)
{
	r->ok = 0;
	r->err = errno;
	snprintf(r->what, sizeof(r->what), "%s", what);
	return -1;
}

/* ------------------------------------------------------------------ vhost-net / vhost-vsock */

static int vhost_setup(struct race *rc, struct owner_report *r)
{
	struct vhost_memory *mem;
	uint64_t features = 0;
	uint8_t *buf;
	int fd = open(rc->dev, O_RDWR);

	if (fd < 0)
		return fail_at(r, "open");
	if (ioctl(fd, VHOST_SET_OWNER) < 0)
		return fail_at(r, "VHOST_SET_OWNER");
	if (ioctl(fd, VHOST_GET_FEATURES, &features) < 0)
		return fail_at(r, "VHOST_GET_FEATURES");
	features = 0;	/* no offloads, legacy layout: the worker only needs to be woken */
	if (ioctl(fd, VHOST_SET_FEATURES, &features) < 0)
		return fail_at(r, "VHOST_SET_FEATURES");

	buf = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail_at(r, "mmap");
	mem = calloc(1, sizeof(*mem) + sizeof(mem->regions[0]));
	mem->nregions = 1;
	mem->regions[0].guest_phys_addr = 0;
	mem->regions[0].memory_size = MEM_SIZE;
	mem->regions[0].userspace_addr = (uintptr_t)buf;
	if (ioctl(fd, VHOST_SET_MEM_TABLE, mem) < 0)
		return fail_at(r, "VHOST_SET_MEM_TABLE");

	/* Both vhost-net (rx 0, tx 1) and vhost-vsock (rx 0, tx 1) have two vrings. */
	for (unsigned int i = 0; i < 2; i++) {
		uint8_t *ring = buf + i * (MEM_SIZE / 2);
		struct vhost_vring_state num = { .index = i, .num = VRING_NUM };
		struct vhost_vring_state base = { .index = i, .num = 0 };
		struct vhost_vring_addr addr = {
			.index = i,
			.desc_user_addr = (uintptr_t)ring,
			.avail_user_addr = (uintptr_t)ring + 16 * VRING_NUM,
			.used_user_addr = (uintptr_t)ring + 8192,
		};
		struct vhost_vring_file kick = { .index = i, .fd = rc->kickfd };
		struct vhost_vring_file call = { .index = i, .fd = rc->callfd };

		if (ioctl(fd, VHOST_SET_VRING_NUM, &num) < 0)
			return fail_at(r, "VHOST_SET_VRING_NUM");
		if (ioctl(fd, VHOST_SET_VRING_BASE, &base) < 0)
			return fail_at(r, "VHOST_SET_VRING_BASE");
		if (ioctl(fd, VHOST_SET_VRING_ADDR, &addr) < 0)
			return fail_at(r, "VHOST_SET_VRING_ADDR");
		if (ioctl(fd, VHOST_SET_VRING_CALL, &call) < 0)
			return fail_at(r, "VHOST_SET_VRING_CALL");
		if (ioctl(fd, VHOST_SET_VRING_KICK, &kick) < 0)
			return fail_at(r, "VHOST_SET_VRING_KICK");
	}
	return 0;
}

static void vhost_wake(struct race *rc, unsigned long i)
{
	uint64_t one = 1;

	(void)i;
	if (write(rc->kickfd, &one, sizeof(one)) < 0 && errno == EAGAIN) {
		/* The counter is full (nobody reads it): drain and go on. */
		if (read(rc->kickfd, &one, sizeof(one)) < 0)
			return;
	}
}

/* ------------------------------------------------------------------ KVM NX recovery worker */
#ifdef __x86_64__

static int kvm_setup(struct race *rc, struct owner_report *r)
{
	int kvm = open("/dev/kvm", O_RDWR), vm, vcpu;

	(void)rc;
	if (kvm < 0)
		return fail_at(r, "open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail_at(r, "KVM_CREATE_VM");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail_at(r, "KVM_CREATE_VCPU");
	/*
	 * The first KVM_RUN starts the recovery worker before anything else (x86.c,
	 * kvm_mmu_post_init_vm()); with no memory the vCPU then exits at once, or the run
	 * fails: either way the worker exists.
	 */
	(void)ioctl(vcpu, KVM_RUN, 0);
	return 0;
}

static void kvm_wake(struct race *rc, unsigned long i)
{
	(void)rc;
	/* Every change of the value wakes the recovery worker of every VM (set_nx_huge_pages()). */
	(void)kc_write_file(NX_PARAM, (i & 1) ? "Y" : "N");
}
#endif

/* ------------------------------------------------------------------ the race */

/* Fork a child running owner(rc, the write end of a pipe); the read end goes to *readfd. */
static pid_t fork_owner(struct race *rc, void (*owner)(struct race *rc, int wfd), int *readfd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		TEST_FAIL("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		TEST_FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		owner(rc, p[1]);
		_exit(1);
	}
	close(p[1]);
	*readfd = p[0];
	return pid;
}

/* The owner's report, within 10 s; closes rfd. */
static bool read_report(int rfd, void *report, size_t size)
{
	struct pollfd pfd = { .fd = rfd, .events = POLLIN };
	bool ok = poll(&pfd, 1, 10000) > 0 && read(rfd, report, size) == (ssize_t)size;

	close(rfd);
	return ok;
}

/* The race's owner: set up, report, wait for its SIGKILL. */
static void race_owner(struct race *rc, int wfd)
{
	struct owner_report r = { .ok = 1 };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	rc->setup(rc, &r);
	if (write(wfd, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	for (;;)
		pause();
}

static pid_t start_waker(struct race *rc)
{
	pid_t pid = fork();

	if (pid < 0)
		TEST_FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (unsigned long i = 0;; i++)
			rc->wake(rc, i);
	}
	return pid;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/*
 * The harness checks the kernel log and the taint around every subtest (lib/harness_health.c);
 * what is this test's own: the workers of the owners it killed must be gone.
 */
static void check_workers(struct race *rc, int workers_before, const pid_t *dead, int ndead)
{
	pid_t tids[8];
	int n = kc_threads_named(rc->worker_prefix, false, tids, 8);

	/* No more workers than before: none is left, and naming one costs a /proc walk each. */
	if (n <= workers_before)
		return;
	/* The worker of a dead owner goes with the owner (thread) or at release (kthread). */
	for (int i = 0; i < ndead && rc->worker_has_pid; i++) {
		if (kc_threads_gone(rc->worker_prefix, dead[i], 2000, tids))
			TEST_FAIL("worker thread %s%d (tid %d) is still there after its owner %d "
				  "was killed and reaped", rc->worker_prefix, (int)dead[i],
				  (int)tids[0], (int)dead[i]);
	}
	n = kc_threads_named(rc->worker_prefix, false, tids, 8);
	for (int tries = 0; n > workers_before && tries < 20; tries++) {
		usleep(100 * 1000);
		n = kc_threads_named(rc->worker_prefix, false, tids, 8);
	}
	if (n > workers_before)
		TEST_FAIL("%d '%s*' worker thread(s) before the race, %d after (tid %d): a worker "
			  "outlived its owner", workers_before, rc->worker_prefix, n, (int)tids[0]);
}

/*
 * The harness self-checks: what the harness must catch, as the kernel would log it. Each fires in
 * its own subtest, so one run shows both, and that the taint, set before the last subtest,
 * is not new there.
 */
static void plant_selftests(struct race *rc)
{
	char msg[256], comm[32] = "?";

	if (kc_read_file("/proc/self/comm", comm, sizeof(comm)) > 0)
		comm[strcspn(comm, "\n")] = 0;
	if (self_check_log_line && rc->setup == vhost_setup && strstr(rc->dev, "net")) {
		snprintf(msg, sizeof(msg), KC_FAULT_TAG "WARNING: CPU: 0 PID: %d at "
			 "vhost/vhost_task_lifetime.c:0 synthetic (--self-check-log-line)\n",
			 (int)getpid());
		kc_kmsg_write(msg);
		snprintf(msg, sizeof(msg), KC_FAULT_TAG "CPU: 0 UID: 0 PID: %d Comm: %s Not "
			 "tainted\n", (int)getpid(), comm);
		kc_kmsg_write(msg);
	}
	/* TAINT_USER ('U', bit 6): the bit user space may set, and the one meant for this. */
	if (self_check_taint && rc->setup == vhost_setup && strstr(rc->dev, "vsock"))
		kc_write_file("/proc/sys/kernel/tainted", "64");
}

/*
 * How long to race. Without KASAN (or lockdep) a wake of a freed task_struct goes unnoticed
 * unless the slab was reused, so the long race rarely catches anything and costs a QEMU column
 * half its time; with them, every bad wake is reported, and the longer the race the likelier
 * one happens. --race-long asks for the long race anywhere.
 */
static void race_bound(int *rounds, long *ms)
{
	const char *why = NULL;
	char kasan = kc_kernel_config("CONFIG_KASAN"), lockdep;

	lockdep = kc_kernel_config("CONFIG_PROVE_LOCKING");
	if (race_long)
		why = "--race-long";
	else if (kasan == 'y')
		why = "CONFIG_KASAN=y: a bad wake is reported";
	else if (lockdep == 'y')
		why = "CONFIG_PROVE_LOCKING=y";
	if (why) {
		*rounds = LONG_ROUNDS;
		*ms = LONG_MS;
	} else {
		*rounds = SHORT_ROUNDS;
		*ms = SHORT_MS;
		why = kasan ? "neither CONFIG_KASAN nor CONFIG_PROVE_LOCKING: a bad wake would go "
			      "unnoticed; --race-long for the long race" :
			      "no kernel config found to tell a debug kernel; --race-long for the "
			      "long race";
	}
	kc_info("race bound: %d rounds or %ld ms (%s)", *rounds, *ms, why);
}

static void run_race(struct race *rc)
{
	pid_t dead[LONG_ROUNDS + 1];
	const char *off = kc_kernel_health_off();
	long t0, bound_ms;
	pid_t waker, leaked = 0;
	int rounds = 0, max_rounds, workers_before;

	if (off)
		kc_skip("the kernel's health is this test's verdict and is not checked here: %s",
			off);
	if (self_check_taint && !kc_in_kvmcheck_guest())
		kc_skip("--self-check-taint taints the machine's own kernel until it reboots: only in "
			"the kvmcheck guest");
	race_bound(&max_rounds, &bound_ms);
	workers_before = kc_threads_named(rc->worker_prefix, false, NULL, 0);
	t0 = now_ms();
	waker = start_waker(rc);

	for (; rounds < max_rounds && (rounds < MIN_ROUNDS || now_ms() - t0 < bound_ms); rounds++) {
		struct owner_report r;
		int rfd;
		pid_t owner = fork_owner(rc, race_owner, &rfd);

		if (!read_report(rfd, &r, sizeof(r))) {
			kill(owner, SIGKILL);
			reap(owner);
			kill(waker, SIGKILL);
			reap(waker);
			TEST_FAIL("%s owner %d did not report within 10 s (round %d)", rc->what,
				  (int)owner, rounds);
		}
		if (!r.ok) {
			kill(owner, SIGKILL);
			reap(owner);
			kill(waker, SIGKILL);
			reap(waker);
			if (rounds == 0 && (r.err == ENOENT || r.err == ENODEV || r.err == ENXIO))
				kc_skip("%s: %s: %s", rc->dev ? rc->dev : rc->what, r.what,
					strerror(r.err));
			TEST_FAIL("%s owner setup: %s failed: %s (round %d)", rc->what, r.what,
				  strerror(r.err), rounds);
		}
		if (rounds == 0) {
			char name[32];
			int n;

			snprintf(name, sizeof(name), "%s%d", rc->worker_prefix, (int)owner);
			n = kc_threads_named(rc->worker_has_pid ? name : rc->worker_prefix,
					     false, NULL, 0);
			kc_info("%s: %d '%s*' worker thread(s) with the first owner alive", rc->what,
				n, rc->worker_has_pid ? name : rc->worker_prefix);
		}
		/* Vary the moment of death relative to the wakes: 0 to 1.6 ms after setup. */
		if (rounds % 9)
			usleep((rounds % 9) * 200);
		if (rounds == 1)
			plant_selftests(rc);
		if (self_check_leak_worker && rounds == 0) {
			/* Counted as dead, left alive: the leftover check must catch it. */
			leaked = owner;
			dead[rounds] = owner;
			continue;
		}
		kill(owner, SIGKILL);
		reap(owner);
		dead[rounds] = owner;
	}
	kill(waker, SIGKILL);
	reap(waker);
	kc_info("%s: %d rounds in %ld ms", rc->what, rounds, now_ms() - t0);
	check_workers(rc, workers_before, dead, rounds);
	if (leaked) {	/* not reached: check_workers() failed on it */
		kill(leaked, SIGKILL);
		reap(leaked);
	}
}

static struct race *vhost_race(const char *dev, const char *what)
{
	static struct race rc;

	if (access(dev, F_OK))
		kc_skip("no %s (the %s module is not loaded or not built)", dev,
			strstr(dev, "net") ? "vhost_net" : "vhost_vsock");
	rc = (struct race){
		.what = what, .dev = dev, .setup = vhost_setup, .wake = vhost_wake,
		.worker_prefix = "vhost-", .worker_has_pid = true,
	};
	rc.kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	rc.callfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	TEST_ASSERT(rc.kickfd >= 0 && rc.callfd >= 0, "eventfd: %s", strerror(errno));
	return &rc;
}

static void test_net(void)
{
	run_race(vhost_race("/dev/vhost-net", "vhost-net kick"));
}

static void test_vsock(void)
{
	run_race(vhost_race("/dev/vhost-vsock", "vhost-vsock kick"));
}

/* ------------------------------------------------------------------ SIGKILL, fd shared */

/* The owner's report: its setup, and the pid of the process it shared the vhost fd with. */
struct shared_report {
	struct owner_report rep;
	pid_t holder;
};

/* Reaped within ms milliseconds? */
static bool reap_within(pid_t pid, long ms)
{
	long t0 = now_ms();

	do {
		pid_t got = waitpid(pid, NULL, WNOHANG);

		if (got == pid || (got < 0 && errno == ECHILD))
			return true;
		usleep(10 * 1000);
	} while (now_ms() - t0 < ms);
	return false;
}

/*
 * The owner: set up vhost-net, then fork the holder, which keeps the vhost fd open (no
 * PDEATHSIG: it must outlive the owner) until the subtest kills it.
 */
static void shared_owner(struct race *rc, int wfd)
{
	struct shared_report r = { .rep.ok = 1 };

	if (!rc->setup(rc, &r.rep)) {
		r.holder = fork();
		if (r.holder == 0) {
			close(wfd);
			for (;;)
				pause();
		}
		if (r.holder < 0)
			fail_at(&r.rep, "fork");
	}
	if (write(wfd, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	for (;;)
		pause();
}

/*
 * A vhost_task is a thread of its owner, so SIGKILL to the owner must end the worker at once
 * (vhost_task_fn(): get_signal() is true, the loop ends) even while another process holds the
 * vhost fd, the device is not released and nobody calls vhost_task_stop(). The owner is reaped
 * only once every thread of its group is gone (wait_consider_task(): delay_group_leader()), so a
 * worker that ignored the signal keeps its owner unreaped for as long as the fd stays open. On
 * 6.1 the worker is a kthread outside the owner's group and the owner is reaped at once.
 */
#define SHARED_REAP_MS	10000

static void test_net_kill_shared(void)
{
	struct race *rc = vhost_race("/dev/vhost-net", "vhost-net owner killed, fd shared");
	struct shared_report r;
	pid_t owner;
	bool reaped;
	int rfd;

	/* The holder is the owner's child: once the owner dies it is ours to reap. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		TEST_FAIL("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	owner = fork_owner(rc, shared_owner, &rfd);
	if (!read_report(rfd, &r, sizeof(r))) {
		kill(owner, SIGKILL);
		reap(owner);
		TEST_FAIL("vhost-net owner %d did not report within 10 s", (int)owner);
	}
	if (!r.rep.ok) {
		kill(owner, SIGKILL);
		reap(owner);
		if (r.rep.err == ENOENT || r.rep.err == ENODEV || r.rep.err == ENXIO)
			kc_skip("%s: %s: %s", rc->dev, r.rep.what, strerror(r.rep.err));
		TEST_FAIL("vhost-net owner setup: %s failed: %s", r.rep.what,
			  strerror(r.rep.err));
	}
	kill(owner, SIGKILL);
	reaped = reap_within(owner, SHARED_REAP_MS);
	/* Closing the last fd releases the device and stops the worker: the owner goes now. */
	kill(r.holder, SIGKILL);
	reap(r.holder);
	if (!reaped) {
		reap(owner);
		TEST_FAIL("owner %d still not reaped %d ms after SIGKILL while process %d held its "
			  "/dev/vhost-net fd, reaped only once that fd was closed: its vhost worker "
			  "did not end on the signal", (int)owner, SHARED_REAP_MS, (int)r.holder);
	}
	kc_info("owner %d reaped after SIGKILL with its vhost fd still open in process %d",
		(int)owner, (int)r.holder);
}

static void test_kvm_nx(void)
{
#ifdef __x86_64__
	struct race rc = {
		.what = "KVM NX recovery wake", .setup = kvm_setup, .wake = kvm_wake,
		/* 15 characters of comm: "kvm-nx-lpage-recovery" and 6.1's "…-<pid>" alike. */
		.worker_prefix = "kvm-nx-lpage-re", .worker_has_pid = false,
		.kickfd = -1, .callfd = -1,
	};
	const char *why = kc_kvm_unavailable_reason();
	char orig[32];
	ssize_t n;
	int err;

	if (why)
		kc_skip("%s", why);
	n = kc_read_file(NX_PARAM, orig, sizeof(orig));
	if (n <= 0)
		kc_skip("no %s", NX_PARAM);
	if (!strncmp(orig, "never", 5))
		kc_skip("nx_huge_pages=never: KVM starts no recovery worker");
	err = kc_write_file(NX_PARAM, orig[0] == 'Y' ? "N" : "Y");
	if (!err)
		err = kc_write_file(NX_PARAM, orig[0] == 'Y' ? "Y" : "N");
	if (err)
		kc_skip("cannot write %s: %s", NX_PARAM, strerror(-err));
	run_race(&rc);
	orig[strcspn(orig, "\n")] = 0;
	kc_write_file(NX_PARAM, orig);
#else
	kc_skip("the NX huge page recovery worker is x86 only");
#endif
}

static const char *requires(void)
{
	const char *env = getenv("KVMCHECK_ALLOW_HOST_CRASH");

	if (kc_in_kvmcheck_guest() || allow_host || (env && !strcmp(env, "1")))
		return NULL;
	return "refusing to race vhost on the machine's own kernel: it may crash an unfixed "
	       "kernel; pass --allow-host-kernel";
}

static const struct kc_subtest subtests[] = {
	{ "net_kick_vs_kill", test_net },
	{ "vsock_kick_vs_kill", test_vsock },
	{ "kvm_nx_wake_vs_kill", test_kvm_nx },
	{ "net_kill_with_fd_shared", test_net_kill_shared },
	{ 0 },
};

static const struct kc_option options[] = {
	{ "allow-host-kernel", "run the race on the machine's own kernel (may crash it)",
	  &allow_host },
	{ "self-check-leak-worker", "harness self-check: keep one owner alive but count it as "
	  "killed: the leftover-worker check must fail", &self_check_leak_worker },
	{ "race-long", "race 200 rounds or 15 s per subtest, as on a KASAN or lockdep kernel "
	  "(elsewhere 40 rounds or 1.5 s)", &race_long },
	{ "self-check-log-line", "harness self-check: log a WARNING naming this test's task during "
	  "net_kick_vs_kill: the kernel health check must fail it", &self_check_log_line },
	{ "self-check-taint", "harness self-check: set the kernel's taint bit U during "
	  "vsock_kick_vs_kill (kvmcheck guest only): the taint check must fail it", &self_check_taint },
	{ 0 },
};

static const struct kc_patch patch = {
	.subject = "vhost: Take a reference on the task that is reference in",
	.fixes = "f9010dbdce911 (\"fork, vhost: Use CLONE_THREAD to fix freezer/ps regression\")",
	.link = "https://lore.kernel.org/all/aKkLEtoDXKxAAWju@google.com/",
	.author = "Sebastian Andrzej Siewior <bigeasy@linutronix.de>",
};

static const struct kc_test test = {
	.name = "vhost/vhost_task_lifetime",
	.summary = "SIGKILL a vhost/KVM worker's owner while another process wakes the worker; "
		   "the kernel stays healthy",
	.groups = "vhost,seed",
	.timeout_s = 120,
	.subtest_timeout_s = 40,
	.patch = &patch,
	.min_kernel = NULL,
	.paths = KC_PATHS("drivers/vhost/", "kernel/vhost_task.c", "arch/x86/kvm/mmu/mmu.c"),
	.subtests = subtests,
	.options = options,
	.requires = requires,
};

KVMCHECK_MAIN(test)
