// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest runtime's exception handling: a #GP from an MSR that does not exist caught by
 * rdmsr_safe()/wrmsr_safe(), #UD from ud2 caught the same way, handlers installed by the guest
 * and by the host, and an exception with no handler reported to the host with its vector, RIP
 * and error code.
 */
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "x86_64/x86_vm.h"

/* Architecturally reserved: no CPU implements it, so KVM must inject #GP(0). */
#define MSR_NONEXISTENT	0x2fffffff

static void guest_gp_msr(void)
{
	uint64_t val = 0x1234;

	GUEST_ASSERT_EQ(rdmsr_safe(MSR_NONEXISTENT, &val), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_NONEXISTENT, 1), GP_VECTOR);
	/* A real MSR goes through the same path without an exception. */
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_IA32_SYSENTER_CS, &val), 0);
	GUEST_DONE();
}

static void test_gp_from_unimplemented_msr(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_gp_msr);
	struct ucall uc;

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_ud(void)
{
	GUEST_ASSERT_EQ(ud2_safe(), UD_VECTOR);
	GUEST_DONE();
}

static void test_ud_from_ud2(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_ud);
	struct ucall uc;

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static volatile uint64_t handled_vector, handled_rip;

/* ud2 is two bytes long: resume after it. */
static void skip_ud2(struct ex_regs *regs)
{
	handled_vector = regs->vector;
	handled_rip = regs->rip;
	regs->rip += 2;
}

static void guest_handler(uint64_t install_in_guest)
{
	if (install_in_guest)
		guest_install_handler(UD_VECTOR, skip_ud2);
	asm volatile("ud2");
	GUEST_SYNC(handled_vector, handled_rip);
	GUEST_DONE();
}

static void run_handler_test(bool install_in_guest)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_handler);
	struct ucall uc;

	if (!install_in_guest)
		vm_install_exception_handler(vm, UD_VECTOR, skip_ud2);
	vcpu_args_set(vcpu, 1, (uint64_t)install_in_guest);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], UD_VECTOR);
	TEST_ASSERT(uc.args[1] > (uint64_t)(uintptr_t)guest_handler &&
		    uc.args[1] < (uint64_t)(uintptr_t)guest_handler + 256,
		    "#UD reported at rip %#llx, outside guest_handler()",
		    (unsigned long long)uc.args[1]);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void test_guest_installed_handler(void)
{
	run_handler_test(true);
}

static void test_host_installed_handler(void)
{
	run_handler_test(false);
}

static void guest_unhandled(void)
{
	/* A #GP with an error code: a segment selector past the GDT's limit (index 0x40). */
	asm volatile("mov %0, %%ds" :: "r"((uint16_t)0x200));
	GUEST_DONE();
}

static void test_unhandled_reported(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_unhandled);
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_EQ(__get_ucall(vcpu, &uc), UCALL_UNHANDLED);
	TEST_ASSERT_EQ(uc.args[0], GP_VECTOR);
	/* The error code of a #GP from a segment load is the selector, RPL bits cleared. */
	TEST_ASSERT_EQ(uc.args[2], 0x200);
	TEST_ASSERT(uc.args[1] >= (uint64_t)(uintptr_t)guest_unhandled &&
		    uc.args[1] < (uint64_t)(uintptr_t)guest_unhandled + 64,
		    "#GP reported at rip %#llx, outside guest_unhandled()",
		    (unsigned long long)uc.args[1]);
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "gp_from_unimplemented_msr", test_gp_from_unimplemented_msr },
	{ "ud_from_ud2", test_ud_from_ud2 },
	{ "guest_installed_handler", test_guest_installed_handler },
	{ "host_installed_handler", test_host_installed_handler },
	{ "unhandled_reported", test_unhandled_reported },
	{ 0 },
};

static const struct kc_test test = {
	.name = "x86/exceptions",
	.summary = "guest exception handling: *_safe fixups, installed handlers, unhandled reports",
	.groups = "runtime",
	.timeout_s = 30,
	.paths = KC_PATHS(KC_PATHS_RUNTIME, "arch/x86/kvm/emulate.c"),
	.subtests = subtests,
};

KVMCHECK_MAIN(test)
