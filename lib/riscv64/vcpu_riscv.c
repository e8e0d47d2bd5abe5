// SPDX-License-Identifier: GPL-2.0-only
/*
 * riscv64 vCPU set-up through KVM_SET_ONE_REG: entry point, arguments in a0..a5, a stack, ra
 * to a trampoline that reports DONE, gp for the linker's gp-relative accesses, stvec to the
 * trap entry, and satp left in Bare mode (KVM resets it to 0) since the image is identity
 * placed. Also the ONE_REG helpers, exit details and trap names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "riscv64/riscv_vm.h"

#define KC_STACK_PAGES	8

extern char kc_trap_entry[];
extern char kc_guest_return[];

static int one_reg(struct kvm_vcpu *vcpu, unsigned long req, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)(uintptr_t)val };

	return ioctl(vcpu->fd, req, &reg);
}

int __vcpu_get_reg(struct kvm_vcpu *vcpu, uint64_t id, uint64_t *val)
{
	return one_reg(vcpu, KVM_GET_ONE_REG, id, val);
}

int __vcpu_set_reg(struct kvm_vcpu *vcpu, uint64_t id, uint64_t val)
{
	return one_reg(vcpu, KVM_SET_ONE_REG, id, &val);
}

uint64_t vcpu_get_reg(struct kvm_vcpu *vcpu, uint64_t id)
{
	char name[64];
	uint64_t val = 0;

	TEST_ASSERT(__vcpu_get_reg(vcpu, id, &val) == 0, "KVM_GET_ONE_REG(%s) failed: %s",
		    riscv_reg_name(id, name, sizeof(name)), kc_errno_str());
	return val;
}

void vcpu_set_reg(struct kvm_vcpu *vcpu, uint64_t id, uint64_t val)
{
	char name[64];

	TEST_ASSERT(__vcpu_set_reg(vcpu, id, val) == 0, "KVM_SET_ONE_REG(%s, %#llx) failed: %s",
		    riscv_reg_name(id, name, sizeof(name)), (unsigned long long)val,
		    kc_errno_str());
}

/* The first call learns the count (E2BIG, api.rst "KVM_GET_REG_LIST"), the second fills it. */
struct kvm_reg_list *vcpu_get_reg_list(struct kvm_vcpu *vcpu)
{
	struct kvm_reg_list probe = { .n = 0 }, *list;
	int ret = ioctl(vcpu->fd, KVM_GET_REG_LIST, &probe);

	TEST_ASSERT(ret < 0 && errno == E2BIG, "KVM_GET_REG_LIST with n = 0: %d (%s), not E2BIG",
		    ret, kc_errno_str());
	list = calloc(1, sizeof(*list) + probe.n * sizeof(list->reg[0]));
	TEST_ASSERT(list, "out of memory");
	list->n = probe.n;
	ret = ioctl(vcpu->fd, KVM_GET_REG_LIST, list);
	TEST_ASSERT(ret == 0, "KVM_GET_REG_LIST(n = %llu) failed: %s",
		    (unsigned long long)probe.n, kc_errno_str());
	return list;
}

const char *riscv_reg_name(uint64_t id, char *buf, size_t size)
{
	static const char *const types[] = {
		"?", "config", "core", "csr", "timer", "fp_f", "fp_d", "isa_ext", "sbi_ext",
		"vector", "sbi_state",
	};
	uint64_t type = (id & KVM_REG_RISCV_TYPE_MASK) >> KVM_REG_RISCV_TYPE_SHIFT;

	snprintf(buf, size, "%s/%llu.%llu (%#llx)",
		 type < sizeof(types) / sizeof(types[0]) ? types[type] : "?",
		 (unsigned long long)((id >> KVM_REG_RISCV_SUBTYPE_SHIFT) & 0xff),
		 (unsigned long long)(id & 0xffff), (unsigned long long)id);
	return buf;
}

bool vcpu_has_isa_ext(struct kvm_vcpu *vcpu, uint64_t ext)
{
	uint64_t val = 0;

	return __vcpu_get_reg(vcpu, RISCV_ISA_EXT_REG(ext), &val) == 0 && val;
}

static uint64_t host_gp(void)
{
	uint64_t gp;

	asm("mv %0, gp" : "=r"(gp));
	return gp;
}

/* The guest's copies of the timer facts lib/riscv64/timer.c needs. */
static void share_timer_facts(struct kvm_vcpu *vcpu)
{
	kc_timer_freq = vcpu_get_reg(vcpu, RISCV_TIMER_REG(frequency));
	kc_guest_has_sstc = vcpu->arch->has_sstc;
	sync_global_to_guest(vcpu->vm, kc_timer_freq);
	sync_global_to_guest(vcpu->vm, kc_guest_has_sstc);
}

