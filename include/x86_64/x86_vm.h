/* SPDX-License-Identifier: GPL-2.0-only */
/* Host-side x86_64 VM and vCPU helpers: CPUID, registers, MSRs, page tables, handlers. */
#ifndef KVMCHECK_X86_VM_H
#define KVMCHECK_X86_VM_H

#include "kvmcheck/vm.h"
#include "x86_64/processor.h"

/* The guest's ucall doorbell: a 32-bit OUT of the ucall's address. */
#define KC_UCALL_PORT		0x6b63

struct kc_arch_vm {
	uint64_t pml4;
	uint64_t gdt;
	uint64_t idt;
	uint64_t tss;
};

/* CPUID */
const struct kvm_cpuid2 *kc_supported_cpuid(void);
struct kvm_cpuid_entry2 *kc_cpuid_find(struct kvm_cpuid2 *cpuid, uint32_t fn, uint32_t idx);
bool kc_host_cpu_has(uint32_t fn, uint32_t idx, char reg, int bit);
struct kvm_cpuid2 *vcpu_cpuid(struct kvm_vcpu *vcpu);
struct kvm_cpuid_entry2 *vcpu_cpuid_entry(struct kvm_vcpu *vcpu, uint32_t fn, uint32_t idx);
int __vcpu_apply_cpuid(struct kvm_vcpu *vcpu);
void vcpu_apply_cpuid(struct kvm_vcpu *vcpu);

/* Registers */
void vcpu_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
void vcpu_set_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
void vcpu_get_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs);
void vcpu_set_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs);
int __vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t *val);
uint64_t vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index);
int __vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val);
void vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val);

/* Page tables: map [gva, gva + size) to [gpa, …) with 4 KiB or 2 MiB pages. */
#define KC_PG_4K	(1UL << 12)
#define KC_PG_2M	(1UL << 21)
void virt_map(struct kvm_vm *vm, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t pgsize);

/* Descriptor tables and exception handlers (the handler runs in the guest). */
void kc_desc_tables_init(struct kvm_vm *vm);
void vcpu_init_sregs(struct kvm_vcpu *vcpu);
void vm_install_exception_handler(struct kvm_vm *vm, int vector, kc_handler_t handler);

#endif
