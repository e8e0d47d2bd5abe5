// SPDX-License-Identifier: GPL-2.0-only
/*
 * --junit: one <testsuite name="kvmcheck">, one <testcase> per subtest, in
 * the shape Jenkins and GitLab read.  The counts equal the summary line: a
 * test without subtest lines, and the extra failure of a timed-out, crashed
 * or failed-by-exit-status test, appear as a testcase named after the test.
 */
#include <string.h>

#include "runner.h"

/* Attribute values lose raw newlines and tabs to normalization: escape them. */
static void put_xml_attr_char(struct buf *b, const char *ch, size_t n)
{
	unsigned char c = ch[0];

	if (n > 1) {
		buf_add(b, ch, n);
		return;
	}
	switch (c) {
	case '&':
		buf_adds(b, "&amp;");
		break;
	case '<':
		buf_adds(b, "&lt;");
		break;
	case '>':
		buf_adds(b, "&gt;");
		break;
	case '"':
		buf_adds(b, "&quot;");
		break;
	case '\'':
		buf_adds(b, "&apos;");
		break;
	case '\t':
	case '\n':
	case '\r':
		buf_printf(b, "&#%d;", c);
		break;
	default:
		/* XML 1.0 has no way at all to carry other control characters. */
		buf_add(b, c < 0x20 || c == 0x7f ? "?" : ch, 1);
	}
}

static void put_xml_text_char(struct buf *b, const char *ch, size_t n)
{
	if (n == 1 && (ch[0] == '\n' || ch[0] == '\t'))
		buf_add(b, ch, 1);
	else
		put_xml_attr_char(b, ch, n);
}

static void put_xml_text(struct buf *b, const char *s, size_t len)
{
	put_valid_utf8(b, s, len, put_xml_text_char);
}

static void put_xmls(struct buf *b, const char *s)
{
	put_valid_utf8(b, s, strlen(s), put_xml_attr_char);
}

struct tcase {
	const char *name;
	enum verdict verdict;
	const char *reason;
};

static void put_case(struct buf *b, const struct test *t, const struct tcase *c,
		     double time, bool with_output)
{
	const char *reason = c->reason ? c->reason : verdict_name(c->verdict);

	buf_adds(b, "  <testcase classname=\"");
	put_xmls(b, t->name);
	buf_adds(b, "\" name=\"");
	put_xmls(b, c->name);
	buf_printf(b, "\" time=\"%.3f\"", time);
	if (c->verdict == V_PASS) {
		buf_adds(b, "/>\n");
		return;
	}
	buf_adds(b, ">\n");
	if (c->verdict == V_SKIP) {
		buf_adds(b, "    <skipped message=\"");
		put_xmls(b, reason);
		buf_adds(b, "\"/>\n");
	} else {
		buf_adds(b, "    <failure message=\"");
		put_xmls(b, reason);
		buf_printf(b, "\" type=\"%s\">", verdict_name(c->verdict));
		put_xmls(b, reason);
		buf_adds(b, "</failure>\n");
	}
	if (with_output && t->out.len) {
		buf_adds(b, "    <system-out>");
		put_xml_text(b, t->out.data, t->out.len);
		buf_adds(b, "</system-out>\n");
	}
	buf_adds(b, "  </testcase>\n");
}

/* Subtests carry no timing of their own: they share the test's time. */
static void put_test(struct buf *b, const struct test *t)
{
	bool extra = result_extra_failure(t);
	int ncases = t->tap.nsubs ? t->tap.nsubs + extra : 1;
	double each = t->duration / ncases;
	bool output_shown = false;

	for (int i = 0; i < t->tap.nsubs; i++) {
		const struct subtest *s = &t->tap.subs[i];
		struct tcase c = { s->name, s->verdict, s->reason };
		bool failed = s->verdict == V_FAIL;

		put_case(b, t, &c, each, failed && !output_shown);
		output_shown |= failed;
	}
	if (!t->tap.nsubs || extra) {
		struct tcase c = { t->name, t->verdict, t->reason };

		put_case(b, t, &c, each, !output_shown);
	}
}

void report_junit(FILE *f, const char *path, const struct run *r)
{
	const struct counts *c = &r->counts;
	struct buf b = { 0 };
	double total = 0;

	for (int i = 0; i < r->ndone; i++)
		total += r->done[i]->duration;
	buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	buf_printf(&b, "<testsuite name=\"kvmcheck\" tests=\"%d\" failures=\"%d\" errors=\"0\" "
		   "skipped=\"%d\" time=\"%.3f\" hostname=\"",
		   c->passed + c->failed + c->skipped, c->failed, c->skipped, total);
	put_xmls(&b, r->target);
	buf_adds(&b, "\">\n  <properties>\n    <property name=\"kernel\" value=\"");
	put_xmls(&b, r->kernel);
	buf_adds(&b, "\"/>\n    <property name=\"machine\" value=\"");
	put_xmls(&b, r->machine);
	buf_adds(&b, "\"/>\n    <property name=\"target\" value=\"");
	put_xmls(&b, r->target);
	buf_adds(&b, "\"/>\n  </properties>\n");
	for (int i = 0; i < r->ndone; i++)
		put_test(&b, r->done[i]);
	buf_adds(&b, "</testsuite>\n");
	write_report(f, &b, path);
	buf_free(&b);
}
