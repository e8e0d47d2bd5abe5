// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmcheck-upstream: one upstream KVM selftest (tools/testing/selftests/kvm) as a kvmcheck test
 * program. The runner only runs programs that keep docs/PROTOCOL.md's contract (--meta, --list,
 * -s, one TAP line per declared subtest); upstream binaries keep kselftest's (exit 0 pass, 4 skip,
 * anything else fail; TAP when they print it). This program is the bridge, so the runner stays
 * the one judge and the kernel-health rules of lib/harness_health.c apply to upstream tests too.
 *
 * It is installed once per build dir and reached through one symlink per test:
 *   DIR/upstream/x86/xapic_state_test -> ../../kvmcheck-upstream   (what tests.list names)
 *   DIR/upstream-bin/x86/xapic_state_test                          (the upstream binary)
 *   DIR/upstream-bin/x86/xapic_state_test.meta                     (key=value lines)
 * argv[0] says which test it is. The .meta file (written by scripts/kvmcheck/upstream.py) holds
 * summary=, groups=, timeout= (upstream's settings file) and paths= (kernel sources, comma
 * separated, for reviewer mode) and, for a test that did not build, build_error= (the
 * compiler's first error: the test is a FAIL row saying so, never silently absent).
 *
 * The test declares one subtest, named after the program: upstream tests report their own
 * subtests in TAP only when they run, and the runner's contract wants the plan before that. The
 * upstream output is kept as diagnostics, and the reason of a FAIL or SKIP is taken from it
 * (the failing TAP line or the "Test Assertion Failure" report, the "# SKIP" text).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kvmcheck/test.h"
#include "kvmcheck/report.h"

#define MAX_PATHS 32
#define LINE_MAX_LEN 1024

static char real_bin[4096];
static char test_name[512];
static char sub_name[256];
static char summary[512] = "upstream KVM selftest";
static char groups[256] = "upstream";
static char paths_buf[2048];
static const char *paths[MAX_PATHS + 1];
static unsigned int timeout_s = 120;
static char build_error[KC_REASON_SIZE - 64];

static char skip_reason[KC_REASON_SIZE];
static char fail_reason[KC_REASON_SIZE];
static int assert_lines;	/* lines of a "Test Assertion Failure" report still to take */
static int tap_pass, tap_fail, tap_skip;

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

static void append(char *dst, size_t size, const char *src)
{
	size_t n = strlen(dst);

	if (n + 1 < size)
		snprintf(dst + n, size - n, "%s%s", n ? " | " : "", src);
}

static void read_meta(const char *file)
{
	char line[LINE_MAX_LEN];
	FILE *f = fopen(file, "r");
	int n = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *val = strchr(line, '=');

		if (!val)
			continue;
		*val++ = '\0';
		chomp(val);
		if (!strcmp(line, "summary"))
			snprintf(summary, sizeof(summary), "%s", val);
		else if (!strcmp(line, "groups"))
			snprintf(groups, sizeof(groups), "%s", val);
		else if (!strcmp(line, "timeout") && atoi(val) > 0)
			timeout_s = (unsigned int)atoi(val);
		else if (!strcmp(line, "paths"))
			snprintf(paths_buf, sizeof(paths_buf), "%s", val);
		else if (!strcmp(line, "build_error"))
			snprintf(build_error, sizeof(build_error), "%s", val);
	}
	fclose(f);
	for (char *save, *p = strtok_r(paths_buf, ",", &save); p && n < MAX_PATHS;
	     p = strtok_r(NULL, ",", &save))
		paths[n++] = p;
	paths[n] = NULL;
}

/* argv[0] is DIR/upstream/REL: the test is upstream/REL, its binary DIR/upstream-bin/REL. */
static int locate(const char *argv0)
{
	const char *p = NULL, *q = argv0;
	char meta[sizeof(real_bin) + 8];
	const char *base;

	while ((q = strstr(q, "upstream/"))) {
		if (q == argv0 || q[-1] == '/')
			p = q;
		q++;
	}
	if (!p || !p[9])
		return -1;
	snprintf(test_name, sizeof(test_name), "%s", p);
	snprintf(real_bin, sizeof(real_bin), "%.*supstream-bin/%s", (int)(p - argv0), argv0, p + 9);
	base = strrchr(p, '/') + 1;
	snprintf(sub_name, sizeof(sub_name), "%s", base);
	snprintf(meta, sizeof(meta), "%s.meta", real_bin);
	read_meta(meta);
	return 0;
}

