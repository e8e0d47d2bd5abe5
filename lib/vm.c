// SPDX-License-Identifier: GPL-2.0-only
/* VM lifetime, capabilities and the irqchip mode chosen at creation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kvmcheck/vm.h"
#include "kvmcheck/image.h"
#include "internal.h"

int __vm_create_fd(unsigned long type)
{
	int fd;

	do {
		fd = ioctl(kvm_dev_fd(), KVM_CREATE_VM, type);
	} while (fd < 0 && errno == EINTR);
	return fd;
}

int __vm_ioctl(struct kvm_vm *vm, unsigned long req, void *arg)
{
	return ioctl(vm->fd, req, arg);
}

int vm_check_cap(struct kvm_vm *vm, long cap)
{
	int ret = ioctl(vm->fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? 0 : ret;
}

int __vm_enable_cap(struct kvm_vm *vm, uint32_t cap, uint64_t arg0)
{
	struct kvm_enable_cap ec = { .cap = cap, .args = { arg0 } };

	return ioctl(vm->fd, KVM_ENABLE_CAP, &ec);
}

void vm_enable_cap(struct kvm_vm *vm, uint32_t cap, uint64_t arg0)
{
	int ret = __vm_enable_cap(vm, cap, arg0);

	TEST_ASSERT(ret == 0, "KVM_ENABLE_CAP(%u, %#llx) failed: %s", cap,
		    (unsigned long long)arg0, kc_errno_str());
}

/* The irqchip must exist before the first vCPU: KVM builds each vCPU's LAPIC at creation. */
static void vm_setup_irqchip(struct kvm_vm *vm, const struct vm_shape *shape)
{
	switch (shape->irqchip) {
	case KC_IRQCHIP_NONE:
		break;
	case KC_IRQCHIP_KERNEL:
		vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
		break;
	case KC_IRQCHIP_SPLIT:
		TEST_ASSERT(vm_check_cap(vm, KVM_CAP_SPLIT_IRQCHIP),
			    "needs KVM_CAP_SPLIT_IRQCHIP");
		vm_enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP,
			      shape->ioapic_pins ? shape->ioapic_pins : 24);
		break;
	}
	vm->irqchip = shape->irqchip;
}

struct kvm_vm *vm_create(const struct vm_shape *shape)
{
	struct kvm_vm *vm = calloc(1, sizeof(*vm));
	size_t extra = shape->extra_mem ? shape->extra_mem : KC_DEFAULT_MEM;

	TEST_ASSERT(vm, "out of memory");
	vm->type = shape->type;
	vm->fd = __vm_create_fd(shape->type);
	TEST_ASSERT(vm->fd >= 0, "KVM_CREATE_VM(type %lu) failed: %s", shape->type,
		    kc_errno_str());
	for (int i = 0; i < KC_MAX_MEMSLOTS; i++)
		vm->slots[i].gmem_fd = -1;
	kc_image_load(vm, extra);
	vm_setup_irqchip(vm, shape);
	kc_arch_vm_init(vm);
	return vm;
}

struct kvm_vm *vm_create_default(void)
{
	struct vm_shape shape = { .irqchip = KC_DEFAULT_IRQCHIP };

	return vm_create(&shape);
}

struct kvm_vm *vm_create_with_one_vcpu(struct kvm_vcpu **vcpu, void *guest_code)
{
	struct kvm_vm *vm = vm_create_default();

	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	return vm;
}

static void vcpu_free(struct kvm_vcpu *vcpu)
{
	kc_arch_vcpu_free(vcpu);
	kc_vcpu_unmap_run(vcpu);
	close(vcpu->fd);
	free(vcpu);
}

void kvm_vm_free(struct kvm_vm *vm)
{
	if (!vm)
		return;
	for (int i = 0; i < KC_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			vcpu_free(vm->vcpus[i]);
	kc_arch_vm_free(vm);
	close(vm->fd);
	kc_memslots_free(vm);
	free(vm);
}
