// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86 ucall transport: one 32-bit OUT carries the ucall's guest-physical address (the guest
 * stack lives below 4 GiB). KVM puts the data in kvm_run, so the host needs no KVM_GET_REGS.
 */
#include "kvmcheck/ucall.h"
#include "x86_64/x86_vm.h"

void ucall_arch_do(struct ucall *uc)
{
	asm volatile("outl %0, %1" :: "a"((uint32_t)(uintptr_t)uc), "Nd"((uint16_t)KC_UCALL_PORT)
		     : "memory");
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
