/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What guest code may call: it runs with no libc (no TLS, no syscalls), so formatting and string
 * helpers are the suite's own and freestanding.
 */
#ifndef KVMCHECK_GUEST_H
#define KVMCHECK_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include "kvmcheck/ucall.h"

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
size_t guest_strlen(const char *s);
int guest_strcmp(const char *a, const char *b);

#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))

#endif
