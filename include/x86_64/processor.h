/* SPDX-License-Identifier: GPL-2.0-only */
/* Guest-side x86_64 instructions and the exception-handling API. */
#ifndef KVMCHECK_X86_PROCESSOR_H
#define KVMCHECK_X86_PROCESSOR_H

#include <stdint.h>
#include "x86_64/msr.h"

#define DE_VECTOR	0
#define DB_VECTOR	1
#define BP_VECTOR	3
#define UD_VECTOR	6
#define NM_VECTOR	7
#define DF_VECTOR	8
#define GP_VECTOR	13
#define PF_VECTOR	14

#define X86_CR0_PE	(1UL << 0)
#define X86_CR0_MP	(1UL << 1)
#define X86_CR0_ET	(1UL << 4)
#define X86_CR0_NE	(1UL << 5)
#define X86_CR0_WP	(1UL << 16)
#define X86_CR0_PG	(1UL << 31)
#define X86_CR4_PAE	(1UL << 5)
#define X86_CR4_OSFXSR	(1UL << 9)
#define X86_CR4_OSXMMEXCPT (1UL << 10)
#define EFER_SCE	(1UL << 0)
#define EFER_LME	(1UL << 8)
#define EFER_LMA	(1UL << 10)
#define EFER_NX		(1UL << 11)
#define X86_EFLAGS_IF	(1UL << 9)

#define KC_CODE_SEL	0x08
#define KC_DATA_SEL	0x10
#define KC_TSS_SEL	0x18

/* Saved by lib/x86_64/handlers.S, in this order from the lowest address. */
struct ex_regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*kc_handler_t)(struct ex_regs *regs);

/* Guest: handle a vector (exception or interrupt) in C. */
void guest_install_handler(int vector, kc_handler_t handler);

/*
 * Instructions that may fault: the fault is caught through a table of (instruction, resume)
 * addresses and the vector comes back in r10. 0 means no exception was taken (none of these
 * instructions can raise #DE).
 */
#define KC_EXTABLE(insn, fixup)						\
	".pushsection kc_extable, \"a\"\n\t"				\
	".quad " #insn ", " #fixup "\n\t"				\
	".popsection\n\t"

static inline uint8_t rdmsr_safe(uint32_t msr, uint64_t *val)
{
	register uint64_t vec asm("r10") = 0;
	uint32_t lo = 0, hi = 0;

	asm volatile("1: rdmsr\n\t2:\n\t" KC_EXTABLE(1b, 2b)
		     : "+a"(lo), "+d"(hi), "+r"(vec) : "c"(msr) : "memory");
	*val = lo | ((uint64_t)hi << 32);
	return (uint8_t)vec;
}

static inline uint8_t wrmsr_safe(uint32_t msr, uint64_t val)
{
	register uint64_t vec asm("r10") = 0;

	asm volatile("1: wrmsr\n\t2:\n\t" KC_EXTABLE(1b, 2b)
		     : "+r"(vec) : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory");
	return (uint8_t)vec;
}

/* ud2 through the same fixup, to prove #UD delivery. */
static inline uint8_t ud2_safe(void)
{
	register uint64_t vec asm("r10") = 0;

	asm volatile("1: ud2\n\t2:\n\t" KC_EXTABLE(1b, 2b) : "+r"(vec) :: "memory");
	return (uint8_t)vec;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return lo | ((uint64_t)hi << 32);
}

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c,
			 uint32_t *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub)
		     : "memory");
}

static inline uint64_t read_cr0(void)
{
	uint64_t v;

	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr4(void)
{
	uint64_t v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" :: "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" :: "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" :: "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline void cli(void)
{
	asm volatile("cli" ::: "memory");
}

static inline void sti(void)
{
	asm volatile("sti" ::: "memory");
}

/* sti's one-instruction interrupt shadow makes "sti; hlt" atomic: no wake-up is lost. */
static inline void safe_halt(void)
{
	asm volatile("sti; hlt" ::: "memory");
}

static inline void hlt(void)
{
	asm volatile("hlt" ::: "memory");
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

static inline uint64_t rdtscp(uint32_t *aux)
{
	uint32_t lo, hi;

	asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux) :: "memory");
	return lo | ((uint64_t)hi << 32);
}

static inline uint64_t rdpid(void)
{
	uint64_t v;

	asm volatile("rdpid %0" : "=r"(v) :: "memory");
	return v;
}

#endif
