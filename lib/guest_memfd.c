// SPDX-License-Identifier: GPL-2.0-only
/* guest_memfd and memory attributes: private memory that the VMM cannot map. */
#include "kvmcheck/vm.h"

int __vm_create_guest_memfd(struct kvm_vm *vm, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd gmem = { .size = size, .flags = flags };

	return ioctl(vm->fd, KVM_CREATE_GUEST_MEMFD, &gmem);
}

int vm_create_guest_memfd(struct kvm_vm *vm, uint64_t size, uint64_t flags)
{
	int fd = __vm_create_guest_memfd(vm, size, flags);

	TEST_ASSERT(fd >= 0, "KVM_CREATE_GUEST_MEMFD(size %#llx, flags %#llx) failed: %s",
		    (unsigned long long)size, (unsigned long long)flags, kc_errno_str());
	TEST_ASSERT(vm->nr_gmem_fds < KC_MAX_MEMSLOTS, "too many guest_memfds");
	vm->gmem_fds[vm->nr_gmem_fds++] = fd;
	return fd;
}

int __vm_set_memory_attributes(struct kvm_vm *vm, uint64_t gpa, uint64_t size, uint64_t attrs)
{
	struct kvm_memory_attributes ma = { .address = gpa, .size = size, .attributes = attrs };

	return ioctl(vm->fd, KVM_SET_MEMORY_ATTRIBUTES, &ma);
}

void vm_set_memory_attributes(struct kvm_vm *vm, uint64_t gpa, uint64_t size, uint64_t attrs)
{
	int ret = __vm_set_memory_attributes(vm, gpa, size, attrs);

	TEST_ASSERT(ret == 0, "KVM_SET_MEMORY_ATTRIBUTES(%#llx+%#llx, %#llx) failed: %s",
		    (unsigned long long)gpa, (unsigned long long)size,
		    (unsigned long long)attrs, kc_errno_str());
}
