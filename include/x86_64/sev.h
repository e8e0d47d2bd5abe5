/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-side SEV helpers: KVM_MEMORY_ENCRYPT_OP with the SEV command block, KVM_SEV_INIT2, and
 * the VMSA SEV_FEATURES bits (arch/x86/include/asm/svm.h of Linux 7.2; the same numbers as the
 * APM's VMSA SEV_FEATURES field and QEMU's target/i386/sev.h).
 */
#ifndef KVMCHECK_X86_SEV_H
#define KVMCHECK_X86_SEV_H

#include <stdint.h>
#include "kvmcheck/vm.h"

#define KC_SEV_FEAT_SNP_ACTIVE		(1ULL << 0)	/* set by KVM itself for SNP VMs */
#define KC_SEV_FEAT_DEBUG_SWAP		(1ULL << 5)
#define KC_SEV_FEAT_SECURE_TSC		(1ULL << 9)	/* SNP only */

/*
 * KVM_MEMORY_ENCRYPT_OP on a VM fd with struct kvm_sev_cmd. Returns the ioctl's result (-1 and
 * errno on error); *fw_error (may be NULL) gets the firmware error KVM copied back.
 */
int __kc_sev_ioctl(int vm_fd, uint32_t id, void *data, uint32_t *fw_error);

/* KVM_SEV_INIT2 (kernel 6.10+), struct kvm_sev_init. */
int __kc_sev_init2(int vm_fd, uint64_t vmsa_features, uint16_t ghcb_version, uint32_t flags,
		   uint32_t *fw_error);

/*
 * KVM_X86_SEV_VMSA_FEATURES from /dev/kvm (group KVM_X86_GRP_SEV). Returns 0 and the value, or
 * -1 with errno from KVM_HAS_DEVICE_ATTR / KVM_GET_DEVICE_ATTR (ENXIO: not SVM, or no SEV code
 * in this KVM; EINVAL/ENOTTY: a kernel without device attributes on /dev/kvm).
 */
int __kc_sev_vmsa_features(uint64_t *val);

/* The VM types KVM_CAP_VM_TYPES advertises; 0 when the capability is absent (before 6.8). */
uint64_t kc_vm_types(void);

#endif
