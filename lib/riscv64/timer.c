// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest timer. With Sstc the guest writes stimecmp itself (KVM runs it as vstimecmp); without
 * it, the SBI TIME extension's set_timer asks KVM to raise the timer interrupt (SBI spec,
 * chapter 6). Either way the interrupt is the supervisor timer interrupt, pending until the
 * next compare value is in the future. The host fills both variables in the guest's copy when
 * it creates the vCPU (lib/riscv64/vcpu_riscv.c).
 */
#include "riscv64/processor.h"
#include "riscv64/sbi.h"

uint64_t kc_timer_freq;
int kc_guest_has_sstc;

void timer_set_next(uint64_t abs_time)
{
	if (kc_guest_has_sstc)
		csr_write(CSR_STIMECMP, abs_time);
	else
		sbi_ecall(SBI_EXT_TIME, SBI_TIME_SET_TIMER, abs_time, 0, 0, 0, 0, 0);
}

/* A compare value that time never reaches also clears the pending interrupt. */
void timer_stop(void)
{
	timer_set_next(UINT64_MAX);
}

void timer_irq_enable(void)
{
	csr_set(CSR_SIE, 1UL << IRQ_S_TIMER);
}

void timer_irq_disable(void)
{
	csr_clear(CSR_SIE, 1UL << IRQ_S_TIMER);
}
