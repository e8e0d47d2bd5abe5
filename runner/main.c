// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmcheck-run: run the kvmcheck tests and report TAP 13, JSON and JUnit.
 * See docs/PROTOCOL.md.
 */
#include <stdio.h>
#include <stdlib.h>

#include "runner.h"

struct reports {
	FILE *json;
	FILE *junit;
};

static void open_reports(struct reports *rep, const struct options *o)
{
	rep->json = o->json ? open_report(o->json) : NULL;
	rep->junit = o->junit && !o->list ? open_report(o->junit) : NULL;
	if (o->results)
		results_prepare(o->results);
}

static int run_here(const struct options *o, struct run *r, struct reports *rep)
{
	char *dir = o->dir ? xstrdup(o->dir) : self_dir();
	struct suite s;
	int rc = 0;

	suite_load(&s, dir);
	s.emulator = o->emulator;
	/* A run of nothing would end "0 passed, 0 failed" and exit 0: a claim never tested. */
	if (!s.ntests)
		die_usage("%s/tests.list names no test", dir);
	suite_select(&s, o);
	/* Only now: a usage error must not leave empty report files behind. */
	open_reports(rep, o);
	if (o->list) {
		list_tests(&s, rep->json);
		rep->json = NULL;
		/* A list with a test whose --meta failed is not the metadata asked for. */
		for (int i = 0; i < s.ntests; i++)
			rc |= !s.tests[i].meta.valid;
	} else {
		rc = run_suite(&s, o, r);
		if (rep->json)
			report_json(rep->json, o->json, r);
		if (rep->junit)
			report_junit(rep->junit, o->junit, r);
	}
	run_free(r);
	suite_free(&s);
	free(dir);
	return rc;
}

static int run_import(const struct options *o, struct run *r, struct reports *rep)
{
	int rc;

	open_reports(rep, o);
	rc = import_tap(o, r);
	if (rep->json)
		report_json(rep->json, o->json, r);
	if (rep->junit)
		report_junit(rep->junit, o->junit, r);
	run_free(r);
	return rc;
}

/*
 * The tests bound each subtest themselves (lib/harness.c): they take the same factor from the
 * environment, so a subtest's bound grows with its test's.
 */
static void export_timeout_scale(int f)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", f);
	if (setenv("KVMCHECK_TIMEOUT_SCALE", buf, 1)) {
		perror(PROG ": setenv");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct options o;
	struct reports rep = { 0 };
	struct run r = { 0 };
	int rc;

	options_parse(&o, argc, argv);
	export_timeout_scale(o.timeout_scale);
	exec_init();
	r.target = getenv("KVMCHECK_TARGET");
	if (!r.target || !*r.target)
		r.target = "host";
	r.results_dir = o.results;
	if (o.import_tap)
		rc = run_import(&o, &r, &rep);
	else
		rc = run_here(&o, &r, &rep);
	options_free(&o);
	return rc;
}
