// SPDX-License-Identifier: GPL-2.0-only
/* --meta: the test's metadata as one line of JSON, for the runner and for reviewers. */
#include <stdio.h>
#include <string.h>
#include "harness_internal.h"

#if defined(__x86_64__)
#define KC_ARCH "x86_64"
#elif defined(__riscv) && __riscv_xlen == 64
#define KC_ARCH "riscv64"
#else
#error "unsupported architecture"
#endif

static void json_str(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_key(const char *key, const char *val, bool comma)
{
	printf("%s\"%s\":", comma ? "," : "", key);
	json_str(val);
}

/* groups are written comma separated in the test; JSON wants an array. */
static void json_groups(const char *groups)
{
	char buf[256];
	bool first = true;

	snprintf(buf, sizeof(buf), "%s", groups ? groups : "");
	fputs(",\"groups\":[", stdout);
	for (char *save, *g = strtok_r(buf, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
		printf("%s", first ? "" : ",");
		json_str(g);
		first = false;
	}
	putchar(']');
}

static void json_patch(const struct kc_patch *p)
{
	fputs(",\"patch\":", stdout);
	if (!p) {
		fputs("null", stdout);
		return;
	}
	putchar('{');
	json_key("subject", p->subject, false);
	json_key("fixes", p->fixes, true);
	json_key("link", p->link, true);
	json_key("author", p->author, true);
	putchar('}');
}

/* Generated from runs (make shown-on), never typed: NULL when no run has named the test. */
static const char *shown_on(const char *name)
{
	for (int i = 0; kc_shown_on_table[i][0]; i++)
		if (!strcmp(kc_shown_on_table[i][0], name))
			return kc_shown_on_table[i][1];
	return NULL;
}

void kc_print_meta(const struct kc_test *t)
{
	bool first = true;

	putchar('{');
	json_key("name", t->name, false);
	json_key("arch", KC_ARCH, true);
	json_key("summary", t->summary, true);
	json_groups(t->groups);
	printf(",\"timeout\":%u", t->timeout_s);
	json_patch(t->patch);
	json_key("min_kernel", t->min_kernel, true);
	json_key("shown_on", shown_on(t->name), true);
	fputs(",\"paths\":[", stdout);
	for (const char *const *p = t->paths; p && *p; p++, first = false) {
		printf("%s", first ? "" : ",");
		json_str(*p);
	}
	first = true;
	fputs("],\"subtests\":[", stdout);
	for (const struct kc_subtest *st = t->subtests; st->name; st++, first = false) {
		printf("%s", first ? "" : ",");
		json_str(st->name);
	}
	fputs("],\"options\":[", stdout);
	first = true;
	for (const struct kc_option *o = t->options; o && o->name; o++, first = false)
		printf("%s\"--%s\"", first ? "" : ",", o->name);
	fputs("]}\n", stdout);
}
