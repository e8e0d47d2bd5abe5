/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-side assertions. A failure prints the file, line, expression and values, records them as
 * the subtest's failure reason and ends the subtest (each subtest runs in its own process).
 */
#ifndef KVMCHECK_ASSERT_H
#define KVMCHECK_ASSERT_H

#include <stdint.h>

void __attribute__((noreturn, format(printf, 4, 5)))
kc_assert_fail(const char *file, int line, const char *expr, const char *fmt, ...);

#define TEST_ASSERT(cond, fmt, ...)						\
do {										\
	if (!(cond))								\
		kc_assert_fail(__FILE__, __LINE__, #cond, fmt, ##__VA_ARGS__);	\
} while (0)

#define TEST_ASSERT_EQ(a, b)							\
do {										\
	uint64_t __a = (uint64_t)(a), __b = (uint64_t)(b);			\
	if (__a != __b)								\
		kc_assert_fail(__FILE__, __LINE__, #a " == " #b,		\
			       "%#llx != %#llx", (unsigned long long)__a,	\
			       (unsigned long long)__b);			\
} while (0)

#define TEST_FAIL(fmt, ...) kc_assert_fail(__FILE__, __LINE__, "failure", fmt, ##__VA_ARGS__)

/* An ioctl that must succeed: the message names the ioctl and carries errno's text. */
#define TEST_ASSERT_IOCTL(ret, name)						\
	TEST_ASSERT((ret) >= 0, "%s failed: %s", name, kc_errno_str())

const char *kc_errno_str(void);

#endif
