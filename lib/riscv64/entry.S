/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest's trap entry (stvec, direct mode, hence 4-byte aligned). The guest runs in
 * S-mode only, so a trap never changes stacks: the frame goes below the interrupted sp (the
 * psABI has no red zone). x1..x31 and the trap CSRs are saved as struct ex_regs, then
 * kc_route_trap() runs and sepc/sstatus are written back, so a handler can skip an instruction.
 * No FP or vector state is saved: see GUEST_CFLAGS in the Makefile.
 */
#define FRAME	(36 * 8)	/* 31 GPRs, 4 CSRs, vector; a multiple of 16 */

	.text
	.balign 4
	.globl kc_trap_entry
kc_trap_entry:
	addi	sp, sp, -FRAME
	sd	ra, 0*8(sp)
	sd	gp, 2*8(sp)
	sd	tp, 3*8(sp)
	sd	t0, 4*8(sp)
	sd	t1, 5*8(sp)
	sd	t2, 6*8(sp)
	sd	s0, 7*8(sp)
	sd	s1, 8*8(sp)
	sd	a0, 9*8(sp)
	sd	a1, 10*8(sp)
	sd	a2, 11*8(sp)
	sd	a3, 12*8(sp)
	sd	a4, 13*8(sp)
	sd	a5, 14*8(sp)
	sd	a6, 15*8(sp)
	sd	a7, 16*8(sp)
	sd	s2, 17*8(sp)
	sd	s3, 18*8(sp)
	sd	s4, 19*8(sp)
	sd	s5, 20*8(sp)
	sd	s6, 21*8(sp)
	sd	s7, 22*8(sp)
	sd	s8, 23*8(sp)
	sd	s9, 24*8(sp)
	sd	s10, 25*8(sp)
	sd	s11, 26*8(sp)
	sd	t3, 27*8(sp)
	sd	t4, 28*8(sp)
	sd	t5, 29*8(sp)
	sd	t6, 30*8(sp)
	/* The interrupted sp, as it was before this frame. */
	addi	t0, sp, FRAME
	sd	t0, 1*8(sp)
	csrr	t0, sepc
	sd	t0, 31*8(sp)
	csrr	t0, sstatus
	sd	t0, 32*8(sp)
	csrr	t0, scause
	sd	t0, 33*8(sp)
	csrr	t0, stval
	sd	t0, 34*8(sp)
	mv	a0, sp
	call	kc_route_trap
	ld	t0, 31*8(sp)
	csrw	sepc, t0
	ld	t0, 32*8(sp)
	csrw	sstatus, t0
	ld	ra, 0*8(sp)
	ld	gp, 2*8(sp)
	ld	tp, 3*8(sp)
	ld	t0, 4*8(sp)
	ld	t1, 5*8(sp)
	ld	t2, 6*8(sp)
	ld	s0, 7*8(sp)
	ld	s1, 8*8(sp)
	ld	a0, 9*8(sp)
	ld	a1, 10*8(sp)
	ld	a2, 11*8(sp)
	ld	a3, 12*8(sp)
	ld	a4, 13*8(sp)
	ld	a5, 14*8(sp)
	ld	a6, 15*8(sp)
	ld	a7, 16*8(sp)
	ld	s2, 17*8(sp)
	ld	s3, 18*8(sp)
	ld	s4, 19*8(sp)
	ld	s5, 20*8(sp)
	ld	s6, 21*8(sp)
	ld	s7, 22*8(sp)
	ld	s8, 23*8(sp)
	ld	s9, 24*8(sp)
	ld	s10, 25*8(sp)
	ld	s11, 26*8(sp)
	ld	t3, 27*8(sp)
	ld	t4, 28*8(sp)
	ld	t5, 29*8(sp)
	ld	t6, 30*8(sp)
	addi	sp, sp, FRAME
	sret

/* Where guest_code returns to (ra at entry): report DONE. */
	.globl kc_guest_return
kc_guest_return:
	andi	sp, sp, -16
	call	kc_guest_exited
1:	wfi
	j	1b

	.section .note.GNU-stack, "", @progbits
