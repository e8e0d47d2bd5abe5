/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * UAPI definitions newer than the linux-libc-dev the suite is built against (Debian 12 ships
 * 6.1). Values are the kernel's ABI, checked against include/uapi of Linux 7.2. Each one is
 * guarded so that newer installed headers win; nothing here may change meaning between kernels.
 */
#ifndef KVMCHECK_COMPAT_H
#define KVMCHECK_COMPAT_H

#include <linux/kvm.h>
#include <linux/types.h>
#include <stdint.h>

/* Capabilities (include/uapi/linux/kvm.h) */
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2		231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO	232
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES	233
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD		234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES		235
#endif
#ifndef KVM_CAP_GUEST_MEMFD_FLAGS
#define KVM_CAP_GUEST_MEMFD_FLAGS	244
#endif

/* Exit reasons and system events */
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT		39
#endif
#ifndef KVM_EXIT_TDX
#define KVM_EXIT_TDX			40
#endif
#ifndef KVM_EXIT_ARM_SEA
#define KVM_EXIT_ARM_SEA		41
#endif
#ifndef KVM_SYSTEM_EVENT_WAKEUP
#define KVM_SYSTEM_EVENT_WAKEUP		4
#endif
#ifndef KVM_SYSTEM_EVENT_SUSPEND
#define KVM_SYSTEM_EVENT_SUSPEND	5
#endif
#ifndef KVM_SYSTEM_EVENT_SEV_TERM
#define KVM_SYSTEM_EVENT_SEV_TERM	6
#endif
#ifndef KVM_SYSTEM_EVENT_TDX_FATAL
#define KVM_SYSTEM_EVENT_TDX_FATAL	7
#endif
#ifndef KVM_MP_STATE_SUSPENDED
#define KVM_MP_STATE_SUSPENDED		10
#endif

/* KVM_EXIT_MEMORY_FAULT payload; it sits at the start of kvm_run's exit union. */
#ifndef KVM_MEMORY_EXIT_FLAG_PRIVATE
#define KVM_MEMORY_EXIT_FLAG_PRIVATE	(1ULL << 3)
#endif
struct kvmcheck_memory_fault {
	__u64 flags;
	__u64 gpa;
	__u64 size;
};
#define kvm_run_memory_fault(run) ((struct kvmcheck_memory_fault *)(void *)&(run)->mmio)

/* Memslots backed by guest_memfd */
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD		(1UL << 2)
#endif
#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2	_IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif

#ifndef KVM_SET_MEMORY_ATTRIBUTES
struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES	_IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#endif
#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KVM_MEMORY_ATTRIBUTE_PRIVATE	(1ULL << 3)
#endif

#ifndef KVM_CREATE_GUEST_MEMFD
struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD		_IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#endif
#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP		(1ULL << 0)
#endif
#ifndef GUEST_MEMFD_FLAG_INIT_SHARED
#define GUEST_MEMFD_FLAG_INIT_SHARED	(1ULL << 1)
#endif

/* Hypercalls forwarded with KVM_CAP_EXIT_HYPERCALL (include/uapi/linux/kvm_para.h) */
#ifndef KVM_HC_MAP_GPA_RANGE
#define KVM_HC_MAP_GPA_RANGE		12
#endif

#ifdef __x86_64__
#include "x86_64/compat_x86.h"
#endif

#endif
