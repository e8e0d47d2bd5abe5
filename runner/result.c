// SPDX-License-Identifier: GPL-2.0-only
/* From exit status and TAP to one verdict per test, and the counting rules. */
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
	} else if (tap->plan >= 0 && tap->nsubs != tap->plan) {
		t->reason = xasprintf("planned %d subtests but reported %d",
				      tap->plan, tap->nsubs);
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
