// SPDX-License-Identifier: GPL-2.0-only
/*
 * The test harness (see include/kvmcheck/test.h and docs/PROTOCOL.md). Each subtest runs in a
 * child process: a failed assert, a crash or a hang in one subtest ends that subtest only, and
 * every fd and mapping it made (VMs, vCPUs, guest memory) is gone when it exits. The kernel's
 * health is checked around it (lib/harness_health.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kvmcheck/test.h"
#include "kvmcheck/report.h"
#include "kvmcheck/vm.h"
#include "harness_internal.h"

struct kc_result *kc_current_result;

void kc_finish(int verdict, const char *reason)
{
	if (kc_current_result) {
		kc_current_result->verdict = verdict;
		snprintf(kc_current_result->reason, sizeof(kc_current_result->reason), "%s",
			 reason ? reason : "");
		/* Keep the reason on one line: it ends a TAP line. */
		for (char *p = kc_current_result->reason; *p; p++)
			if (*p == '\n')
				*p = ' ';
	}
	fflush(stdout);
	_exit(verdict);
}

void kc_skip(const char *fmt, ...)
{
	char reason[KC_REASON_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	kc_finish(KSFT_SKIP, reason);
}

void kc_info(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

const char *kc_kvm_unavailable_reason(void)
{
	return kvm_unavailable_reason();
}

static unsigned int subtest_timeout;

static void on_alarm(int sig)
{
	(void)sig;
	/* Not async-signal-safe in general, but this process ends here and shares no locks with
	 * the interrupted code that matter after _exit(). */
	snprintf(kc_current_result->reason, sizeof(kc_current_result->reason),
		 "TIMEOUT after %u s (the guest or an ioctl did not return)", subtest_timeout);
	kc_current_result->verdict = KSFT_FAIL;
	_exit(KSFT_FAIL);
}

static void run_child(const struct kc_subtest *st)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigaction(SIGALRM, &sa, NULL);
	alarm(subtest_timeout);
	st->fn();
	kc_finish(KSFT_PASS, NULL);
}

static void verdict_from_status(int status, struct kc_result *res)
{
	if (WIFSIGNALED(status)) {
		res->verdict = KSFT_FAIL;
		snprintf(res->reason, sizeof(res->reason), "subtest crashed with signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else if (WEXITSTATUS(status) != res->verdict) {
		/* Exited without going through kc_finish(), e.g. exit() in library code. */
		res->verdict = KSFT_FAIL;
		snprintf(res->reason, sizeof(res->reason), "subtest exited with status %d",
			 WEXITSTATUS(status));
	}
}

static int run_subtest(const struct kc_subtest *st, struct kc_result *res)
{
	pid_t pid;
	int status;

	memset(res, 0, sizeof(*res));
	res->verdict = -1;
	fflush(stdout);
	kc_health_before();
	pid = fork();
	if (pid < 0) {
		res->verdict = KSFT_FAIL;
		snprintf(res->reason, sizeof(res->reason), "fork: %s", strerror(errno));
		return res->verdict;
	}
	if (pid == 0) {
		kc_health_child();
		run_child(st);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	verdict_from_status(status, res);
	kc_health_after(res, pid);
	return res->verdict;
}

static void print_verdict(int n, const char *name, const struct kc_result *res)
{
	if (res->verdict == KSFT_PASS)
		printf("ok %d %s\n", n, name);
	else if (res->verdict == KSFT_SKIP)
		printf("ok %d %s # SKIP %s\n", n, name, res->reason);
	else
		printf("not ok %d %s # %s\n", n, name, res->reason[0] ? res->reason : "failed");
	fflush(stdout);
}

/*
 * The runner's --timeout-scale (KVMCHECK_TIMEOUT_SCALE): on a kernel with KASAN or lockdep the
 * same subtest takes several times longer, and its bound must grow with the test's own.
 */
static unsigned int timeout_scale(void)
{
	const char *env = getenv("KVMCHECK_TIMEOUT_SCALE");
	char *end;
	unsigned long f;

	if (!env || !*env)
		return 1;
	f = strtoul(env, &end, 10);
	return *end || f < 1 || f > 100 ? 1 : (unsigned int)f;
}

static unsigned int remaining_s(const struct kc_test *t, time_t start)
{
	unsigned int f = timeout_scale();
	long left = (long)t->timeout_s * f - (long)(time(NULL) - start) - 2;
	unsigned int per = (t->subtest_timeout_s ? t->subtest_timeout_s : t->timeout_s) * f;

	if (left < 1)
		left = 1;
	return (unsigned int)left < per ? (unsigned int)left : per;
}

static int run_all(const struct kc_test *t, const struct kc_args *args)
{
	struct kc_result *res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const char *why = t->requires ? t->requires() : kvm_unavailable_reason();
	int n = 0, pass = 0, fail = 0, skip = 0;
	time_t start = time(NULL);

	if (res == MAP_FAILED) {
		printf("Bail out! mmap: %s\n", strerror(errno));
		return KSFT_FAIL;
	}
	kc_current_result = res;
	printf("TAP version 13\n1..%d\n", kc_count_selected(t, args));
	if (t->patch)
		printf("# verifies: %s\n", t->patch->subject);
	if (!why && kc_count_selected(t, args))
		kc_health_init(t);
	for (const struct kc_subtest *st = t->subtests; st->name; st++) {
		if (!kc_selected(args, st->name))
			continue;
		n++;
		if (why) {
			res->verdict = KSFT_SKIP;
			snprintf(res->reason, sizeof(res->reason), "%s", why);
		} else {
			subtest_timeout = remaining_s(t, start);
			run_subtest(st, res);
		}
		print_verdict(n, st->name, res);
		pass += res->verdict == KSFT_PASS;
		skip += res->verdict == KSFT_SKIP;
		fail += res->verdict != KSFT_PASS && res->verdict != KSFT_SKIP;
	}
	printf("# Totals: pass:%d fail:%d skip:%d\n", pass, fail, skip);
	munmap(res, sizeof(*res));
	kc_current_result = NULL;
	if (fail)
		return KSFT_FAIL;
	return pass || !skip ? KSFT_PASS : KSFT_SKIP;
}

int kc_main(const struct kc_test *t, int argc, char **argv)
{
	struct kc_args args;
	int ret = kc_parse_args(t, argc, argv, &args);

	if (ret >= 0)
		return ret;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_all(t, &args);
}
