// Scenarios generated from the model's register tables (lib/vgic/mmio-v3.ts, mmio-v2.ts): for
// every 32-bit word of every row, the userspace and guest views of the reset value, a guest
// write then both reads, a userspace write then both reads, plus 8- and 64-bit accesses where the
// row allows them. The table only says *where* to look; expected values come from real KVM.
import { VGIC_ACCESS_64bit, VGIC_ACCESS_8bit, type RegisterRow } from '../vgic/mmio.ts';
import { V2_CPU_ROWS, V2_DIST_ROWS } from '../vgic/mmio-v2.ts';
import { V3_DIST_ROWS, V3_RD_ROWS } from '../vgic/mmio-v3.ts';
import { type Scenario, parseScenarios } from './language.ts';

/** nr_irqs of generated VMs: 3 SPI words, enough to see per-IRQ rows end. */
export const GEN_NR_IRQS = 128;
export const V2_DIST_BASE = 0x8000000;
export const V2_CPU_BASE = 0x8010000;
const GICD_V3 = 0x8020000;
const GICR_V3 = 0x8030000;
const GICR_STRIDE = 0x20000;

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** The prologue every generated scenario starts with: two vCPUs, an initialised vGIC, running. */
export function prologue(gic: 2 | 3, nrIrqs = GEN_NR_IRQS): string[] {
  const common = ['vm', 'vcpu 0', 'vcpu 1'];
  if (gic === 3) {
    return [
      ...common,
      'device v3',
      `set nr_irqs 0 ${nrIrqs}`,
      'set addr KVM_VGIC_V3_ADDR_TYPE_DIST GICD_BASE_GPA',
      'set addr KVM_VGIC_V3_ADDR_TYPE_REDIST GICR_BASE_GPA',
      'init',
      'run 0',
      'run 1',
    ];
  }
  return [
    ...common,
    'device v2',
    `set nr_irqs 0 ${nrIrqs}`,
    `set addr KVM_VGIC_V2_ADDR_TYPE_DIST ${hex(V2_DIST_BASE)}`,
    `set addr KVM_VGIC_V2_ADDR_TYPE_CPU ${hex(V2_CPU_BASE)}`,
    'init',
    'run 0',
    'run 1',
  ];
}

/** A deterministic mixed write pattern per offset (never all-zero or all-one). */
function pattern(offset: number): number {
  let x = (offset * 0x9e3779b1) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x85ebca77) >>> 0;
  x ^= x >>> 13;
  return ((x | 0x01010101) & 0xfefefefe) >>> 0 || 0x5a5a5a5a;
}

/** 32-bit words of a row to cover: all of them, up to what nr_irqs allocates (plus one beyond). */
function rowWords(row: RegisterRow, nrIrqs: number): number[] {
  const words: number[] = [];
  let end = row.offset + row.len;
  if (row.bitsPerIrq) {
    // One word past the last allocated INTID shows the "beyond nr_irqs" RAZ/WI behaviour.
    const rowStartIntid = ((row.offset % ((row.bitsPerIrq * 1024) / 8)) * 8) / row.bitsPerIrq;
    const irqsPerWord = 32 / row.bitsPerIrq;
    const covered = Math.max(0, nrIrqs - rowStartIntid) + irqsPerWord;
    end = Math.min(end, row.offset + Math.ceil(covered / irqsPerWord) * 4);
  }
  for (let o = row.offset; o < end; o += 4) words.push(o);
  // The private part of a shared GICv3 row is one RAZ/WI handler: a few words show it.
  if (row.name.includes('private')) return [...new Set([words[0]!, words[1] ?? words[0]!, words[words.length - 1]!])];
  if (row.bitsPerIrq === 64) {
    // IROUTER: 2 words per IRQ; keep the first SPIs and the last ones.
    return words.filter((o) => {
      const intid = (o - 0x6000) >> 3;
      return intid < 36 || intid >= nrIrqs - 2;
    });
  }
  return words;
}

interface Frame {
  gic: 2 | 3;
  group: 'dist' | 'redist' | 'cpu';
  /** Attribute for an offset (with the vCPU selector in the upper word where the group has one). */
  attr(offset: number): string;
  /** Guest address of an offset, or null when the guest cannot see this frame. */
  guestAddr(offset: number): number | null;
  /** The vCPU whose guest accesses the frame. */
  guestVcpu: number;
}

