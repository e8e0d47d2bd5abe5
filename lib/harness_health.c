// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's health around every subtest (docs/PROTOCOL.md, "Test binary"): a kernel report
 * (WARN, BUG, Oops, KASAN, UBSAN, lockdep, refcount_t, RCU stall ...) logged while the subtest
 * ran, a taint bit that was not set before it, or a process it left running fails the subtest,
 * whatever the subtest itself concluded. KVM regressions show up first as such reports, often
 * with every ioctl still returning what the test expects.
 *
 * Attribution. The harness records the log position before the subtest starts and reads what
 * was logged after its process is reaped, so a report is seen by every subtest whose window
 * holds it: with the runner's -j N, two tests in the guest can see the same report. A report
 * names a task ("CPU: 0 UID: 0 PID: 123 Comm: foo", KASAN's "by task foo/123", lockdep's
 * "foo/123 is trying to acquire lock"): a task of another test program (its name is in the
 * build's tests.list) is that test's, which sees the report too, and it is only a diagnostic
 * here; any other report fails the subtest, saying whether it named this test's own task or
 * one that cannot be attributed (a kworker, an RCU stall, a vhost worker), in which case every
 * test in flight fails with it: a false FAIL beside the culprit is better than a kernel bug
 * passed over. Taint has no owner: it fails a subtest unless every report logged with it
 * belongs to another test. Deferred work (an RCU callback, a worker) that complains after the
 * subtest's process is gone is seen by the next subtest of the same program, if any.
 *
 * Where. In the kvmcheck QEMU guest (KC_GUEST_MARKER) the kernel is disposable and runs nothing
 * but the suite: everything above applies. On the machine's own kernel, other workloads log
 * too, so only a report naming this subtest's own task counts (its program name, and a pid
 * handed out between the subtest's start and its end, or a vhost worker of such a pid); other
 * reports and taint are diagnostics. KVMCHECK_HEALTH=strict applies the guest's rules on the
 * host, KVMCHECK_HEALTH=off checks nothing (the first line says which applies). Without read
 * access to /dev/kmsg (not root, dmesg_restrict) only leftover processes are checked.
 *
 * Cost: one lseek before and a non-blocking read of the new records after each subtest.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kvmcheck/host_kernel.h"
#include "kvmcheck/report.h"
#include "harness_internal.h"

enum health_mode { HEALTH_OFF, HEALTH_OWN, HEALTH_STRICT };

static struct {
	enum health_mode mode;
	bool log_ok;		/* /dev/kmsg is open */
	bool reaper;		/* orphans of a subtest come back to this process */
	struct kc_kmsg log;
	long taint;
	char comm[32];		/* this program's task name, as the kernel prints it */
	char build[PATH_MAX];	/* the build directory, for tests.list */
	const char *off_why;
} h;

const char *kc_kernel_health_off(void)
{
	return h.log_ok ? NULL : h.off_why;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* $(O) from /proc/self/exe, which is $(O)/<test name>. */
static void find_build(const struct kc_test *t)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t len = strlen(t->name);

	if (n <= 0)
		return;
	exe[n] = 0;
	if ((size_t)n > len && exe[n - len - 1] == '/' && !strcmp(exe + n - len, t->name)) {
		exe[n - len - 1] = 0;
		snprintf(h.build, sizeof(h.build), "%s", exe);
	}
}

void kc_health_init(const struct kc_test *t)
{
	const char *env = getenv("KVMCHECK_HEALTH");
	bool guest = kc_in_kvmcheck_guest();
	int err;

	/* Orphans of a subtest come back here, where the check after it finds them. */
	h.reaper = !prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (kc_read_file("/proc/self/comm", h.comm, sizeof(h.comm)) > 0)
		h.comm[strcspn(h.comm, "\n")] = 0;
	find_build(t);
	if (env && !strcmp(env, "off")) {
		h.mode = HEALTH_OFF;
		h.off_why = "KVMCHECK_HEALTH=off";
		kc_info("kernel health: not checked (KVMCHECK_HEALTH=off)");
		return;
	}
	h.mode = guest || (env && !strcmp(env, "strict")) ? HEALTH_STRICT : HEALTH_OWN;
	err = kc_kmsg_open(&h.log);
	if (err) {
		static char why[96];

		snprintf(why, sizeof(why), "cannot read /dev/kmsg: %s", strerror(-err));
		h.off_why = why;
		kc_info("kernel health: the kernel log is not checked (%s); leftover processes are",
			why);
		return;
	}
	h.log_ok = true;
	if (env && *env && strcmp(env, "strict") && strcmp(env, "auto"))
		kc_info("kernel health: KVMCHECK_HEALTH=%s is not off, strict or auto: auto", env);
	if (h.mode == HEALTH_STRICT)
		kc_info("kernel health: %s: any kernel report or new taint during a subtest "
			"fails it", guest ? "kvmcheck guest kernel" : "KVMCHECK_HEALTH=strict");
	else
		kc_info("kernel health: shared host kernel: only kernel reports naming this test's "
			"tasks fail a subtest (KVMCHECK_HEALTH=strict: every report and taint)");
}

void kc_health_before(void)
{
	if (h.log_ok && kc_kmsg_mark(&h.log)) {
		h.log_ok = false;
		h.off_why = "/dev/kmsg failed";
	}
	h.taint = kc_taint_read();
}

/* The subtest's process has no use for the log's file description (shared across fork). */
void kc_health_child(void)
{
	if (h.log_ok)
		kc_kmsg_close(&h.log);
}

/* The comm of another test in this build's tests.list, or NULL. */
static bool other_test(const char *comm)
{
	char path[PATH_MAX + 16], line[256];
	bool found = false;
	FILE *f;

	if (!h.build[0] || !strcmp(comm, h.comm))
		return false;
	snprintf(path, sizeof(path), "%s/tests.list", h.build);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *base;

		line[strcspn(line, "\n")] = 0;
		base = strrchr(line, '/');
		base = base ? base + 1 : line;
		/* A task's name is the program's file name cut to 15 characters. */
		found = *base && !strncmp(base, comm, 15) && strlen(comm) == strnlen(base, 15);
	}
	fclose(f);
	return found;
}

