// SPDX-License-Identifier: GPL-2.0-only
/*
 * The riscv64 ucall channel: an SBI call to an experimental extension that KVM forwards to
 * userspace (KVM_EXIT_RISCV_SBI). Values synced from guest to host, guest printf, a guest assert
 * that reports file, line, expression and values, GUEST_DONE on return from guest code, and
 * the SBI return values the host writes arriving in a0/a1.
 * --deliberate-fail makes the guest_assert subtest fail on purpose.
 */
#include <string.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "riscv64/riscv_vm.h"

static bool deliberate_fail;

static void guest_sync_values(void)
{
	GUEST_SYNC();
	GUEST_SYNC(1);
	GUEST_SYNC(0xdeadbeefcafef00dULL, -1, (uint8_t)0xff, 4, 5, 6);
	for (uint64_t i = 0; i < 100; i++)
		GUEST_SYNC(i, i * i);
}

static void test_sync_values(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_sync_values);
	struct ucall uc;

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.nargs, 0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.nargs, 1);
	TEST_ASSERT_EQ(uc.args[0], 1);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.nargs, 6);
	TEST_ASSERT_EQ(uc.args[0], 0xdeadbeefcafef00dULL);
	/* An int -1 arrives sign-extended, a uint8_t 0xff zero-extended: C conversion rules. */
	TEST_ASSERT_EQ(uc.args[1], UINT64_MAX);
	TEST_ASSERT_EQ(uc.args[2], 0xff);
	TEST_ASSERT_EQ(uc.args[5], 6);
	for (uint64_t i = 0; i < 100; i++) {
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
		TEST_ASSERT_EQ(uc.args[0], i);
		TEST_ASSERT_EQ(uc.args[1], i * i);
	}
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_printf_code(void)
{
	GUEST_PRINTF("hello %s %d %u %#x %05d %-3s| %p %lx %c%%", "from the guest", -42, 7u,
		     0xabc, 42, "ab", (void *)0x1000, 0x123456789abcdefUL, 'Z');
	GUEST_SYNC(1);
}

static void test_printf(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_printf_code);
	const char *want = "hello from the guest -42 7 0xabc 00042 ab | 0x1000 123456789abcdef Z%";
	struct ucall uc;

	/* Run one exit at a time: the PRINTF ucall itself is what this checks. */
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_PRINTF);
	TEST_ASSERT(!strcmp(uc.buf, want), "guest printed '%s', expected '%s'", uc.buf, want);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	kvm_vm_free(vm);
}

static void guest_assert_code(uint64_t a, uint64_t b)
{
	GUEST_ASSERT_EQ(a, b);
	GUEST_DONE();
}

/* With --deliberate-fail this fails, reporting riscv/ucall.c, the line above and 0x1 != 0x2. */
static void test_guest_assert(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_assert_code);
	struct ucall uc;

	vcpu_args_set(vcpu, 2, 1ULL, deliberate_fail ? 2ULL : 1ULL);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_returns(void)
{
}

static void test_return_is_done(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_returns);
	struct ucall uc;

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

/* What the host puts in riscv_sbi.ret[] is what the guest's ecall returns (a0, a1). */
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
	TEST_ASSERT_EQ(uc.args[1], 0xa5a5a5a5a5a5ULL);
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "sync_values", test_sync_values },
	{ "printf", test_printf },
	{ "guest_assert", test_guest_assert },
	{ "return_is_done", test_return_is_done },
	{ "sbi_return", test_sbi_return },
	{ 0 },
};

static const struct kc_option options[] = {
	{ "deliberate-fail", "make guest_assert fail, to check the failure report", &deliberate_fail },
	{ 0 },
};

static const struct kc_test test = {
	.name = "riscv/ucall",
	.summary = "guest-to-host sync, printf and assert through one exit each",
	.groups = "runtime",
	.timeout_s = 30,
	.subtests = subtests,
	.options = options,
};

KVMCHECK_MAIN(test)
