/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest-side riscv64: CSR access, trap causes and the trap-handling API. The guest runs in
 * VS-mode with satp = 0 (Bare): guest-virtual = guest-physical = the host's address of the
 * same object (see include/kvmcheck/image.h), so no page tables are needed.
 */
#ifndef KVMCHECK_RISCV_PROCESSOR_H
#define KVMCHECK_RISCV_PROCESSOR_H

#include <stdint.h>

/* Supervisor CSR numbers (RISC-V privileged spec, table 2.2). */
#define CSR_SSTATUS	0x100
#define CSR_SIE		0x104
#define CSR_STVEC	0x105
#define CSR_SSCRATCH	0x140
#define CSR_SEPC	0x141
#define CSR_SCAUSE	0x142
#define CSR_STVAL	0x143
#define CSR_SIP		0x144
#define CSR_STIMECMP	0x14d	/* Sstc */
#define CSR_SATP	0x180
#define CSR_TIME	0xc01

#define SR_SIE		(1UL << 1)
#define SR_SPIE		(1UL << 5)
#define SR_SPP		(1UL << 8)

/* Interrupt numbers: bit n of sie/sip, and scause's code with its top bit set. */
#define IRQ_S_SOFT	1
#define IRQ_S_TIMER	5
#define IRQ_S_EXT	9
#define SCAUSE_IRQ_FLAG	(1UL << 63)

/* Exception codes in scause (privileged spec, table 4.2). */
#define EXC_INST_MISALIGNED	0
#define EXC_INST_ACCESS		1
#define EXC_INST_ILLEGAL	2
#define EXC_BREAKPOINT		3
#define EXC_LOAD_MISALIGNED	4
#define EXC_LOAD_ACCESS		5
#define EXC_STORE_MISALIGNED	6
#define EXC_STORE_ACCESS	7
#define EXC_ECALL_U		8
#define EXC_ECALL_S		9
#define EXC_INST_PAGE_FAULT	12
#define EXC_LOAD_PAGE_FAULT	13
#define EXC_STORE_PAGE_FAULT	15

/*
 * The handler table is indexed by "vector": an exception code as is, an interrupt as
 * KC_IRQ_VECTOR(code), so both fit one table and one UCALL_UNHANDLED report.
 */
#define KC_NR_VECTORS		128
#define KC_IRQ_VECTOR(code)	(64 + (code))

#ifndef __stringify
#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)
#endif

#define csr_read(csr)							\
({									\
	unsigned long __v;						\
	asm volatile("csrr %0, " __stringify(csr) : "=r"(__v) :: "memory"); \
	__v;								\
})

#define csr_write(csr, val)						\
	asm volatile("csrw " __stringify(csr) ", %0" :: "rK"((unsigned long)(val)) : "memory")
#define csr_set(csr, val)						\
	asm volatile("csrs " __stringify(csr) ", %0" :: "rK"((unsigned long)(val)) : "memory")
#define csr_clear(csr, val)						\
	asm volatile("csrc " __stringify(csr) ", %0" :: "rK"((unsigned long)(val)) : "memory")

/* Saved by lib/riscv64/entry.S, in this order from the lowest address: x1..x31, then CSRs. */
struct ex_regs {
	uint64_t ra, sp, gp, tp, t0, t1, t2, s0, s1;
	uint64_t a0, a1, a2, a3, a4, a5, a6, a7;
	uint64_t s2, s3, s4, s5, s6, s7, s8, s9, s10, s11;
	uint64_t t3, t4, t5, t6;
	uint64_t sepc, sstatus, scause, stval;
	uint64_t vector;	/* the handler table index, see KC_IRQ_VECTOR */
};

typedef void (*kc_handler_t)(struct ex_regs *regs);

/* Guest: handle an exception code or KC_IRQ_VECTOR(interrupt) in C. */
void guest_install_handler(int vector, kc_handler_t handler);

static inline void local_irq_enable(void)
{
	csr_set(CSR_SSTATUS, SR_SIE);
}

static inline void local_irq_disable(void)
{
	csr_clear(CSR_SSTATUS, SR_SIE);
}

/*
 * Resumes once an interrupt enabled in sie is pending, whatever sstatus.SIE says (privileged
 * spec, "Wait for Interrupt"); with SIE clear the interrupt stays pending, not taken.
 */
static inline void wfi(void)
{
	asm volatile("wfi" ::: "memory");
}

static inline uint64_t rdtime(void)
{
	return csr_read(CSR_TIME);
}

/* Timer (lib/riscv64/timer.c): Sstc's stimecmp when the vCPU has it, else SBI TIME. */
extern uint64_t kc_timer_freq;		/* Hz, from the host's KVM_REG_RISCV_TIMER frequency */
extern int kc_guest_has_sstc;
void timer_set_next(uint64_t abs_time);
void timer_stop(void);
void timer_irq_enable(void);
void timer_irq_disable(void);

#endif
