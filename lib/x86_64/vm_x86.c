// SPDX-License-Identifier: GPL-2.0-only
/* x86 VM set-up shared by all vCPUs: page tables and descriptor tables. */
#include <stdlib.h>
#include "x86_64/x86_vm.h"
#include "x86_64/vcpu_arch.h"

void kc_arch_vm_init(struct kvm_vm *vm)
{
	vm->arch = calloc(1, sizeof(*vm->arch));
	TEST_ASSERT(vm->arch, "out of memory");
	kc_paging_init(vm);
	kc_desc_tables_init(vm);
}

void kc_arch_vm_free(struct kvm_vm *vm)
{
	free(vm->arch);
}

/* Writes the guest's copy of the handler table: the guest dispatches from its own memory. */
void vm_install_exception_handler(struct kvm_vm *vm, int vector, kc_handler_t handler)
{
	extern kc_handler_t kc_handlers[256];

	*(kc_handler_t *)addr_gpa2hva(vm, (uint64_t)(uintptr_t)&kc_handlers[vector & 255]) =
		handler;
}
