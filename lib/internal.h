/* SPDX-License-Identifier: GPL-2.0-only */
/* Library-internal helpers shared between lib/ files; tests never include this. */
#ifndef KVMCHECK_LIB_INTERNAL_H
#define KVMCHECK_LIB_INTERNAL_H

#include "kvmcheck/vm.h"

void kc_vcpu_unmap_run(struct kvm_vcpu *vcpu);
void kc_memslots_free(struct kvm_vm *vm);
struct kc_memslot *kc_memslot_register(struct kvm_vm *vm, uint32_t slot);

#endif
