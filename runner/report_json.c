// SPDX-License-Identifier: GPL-2.0-only
/* --json: the results of a run, for scripts and the matrix. */
#include <stdlib.h>

#include "runner.h"

static void put_subtests(struct buf *b, const struct tap *tap)
{
	buf_adds(b, "[");
	for (int i = 0; i < tap->nsubs; i++) {
		const struct subtest *s = &tap->subs[i];

		buf_adds(b, i ? ",\n        {\"name\": " : "\n        {\"name\": ");
		json_put_str(b, s->name);
		buf_printf(b, ", \"verdict\": \"%s\", \"reason\": ", verdict_name(s->verdict));
		json_put_str(b, s->reason);
		buf_adds(b, "}");
	}
	buf_adds(b, tap->nsubs ? "\n      ]" : "]");
}

static void put_test(struct buf *b, const struct test *t)
{
	buf_adds(b, "{\"name\": ");
	json_put_str(b, t->name);
	buf_printf(b, ", \"number\": %d, \"verdict\": \"%s\", \"reason\": ",
		   t->number, verdict_name(t->verdict));
	json_put_str(b, t->reason);
	buf_printf(b, ",\n      \"duration_s\": %.3f, \"exit_status\": ", t->duration);
	if (t->exit_status >= 0)
		buf_printf(b, "%d", t->exit_status);
	else
		buf_adds(b, "null");
	if (t->runs > 1)
		buf_printf(b, ", \"runs\": %d, \"failed_runs\": %d", t->runs, t->failed_runs);
	buf_adds(b, ", \"patch\": ");
	meta_put_patch(b, &t->meta);
	buf_adds(b, ",\n      \"subtests\": ");
	put_subtests(b, &t->tap);
	buf_adds(b, "}");
}

void report_json(FILE *f, const char *path, const struct run *r)
{
	const struct counts *c = &r->counts;
	struct buf b = { 0 };

	buf_adds(&b, "{\"kernel\": ");
	json_put_str(&b, r->kernel);
	buf_adds(&b, ", \"machine\": ");
	json_put_str(&b, r->machine);
	buf_adds(&b, ", \"target\": ");
	json_put_str(&b, r->target);
	buf_printf(&b, ",\n  \"summary\": {\"passed\": %d, \"failed\": %d, \"skipped\": %d, "
		   "\"timeout\": %d, \"crashed\": %d},\n  \"tests\": [",
		   c->passed, c->failed, c->skipped, c->timeout, c->crashed);
	for (int i = 0; i < r->ndone; i++) {
		buf_adds(&b, i ? ",\n    " : "\n    ");
		put_test(&b, r->done[i]);
	}
	buf_adds(&b, r->ndone ? "\n  ]\n}\n" : "]\n}\n");
	write_report(f, &b, path);
	buf_free(&b);
}
