/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SBI calls from the guest (RISC-V SBI specification v2.0/v3.0): a7 = extension ID, a6 =
 * function ID, a0..a5 arguments; the answer comes back as error in a0 and value in a1.
 * KVM implements the SBI for its guests (arch/riscv/kvm/vcpu_sbi*.c).
 */
#ifndef KVMCHECK_RISCV_SBI_H
#define KVMCHECK_RISCV_SBI_H

#include <stdint.h>

#define SBI_EXT_BASE		0x10
#define SBI_EXT_TIME		0x54494d45	/* "TIME" */
#define SBI_EXT_IPI		0x735049	/* "sPI" */
#define SBI_EXT_RFENCE		0x52464e43	/* "RFNC" */
#define SBI_EXT_HSM		0x48534d	/* "HSM" */
#define SBI_EXT_SRST		0x53525354	/* "SRST" */

/* SBI spec, chapter 3: extension ID ranges reserved for experiments and vendors. */
#define SBI_EXT_EXPERIMENTAL_START	0x08000000
#define SBI_EXT_EXPERIMENTAL_END	0x08ffffff
#define SBI_EXT_VENDOR_START		0x09000000

/* Base extension functions (SBI spec, chapter 4). */
#define SBI_BASE_GET_SPEC_VERSION	0
#define SBI_BASE_GET_IMPL_ID		1
#define SBI_BASE_GET_IMPL_VERSION	2
#define SBI_BASE_PROBE_EXT		3
#define SBI_BASE_GET_MVENDORID		4
#define SBI_BASE_GET_MARCHID		5
#define SBI_BASE_GET_MIMPID		6

#define SBI_TIME_SET_TIMER		0

/* SBI spec, "Implementation IDs": KVM is 3. */
#define SBI_IMPL_ID_KVM			3

#define SBI_SUCCESS			0
#define SBI_ERR_NOT_SUPPORTED		(-2L)

/*
 * The suite's ucall: an extension ID in the experimental range, which KVM does not implement
 * and forwards to userspace as KVM_EXIT_RISCV_SBI (vcpu_sbi_forward.c) with a0..a5 in
 * kvm_run->riscv_sbi.args; the host writes riscv_sbi.ret[0..1], which KVM returns in a0/a1.
 */
#define KC_UCALL_SBI_EXT		SBI_EXT_EXPERIMENTAL_START
#define KC_UCALL_SBI_FID		0

struct sbiret {
	long error;
	long value;
};

struct sbiret sbi_ecall(unsigned long ext, unsigned long fid, unsigned long a0,
			unsigned long a1, unsigned long a2, unsigned long a3,
			unsigned long a4, unsigned long a5);

static inline long sbi_probe_extension(unsigned long ext)
{
	struct sbiret r = sbi_ecall(SBI_EXT_BASE, SBI_BASE_PROBE_EXT, ext, 0, 0, 0, 0, 0);

	return r.error ? r.error : r.value;
}

#endif