static bool pid_in(pid_t pid, pid_t lo, pid_t hi)
{
	/* Pids are handed out upwards and wrap at pid_max. */
	return lo <= hi ? pid >= lo && pid <= hi : pid >= lo || pid <= hi;
}

/* On a shared kernel: does this report name a task this subtest started? */
static bool own_task(const struct kc_splat *sp, pid_t lo, pid_t hi)
{
	int owner;

	if (!sp->pid || !pid_in(sp->pid, lo, hi))
		return false;
	if (!strcmp(sp->comm, h.comm))
		return true;
	/* vhost-<owner pid>: the vhost worker of one of this subtest's processes. */
	return sscanf(sp->comm, "vhost-%d", &owner) == 1 && pid_in(owner, lo, hi);
}

static void fail_with(struct kc_result *res, const char *fmt, const char *what,
		      const struct kc_splat *sp)
{
	char reason[KC_REASON_SIZE], old[KC_REASON_SIZE];
	int n;

	snprintf(old, sizeof(old), "%s", res->reason);
	n = snprintf(reason, sizeof(reason), fmt, what, sp ? sp->text : "");
	if (res->verdict == KSFT_FAIL && old[0] && n > 0 && (size_t)n < sizeof(reason))
		snprintf(reason + n, sizeof(reason) - n, "; the subtest: %s", old);
	res->verdict = KSFT_FAIL;
	snprintf(res->reason, sizeof(res->reason), "%s", reason);
}

static void check_log(struct kc_result *res, pid_t lo, bool *others, bool *counted)
{
	struct kc_log_scan scan;
	pid_t hi = lo;
	char buf[32], task[64];

	if (kc_read_file("/proc/sys/kernel/ns_last_pid", buf, sizeof(buf)) > 0)
		hi = (pid_t)atoi(buf);
	kc_log_scan_init(&scan);
	kc_kmsg_read(&h.log, &scan);
	if (h.log.lost) {
		kc_info("kernel health: the log ring overwrote %lu record(s) before they were read",
			h.log.lost);
		h.log.lost = 0;
	}
	for (int i = 0; i < scan.nsplats; i++) {
		const struct kc_splat *sp = &scan.splats[i];

		if (sp->pid)
			snprintf(task, sizeof(task), "%s/%d", sp->comm[0] ? sp->comm : "?",
				 (int)sp->pid);
		else
			snprintf(task, sizeof(task), "no task named");
		if (h.mode == HEALTH_OWN ? own_task(sp, lo, hi) :
		    !(sp->comm[0] && other_test(sp->comm))) {
			if (*counted)
				continue;
			*counted = true;
			if (h.mode == HEALTH_OWN || !strcmp(sp->comm, h.comm))
				fail_with(res, "kernel report in this test's task %s: %s", task,
					  sp);
			else
				fail_with(res, "kernel report during this subtest (%s: not this "
					  "test's task; a test running at the same time may be the "
					  "cause): %s", task, sp);
		} else {
			*others = true;
			kc_info("kernel health: report during this subtest in %s, not counted here "
				"(%s): %s", task, h.mode == HEALTH_OWN ? "shared host kernel" :
				"another test's task", sp->text);
		}
	}
	if (scan.more)
		kc_info("kernel health: %lu more kernel report(s) during this subtest", scan.more);
}

