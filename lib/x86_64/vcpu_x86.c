// SPDX-License-Identifier: GPL-2.0-only
/* x86 vCPU set-up (CPUID, long mode, stack, entry point), registers and MSRs. */
#include <stdio.h>
#include <stdlib.h>
#include "x86_64/x86_vm.h"
#include "x86_64/vcpu_arch.h"

#define KC_STACK_PAGES	8

extern char kc_guest_return[];

struct kc_vcpu_arch *kc_vcpu_arch(struct kvm_vcpu *vcpu)
{
	return vcpu->arch;
}

void vcpu_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	vcpu_ioctl(vcpu, KVM_GET_REGS, regs);
}

void vcpu_set_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	vcpu_ioctl(vcpu, KVM_SET_REGS, regs);
}

void vcpu_get_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, KVM_GET_SREGS, sregs);
}

void vcpu_set_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, KVM_SET_SREGS, sregs);
}

/* KVM_GET_MSRS/KVM_SET_MSRS return how many MSRs they processed: 1 is success here. */
int __vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t *val)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };
	int ret = ioctl(vcpu->fd, KVM_GET_MSRS, &m);

	*val = m.e.data;
	return ret;
}

uint64_t vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index)
{
	uint64_t val;
	int ret = __vcpu_get_msr(vcpu, index, &val);

	TEST_ASSERT(ret == 1, "KVM_GET_MSRS(%#x) returned %d: %s", index, ret, kc_errno_str());
	return val;
}

int __vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = val };

	return ioctl(vcpu->fd, KVM_SET_MSRS, &m);
}

void vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val)
{
	int ret = __vcpu_set_msr(vcpu, index, val);

	TEST_ASSERT(ret == 1, "KVM_SET_MSRS(%#x, %#llx) returned %d: %s", index,
		    (unsigned long long)val, ret, kc_errno_str());
}

void kc_arch_vcpu_init(struct kvm_vcpu *vcpu, void *guest_code)
{
	struct kvm_regs regs = { 0 };
	uint64_t stack = vm_alloc_pages(vcpu->vm, KC_STACK_PAGES);

	vcpu->arch = calloc(1, sizeof(*vcpu->arch));
	TEST_ASSERT(vcpu->arch, "out of memory");
	/* Register ucalls need the GPRs in kvm_run at every exit (KVM_CAP_SYNC_REGS, 4.16+). */
	TEST_ASSERT(kvm_check_cap(KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS,
		    "needs KVM_CAP_SYNC_REGS with KVM_SYNC_X86_REGS (Linux 4.16 and later)");
	vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	kc_vcpu_cpuid_init(vcpu);
	vcpu_apply_cpuid(vcpu);
	vcpu_init_sregs(vcpu);

	/* Enter guest_code as if called: the return address is on the stack, RSP + 8 aligned. */
	vcpu->stack_top = stack + KC_STACK_PAGES * KC_PAGE_SIZE;
	regs.rsp = vcpu->stack_top - 8;
	*(uint64_t *)addr_gpa2hva(vcpu->vm, regs.rsp) = (uint64_t)(uintptr_t)kc_guest_return;
	regs.rip = (uint64_t)(uintptr_t)guest_code;
	regs.rflags = 0x2;	/* bit 1 is reserved-set; IF clear until the guest says sti */
	vcpu_set_regs(vcpu, &regs);
}

void kc_arch_vcpu_free(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch)
		free(vcpu->arch->cpuid);
	free(vcpu->arch);
}

void kc_arch_vcpu_args_set(struct kvm_vcpu *vcpu, int nargs, const uint64_t *args)
{
	struct kvm_regs regs;
	__u64 *slots[6] = { &regs.rdi, &regs.rsi, &regs.rdx, &regs.rcx, &regs.r8, &regs.r9 };

	vcpu_get_regs(vcpu, &regs);
	for (int i = 0; i < nargs; i++)
		*slots[i] = args[i];
	vcpu_set_regs(vcpu, &regs);
}

const char *kc_arch_exit_detail(struct kvm_vcpu *vcpu, char *buf, size_t size)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf, size, " (port %#x, %s, size %u)", run->io.port,
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.size);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, size, " (gpa %#llx, len %u, %s)",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len,
			 run->mmio.is_write ? "write" : "read");
		break;
	case KVM_EXIT_INTERNAL_ERROR: {
		struct kvm_regs regs;

		/* The RIP says which guest instruction KVM could not handle. */
		if (__vcpu_ioctl(vcpu, KVM_GET_REGS, &regs))
			regs.rip = ~0ULL;
		snprintf(buf, size, " (suberror %u, rip %#llx, data %#llx %#llx)",
			 run->internal.suberror, (unsigned long long)regs.rip,
			 (unsigned long long)(run->internal.ndata > 0 ? run->internal.data[0] : 0),
			 (unsigned long long)(run->internal.ndata > 1 ? run->internal.data[1] : 0));
		break;
	}
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, size, " (hardware reason %#llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_SHUTDOWN:
		snprintf(buf, size, " (triple fault: an exception while delivering one)");
		break;
	default:
		buf[0] = 0;
	}
	return buf;
}

void kc_arch_trap_words(const char **ip, const char **error)
{
	*ip = "rip";
	*error = "error code";
}

const char *kc_arch_vector_name(uint64_t vector)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "coprocessor overrun",
		"#TS", "#NP", "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM", "#VE",
		"#CP",
	};

	if (vector < 32)
		return names[vector] ? names[vector] : "reserved exception";
	return "interrupt";
}
