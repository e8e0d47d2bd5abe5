// SPDX-License-Identifier: GPL-2.0-only
/*
 * The riscv64 guest runtime's trap handling: an illegal instruction and an ebreak routed to
 * handlers installed by the guest and by the host (KVM delegates both to the guest through
 * hedeleg), and a trap with no handler reported to the host with cause, sepc and stval.
 * --self-check-fail runs the illegal-instruction subtest without its handler, so it fails with
 * the unhandled-trap report.
 */
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "riscv64/riscv_vm.h"

/* csrr t0, mstatus: an M-mode CSR, illegal from (V)S-mode (privileged spec, "CSR Listings"). */
#define ILLEGAL_INSN	0x300022f3
/* ebreak in its 32-bit encoding, so a handler skips 4 bytes either way. */
#define EBREAK_INSN	0x00100073

static bool self_check_fail;

static volatile uint64_t seen_vector, seen_sepc, seen_stval;

static void skip_insn(struct ex_regs *regs)
{
	seen_vector = regs->vector;
	seen_sepc = regs->sepc;
	seen_stval = regs->stval;
	regs->sepc += 4;
}

/* Executes the instruction and returns its address. */
static __attribute__((noinline)) uint64_t exec_illegal(void)
{
	uint64_t pc;

	asm volatile("lla %0, 1f\n1:\t.4byte " __stringify(ILLEGAL_INSN)
		     : "=r"(pc) :: "t0", "memory");
	return pc;
}

static __attribute__((noinline)) uint64_t exec_ebreak(void)
{
	uint64_t pc;

	asm volatile("lla %0, 1f\n1:\t.4byte " __stringify(EBREAK_INSN) : "=r"(pc) :: "memory");
	return pc;
}

static void guest_trap(uint64_t vector, uint64_t install_in_guest)
{
	uint64_t pc;

	if (install_in_guest)
		guest_install_handler((int)vector, skip_insn);
	pc = vector == EXC_BREAKPOINT ? exec_ebreak() : exec_illegal();
	GUEST_SYNC(seen_vector, seen_sepc, pc, seen_stval);
	GUEST_DONE();
}

static void run_trap_test(uint64_t vector, bool install, bool install_in_guest)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_trap);
	struct ucall uc;

	if (install && !install_in_guest)
		vm_install_exception_handler(vm, (int)vector, skip_insn);
	vcpu_args_set(vcpu, 2, vector, (uint64_t)(install && install_in_guest));
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], vector);
	TEST_ASSERT_EQ(uc.args[1], uc.args[2]);
	kc_info("cause %llu at %#llx, stval %#llx", (unsigned long long)uc.args[0],
		(unsigned long long)uc.args[1], (unsigned long long)uc.args[3]);
	/* stval is 0 or the faulting instruction's bits for an illegal instruction, and 0 or
	 * the pc for a breakpoint (privileged spec, "Supervisor Trap Value Register"). */
	if (vector == EXC_INST_ILLEGAL)
		TEST_ASSERT(uc.args[3] == 0 || uc.args[3] == ILLEGAL_INSN,
			    "stval %#llx", (unsigned long long)uc.args[3]);
	else
		TEST_ASSERT(uc.args[3] == 0 || uc.args[3] == uc.args[2],
			    "stval %#llx", (unsigned long long)uc.args[3]);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void test_illegal_insn_guest_handler(void)
{
	run_trap_test(EXC_INST_ILLEGAL, !self_check_fail, true);
}

static void test_illegal_insn_host_handler(void)
{
	run_trap_test(EXC_INST_ILLEGAL, true, false);
}

static void test_ebreak_guest_handler(void)
{
	run_trap_test(EXC_BREAKPOINT, true, true);
}

static void guest_unhandled(void)
{
	exec_illegal();
	GUEST_DONE();
}

static void test_unhandled_reported(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_unhandled);
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_EQ(__get_ucall(vcpu, &uc), UCALL_UNHANDLED);
	TEST_ASSERT_EQ(uc.args[0], EXC_INST_ILLEGAL);
	TEST_ASSERT(uc.args[1] >= (uint64_t)(uintptr_t)exec_illegal &&
		    uc.args[1] < (uint64_t)(uintptr_t)exec_illegal + 64,
		    "illegal instruction reported at sepc %#llx, outside exec_illegal()",
		    (unsigned long long)uc.args[1]);
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "illegal_insn_guest_handler", test_illegal_insn_guest_handler },
	{ "illegal_insn_host_handler", test_illegal_insn_host_handler },
	{ "ebreak_guest_handler", test_ebreak_guest_handler },
	{ "unhandled_reported", test_unhandled_reported },
	{ 0 },
};

static const struct kc_option options[] = {
	{ "self-check-fail", "self-check: run illegal_insn_guest_handler without its handler",
	  &self_check_fail },
	{ 0 },
};

static const struct kc_test test = {
	.name = "riscv/exceptions",
	.summary = "guest traps: illegal instruction and ebreak to handlers, unhandled reports",
	.groups = "runtime",
	.timeout_s = 30,
	.paths = KC_PATHS(KC_PATHS_RUNTIME),
	.subtests = subtests,
	.options = options,
};

KVMCHECK_MAIN(test)
