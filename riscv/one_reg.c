// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_GET_ONE_REG/KVM_SET_ONE_REG and KVM_GET_REG_LIST on riscv64 (api.rst, "KVM_SET_ONE_REG"
 * and "KVM_GET_REG_LIST"; arch/riscv/kvm/vcpu_onereg.c): the list is well formed and every
 * register in it reads back; core and CSR values round-trip through the host and reach the
 * guest; a value the guest writes reaches the host; the timer registers move; malformed ids
 * are refused with the documented errors.
 * --self-check-fail expects the guest's sscratch one higher than it is.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "riscv64/riscv_vm.h"

static bool self_check_fail;

static void guest_nop(void)
{
	GUEST_DONE();
}

static uint64_t reg_size(uint64_t id)
{
	return 1ULL << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

static bool list_has(const struct kvm_reg_list *l, uint64_t id)
{
	for (uint64_t i = 0; i < l->n; i++)
		if (l->reg[i] == id)
			return true;
	return false;
}

static void check_listed_reg(struct kvm_vcpu *vcpu, const struct kvm_reg_list *l, uint64_t i)
{
	uint64_t id = l->reg[i], buf[64];
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)(uintptr_t)buf };
	char name[64];

	riscv_reg_name(id, name, sizeof(name));
	TEST_ASSERT((id & KVM_REG_ARCH_MASK) == KVM_REG_RISCV, "%s: not a riscv id", name);
	TEST_ASSERT(reg_size(id) <= sizeof(buf), "%s: %llu bytes", name,
		    (unsigned long long)reg_size(id));
	for (uint64_t j = i + 1; j < l->n; j++)
		TEST_ASSERT(l->reg[j] != id, "%s listed twice", name);
	TEST_ASSERT(ioctl(vcpu->fd, KVM_GET_ONE_REG, &reg) == 0, "listed %s unreadable: %s",
		    name, kc_errno_str());
}

static void test_reg_list(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_nop);
	struct kvm_reg_list *l = vcpu_get_reg_list(vcpu);
	unsigned int per_type[16] = { 0 };

	TEST_ASSERT(l->n > 32, "only %llu registers listed", (unsigned long long)l->n);
	for (uint64_t i = 0; i < l->n; i++) {
		check_listed_reg(vcpu, l, i);
		per_type[((l->reg[i] & KVM_REG_RISCV_TYPE_MASK) >> KVM_REG_RISCV_TYPE_SHIFT) & 15]++;
	}
	TEST_ASSERT(list_has(l, RISCV_CORE_REG(regs.pc)), "core pc not listed");
	TEST_ASSERT(list_has(l, RISCV_CORE_REG(mode)), "core mode not listed");
	TEST_ASSERT(list_has(l, RISCV_CSR_REG(sstatus)), "csr sstatus not listed");
	TEST_ASSERT(list_has(l, RISCV_CONFIG_REG(isa)), "config isa not listed");
	TEST_ASSERT(list_has(l, RISCV_TIMER_REG(frequency)), "timer frequency not listed");
	kc_info("%llu registers: config %u core %u csr %u timer %u fp_f %u fp_d %u isa_ext %u "
		"sbi_ext %u vector %u sbi_state %u", (unsigned long long)l->n, per_type[1],
		per_type[2], per_type[3], per_type[4], per_type[5], per_type[6], per_type[7],
		per_type[8], per_type[9], per_type[10]);
	free(l);
	kvm_vm_free(vm);
}

static void test_host_roundtrip(void)
{
	static const uint64_t ids[] = {
		RISCV_CORE_REG(regs.t0), RISCV_CORE_REG(regs.s1), RISCV_CORE_REG(regs.a7),
		RISCV_CORE_REG(regs.s11), RISCV_CORE_REG(regs.t6), RISCV_CSR_REG(sscratch),
		RISCV_CSR_REG(sepc), RISCV_CSR_REG(stval),
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_nop);

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		uint64_t val = 0x0123456789abcdefULL ^ (i << 56) ^ i;

		vcpu_set_reg(vcpu, ids[i], val);
		TEST_ASSERT_EQ(vcpu_get_reg(vcpu, ids[i]), val);
	}
	kvm_vm_free(vm);
}

