// SPDX-License-Identifier: GPL-2.0-only
/*
 * --import-tap FILE: the runner's TAP stream came back from somewhere else
 * (a QEMU guest's serial line).  Rebuild each test from it and report as if
 * the run had happened here.  A serial line adds "\r\n" and whatever the
 * firmware printed first, and a crashed guest cuts the stream short: the
 * tests it never reported count as failed.
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

static void add_facts(struct stream *st, const char *line)
{
	struct test *t = st->ntests ? st->tests[st->ntests - 1] : NULL;
	double duration;
	int number, status, n = 0;

	if (sscanf(line, "%d duration_s=%lf exit_status=%n", &number, &duration, &n) < 2 || !n)
		return;
	if (!t || number != st->ntests)
		return;
	t->duration = duration;
	if (sscanf(line + n, "%d", &status) == 1 && status >= 0)
		t->exit_status = status;
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

static void top_line(struct stream *st, const char *line)
{
	struct tap_line tl;

	if (tap_parse_line(line, &tl)) {
		add_result(st, &tl);
		tap_line_free(&tl);
	} else if (st->plan < 0 && tap_parse_plan(line, &st->plan, NULL)) {
		return;
	} else if (!strncmp(line, "# kvmcheck: ", 12)) {
		header_line(st, line);
	} else if (!strncmp(line, "# kvmcheck-test: ", 17)) {
		add_facts(st, line + 17);
	} else if (!strncmp(line, "# kvmcheck-exit: ", 17)) {
		st->rc = atoi(line + 17);
	}
	/* Anything else is console noise or the summary, which is recomputed. */
}

static void stream_line(struct stream *st, char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		line[--n] = '\0';
	if (!st->started || !strcmp(line, "TAP version 13")) {
		/* A second start means the guest ran again: the last run counts. */
		if (strstr(line, "TAP version 13")) {
			int rc = st->rc;

			stream_reset(st);
			st->rc = rc;
			st->started = true;
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
	struct suite here = { .tests = xcalloc(local->ntests, sizeof(struct test)) };

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
 * Name the tests the stream never reported.  When the guest ran the whole
 * tests.list that is here too, they are the ones missing from the stream.
 */
static char *missing_name(const struct stream *st, const struct suite *local, int number)
{
	int skip = number - st->ntests - 1;

	if (number == st->ntests + 1 && st->block_name)
		return xstrdup(st->block_name);
	if (local->ntests == st->plan) {
		for (int i = 0; i < local->ntests; i++) {
			const char *name = local->tests[i].name;

			if (reported(st, name) || (st->block_name && !strcmp(name, st->block_name)))
				continue;
			if (!skip--)
				return xstrdup(name);
		}
	}
	return xasprintf("(unreported test %d)", number);
}

static void add_missing(struct stream *st, const struct suite *local)
{
	char *why;
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
	while (st->ntests < total) {
		struct test *t = new_test(st, missing_name(st, local, st->ntests + 1));

		t->verdict = V_FAIL;
		t->reason = xstrdup(why);
	}
	if (st->plan < 0)
		st->plan = total;
	free(why);
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
	if (st.plan < 0 && st.ntests)
		st.plan = st.ntests;	/* the plan line was garbled, the results were not */
	if (st.plan < 0 || st.ntests < st.plan)
		add_missing(&st, &local);
	load_meta(&st, &local);
	emit(&st, r);
	rc = r->counts.failed ? 1 : 0;
	if (!st.started && st.rc > 0) {
		rc = st.rc;	/* e.g. 2: the command line there was wrong */
	} else if (!rc && st.rc > 0) {
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
