/* SPDX-License-Identifier: GPL-2.0-only */
/* Between the harness's own files: parsed arguments, the --meta writer, the health check. */
#ifndef KVMCHECK_HARNESS_INTERNAL_H
#define KVMCHECK_HARNESS_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>
#include "kvmcheck/test.h"

#define KC_MAX_SELECT 32

struct kc_args {
	int nr_selected;
	const char *selected[KC_MAX_SELECT];	/* -s NAME; none means all */
};

/* Returns an exit status when the program is done (--meta, --list, usage), else -1. */
int kc_parse_args(const struct kc_test *t, int argc, char **argv, struct kc_args *args);
bool kc_selected(const struct kc_args *args, const char *name);
int kc_count_selected(const struct kc_test *t, const struct kc_args *args);
void kc_print_meta(const struct kc_test *t);

/* { test name, where runs showed it pass and fail }, ends with NULLs: build/gen/shown_on.c. */
extern const char *const kc_shown_on_table[][2];

/* The kernel's health around each subtest (lib/harness_health.c). */
struct kc_result;
void kc_health_init(const struct kc_test *t);
void kc_health_before(void);
void kc_health_child(void);
/* May turn @res into a FAIL that names the kernel report, the taint or the leftover process. */
void kc_health_after(struct kc_result *res, pid_t child);

#endif
