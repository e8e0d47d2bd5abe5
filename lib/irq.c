// SPDX-License-Identifier: GPL-2.0-only
/* Interrupt injection: irqchip lines, GSI routing and MSIs. */
#include <stdlib.h>
#include "kvmcheck/vm.h"

#define KC_MAX_ROUTES 64

int __vm_irq_line(struct kvm_vm *vm, uint32_t irq, int level)
{
	struct kvm_irq_level il = { .irq = irq, .level = level };

	return ioctl(vm->fd, KVM_IRQ_LINE, &il);
}

void vm_irq_line(struct kvm_vm *vm, uint32_t irq, int level)
{
	TEST_ASSERT(__vm_irq_line(vm, irq, level) == 0, "KVM_IRQ_LINE(%u, %d) failed: %s",
		    irq, level, kc_errno_str());
}

struct kvm_irq_routing *kc_routing_new(void)
{
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) +
					   KC_MAX_ROUTES * sizeof(struct kvm_irq_routing_entry));

	TEST_ASSERT(r, "out of memory");
	return r;
}

static struct kvm_irq_routing_entry *routing_next(struct kvm_irq_routing *r, uint32_t gsi)
{
	TEST_ASSERT(r->nr < KC_MAX_ROUTES, "more than %d routes", KC_MAX_ROUTES);
	r->entries[r->nr].gsi = gsi;
	return &r->entries[r->nr++];
}

void kc_routing_add_msi(struct kvm_irq_routing *r, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry *e = routing_next(r, gsi);

	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
}

void kc_routing_add_irqchip(struct kvm_irq_routing *r, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = routing_next(r, gsi);

	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

int __vm_set_gsi_routing(struct kvm_vm *vm, struct kvm_irq_routing *r)
{
	return ioctl(vm->fd, KVM_SET_GSI_ROUTING, r);
}

void vm_set_gsi_routing(struct kvm_vm *vm, struct kvm_irq_routing *r)
{
	TEST_ASSERT(__vm_set_gsi_routing(vm, r) == 0, "KVM_SET_GSI_ROUTING (%u routes) failed: %s",
		    r->nr, kc_errno_str());
}

int __vm_signal_msi(struct kvm_vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data,
	};

	return ioctl(vm->fd, KVM_SIGNAL_MSI, &msi);
}

/* KVM_SIGNAL_MSI returns >0 when delivered, 0 when the guest blocked it. */
void vm_signal_msi(struct kvm_vm *vm, uint64_t addr, uint32_t data)
{
	TEST_ASSERT(__vm_signal_msi(vm, addr, data) >= 0, "KVM_SIGNAL_MSI(%#llx, %#x) failed: %s",
		    (unsigned long long)addr, data, kc_errno_str());
}
