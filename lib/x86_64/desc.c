// SPDX-License-Identifier: GPL-2.0-only
/*
 * GDT, TSS and IDT for a 64-bit ring-0 guest, built by the host in guest memory, and the
 * segment/control-register state that KVM_SET_SREGS loads to start the vCPU in long mode.
 */
#include <string.h>
#include "x86_64/x86_vm.h"

#define GDT_ENTRIES	5	/* null, code, data, TSS (two slots) */
#define TSS_LIMIT	0x67
#define IDT_GATE_INT	0x8e	/* present, DPL 0, 64-bit interrupt gate: IF cleared on entry */

/* 256 fixed-size entry stubs from handlers.S. */
extern char kc_idt_stubs[];
#define KC_STUB_SIZE	16

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t rsvd;
} __attribute__((packed));

static void gdt_init(struct kvm_vm *vm)
{
	uint64_t *gdt = addr_gpa2hva(vm, vm->arch->gdt);
	uint64_t tss = vm->arch->tss;

	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL;	/* code: L=1, G=1, P, DPL0, execute/read, accessed */
	gdt[2] = 0x00cf93000000ffffULL;	/* data: D=1, G=1, P, DPL0, read/write, accessed */
	/* 16-byte system descriptor: busy 64-bit TSS (type 0xb), present. */
	gdt[3] = TSS_LIMIT | ((tss & 0xffffff) << 16) | (0x8bULL << 40) |
		 (((tss >> 24) & 0xff) << 56);
	gdt[4] = tss >> 32;
}

static void idt_init(struct kvm_vm *vm)
{
	struct idt_gate *idt = addr_gpa2hva(vm, vm->arch->idt);

	for (int v = 0; v < 256; v++) {
		uint64_t off = (uint64_t)(uintptr_t)kc_idt_stubs + (uint64_t)v * KC_STUB_SIZE;

		idt[v] = (struct idt_gate){
			.off_lo = (uint16_t)off, .sel = KC_CODE_SEL, .type = IDT_GATE_INT,
			.off_mid = (uint16_t)(off >> 16), .off_hi = (uint32_t)(off >> 32),
		};
	}
}

void kc_desc_tables_init(struct kvm_vm *vm)
{
	vm->arch->gdt = vm_alloc_pages(vm, 1);
	vm->arch->tss = vm_alloc_pages(vm, 1);
	vm->arch->idt = vm_alloc_pages(vm, 1);
	gdt_init(vm);
	idt_init(vm);
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.dpl = 0, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
}

void vcpu_init_sregs(struct kvm_vcpu *vcpu)
{
	struct kc_arch_vm *a = vcpu->vm->arch;
	struct kvm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	seg_flat(&sregs.cs, KC_CODE_SEL, 0xb, true);
	seg_flat(&sregs.ds, KC_DATA_SEL, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){
		.base = a->tss, .limit = TSS_LIMIT, .selector = KC_TSS_SEL, .type = 0xb,
		.present = 1,
	};
	sregs.ldt = (struct kvm_segment){ .type = 0x2, .unusable = 1 };
	sregs.gdt.base = a->gdt;
	sregs.gdt.limit = GDT_ENTRIES * 8 - 1;
	sregs.idt.base = a->idt;
	sregs.idt.limit = 256 * sizeof(struct idt_gate) - 1;
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	/* SSE on: the compiler uses XMM registers in ordinary guest C. */
	sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs.cr3 = a->pml4;
	sregs.efer = EFER_LME | EFER_LMA;
	vcpu_set_sregs(vcpu, &sregs);
}
