// SPDX-License-Identifier: GPL-2.0-only
/* A run on this machine: start the selected tests and report each as it ends. */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "runner.h"

static char **test_argv(const struct suite *s, const struct test *t)
{
	char **argv = test_command(s->emulator, t->path, 2 * t->nonly);
	int n = s->emulator ? 2 : 1;

	for (int i = 0; i < t->nonly; i++) {
		argv[n++] = "-s";
		argv[n++] = t->only[i];
	}
	return argv;
}

static void test_started(struct job *job)
{
	const struct test *t = job->priv;

	tap_test_started(t->name);
}

static void test_done(struct job *job, void *ctx)
{
	struct test *t = job->priv;

	t->out = job->out;
	memset(&job->out, 0, sizeof(job->out));
	t->duration = job->duration;
	if (job->spawn_errno || job->interrupted) {
		tap_parse(&t->tap, &t->out);
		t->verdict = V_FAIL;
		t->reason = job->spawn_errno ?
			xasprintf("cannot start: %s", strerror(job->spawn_errno)) :
			xasprintf("interrupted (the runner got %s)",
				  signal_name(exec_interrupted()));
	} else {
		result_decide(t, job->timed_out,
			      WIFSIGNALED(job->status) ? WTERMSIG(job->status) : 0,
			      WIFEXITED(job->status) ? WEXITSTATUS(job->status) : 0);
	}
	run_finish_test(ctx, t);
}

void run_finish_test(struct run *r, struct test *t)
{
	r->done = xrealloc(r->done, (r->ndone + 1) * sizeof(*r->done));
	r->done[r->ndone++] = t;
	t->number = r->ndone;
	result_count(t, &r->counts);
	tap_report_test(t);
	if (r->results_dir)
		results_write(r->results_dir, t);
}

/* After SIGINT/SIGTERM the plan still has to add up: the rest are skipped. */
static void finish_unstarted(struct run *r, struct job *jobs, struct suite *s)
{
	for (int i = 0; i < s->ntests; i++) {
		struct test *t = &s->tests[i];

		if (jobs[i].started)
			continue;
		t->verdict = V_SKIP;
		t->reason = xasprintf("not run: the runner got %s",
				      signal_name(exec_interrupted()));
		run_finish_test(r, t);
	}
	warn("interrupted by %s", signal_name(exec_interrupted()));
	r->interrupted = true;
}

static void host_identity(struct run *r)
{
	struct utsname u;

	if (uname(&u)) {
		r->kernel = xstrdup("unknown");
		r->machine = xstrdup("unknown");
		return;
	}
	r->kernel = xstrdup(u.release);
	r->machine = xstrdup(u.machine);
}

/*
 * The exit status a run's counts claim: 1 when something failed (or the run was cut short),
 * 4 when tests ran but every subtest skipped, since "nothing failed" is not "it works" when
 * nothing was tested (missing /dev/kvm, hardware or capabilities), else 0.
 */
int run_status(const struct run *r)
{
	if (r->counts.failed || r->interrupted)
		return 1;
	if (!r->counts.passed) {
		warn("nothing was tested: every subtest skipped (exit %d)", EXIT_NOTHING_TESTED);
		return EXIT_NOTHING_TESTED;
	}
	return 0;
}

int run_suite(struct suite *s, const struct options *o, struct run *r)
{
	struct job *jobs = xcalloc(s->ntests, sizeof(*jobs));
	struct job **order = xcalloc(s->ntests, sizeof(*order));

	host_identity(r);
	tap_header(r->kernel, r->machine, s->ntests);
	for (int i = 0; i < s->ntests; i++) {
		jobs[i].argv = test_argv(s, &s->tests[i]);
		jobs[i].timeout = s->tests[i].timeout;
		jobs[i].priv = &s->tests[i];
		jobs[i].on_start = test_started;
		order[i] = &jobs[i];
	}
	exec_run(order, s->ntests, o->jobs, test_done, r);
	if (exec_interrupted())
		finish_unstarted(r, jobs, s);
	tap_summary(&r->counts);
	for (int i = 0; i < s->ntests; i++)
		free(jobs[i].argv);
	free(order);
	free(jobs);
	return run_status(r);
}

void run_free(struct run *r)
{
	free(r->kernel);
	free(r->machine);
	for (int i = 0; r->owns_tests && i < r->ndone; i++) {
		test_free(r->done[i]);
		free(r->done[i]);
	}
	free(r->done);
}
