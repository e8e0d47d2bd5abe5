// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest-side trap dispatch. KVM delegates the guest's own exceptions (illegal instruction,
 * breakpoint, page faults, misaligned fetch, ecall from U: hedeleg in arch/riscv/kvm/
 * vcpu_config.c) and its VS-level interrupts (hideleg) to the guest's stvec, which is
 * kc_trap_entry. An installed handler for the vector runs; anything else is reported to the
 * host as UCALL_UNHANDLED with vector, sepc and stval, and the vCPU stops.
 */
#include "kvmcheck/guest.h"
#include "riscv64/processor.h"

kc_handler_t kc_handlers[KC_NR_VECTORS];

void guest_install_handler(int vector, kc_handler_t handler)
{
	kc_handlers[vector & (KC_NR_VECTORS - 1)] = handler;
}

static uint64_t trap_vector(uint64_t scause)
{
	uint64_t code = scause & ~SCAUSE_IRQ_FLAG;

	if (scause & SCAUSE_IRQ_FLAG)
		return code < 64 ? KC_IRQ_VECTOR(code) : KC_NR_VECTORS - 1;
	return code < 64 ? code : KC_NR_VECTORS - 1;
}

void kc_route_trap(struct ex_regs *regs)
{
	regs->vector = trap_vector(regs->scause);
	if (kc_handlers[regs->vector]) {
		kc_handlers[regs->vector](regs);
		return;
	}
	ucall(UCALL_UNHANDLED, 3, (const uint64_t[]){ regs->vector, regs->sepc, regs->stval });
	guest_halt_forever();
}

/* sie = 0 first: wfi would otherwise wake on each pending interrupt and spin. */
void guest_halt_forever(void)
{
	csr_clear(CSR_SSTATUS, SR_SIE);
	csr_write(CSR_SIE, 0);
	for (;;)
		wfi();
}

void kc_guest_exited(void)
{
	GUEST_DONE();
	guest_halt_forever();
}
