/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ucall: the guest -> host channel. The guest fills a struct ucall on its own stack and hands
 * its guest-physical address to the host in one exit (x86: a 32-bit OUT to UCALL_PIO_PORT, whose
 * data sits in kvm_run; riscv: an SBI call whose arguments sit in kvm_run). The host needs no
 * further ioctl to read it: guest memory is mapped in the VMM. Strings that are literals (file
 * names, expressions) are passed as pointers, valid on both sides because guest and host run the
 * same static image at the same addresses.
 */
#ifndef KVMCHECK_UCALL_H
#define KVMCHECK_UCALL_H

#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>

enum ucall_cmd {
	UCALL_NONE,
	UCALL_SYNC,
	UCALL_PRINTF,
	UCALL_ASSERT,
	UCALL_DONE,
	UCALL_UNHANDLED,	/* exception or trap with no handler: args = vector, ip, error */
};

#define UCALL_MAX_ARGS	6
#define UCALL_BUF_SIZE	512

struct ucall {
	uint64_t cmd;
	uint64_t nargs;
	uint64_t args[UCALL_MAX_ARGS];
	const char *file;	/* UCALL_ASSERT */
	const char *expr;	/* UCALL_ASSERT */
	uint64_t line;		/* UCALL_ASSERT */
	char buf[UCALL_BUF_SIZE];	/* UCALL_PRINTF text, UCALL_ASSERT message */
};

/* Guest side */
void ucall(uint64_t cmd, int nargs, const uint64_t *args);
void ucall_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void __attribute__((noreturn)) ucall_assert(const char *file, int line, const char *expr,
					    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ucall_arch_do(struct ucall *uc);
void __attribute__((noreturn)) guest_halt_forever(void);

#define __UC_NARGS(...) __UC_NARGS_(0, ##__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0)
#define __UC_NARGS_(z, a, b, c, d, e, f, n, ...) n

#define __UC_CAT(a, b)	__UC_CAT_(a, b)
#define __UC_CAT_(a, b)	a##b

#if defined(__x86_64__)
#include "x86_64/ucall_regs.h"
#endif

#ifdef KC_UCALL_REGS
/*
 * SYNC and DONE carry their values in registers (the architecture's ucall_regs.h): the guest
 * path is a few instructions, as short as a bare exit loop. kc_ucall_regsN takes N values.
 */
#define GUEST_SYNC(...)							\
	__UC_CAT(kc_ucall_regs, __UC_NARGS(__VA_ARGS__))(UCALL_SYNC, ##__VA_ARGS__)
#define GUEST_DONE()		kc_ucall_regs0(UCALL_DONE)
#else
/* The compound literal converts every argument to 64 bits, whatever its type. */
#define GUEST_SYNC(...)							\
	ucall(UCALL_SYNC, __UC_NARGS(__VA_ARGS__),				\
	      (const uint64_t[UCALL_MAX_ARGS]){ __VA_ARGS__ })
#define GUEST_DONE()		ucall(UCALL_DONE, 0, NULL)
#endif
#define GUEST_PRINTF(fmt, ...)	ucall_printf(fmt, ##__VA_ARGS__)

#define GUEST_ASSERT_MSG(cond, fmt, ...)					\
do {										\
	if (!(cond))								\
		ucall_assert(__FILE__, __LINE__, #cond, fmt, ##__VA_ARGS__);	\
} while (0)

#define GUEST_ASSERT(cond)	GUEST_ASSERT_MSG(cond, " ")

#define GUEST_ASSERT_EQ(a, b)							\
do {										\
	uint64_t __ga = (uint64_t)(a), __gb = (uint64_t)(b);			\
	if (__ga != __gb)							\
		ucall_assert(__FILE__, __LINE__, #a " == " #b,			\
			     "%#lx != %#lx", __ga, __gb);			\
} while (0)

#define GUEST_FAIL(fmt, ...) ucall_assert(__FILE__, __LINE__, "failure", fmt, ##__VA_ARGS__)

/* Host side */
struct kvm_vcpu;
/* The raw ucall, ASSERT and UNHANDLED included: for tests of the reporting itself. */
uint64_t __get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
/* Decode the exit as a ucall; UCALL_NONE when the exit is something else. A guest ASSERT or an
 * unhandled guest exception fails the subtest with its report. */
uint64_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
/* Run until a SYNC, DONE or non-ucall exit; prints PRINTFs, fails the subtest on ASSERT. */
uint64_t vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
/* Architecture hook: the GPA of the ucall, if this exit is one. */
int ucall_arch_gpa(struct kvm_vcpu *vcpu, uint64_t *gpa);
/* Architecture hook: fill cmd, nargs and args if this exit is a register ucall (optional). */
int ucall_arch_regs(struct kvm_vcpu *vcpu, struct ucall *uc);
void __attribute__((noreturn)) ucall_report_assert(struct ucall *uc);
const char *ucall_cmd_str(uint64_t cmd);

#endif
