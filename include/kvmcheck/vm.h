/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VMM library: /dev/kvm, VMs, vCPUs, memslots, guest_memfd, irqchips and interrupts.
 * Convention (as in the upstream selftests): __foo() returns the ioctl's result (-1 with errno
 * set on error) so a test can check a refusal; foo() asserts success and names the ioctl and the
 * error in the failure.
 */
#ifndef KVMCHECK_VM_H
#define KVMCHECK_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include "kvmcheck/compat.h"
#include "kvmcheck/assert.h"

#define KVM_DEV_PATH		"/dev/kvm"
#define KC_PAGE_SIZE		4096UL
#define KC_MAX_VCPUS		16
#define KC_MAX_MEMSLOTS		32
#define KC_DEFAULT_MEM		(64UL << 20)	/* beyond the guest image */

enum kc_irqchip {
	KC_IRQCHIP_NONE,	/* no in-kernel LAPIC: HLT and interrupts are userspace's */
	KC_IRQCHIP_KERNEL,	/* KVM_CREATE_IRQCHIP: LAPIC, IOAPIC and PIC in KVM */
	KC_IRQCHIP_SPLIT,	/* KVM_CAP_SPLIT_IRQCHIP: LAPIC in KVM, IOAPIC in userspace */
};

/* What vm_create_default() asks for. riscv has no KVM_CREATE_IRQCHIP (its in-kernel irqchip,
 * the AIA, is a KVM device), and KVM_INTERRUPT works only without one. */
#if defined(__riscv)
#define KC_DEFAULT_IRQCHIP	KC_IRQCHIP_NONE
#else
#define KC_DEFAULT_IRQCHIP	KC_IRQCHIP_KERNEL
#endif

struct vm_shape {
	unsigned long type;		/* KVM_CREATE_VM machine type */
	enum kc_irqchip irqchip;
	unsigned int ioapic_pins;	/* split irqchip: routes reserved for the IOAPIC */
	size_t extra_mem;		/* slot 0 bytes beyond the image; 0 = KC_DEFAULT_MEM */
};

struct kc_memslot {
	bool used;
	uint32_t slot;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	void *hva;
	int gmem_fd;
	uint64_t gmem_offset;
};

struct kvm_vcpu;

struct kvm_vm {
	int fd;
	unsigned long type;
	enum kc_irqchip irqchip;
	struct kc_memslot slots[KC_MAX_MEMSLOTS];
	struct kvm_vcpu *vcpus[KC_MAX_VCPUS];
	uint64_t next_free_gpa;		/* bump allocator in slot 0 */
	uint64_t free_gpa_end;
	int gmem_fds[KC_MAX_MEMSLOTS];	/* created through vm_create_guest_memfd(), closed at free */
	int nr_gmem_fds;
	struct kc_arch_vm *arch;
};

struct kvm_vcpu {
	struct kvm_vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	uint64_t stack_top;
	struct kc_vcpu_arch *arch;
};

/* /dev/kvm */
int kvm_dev_fd(void);
const char *kvm_unavailable_reason(void);
int kvm_check_cap(long cap);
int __kvm_has_device_attr(uint32_t group, uint64_t attr);
int __kvm_get_device_attr(uint32_t group, uint64_t attr, void *val);

