// SPDX-License-Identifier: GPL-2.0-only
/* Command line of kvmcheck-run.  Every mistake is one line and exit 2. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"

#define MAX_JOBS 1024
/* Longer than any test should take; catches "--timeout 1e9" typos. */
#define MAX_TIMEOUT_S (7 * 24 * 3600.0)

enum {
	OPT_TIMEOUT = 256,
	OPT_JUNIT,
	OPT_JSON,
	OPT_RESULTS,
	OPT_DIR,
	OPT_IMPORT_TAP,
	OPT_EMULATOR,
	OPT_REPEAT,
	OPT_TIMEOUT_SCALE,
};

static const struct option long_options[] = {
	{ "jobs", required_argument, NULL, 'j' },
	{ "test", required_argument, NULL, 't' },
	{ "group", required_argument, NULL, 'g' },
	{ "list", no_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "junit", required_argument, NULL, OPT_JUNIT },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "import-tap", required_argument, NULL, OPT_IMPORT_TAP },
	{ "emulator", required_argument, NULL, OPT_EMULATOR },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ "timeout-scale", required_argument, NULL, OPT_TIMEOUT_SCALE },
	{ NULL, 0, NULL, 0 },
};

static void usage(void)
{
	fputs("usage: " PROG " [options]\n"
	      "Run the kvmcheck tests named in tests.list and report TAP 13 on stdout.\n"
	      "\n"
	      "  -j, --jobs N          run N tests at once (default 1)\n"
	      "  -t, --test PATTERN    only tests whose name matches the glob; NAME:SUBTEST\n"
	      "                        runs only that subtest (repeatable)\n"
	      "  -g, --group GROUP     only tests in GROUP (repeatable)\n"
	      "  -l, --list            list the selected tests with their metadata (with\n"
	      "                        --json FILE: every test's whole --meta, one array)\n"
	      "      --timeout S       seconds per test, instead of each test's own\n"
	      "      --timeout-scale N each test's own timeout and its subtests' times N\n"
	      "                        (1 to 100): a kernel with KASAN or lockdep runs the\n"
	      "                        same work several times slower\n"
	      "      --junit FILE      also write JUnit XML to FILE\n"
	      "      --json FILE       also write results (with -l: metadata) as JSON\n"
	      "      --results DIR     write each test's output to DIR/<name>.log\n"
	      "      --dir DIR         where tests.list is (default: the runner's directory)\n"
	      "      --emulator PROG   run the test binaries through PROG (qemu-riscv64: read\n"
	      "                        a cross build's metadata on this machine)\n"
	      "      --repeat N        run each test N times; one verdict per test: FAIL\n"
	      "                        with 'F:N runs failed' when any run failed\n"
	      "      --import-tap FILE run nothing: report from a TAP stream this runner\n"
	      "                        printed elsewhere (e.g. in a QEMU guest)\n"
	      "  -h, --help            this text\n"
	      "\n"
	      "Exit status: 0 nothing failed, 1 a test failed, timed out or crashed,\n"
	      "2 usage error.\n", stdout);
}

/* A whole number from 1 to max for option opt; what it counts, for the message. */
static int parse_count(const char *opt, const char *what, const char *arg, int max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno || end == arg || *end || n < 1 || n > max)
		die_usage("%s wants %s from 1 to %d, not '%s'", opt, what, max, arg);
	return n;
}

#define MAX_REPEAT 1000

static double parse_timeout(const char *arg)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(s) || s <= 0 || s > MAX_TIMEOUT_S)
		die_usage("--timeout wants a positive number of seconds, not '%s'", arg);
	return s;
}

/* Past this a "slow kernel" is a hung one; the orchestration's bounds say so first. */
#define MAX_TIMEOUT_SCALE 100

static const char *nonempty(const char *opt, const char *arg)
{
	if (!*arg)
		die_usage("%s wants a non-empty argument", opt);
	return arg;
}

/* The tests are started with execv(): a bare name is looked up here, once. */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (strchr(name, '/')) {
		if (access(name, X_OK))
			die_usage("--emulator '%s': %s", name, strerror(errno));
		return xstrdup(name);
	}
	copy = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *candidate = xasprintf("%s/%s", *dir ? dir : ".", name);

		if (!access(candidate, X_OK))
			found = candidate;
		else
			free(candidate);
	}
	free(copy);
	if (!found)
		die_usage("--emulator '%s': not found in PATH (qemu-riscv64 is in Debian's "
			  "qemu-user package)", name);
	return found;
}

/* getopt's own messages are off, so that every error reads the same way. */
static void __attribute__((noreturn)) bad_option(char **argv, int c)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		die_usage("option '%s' needs an argument (see --help)", arg);
	if (optopt && strncmp(arg, "--", 2))
		die_usage("unknown option '-%c' (see --help)", optopt);
	die_usage("unknown option '%s' (see --help)", arg);
}

static void parse_one(struct options *o, int c, char **argv)
{
	switch (c) {
	case 'j':
		o->jobs = parse_count("-j", "a number of jobs", optarg, MAX_JOBS);
		break;
	case 't':
		strv_push(&o->patterns, &o->npatterns, nonempty("-t", optarg));
		break;
	case 'g':
		strv_push(&o->groups, &o->ngroups, nonempty("-g", optarg));
		break;
	case 'l':
		o->list = true;
		break;
	case 'h':
		usage();
		exit(0);
	case OPT_TIMEOUT:
		o->timeout = parse_timeout(optarg);
		break;
	case OPT_TIMEOUT_SCALE:
		o->timeout_scale = parse_count("--timeout-scale", "a whole factor", optarg,
					       MAX_TIMEOUT_SCALE);
		break;
	case OPT_JUNIT:
		o->junit = nonempty("--junit", optarg);
		break;
	case OPT_JSON:
		o->json = nonempty("--json", optarg);
		break;
	case OPT_RESULTS:
		o->results = nonempty("--results", optarg);
		break;
	case OPT_DIR:
		o->dir = nonempty("--dir", optarg);
		break;
	case OPT_IMPORT_TAP:
		o->import_tap = nonempty("--import-tap", optarg);
		break;
	case OPT_REPEAT:
		o->repeat = parse_count("--repeat", "a number of runs", optarg, MAX_REPEAT);
		break;
	case OPT_EMULATOR:
		free(o->emulator);
		o->emulator = find_program(nonempty("--emulator", optarg));
		break;
	default:
		bad_option(argv, c);
	}
}

void options_parse(struct options *o, int argc, char **argv)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->jobs = 1;
	o->repeat = 1;
	o->timeout_scale = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:j:t:g:lh", long_options, NULL)) != -1)
		parse_one(o, c, argv);
	if (optind < argc)
		die_usage("unexpected argument '%s' (see --help)", argv[optind]);
	if (o->import_tap && o->list)
		die_usage("-l and --import-tap do not go together");
	if (o->junit && o->list)
		die_usage("-l writes no JUnit: use --json FILE for the metadata");
	if (o->repeat > 1 && (o->list || o->import_tap))
		die_usage("--repeat runs tests: not with -l or --import-tap");
	if (o->results && o->list)
		die_usage("-l runs nothing, so --results has nothing to write");
}

void options_free(struct options *o)
{
	strv_free(o->patterns, o->npatterns);
	strv_free(o->groups, o->ngroups);
	free(o->emulator);
	memset(o, 0, sizeof(*o));
}