static void take_line(char *line)
{
	const char *s;

	chomp(line);
	printf("# | %s\n", line);
	if (assert_lines > 0) {
		/*
		 * The report is the expression, "pid=... errno=...", a backtrace ("  1\t0x...:
		 * main at x.c:12", "(inlined by) ..."), then the test's own message: the reason is
		 * the expression and the message.
		 */
		const char *t = line + strspn(line, " \t");
		size_t digits = strspn(t, "0123456789");

		/* No addr2line in the guest: the backtrace helper's complaint is no message. */
		if (*t && strncmp(t, "pid=", 4) && !(digits && t[digits] == '\t') &&
		    !strstr(t, "(inlined by)") && !strstr(t, "addr2line") &&
		    !strstr(t, "(stack trace empty)") && !strstr(t, "Test Assertion Failure")) {
			append(fail_reason, sizeof(fail_reason), t);
			assert_lines--;
		}
	}
	if (strstr(line, "==== Test Assertion Failure ====")) {
		if (!fail_reason[0])
			assert_lines = 2;
		return;
	}
	if (!strncmp(line, "ok ", 3) && (s = strstr(line, "# SKIP"))) {
		tap_skip++;
		if (!skip_reason[0])
			snprintf(skip_reason, sizeof(skip_reason), "%s", s + 6 + strspn(s + 6, " -"));
	} else if (!strncmp(line, "1..0", 4) && (s = strstr(line, "SKIP"))) {
		if (!skip_reason[0])
			snprintf(skip_reason, sizeof(skip_reason), "%s", s + 4 + strspn(s + 4, " -"));
	} else if (!strncmp(line, "ok ", 3)) {
		tap_pass++;
	} else if (!strncmp(line, "not ok ", 7)) {
		tap_fail++;
		if (!fail_reason[0])
			snprintf(fail_reason, sizeof(fail_reason), "TAP: %s", line);
	}
}

static void kill_and_reap(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void run_upstream(void)
{
	char buf[LINE_MAX_LEN], line[LINE_MAX_LEN], why[KC_REASON_SIZE];
	/* The harness's own alarm ends this process at timeout - 2 s: stop the test before. */
	time_t deadline = time(NULL) + (timeout_s > 6 ? timeout_s - 4 : timeout_s);
	size_t len = 0;
	int fds[2], status;
	pid_t pid;

	if (build_error[0]) {
		snprintf(why, sizeof(why), "did not build with this machine's compiler: %s",
			 build_error);
		kc_finish(KSFT_FAIL, why);
	}
	if (access(real_bin, X_OK))
		kc_finish(KSFT_FAIL, "the upstream binary is missing from this build");
	if (pipe2(fds, O_CLOEXEC))
		kc_finish(KSFT_FAIL, "pipe failed");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		kc_finish(KSFT_FAIL, "fork failed");
	if (pid == 0) {
		char *argv[] = { real_bin, NULL };

		/* Its own process group: a timeout kills every process the test started. */
		setpgid(0, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execv(real_bin, argv);
		dprintf(2, "cannot execute %s: %s\n", real_bin, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		long left = (long)(deadline - time(NULL));
		ssize_t n;

		if (left <= 0) {
			kill_and_reap(pid);
			snprintf(why, sizeof(why), "TIMEOUT after %u s (upstream's settings file)",
				 timeout_s);
			kc_finish(KSFT_FAIL, why);
		}
		if (poll(&pfd, 1, (int)(left > 1 ? 1000 : left * 1000)) <= 0)
			continue;
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n' && len < sizeof(line) - 1) {
				line[len++] = buf[i];
				continue;
			}
			if (buf[i] != '\n')
				continue;	/* an over-long line is cut, not split */
			line[len] = '\0';
			take_line(line);
			len = 0;
		}
	}
	if (len) {
		line[len] = '\0';
		take_line(line);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			kc_finish(KSFT_FAIL, "waitpid failed");
	}
	/* A process the test left in its group would hold KVM objects: none may outlive it. */
	kill(-pid, SIGKILL);
	if (tap_pass + tap_fail + tap_skip)
		printf("# upstream TAP: pass:%d fail:%d skip:%d\n", tap_pass, tap_fail, tap_skip);
	if (WIFSIGNALED(status)) {
		snprintf(why, sizeof(why), "killed by signal %d (%s)%s%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), fail_reason[0] ? ": " : "", fail_reason);
		kc_finish(KSFT_FAIL, why);
	}
	switch (WEXITSTATUS(status)) {
	case KSFT_PASS:
		if (tap_fail)
			kc_finish(KSFT_FAIL, fail_reason);
		kc_finish(KSFT_PASS, NULL);
	case KSFT_SKIP:
		kc_finish(KSFT_SKIP, skip_reason[0] ? skip_reason : "exit status 4 (kselftest skip)");
	default:
		snprintf(why, sizeof(why), "exit status %d%s%s", WEXITSTATUS(status),
			 fail_reason[0] ? ": " : "", fail_reason);
		kc_finish(KSFT_FAIL, why);
	}
}

/* The upstream test decides what it needs (its own skip and reason): always run it. */
static const char *no_requirement(void)
{
	return NULL;
}

int main(int argc, char **argv)
{
	static struct kc_subtest subtests[2];
	static const struct kc_option no_options[1];
	static struct kc_test test;

	if (locate(argv[0])) {
		fprintf(stderr, "kvmcheck-upstream: run me through a DIR/upstream/NAME link, not as %s\n",
			argv[0]);
		return 2;
	}
	subtests[0].name = sub_name;
	subtests[0].fn = run_upstream;
	test.name = test_name;
	test.summary = summary;
	test.groups = groups;
	test.timeout_s = timeout_s;
	test.paths = paths;
	test.subtests = subtests;
	test.options = no_options;
	test.requires = no_requirement;
	return kc_main(&test, argc, argv);
}