/* VMs */
int __vm_create_fd(unsigned long type);
struct kvm_vm *vm_create(const struct vm_shape *shape);
struct kvm_vm *vm_create_default(void);
struct kvm_vm *vm_create_with_one_vcpu(struct kvm_vcpu **vcpu, void *guest_code);
void kvm_vm_free(struct kvm_vm *vm);
int vm_check_cap(struct kvm_vm *vm, long cap);
int __vm_enable_cap(struct kvm_vm *vm, uint32_t cap, uint64_t arg0);
void vm_enable_cap(struct kvm_vm *vm, uint32_t cap, uint64_t arg0);
int __vm_ioctl(struct kvm_vm *vm, unsigned long req, void *arg);
#define vm_ioctl(vm, req, arg) \
	TEST_ASSERT_IOCTL(__vm_ioctl(vm, req, (void *)(arg)), #req)

/* Memory */
int __vm_set_memory_region2(struct kvm_vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
			    uint64_t size, void *hva, int gmem_fd, uint64_t gmem_offset);
void *vm_mem_add(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, uint32_t flags);
void *vm_mem_add_gmem(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		      int gmem_fd, uint64_t gmem_offset);
void vm_mem_move(struct kvm_vm *vm, uint32_t slot, uint64_t new_gpa);
void vm_mem_delete(struct kvm_vm *vm, uint32_t slot);
int __vm_create_guest_memfd(struct kvm_vm *vm, uint64_t size, uint64_t flags);
int vm_create_guest_memfd(struct kvm_vm *vm, uint64_t size, uint64_t flags);
int __vm_set_memory_attributes(struct kvm_vm *vm, uint64_t gpa, uint64_t size, uint64_t attrs);
void vm_set_memory_attributes(struct kvm_vm *vm, uint64_t gpa, uint64_t size, uint64_t attrs);
struct kc_memslot *vm_memslot_of(struct kvm_vm *vm, uint64_t gpa);
void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa);
uint64_t vm_alloc_pages(struct kvm_vm *vm, unsigned int npages);

/*
 * Guest code runs from a copy of this program's image, taken when the VM is created. These copy
 * a global (an object of the image) between the two.
 */
#define sync_global_to_guest(vm, g) \
	memcpy(addr_gpa2hva(vm, (uint64_t)(uintptr_t)&(g)), &(g), sizeof(g))
#define sync_global_from_guest(vm, g) \
	memcpy(&(g), addr_gpa2hva(vm, (uint64_t)(uintptr_t)&(g)), sizeof(g))

/* Interrupts */
int __vm_irq_line(struct kvm_vm *vm, uint32_t irq, int level);
void vm_irq_line(struct kvm_vm *vm, uint32_t irq, int level);
struct kvm_irq_routing *kc_routing_new(void);
void kc_routing_add_msi(struct kvm_irq_routing *r, uint32_t gsi, uint64_t addr, uint32_t data);
void kc_routing_add_irqchip(struct kvm_irq_routing *r, uint32_t gsi, uint32_t chip,
			    uint32_t pin);
int __vm_set_gsi_routing(struct kvm_vm *vm, struct kvm_irq_routing *r);
void vm_set_gsi_routing(struct kvm_vm *vm, struct kvm_irq_routing *r);
int __vm_signal_msi(struct kvm_vm *vm, uint64_t addr, uint32_t data);
void vm_signal_msi(struct kvm_vm *vm, uint64_t addr, uint32_t data);

/* vCPUs */
struct kvm_vcpu *vm_vcpu_add(struct kvm_vm *vm, int id, void *guest_code);
void vcpu_args_set(struct kvm_vcpu *vcpu, int nargs, ...);
int __vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned long req, void *arg);
#define vcpu_ioctl(vcpu, req, arg) \
	TEST_ASSERT_IOCTL(__vcpu_ioctl(vcpu, req, (void *)(arg)), #req)
int __vcpu_run(struct kvm_vcpu *vcpu);
void vcpu_run(struct kvm_vcpu *vcpu);
void vcpu_get_mp_state(struct kvm_vcpu *vcpu, struct kvm_mp_state *mp);
int __vcpu_set_mp_state(struct kvm_vcpu *vcpu, uint32_t state);
const char *exit_reason_str(uint32_t reason);
void __vcpu_assert_exit(struct kvm_vcpu *vcpu, uint32_t reason, const char *file, int line);
#define vcpu_assert_exit(vcpu, reason) __vcpu_assert_exit(vcpu, reason, __FILE__, __LINE__)

/* Architecture hooks (lib/<arch>/) */
void kc_arch_vm_init(struct kvm_vm *vm);
void kc_arch_vm_free(struct kvm_vm *vm);
void kc_arch_vcpu_init(struct kvm_vcpu *vcpu, void *guest_code);
void kc_arch_vcpu_free(struct kvm_vcpu *vcpu);
void kc_arch_vcpu_args_set(struct kvm_vcpu *vcpu, int nargs, const uint64_t *args);
const char *kc_arch_exit_detail(struct kvm_vcpu *vcpu, char *buf, size_t size);

#endif
