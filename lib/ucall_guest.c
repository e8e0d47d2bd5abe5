// SPDX-License-Identifier: GPL-2.0-only
/* Guest side of the ucall channel: runs inside the VM, so no libc. */
#include <stdarg.h>
#include "kvmcheck/guest.h"

/*
 * Only the header is written: zeroing the whole struct (buffer included) costs a "rep stos" per
 * call, which some KVM implementations emulate (kvm_pvm: 10x the exit itself, measured).
 */
static void ucall_header(struct ucall *uc, uint64_t cmd, int nargs)
{
	uc->cmd = cmd;
	uc->nargs = (uint64_t)nargs;
	uc->file = NULL;
	uc->expr = NULL;
	uc->line = 0;
}

void ucall(uint64_t cmd, int nargs, const uint64_t *args)
{
	struct ucall uc;

	ucall_header(&uc, cmd, nargs);
	for (int i = 0; i < nargs && i < UCALL_MAX_ARGS; i++)
		uc.args[i] = args[i];
	ucall_arch_do(&uc);
}

void ucall_printf(const char *fmt, ...)
{
	struct ucall uc;
	va_list ap;

	ucall_header(&uc, UCALL_PRINTF, 0);
	va_start(ap, fmt);
	guest_vsnprintf(uc.buf, sizeof(uc.buf), fmt, ap);
	va_end(ap);
	ucall_arch_do(&uc);
}

void ucall_assert(const char *file, int line, const char *expr, const char *fmt, ...)
{
	struct ucall uc;
	va_list ap;

	ucall_header(&uc, UCALL_ASSERT, 0);
	uc.file = file;
	uc.expr = expr;
	uc.line = (uint64_t)line;
	va_start(ap, fmt);
	guest_vsnprintf(uc.buf, sizeof(uc.buf), fmt, ap);
	va_end(ap);
	/* The host ends the subtest on an assert; never resume past a failed one. */
	for (;;)
		ucall_arch_do(&uc);
}