static void check_taint(struct kc_result *res, long taint, bool others, bool counted)
{
	char letters[96], what[160];

	if (h.taint < 0 || taint < 0 || !(taint & ~h.taint))
		return;
	kc_taint_letters(taint & ~h.taint, letters, sizeof(letters));
	snprintf(what, sizeof(what), "%s: %#lx -> %#lx", letters, h.taint, taint);
	if (counted)
		return;		/* the report that came with it is the reason */
	if (h.mode == HEALTH_STRICT && !others)
		fail_with(res, "the kernel got new taint (%s) during this subtest, with no kernel "
			  "report (taint names no task: a test running at the same time may have "
			  "set it)%s", what, NULL);
	else
		kc_info("kernel health: new taint (%s) during this subtest, not counted here (%s)",
			what, others ? "it came with another test's report" : "shared host kernel");
}

struct leftover {
	pid_t pid;
	char comm[32];
	char state;
};

/* Processes whose parent is this one (the subtest's orphans), from /proc/<pid>/stat. */
static int leftovers(struct leftover *l, int max)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!proc)
		return 0;
	while ((e = readdir(proc)) && n < max) {
		char path[300], stat[512], *rp, *lp;
		int ppid;
		char state;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (kc_read_file(path, stat, sizeof(stat)) <= 0)
			continue;
		/* "pid (comm) S ppid ...": comm may hold spaces and parentheses. */
		lp = strchr(stat, '(');
		rp = strrchr(stat, ')');
		if (!lp || !rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != getpid())
			continue;
		l[n].pid = (pid_t)atoi(stat);
		l[n].state = state;
		snprintf(l[n].comm, sizeof(l[n].comm), "%.*s", (int)(rp - lp - 1), lp + 1);
		n++;
	}
	closedir(proc);
	return n;
}

/* Reaps every child that has exited within @ms; returns true when none is left. */
static bool reap_all(long ms)
{
	long end = now_ms() + ms;

	for (;;) {
		pid_t r = waitpid(-1, NULL, WNOHANG);

		if (r > 0 || (r < 0 && errno == EINTR))
			continue;
		if (r < 0)
			return true;	/* ECHILD */
		if (now_ms() >= end)
			return false;
		usleep(20 * 1000);
	}
}

/*
 * A process the subtest left running: a helper its code forgot, or one that did not die when
 * killed because it is stuck in the kernel (state D), the sign of a teardown bug. Helpers that
 * die with their parent (PR_SET_PDEATHSIG) get 2 s to do so; the rest are killed and reaped
 * here, within 5 s, so nothing outlives the test.
 */
static void check_leftovers(struct kc_result *res)
{
	struct leftover l[8], stuck[8];
	char what[KC_REASON_SIZE];
	int n, nstuck, len = 0;

	if (!h.reaper || reap_all(2000))
		return;
	n = leftovers(l, 8);
	for (int i = 0; i < n; i++)
		len += snprintf(what + len, sizeof(what) - len, "%spid %d '%s' state %c",
				i ? ", " : "", (int)l[i].pid, l[i].comm, l[i].state);
	if (!n)
		snprintf(what, sizeof(what), "a child that /proc does not show");
	for (int i = 0; i < n; i++)
		kill(l[i].pid, SIGKILL);
	if (!reap_all(5000)) {
		nstuck = leftovers(stuck, 8);
		if (nstuck)
			kc_info("kernel health: pid %d '%s' is still there 5 s after SIGKILL "
				"(state %c): stuck in the kernel", (int)stuck[0].pid, stuck[0].comm,
				stuck[0].state);
	}
	fail_with(res, "the subtest left %s running after it ended%s", what, NULL);
}

void kc_health_after(struct kc_result *res, pid_t child)
{
	bool others = false, counted = false;
	long taint;

	check_leftovers(res);
	if (!h.log_ok || h.mode == HEALTH_OFF)
		return;
	/* A report is logged before the taint is set: read the taint first, then the log. */
	taint = kc_taint_read();
	check_log(res, child, &others, &counted);
	check_taint(res, taint, others, counted);
}
