// The system registers a conformance guest can access, read from native/sysregs.def: the same
// file the guest's assembly expands into mrs/msr stubs, so a register's index (its position
// there) means the same thing to the scenario compiler and to the real guest.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as cpuif from '../vgic/cpuif-regs.ts';

export const NATIVE_DIR = fileURLToPath(new URL('../../native/', import.meta.url));

export interface GuestSysreg {
  readonly name: string;
  /** Index in sysregs.def: the guest's stub number. */
  readonly index: number;
  /** The model's encoding (lib/vgic/cpuif-regs.ts), or null for registers the model lacks. */
  readonly encoding: number;
}

function parseDef(text: string): GuestSysreg[] {
  const out: GuestSysreg[] = [];
  for (const m of text.matchAll(/^SYSREG\((\w+),\s*s(\d)_(\d)_c(\d+)_c(\d+)_(\d)\)/gm)) {
    const [, name, op0, op1, crn, crm, op2] = m;
    const encoding = (Number(op0) << 14) | (Number(op1) << 11) | (Number(crn) << 7) | (Number(crm) << 3) | Number(op2);
    out.push({ name: name!, index: out.length, encoding });
  }
  return out;
}

export const GUEST_SYSREGS: readonly GuestSysreg[] = parseDef(readFileSync(`${NATIVE_DIR}sysregs.def`, 'utf8'));

const BY_NAME = new Map(GUEST_SYSREGS.map((r) => [r.name, r]));

export function guestSysreg(name: string): GuestSysreg | undefined {
  return BY_NAME.get(name.toUpperCase());
}

// The model's table names the same encodings: a mismatch would mean the def file is wrong.
for (const [name, value] of Object.entries(cpuif)) {
  const r = BY_NAME.get(name);
  if (r && typeof value === 'number' && r.encoding !== value) {
    throw new Error(`native/sysregs.def: ${name} encodes 0x${r.encoding.toString(16)}, lib/vgic says 0x${value.toString(16)}`);
  }
}
