// The guest's port and memory layout, as native/conformance.h defines them for the real guest.
// The model's guest uses the same addresses, so a scenario may touch them the same way.
export const PORT_BASE = 0x70000000;
export const PORT_CMD = 0x00;
export const GUEST_RAM_BASE = 0x80000000;
export const GUEST_RAM_SIZE = 0x80000;

/** Opcodes of the guest's command word (conformance.h OP_*). */
export const GUEST_OPCODES = {
  r8: 1,
  r16: 2,
  r32: 3,
  r64: 4,
  w8: 5,
  w16: 6,
  w32: 7,
  w64: 8,
  mrs: 9,
  msr: 10,
  unmask: 11,
  wfi: 12,
} as const;
