// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest-side local APIC access (include/x86_64/apic.h). Everything here runs in the guest: it
 * uses MMIO at the architectural default base (the guest's low 4 GiB are identity mapped) or
 * the x2APIC MSRs, never host services.
 */
#include "x86_64/apic.h"
#include "x86_64/processor.h"

static volatile uint32_t *xapic_reg_ptr(uint32_t reg)
{
	return (volatile uint32_t *)(uintptr_t)(APIC_DEFAULT_GPA + reg);
}

uint32_t xapic_read_reg(uint32_t reg)
{
	return *xapic_reg_ptr(reg);
}

void xapic_write_reg(uint32_t reg, uint32_t val)
{
	*xapic_reg_ptr(reg) = val;
}

/* The APIC comes out of reset globally enabled (IA32_APIC_BASE.EN) in xAPIC mode. */
void xapic_enable(void)
{
	uint64_t base = rdmsr(MSR_IA32_APICBASE);

	wrmsr(MSR_IA32_APICBASE, (base & ~MSR_IA32_APICBASE_EXTD) | MSR_IA32_APICBASE_ENABLE);
}

/*
 * SDM 11.12.5: x2APIC mode is entered from xAPIC mode by setting EXTD with EN already set;
 * EN=0 with EXTD=1 is an invalid state and the write faults. Setting both in one write from
 * EN=1 is the legal xAPIC -> x2APIC transition.
 */
void x2apic_enable(void)
{
	uint64_t base = rdmsr(MSR_IA32_APICBASE);

	if (!(base & MSR_IA32_APICBASE_ENABLE))
		wrmsr(MSR_IA32_APICBASE, base | MSR_IA32_APICBASE_ENABLE);
	wrmsr(MSR_IA32_APICBASE, base | MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD);
}

bool x2apic_mode(void)
{
	return rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_EXTD;
}

uint64_t x2apic_read_reg(uint32_t reg)
{
	return rdmsr(x2apic_msr(reg));
}

void x2apic_write_reg(uint32_t reg, uint64_t val)
{
	wrmsr(x2apic_msr(reg), val);
}

uint32_t apic_read_reg(uint32_t reg)
{
	return x2apic_mode() ? (uint32_t)x2apic_read_reg(reg) : xapic_read_reg(reg);
}

void apic_write_reg(uint32_t reg, uint32_t val)
{
	if (x2apic_mode())
		x2apic_write_reg(reg, val);
	else
		xapic_write_reg(reg, val);
}

/* SDM 11.12.1.2: in x2APIC mode a non-zero write to the EOI register raises #GP; write 0. */
void apic_eoi(void)
{
	apic_write_reg(APIC_EOI, 0);
}

/* x2APIC has a dedicated SELF IPI register (SDM 11.12.11); xAPIC uses the ICR shorthand. */
void apic_self_ipi(uint8_t vector)
{
	if (x2apic_mode())
		x2apic_write_reg(APIC_SELF_IPI, vector);
	else
		xapic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_DM_FIXED | vector);
}

/* SPIV bit 8 clear means software-disabled: the APIC accepts no interrupts (SDM 11.4.7.2). */
void apic_sw_enable(uint8_t spurious_vector, uint32_t spiv_bits)
{
	apic_write_reg(APIC_SPIV, APIC_SPIV_APIC_ENABLED | spurious_vector | spiv_bits);
}

static bool apic_vector_set(uint32_t base, uint8_t vector)
{
	return apic_read_reg(APIC_VECTOR_REG(base, vector)) & APIC_VECTOR_BIT(vector);
}

bool apic_isr_has(uint8_t vector)
{
	return apic_vector_set(APIC_ISR, vector);
}

bool apic_tmr_has(uint8_t vector)
{
	return apic_vector_set(APIC_TMR, vector);
}

bool apic_irr_has(uint8_t vector)
{
	return apic_vector_set(APIC_IRR, vector);
}
