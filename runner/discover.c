// SPDX-License-Identifier: GPL-2.0-only
/* Finding the tests: tests.list, then each test's --meta line. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"

/* --meta is cheap; running a few at once only hides process start-up. */
#define META_PARALLEL 8

char *self_dir(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char *slash;

	if (n <= 0)
		die_usage("cannot find my own directory (/proc not mounted?): use --dir");
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash == path)
		return xstrdup("/");
	if (slash)
		*slash = '\0';
	return xstrdup(path);
}

static void add_test(struct suite *s, const char *name)
{
	struct test *t;

	for (int i = 0; i < s->ntests; i++)
		if (!strcmp(s->tests[i].name, name))
			return;	/* a test listed twice runs once */
	s->tests = xrealloc(s->tests, (s->ntests + 1) * sizeof(*s->tests));
	t = &s->tests[s->ntests++];
	memset(t, 0, sizeof(*t));
	t->name = xstrdup(name);
	t->path = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", s->dir, name);
	t->exit_status = -1;
	t->tap.plan = -1;
}

bool suite_try_load(struct suite *s, const char *dir)
{
	char *list = xasprintf("%s/tests.list", dir);
	FILE *f = fopen(list, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	memset(s, 0, sizeof(*s));
	free(list);
	if (!f)
		return false;
	s->dir = xstrdup(dir);
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *p = line;

		while (len && (p[len - 1] == '\n' || p[len - 1] == '\r' ||
			       p[len - 1] == ' ' || p[len - 1] == '\t'))
			p[--len] = '\0';
		p += strspn(p, " \t");
		if (*p && *p != '#')
			add_test(s, p);
	}
	free(line);
	fclose(f);
	return true;
}

void suite_load(struct suite *s, const char *dir)
{
	if (!suite_try_load(s, dir))
		die_usage("cannot read %s/tests.list: %s", dir, strerror(errno));
}

/* The first line of the output is the metadata; anything after is noise. */
static void meta_done(struct job *job, void *ctx)
{
	struct test *t = job->priv;
	const char *err = NULL;
	size_t pos = 0, len;
	char *line;

	if (job->spawn_errno)
		err = strerror(job->spawn_errno);
	else if (job->timed_out)
		err = "timed out";
	else if (!WIFEXITED(job->status) || WEXITSTATUS(job->status))
		err = "did not exit with status 0";
	if (!err) {
		line = buf_next_line(&job->out, &pos, &len);
		line = line ? xstrndup(line, len) : xstrdup("");
		if (!meta_from_json(&t->meta, line, &err))
			meta_free(&t->meta);
		free(line);
	}
	if (err && !*(bool *)ctx)
		warn("%s --meta: %s; running it with default settings", t->name, err);
}

void suite_load_meta(struct suite *s, int parallel, bool quiet)
{
	struct job *jobs = xcalloc(s->ntests, sizeof(*jobs));
	struct job **order = xcalloc(s->ntests, sizeof(*order));

	for (int i = 0; i < s->ntests; i++) {
		jobs[i].argv = test_command(s->emulator, s->tests[i].path, 1);
		jobs[i].argv[s->emulator ? 2 : 1] = "--meta";
		jobs[i].timeout = META_TIMEOUT_S;
		jobs[i].priv = &s->tests[i];
		order[i] = &jobs[i];
	}
	exec_run(order, s->ntests, parallel > META_PARALLEL ? parallel : META_PARALLEL,
		 meta_done, &quiet);
	for (int i = 0; i < s->ntests; i++) {
		free(jobs[i].argv);
		buf_free(&jobs[i].out);
	}
	free(order);
	free(jobs);
	if (exec_interrupted()) {
		warn("interrupted while reading test metadata");
		exit(1);
	}
}

/*
 * The emulator (qemu-user) lets a host read and run the metadata of binaries
 * built for another architecture: one program name, never shell text.
 */
char **test_command(const char *emulator, const char *path, int nextra)
{
	char **argv = xcalloc(3 + nextra, sizeof(*argv));
	int n = 0;

	if (emulator)
		argv[n++] = (char *)emulator;
	argv[n] = (char *)path;
	return argv;
}

void suite_free(struct suite *s)
{
	for (int i = 0; i < s->ntests; i++)
		test_free(&s->tests[i]);
	free(s->tests);
	free(s->dir);
	memset(s, 0, sizeof(*s));
}
