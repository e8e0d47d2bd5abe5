// SPDX-License-Identifier: GPL-2.0-only
/*
 * --import-tap FILE: the runner's TAP stream came back from somewhere else
 * (a QEMU guest's serial line).  Rebuild each test from it and report as if
 * the run had happened here.  A serial line adds "\r\n" and whatever the
 * firmware printed first, and a crashed guest cuts the stream short: the
 * tests it never reported count as failed.
 *
 * The verdicts and counts are the guest's: each result line is followed by
 * "# kvmcheck-test: N ... verdict=NAME", and the import recounts from the
 * same TAP with the same rules, then checks its counts against the guest's
 * own summary line.  A host that saw the guest kernel crash under a test
 * writes "not ok N NAME # CRASHED <reason>" for it, and may then append
 * the stream of a second boot that ran the remaining tests: that stream
 * continues this run instead of replacing it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"

#define INDENT "    "
#define SUBTEST_HEADER "# Subtest: "

struct stream {
	bool started;
	int plan;		/* -1: not seen */
	int rc;			/* "# kvmcheck-exit: RC", -1: not seen */
	int base;		/* tests before this boot's stream (after a crash) */
	int segments;		/* runner streams merged into this run */
	bool summary_seen;	/* the last segment's "N passed, ..." line */
	struct counts summary;
	char **started_names;	/* "# kvmcheck: start NAME", in order */
	int nstarted;
	bool last_has_facts;	/* the runner there wrote the last result */
	char *kernel;
	char *machine;
	struct test **tests;
	int ntests;
	struct buf block;	/* output of the test whose result line is next */
	char *block_name;
};

static void stream_reset(struct stream *st)
{
	for (int i = 0; i < st->ntests; i++) {
		test_free(st->tests[i]);
		free(st->tests[i]);
	}
	free(st->tests);
	free(st->kernel);
	free(st->machine);
	buf_free(&st->block);
	free(st->block_name);
	strv_free(st->started_names, st->nstarted);
	memset(st, 0, sizeof(*st));
	st->plan = -1;
	st->rc = -1;
}

static struct test *new_test(struct stream *st, char *name)
{
	struct test *t = xcalloc(1, sizeof(*t));

	t->name = name;
	t->exit_status = -1;
	t->out = st->block;
	memset(&st->block, 0, sizeof(st->block));
	free(st->block_name);
	st->block_name = NULL;
	tap_parse(&t->tap, &t->out);
	st->tests = xrealloc(st->tests, (st->ntests + 1) * sizeof(*st->tests));
	st->tests[st->ntests++] = t;
	return t;
}

/* The verdict is the one the other runner printed; only its words are read. */
static void add_result(struct stream *st, struct tap_line *tl)
{
	struct test *t = new_test(st, tl->name);
	const char *d = tl->directive;
	const char *skip = tap_skip_reason(d);

	tl->name = NULL;
	if (tl->ok) {
		t->verdict = skip ? V_SKIP : V_PASS;
		t->reason = skip && *skip ? xstrdup(skip) : NULL;
		return;
	}
	if (d && !strncmp(d, "TIMEOUT", 7))
		t->verdict = V_TIMEOUT;
	else if (d && !strncmp(d, "CRASHED", 7))
		t->verdict = V_CRASH;
	else
		t->verdict = V_FAIL;
	t->reason = d && *d ? xstrdup(d) : NULL;
}

/* The verdict the runner there decided, when the facts line names it. */
static void set_verdict(struct test *t, const char *facts)
{
	const char *v = strstr(facts, " verdict=");
	int verdict;

	if (!v)
		return;	/* a runner that did not write it: the words decide */
	v += 9;
	verdict = verdict_from_name(v, strcspn(v, " \t"));
	if (verdict < 0)
		return;
	t->verdict = verdict;
	/* "not ok N NAME # FAIL": the verdict's name stood in for no reason. */
	if (t->reason && !strcmp(t->reason, verdict_name(verdict))) {
		free(t->reason);
		t->reason = NULL;
	}
}

/* " runs=F:N" of a --repeat run: how many of its N runs failed. */
static void set_runs(struct test *t, const char *facts)
{
	const char *v = strstr(facts, " runs=");
	int failed, runs;

	if (v && sscanf(v + 6, "%d:%d", &failed, &runs) == 2 && runs > 1 &&
	    failed >= 0 && failed <= runs) {
		t->runs = runs;
		t->failed_runs = failed;
	}
}

static void add_facts(struct stream *st, const char *line)
{
	struct test *t = st->ntests ? st->tests[st->ntests - 1] : NULL;
	double duration;
	int number, status, n = 0;

	if (sscanf(line, "%d duration_s=%lf exit_status=%n", &number, &duration, &n) < 2 || !n)
		return;
	if (!t || number + st->base != st->ntests)
		return;
	t->duration = duration;
	if (sscanf(line + n, "%d", &status) == 1 && status >= 0)
		t->exit_status = status;
	set_verdict(t, line + n);
	set_runs(t, line + n);
	st->last_has_facts = true;
}

