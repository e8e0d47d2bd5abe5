// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which tests run: -t globs on the name (NAME:SUBTEST picks subtests), -g
 * groups from the metadata.  Patterns of one kind are alternatives; -t and
 * -g together must both hold.  A pattern or group that selects nothing is a
 * usage error, since it is almost always a typo.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

struct pattern {
	char *test;
	char *subtest;		/* NULL: the whole test */
	bool used;
	bool subtest_used;
};

static struct pattern *split_patterns(const struct options *o)
{
	struct pattern *p = xcalloc(o->npatterns, sizeof(*p));

	for (int i = 0; i < o->npatterns; i++) {
		char *colon = strchr(o->patterns[i], ':');

		if (!colon) {
			p[i].test = xstrdup(o->patterns[i]);
			continue;
		}
		if (colon == o->patterns[i] || !colon[1])
			die_usage("-t '%s': want NAME or NAME:SUBTEST", o->patterns[i]);
		p[i].test = xstrndup(o->patterns[i], colon - o->patterns[i]);
		p[i].subtest = xstrdup(colon + 1);
	}
	return p;
}

static bool name_matches(const char *pattern, const char *name)
{
	const char *base = strrchr(name, '/');

	if (!fnmatch(pattern, name, 0))
		return true;
	return base && !strchr(pattern, '/') && !fnmatch(pattern, base + 1, 0);
}

static void free_patterns(struct pattern *p, int n)
{
	for (int i = 0; i < n; i++) {
		free(p[i].test);
		free(p[i].subtest);
	}
	free(p);
}

/* Drop the tests keep[] says no to, keeping the order of tests.list. */
static void compact(struct suite *s, const bool *keep)
{
	int n = 0;

	for (int i = 0; i < s->ntests; i++) {
		if (keep[i])
			s->tests[n++] = s->tests[i];
		else
			test_free(&s->tests[i]);
	}
	s->ntests = n;
}

/* Mark which tests -t selects; the subtest part waits for the metadata. */
static void select_names(struct suite *s, struct pattern *p, int np)
{
	bool *keep = xcalloc(s->ntests, sizeof(*keep));

	for (int i = 0; i < s->ntests; i++) {
		for (int k = 0; k < np; k++) {
			if (!name_matches(p[k].test, s->tests[i].name))
				continue;
			p[k].used = true;
			keep[i] = true;
		}
	}
	for (int k = 0; k < np; k++)
		if (!p[k].used)
			die_usage("-t '%s' matches no test in %s/tests.list", p[k].test, s->dir);
	compact(s, keep);
	free(keep);
}

static bool in_groups(const struct test *t, const struct options *o)
{
	for (int k = 0; k < o->ngroups; k++)
		if (strv_contains(t->meta.groups, t->meta.ngroups, o->groups[k]))
			return true;
	return false;
}

static void select_groups(struct suite *s, const struct options *o)
{
	bool *keep = xcalloc(s->ntests, sizeof(*keep));

	for (int k = 0; k < o->ngroups; k++) {
		bool found = false;

		for (int i = 0; i < s->ntests; i++)
			found |= strv_contains(s->tests[i].meta.groups,
					       s->tests[i].meta.ngroups, o->groups[k]);
		if (!found)
			die_usage("-g '%s': no selected test is in that group", o->groups[k]);
	}
	for (int i = 0; i < s->ntests; i++)
		keep[i] = in_groups(&s->tests[i], o);
	compact(s, keep);
	free(keep);
}

/* NAME:GLOB becomes one -s per subtest the metadata names. */
static bool add_subtests(struct test *t, const struct pattern *p)
{
	const char *base = strrchr(t->name, '/');
	bool found = false;

	if (!t->meta.nsubtests) {
		/* No list to check against: only a test named outright gets the name. */
		if (strcmp(p->test, t->name) && (!base || strcmp(p->test, base + 1)))
			return false;
		if (!strv_contains(t->only, t->nonly, p->subtest))
			strv_push(&t->only, &t->nonly, p->subtest);
		return true;
	}
	for (int i = 0; i < t->meta.nsubtests; i++) {
		const char *sub = t->meta.subtests[i];

		if (fnmatch(p->subtest, sub, 0))
			continue;
		found = true;
		if (!strv_contains(t->only, t->nonly, sub))
			strv_push(&t->only, &t->nonly, sub);
	}
	return found;
}

/*
 * Whether t stays: asked for whole, or some NAME:SUBTEST found a subtest
 * in it.  -t "*:sync_values" thus runs sync_values wherever it exists.
 */
static bool select_subtests(struct test *t, struct pattern *p, int np)
{
	bool whole = false, some = false;

	for (int k = 0; k < np; k++) {
		if (!name_matches(p[k].test, t->name))
			continue;
		if (!p[k].subtest) {
			whole = true;
		} else if (add_subtests(t, &p[k])) {
			p[k].subtest_used = true;
			some = true;
		}
	}
	if (whole) {
		strv_free(t->only, t->nonly);
		t->only = NULL;
		t->nonly = 0;
	}
	return whole || some;
}

static void select_all_subtests(struct suite *s, struct pattern *p, int np)
{
	bool *keep = xcalloc(s->ntests, sizeof(*keep));

	for (int i = 0; i < s->ntests; i++)
		keep[i] = select_subtests(&s->tests[i], p, np);
	for (int k = 0; k < np; k++)
		if (p[k].subtest && !p[k].subtest_used)
			die_usage("-t '%s:%s': no selected test has such a subtest",
				  p[k].test, p[k].subtest);
	compact(s, keep);
	free(keep);
}

void suite_select(struct suite *s, const struct options *o)
{
	struct pattern *p = split_patterns(o);

	if (o->npatterns)
		select_names(s, p, o->npatterns);
	suite_load_meta(s, o->jobs, false);
	if (o->ngroups)
		select_groups(s, o);
	if (o->npatterns)
		select_all_subtests(s, p, o->npatterns);
	for (int i = 0; i < s->ntests; i++) {
		struct test *t = &s->tests[i];

		if (o->timeout > 0)
			t->timeout = o->timeout;
		else if (t->meta.timeout > 0)
			t->timeout = t->meta.timeout * o->timeout_scale;
		else
			t->timeout = DEFAULT_TIMEOUT_S * o->timeout_scale;
	}
	free_patterns(p, o->npatterns);
}
