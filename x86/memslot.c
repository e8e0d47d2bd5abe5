// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memslots as the guest sees them: contents written by the host are read by the guest and the
 * other way round; a slot moved to a new GPA (same slot id, new guest_phys_addr) shows the same
 * contents there while the old range becomes MMIO; a deleted slot (size 0) is MMIO too.
 */
#include <errno.h>
#include <string.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "x86_64/x86_vm.h"

#define TEST_SLOT	1
#define SLOT_SIZE	(2UL << 20)
#define GPA_A		0xc0000000ULL
#define GPA_B		0xc0400000ULL

static uint64_t guest_checksum(uint64_t gpa)
{
	const volatile uint64_t *p = (const volatile uint64_t *)gpa;
	uint64_t sum = 0;

	for (uint64_t i = 0; i < SLOT_SIZE / 8; i += 512)
		sum += p[i] ^ i;
	return sum;
}

static void guest_code(void)
{
	GUEST_SYNC(guest_checksum(GPA_A));
	*(volatile uint64_t *)(GPA_A + 8) = 0x600dcafe;
	GUEST_SYNC(0);
	/* Moved: read the new place, then touch the old one, which must now be MMIO. */
	GUEST_SYNC(guest_checksum(GPA_B));
	GUEST_SYNC(*(volatile uint64_t *)GPA_A);
	/* Deleted: the new place is MMIO too. */
	GUEST_SYNC(*(volatile uint64_t *)GPA_B);
	GUEST_DONE();
}

static uint64_t host_fill(uint64_t *p)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < SLOT_SIZE / 8; i++)
		p[i] = 0x0101010101010101ULL * (i & 0xff) + i;
	for (uint64_t i = 0; i < SLOT_SIZE / 8; i += 512)
		sum += p[i] ^ i;
	return sum;
}

/* A read of an address without memory is an MMIO exit; answer it with a marker value. */
static void expect_mmio_read(struct kvm_vcpu *vcpu, uint64_t gpa, uint64_t answer)
{
	vcpu_run(vcpu);
	vcpu_assert_exit(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(vcpu->run->mmio.phys_addr, gpa);
	TEST_ASSERT_EQ(vcpu->run->mmio.is_write, 0);
	memcpy(vcpu->run->mmio.data, &answer, 8);
}

static void test_add_move_delete(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	uint64_t *mem = vm_mem_add(vm, TEST_SLOT, GPA_A, SLOT_SIZE, 0);
	uint64_t sum = host_fill(mem);
	struct ucall uc;

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], sum);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(mem[1], 0x600dcafe);

	vm_mem_move(vm, TEST_SLOT, GPA_B);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], sum);
	expect_mmio_read(vcpu, GPA_A, 0x11111111);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 0x11111111);

	vm_mem_delete(vm, TEST_SLOT);
	expect_mmio_read(vcpu, GPA_B, 0x22222222);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 0x22222222);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void test_overlap_refused(void)
{
	struct kvm_vm *vm = vm_create_default();
	void *hva = vm_mem_add(vm, TEST_SLOT, GPA_A, SLOT_SIZE, 0);

	/* Two slots may not overlap in GPA: KVM answers EEXIST. */
	TEST_ASSERT(__vm_set_memory_region2(vm, TEST_SLOT + 1, 0, GPA_A + KC_PAGE_SIZE,
					    SLOT_SIZE, hva, -1, 0) < 0 && errno == EEXIST,
		    "overlapping memslot was not refused with EEXIST: %s", kc_errno_str());
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "add_move_delete", test_add_move_delete },
	{ "overlap_refused", test_overlap_refused },
	{ 0 },
};

static const struct kc_test test = {
	.name = "x86/memslot",
	.summary = "memslot add, move and delete with guest-visible contents",
	.groups = "runtime",
	.timeout_s = 30,
	.paths = KC_PATHS(KC_PATHS_RUNTIME, "arch/x86/kvm/mmu/"),
	.subtests = subtests,
};

KVMCHECK_MAIN(test)