static void add_block_line(struct stream *st, const char *line)
{
	if (!st->block.len && !st->block_name &&
	    !strncmp(line, SUBTEST_HEADER, strlen(SUBTEST_HEADER))) {
		st->block_name = xstrdup(line + strlen(SUBTEST_HEADER));
		return;
	}
	buf_adds(&st->block, line);
	buf_adds(&st->block, "\n");
}

static void header_line(struct stream *st, const char *line)
{
	char kernel[256], machine[64];

	if (sscanf(line, "# kvmcheck: kernel %255s %63[^,],", kernel, machine) != 2)
		return;
	free(st->kernel);
	free(st->machine);
	st->kernel = xstrdup(kernel);
	st->machine = xstrdup(machine);
}

static void summary_line(struct stream *st, const char *line)
{
	struct counts c = { 0 };
	int n = 0;

	if (sscanf(line, "%d passed, %d failed, %d skipped%n",
		   &c.passed, &c.failed, &c.skipped, &n) == 3 && !line[n]) {
		st->summary = c;
		st->summary_seen = true;
	}
}

static void top_line(struct stream *st, const char *line)
{
	struct tap_line tl;

	if (tap_parse_line(line, &tl)) {
		add_result(st, &tl);
		st->last_has_facts = false;
		tap_line_free(&tl);
	} else if (st->plan < 0 && tap_parse_plan(line, &st->plan, NULL)) {
		return;
	} else if (!strncmp(line, "# kvmcheck: start ", 18)) {
		strv_push(&st->started_names, &st->nstarted, line + 18);
	} else if (!strncmp(line, "# kvmcheck: ", 12)) {
		header_line(st, line);
	} else if (!strncmp(line, "# kvmcheck-test: ", 17)) {
		add_facts(st, line + 17);
	} else if (!strncmp(line, "# kvmcheck-exit: ", 17)) {
		st->rc = atoi(line + 17);
	} else {
		/* The summary is recomputed, and checked against this one. */
		summary_line(st, line);
	}
	/* Anything else is console noise. */
}

/*
 * A boot after the host marked a test CRASHED carries on with the rest of
 * the tests: its results follow, numbered on from there.
 */
static bool continues_after_crash(const struct stream *st)
{
	const struct test *last = st->ntests ? st->tests[st->ntests - 1] : NULL;

	return st->started && last && last->verdict == V_CRASH && !st->last_has_facts &&
	       st->plan > st->ntests;
}

static void start_segment(struct stream *st)
{
	int rc = st->rc;

	if (continues_after_crash(st)) {
		st->base = st->ntests;
		st->segments++;
		st->summary_seen = false;
		buf_free(&st->block);
		free(st->block_name);
		st->block_name = NULL;
		return;
	}
	/* A second start otherwise means the guest ran again: the last run counts. */
	stream_reset(st);
	st->rc = rc;
	st->started = true;
	st->segments = 1;
}

static void stream_line(struct stream *st, char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		line[--n] = '\0';
	if (!st->started || !strcmp(line, "TAP version 13")) {
		if (strstr(line, "TAP version 13")) {
			start_segment(st);
		} else if (!strncmp(line, "# kvmcheck-exit: ", 17)) {
			st->rc = atoi(line + 17);
		}
		return;
	}
	if (!strncmp(line, INDENT, strlen(INDENT)))
		add_block_line(st, line + strlen(INDENT));
	else if (!*line && st->block.len)
		add_block_line(st, line);
	else
		top_line(st, line);
}

static void read_stream(struct stream *st, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		die_usage("cannot read %s: %s", path, strerror(errno));
	memset(st, 0, sizeof(*st));
	st->plan = -1;
	st->rc = -1;
	while (getline(&line, &cap, f) >= 0)
		stream_line(st, line);
	free(line);
	if (f != stdin)
		fclose(f);
}

static bool reported(const struct stream *st, const char *name)
{
	for (int i = 0; i < st->ntests; i++)
		if (!strcmp(st->tests[i]->name, name))
			return true;
	return false;
}

/*
 * Patch metadata is not in the stream; the build tree here usually holds
 * the same binaries.  Cross-built ones cannot run here: that is no error.
 */
static void load_meta(struct stream *st, const struct suite *local)
{
	struct suite here = { .tests = xcalloc(local->ntests, sizeof(struct test)),
			      .emulator = local->emulator };

	for (int i = 0; i < local->ntests; i++) {
		const struct test *l = &local->tests[i];
		struct test *t;

		if (!reported(st, l->name) || access(l->path, X_OK))
			continue;
		t = &here.tests[here.ntests++];
		t->name = xstrdup(l->name);
		t->path = xstrdup(l->path);
	}
	suite_load_meta(&here, 1, true);
	for (int i = 0; i < here.ntests; i++) {
		for (int k = 0; k < st->ntests; k++) {
			if (strcmp(here.tests[i].name, st->tests[k]->name))
				continue;
			st->tests[k]->meta = here.tests[i].meta;
			memset(&here.tests[i].meta, 0, sizeof(here.tests[i].meta));
			break;
		}
	}
	suite_free(&here);
}

