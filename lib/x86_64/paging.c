// SPDX-License-Identifier: GPL-2.0-only
/*
 * The page-table builder: 4-level paging (CR4.PAE, EFER.LME), tables allocated from guest
 * memory. The default map is an identity map of the low 4 GiB except page 0, so a NULL
 * dereference in guest code faults instead of reading memory, and MMIO addresses (the APIC at
 * 0xfee00000, the IOAPIC at 0xfec00000, test MMIO holes) are reachable without extra work.
 */
#include "x86_64/x86_vm.h"

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)
#define PTE_ADDR	0x000ffffffffff000ULL

static uint64_t *table_at(struct kvm_vm *vm, uint64_t gpa)
{
	return addr_gpa2hva(vm, gpa);
}

/* The entry for gva at the given level (4 = PML4 … 1 = PT), creating tables on the way. */
static uint64_t *walk_create(struct kvm_vm *vm, uint64_t gva, int target_level)
{
	uint64_t table = vm->arch->pml4;

	for (int level = 4; ; level--) {
		uint64_t *pte = &table_at(vm, table)[(gva >> (12 + 9 * (level - 1))) & 511];

		if (level == target_level)
			return pte;
		TEST_ASSERT(!(*pte & PTE_PS), "gva %#llx already mapped by a large page",
			    (unsigned long long)gva);
		if (!(*pte & PTE_P))
			*pte = vm_alloc_pages(vm, 1) | PTE_P | PTE_RW;
		table = *pte & PTE_ADDR;
	}
}

void virt_map(struct kvm_vm *vm, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t pgsize)
{
	int level = pgsize == KC_PG_2M ? 2 : 1;

	TEST_ASSERT(pgsize == KC_PG_4K || pgsize == KC_PG_2M, "unsupported page size %#llx",
		    (unsigned long long)pgsize);
	TEST_ASSERT(!(gva % pgsize) && !(gpa % pgsize) && !(size % pgsize),
		    "virt_map(%#llx, %#llx, %#llx) not aligned to the page size",
		    (unsigned long long)gva, (unsigned long long)gpa, (unsigned long long)size);
	for (uint64_t off = 0; off < size; off += pgsize) {
		uint64_t *pte = walk_create(vm, gva + off, level);

		*pte = (gpa + off) | PTE_P | PTE_RW | (level == 2 ? PTE_PS : 0);
	}
}

void kc_paging_init(struct kvm_vm *vm)
{
	vm->arch->pml4 = vm_alloc_pages(vm, 1);
	virt_map(vm, KC_PG_4K, KC_PG_4K, KC_PG_2M - KC_PG_4K, KC_PG_4K);
	virt_map(vm, KC_PG_2M, KC_PG_2M, (4ULL << 30) - KC_PG_2M, KC_PG_2M);
}
