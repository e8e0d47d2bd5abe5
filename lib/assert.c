// SPDX-License-Identifier: GPL-2.0-only
/* Host-side failure reports: file, line, expression and values, then the subtest ends. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "kvmcheck/test.h"
#include "kvmcheck/report.h"

/* Called while a failed assert's arguments are evaluated: errno is still the ioctl's. */
const char *kc_errno_str(void)
{
	static __thread char buf[64];
	int err = errno;

	snprintf(buf, sizeof(buf), "%s (errno %d)", strerror(err), err);
	return buf;
}

void kc_assert_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	char msg[KC_REASON_SIZE], reason[KC_REASON_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("# assertion failed at %s:%d: %s\n#   %s\n", file, line, expr, msg);
	snprintf(reason, sizeof(reason), "%s:%d: %s: %s", file, line, expr, msg);
	kc_finish(KSFT_FAIL, reason);
}

void kc_guest_unhandled(uint64_t vector, uint64_t ip, uint64_t error)
{
	char reason[KC_REASON_SIZE];
	const char *ip_word, *error_word;

	kc_arch_trap_words(&ip_word, &error_word);
	snprintf(reason, sizeof(reason),
		 "guest took an unhandled %s (vector %llu) at %s %#llx, %s %#llx",
		 kc_arch_vector_name(vector), (unsigned long long)vector, ip_word,
		 (unsigned long long)ip, error_word, (unsigned long long)error);
	printf("# %s\n", reason);
	kc_finish(KSFT_FAIL, reason);
}