/*
 * Name the tests the stream never reported, in order: the one whose output
 * was cut, the ones that had started, then, when the guest ran the whole
 * tests.list that is here too, the ones missing from the stream.
 */
static void missing_names(const struct stream *st, const struct suite *local,
			  char ***names, int *n)
{
	if (st->block_name)
		strv_push(names, n, st->block_name);
	for (int i = 0; i < st->nstarted; i++) {
		const char *name = st->started_names[i];

		if (!reported(st, name) && !strv_contains(*names, *n, name))
			strv_push(names, n, name);
	}
	if (local->ntests != st->plan)
		return;
	for (int i = 0; i < local->ntests; i++) {
		const char *name = local->tests[i].name;

		if (!reported(st, name) && !strv_contains(*names, *n, name))
			strv_push(names, n, name);
	}
}

static void add_missing(struct stream *st, const struct suite *local)
{
	char *why, **names = NULL;
	int nnames = 0, first = st->ntests;
	int total = st->plan > 0 ? st->plan : 1;

	if (!st->started && st->rc >= 0)
		why = xasprintf("the runner there exited with status %d before printing any TAP",
				st->rc);
	else if (st->plan < 0)
		why = xstrdup("output ended before the plan (guest crashed or did not start?)");
	else
		why = xasprintf("output ended after test %d of %d (guest crashed or timed out?)",
				st->ntests, st->plan);
	warn("%s", why);
	missing_names(st, local, &names, &nnames);
	while (st->ntests < total) {
		int k = st->ntests - first;
		struct test *t = new_test(st, k < nnames ? xstrdup(names[k]) :
					  xasprintf("(unreported test %d)", st->ntests + 1));

		t->verdict = V_FAIL;
		t->reason = xstrdup(why);
	}
	if (st->plan < 0)
		st->plan = total;
	strv_free(names, nnames);
	free(why);
}

/*
 * One run, one count: the counts recomputed here must be the ones the
 * runner there printed, or one of the two is lying.
 */
static int check_counts(const struct stream *st, const struct run *r, const char *path)
{
	const struct counts *c = &r->counts, *g = &st->summary;

	if (!st->summary_seen || st->segments != 1)
		return 0;
	if (c->passed == g->passed && c->failed == g->failed && c->skipped == g->skipped)
		return 0;
	warn("%s: the runner there counted %d passed, %d failed, %d skipped; "
	     "its TAP reads %d passed, %d failed, %d skipped", path, g->passed, g->failed,
	     g->skipped, c->passed, c->failed, c->skipped);
	return 1;
}

static void emit(struct stream *st, struct run *r)
{
	r->kernel = xstrdup(st->kernel ? st->kernel : "unknown");
	r->machine = xstrdup(st->machine ? st->machine : "unknown");
	tap_header(r->kernel, r->machine, st->plan > st->ntests ? st->plan : st->ntests);
	for (int i = 0; i < st->ntests; i++)
		run_finish_test(r, st->tests[i]);
	tap_summary(&r->counts);
}

int import_tap(const struct options *o, struct run *r)
{
	char *dir = o->dir ? xstrdup(o->dir) : self_dir();
	struct stream st;
	struct suite local;
	int rc;

	read_stream(&st, o->import_tap);
	if (!suite_try_load(&local, dir))
		memset(&local, 0, sizeof(local));
	local.emulator = o->emulator;
	if (st.plan < 0 && st.ntests)
		st.plan = st.ntests;	/* the plan line was garbled, the results were not */
	if (st.plan < 0 || st.ntests < st.plan) {
		add_missing(&st, &local);
		st.summary_seen = false;	/* it counted another run's end */
	}
	load_meta(&st, &local);
	emit(&st, r);
	rc = check_counts(&st, r, o->import_tap) ? 1 : run_status(r);
	if (!r->ndone) {
		warn("%s: the runner there ran no test (plan 1..0)", o->import_tap);
		rc = 1;
	}
	if (!st.started && st.rc > 0) {
		rc = st.rc;	/* e.g. 2: the command line there was wrong */
	} else if (rc != 1 && st.rc > 0 && st.rc != rc) {
		warn("the runner in %s exited with status %d", o->import_tap, st.rc);
		rc = 1;
	}
	/* The tests now belong to the run, which reports from them. */
	r->owns_tests = true;
	free(st.tests);
	st.tests = NULL;
	st.ntests = 0;
	stream_reset(&st);
	suite_free(&local);
	free(dir);
	return rc;
}
