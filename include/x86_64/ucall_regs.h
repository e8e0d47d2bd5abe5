/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Register ucalls for x86: EAX = cmd | nargs << 8 written with an OUT to an 8-bit port, the
 * values in RDI, RSI, RDX, RCX, R8, R9. The host reads them from kvm_run's synced registers
 * (KVM_CAP_SYNC_REGS, KVM_SYNC_X86_REGS), so the exit still needs no KVM_GET_REGS. Every guest
 * instruction between exits counts on some KVM implementations (kvm_pvm emulates the ones that
 * follow an exit), so GUEST_SYNC(x) is three instructions: load EAX, load RDI, OUT.
 */
#ifndef KVMCHECK_X86_UCALL_REGS_H
#define KVMCHECK_X86_UCALL_REGS_H

#include <stdint.h>

#define KC_UCALL_REGS		1
#define KC_UCALL_REGS_PORT	0xec

#define KC_UCALL_REGS_EAX(cmd, n)	((uint32_t)(cmd) | ((uint32_t)(n) << 8))

static inline void kc_ucall_regs0(uint64_t cmd)
{
	asm volatile("outl %%eax, %0" :: "i"(KC_UCALL_REGS_PORT), "a"(KC_UCALL_REGS_EAX(cmd, 0))
		     : "memory");
}

static inline void kc_ucall_regs1(uint64_t cmd, uint64_t a0)
{
	asm volatile("outl %%eax, %0" :: "i"(KC_UCALL_REGS_PORT), "a"(KC_UCALL_REGS_EAX(cmd, 1)),
		     "D"(a0) : "memory");
}

static inline void kc_ucall_regs2(uint64_t cmd, uint64_t a0, uint64_t a1)
{
	asm volatile("outl %%eax, %0" :: "i"(KC_UCALL_REGS_PORT), "a"(KC_UCALL_REGS_EAX(cmd, 2)),
		     "D"(a0), "S"(a1) : "memory");
}

static inline void kc_ucall_regs3(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2)
{
	asm volatile("outl %%eax, %0" :: "i"(KC_UCALL_REGS_PORT), "a"(KC_UCALL_REGS_EAX(cmd, 3)),
		     "D"(a0), "S"(a1), "d"(a2) : "memory");
}

static inline void kc_ucall_regs4(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2,
				  uint64_t a3)
{
	asm volatile("outl %%eax, %0" :: "i"(KC_UCALL_REGS_PORT), "a"(KC_UCALL_REGS_EAX(cmd, 4)),
		     "D"(a0), "S"(a1), "d"(a2), "c"(a3) : "memory");
}

static inline void kc_ucall_regs5(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2,
				  uint64_t a3, uint64_t a4)
{
	register uint64_t r8 asm("r8") = a4;

	asm volatile("outl %%eax, %0" :: "i"(KC_UCALL_REGS_PORT), "a"(KC_UCALL_REGS_EAX(cmd, 5)),
		     "D"(a0), "S"(a1), "d"(a2), "c"(a3), "r"(r8) : "memory");
}

static inline void kc_ucall_regs6(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2,
				  uint64_t a3, uint64_t a4, uint64_t a5)
{
	register uint64_t r8 asm("r8") = a4;
	register uint64_t r9 asm("r9") = a5;

	asm volatile("outl %%eax, %0" :: "i"(KC_UCALL_REGS_PORT), "a"(KC_UCALL_REGS_EAX(cmd, 6)),
		     "D"(a0), "S"(a1), "d"(a2), "c"(a3), "r"(r8), "r"(r9) : "memory");
}

#endif
