// The scenario language: one step per line, each step printing one normalised result line.
// Documented in README.md ("Conformance against real KVM"); the grammar in short:
//
//   scenario NAME                 a new scenario (a file without one is a single scenario)
//   vm [IPA_BITS]                 KVM_CREATE_VM (the previous VM is closed) + the guest memslot
//   vcpu ID                       KVM_CREATE_VCPU + KVM_ARM_VCPU_INIT
//   device v2|v3|its [test]       KVM_CREATE_DEVICE (test: KVM_CREATE_DEVICE_TEST)
//   set GROUP ATTR [VALUE]        KVM_SET_DEVICE_ATTR from a u64 buffer holding VALUE (default 0)
//   setnull GROUP ATTR            KVM_SET_DEVICE_ATTR with a NULL buffer
//   get GROUP ATTR [INIT]         KVM_GET_DEVICE_ATTR into a u64 buffer holding INIT; prints it
//   has GROUP ATTR                KVM_HAS_DEVICE_ATTR
//   init                          set ctrl KVM_DEV_ARM_VGIC_CTRL_INIT
//   irq_line spi NUM LEVEL | ppi VCPU NUM LEVEL | raw WORD LEVEL     KVM_IRQ_LINE
//   run VCPU                      first KVM_RUN: the guest starts and waits for its first access
//   vN r8|r16|r32|r64 ADDR        guest load on vCPU N (MMU off)
//   vN w8|w16|w32|w64 ADDR VALUE  guest store
//   vN mrs REG / vN msr REG VALUE system register (native/sysregs.def names)
//   vN unmask                     open the IRQ window once: "irq" if an IRQ was taken, else "none"
//   vN wfi                        "wake" if the WFI completed, "blocked" if it had to be broken
//
// GROUP is addr, dist, cpu, nr_irqs, ctrl, redist, sysregs, level_info, maint or a number,
// optionally prefixed "its:" for the ITS device. Numbers: decimal, 0x hex, or names of the
// constants in lib/uapi (GICD_IIDR, KVM_VGIC_V3_ADDR_TYPE_DIST...), combined left to right with
// + - * | and << (no spaces, no precedence).
import * as gic from '../uapi/gic.ts';
import * as its from '../uapi/its.ts';
import * as kvm from '../uapi/kvm.ts';
import * as cpuif from '../vgic/cpuif-regs.ts';
import { GUEST_RAM_BASE, PORT_BASE } from './port.ts';
import { guestSysreg } from './sysregs.ts';

export const GUEST_OPS = ['r8', 'r16', 'r32', 'r64', 'w8', 'w16', 'w32', 'w64', 'mrs', 'msr', 'unmask', 'wfi'] as const;
export type GuestOp = (typeof GUEST_OPS)[number];

export type StepAction =
  | { kind: 'vm'; ipaBits: number }
  | { kind: 'vcpu'; id: number }
  | { kind: 'device'; type: number; test: boolean }
  | { kind: 'set' | 'get'; dev: 0 | 1; group: number; attr: bigint; value: bigint }
  | { kind: 'setnull' | 'has'; dev: 0 | 1; group: number; attr: bigint }
  | { kind: 'irq_line'; irq: number; level: number }
  | { kind: 'run'; vcpu: number }
  | { kind: 'guest'; vcpu: number; op: GuestOp; sysreg: number; addr: bigint; value: bigint };

export interface Step {
  readonly action: StepAction;
  /** The step as written (normalised spaces), for reports. */
  readonly text: string;
  readonly file: string;
  readonly line: number;
}

export interface Scenario {
  readonly name: string;
  readonly file: string;
  readonly steps: Step[];
}

export class ScenarioError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'ScenarioError';
  }
}

const GROUPS: Record<string, number> = {
  addr: kvm.KVM_DEV_ARM_VGIC_GRP_ADDR,
  dist: kvm.KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  cpu: kvm.KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
  nr_irqs: kvm.KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  ctrl: kvm.KVM_DEV_ARM_VGIC_GRP_CTRL,
  redist: kvm.KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  sysregs: kvm.KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  level_info: kvm.KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  its_regs: kvm.KVM_DEV_ARM_VGIC_GRP_ITS_REGS,
  maint: kvm.KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ,
};

