// SPDX-License-Identifier: GPL-2.0-only
/* KVM hypercalls, guest and host side; see include/x86_64/hypercall.h. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include "x86_64/x86_vm.h"
#include "x86_64/hypercall.h"

/* Guest side: runs in the guest, from its own copy of .bss. */
static int kc_hc_use_vmmcall = -1;

uint64_t kvm_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	uint64_t ret;

	if (kc_hc_use_vmmcall < 0) {
		uint32_t a, b, c, d;

		cpuid(0, 0, &a, &b, &c, &d);
		/* "AuthenticAMD" and "HygonGenuine": EBX holds "Auth" / "Hygo". */
		kc_hc_use_vmmcall = b == 0x68747541 || b == 0x6f677948;
	}
	if (kc_hc_use_vmmcall)
		asm volatile("vmmcall" : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	else
		asm volatile("vmcall" : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	return ret;
}

/* Host side */
bool kc_get_map_gpa_range(struct kvm_vcpu *vcpu, struct kc_map_gpa_range *req)
{
	struct kvm_run *run = vcpu->run;

	if (run->exit_reason != KVM_EXIT_HYPERCALL || run->hypercall.nr != KVM_HC_MAP_GPA_RANGE)
		return false;
	req->gpa = run->hypercall.args[0];
	req->npages = run->hypercall.args[1];
	req->attrs = run->hypercall.args[2];
	req->flags = run->hypercall.longmode;
	return true;
}

void kc_complete_hypercall(struct kvm_vcpu *vcpu, uint64_t ret)
{
	vcpu->run->hypercall.ret = ret;
}

/* The used memslot containing gpa, or else the first one starting in (gpa, end). */
static struct kc_memslot *slot_at_or_after(struct kvm_vm *vm, uint64_t gpa, uint64_t end)
{
	struct kc_memslot *next = vm_memslot_of(vm, gpa);

	if (next)
		return next;
	for (int i = 0; i < KC_MAX_MEMSLOTS; i++) {
		struct kc_memslot *ms = &vm->slots[i];

		if (ms->used && ms->gpa > gpa && ms->gpa < end && (!next || ms->gpa < next->gpa))
			next = ms;
	}
	return next;
}

/*
 * Call fn for each part of [gpa, end) inside one memslot. At most one call per memslot plus
 * one lookup per gap, so the walk is bounded by KC_MAX_MEMSLOTS.
 */
static int for_each_slot_part(struct kvm_vm *vm, uint64_t gpa, uint64_t end,
			      int (*fn)(struct kc_memslot *ms, uint64_t off, uint64_t len))
{
	uint64_t cur = gpa;

	for (int n = 0; cur < end && n <= 2 * KC_MAX_MEMSLOTS; n++) {
		struct kc_memslot *ms = slot_at_or_after(vm, cur, end);
		uint64_t start, stop;
		int r;

		if (!ms)
			break;
		start = cur > ms->gpa ? cur : ms->gpa;
		stop = ms->gpa + ms->size < end ? ms->gpa + ms->size : end;
		r = fn(ms, start - ms->gpa, stop - start);
		if (r)
			return r;
		cur = stop;
	}
	return 0;
}

static int need_gmem(struct kc_memslot *ms, uint64_t off, uint64_t len)
{
	(void)off;
	(void)len;
	return (ms->flags & KVM_MEM_GUEST_MEMFD) && ms->gmem_fd >= 0 ? 0 : -EINVAL;
}

static int discard_shared(struct kc_memslot *ms, uint64_t off, uint64_t len)
{
	return madvise((char *)ms->hva + off, len, MADV_DONTNEED) ? -errno : 0;
}

static int punch_private(struct kc_memslot *ms, uint64_t off, uint64_t len)
{
	if (!(ms->flags & KVM_MEM_GUEST_MEMFD) || ms->gmem_fd < 0)
		return 0;
	return fallocate(ms->gmem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 ms->gmem_offset + off, len) ? -errno : 0;
}

int kc_convert_memory(struct kvm_vm *vm, uint64_t gpa, uint64_t size, bool to_private)
{
	uint64_t end = gpa + size;
	int r;

	if (!size || end < gpa || (gpa | size) & (KC_PAGE_SIZE - 1))
		return -EINVAL;
	if (to_private) {
		r = for_each_slot_part(vm, gpa, end, need_gmem);
		if (r)
			return r;
	}
	if (__vm_set_memory_attributes(vm, gpa, size, to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0))
		return -errno;
	return for_each_slot_part(vm, gpa, end, to_private ? discard_shared : punch_private);
}
