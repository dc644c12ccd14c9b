/*
 * The conformance guest: tiny EL1 code that runs with the MMU off under real KVM. Its main loop
 * fetches one command from an unbacked "port" page (every load there exits to userspace as
 * KVM_EXIT_MMIO and the driver answers it), performs exactly one access, and reports the result
 * back through the port. The driver copies the bytes between guest_start and guest_end into a
 * memslot; everything here is position independent.
 *
 * Port (PORT_BASE, see conformance.h):
 *   +0x00 load   command: bits [7:0] opcode, bits [15:8] system register index (sysregs.def)
 *   +0x08 load   address
 *   +0x10 load   value
 *   +0x18 store  status: 0, or 1 << 32 | ESR_EL1 of a synchronous exception the access raised
 *   +0x20 store  result
 *
 * Registers: x20 port, x21 status, x22 "an IRQ was taken", x5 result, x9 scratch.
 */
#include "conformance.h"

	.text
	.balign 2048
	.globl guest_start
guest_start:
/* Vector table: 16 entries of 0x80 bytes. The guest runs in EL1h, so 0x200 and 0x280 matter. */
.macro vec_other idx
	.balign 0x80
	mov	x21, #((2 << 8) | \idx)	/* status 2 << 32 | vector << 24: an unexpected exception */
	lsl	x21, x21, #24
	mrs	x9, spsr_el1
	orr	x9, x9, #0xc0		/* return with IRQ and FIQ masked */
	msr	spsr_el1, x9
	eret
.endm
	vec_other 0
	vec_other 1
	vec_other 2
	vec_other 3
	.balign 0x80			/* 0x200: synchronous, current EL, SPx */
	mrs	x21, esr_el1
	mov	x9, #1
	orr	x21, x21, x9, lsl #32
	mrs	x9, elr_el1
	add	x9, x9, #4		/* skip the faulting instruction */
	msr	elr_el1, x9
	eret
	.balign 0x80			/* 0x280: IRQ, current EL, SPx */
	mov	x22, #1
	mrs	x9, spsr_el1
	orr	x9, x9, #0x80		/* return with IRQs masked again: the probe is over */
	msr	spsr_el1, x9
	eret
	vec_other 6
	vec_other 7
	vec_other 8
	vec_other 9
	vec_other 10
	vec_other 11
	vec_other 12
	vec_other 13
	vec_other 14
	vec_other 15

	.balign 0x80
	.globl guest_entry
guest_entry:
	adr	x9, guest_start
	msr	vbar_el1, x9
	isb
	movz	x20, #(PORT_BASE >> 16), lsl #16
loop:
	ldr	x0, [x20, #PORT_CMD]
	ldr	x3, [x20, #PORT_ADDR]
	ldr	x4, [x20, #PORT_VALUE]
	and	x1, x0, #0xff
	ubfx	x2, x0, #8, #8
	mov	x21, #0
	mov	x5, #0
	cmp	x1, #OP_COUNT
	b.hs	done
	adr	x9, optable
	add	x9, x9, x1, lsl #2
	br	x9
optable:
	b	done			/* OP_NOP */
	b	op_r8
	b	op_r16
	b	op_r32
	b	op_r64
	b	op_w8
	b	op_w16
	b	op_w32
	b	op_w64
	b	op_mrs
	b	op_msr
	b	op_unmask
	b	op_wfi
op_r8:	ldrb	w5, [x3]
	b	done
op_r16:	ldrh	w5, [x3]
	b	done
op_r32:	ldr	w5, [x3]
	b	done
op_r64:	ldr	x5, [x3]
	b	done
op_w8:	strb	w4, [x3]
	b	done
op_w16:	strh	w4, [x3]
	b	done
op_w32:	str	w4, [x3]
	b	done
op_w64:	str	x4, [x3]
	b	done
op_mrs:
	cmp	x2, #NR_SYSREGS
	b.hs	done
	adr	x9, mrs_table
	add	x9, x9, x2, lsl #3
	br	x9
op_msr:
	cmp	x2, #NR_SYSREGS
	b.hs	done
	adr	x9, msr_table
	add	x9, x9, x2, lsl #3
	br	x9
op_unmask:
	/* Open the IRQ window for one instruction: a signalled IRQ is taken here, and its handler
	 * returns with IRQs masked. The result says whether that happened. */
	mov	x22, #0
	msr	daifclr, #2
	isb
	msr	daifset, #2
	mov	x5, x22
	b	done
op_wfi:
	.globl guest_wfi
guest_wfi:
	wfi
	b	done
done:
	str	x21, [x20, #PORT_STATUS]
	str	x5, [x20, #PORT_RESULT]
	b	loop

#undef SYSREG
#define SYSREG(name, enc) mrs x5, enc ; b done ;
mrs_table:
#include "sysregs.def"
#undef SYSREG
#define SYSREG(name, enc) msr enc, x4 ; b done ;
msr_table:
#include "sysregs.def"
	.globl guest_end
guest_end:
