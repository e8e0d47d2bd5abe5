// SPDX-License-Identifier: GPL-2.0-only
/*
 * Running child processes: each in its own process group, stdout and stderr
 * through one pipe, at most N at a time, killed as a group on timeout or
 * when the runner itself is interrupted.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"

/* SIGCHLD and SIGINT/SIGTERM wake poll() through this pipe. */
static int wake_pipe[2] = { -1, -1 };
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	int saved = errno;
	ssize_t r;

	if (sig != SIGCHLD)
		interrupted = sig;
	r = write(wake_pipe[1], "", 1);
	(void)r;	/* a full pipe already wakes poll() */
	errno = saved;
}

int exec_interrupted(void)
{
	return interrupted;
}

void exec_init(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART | SA_NOCLDSTOP };

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK))
		die_usage("pipe: %s", strerror(errno));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	orphans_adopt();
	/* A reader that went away must not kill us before the children are reaped. */
	signal(SIGPIPE, SIG_IGN);
}

static void __attribute__((noreturn)) child(const struct job *job, int out)
{
	sigset_t none;
	int null;

	setpgid(0, 0);
	/* An ignored signal stays ignored across exec: give tests the defaults. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != 0) {
		dup2(null, 0);
		close(null);
	}
	dup2(out, 1);
	dup2(out, 2);
	/* dup2() onto itself (the runner began with fd 1 closed) keeps CLOEXEC. */
	fcntl(1, F_SETFD, 0);
	fcntl(2, F_SETFD, 0);
	execv(job->argv[0], job->argv);
	dprintf(2, "# " PROG ": cannot execute %s: %s\n", job->argv[0], strerror(errno));
	_exit(127);
}

static void start(struct job *job)
{
	int p[2];

	job->started = true;
	job->fd = -1;
	job->start = now_s();
	job->deadline = job->timeout > 0 ? job->start + job->timeout : 0;
	if (pipe2(p, O_CLOEXEC)) {
		job->spawn_errno = errno;
		return;
	}
	job->pid = fork();
	if (job->pid < 0) {
		job->spawn_errno = errno;
		job->pid = 0;
		close(p[0]);
		close(p[1]);
		return;
	}
	if (!job->pid)
		child(job, p[1]);
	/* Also here: a kill before the child ran setpgid() must find the group. */
	setpgid(job->pid, job->pid);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	job->fd = p[0];
}

/* Past the cut only what decides the verdict is kept. */
static bool is_tap_result(const struct buf *line)
{
	static const char *const starts[] = { "ok", "not ok", "1..", "Bail out!" };

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		if (line->len >= strlen(starts[i]) &&
		    !memcmp(line->data, starts[i], strlen(starts[i])))
			return true;
	return false;
}

static void end_partial_line(struct job *job)
{
	if (job->partial.len && is_tap_result(&job->partial)) {
		buf_add(&job->out, job->partial.data, job->partial.len);
		buf_adds(&job->out, "\n");
	}
	job->partial.len = 0;
}

static void keep_tap_lines(struct job *job, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n')
			end_partial_line(job);
		else if (job->partial.len < 4096)
			buf_add(&job->partial, &data[i], 1);
	}
}

/*
 * A test that floods its output must not take the memory of a small guest,
 * but its result lines at the end still count.
 */
static void keep_output(struct job *job, const char *data, size_t n)
{
	size_t room = MAX_OUTPUT - job->out.len;

	if (!job->cut && n <= room) {
		buf_add(&job->out, data, n);
		return;
	}
	if (!job->cut) {
		buf_add(&job->out, data, room);
		buf_printf(&job->out, "\n# " PROG ": output cut at %u bytes, "
			   "only TAP result lines kept\n", MAX_OUTPUT);
		job->cut = true;
		/* The rest of the line that was cut is not a line of its own. */
		buf_adds(&job->partial, "...");
		data += room;
		n -= room;
	}
	keep_tap_lines(job, data, n);
}

