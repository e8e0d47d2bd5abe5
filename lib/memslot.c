// SPDX-License-Identifier: GPL-2.0-only
/* Memslots: anonymous memory or guest_memfd behind a guest-physical range, and GPA lookups. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kvmcheck/vm.h"
#include "internal.h"

int __vm_set_memory_region2(struct kvm_vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
			    uint64_t size, void *hva, int gmem_fd, uint64_t gmem_offset)
{
	struct kvm_userspace_memory_region2 r2 = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
		.guest_memfd = gmem_fd < 0 ? 0 : (uint32_t)gmem_fd,
		.guest_memfd_offset = gmem_offset,
	};
	struct kvm_userspace_memory_region r1 = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	/* The older ioctl keeps the library working on kernels before 6.8 (no USER_MEMORY2). */
	if (flags & KVM_MEM_GUEST_MEMFD)
		return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION2, &r2);
	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r1);
}

struct kc_memslot *kc_memslot_register(struct kvm_vm *vm, uint32_t slot)
{
	TEST_ASSERT(slot < KC_MAX_MEMSLOTS, "memslot %u beyond the library's %d", slot,
		    KC_MAX_MEMSLOTS);
	TEST_ASSERT(!vm->slots[slot].used, "memslot %u already in use", slot);
	return &vm->slots[slot];
}

static void *map_anon(uint64_t size)
{
	void *hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_NORESERVE, -1, 0);

	TEST_ASSERT(hva != MAP_FAILED, "mmap of %llu bytes failed: %s",
		    (unsigned long long)size, kc_errno_str());
	return hva;
}

static void *memslot_add(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			 uint32_t flags, int gmem_fd, uint64_t gmem_offset)
{
	struct kc_memslot *ms = kc_memslot_register(vm, slot);
	void *hva = map_anon(size);
	int ret = __vm_set_memory_region2(vm, slot, flags, gpa, size, hva, gmem_fd, gmem_offset);

	TEST_ASSERT(ret == 0, "memslot %u at %#llx+%#llx (flags %#x) refused: %s", slot,
		    (unsigned long long)gpa, (unsigned long long)size, flags, kc_errno_str());
	*ms = (struct kc_memslot){
		.used = true, .slot = slot, .flags = flags, .gpa = gpa, .size = size,
		.hva = hva, .gmem_fd = gmem_fd, .gmem_offset = gmem_offset,
	};
	return hva;
}

void *vm_mem_add(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, uint32_t flags)
{
	return memslot_add(vm, slot, gpa, size, flags, -1, 0);
}

void *vm_mem_add_gmem(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		      int gmem_fd, uint64_t gmem_offset)
{
	return memslot_add(vm, slot, gpa, size, KVM_MEM_GUEST_MEMFD, gmem_fd, gmem_offset);
}

static struct kc_memslot *slot_in_use(struct kvm_vm *vm, uint32_t slot)
{
	TEST_ASSERT(slot < KC_MAX_MEMSLOTS && vm->slots[slot].used, "memslot %u not in use", slot);
	return &vm->slots[slot];
}

/* KVM moves a slot when the same slot id is set again with a new GPA and the same size. */
void vm_mem_move(struct kvm_vm *vm, uint32_t slot, uint64_t new_gpa)
{
	struct kc_memslot *ms = slot_in_use(vm, slot);
	int ret = __vm_set_memory_region2(vm, slot, ms->flags, new_gpa, ms->size, ms->hva,
					  ms->gmem_fd, ms->gmem_offset);

	TEST_ASSERT(ret == 0, "moving memslot %u to %#llx failed: %s", slot,
		    (unsigned long long)new_gpa, kc_errno_str());
	ms->gpa = new_gpa;
}

/* A size of zero deletes the slot. */
void vm_mem_delete(struct kvm_vm *vm, uint32_t slot)
{
	struct kc_memslot *ms = slot_in_use(vm, slot);
	int ret = __vm_set_memory_region2(vm, slot, ms->flags, ms->gpa, 0, ms->hva,
					  ms->gmem_fd, ms->gmem_offset);

	TEST_ASSERT(ret == 0, "deleting memslot %u failed: %s", slot, kc_errno_str());
	munmap(ms->hva, ms->size);
	ms->used = false;
}

void kc_memslots_free(struct kvm_vm *vm)
{
	for (int i = 0; i < KC_MAX_MEMSLOTS; i++) {
		struct kc_memslot *ms = &vm->slots[i];

		if (ms->used)
			munmap(ms->hva, ms->size);
		ms->used = false;
		ms->gmem_fd = -1;
	}
	for (int i = 0; i < vm->nr_gmem_fds; i++)
		close(vm->gmem_fds[i]);
	vm->nr_gmem_fds = 0;
}

struct kc_memslot *vm_memslot_of(struct kvm_vm *vm, uint64_t gpa)
{
	for (int i = 0; i < KC_MAX_MEMSLOTS; i++) {
		struct kc_memslot *ms = &vm->slots[i];

		if (ms->used && gpa >= ms->gpa && gpa - ms->gpa < ms->size)
			return ms;
	}
	return NULL;
}

void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa)
{
	struct kc_memslot *ms = vm_memslot_of(vm, gpa);

	TEST_ASSERT(ms, "guest physical address %#llx is in no memslot",
		    (unsigned long long)gpa);
	return (char *)ms->hva + (gpa - ms->gpa);
}

/* Guest-physical pages for page tables, descriptor tables and stacks, zeroed. */
uint64_t vm_alloc_pages(struct kvm_vm *vm, unsigned int npages)
{
	uint64_t gpa = vm->next_free_gpa;
	uint64_t size = (uint64_t)npages * KC_PAGE_SIZE;

	TEST_ASSERT(gpa + size <= vm->free_gpa_end, "guest memory exhausted (%u pages asked)",
		    npages);
	vm->next_free_gpa += size;
	memset(addr_gpa2hva(vm, gpa), 0, size);
	return gpa;
}
