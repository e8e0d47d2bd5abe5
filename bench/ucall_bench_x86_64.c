// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exit costs, measured on one vCPU in one run so the numbers compare:
 *   exit_floor_ns     a bare KVM_RUN loop on a guest that does nothing but OUT to a port
 *   ucall_ns          GUEST_SYNC round trip through the library (vcpu_run + get_ucall)
 *   ucall_ratio       ucall_ns / exit_floor_ns (goal: <= 1.10, one exit and no extra ioctl)
 *   vm_create_us      KVM_CREATE_VM + one vCPU + image copy, to the first guest exit
 * Prints name=value lines (also as TAP diagnostics); asserts nothing about time.
 */
#include <stdio.h>
#include <time.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "x86_64/x86_vm.h"

#define BENCH_PORT	0x6b64
#define ROUNDS		5
#define ITERS		20000
#define CREATE_ITERS	20

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Alternate raw and ucall blocks so drift in the host hits both alike. */
static void guest_bench(void)
{
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < ITERS; i++)
			outl(BENCH_PORT, 0);
		for (int i = 0; i < ITERS; i++)
			GUEST_SYNC(i);
	}
	GUEST_DONE();
}

static uint64_t time_raw(struct kvm_vcpu *vcpu)
{
	uint64_t t0 = now_ns();

	for (int i = 0; i < ITERS; i++) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != KVM_EXIT_IO || vcpu->run->io.port != BENCH_PORT)
			vcpu_assert_exit(vcpu, KVM_EXIT_IO);
	}
	return (now_ns() - t0) / ITERS;
}

static uint64_t time_ucall(struct kvm_vcpu *vcpu)
{
	uint64_t t0 = now_ns();
	struct ucall uc;

	for (int i = 0; i < ITERS; i++)
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	return (now_ns() - t0) / ITERS;
}

static uint64_t median(uint64_t *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

static void bench_exits(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_bench);
	uint64_t raw[ROUNDS], uc_ns[ROUNDS], floor, ucall_ns;
	struct ucall uc;

	for (int r = 0; r < ROUNDS; r++) {
		raw[r] = time_raw(vcpu);
		uc_ns[r] = time_ucall(vcpu);
	}
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	floor = median(raw, ROUNDS);
	ucall_ns = median(uc_ns, ROUNDS);
	printf("exit_floor_ns=%llu\nucall_ns=%llu\nucall_ratio=%llu.%03llu\n",
	       (unsigned long long)floor, (unsigned long long)ucall_ns,
	       (unsigned long long)(ucall_ns / floor),
	       (unsigned long long)(ucall_ns * 1000 / floor % 1000));
	kvm_vm_free(vm);
}

static void guest_first(void)
{
	outb(BENCH_PORT, 0);
}

static void bench_create(void)
{
	uint64_t t[CREATE_ITERS];

	for (int i = 0; i < CREATE_ITERS; i++) {
		uint64_t t0 = now_ns();
		struct kvm_vcpu *vcpu;
		struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_first);

		vcpu_run(vcpu);
		t[i] = now_ns() - t0;
		vcpu_assert_exit(vcpu, KVM_EXIT_IO);
		kvm_vm_free(vm);
	}
	printf("vm_create_us=%llu\n", (unsigned long long)(median(t, CREATE_ITERS) / 1000));
}

static const struct kc_subtest subtests[] = {
	{ "exits", bench_exits },
	{ "vm_create", bench_create },
	{ 0 },
};

static const struct kc_test test = {
	.name = "bench/ucall_bench_x86_64",
	.summary = "exit floor, ucall round trip and VM creation, as name=value lines",
	.groups = "bench",
	.timeout_s = 120,
	.subtests = subtests,
};

KVMCHECK_MAIN(test)
