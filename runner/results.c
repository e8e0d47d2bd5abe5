// SPDX-License-Identifier: GPL-2.0-only
/* --results DIR: each test's full output in DIR/<name with '/' as '_'>.log. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

/* mkdir -p: a CI job names a fresh directory and expects it to appear. */
void results_prepare(const char *dir)
{
	char *path = xstrdup(dir);

	for (char *p = path + 1; ; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(path, 0777) && errno != EEXIST)
			die_usage("cannot create %s: %s", path, strerror(errno));
		*p = c;
		if (!c)
			break;
	}
	free(path);
	path = xasprintf("%s/.", dir);
	if (access(path, W_OK))
		die_usage("cannot write into %s: %s", dir, strerror(errno));
	free(path);
}

void results_write(const char *dir, const struct test *t)
{
	char *name = xstrdup(t->name);
	char *path;
	FILE *f;

	for (char *p = name; *p; p++)
		if (*p == '/')
			*p = '_';
	path = xasprintf("%s/%s.log", dir, name);
	f = fopen(path, "we");
	if (!f) {
		warn("cannot write %s: %s", path, strerror(errno));
	} else {
		if (t->out.len)
			fwrite(t->out.data, 1, t->out.len, f);
		if (fclose(f))
			warn("writing %s failed: %s", path, strerror(errno));
	}
	free(path);
	free(name);
}
