/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-vCPU x86 state the library keeps beside struct kvm_vcpu. */
#ifndef KVMCHECK_X86_VCPU_ARCH_H
#define KVMCHECK_X86_VCPU_ARCH_H

#include "kvmcheck/vm.h"

struct kc_vcpu_arch {
	struct kvm_cpuid2 *cpuid;
	uint32_t cpuid_room;
};

struct kc_vcpu_arch *kc_vcpu_arch(struct kvm_vcpu *vcpu);
void kc_vcpu_cpuid_init(struct kvm_vcpu *vcpu);
void kc_paging_init(struct kvm_vm *vm);

#endif
