// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SBI base extension as KVM implements it for its guests (arch/riscv/kvm/
 * vcpu_sbi_base.c; SBI spec chapter 4): the spec version's format, KVM's implementation ID (3)
 * and version (the host kernel's LINUX_VERSION_CODE), probe_extension answering 1 for the
 * extensions KVM always offers and 0 for an unassigned ID, an experimental ID's probe forwarded
 * to userspace, the vendor/arch/impl IDs matching the vCPU's ONE_REG config, and
 * SBI_ERR_NOT_SUPPORTED for what KVM does not implement.
 * --self-check-fail expects the unassigned extension to probe as present, so probe fails.
 */
#include <stdio.h>
#include <sys/utsname.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "riscv64/riscv_vm.h"

/* In the standard range (SBI spec, chapter 3) but assigned to no extension. */
#define SBI_EXT_UNASSIGNED	0x0abcdef0

static bool self_check_fail;

static void guest_base_call(uint64_t fid, uint64_t arg)
{
	struct sbiret r = sbi_ecall(SBI_EXT_BASE, fid, arg, 0, 0, 0, 0, 0);

	GUEST_SYNC(r.error, r.value);
}

/* One base call in the guest; returns its value after checking error == SBI_SUCCESS. */
static uint64_t base_call(uint64_t fid, uint64_t arg)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_base_call);
	struct ucall uc;

	vcpu_args_set(vcpu, 2, fid, arg);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT(uc.args[0] == SBI_SUCCESS, "base fid %llu (a0 = %#llx): error %lld",
		    (unsigned long long)fid, (unsigned long long)arg, (long long)uc.args[0]);
	kvm_vm_free(vm);
	return uc.args[1];
}

/* SBI spec 4.1: bit 31 must be 0, major in bits 30:24, minor in 23:0; the base extension
 * itself exists from 0.2 on. */
static void test_spec_version(void)
{
	uint64_t v = base_call(SBI_BASE_GET_SPEC_VERSION, 0);
	uint64_t major = (v >> 24) & 0x7f, minor = v & 0xffffff;

	kc_info("SBI spec version %llu.%llu", (unsigned long long)major,
		(unsigned long long)minor);
	TEST_ASSERT(!(v >> 31), "spec version %#llx has bit 31 or above set",
		    (unsigned long long)v);
	TEST_ASSERT(major > 0 || minor >= 2, "spec version %llu.%llu, below 0.2",
		    (unsigned long long)major, (unsigned long long)minor);
}

static void test_impl_id(void)
{
	TEST_ASSERT_EQ(base_call(SBI_BASE_GET_IMPL_ID, 0), SBI_IMPL_ID_KVM);
}

/* KVM answers LINUX_VERSION_CODE: KERNEL_VERSION(a, b, c) with c capped at 255. */
static void test_impl_version(void)
{
	struct utsname u;
	unsigned int a = 0, b = 0, c = 0;
	uint64_t want;

	TEST_ASSERT(uname(&u) == 0, "uname: %s", kc_errno_str());
	TEST_ASSERT(sscanf(u.release, "%u.%u.%u", &a, &b, &c) >= 2, "release '%s'", u.release);
	want = ((uint64_t)a << 16) | (b << 8) | (c > 255 ? 255 : c);
	TEST_ASSERT(base_call(SBI_BASE_GET_IMPL_VERSION, 0) == want,
		    "impl version is not %#llx, the running kernel %s's LINUX_VERSION_CODE",
		    (unsigned long long)want, u.release);
}

