/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Entry stubs for all 256 IDT vectors, each 16 bytes so the host finds stub N at
 * kc_idt_stubs + 16 * N. Vectors without a CPU-pushed error code push a zero, so every frame has
 * the same shape (struct ex_regs). The common path saves the general registers, calls
 * kc_route_exception() and returns with iretq. No FPU state is saved: guest code is built with
 * -mgeneral-regs-only (see the Makefile).
 */
	.text
	.align 16
	.globl kc_idt_stubs
kc_idt_stubs:
	.set vec, 0
	.rept 256
	.align 16
	.if vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	pushq $0
	.endif
	pushq $vec
	jmp kc_exception_common
	.set vec, vec + 1
	.endr

kc_exception_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rbx
	pushq %rbp
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	/* 22 quadwords on a 16-byte aligned frame base: %rsp is 16-byte aligned here. */
	movq %rsp, %rdi
	call kc_route_exception
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rbp
	popq %rbx
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp		/* vector and error code */
	iretq

/* Where guest_code returns to: realign the stack as a call would, then report DONE. */
	.globl kc_guest_return
kc_guest_return:
	andq $-16, %rsp
	call kc_guest_exited
1:	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
