// SPDX-License-Identifier: GPL-2.0-only
/* -l: the selected tests with their metadata, for people and for tools. */
#include <string.h>

#include "runner.h"

static void list_line(const struct test *t, int width)
{
	struct buf groups = { 0 }, line = { 0 };

	buf_adds(&groups, "");
	for (int i = 0; i < t->meta.ngroups; i++)
		buf_printf(&groups, "%s%s", i ? "," : "", t->meta.groups[i]);
	buf_printf(&line, "%-*s  groups=%-16s timeout=%-5g", width, t->name,
		   groups.len ? groups.data : "-", t->timeout);
	if (t->meta.patch && t->meta.patch->subject)
		buf_printf(&line, "  patch: %s", t->meta.patch->subject);
	while (line.len && line.data[line.len - 1] == ' ')
		line.data[--line.len] = '\0';
	puts(line.data);
	buf_free(&line);
	buf_free(&groups);
}

void list_tests(const struct suite *s, FILE *json)
{
	struct buf b = { 0 };
	int width = 0;

	for (int i = 0; i < s->ntests; i++)
		if ((int)strlen(s->tests[i].name) > width)
			width = strlen(s->tests[i].name);
	for (int i = 0; i < s->ntests; i++)
		list_line(&s->tests[i], width);
	fflush(stdout);
	if (!json)
		return;
	buf_adds(&b, "[");
	for (int i = 0; i < s->ntests; i++) {
		buf_adds(&b, i ? ",\n  " : "\n  ");
		meta_put_json(&b, &s->tests[i].meta, s->tests[i].name);
	}
	buf_adds(&b, "\n]\n");
	write_report(json, &b, "--json");
	buf_free(&b);
}
