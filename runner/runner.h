/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvmcheck-run: shared types of the runner.  See docs/PROTOCOL.md for the
 * contract between the runner, the test binaries and the QEMU target.
 */
#ifndef KVMCHECK_RUNNER_H
#define KVMCHECK_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define PROG "kvmcheck-run"
#define DEFAULT_TIMEOUT_S 60.0
#define META_TIMEOUT_S 10.0
/* A runaway test must not eat the memory of a small QEMU guest. */
#define MAX_OUTPUT (16u << 20)

/* Exit status for usage errors, as for the test binaries. */
#define EXIT_USAGE 2
/* kselftest's skip code: the run ended with every subtest skipped, so nothing was tested. */
#define EXIT_NOTHING_TESTED 4

/* ---- util.c ---- */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);
/* One line of b starting at *pos, without its '\n'; NULL at the end. */
char *buf_next_line(const struct buf *b, size_t *pos, size_t *len);
void strv_push(char ***v, int *n, const char *s);
void strv_free(char **v, int n);
bool strv_contains(char **v, int n, const char *s);
double now_s(void);
void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *signal_name(int sig);
/* Make text safe for XML, JSON and one-line TAP reasons. */
void put_valid_utf8(struct buf *out, const char *s, size_t len,
		    void (*put)(struct buf *out, const char *ch, size_t n));

/* ---- json.c: a reader just big enough for a test's --meta line ---- */
enum json_type { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct json {
	enum json_type type;
	double num;
	char *str;		/* J_STR */
	int n;			/* J_ARR, J_OBJ */
	struct json *items;	/* J_ARR, J_OBJ */
	char **keys;		/* J_OBJ */
};

struct json *json_parse(const char *text, const char **err);
void json_free(struct json *j);
const struct json *json_get(const struct json *obj, const char *key);
const char *json_str(const struct json *obj, const char *key);

/* ---- json_write.c ---- */
void json_put_str(struct buf *b, const char *s);
void json_put_strv(struct buf *b, char **v, int n);
/* Any value the reader kept, written back with every member in its order. */
void json_put_value(struct buf *b, const struct json *j);

/* ---- meta ---- */
struct patch {
	char *subject;
	char *fixes;
	char *link;
};

struct meta {
	bool valid;
	/*
	 * The whole --meta object as the binary gave it: reports copy it, so a
	 * field the runner has no use for (author, paths, ...) still reaches
	 * the tools that read the runner's JSON.
	 */
	struct json *json;
	char *name;
	char *arch;
	char *summary;
	char **groups;
	int ngroups;
	double timeout;		/* <= 0: not given */
	struct patch *patch;
	char *min_kernel;
	char *shown_on;
	char **subtests;
	int nsubtests;
	char **options;
	int noptions;
	char **paths;		/* kernel sources the test exercises */
	int npaths;
};

bool meta_from_json(struct meta *m, const char *text, const char **err);
void meta_free(struct meta *m);
void meta_put_json(struct buf *b, const struct meta *m, const char *name);
/* The patch object of the metadata as given (with author), or null. */
void meta_put_patch(struct buf *b, const struct meta *m);

/* ---- tap.c: one test binary's TAP output ---- */
enum verdict { V_PASS, V_FAIL, V_SKIP, V_TIMEOUT, V_CRASH };

struct subtest {
	char *name;
	int number;		/* as on its TAP line; 0: none given */
	enum verdict verdict;
	char *reason;		/* NULL when the line had none */
};

struct tap {
	int plan;		/* -1: no plan line */
	char *plan_skip;	/* reason of "1..0 # SKIP reason" */
	char *bail;		/* text after "Bail out!" */
	struct subtest *subs;
	int nsubs;
};

/* A "ok N name # directive" line, at any level. */
struct tap_line {
	bool ok;
	int number;
	char *name;
	char *directive;	/* text after '#', trimmed; NULL if none */
};

bool tap_parse_line(const char *line, struct tap_line *tl);
void tap_line_free(struct tap_line *tl);
bool tap_parse_plan(const char *line, int *count, char **skip);
void tap_parse(struct tap *tap, const struct buf *out);
void tap_free(struct tap *tap);
/* Reason text of a directive when it is "SKIP ...", else NULL. */
const char *tap_skip_reason(const char *directive);

/* ---- a test and its result ---- */
struct test {
	char *name;		/* as in tests.list: x86/pio_mmio */
	char *path;
	struct meta meta;
	char **only;		/* -s SUBTEST arguments from NAME:SUBTEST */
	int nonly;
	double timeout;

