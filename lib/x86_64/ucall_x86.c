// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86 ucall transport: one 32-bit OUT carries the ucall's guest-physical address (the guest
 * stack lives below 4 GiB). KVM puts the data in kvm_run, so the host needs no KVM_GET_REGS.
 */
#include "kvmcheck/ucall.h"
#include "x86_64/x86_vm.h"
#include "x86_64/ucall_regs.h"

void ucall_arch_do(struct ucall *uc)
{
	asm volatile("outl %0, %1" :: "a"((uint32_t)(uintptr_t)uc), "Nd"((uint16_t)KC_UCALL_PORT)
		     : "memory");
}

/* See include/x86_64/ucall_regs.h. */
int ucall_arch_regs(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	const struct kvm_regs *r = &run->s.regs.regs;
	uint32_t eax;

	if (run->exit_reason != KVM_EXIT_IO || run->io.port != KC_UCALL_REGS_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || run->io.count != 1)
		return 0;
	eax = *(uint32_t *)((char *)run + run->io.data_offset);
	uc->cmd = eax & 0xff;
	uc->nargs = (eax >> 8) & 0xff;
	uc->args[0] = r->rdi;
	uc->args[1] = r->rsi;
	uc->args[2] = r->rdx;
	uc->args[3] = r->rcx;
	uc->args[4] = r->r8;
	uc->args[5] = r->r9;
	uc->file = uc->expr = NULL;
	uc->line = 0;
	return 1;
}

int ucall_arch_gpa(struct kvm_vcpu *vcpu, uint64_t *gpa)
{
	struct kvm_run *run = vcpu->run;

	if (run->exit_reason != KVM_EXIT_IO || run->io.port != KC_UCALL_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || run->io.count != 1)
		return 0;
	*gpa = *(uint32_t *)((char *)run + run->io.data_offset);
	return 1;
}
