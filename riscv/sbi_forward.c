// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SBI forwarding that the riscv64 ucall rides on: an ecall to an experimental extension
 * leaves KVM_RUN as KVM_EXIT_RISCV_SBI with extension, function and arguments in kvm_run, KVM's
 * default answer (SBI_ERR_NOT_SUPPORTED) is in ret[0] before userspace writes one, and what the
 * host writes into ret[0]/ret[1] is what the guest's ecall returns in a0/a1
 * (arch/riscv/kvm/vcpu_sbi.c, the forward handler). The ucall channel itself is common/ucall.
 * --self-check-fail makes the host expect another a1 than it wrote, so sbi_return must fail.
 */
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "riscv64/riscv_vm.h"

static bool self_check_fail;

static void guest_sbi_return(void)
{
	struct sbiret r = sbi_ecall(KC_UCALL_SBI_EXT, 1, 0x1234, 0, 0, 0, 0, 0);

	GUEST_SYNC(r.error, r.value);
}

static void test_sbi_return(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_sbi_return);
	struct kvm_run *run = vcpu->run;
	struct ucall uc;

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_RISCV_SBI);
	TEST_ASSERT_EQ(run->riscv_sbi.extension_id, KC_UCALL_SBI_EXT);
	TEST_ASSERT_EQ(run->riscv_sbi.function_id, 1);
	TEST_ASSERT_EQ(run->riscv_sbi.args[0], 0x1234);
	/* KVM's default answer before userspace writes one (vcpu_sbi.c forward handler). */
	TEST_ASSERT_EQ(run->riscv_sbi.ret[0], (unsigned long)SBI_ERR_NOT_SUPPORTED);
	run->riscv_sbi.ret[0] = 0x5a5a;
	run->riscv_sbi.ret[1] = 0xa5a5a5a5a5a5ULL;
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 0x5a5a);
	TEST_ASSERT_EQ(uc.args[1], 0xa5a5a5a5a5a5ULL + self_check_fail);
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "sbi_return", test_sbi_return },
	{ 0 },
};

static const struct kc_option options[] = {
	{ "self-check-fail", "self-check: expect another a1 than the host wrote, to show the check fails",
	  &self_check_fail },
	{ 0 },
};

static const struct kc_test test = {
	.name = "riscv/sbi_forward",
	.summary = "SBI calls forwarded to userspace: arguments out, return values back",
	.groups = "runtime",
	.timeout_s = 30,
	.paths = KC_PATHS(KC_PATHS_RUNTIME),
	.subtests = subtests,
	.options = options,
};

KVMCHECK_MAIN(test)
