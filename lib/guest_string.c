// SPDX-License-Identifier: GPL-2.0-only
/*
 * String functions safe in guest context. memset/memcpy/memmove/memcmp replace glibc's in these
 * static programs on purpose: the compiler emits calls to them in guest code (struct copies,
 * zeroing), and glibc's versions pick CPU-specific variants at start-up (AVX, ERMS) that the
 * guest's CPU state need not support. Plain loops work everywhere; the host-side cost is noise
 * next to an ioctl.
 */
#include <stddef.h>
#include <stdint.h>
#include "kvmcheck/guest.h"

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t guest_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int guest_strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}
