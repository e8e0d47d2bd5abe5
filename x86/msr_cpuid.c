// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host-side vCPU state seen by the guest and back: KVM_SET_MSRS values read by the guest's
 * RDMSR, guest WRMSR values read by KVM_GET_MSRS, and CPUID entries set with KVM_SET_CPUID2
 * returned by the guest's CPUID instruction (KVM answers from the table userspace gave it).
 * STAR and KERNEL_GS_BASE hold any (canonical) 64-bit value on both vendors; the SYSENTER MSRs
 * do not (32 bits on AMD). Feature bits are left alone: kvm_pvm (measured on kernel 6.18) shows
 * the guest the hardware's leaf-1 ECX whatever KVM_SET_CPUID2 says, which is not what this
 * runtime check is about.
 */
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "x86_64/x86_vm.h"

#define CUSTOM_LEAF	0x400000f0	/* hypervisor range; KVM's own leaves stop well below */

static void guest_msr(void)
{
	GUEST_SYNC(rdmsr(MSR_STAR), rdmsr(MSR_KERNEL_GS_BASE));
	wrmsr(MSR_STAR, 0x001b000800000000ULL);
	wrmsr(MSR_KERNEL_GS_BASE, 0xffff80000badc000ULL);
	GUEST_DONE();
}

static void test_msr_roundtrip(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_msr);
	struct ucall uc;

	vcpu_set_msr(vcpu, MSR_STAR, 0x0023001000000000ULL);
	vcpu_set_msr(vcpu, MSR_KERNEL_GS_BASE, 0xffff888012345000ULL);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_STAR), 0x0023001000000000ULL);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 0x0023001000000000ULL);
	TEST_ASSERT_EQ(uc.args[1], 0xffff888012345000ULL);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_STAR), 0x001b000800000000ULL);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_KERNEL_GS_BASE), 0xffff80000badc000ULL);
	kvm_vm_free(vm);
}

static void test_msr_unknown_refused(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_msr);
	uint64_t val;

	/* KVM_GET/SET_MSRS stop at the first MSR they cannot handle and return the count. */
	TEST_ASSERT_EQ(__vcpu_get_msr(vcpu, 0x2fffffff, &val), 0);
	TEST_ASSERT_EQ(__vcpu_set_msr(vcpu, 0x2fffffff, 1), 0);
	kvm_vm_free(vm);
}

static void guest_cpuid(void)
{
	uint32_t a, b, c, d;

	cpuid(CUSTOM_LEAF, 0, &a, &b, &c, &d);
	GUEST_SYNC(a, b, c, d);
	cpuid(0, 0, &a, &b, &c, &d);
	GUEST_SYNC(a, b, c, d);
	GUEST_DONE();
}

static void test_cpuid_host_set(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_cpuid);
	struct kvm_cpuid_entry2 *e = vcpu_cpuid_entry(vcpu, CUSTOM_LEAF, 0);
	struct kvm_cpuid_entry2 *leaf0 = vcpu_cpuid_entry(vcpu, 0, 0);
	struct ucall uc;

	e->eax = 0x6b766d63;	/* "kvmc" */
	e->ebx = 0x68656b63;
	e->ecx = 0x12345678;
	e->edx = 0x9abcdef0;
	/* A vendor string of our own: "KvmCheckTest" in EBX, EDX, ECX order. */
	leaf0->ebx = 0x436d764b;
	leaf0->edx = 0x6b636568;
	leaf0->ecx = 0x74736554;
	vcpu_apply_cpuid(vcpu);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 0x6b766d63);
	TEST_ASSERT_EQ(uc.args[1], 0x68656b63);
	TEST_ASSERT_EQ(uc.args[2], 0x12345678);
	TEST_ASSERT_EQ(uc.args[3], 0x9abcdef0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], leaf0->eax);
	TEST_ASSERT_EQ(uc.args[1], 0x436d764b);
	TEST_ASSERT_EQ(uc.args[2], 0x74736554);
	TEST_ASSERT_EQ(uc.args[3], 0x6b636568);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "msr_roundtrip", test_msr_roundtrip },
	{ "msr_unknown_refused", test_msr_unknown_refused },
	{ "cpuid_host_set", test_cpuid_host_set },
	{ 0 },
};

static const struct kc_test test = {
	.name = "x86/msr_cpuid",
	.summary = "KVM_GET/SET_MSRS and KVM_SET_CPUID2 as seen by the guest",
	.groups = "runtime",
	.timeout_s = 30,
	.paths = KC_PATHS(KC_PATHS_RUNTIME, "arch/x86/kvm/cpuid.c"),
	.subtests = subtests,
};

KVMCHECK_MAIN(test)