function wordSteps(f: Frame, row: RegisterRow, o: number): string[] {
  const a = f.attr(o);
  const out = [`has ${f.group} ${a}`, `get ${f.group} ${a}`];
  const g = f.guestAddr(o);
  const v = `v${f.guestVcpu}`;
  if (g !== null) {
    out.push(`${v} r32 ${hex(g)}`, `${v} w32 ${hex(g)} 0xffffffff`, `${v} r32 ${hex(g)}`, `get ${f.group} ${a}`);
  }
  out.push(`set ${f.group} ${a} ${hex(pattern(o))}`, `get ${f.group} ${a}`);
  if (g !== null) {
    out.push(`${v} r32 ${hex(g)}`);
    if (row.access & VGIC_ACCESS_8bit) out.push(`${v} r8 ${hex(g + 1)}`, `${v} w8 ${hex(g + 3)} 0xa0`, `${v} r32 ${hex(g)}`);
    if (row.access & VGIC_ACCESS_64bit && o % 8 === 0) out.push(`${v} r64 ${hex(g)}`);
    // Widths the row does not allow are RAZ/WI (check_region): one probe per word.
    if (!(row.access & VGIC_ACCESS_8bit)) out.push(`${v} r8 ${hex(g)}`);
    out.push(`${v} r16 ${hex(g)}`);
  }
  return out;
}

function rowScenario(f: Frame, row: RegisterRow, name: string): string {
  const lines = [`scenario ${name}`, ...prologue(f.gic)];
  for (const o of rowWords(row, GEN_NR_IRQS)) lines.push(...wordSteps(f, row, o));
  return lines.join('\n');
}

function slug(s: string): string {
  return s.replace(/\(.*?\)/g, '').trim().replace(/[^A-Za-z0-9]+/g, '_').replace(/_+$/, '');
}

/** Offsets that belong to no row: reserved space reads as zero, and has_attr says ENXIO. */
function holes(rows: readonly RegisterRow[], frameSize: number, limit: number): number[] {
  const taken = (o: number): boolean => rows.some((r) => o >= r.offset && o < r.offset + r.len);
  const out: number[] = [];
  for (let o = 0; o < frameSize && out.length < limit; o += 4) {
    if (!taken(o) && (o < 0x100 || o % 0x400 === 0x3c0 || o >= frameSize - 0x40)) out.push(o);
  }
  return out;
}

function holeScenario(f: Frame, rows: readonly RegisterRow[], frameSize: number, name: string): string {
  const lines = [`scenario ${name}`, ...prologue(f.gic)];
  for (const o of holes(rows, frameSize, 24)) {
    lines.push(`has ${f.group} ${f.attr(o)}`, `get ${f.group} ${f.attr(o)}`);
    const g = f.guestAddr(o);
    if (g !== null) lines.push(`v${f.guestVcpu} r32 ${hex(g)}`, `v${f.guestVcpu} w32 ${hex(g)} 0xffffffff`, `v${f.guestVcpu} r32 ${hex(g)}`);
  }
  return lines.join('\n');
}

/** The generated scenario text for one GIC version (also what `conformance --dump` prints). */
export function generatedText(gic: 2 | 3): string {
  const parts: string[] = [];
  if (gic === 3) {
    const dist: Frame = { gic, group: 'dist', attr: hex, guestAddr: (o) => GICD_V3 + o, guestVcpu: 0 };
    // vCPU 1's redistributor, named by its MPIDR (Aff0 = 1), read by vCPU 0's guest.
    const rd: Frame = { gic, group: 'redist', attr: (o) => `1<<32|${hex(o)}`, guestAddr: (o) => GICR_V3 + GICR_STRIDE + o, guestVcpu: 0 };
    for (const r of V3_DIST_ROWS) parts.push(rowScenario(dist, r, `gen-v3-dist-${slug(r.name)}${r.name.includes('private') ? '-private' : ''}`));
    for (const r of V3_RD_ROWS) parts.push(rowScenario(rd, r, `gen-v3-redist-${slug(r.name)}`));
    parts.push(holeScenario(dist, V3_DIST_ROWS, 0x10000, 'gen-v3-dist-reserved'));
    parts.push(holeScenario(rd, V3_RD_ROWS, 0x20000, 'gen-v3-redist-reserved'));
  } else {
    // vCPU 1's banked view (cpuid 1 in the attribute), read by vCPU 1's guest.
    const dist: Frame = { gic, group: 'dist', attr: (o) => `1<<32|${hex(o)}`, guestAddr: (o) => V2_DIST_BASE + o, guestVcpu: 1 };
    const cpu: Frame = { gic, group: 'cpu', attr: (o) => `1<<32|${hex(o)}`, guestAddr: () => null, guestVcpu: 1 };
    for (const r of V2_DIST_ROWS) parts.push(rowScenario(dist, r, `gen-v2-dist-${slug(r.name)}`));
    for (const r of V2_CPU_ROWS) parts.push(rowScenario(cpu, r, `gen-v2-cpu-${slug(r.name)}`));
    parts.push(holeScenario(dist, V2_DIST_ROWS, 0x1000, 'gen-v2-dist-reserved'));
  }
  return `${parts.join('\n\n')}\n`;
}

export function generatedScenarios(gic: 2 | 3): Scenario[] {
  return parseScenarios(generatedText(gic), `generated:v${gic}`, `generated-v${gic}`);
}
