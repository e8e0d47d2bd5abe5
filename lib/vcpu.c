// SPDX-License-Identifier: GPL-2.0-only
/* vCPUs: creation, the shared kvm_run page, KVM_RUN and MP state. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "kvmcheck/vm.h"
#include "internal.h"

static size_t vcpu_mmap_size(void)
{
	int size = ioctl(kvm_dev_fd(), KVM_GET_VCPU_MMAP_SIZE, 0);

	TEST_ASSERT(size > 0, "KVM_GET_VCPU_MMAP_SIZE failed: %s", kc_errno_str());
	return (size_t)size;
}

struct kvm_vcpu *vm_vcpu_add(struct kvm_vm *vm, int id, void *guest_code)
{
	struct kvm_vcpu *vcpu = calloc(1, sizeof(*vcpu));

	TEST_ASSERT(vcpu, "out of memory");
	TEST_ASSERT(id >= 0 && id < KC_MAX_VCPUS && !vm->vcpus[id], "vCPU id %d unusable", id);
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	TEST_ASSERT(vcpu->fd >= 0, "KVM_CREATE_VCPU(%d) failed: %s", id, kc_errno_str());
	vcpu->run_size = vcpu_mmap_size();
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap of kvm_run failed: %s", kc_errno_str());
	vm->vcpus[id] = vcpu;
	kc_arch_vcpu_init(vcpu, guest_code);
	return vcpu;
}

void kc_vcpu_unmap_run(struct kvm_vcpu *vcpu)
{
	munmap(vcpu->run, vcpu->run_size);
}

void vcpu_args_set(struct kvm_vcpu *vcpu, int nargs, ...)
{
	uint64_t args[6];
	va_list ap;

	TEST_ASSERT(nargs >= 0 && nargs <= 6, "at most 6 guest arguments, got %d", nargs);
	va_start(ap, nargs);
	for (int i = 0; i < nargs; i++)
		args[i] = va_arg(ap, uint64_t);
	va_end(ap);
	kc_arch_vcpu_args_set(vcpu, nargs, args);
}

int __vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned long req, void *arg)
{
	return ioctl(vcpu->fd, req, arg);
}

int __vcpu_run(struct kvm_vcpu *vcpu)
{
	return ioctl(vcpu->fd, KVM_RUN, NULL);
}

void vcpu_run(struct kvm_vcpu *vcpu)
{
	int ret = __vcpu_run(vcpu);

	TEST_ASSERT(ret == 0, "KVM_RUN failed: %s (last exit %s)", kc_errno_str(),
		    exit_reason_str(vcpu->run->exit_reason));
}

void vcpu_get_mp_state(struct kvm_vcpu *vcpu, struct kvm_mp_state *mp)
{
	vcpu_ioctl(vcpu, KVM_GET_MP_STATE, mp);
}

int __vcpu_set_mp_state(struct kvm_vcpu *vcpu, uint32_t state)
{
	struct kvm_mp_state mp = { .mp_state = state };

	return ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);
}

void __vcpu_assert_exit(struct kvm_vcpu *vcpu, uint32_t reason, const char *file, int line)
{
	char detail[256];

	if (vcpu->run->exit_reason == reason)
		return;
	kc_assert_fail(file, line, "exit_reason", "expected %s, got %s%s",
		       exit_reason_str(reason), exit_reason_str(vcpu->run->exit_reason),
		       kc_arch_exit_detail(vcpu, detail, sizeof(detail)));
}
