// SPDX-License-Identifier: GPL-2.0-only
/* Copy the program image into guest memory; see include/kvmcheck/image.h. */
#include <link.h>
#include <string.h>
#include "kvmcheck/vm.h"
#include "kvmcheck/image.h"

/* Provided by the linker for every static executable. */
extern char __executable_start[];
extern char _end[];

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

uint64_t kc_image_start(void)
{
	return (uint64_t)(uintptr_t)__executable_start;
}

uint64_t kc_image_end(void)
{
	return (uint64_t)(uintptr_t)_end;
}

/* Copy each loaded segment; the gaps between them are not mapped in the host. */
static int copy_segments(struct dl_phdr_info *info, size_t size, void *data)
{
	char *hva = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t va = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD)
			memcpy(hva + va, (void *)(uintptr_t)va, ph->p_memsz);
	}
	return 1;	/* a static program has one object: itself */
}

void kc_image_load(struct kvm_vm *vm, size_t extra)
{
	uint64_t end = ALIGN_UP(kc_image_end(), 2UL << 20);
	uint64_t size = end + ALIGN_UP(extra, 2UL << 20);
	char *hva = vm_mem_add(vm, KC_IMAGE_SLOT, 0, size, 0);

	/* The snapshot includes .data and .bss as they are now: host set-up made before the VM
	 * exists is visible to the guest, later changes need sync_global_to_guest(). */
	dl_iterate_phdr(copy_segments, hva);
	vm->next_free_gpa = end;
	vm->free_gpa_end = size;
}