/* The host's a0..a5 and sscratch arrive in the guest; the guest's sscratch reaches the host. */
static void guest_regs(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		       uint64_t a5)
{
	GUEST_SYNC(a0, a1, a2, a3, a4, a5);
	GUEST_SYNC(csr_read(CSR_SSCRATCH), csr_read(CSR_SATP));
	csr_write(CSR_SSCRATCH, 0xfeedface00c0ffeeULL);
	GUEST_SYNC(0);
	GUEST_DONE();
}

static void test_guest_roundtrip(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_regs);
	struct ucall uc;

	vcpu_args_set(vcpu, 6, 1ULL, 2ULL, 3ULL, 4ULL, 5ULL, 0xa5a5a5a5a5a5a5a5ULL);
	vcpu_set_reg(vcpu, RISCV_CSR_REG(sscratch), 0x5c5c);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	for (int i = 0; i < 5; i++)
		TEST_ASSERT_EQ(uc.args[i], i + 1);
	TEST_ASSERT_EQ(uc.args[5], 0xa5a5a5a5a5a5a5a5ULL);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 0x5c5c);
	TEST_ASSERT_EQ(uc.args[1], 0);	/* Bare: the library never turns paging on */
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(vcpu_get_reg(vcpu, RISCV_CSR_REG(sscratch)),
		       0xfeedface00c0ffeeULL + self_check_fail);
	TEST_ASSERT_EQ(vcpu_get_reg(vcpu, RISCV_CORE_REG(mode)), KVM_RISCV_MODE_S);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void test_timer_regs(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_nop);
	uint64_t t0, t1;

	TEST_ASSERT(vcpu_get_reg(vcpu, RISCV_TIMER_REG(frequency)) != 0, "timer frequency 0");
	t0 = vcpu_get_reg(vcpu, RISCV_TIMER_REG(time));
	usleep(10000);
	t1 = vcpu_get_reg(vcpu, RISCV_TIMER_REG(time));
	TEST_ASSERT(t1 > t0, "guest time did not move in 10 ms: %#llx then %#llx",
		    (unsigned long long)t0, (unsigned long long)t1);
	kvm_vm_free(vm);
}

/* api.rst: ENOENT for a register that does not exist, EINVAL for a size that does not fit. */
static void test_bad_ids(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_nop);
	uint64_t val, bad_type = KC_RISCV_REG(0xfeUL << KVM_REG_RISCV_TYPE_SHIFT, 0);
	uint64_t bad_core = RISCV_CORE_REG(mode) + 64;
	uint64_t bad_size = (RISCV_CORE_REG(regs.pc) & ~KVM_REG_SIZE_MASK) | KVM_REG_SIZE_U32;

	TEST_ASSERT(__vcpu_get_reg(vcpu, bad_type, &val) < 0 && errno == ENOENT,
		    "unknown type: %s", kc_errno_str());
	TEST_ASSERT(__vcpu_get_reg(vcpu, bad_core, &val) < 0 && errno == ENOENT,
		    "core index past mode: %s", kc_errno_str());
	TEST_ASSERT(__vcpu_get_reg(vcpu, bad_size, &val) < 0 && errno == EINVAL,
		    "32-bit access to pc: %s", kc_errno_str());
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "reg_list", test_reg_list },
	{ "host_roundtrip", test_host_roundtrip },
	{ "guest_roundtrip", test_guest_roundtrip },
	{ "timer_regs", test_timer_regs },
	{ "bad_ids", test_bad_ids },
	{ 0 },
};

static const struct kc_option options[] = {
	{ "self-check-fail", "self-check: expect the guest's sscratch one higher than written",
	  &self_check_fail },
	{ 0 },
};

static const struct kc_test test = {
	.name = "riscv/one_reg",
	.summary = "KVM_GET/SET_ONE_REG round trips and a sane KVM_GET_REG_LIST",
	.groups = "runtime,one_reg",
	.timeout_s = 60,
	.paths = KC_PATHS("arch/riscv/kvm/", "virt/kvm/kvm_main.c"),
	.subtests = subtests,
	.options = options,
};

KVMCHECK_MAIN(test)
