// SPDX-License-Identifier: GPL-2.0-only
/* Report files are opened before the run, so a bad path fails in a second, not after an hour. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

FILE *open_report(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		die_usage("cannot write %s: %s", path, strerror(errno));
	return f;
}

void write_report(FILE *f, const struct buf *b, const char *path)
{
	bool ok = fwrite(b->data, 1, b->len, f) == b->len;

	ok &= !ferror(f);
	if (fclose(f) || !ok)
		warn("writing %s failed: %s", path, strerror(errno));
}
