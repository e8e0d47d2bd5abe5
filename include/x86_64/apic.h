/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest-side local APIC helpers: register offsets and bits (Intel SDM vol. 3A, chapter 11
 * "Advanced Programmable Interrupt Controller (APIC)"), xAPIC MMIO access at the default base,
 * x2APIC enable and MSR access, EOI and self-IPI. Register offsets are the xAPIC MMIO offsets;
 * the x2APIC MSR of a register is X2APIC_MSR_BASE + (offset >> 4) (SDM table 11-6).
 */
#ifndef KVMCHECK_X86_APIC_H
#define KVMCHECK_X86_APIC_H

#include <stdbool.h>
#include <stdint.h>
#include "x86_64/msr.h"

/* Register offsets from the APIC base */
#define APIC_ID			0x020
#define APIC_LVR		0x030
#define  APIC_LVR_VERSION_MASK	0xffu
#define  APIC_LVR_MAXLVT_SHIFT	16
/* "Support for EOI-broadcast suppression" (SDM 11.8.5, figure 11-7) */
#define  APIC_LVR_DIRECTED_EOI	(1u << 24)
#define APIC_TPR		0x080
#define APIC_PPR		0x0a0
#define APIC_EOI		0x0b0
#define APIC_LDR		0x0d0
#define APIC_DFR		0x0e0
#define APIC_SPIV		0x0f0
#define  APIC_SPIV_VECTOR_MASK	0xffu
#define  APIC_SPIV_APIC_ENABLED	(1u << 8)
/* "EOI-Broadcast Suppression": EOIs of level-triggered interrupts are not broadcast to the
 * I/O APICs (SDM 11.8.5, figure 11-23). Writable only if LVR bit 24 is set. */
#define  APIC_SPIV_DIRECTED_EOI	(1u << 12)
#define APIC_ISR		0x100	/* 8 registers, 0x10 apart: vectors 0-255 */
#define APIC_TMR		0x180
#define APIC_IRR		0x200
#define APIC_ESR		0x280
#define APIC_ICR		0x300
#define APIC_ICR2		0x310	/* xAPIC only: the destination */
#define  APIC_ICR_VECTOR_MASK	0xffu
#define  APIC_DM_FIXED		(0u << 8)
#define  APIC_DM_NMI		(4u << 8)
#define  APIC_DEST_LOGICAL	(1u << 11)
#define  APIC_ICR_BUSY		(1u << 12)
#define  APIC_INT_ASSERT	(1u << 14)
#define  APIC_INT_LEVELTRIG	(1u << 15)
#define  APIC_DEST_SELF		(1u << 18)
#define  APIC_DEST_ALLINC	(2u << 18)
#define  APIC_DEST_ALLBUT	(3u << 18)
#define APIC_LVTT		0x320
#define APIC_LVTTHMR		0x330
#define APIC_LVTPC		0x340
#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_LVTERR		0x370
#define  APIC_LVT_MASKED	(1u << 16)
#define APIC_TMICT		0x380
#define APIC_TMCCT		0x390
#define APIC_TDCR		0x3e0
#define APIC_SELF_IPI		0x3f0	/* x2APIC only */

/* The ISR, TMR or IRR register holding a vector's bit, and the bit in it. */
#define APIC_VECTOR_REG(base, vec)	((base) + (((vec) >> 5) << 4))
#define APIC_VECTOR_BIT(vec)		(1u << ((vec) & 31))

static inline uint32_t x2apic_msr(uint32_t reg)
{
	return X2APIC_MSR_BASE + (reg >> 4);
}

/* xAPIC: 32-bit loads and stores at APIC_DEFAULT_GPA + offset (identity mapped). */
uint32_t xapic_read_reg(uint32_t reg);
void xapic_write_reg(uint32_t reg, uint32_t val);
void xapic_enable(void);

/* x2APIC: IA32_APIC_BASE.EN and .EXTD set; registers are MSRs. */
void x2apic_enable(void);
bool x2apic_mode(void);
uint64_t x2apic_read_reg(uint32_t reg);
void x2apic_write_reg(uint32_t reg, uint64_t val);

/* In whichever mode IA32_APIC_BASE says the APIC is. */
uint32_t apic_read_reg(uint32_t reg);
void apic_write_reg(uint32_t reg, uint32_t val);
void apic_eoi(void);
void apic_self_ipi(uint8_t vector);
/* Software-enable the APIC with this spurious vector and the extra SPIV bits given. */
void apic_sw_enable(uint8_t spurious_vector, uint32_t spiv_bits);
bool apic_isr_has(uint8_t vector);
bool apic_tmr_has(uint8_t vector);
bool apic_irr_has(uint8_t vector);

#endif
