/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-side riscv64 helpers: KVM_GET/SET_ONE_REG by register class, the vCPU's ISA extensions
 * and trap handlers installed from the host. Register ids are KVM's ABI
 * (arch/riscv/include/uapi/asm/kvm.h, Documentation/virt/kvm/api.rst "KVM_SET_ONE_REG"):
 * KVM_REG_RISCV | size | type << 24 | subtype << 16 | index.
 */
#ifndef KVMCHECK_RISCV_VM_H
#define KVMCHECK_RISCV_VM_H

#include <stddef.h>
#include "kvmcheck/vm.h"
#include "riscv64/processor.h"
#include "riscv64/sbi.h"

/* Types newer than the 6.1 headers the suite builds against; same values on every kernel. */
#ifndef KVM_REG_RISCV_SUBTYPE_SHIFT
#define KVM_REG_RISCV_SUBTYPE_SHIFT	16
#endif
#ifndef KVM_REG_RISCV_SBI_EXT
#define KVM_REG_RISCV_SBI_EXT		(0x08 << KVM_REG_RISCV_TYPE_SHIFT)
#endif
#ifndef KVM_REG_RISCV_CSR_GENERAL
#define KVM_REG_RISCV_CSR_GENERAL	(0x0 << KVM_REG_RISCV_SUBTYPE_SHIFT)
#endif

#define KC_RISCV_REG(type, idx)	\
	(KVM_REG_RISCV | KVM_REG_SIZE_U64 | (uint64_t)(type) | (uint64_t)(idx))
/* struct kvm_riscv_config's indices: the 6.1 headers lack all but isa. */
#define KC_CONFIG_isa			0
#define KC_CONFIG_zicbom_block_size	1
#define KC_CONFIG_mvendorid		2
#define KC_CONFIG_marchid		3
#define KC_CONFIG_mimpid		4
#define KC_CONFIG_zicboz_block_size	5
#define KC_CONFIG_satp_mode		6
#define RISCV_CONFIG_REG(name)	KC_RISCV_REG(KVM_REG_RISCV_CONFIG, KC_CONFIG_##name)
#define RISCV_CORE_REG(name)	\
	KC_RISCV_REG(KVM_REG_RISCV_CORE, KVM_REG_RISCV_CORE_REG(name))
#define RISCV_CSR_REG(name)	\
	KC_RISCV_REG(KVM_REG_RISCV_CSR, KVM_REG_RISCV_CSR_REG(name))
#define RISCV_TIMER_REG(name)	\
	KC_RISCV_REG(KVM_REG_RISCV_TIMER, KVM_REG_RISCV_TIMER_REG(name))
#define RISCV_ISA_EXT_REG(id)	KC_RISCV_REG(KVM_REG_RISCV_ISA_EXT, id)
#define RISCV_SBI_EXT_REG(id)	KC_RISCV_REG(KVM_REG_RISCV_SBI_EXT, id)

/* KVM_RISCV_SBI_EXT_* (KVM's own numbering of SBI extensions, not the SBI's IDs). */
#define KC_KVM_SBI_EXT_EXPERIMENTAL	7

struct kc_arch_vm {
	int unused;
};

struct kc_vcpu_arch {
	int has_sstc;
};

/* ONE_REG: __ returns the ioctl's result, the others assert. */
int __vcpu_get_reg(struct kvm_vcpu *vcpu, uint64_t id, uint64_t *val);
int __vcpu_set_reg(struct kvm_vcpu *vcpu, uint64_t id, uint64_t val);
uint64_t vcpu_get_reg(struct kvm_vcpu *vcpu, uint64_t id);
void vcpu_set_reg(struct kvm_vcpu *vcpu, uint64_t id, uint64_t val);
/* KVM_GET_REG_LIST, malloc'd; the caller frees it. */
struct kvm_reg_list *vcpu_get_reg_list(struct kvm_vcpu *vcpu);
const char *riscv_reg_name(uint64_t id, char *buf, size_t size);

/* Whether the vCPU has an ISA extension (KVM_RISCV_ISA_EXT_*); 0 when KVM does not know it. */
bool vcpu_has_isa_ext(struct kvm_vcpu *vcpu, uint64_t ext);

/* Writes the guest's copy of the handler table, like x86's. */
void vm_install_exception_handler(struct kvm_vm *vm, int vector, kc_handler_t handler);

#endif
