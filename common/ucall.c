// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ucall channel itself, on every architecture (x86: register ucalls and a PIO doorbell;
 * riscv64: an SBI call KVM forwards to userspace): values synced from guest to host, guest
 * printf, a guest assert that reports file, line, expression and values, and GUEST_DONE on
 * return from guest code. --self-check-fail makes the guest_assert subtest fail on purpose; the
 * project's own tests check the report (tests/unit/test_harness.py).
 */
#include <string.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "kvmcheck/vm.h"

static bool self_check_fail;

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

/* With --self-check-fail this fails, reporting common/ucall.c, the line above and 0x1 != 0x2. */
static void test_guest_assert(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_assert_code);
	struct ucall uc;

	vcpu_args_set(vcpu, 2, 1ULL, self_check_fail ? 2ULL : 1ULL);
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

static const struct kc_subtest subtests[] = {
	{ "sync_values", test_sync_values },
	{ "printf", test_printf },
	{ "guest_assert", test_guest_assert },
	{ "return_is_done", test_return_is_done },
	{ 0 },
};

static const struct kc_option options[] = {
	{ "self-check-fail", "self-check: make guest_assert fail, to check the failure report",
	  &self_check_fail },
	{ 0 },
};

static const struct kc_test test = {
	.name = "common/ucall",
	.summary = "guest-to-host sync, printf and assert through one exit each",
	.groups = "runtime",
	.timeout_s = 30,
	.paths = KC_PATHS(KC_PATHS_RUNTIME),
	.subtests = subtests,
	.options = options,
};

KVMCHECK_MAIN(test)
