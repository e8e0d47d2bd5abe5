/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How a subtest's verdict travels from the process that ran it to the harness: a page shared
 * across fork(), written once before the subtest process exits.
 */
#ifndef KVMCHECK_REPORT_H
#define KVMCHECK_REPORT_H

#include <stdint.h>

#define KC_REASON_SIZE 480

struct kc_result {
	int verdict;			/* KSFT_PASS, KSFT_FAIL or KSFT_SKIP */
	char reason[KC_REASON_SIZE];	/* one line */
};

extern struct kc_result *kc_current_result;

void __attribute__((noreturn)) kc_finish(int verdict, const char *reason);
void __attribute__((noreturn)) kc_guest_unhandled(uint64_t vector, uint64_t ip, uint64_t error);
/* Architecture hook: "#GP" for 13 on x86, "illegal instruction" for 2 on riscv… */
const char *kc_arch_vector_name(uint64_t vector);
/* Architecture hook: what the trap's address and extra word are called ("rip", "error code"). */
void kc_arch_trap_words(const char **ip, const char **error);

#endif