static void read_output(struct job *job)
{
	char chunk[8192];
	ssize_t n;

	while ((n = read(job->fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			break;
		}
		keep_output(job, chunk, n);
	}
	close(job->fd);
	job->fd = -1;
	end_partial_line(job);
	buf_free(&job->partial);
}

static void kill_group(struct job *job)
{
	if (job->pid > 0)
		kill(-job->pid, SIGKILL);
}

/*
 * Reaped only after its group is killed: the zombie keeps the pid, so the
 * group id cannot have been reused by an unrelated process.
 */
static bool reap(struct job *job)
{
	siginfo_t si = { 0 };

	if (waitid(P_PID, job->pid, &si, WEXITED | WNOHANG | WNOWAIT) || !si.si_pid)
		return false;
	kill_group(job);
	while (waitpid(job->pid, &job->status, 0) < 0 && errno == EINTR)
		;
	job->duration = now_s() - job->start;
	/* What the test wrote before it died is in the pipe; stragglers are dead. */
	if (job->fd >= 0)
		read_output(job);
	if (job->fd >= 0) {
		close(job->fd);
		job->fd = -1;
		end_partial_line(job);
		buf_free(&job->partial);
	}
	job->pid = 0;
	return true;
}

static void drain_wake_pipe(void)
{
	char junk[64];

	while (read(wake_pipe[0], junk, sizeof(junk)) > 0)
		;
}

static int poll_timeout_ms(struct job **running, int n)
{
	double first = 0, now = now_s();

	for (int i = 0; i < n; i++)
		if (running[i]->deadline && !running[i]->timed_out &&
		    (!first || running[i]->deadline < first))
			first = running[i]->deadline;
	if (!first)
		return -1;
	if (first <= now)
		return 0;
	return (int)((first - now) * 1000) + 1;
}

static void wait_events(struct job **running, int n)
{
	struct pollfd *fds = xcalloc(n + 1, sizeof(*fds));
	int nfds = 1;

	fds[0].fd = wake_pipe[0];
	fds[0].events = POLLIN;
	for (int i = 0; i < n; i++) {
		if (running[i]->fd < 0)
			continue;
		fds[nfds].fd = running[i]->fd;
		fds[nfds++].events = POLLIN;
	}
	poll(fds, nfds, poll_timeout_ms(running, n));
	free(fds);
	drain_wake_pipe();
}

static void check_job(struct job *job, double now)
{
	if (job->fd >= 0)
		read_output(job);
	if (interrupted && !job->interrupted && !job->timed_out) {
		job->interrupted = true;
		kill_group(job);
	}
	if (job->deadline && now >= job->deadline && !job->timed_out && !job->interrupted) {
		job->timed_out = true;
		kill_group(job);
	}
}

static void kill_orphans(struct job **running, int n)
{
	pid_t *groups = xcalloc(n, sizeof(*groups));

	for (int i = 0; i < n; i++)
		groups[i] = running[i]->pid;
	orphans_kill(groups, n);
	free(groups);
}

/* Start a job; one that could not even start is finished at once. */
static bool launch(struct job *job, job_done_fn done, void *ctx)
{
	start(job);
	if (job->pid) {
		if (job->on_start)
			job->on_start(job);
		return true;
	}
	done(job, ctx);
	return false;
}

void exec_run(struct job **jobs, int n, int parallel, job_done_fn done, void *ctx)
{
	struct job **running = xcalloc(parallel, sizeof(*running));
	int nrunning = 0, next = 0;

	while (nrunning || (next < n && !interrupted)) {
		while (!interrupted && nrunning < parallel && next < n)
			if (launch(jobs[next], done, ctx))
				running[nrunning++] = jobs[next++];
			else
				next++;
		if (!nrunning)
			continue;
		wait_events(running, nrunning);
		for (int i = 0; i < nrunning; i++) {
			check_job(running[i], now_s());
			if (!reap(running[i]))
				continue;
			done(running[i], ctx);
			running[i--] = running[--nrunning];
			kill_orphans(running, nrunning);
		}
	}
	free(running);
}
