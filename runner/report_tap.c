// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TAP stream on stdout.  A test's output is printed as one block when it
 * ends, so parallel tests never interleave; --import-tap reads this format
 * back, so both sides must agree on every line written here.
 */
#include <string.h>

#include "runner.h"

void tap_header(const char *kernel, const char *machine, int ntests)
{
	printf("TAP version 13\n");
	printf("# kvmcheck: kernel %s %s, %d tests\n", kernel, machine, ntests);
	printf("1..%d\n", ntests);
	fflush(stdout);
}

/* The test's output, four spaces in, without its own "TAP version" line. */
static void indent_output(struct buf *b, const struct test *t)
{
	size_t pos = 0, len;
	const char *line;
	bool first = true;

	if (t->out.len)
		buf_printf(b, "    # Subtest: %s\n", t->name);
	while ((line = buf_next_line(&t->out, &pos, &len))) {
		size_t n = len && line[len - 1] == '\r' ? len - 1 : len;

		if (first && n == 14 && !memcmp(line, "TAP version 13", 14)) {
			first = false;
			continue;
		}
		first = false;
		if (n)
			buf_adds(b, "    ");
		buf_add(b, line, n);
		buf_adds(b, "\n");
	}
}

static void result_line(struct buf *b, const struct test *t)
{
	switch (t->verdict) {
	case V_PASS:
		buf_printf(b, "ok %d %s\n", t->number, t->name);
		break;
	case V_SKIP:
		buf_printf(b, "ok %d %s # SKIP%s%s\n", t->number, t->name,
			   t->reason ? " " : "", t->reason ? t->reason : "");
		break;
	default:
		buf_printf(b, "not ok %d %s # %s\n", t->number, t->name,
			   t->reason ? t->reason : verdict_name(t->verdict));
		break;
	}
}

/*
 * Duration, exit status and the verdict's name are not part of TAP, but an
 * import must rebuild this run exactly: one diagnostic line carries them.
 * The verdict is named because a reason's first word cannot tell it: a
 * subtest's own "TIMEOUT after 5 s" makes its test FAIL, not TIMEOUT.
 */
static void result_facts(struct buf *b, const struct test *t)
{
	buf_printf(b, "# kvmcheck-test: %d duration_s=%.3f exit_status=", t->number, t->duration);
	if (t->exit_status >= 0)
		buf_printf(b, "%d", t->exit_status);
	else
		buf_adds(b, "none");
	buf_printf(b, " verdict=%s", verdict_name(t->verdict));
	if (t->runs > 1)
		buf_printf(b, " runs=%d:%d", t->failed_runs, t->runs);
	buf_adds(b, "\n");
}

void tap_report_test(const struct test *t)
{
	struct buf b = { 0 };

	indent_output(&b, t);
	result_line(&b, t);
	result_facts(&b, t);
	fwrite(b.data, 1, b.len, stdout);
	fflush(stdout);
	buf_free(&b);
}

void tap_test_started(const char *name)
{
	printf("# kvmcheck: start %s\n", name);
	fflush(stdout);
}

void tap_summary(const struct counts *c)
{
	printf("%d passed, %d failed, %d skipped\n", c->passed, c->failed, c->skipped);
	fflush(stdout);
}