	/* result */
	int number;		/* TAP number, in completion order; 0: not reported */
	enum verdict verdict;
	char *reason;
	double duration;
	int exit_status;	/* -1: none (signal, timeout, not run) */
	int signal;
	int runs;		/* --repeat: how often it ran (0: once) */
	int failed_runs;	/* of those, how many failed, timed out or crashed */
	struct buf out;		/* everything the test wrote */
	struct tap tap;
};

struct counts {
	int passed;
	int failed;
	int skipped;
	int timeout;
	int crashed;
};

const char *verdict_name(enum verdict v);
/* The verdict verdict_name() calls name, or -1. */
int verdict_from_name(const char *name, size_t len);
/* Verdict and reason of a finished test from exit status, signal and TAP. */
void result_decide(struct test *t, bool timed_out, int sig, int status);
void result_count(const struct test *t, struct counts *c);
/* Whether the whole test counts one failure beyond its subtests. */
bool result_extra_failure(const struct test *t);
void test_free(struct test *t);

/* ---- options.c ---- */
struct options {
	int jobs;
	char **patterns;
	int npatterns;
	char **groups;
	int ngroups;
	bool list;
	double timeout;		/* <= 0: each test's own */
	int timeout_scale;	/* >= 1: each test's own timeout (not --timeout) times this */
	const char *junit;
	const char *json;
	const char *results;
	const char *dir;
	const char *import_tap;
	char *emulator;		/* runs each test binary: qemu-riscv64 */
	int repeat;		/* --repeat N: each test N times, reported once */
};

void options_parse(struct options *o, int argc, char **argv);
void options_free(struct options *o);

/* ---- exec.c: run child processes, -j N at a time ---- */
struct job {
	char **argv;
	double timeout;
	void *priv;
	/* Called once the child runs, before any of its output is read. */
	void (*on_start)(struct job *job);

	pid_t pid;
	int fd;
	double start;
	double deadline;
	bool started;
	bool timed_out;
	bool interrupted;
	bool cut;		/* output went past MAX_OUTPUT */
	struct buf partial;	/* after the cut: the line being read */
	int spawn_errno;
	int status;		/* as from waitpid */
	double duration;
	struct buf out;
};

typedef void (*job_done_fn)(struct job *job, void *ctx);

void exec_init(void);
/* Nonzero once SIGINT or SIGTERM reached the runner. */
int exec_interrupted(void);
void exec_run(struct job **jobs, int n, int parallel, job_done_fn done, void *ctx);

/* ---- orphans.c ---- */
void orphans_adopt(void);
void orphans_kill(const pid_t *groups, int n);

/* ---- discover.c ---- */
struct suite {
	char *dir;
	struct test *tests;
	int ntests;
	const char *emulator;	/* --emulator, or NULL */
};

bool suite_try_load(struct suite *s, const char *dir);
void suite_load(struct suite *s, const char *dir);
/* quiet: a test that cannot tell its metadata is no news (--import-tap). */
void suite_load_meta(struct suite *s, int parallel, bool quiet);
void suite_free(struct suite *s);
/* Default --dir: where the runner's own executable lives. */
char *self_dir(void);

/* ---- select.c ---- */
void suite_select(struct suite *s, const struct options *o);

/* ---- list.c ---- */
void list_tests(const struct suite *s, FILE *json);

/* argv to run path with extra arguments, through the emulator when one is set. */
char **test_command(const char *emulator, const char *path, int nextra);

/* ---- run.c ---- */
struct run {
	char *kernel;
	char *machine;
	const char *target;
	struct test **done;	/* in completion (TAP number) order */
	int ndone;
	struct counts counts;
	bool interrupted;
	bool owns_tests;	/* --import-tap: done[] was allocated one by one */
	const char *results_dir;
};

int run_suite(struct suite *s, const struct options *o, struct run *r);
void run_finish_test(struct run *r, struct test *t);
int run_status(const struct run *r);
void run_free(struct run *r);

/* ---- report_tap.c ---- */
void tap_header(const char *kernel, const char *machine, int ntests);
void tap_report_test(const struct test *t);
/* "# kvmcheck: start NAME", flushed: which tests a kernel crash interrupted. */
void tap_test_started(const char *name);
void tap_summary(const struct counts *c);

/* ---- report_json.c, report_junit.c, results.c ---- */
FILE *open_report(const char *path);
void write_report(FILE *f, const struct buf *b, const char *path);
void report_json(FILE *f, const char *path, const struct run *r);
void report_junit(FILE *f, const char *path, const struct run *r);
void results_prepare(const char *dir);
void results_write(const char *dir, const struct test *t);

/* ---- import.c ---- */
int import_tap(const struct options *o, struct run *r);

#endif
