// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPUID for vCPUs: start from what KVM supports (KVM_GET_SUPPORTED_CPUID) and let tests edit
 * entries before the vCPU first runs. It must be set before KVM_SET_SREGS: since 7.2, KVM
 * refuses EFER.LME (EINVAL) while the vCPU's CPUID does not advertise long mode.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "x86_64/x86_vm.h"
#include "x86_64/vcpu_arch.h"

static struct kvm_cpuid2 *alloc_cpuid(int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(struct kvm_cpuid_entry2));

	TEST_ASSERT(c, "out of memory");
	c->nent = nent;
	return c;
}

const struct kvm_cpuid2 *kc_supported_cpuid(void)
{
	static struct kvm_cpuid2 *supported;
	int nent = 128;

	while (!supported) {
		struct kvm_cpuid2 *c = alloc_cpuid(nent);

		if (!ioctl(kvm_dev_fd(), KVM_GET_SUPPORTED_CPUID, c)) {
			supported = c;
			break;
		}
		TEST_ASSERT(errno == E2BIG && nent < 4096,
			    "KVM_GET_SUPPORTED_CPUID failed: %s", kc_errno_str());
		free(c);
		nent *= 2;
	}
	return supported;
}

struct kvm_cpuid_entry2 *kc_cpuid_find(struct kvm_cpuid2 *cpuid, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == fn &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == idx))
			return e;
	}
	return NULL;
}

/* Does KVM offer this feature bit to guests? reg is 'a', 'b', 'c' or 'd'. */
bool kc_host_cpu_has(uint32_t fn, uint32_t idx, char reg, int bit)
{
	struct kvm_cpuid_entry2 *e = kc_cpuid_find((struct kvm_cpuid2 *)kc_supported_cpuid(),
						   fn, idx);
	uint32_t v;

	if (!e)
		return false;
	v = reg == 'a' ? e->eax : reg == 'b' ? e->ebx : reg == 'c' ? e->ecx : e->edx;
	return v & (1U << bit);
}

void kc_vcpu_cpuid_init(struct kvm_vcpu *vcpu)
{
	const struct kvm_cpuid2 *s = kc_supported_cpuid();
	struct kc_vcpu_arch *a = kc_vcpu_arch(vcpu);

	/* Room for tests to add leaves of their own. */
	a->cpuid = alloc_cpuid(s->nent + 16);
	memcpy(a->cpuid->entries, s->entries, s->nent * sizeof(s->entries[0]));
	a->cpuid->nent = s->nent;
	a->cpuid_room = s->nent + 16;
}

struct kvm_cpuid2 *vcpu_cpuid(struct kvm_vcpu *vcpu)
{
	return kc_vcpu_arch(vcpu)->cpuid;
}

/* The entry for (fn, idx), added empty when the vCPU's table has none. */
struct kvm_cpuid_entry2 *vcpu_cpuid_entry(struct kvm_vcpu *vcpu, uint32_t fn, uint32_t idx)
{
	struct kc_vcpu_arch *a = kc_vcpu_arch(vcpu);
	struct kvm_cpuid_entry2 *e = kc_cpuid_find(a->cpuid, fn, idx);

	if (e)
		return e;
	TEST_ASSERT(a->cpuid->nent < a->cpuid_room, "no room for another CPUID leaf");
	e = &a->cpuid->entries[a->cpuid->nent++];
	*e = (struct kvm_cpuid_entry2){ .function = fn, .index = idx };
	return e;
}

int __vcpu_apply_cpuid(struct kvm_vcpu *vcpu)
{
	return ioctl(vcpu->fd, KVM_SET_CPUID2, kc_vcpu_arch(vcpu)->cpuid);
}

void vcpu_apply_cpuid(struct kvm_vcpu *vcpu)
{
	TEST_ASSERT(!__vcpu_apply_cpuid(vcpu), "KVM_SET_CPUID2 failed: %s", kc_errno_str());
}