void kc_arch_vcpu_init(struct kvm_vcpu *vcpu, void *guest_code)
{
	uint64_t stack = vm_alloc_pages(vcpu->vm, KC_STACK_PAGES);

	vcpu->arch = calloc(1, sizeof(*vcpu->arch));
	TEST_ASSERT(vcpu->arch, "out of memory");
	vcpu->arch->has_sstc = vcpu_has_isa_ext(vcpu, KVM_RISCV_ISA_EXT_SSTC);
	share_timer_facts(vcpu);

	/* Enter guest_code as if called: the psABI wants sp 16-byte aligned at a call. */
	vcpu->stack_top = stack + KC_STACK_PAGES * KC_PAGE_SIZE;
	vcpu_set_reg(vcpu, RISCV_CORE_REG(regs.sp), vcpu->stack_top);
	vcpu_set_reg(vcpu, RISCV_CORE_REG(regs.pc), (uint64_t)(uintptr_t)guest_code);
	vcpu_set_reg(vcpu, RISCV_CORE_REG(regs.ra), (uint64_t)(uintptr_t)kc_guest_return);
	/* The static link relaxes global accesses to gp-relative ones: same gp as the host. */
	vcpu_set_reg(vcpu, RISCV_CORE_REG(regs.gp), host_gp());
	vcpu_set_reg(vcpu, RISCV_CORE_REG(regs.tp), 0);
	vcpu_set_reg(vcpu, RISCV_CSR_REG(stvec), (uint64_t)(uintptr_t)kc_trap_entry);
	/* Interrupts stay off until the guest enables them; satp stays 0 (Bare). */
	vcpu_set_reg(vcpu, RISCV_CSR_REG(sie), 0);
	vcpu_set_reg(vcpu, RISCV_CSR_REG(sstatus),
		     vcpu_get_reg(vcpu, RISCV_CSR_REG(sstatus)) & ~SR_SIE);
}

void kc_arch_vcpu_free(struct kvm_vcpu *vcpu)
{
	free(vcpu->arch);
}

void kc_arch_vcpu_args_set(struct kvm_vcpu *vcpu, int nargs, const uint64_t *args)
{
	static const uint64_t regs[6] = {
		RISCV_CORE_REG(regs.a0), RISCV_CORE_REG(regs.a1), RISCV_CORE_REG(regs.a2),
		RISCV_CORE_REG(regs.a3), RISCV_CORE_REG(regs.a4), RISCV_CORE_REG(regs.a5),
	};

	for (int i = 0; i < nargs && i < 6; i++)
		vcpu_set_reg(vcpu, regs[i], args[i]);
}

static uint64_t guest_pc(struct kvm_vcpu *vcpu)
{
	uint64_t pc;

	return __vcpu_get_reg(vcpu, RISCV_CORE_REG(regs.pc), &pc) ? ~0ULL : pc;
}

const char *kc_arch_exit_detail(struct kvm_vcpu *vcpu, char *buf, size_t size)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_RISCV_SBI:
		snprintf(buf, size, " (SBI ext %#lx fid %#lx a0 %#lx a1 %#lx, pc %#llx)",
			 run->riscv_sbi.extension_id, run->riscv_sbi.function_id,
			 run->riscv_sbi.args[0], run->riscv_sbi.args[1],
			 (unsigned long long)guest_pc(vcpu));
		break;
	case KVM_EXIT_RISCV_CSR:
		snprintf(buf, size, " (csr %#lx, new %#lx, mask %#lx, pc %#llx)",
			 run->riscv_csr.csr_num, run->riscv_csr.new_value,
			 run->riscv_csr.write_mask, (unsigned long long)guest_pc(vcpu));
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, size, " (gpa %#llx, len %u, %s, pc %#llx)",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len,
			 run->mmio.is_write ? "write" : "read", (unsigned long long)guest_pc(vcpu));
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		snprintf(buf, size, " (type %u, ndata %u)", run->system_event.type,
			 run->system_event.ndata);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, size, " (pc %#llx)", (unsigned long long)guest_pc(vcpu));
		break;
	default:
		buf[0] = 0;
	}
	return buf;
}

/* scause's trap: sepc is where it happened, stval the faulting address or instruction. */
void kc_arch_trap_words(const char **ip, const char **error)
{
	*ip = "sepc";
	*error = "stval";
}

const char *kc_arch_vector_name(uint64_t vector)
{
	static const char *const exc[16] = {
		"instruction address misaligned", "instruction access fault",
		"illegal instruction", "breakpoint", "load address misaligned", "load access fault",
		"store/AMO address misaligned", "store/AMO access fault", "ecall from U-mode",
		"ecall from S-mode", NULL, NULL, "instruction page fault", "load page fault", NULL,
		"store/AMO page fault",
	};

	if (vector < 16 && exc[vector])
		return exc[vector];
	if (vector == KC_IRQ_VECTOR(IRQ_S_SOFT))
		return "supervisor software interrupt";
	if (vector == KC_IRQ_VECTOR(IRQ_S_TIMER))
		return "supervisor timer interrupt";
	if (vector == KC_IRQ_VECTOR(IRQ_S_EXT))
		return "supervisor external interrupt";
	return vector >= 64 ? "interrupt" : "reserved exception";
}
