/* Shared by the driver (driver.c) and its guest (guest.S): the port and the opcodes. */
#ifndef CONFORMANCE_H
#define CONFORMANCE_H

#define PORT_BASE	0x70000000
#define PORT_CMD	0x00
#define PORT_ADDR	0x08
#define PORT_VALUE	0x10
#define PORT_STATUS	0x18
#define PORT_RESULT	0x20

/* Guest RAM: the code above, one memslot. */
#define GUEST_RAM_BASE	0x80000000
#define GUEST_RAM_SIZE	0x80000

#define OP_NOP		0
#define OP_R8		1
#define OP_R16		2
#define OP_R32		3
#define OP_R64		4
#define OP_W8		5
#define OP_W16		6
#define OP_W32		7
#define OP_W64		8
#define OP_MRS		9
#define OP_MSR		10
#define OP_UNMASK	11
#define OP_WFI		12
#define OP_COUNT	13

#define NR_SYSREGS	35

#endif
