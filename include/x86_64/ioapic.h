/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An I/O APIC for split-irqchip VMs (KVM_CAP_SPLIT_IRQCHIP: the local APICs are in KVM, the
 * I/O APIC is the VMM's), plus the guest-side accessors for its registers.
 *
 * Host side: struct kc_ioapic models an 82093AA-style I/O APIC with the version 0x20 EOI
 * register (Intel ICH/PCH I/O APICs): 24 pins, the ID, version and arbitration registers, the
 * redirection table, remote IRR, and delivery as MSIs through KVM_SIGNAL_MSI. It owns GSIs
 * 0..23 as MSI routes, so that KVM knows which vectors are the I/O APIC's and reports their
 * EOIs with KVM_EXIT_IOAPIC_EOI; it rewrites the whole GSI routing table when the guest
 * changes an entry, so a test that needs more routes must not use KVM_SET_GSI_ROUTING itself.
 * A test calls kc_ioapic_handle_exit() for each exit in its run loop and drives the input
 * pins with kc_ioapic_set_irq().
 */
#ifndef KVMCHECK_X86_IOAPIC_H
#define KVMCHECK_X86_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_DEFAULT_GPA	0xfec00000ULL
#define IOAPIC_MMIO_SIZE	0x1000
#define IOAPIC_NR_PINS		24

/* Memory-mapped registers (offsets from the base) */
#define IOAPIC_REGSEL		0x00	/* index of the register IOWIN reaches */
#define IOAPIC_IOWIN		0x10
#define IOAPIC_EOI		0x40	/* version 0x20 and later */

/* Indirect registers, through IOREGSEL/IOWIN */
#define IOAPIC_REG_ID		0x00
#define  IOAPIC_ID_SHIFT	24
#define  IOAPIC_ID_MASK		(0xfu << IOAPIC_ID_SHIFT)
#define IOAPIC_REG_VER		0x01
#define  IOAPIC_VERSION		0x20
#define  IOAPIC_VER_MAXREDIR_SHIFT 16
#define IOAPIC_REG_ARB		0x02
#define IOAPIC_REG_REDTBL(pin)	(0x10 + 2 * (pin))	/* low dword; high is + 1 */

/* Redirection table entry bits (82093AA datasheet, 3.2.4) */
#define IOAPIC_RTE_VECTOR_MASK	0xffULL
#define IOAPIC_RTE_DM_SHIFT	8			/* delivery mode, 3 bits */
#define IOAPIC_RTE_DM_MASK	(7ULL << IOAPIC_RTE_DM_SHIFT)
#define  IOAPIC_DM_FIXED	0
#define  IOAPIC_DM_LOWEST	1
#define  IOAPIC_DM_SMI		2
#define  IOAPIC_DM_NMI		4
#define  IOAPIC_DM_INIT		5
#define  IOAPIC_DM_EXTINT	7
#define IOAPIC_RTE_DEST_LOGICAL	(1ULL << 11)
#define IOAPIC_RTE_DELIVS	(1ULL << 12)		/* delivery status, read only */
#define IOAPIC_RTE_POLARITY_LOW	(1ULL << 13)
#define IOAPIC_RTE_REMOTE_IRR	(1ULL << 14)		/* read only */
#define IOAPIC_RTE_LEVEL	(1ULL << 15)
#define IOAPIC_RTE_MASKED	(1ULL << 16)
#define IOAPIC_RTE_DEST_SHIFT	56
#define IOAPIC_RTE_RO_BITS	(IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR)

/* Where an EOI came from. */
enum kc_ioapic_eoi_source {
	KC_IOAPIC_EOI_EXIT,	/* KVM_EXIT_IOAPIC_EOI: the local APIC broadcast the EOI */
	KC_IOAPIC_EOI_REG,	/* the guest wrote the I/O APIC's EOI register */
	KC_IOAPIC_EOI_NR,
};

struct kc_ioapic_stats {
	uint64_t deliveries[IOAPIC_NR_PINS];	/* MSIs sent and accepted */
	uint64_t dropped[IOAPIC_NR_PINS];	/* MSIs sent and refused (no APIC took them) */
	/* Deliveries made by an EOI: the line was still asserted when remote IRR cleared. */
	uint64_t redeliveries[IOAPIC_NR_PINS];
	uint64_t eois[KC_IOAPIC_EOI_NR];	/* EOI messages, by source */
	uint64_t eois_matched[KC_IOAPIC_EOI_NR];	/* ... that cleared some remote IRR */
	uint64_t mmio_accesses;
};

struct kvm_vm;
struct kvm_vcpu;

struct kc_ioapic {
	struct kvm_vm *vm;
	uint64_t base;
	uint32_t id;			/* ID register, bits 27:24 */
	uint32_t regsel;
	uint64_t redtbl[IOAPIC_NR_PINS];
	uint32_t pin_level;		/* the input wires as the host drives them, one bit a pin */
	struct kc_ioapic_stats stats;
};

/* Host side: the VM must have been created with KC_IRQCHIP_SPLIT. */
struct kc_ioapic *kc_ioapic_create(struct kvm_vm *vm);
void kc_ioapic_free(struct kc_ioapic *io);
/* Drive input pin @pin to @level (0 or 1, the electrical level before the polarity bit). */
void kc_ioapic_set_irq(struct kc_ioapic *io, unsigned int pin, int level);
/* An EOI message for @vector, from either source. */
void kc_ioapic_eoi(struct kc_ioapic *io, uint8_t vector, enum kc_ioapic_eoi_source src);
/* Handle the exit if it is the I/O APIC's (MMIO in its window, KVM_EXIT_IOAPIC_EOI). */
bool kc_ioapic_handle_exit(struct kc_ioapic *io, struct kvm_vcpu *vcpu);
bool kc_ioapic_remote_irr(const struct kc_ioapic *io, unsigned int pin);

/*
 * Guest side: the register window at the default base, identity mapped. IOREGSEL/IOWIN is a
 * two-step access, so a guest with several CPUs would need a lock; tests use one vCPU.
 */
static inline volatile uint32_t *ioapic_mmio(uint32_t off)
{
	return (volatile uint32_t *)(uintptr_t)(IOAPIC_DEFAULT_GPA + off);
}

static inline uint32_t ioapic_read(uint32_t reg)
{
	*ioapic_mmio(IOAPIC_REGSEL) = reg;
	return *ioapic_mmio(IOAPIC_IOWIN);
}

static inline void ioapic_write(uint32_t reg, uint32_t val)
{
	*ioapic_mmio(IOAPIC_REGSEL) = reg;
	*ioapic_mmio(IOAPIC_IOWIN) = val;
}

/* Program the high dword (destination) first, so the entry never points at a stale CPU. */
static inline void ioapic_write_rte(unsigned int pin, uint64_t rte)
{
	ioapic_write(IOAPIC_REG_REDTBL(pin) + 1, (uint32_t)(rte >> 32));
	ioapic_write(IOAPIC_REG_REDTBL(pin), (uint32_t)rte);
}

static inline uint64_t ioapic_read_rte(unsigned int pin)
{
	uint64_t lo = ioapic_read(IOAPIC_REG_REDTBL(pin));

	return lo | (uint64_t)ioapic_read(IOAPIC_REG_REDTBL(pin) + 1) << 32;
}

/* Version 0x20: a write of a vector clears remote IRR of the entries with that vector. */
static inline void ioapic_eoi(uint8_t vector)
{
	*ioapic_mmio(IOAPIC_EOI) = vector;
}

#endif
