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

/*
 * --repeat N: every selected test runs N times (round after round, -j as asked), each run in
 * its own copy of the test, and is reported once, when its last run ends. The runs that failed
 * decide: none, the first run's verdict; all, the first failure's verdict; some, FAIL, "flaky:
 * F:N runs failed". The output shown is the first failing run's (its subtests say what
 * failed), else the first run's.
 */
struct repeat {
	struct run *r;
	struct suite *s;
	struct test *copies;	/* round * ntests + i */
	int *ended;		/* per test: runs ended */
	int n;
};

static bool failing(enum verdict v)
{
	return v == V_FAIL || v == V_TIMEOUT || v == V_CRASH;
}

static void repeat_report(struct repeat *rp, int i)
{
	struct test *t = &rp->s->tests[i], *shown = &rp->copies[i];
	int failed = 0, passed = 0;

	/* Shown: the first failing run, else the first run (copies[i] is round 0's). */
	t->duration = 0;
	for (int k = 0; k < rp->n; k++) {
		struct test *c = &rp->copies[k * rp->s->ntests + i];

		t->duration += c->duration;
		failed += failing(c->verdict);
		passed += c->verdict == V_PASS;
		if (failing(c->verdict) && !failing(shown->verdict))
			shown = c;
	}
	t->out = shown->out;
	t->tap = shown->tap;
	t->exit_status = shown->exit_status;
	t->signal = shown->signal;
	memset(&shown->out, 0, sizeof(shown->out));
	memset(&shown->tap, 0, sizeof(shown->tap));
	t->runs = rp->n;
	t->failed_runs = failed;
	if (!failed) {
		t->verdict = passed ? V_PASS : V_SKIP;
		t->reason = shown->reason ? xstrdup(shown->reason) : NULL;
	} else if (failed == rp->n) {
		t->verdict = shown->verdict;
		t->reason = xasprintf("%d:%d runs failed: %s", failed, rp->n,
				      shown->reason ? shown->reason : verdict_name(shown->verdict));
	} else {
		t->verdict = V_FAIL;
		t->reason = xasprintf("flaky: %d:%d runs failed (first: %s: %s)", failed, rp->n,
				      verdict_name(shown->verdict),
				      shown->reason ? shown->reason : "no reason given");
	}
	run_finish_test(rp->r, t);
}

static void repeat_done(struct job *job, void *ctx)
{
	struct repeat *rp = ctx;
	struct test *c = job->priv;
	int i = (int)((c - rp->copies) % rp->s->ntests);

	if (job->spawn_errno || job->interrupted) {
		tap_parse(&c->tap, &job->out);
		c->verdict = V_FAIL;
		c->reason = job->spawn_errno ?
			xasprintf("cannot start: %s", strerror(job->spawn_errno)) :
			xasprintf("interrupted (the runner got %s)",
				  signal_name(exec_interrupted()));
		c->out = job->out;
		memset(&job->out, 0, sizeof(job->out));
		c->duration = job->duration;
	} else {
		c->out = job->out;
		memset(&job->out, 0, sizeof(job->out));
		c->duration = job->duration;
		result_decide(c, job->timed_out,
			      WIFSIGNALED(job->status) ? WTERMSIG(job->status) : 0,
			      WIFEXITED(job->status) ? WEXITSTATUS(job->status) : 0);
	}
	if (++rp->ended[i] == rp->n)
		repeat_report(rp, i);
}

static int run_repeated(struct suite *s, const struct options *o, struct run *r)
{
	int n = s->ntests * o->repeat;
	struct repeat rp = { .r = r, .s = s, .n = o->repeat };
	struct job *jobs = xcalloc(n, sizeof(*jobs));
	struct job **order = xcalloc(n, sizeof(*order));

	rp.copies = xcalloc(n, sizeof(*rp.copies));
	rp.ended = xcalloc(s->ntests, sizeof(*rp.ended));
	host_identity(r);
	tap_header(r->kernel, r->machine, s->ntests);
	for (int k = 0; k < n; k++) {
		struct test *t = &s->tests[k % s->ntests], *c = &rp.copies[k];

		/* The copy shares the test's name, path and metadata; only its result is its own. */
		c->name = t->name;
		c->path = t->path;
		c->only = t->only;
		c->nonly = t->nonly;
		c->timeout = t->timeout;
		c->meta = t->meta;
		c->exit_status = -1;
		jobs[k].argv = test_argv(s, t);
		jobs[k].timeout = t->timeout;
		jobs[k].priv = c;
		jobs[k].on_start = test_started;
		order[k] = &jobs[k];
	}
	exec_run(order, n, o->jobs, repeat_done, &rp);
	if (exec_interrupted()) {
		for (int i = 0; i < s->ntests; i++) {
			if (rp.ended[i] == rp.n)
				continue;
			s->tests[i].verdict = V_SKIP;
			s->tests[i].reason = xasprintf("not run %d of %d times: the runner got %s",
						       rp.n - rp.ended[i], rp.n,
						       signal_name(exec_interrupted()));
			run_finish_test(r, &s->tests[i]);
		}
		warn("interrupted by %s", signal_name(exec_interrupted()));
		r->interrupted = true;
	}
	tap_summary(&r->counts);
	for (int k = 0; k < n; k++) {
		free(jobs[k].argv);
		free(rp.copies[k].reason);
		buf_free(&rp.copies[k].out);
		tap_free(&rp.copies[k].tap);
	}
	free(rp.copies);
	free(rp.ended);
	free(order);
	free(jobs);
	return run_status(r);
}

int run_suite(struct suite *s, const struct options *o, struct run *r)
{
	struct job *jobs;
	struct job **order;

	if (o->repeat > 1)
		return run_repeated(s, o, r);
	jobs = xcalloc(s->ntests, sizeof(*jobs));
	order = xcalloc(s->ntests, sizeof(*order));
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