static void test_probe(void)
{
	static const struct {
		const char *name;
		uint64_t id;
	} present[] = {
		{ "TIME", SBI_EXT_TIME }, { "IPI", SBI_EXT_IPI }, { "RFENCE", SBI_EXT_RFENCE },
		{ "HSM", SBI_EXT_HSM }, { "SRST", SBI_EXT_SRST }, { "BASE", SBI_EXT_BASE },
	};
	uint64_t unassigned;

	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		TEST_ASSERT(base_call(SBI_BASE_PROBE_EXT, present[i].id) == 1,
			    "probe_extension(%s) is not 1", present[i].name);
	unassigned = base_call(SBI_BASE_PROBE_EXT, SBI_EXT_UNASSIGNED);
	TEST_ASSERT(unassigned == (self_check_fail ? 1 : 0),
		    "probe_extension(%#x, unassigned) = %llu", SBI_EXT_UNASSIGNED,
		    (unsigned long long)unassigned);
}

/* Probing an experimental ID is the VMM's to answer: KVM forwards it (vcpu_sbi_base.c). */
static void test_probe_experimental_forwarded(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_base_call);
	struct kvm_run *run = vcpu->run;
	struct ucall uc;

	vcpu_args_set(vcpu, 2, (uint64_t)SBI_BASE_PROBE_EXT, (uint64_t)KC_UCALL_SBI_EXT);
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_RISCV_SBI);
	TEST_ASSERT_EQ(run->riscv_sbi.extension_id, SBI_EXT_BASE);
	TEST_ASSERT_EQ(run->riscv_sbi.function_id, SBI_BASE_PROBE_EXT);
	TEST_ASSERT_EQ(run->riscv_sbi.args[0], KC_UCALL_SBI_EXT);
	run->riscv_sbi.ret[0] = SBI_SUCCESS;
	run->riscv_sbi.ret[1] = 7;
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], SBI_SUCCESS);
	TEST_ASSERT_EQ(uc.args[1], 7);
	kvm_vm_free(vm);
}

/* The machine IDs the guest sees are the vCPU's config registers (api.rst, ONE_REG). */
static void test_machine_ids(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_base_call);
	uint64_t want[3] = {
		vcpu_get_reg(vcpu, RISCV_CONFIG_REG(mvendorid)),
		vcpu_get_reg(vcpu, RISCV_CONFIG_REG(marchid)),
		vcpu_get_reg(vcpu, RISCV_CONFIG_REG(mimpid)),
	};

	kvm_vm_free(vm);
	TEST_ASSERT_EQ(base_call(SBI_BASE_GET_MVENDORID, 0), want[0]);
	TEST_ASSERT_EQ(base_call(SBI_BASE_GET_MARCHID, 0), want[1]);
	TEST_ASSERT_EQ(base_call(SBI_BASE_GET_MIMPID, 0), want[2]);
}

static void guest_unsupported(void)
{
	struct sbiret base = sbi_ecall(SBI_EXT_BASE, 0xff, 0, 0, 0, 0, 0, 0);
	struct sbiret ext = sbi_ecall(SBI_EXT_UNASSIGNED, 0, 0, 0, 0, 0, 0, 0);

	GUEST_SYNC(base.error, ext.error);
}

/* Neither call leaves KVM: the next exit is the SYNC that reports both answers. */
static void test_not_supported(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_unsupported);
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], (uint64_t)SBI_ERR_NOT_SUPPORTED);
	TEST_ASSERT_EQ(uc.args[1], (uint64_t)SBI_ERR_NOT_SUPPORTED);
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "spec_version", test_spec_version },
	{ "impl_id", test_impl_id },
	{ "impl_version", test_impl_version },
	{ "probe", test_probe },
	{ "probe_experimental_forwarded", test_probe_experimental_forwarded },
	{ "machine_ids", test_machine_ids },
	{ "not_supported", test_not_supported },
	{ 0 },
};

static const struct kc_option options[] = {
	{ "self-check-fail", "self-check: expect an unassigned extension to probe as present",
	  &self_check_fail },
	{ 0 },
};

static const struct kc_test test = {
	.name = "riscv/sbi_base",
	.summary = "SBI base extension from the guest: versions, KVM's impl ID, probes, errors",
	.groups = "runtime,sbi",
	.timeout_s = 60,
	.paths = KC_PATHS("arch/riscv/kvm/"),
	.subtests = subtests,
	.options = options,
};

KVMCHECK_MAIN(test)
