// SPDX-License-Identifier: GPL-2.0-only
/* Command line of every test program: --meta, --list, -s SUBTEST, the test's own switches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness_internal.h"

static void usage(const struct kc_test *t, const char *prog)
{
	fprintf(stderr, "usage: %s [--meta] [--list] [-s SUBTEST]...", prog);
	for (const struct kc_option *o = t->options; o && o->name; o++)
		fprintf(stderr, " [--%s]", o->name);
	fprintf(stderr, "\n  %s: %s\n", t->name, t->summary ? t->summary : "");
	fprintf(stderr, "  --meta      print the test's metadata as JSON\n"
			"  --list      print the subtest names\n"
			"  -s SUBTEST  run only this subtest (repeatable)\n");
	for (const struct kc_option *o = t->options; o && o->name; o++)
		fprintf(stderr, "  --%s  %s\n", o->name, o->help);
}

static bool subtest_exists(const struct kc_test *t, const char *name)
{
	for (const struct kc_subtest *st = t->subtests; st->name; st++)
		if (!strcmp(st->name, name))
			return true;
	return false;
}

static bool set_option(const struct kc_test *t, const char *arg)
{
	for (const struct kc_option *o = t->options; o && o->name; o++) {
		if (!strncmp(arg, "--", 2) && !strcmp(arg + 2, o->name)) {
			*o->flag = true;
			return true;
		}
	}
	return false;
}

static int bad_arg(const struct kc_test *t, const char *prog, const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s '%s'\n", prog, what, arg);
	usage(t, prog);
	return 2;
}

/*
 * KVMCHECK_TEST_OPTIONS="--model-vmm-no-opt-in,--self-check-log-line" sets switches without a
 * command line, so a whole run (the runner, or a QEMU guest whose kernel command line carries
 * it) can turn a model or a harness self-check on.
 * Switches another test defines are not this test's business and are ignored.
 */
static void options_from_env(const struct kc_test *t)
{
	const char *env = getenv("KVMCHECK_TEST_OPTIONS");
	char buf[512];

	if (!env)
		return;
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *save, *w = strtok_r(buf, ", ", &save); w; w = strtok_r(NULL, ", ", &save))
		if (set_option(t, w))
			printf("# switch %s on (from KVMCHECK_TEST_OPTIONS)\n", w);
}

int kc_parse_args(const struct kc_test *t, int argc, char **argv, struct kc_args *args)
{
	const char *prog = argc ? argv[0] : t->name;

	memset(args, 0, sizeof(*args));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--meta")) {
			kc_print_meta(t);
			return 0;
		} else if (!strcmp(a, "--list")) {
			for (const struct kc_subtest *st = t->subtests; st->name; st++)
				printf("%s\n", st->name);
			return 0;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(t, prog);
			return 0;
		} else if (!strcmp(a, "-s")) {
			if (i + 1 >= argc)
				return bad_arg(t, prog, "missing subtest name after", a);
			if (!subtest_exists(t, argv[++i]))
				return bad_arg(t, prog, "no such subtest", argv[i]);
			if (args->nr_selected == KC_MAX_SELECT)
				return bad_arg(t, prog, "too many -s options at", argv[i]);
			args->selected[args->nr_selected++] = argv[i];
		} else if (!set_option(t, a)) {
			return bad_arg(t, prog, "unknown argument", a);
		}
	}
	/* Only for a real run: --meta and --list output must stay clean. */
	options_from_env(t);
	return -1;
}

bool kc_selected(const struct kc_args *args, const char *name)
{
	if (!args->nr_selected)
		return true;
	for (int i = 0; i < args->nr_selected; i++)
		if (!strcmp(args->selected[i], name))
			return true;
	return false;
}

int kc_count_selected(const struct kc_test *t, const struct kc_args *args)
{
	int n = 0;

	for (const struct kc_subtest *st = t->subtests; st->name; st++)
		n += kc_selected(args, st->name);
	return n;
}
