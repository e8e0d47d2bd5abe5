/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM hypercalls: the guest side (VMCALL on Intel, VMMCALL on AMD/Hygon, nr in RAX, arguments in
 * RBX, RCX, RDX, RSI, result in RAX; Documentation/virt/kvm/x86/hypercalls.rst) and the host
 * side of KVM_HC_MAP_GPA_RANGE forwarded as KVM_EXIT_HYPERCALL (KVM_CAP_EXIT_HYPERCALL): a
 * conversion between shared and private memory that follows the range across memslots.
 */
#ifndef KVMCHECK_X86_HYPERCALL_H
#define KVMCHECK_X86_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>
#include "kvmcheck/vm.h"

/* kvm_run.hypercall.flags (the "longmode" word in 6.1 headers), include/uapi/linux/kvm.h */
#define KC_EXIT_HYPERCALL_LONG_MODE	(1ULL << 0)

/* Guest side. The vendor's instruction is chosen once from CPUID leaf 0. */
uint64_t kvm_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

static inline uint64_t kvm_hc_map_gpa_range(uint64_t gpa, uint64_t npages, uint64_t attrs)
{
	return kvm_hypercall(KVM_HC_MAP_GPA_RANGE, gpa, npages, attrs, 0);
}

/* Host side */
struct kc_map_gpa_range {
	uint64_t gpa;
	uint64_t npages;
	uint64_t attrs;		/* KVM_MAP_GPA_RANGE_ENCRYPTED | page-size bits */
	uint64_t flags;		/* KC_EXIT_HYPERCALL_LONG_MODE */
};

/* Is the vCPU's exit a forwarded KVM_HC_MAP_GPA_RANGE? Fills *req when it is. */
bool kc_get_map_gpa_range(struct kvm_vcpu *vcpu, struct kc_map_gpa_range *req);

/* The guest's RAX when the hypercall completes (on the next KVM_RUN). */
void kc_complete_hypercall(struct kvm_vcpu *vcpu, uint64_t ret);

/*
 * Convert [gpa, gpa + size) as a VMM does for KVM_HC_MAP_GPA_RANGE or KVM_EXIT_MEMORY_FAULT:
 * KVM_SET_MEMORY_ATTRIBUTES for the whole range (attributes are per GPA, not per memslot), then,
 * for every memslot the range touches, only the part inside that slot: to private, the shared
 * copy is discarded (MADV_DONTNEED); to shared, the guest_memfd range behind it is punched out
 * (fallocate PUNCH_HOLE|KEEP_SIZE at the slot's guest_memfd offset). Conversion to private of a
 * part backed by no guest_memfd is refused before anything changes. Returns 0 or -errno.
 * This is kvmcheck's model of QEMU's kvm_convert_memory() with "accel/kvm: Fix
 * kvm_convert_memory calls crossing memory regions" (x86/private_mem_conversion checks it).
 */
int kc_convert_memory(struct kvm_vm *vm, uint64_t gpa, uint64_t size, bool to_private);

#endif
