// SPDX-License-Identifier: GPL-2.0-only
/*
 * SBI calls from the guest and the ucall transport over them (see include/riscv64/sbi.h).
 * The ucall is an ecall to an experimental extension ID with the ucall's guest-physical
 * address in a0: KVM forwards it as KVM_EXIT_RISCV_SBI with a0 in riscv_sbi.args[0], so the
 * host needs no KVM_GET_ONE_REG to find it.
 */
#include "kvmcheck/ucall.h"
#include "kvmcheck/vm.h"
#include "riscv64/sbi.h"

struct sbiret sbi_ecall(unsigned long ext, unsigned long fid, unsigned long a0,
			unsigned long a1, unsigned long a2, unsigned long a3,
			unsigned long a4, unsigned long a5)
{
	register unsigned long r0 asm("a0") = a0;
	register unsigned long r1 asm("a1") = a1;
	register unsigned long r2 asm("a2") = a2;
	register unsigned long r3 asm("a3") = a3;
	register unsigned long r4 asm("a4") = a4;
	register unsigned long r5 asm("a5") = a5;
	register unsigned long r6 asm("a6") = fid;
	register unsigned long r7 asm("a7") = ext;

	asm volatile("ecall"
		     : "+r"(r0), "+r"(r1)
		     : "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7)
		     : "memory");
	return (struct sbiret){ .error = (long)r0, .value = (long)r1 };
}

void ucall_arch_do(struct ucall *uc)
{
	sbi_ecall(KC_UCALL_SBI_EXT, KC_UCALL_SBI_FID, (unsigned long)uc, 0, 0, 0, 0, 0);
}

/*
 * KVM preloads ret[0] with SBI_ERR_NOT_SUPPORTED and copies ret[0..1] into a0/a1 on the next
 * KVM_RUN (kvm_riscv_vcpu_sbi_return()); answer SBI_SUCCESS so the guest sees the call done.
 */
int ucall_arch_gpa(struct kvm_vcpu *vcpu, uint64_t *gpa)
{
	struct kvm_run *run = vcpu->run;

	if (run->exit_reason != KVM_EXIT_RISCV_SBI ||
	    run->riscv_sbi.extension_id != KC_UCALL_SBI_EXT ||
	    run->riscv_sbi.function_id != KC_UCALL_SBI_FID)
		return 0;
	*gpa = run->riscv_sbi.args[0];
	run->riscv_sbi.ret[0] = SBI_SUCCESS;
	run->riscv_sbi.ret[1] = 0;
	return 1;
}
