// SPDX-License-Identifier: GPL-2.0-only
/* From exit status and TAP to one verdict per test, and the counting rules. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

const char *verdict_name(enum verdict v)
{
	static const char *const names[] = {
		[V_PASS] = "PASS", [V_FAIL] = "FAIL", [V_SKIP] = "SKIP",
		[V_TIMEOUT] = "TIMEOUT", [V_CRASH] = "CRASH",
	};

	return names[v];
}

int verdict_from_name(const char *name, size_t len)
{
	for (int v = V_PASS; v <= V_CRASH; v++)
		if (strlen(verdict_name(v)) == len && !strncmp(verdict_name(v), name, len))
			return v;
	return -1;
}

static int count_subs(const struct tap *tap, enum verdict v)
{
	int n = 0;

	for (int i = 0; i < tap->nsubs; i++)
		n += tap->subs[i].verdict == v;
	return n;
}

static char *first_failure(const struct tap *tap)
{
	for (int i = 0; i < tap->nsubs; i++) {
		const struct subtest *s = &tap->subs[i];

		if (s->verdict != V_FAIL)
			continue;
		if (s->reason)
			return xstrdup(s->reason);
		return xasprintf("%s failed", s->name);
	}
	return NULL;
}

static char *first_skip(const struct tap *tap)
{
	for (int i = 0; i < tap->nsubs; i++)
		if (tap->subs[i].verdict == V_SKIP && tap->subs[i].reason)
			return xstrdup(tap->subs[i].reason);
	return tap->plan_skip ? xstrdup(tap->plan_skip) : NULL;
}

static bool reported_before(const struct tap *tap, int i)
{
	for (int k = 0; k < i; k++)
		if (!strcmp(tap->subs[k].name, tap->subs[i].name))
			return true;
	return false;
}

static bool reported(const struct tap *tap, const char *name)
{
	for (int i = 0; i < tap->nsubs; i++)
		if (!strcmp(tap->subs[i].name, name))
			return true;
	return false;
}

static void problem(struct buf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct buf *why, const char *fmt, ...)
{
	char *text;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	buf_printf(why, "%s%s", why->len ? "; " : "", text ? text : fmt);
	free(text);
}

/* "'a', 'b' missing": the declared subtests the TAP never named. */
static void put_missing(struct buf *why, const struct tap *tap, char **decl, int ndecl,
			const char *prefix)
{
	struct buf names = { 0 };
	int n = 0;

	for (int i = 0; i < ndecl; i++) {
		if (reported(tap, decl[i]))
			continue;
		buf_printf(&names, "%s'%s'", n ? ", " : "", decl[i]);
		n++;
	}
	if (n)
		problem(why, "%s%s missing", prefix, names.data);
	buf_free(&names);
}

/*
 * NULL when the TAP keeps the contract of docs/PROTOCOL.md: each subtest the
 * run was asked for (the -s selection, else every one --meta declares)
 * reported exactly once, no other, under a plan that counts them.  Exit
 * status 0 alone proves nothing: a binary that printed nothing tested
 * nothing.  Else the reason, naming what was missing.
 */
static char *contract_violation(const struct test *t)
{
	const struct tap *tap = &t->tap;
	char **decl = t->nonly ? t->only : t->meta.subtests;
	int ndecl = t->nonly ? t->nonly : t->meta.nsubtests;
	struct buf why = { 0 };

	if (tap->plan < 0 && !tap->nsubs) {
		put_missing(&why, tap, decl, ndecl, "reported no TAP: subtests ");
		if (!why.len)
			problem(&why, "reported no TAP (no plan, no subtest)");
		return why.data;
	}
	for (int i = 0; i < tap->nsubs; i++) {
		const struct subtest *s = &tap->subs[i];
		int number = s->number ? s->number : i + 1;

		if (ndecl && !strv_contains(decl, ndecl, s->name))
			problem(&why, t->nonly ? "subtest %d '%s' was not selected" :
				"subtest %d '%s' is not declared by --meta", number, s->name);
		else if (reported_before(tap, i))
			problem(&why, "subtest %d '%s' reported twice", number, s->name);
	}
	put_missing(&why, tap, decl, ndecl, "");
	if (why.len)
		return why.data;
	if (tap->plan < 0) {
		problem(&why, "no plan line (%d subtests reported)", tap->nsubs);
	} else if (tap->plan != tap->nsubs) {
		problem(&why, "planned %d subtests but reported %d", tap->plan, tap->nsubs);
	} else {
		for (int i = 0; i < tap->nsubs && !why.len; i++)
			if (tap->subs[i].number && tap->subs[i].number != i + 1)
				problem(&why, "subtest '%s' numbered %d, expected %d",
					tap->subs[i].name, tap->subs[i].number, i + 1);
	}
	return why.data;
}

/* The test ran to its end: exit status 0, 1 and 4 mean what kselftest says. */
static void decide_exited(struct test *t, int status)
{
	const struct tap *tap = &t->tap;
	int skipped = count_subs(tap, V_SKIP);

	t->verdict = V_FAIL;
	if (count_subs(tap, V_FAIL)) {
		t->reason = first_failure(tap);
	} else if (status != 0 && status != 4) {
		if (status == 1 && tap->bail)
			t->reason = xasprintf("Bail out! %s", tap->bail);
		else
			t->reason = xasprintf("exit status %d", status);
	} else if (tap->bail) {
		t->reason = xasprintf("Bail out! %s (exit status %d)", tap->bail, status);
	} else if ((t->reason = contract_violation(t))) {
		return;
	} else if (status == 4 || (tap->nsubs && skipped == tap->nsubs) ||
		   (tap->plan == 0 && tap->plan_skip)) {
		t->verdict = V_SKIP;
		t->reason = first_skip(tap);
	} else {
		t->verdict = V_PASS;
	}
}

void result_decide(struct test *t, bool timed_out, int sig, int status)
{
	tap_parse(&t->tap, &t->out);
	t->exit_status = -1;
	t->signal = 0;
	if (timed_out) {
		t->verdict = V_TIMEOUT;
		t->reason = xasprintf("TIMEOUT after %g s", t->timeout);
	} else if (sig) {
		t->verdict = V_CRASH;
		t->signal = sig;
		t->reason = xasprintf("CRASHED (signal %s)", signal_name(sig));
	} else {
		t->exit_status = status;
		decide_exited(t, status);
	}
}

bool result_extra_failure(const struct test *t)
{
	if (!t->tap.nsubs)
		return false;	/* the test counts once, as a whole */
	if (t->verdict == V_TIMEOUT || t->verdict == V_CRASH)
		return true;
	return t->verdict == V_FAIL && !count_subs(&t->tap, V_FAIL);
}

void result_count(const struct test *t, struct counts *c)
{
	c->timeout += t->verdict == V_TIMEOUT;
	c->crashed += t->verdict == V_CRASH;
	if (!t->tap.nsubs) {
		if (t->verdict == V_PASS)
			c->passed++;
		else if (t->verdict == V_SKIP)
			c->skipped++;
		else
			c->failed++;
		return;
	}
	c->passed += count_subs(&t->tap, V_PASS);
	c->failed += count_subs(&t->tap, V_FAIL) + result_extra_failure(t);
	c->skipped += count_subs(&t->tap, V_SKIP);
}

void test_free(struct test *t)
{
	free(t->name);
	free(t->path);
	meta_free(&t->meta);
	strv_free(t->only, t->nonly);
	free(t->reason);
	buf_free(&t->out);
	tap_free(&t->tap);
}
