/* SPDX-License-Identifier: GPL-2.0-only */
/* x86 UAPI newer than Linux 6.1 (arch/x86/include/uapi/asm/kvm.h and kvm_para.h of 7.2). */
#ifndef KVMCHECK_COMPAT_X86_H
#define KVMCHECK_COMPAT_X86_H

#include <asm/kvm.h>

/* KVM_CAP_X2APIC_API flags */
#ifndef KVM_X2APIC_API_USE_32BIT_IDS
#define KVM_X2APIC_API_USE_32BIT_IDS			(1ULL << 0)
#endif
#ifndef KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK
#define KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK		(1ULL << 1)
#endif
#ifndef KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST
#define KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST	(1ULL << 2)
#endif
#ifndef KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST
#define KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST	(1ULL << 3)
#endif

/* VM types for KVM_CREATE_VM, advertised as a bitmap by KVM_CAP_VM_TYPES */
#ifndef KVM_X86_DEFAULT_VM
#define KVM_X86_DEFAULT_VM		0
#endif
#ifndef KVM_X86_SW_PROTECTED_VM
#define KVM_X86_SW_PROTECTED_VM		1
#endif
#ifndef KVM_X86_SEV_VM
#define KVM_X86_SEV_VM			2
#endif
#ifndef KVM_X86_SEV_ES_VM
#define KVM_X86_SEV_ES_VM		3
#endif
#ifndef KVM_X86_SNP_VM
#define KVM_X86_SNP_VM			4
#endif
#ifndef KVM_X86_TDX_VM
#define KVM_X86_TDX_VM			5
#endif

/* Device attributes on the system fd (KVM_HAS_DEVICE_ATTR / KVM_GET_DEVICE_ATTR) */
#ifndef KVM_X86_GRP_SEV
#define KVM_X86_GRP_SEV			1
#endif
#ifndef KVM_X86_SEV_VMSA_FEATURES
#define KVM_X86_SEV_VMSA_FEATURES	0
#endif
#ifndef KVM_X86_SNP_POLICY_BITS
#define KVM_X86_SNP_POLICY_BITS		1
#endif

/*
 * KVM_MEMORY_ENCRYPT_OP sub-commands. The 6.1 header has the SEV enum up to
 * KVM_SEV_SEND_CANCEL; INIT2 follows it (value 22 in 7.2). Named with a KVMCHECK_ prefix so an
 * enum in newer headers never collides.
 */
#define KVMCHECK_SEV_INIT2		22
struct kvmcheck_sev_init {
	__u64 vmsa_features;
	__u32 flags;
	__u16 ghcb_version;
	__u16 pad1;
	__u32 pad2[8];
};
#define KVMCHECK_TDX_CAPABILITIES	0
struct kvmcheck_tdx_cmd {
	__u32 id;
	__u32 flags;
	__u64 data;
	__u64 hw_error;
};

/* KVM_HC_MAP_GPA_RANGE attributes (arch/x86/include/uapi/asm/kvm_para.h) */
#ifndef KVM_MAP_GPA_RANGE_ENCRYPTED
#define KVM_MAP_GPA_RANGE_PAGE_SZ_4K	0
#define KVM_MAP_GPA_RANGE_PAGE_SZ_2M	(1 << 0)
#define KVM_MAP_GPA_RANGE_PAGE_SZ_1G	(1 << 1)
#define KVM_MAP_GPA_RANGE_ENC_STAT(n)	((n) << 4)
#define KVM_MAP_GPA_RANGE_ENCRYPTED	KVM_MAP_GPA_RANGE_ENC_STAT(1)
#define KVM_MAP_GPA_RANGE_DECRYPTED	KVM_MAP_GPA_RANGE_ENC_STAT(0)
#endif

#endif
