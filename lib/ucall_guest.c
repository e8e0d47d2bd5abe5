// SPDX-License-Identifier: GPL-2.0-only
/* Guest side of the ucall channel: runs inside the VM, so no libc. */
#include <stdarg.h>
#include "kvmcheck/guest.h"

void ucall(uint64_t cmd, int nargs, const uint64_t *args)
{
	struct ucall uc = { .cmd = cmd, .nargs = (uint64_t)nargs };

	for (int i = 0; i < nargs && i < UCALL_MAX_ARGS; i++)
		uc.args[i] = args[i];
	ucall_arch_do(&uc);
}

void ucall_printf(const char *fmt, ...)
{
	struct ucall uc = { .cmd = UCALL_PRINTF };
	va_list ap;

	va_start(ap, fmt);
	guest_vsnprintf(uc.buf, sizeof(uc.buf), fmt, ap);
	va_end(ap);
	ucall_arch_do(&uc);
}

void ucall_assert(const char *file, int line, const char *expr, const char *fmt, ...)
{
	struct ucall uc = { .cmd = UCALL_ASSERT, .file = file, .expr = expr, .line = line };
	va_list ap;

	va_start(ap, fmt);
	guest_vsnprintf(uc.buf, sizeof(uc.buf), fmt, ap);
	va_end(ap);
	/* The host ends the subtest on an assert; never resume past a failed one. */
	for (;;)
		ucall_arch_do(&uc);
}