/** Every numeric constant of lib/uapi plus the sysreg attribute encodings, by name. */
const SYMBOLS = new Map<string, bigint>();
for (const mod of [gic, its, kvm, cpuif]) {
  for (const [k, v] of Object.entries(mod)) {
    if (typeof v === 'number' && Number.isInteger(v)) SYMBOLS.set(k, BigInt(v));
    else if (typeof v === 'bigint') SYMBOLS.set(k, v);
  }
}
SYMBOLS.set('PORT_BASE', BigInt(PORT_BASE));
SYMBOLS.set('GUEST_RAM_BASE', BigInt(GUEST_RAM_BASE));

function term(tok: string): bigint | null {
  if (/^0x[0-9a-f_]+$/i.test(tok)) return BigInt(tok.replace(/_/g, ''));
  if (/^\d+$/.test(tok)) return BigInt(tok);
  return SYMBOLS.get(tok) ?? null;
}

/** Evaluate an expression such as `GICD_BASE_GPA+GICD_IIDR` or `1<<32|0x10080` (left to right). */
export function evalExpr(expr: string): bigint | null {
  const parts = expr.split(/(\+|\||<<|-|\*)/);
  let acc = term(parts[0] ?? '');
  if (acc === null) return null;
  for (let i = 1; i < parts.length; i += 2) {
    const rhs = term(parts[i + 1] ?? '');
    if (rhs === null) return null;
    switch (parts[i]) {
      case '+':
        acc += rhs;
        break;
      case '-':
        acc -= rhs;
        break;
      case '|':
        acc |= rhs;
        break;
      case '<<':
        acc <<= rhs;
        break;
      case '*':
        acc *= rhs;
        break;
    }
  }
  return BigInt.asUintN(64, acc);
}

/** Parse a scenario file's text into scenarios. Throws ScenarioError naming file:line. */
export function parseScenarios(text: string, file: string, defaultName: string): Scenario[] {
  const scenarios: Scenario[] = [];
  let cur: Scenario | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const src = raw.replace(/#.*/, '').trim();
    if (src === '') return;
    const words = src.split(/\s+/);
    const fail = (msg: string): never => {
      throw new ScenarioError(file, line, `${msg}: '${src}'`);
    };
    if (words[0] === 'scenario') {
      if (words.length !== 2) fail('scenario takes one name');
      if (scenarios.some((s) => s.name === words[1])) fail('duplicate scenario name');
      cur = { name: words[1]!, file, steps: [] };
      scenarios.push(cur);
      return;
    }
    if (cur === null) {
      cur = { name: defaultName, file, steps: [] };
      scenarios.push(cur);
    }
    const action = parseStep(words, fail);
    (cur as Scenario).steps.push({ action, text: words.join(' '), file, line });
  });
  for (const s of scenarios) {
    if (s.steps.length > 0 && s.steps[0]!.action.kind !== 'vm') {
      throw new ScenarioError(file, s.steps[0]!.line, `scenario ${s.name} must start with 'vm'`);
    }
  }
  return scenarios;
}

