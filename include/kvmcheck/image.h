/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest image: this static program's own loaded image, copied into memslot 0 at the same
 * addresses (guest-physical = guest-virtual = host-virtual), so guest code is ordinary C in the
 * test and function pointers and string literals mean the same on both sides.
 */
#ifndef KVMCHECK_IMAGE_H
#define KVMCHECK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct kvm_vm;

/* Slot 0 holds [0, image end rounded to 2 MiB + extra); the allocator hands out the rest. */
#define KC_IMAGE_SLOT	0

void kc_image_load(struct kvm_vm *vm, size_t extra);
uint64_t kc_image_start(void);
uint64_t kc_image_end(void);

#endif
