// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading TAP: the subtest lines of one test binary, and the same line
 * syntax when --import-tap reads the runner's own stream back.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner.h"

static char *trimmed(const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return xstrndup(s, len);
}

/* Directives are one line: a reason must not break the TAP stream. */
static void flatten(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

bool tap_parse_line(const char *line, struct tap_line *tl)
{
	const char *p = line, *hash;
	char *end;
	long num;

	memset(tl, 0, sizeof(*tl));
	if (!strncmp(p, "not ok", 6)) {
		p += 6;
	} else if (!strncmp(p, "ok", 2)) {
		tl->ok = true;
		p += 2;
	} else {
		return false;
	}
	if (*p && *p != ' ')
		return false;	/* "okay", "oknot" */
	while (*p == ' ')
		p++;
	num = strtol(p, &end, 10);
	if (end != p && num > 0 && num < 1000000) {
		tl->number = num;
		p = end;
	}
	while (*p == ' ')
		p++;
	if (!strncmp(p, "- ", 2))
		p += 2;
	hash = strchr(p, '#');
	tl->name = trimmed(p, hash ? (size_t)(hash - p) : strlen(p));
	if (hash) {
		tl->directive = trimmed(hash + 1, strlen(hash + 1));
		flatten(tl->directive);
	}
	flatten(tl->name);
	return true;
}

void tap_line_free(struct tap_line *tl)
{
	free(tl->name);
	free(tl->directive);
	memset(tl, 0, sizeof(*tl));
}

const char *tap_skip_reason(const char *directive)
{
	if (!directive || strncasecmp(directive, "SKIP", 4))
		return NULL;
	if (directive[4] && !isspace((unsigned char)directive[4]) && directive[4] != ':')
		return NULL;	/* "SKIPPED" is a word, not the directive */
	directive += 4;
	while (*directive == ':' || isspace((unsigned char)*directive))
		directive++;
	return directive;
}

/* "1..N" or "1..0 # SKIP reason". */
bool tap_parse_plan(const char *line, int *count, char **skip)
{
	const char *hash, *reason;
	char *end;
	long n;

	if (strncmp(line, "1..", 3))
		return false;
	n = strtol(line + 3, &end, 10);
	if (end == line + 3 || n < 0 || n > 1000000)
		return false;
	*count = n;
	hash = strchr(end, '#');
	reason = hash ? tap_skip_reason(hash + 1 + strspn(hash + 1, " \t")) : NULL;
	if (reason && skip)
		*skip = trimmed(reason, strlen(reason));
	return true;
}

static void add_subtest(struct tap *tap, struct tap_line *tl)
{
	const char *skip = tap_skip_reason(tl->directive);
	struct subtest *s;

	tap->subs = xrealloc(tap->subs, (tap->nsubs + 1) * sizeof(*tap->subs));
	s = &tap->subs[tap->nsubs++];
	s->name = tl->name;
	s->number = tl->number;
	tl->name = NULL;
	if (skip) {
		s->verdict = V_SKIP;
		s->reason = *skip ? xstrdup(skip) : NULL;
	} else {
		s->verdict = tl->ok ? V_PASS : V_FAIL;
		s->reason = tl->directive && *tl->directive ? xstrdup(tl->directive) : NULL;
	}
	if (!*s->name) {
		free(s->name);
		s->name = xasprintf("%d", tl->number ? tl->number : tap->nsubs);
	}
}

static void parse_one(struct tap *tap, const char *line)
{
	struct tap_line tl;

	/*
	 * Only lines at the left margin count: indented ones are the test's
	 * own nested subtests.
	 */
	if (tap_parse_line(line, &tl)) {
		add_subtest(tap, &tl);
		tap_line_free(&tl);
	} else if (tap->plan < 0 && tap_parse_plan(line, &tap->plan, &tap->plan_skip)) {
		return;
	} else if (!strncmp(line, "Bail out!", 9) && !tap->bail) {
		tap->bail = trimmed(line + 9, strlen(line + 9));
		flatten(tap->bail);
	}
}

void tap_parse(struct tap *tap, const struct buf *out)
{
	size_t pos = 0, len;
	const char *line;

	memset(tap, 0, sizeof(*tap));
	tap->plan = -1;
	while ((line = buf_next_line(out, &pos, &len))) {
		char *copy = xstrndup(line, len);
		size_t n = strlen(copy);

		if (n && copy[n - 1] == '\r')
			copy[n - 1] = '\0';
		parse_one(tap, copy);
		free(copy);
	}
}

void tap_free(struct tap *tap)
{
	for (int i = 0; i < tap->nsubs; i++) {
		free(tap->subs[i].name);
		free(tap->subs[i].reason);
	}
	free(tap->subs);
	free(tap->plan_skip);
	free(tap->bail);
	memset(tap, 0, sizeof(*tap));
	tap->plan = -1;
}
