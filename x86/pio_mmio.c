// SPDX-License-Identifier: GPL-2.0-only
/*
 * Port and memory-mapped I/O exits, data checked both ways: what the guest writes arrives in
 * kvm_run with the right port/address, size and bytes, and what the host puts in kvm_run before
 * the next KVM_RUN is what the guest's IN or load returns (KVM completes the instruction on
 * re-entry, see "KVM_EXIT_IO" and "KVM_EXIT_MMIO" in Documentation/virt/kvm/api.rst).
 */
#include <string.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "x86_64/x86_vm.h"

#define TEST_PORT	0x3f0
#define TEST_MMIO	0xd0000000ULL	/* in the identity map, outside every memslot */

static void guest_pio_out(void)
{
	outb(TEST_PORT, 0x5a);
	outw(TEST_PORT + 2, 0xbeef);
	outl(TEST_PORT + 4, 0xcafef00d);
	GUEST_DONE();
}

static void expect_out(struct kvm_vcpu *vcpu, uint16_t port, uint8_t size, uint32_t val)
{
	struct kvm_run *run = vcpu->run;
	uint32_t got = 0;

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(run->io.direction, KVM_EXIT_IO_OUT);
	TEST_ASSERT_EQ(run->io.port, port);
	TEST_ASSERT_EQ(run->io.size, size);
	TEST_ASSERT_EQ(run->io.count, 1);
	memcpy(&got, (char *)run + run->io.data_offset, size);
	TEST_ASSERT_EQ(got, val);
}

static void test_pio_out(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_pio_out);
	struct ucall uc;

	expect_out(vcpu, TEST_PORT, 1, 0x5a);
	expect_out(vcpu, TEST_PORT + 2, 2, 0xbeef);
	expect_out(vcpu, TEST_PORT + 4, 4, 0xcafef00d);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_pio_in(void)
{
	GUEST_ASSERT_EQ(inb(TEST_PORT), 0xa5);
	GUEST_ASSERT_EQ(inw(TEST_PORT + 2), 0x1234);
	GUEST_ASSERT_EQ(inl(TEST_PORT + 4), 0x89abcdef);
	GUEST_DONE();
}

static void answer_in(struct kvm_vcpu *vcpu, uint16_t port, uint8_t size, uint32_t val)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(run->io.direction, KVM_EXIT_IO_IN);
	TEST_ASSERT_EQ(run->io.port, port);
	TEST_ASSERT_EQ(run->io.size, size);
	memcpy((char *)run + run->io.data_offset, &val, size);
}

static void test_pio_in(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_pio_in);
	struct ucall uc;

	answer_in(vcpu, TEST_PORT, 1, 0xa5);
	answer_in(vcpu, TEST_PORT + 2, 2, 0x1234);
	answer_in(vcpu, TEST_PORT + 4, 4, 0x89abcdef);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_mmio_write(void)
{
	*(volatile uint8_t *)TEST_MMIO = 0x11;
	*(volatile uint16_t *)(TEST_MMIO + 0x10) = 0x2233;
	*(volatile uint32_t *)(TEST_MMIO + 0x20) = 0x44556677;
	*(volatile uint64_t *)(TEST_MMIO + 0x30) = 0x8899aabbccddeeffULL;
	GUEST_DONE();
}

static void expect_mmio(struct kvm_vcpu *vcpu, uint64_t gpa, uint32_t len, bool write,
			uint64_t val)
{
	struct kvm_run *run = vcpu->run;
	uint64_t got = 0;

	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(run->mmio.phys_addr, gpa);
	TEST_ASSERT_EQ(run->mmio.len, len);
	TEST_ASSERT_EQ(run->mmio.is_write, write);
	if (write) {
		memcpy(&got, run->mmio.data, len);
		TEST_ASSERT_EQ(got, val);
	} else {
		memcpy(run->mmio.data, &val, len);
	}
}

static void test_mmio_write(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_mmio_write);
	struct ucall uc;

	expect_mmio(vcpu, TEST_MMIO, 1, true, 0x11);
	expect_mmio(vcpu, TEST_MMIO + 0x10, 2, true, 0x2233);
	expect_mmio(vcpu, TEST_MMIO + 0x20, 4, true, 0x44556677);
	expect_mmio(vcpu, TEST_MMIO + 0x30, 8, true, 0x8899aabbccddeeffULL);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_mmio_read(void)
{
	GUEST_ASSERT_EQ(*(volatile uint8_t *)TEST_MMIO, 0x9a);
	GUEST_ASSERT_EQ(*(volatile uint16_t *)(TEST_MMIO + 0x10), 0xbcde);
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(TEST_MMIO + 0x20), 0x01234567);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(TEST_MMIO + 0x30), 0xfedcba9876543210ULL);
	GUEST_DONE();
}

static void test_mmio_read(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_mmio_read);
	struct ucall uc;

	expect_mmio(vcpu, TEST_MMIO, 1, false, 0x9a);
	expect_mmio(vcpu, TEST_MMIO + 0x10, 2, false, 0xbcde);
	expect_mmio(vcpu, TEST_MMIO + 0x20, 4, false, 0x01234567);
	expect_mmio(vcpu, TEST_MMIO + 0x30, 8, false, 0xfedcba9876543210ULL);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "pio_out", test_pio_out },
	{ "pio_in", test_pio_in },
	{ "mmio_write", test_mmio_write },
	{ "mmio_read", test_mmio_read },
	{ 0 },
};

static const struct kc_test test = {
	.name = "x86/pio_mmio",
	.summary = "PIO and MMIO exits with their data checked in both directions",
	.groups = "runtime",
	.timeout_s = 30,
	.paths = KC_PATHS(KC_PATHS_RUNTIME, "arch/x86/kvm/emulate.c", "arch/x86/kvm/mmu/"),
	.subtests = subtests,
};

KVMCHECK_MAIN(test)
