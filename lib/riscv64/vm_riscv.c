// SPDX-License-Identifier: GPL-2.0-only
/*
 * riscv64 VM set-up. Nothing is shared between vCPUs: with satp in Bare mode there are no
 * page tables, and KVM's default irqchip-less VM takes interrupts through KVM_INTERRUPT.
 */
#include <stdlib.h>
#include "riscv64/riscv_vm.h"

void kc_arch_vm_init(struct kvm_vm *vm)
{
	vm->arch = calloc(1, sizeof(*vm->arch));
	TEST_ASSERT(vm->arch, "out of memory");
}

void kc_arch_vm_free(struct kvm_vm *vm)
{
	free(vm->arch);
}

/* Writes the guest's copy of the handler table: the guest dispatches from its own memory. */
void vm_install_exception_handler(struct kvm_vm *vm, int vector, kc_handler_t handler)
{
	extern kc_handler_t kc_handlers[KC_NR_VECTORS];

	*(kc_handler_t *)addr_gpa2hva(vm, (uint64_t)(uintptr_t)
				      &kc_handlers[vector & (KC_NR_VECTORS - 1)]) = handler;
}
