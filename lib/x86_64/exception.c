// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest-side exception and interrupt dispatch. Order: a faulting *_safe instruction resumes at
 * its fixup (the vector in r10); then a handler installed for the vector; anything else is
 * reported to the host as UCALL_UNHANDLED with vector, RIP and error code, and the vCPU stops.
 */
#include "kvmcheck/guest.h"
#include "x86_64/processor.h"

struct kc_extable_entry {
	uint64_t insn;
	uint64_t fixup;
};

/* The linker defines these for a section whose name is a C identifier; weak, since a program
 * without any *_safe instruction has no such section. */
extern const struct kc_extable_entry __start_kc_extable[] __attribute__((weak));
extern const struct kc_extable_entry __stop_kc_extable[] __attribute__((weak));

kc_handler_t kc_handlers[256];

void guest_install_handler(int vector, kc_handler_t handler)
{
	kc_handlers[vector & 255] = handler;
}

static int try_fixup(struct ex_regs *regs)
{
	/* Linker-defined bounds of one section: comparing them is the point. */
	// cppcheck-suppress comparePointers
	for (const struct kc_extable_entry *e = __start_kc_extable; e < __stop_kc_extable; e++) {
		if (e->insn == regs->rip) {
			regs->rip = e->fixup;
			regs->r10 = regs->vector;
			return 1;
		}
	}
	return 0;
}

void kc_route_exception(struct ex_regs *regs)
{
	if (regs->vector < 32 && try_fixup(regs))
		return;
	if (kc_handlers[regs->vector]) {
		kc_handlers[regs->vector](regs);
		return;
	}
	ucall(UCALL_UNHANDLED, 3,
	      (const uint64_t[]){ regs->vector, regs->rip, regs->error_code });
	guest_halt_forever();
}

void guest_halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt" ::: "memory");
}

void kc_guest_exited(void)
{
	GUEST_DONE();
	guest_halt_forever();
}
