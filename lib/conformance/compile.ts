// Scenario steps to the driver's /steps lines (native/driver.c documents the format).
import type { Step } from './language.ts';
import { GUEST_OPCODES } from './port.ts';

const h = (v: bigint | number): string => `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;

export function driverLine(step: Step): string {
  const a = step.action;
  switch (a.kind) {
    case 'vm':
      return `V ${a.ipaBits}`;
    case 'vcpu':
      return `C ${a.id}`;
    case 'device':
      return `D ${a.type} ${a.test ? 1 : 0}`;
    case 'set':
      return `S ${a.dev} ${a.group} ${h(a.attr)} ${h(a.value)}`;
    case 'get':
      return `G ${a.dev} ${a.group} ${h(a.attr)} ${h(a.value)}`;
    case 'setnull':
      return `N ${a.dev} ${a.group} ${h(a.attr)}`;
    case 'has':
      return `H ${a.dev} ${a.group} ${h(a.attr)}`;
    case 'irq_line':
      return `L ${h(a.irq)} ${a.level}`;
    case 'run':
      return `R ${a.vcpu}`;
    case 'guest': {
      const cmd = GUEST_OPCODES[a.op] | (a.sysreg << 8);
      return `A ${a.vcpu} ${h(cmd)} ${h(a.addr)} ${h(a.value)}`;
    }
  }
}

/** The whole program for a list of steps, one line each, in order. */
export function driverProgram(steps: readonly Step[]): string {
  return steps.map((s) => `${driverLine(s)}\n`).join('');
}