function parseStep(words: string[], fail: (msg: string) => never): StepAction {
  const num = (w: string | undefined, what: string): bigint => {
    if (w === undefined) return fail(`missing ${what}`);
    const v = evalExpr(w);
    return v === null ? fail(`bad ${what} '${w}'`) : v;
  };
  const small = (w: string | undefined, what: string): number => Number(num(w, what) & 0xffffffffn);
  const arity = (min: number, max: number): void => {
    if (words.length - 1 < min || words.length - 1 > max) fail(`wrong number of arguments`);
  };
  const group = (w: string | undefined): { dev: 0 | 1; group: number } => {
    if (w === undefined) return fail('missing group');
    const its = w.startsWith('its:');
    const name = its ? w.slice(4) : w;
    const g = GROUPS[name] ?? (evalExpr(name) === null ? undefined : Number(evalExpr(name)));
    if (g === undefined) return fail(`unknown group '${w}'`);
    return { dev: its ? 1 : 0, group: g };
  };
  const [op] = words;
  switch (op) {
    case 'vm':
      arity(0, 1);
      return { kind: 'vm', ipaBits: words[1] === undefined ? 0 : small(words[1], 'IPA bits') };
    case 'vcpu':
      arity(1, 1);
      return { kind: 'vcpu', id: small(words[1], 'vCPU id') };
    case 'device': {
      arity(1, 2);
      const types: Record<string, number> = {
        v2: kvm.KVM_DEV_TYPE_ARM_VGIC_V2,
        v3: kvm.KVM_DEV_TYPE_ARM_VGIC_V3,
        its: kvm.KVM_DEV_TYPE_ARM_VGIC_ITS,
      };
      const type = types[words[1]!] ?? small(words[1], 'device type');
      if (words[2] !== undefined && words[2] !== 'test') fail(`expected 'test'`);
      return { kind: 'device', type, test: words[2] === 'test' };
    }
    case 'set':
    case 'get':
      arity(2, 3);
      return { kind: op, ...group(words[1]), attr: num(words[2], 'attribute'), value: words[3] === undefined ? 0n : num(words[3], 'value') };
    case 'setnull':
    case 'has':
      arity(2, 2);
      return { kind: op, ...group(words[1]), attr: num(words[2], 'attribute') };
    case 'init':
      arity(0, 0);
      return { kind: 'set', dev: 0, group: kvm.KVM_DEV_ARM_VGIC_GRP_CTRL, attr: BigInt(kvm.KVM_DEV_ARM_VGIC_CTRL_INIT), value: 0n };
    case 'irq_line': {
      const type = words[1];
      let irq: number;
      let level: string | undefined;
      if (type === 'spi') {
        arity(3, 3);
        irq = (kvm.KVM_ARM_IRQ_TYPE_SPI << kvm.KVM_ARM_IRQ_TYPE_SHIFT) | (small(words[2], 'INTID') & 0xffff);
        level = words[3];
      } else if (type === 'ppi') {
        arity(4, 4);
        const vcpu = small(words[2], 'vCPU');
        irq = (kvm.KVM_ARM_IRQ_TYPE_PPI << kvm.KVM_ARM_IRQ_TYPE_SHIFT) | ((vcpu & 0xff) << kvm.KVM_ARM_IRQ_VCPU_SHIFT) |
          (((vcpu >>> 8) & 0xf) << kvm.KVM_ARM_IRQ_VCPU2_SHIFT) | (small(words[3], 'INTID') & 0xffff);
        level = words[4];
      } else if (type === 'raw') {
        arity(3, 3);
        irq = small(words[2], 'irq word');
        level = words[3];
      } else {
        return fail(`irq_line takes spi, ppi or raw`);
      }
      return { kind: 'irq_line', irq: irq >>> 0, level: small(level, 'level') };
    }
    case 'run':
      arity(1, 1);
      return { kind: 'run', vcpu: small(words[1], 'vCPU id') };
  }
  const m = /^v(\d+)$/.exec(op ?? '');
  if (!m) return fail('unknown step');
  const vcpu = Number(m[1]);
  const gop = words[1] as GuestOp;
  if (!GUEST_OPS.includes(gop)) return fail(`unknown guest access '${words[1]}'`);
  const base = { kind: 'guest' as const, vcpu, op: gop, sysreg: 0, addr: 0n, value: 0n };
  switch (gop) {
    case 'r8':
    case 'r16':
    case 'r32':
    case 'r64':
      arity(2, 2);
      return { ...base, addr: num(words[2], 'address') };
    case 'w8':
    case 'w16':
    case 'w32':
    case 'w64':
      arity(3, 3);
      return { ...base, addr: num(words[2], 'address'), value: num(words[3], 'value') };
    case 'mrs':
    case 'msr': {
      arity(gop === 'mrs' ? 2 : 3, gop === 'mrs' ? 2 : 3);
      const r = guestSysreg(words[2] ?? '');
      if (!r) return fail(`unknown system register '${words[2]}' (see native/sysregs.def)`);
      return { ...base, sysreg: r.index, value: gop === 'msr' ? num(words[3], 'value') : 0n };
    }
    case 'unmask':
    case 'wfi':
      arity(1, 1);
      return base;
  }
}
