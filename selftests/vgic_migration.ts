// Migration compatibility of guest-visible vGIC state across host-kernel profiles (our own
// scenario; no kernel selftest of this name). For every pair (source profile A, destination
// profile B) of lib/vgic/profiles.ts, a 2-vCPU guest configures groups, priorities, enables,
// pending and active state, trigger mode, routing and its CPU interfaces through MMIO and
// system registers (guests/vgic_state_workload.ts) and records what it reads back; the host
// saves the vGIC with a VMM's sequence (lib/snapshot/vmm), writes and re-reads the YAML snapshot,
// restores it into a fresh VM built the way that VMM builds it on profile B, and a guest on B
// names every register that no longer reads what the source guest saw.
//
// Each table is checked cell by cell against EXPECTED tables written below from the KVM rules
// (reference vgic-kvm-semantics.md §3.3 and the profile switches) and the VMMs' code. Every VM
// sets its profile explicitly, so $VGIC_PROFILE does not change any verdict: the header line
// only reports it.

import { ROUTED_TO_VCPU, SPI, vgicStateWorkload } from '../guests/vgic_state_workload.ts';
import { PROFILES, printInfo, reportGuestAssert, selftest, testAssert, testFail } from '../lib/host/index.ts';
import type { GicModel, IidrPolicy, VgicSnapshot, VmmStyle } from '../lib/snapshot/schema.ts';
import { WorkloadError, restoreInto, saveSource } from '../lib/snapshot/workload.ts';
import { parseSnapshotYaml, stringifySnapshot } from '../lib/snapshot/yaml-io.ts';

/** Columns and rows of the era tables, in the order of lib/vgic/profiles.ts (checked below). */
const P = ['pre-groups', 'v2-groups-flag', 'iidr-noop', 'iidr-fix', 'series-p1', 'series-p3'] as const;
/**
 * The profiles named after real kernels (measured by `vgic-harness conformance`): their own
 * tables, rows = source kernel, columns = destination kernel plus series-p3 (upgrading a real
 * kernel to the patched one), so "upgrade from 6.1.164 to 6.12.117" is a cell.
 */
const REAL = ['linux-6.1.164', 'linux-6.12.43', 'linux-6.12.117', 'linux-7.2.13'] as const;
const REAL_COLS = [...REAL, 'series-p3'] as const;
type Profile = (typeof P)[number] | (typeof REAL)[number];
const NR_VCPUS = 2;

// --- the rules each expected cell is made of ---------------------------------------------------

/** What a table needs to turn rule letters into register names. */
interface Ctx {
  readonly model: GicModel;
  readonly nrIrqs: number;
  /** Every probe of the workload, in the order the guests read them. */
  readonly probes: readonly string[];
}

const isGroupProbe = (n: string): boolean => /^(GICD|GICR)_IGROUPR/.test(n);

interface Rule {
  readonly means: string;
  readonly lost?: (c: Ctx) => string[];
  readonly fails?: { readonly step: string; readonly detail: string };
}

const RULES: Readonly<Record<string, Rule>> = {
  // Nothing the source guest observed changed.
  '.': { means: 'preserved' },
  // §3.3: the destination ignores userspace IGROUPR writes -- pre-groups: IGROUPR read-only
  // (groupsConfigurable off); GICv2 on v2-groups-flag .. series-p1: vgic_mmio_uaccess_write_v2_group
  // is gated by v2_groups_user_writable, which only a userspace GICD_IIDR write sets. Every group
  // word the guest changed comes back at its reset value (v2: 0, v3: all ones).
  G: { means: 'IGROUPR the guest changed, dropped by the destination', lost: (c) => c.probes.filter(isGroupProbe) },
  // QEMU kvm_arm_gicv3_get/put address IRQ i's router at GICD_IROUTER + 4*i (sizeof(uint32_t))
  // instead of + 8*i: KVM's IROUTER is 64 bits per INTID (vgic_mmio_read/write_irouter with
  // VGIC_ADDR_TO_INTID(addr, 64)), so only routers 32..nr_irqs/2 are saved and restored; a
  // higher SPI routed away from vCPU 0 comes back routed to affinity 0.
  R: {
    means: 'GICD_IROUTER<n> above nr_irqs/2, which QEMU never reads nor writes',
    lost: (c) => (c.model === 'v3' ? SPI.routed.filter((i) => i < c.nrIrqs && i > c.nrIrqs / 2).map((i) => `GICD_IROUTER${i}`) : []),
  },
  // §3.3 IIDR write rules: v2-groups-flag ('exact') wants the current value (revision 2), iidr-fix
  // accepts revisions 2-3 only; a saved revision they refuse is EINVAL and QEMU aborts.
  E: { means: 'the destination refuses the saved revision; QEMU aborts', fails: { step: 'GICD_IIDR', detail: 'EINVAL' } },
  // Firecracker restores GICR_ICENABLER0 with the saved readback (the enabled bits) and then
  // GICR_ISENABLER0: a bit the guest cleared is never cleared again, so an SGI the guest disabled
  // (SGIs reset enabled, GICR_ISENABLER0 = 0x0000ffff) comes back enabled.
  S: { means: 'an SGI the guest disabled, re-enabled by Firecracker', lost: () => [`GICR_ISENABLER0 (vCPU ${ROUTED_TO_VCPU})`] },
  // Firecracker GICv2 (gicv2/regs): banked INTID 0..31 words are not saved (SharedIrqReg starts at
  // IRQ_BASE 32): every banked word the guest changed is lost -- except vCPU 0's SGI-pending bit,
  // which returns through GICD_SPENDSGIR (saved for cpu 0), so its GICD_ISPENDR0 is lost only
  // because of PPI 23's latch; vCPU 1's ISPENDR0 and both CPENDSGIR0 hold reset values.
  B: {
    means: 'banked INTID 0..31 state Firecracker does not save',
    lost: () => [
      'GICD_ISENABLER0 (vCPU 0)', 'GICD_ISPENDR0 (vCPU 0)', 'GICD_IPRIORITYR0 (vCPU 0)', 'GICD_IPRIORITYR6 (vCPU 0)',
      'GICD_ISENABLER0 (vCPU 1)', 'GICD_ISACTIVER0 (vCPU 1)', 'GICD_IPRIORITYR0 (vCPU 1)', 'GICD_IPRIORITYR6 (vCPU 1)',
    ],
  },
  // ...and the banked group words, when the guest could change them (not on pre-groups).
  b: { means: 'banked IGROUPR0 Firecracker does not save', lost: () => ['GICD_IGROUPR0 (vCPU 0)', 'GICD_IGROUPR0 (vCPU 1)'] },
  // Firecracker GICv2 saves the shared IGROUPR words; like QEMU's they are dropped by a gated destination.
  g: { means: 'SPI IGROUPR dropped by the destination', lost: (c) => c.probes.filter((n) => isGroupProbe(n) && !n.includes('(vCPU')) },
  // Firecracker's GICv2 VGIC_DIST_REGS has no GICD_ITARGETSR: SPI targets reset.
  T: { means: 'GICD_ITARGETSR Firecracker does not save', lost: (c) => c.probes.filter((n) => n.startsWith('GICD_ITARGETSR')) },
  // Firecracker's GICv2 CPU-interface attr always names cpu 0: vCPU 1's GICC state is never saved.
  C: { means: "vCPU 1's CPU interface, which Firecracker reads and writes as cpu 0", lost: () => ['GICC_CTLR (vCPU 1)', 'GICC_PMR (vCPU 1)', 'GICC_BPR (vCPU 1)'] },
};

/** One row per source profile; each cell is a string of rule letters, destinations in column order. */
type Table = Readonly<Partial<Record<Profile, readonly string[]>>>;

// QEMU's GICv2 sequence, VMM writes no IIDR (QEMU as it is). The source guest on pre-groups
// cannot change groups (IGROUPR read-only), so nothing can be lost; everywhere else the guest's
// groups reach only series-p3, where patch 3 made userspace IGROUPR follow the revision (3).
const QEMU_V2_NONE: Table = {
  'pre-groups':     ['.', '.', '.', '.', '.', '.'],
  'v2-groups-flag': ['G', 'G', 'G', 'G', 'G', '.'],
  'iidr-noop':      ['G', 'G', 'G', 'G', 'G', '.'],
  'iidr-fix':       ['G', 'G', 'G', 'G', 'G', '.'],
  'series-p1':      ['G', 'G', 'G', 'G', 'G', '.'],
  'series-p3':      ['G', 'G', 'G', 'G', 'G', '.'],
};

// The VMM writes back the saved GICD_IIDR first. Saved revision = the source's default: 1 on
// pre-groups, 2 on v2-groups-flag, 3 elsewhere. pre-groups ignores the write (no uaccess handler,
// groups read-only); v2-groups-flag needs an exact match, iidr-fix a revision in 2..3, the series
// accepts 1..3; iidr-noop accepts anything and keeps 3. A successful write on a 'flag' kernel
// sets v2_groups_user_writable, so the groups are restored.
const QEMU_V2_KEEP: Table = {
  'pre-groups':     ['.', 'E', '.', 'E', '.', '.'],
  'v2-groups-flag': ['G', '.', '.', '.', '.', '.'],
  'iidr-noop':      ['G', 'E', '.', '.', '.', '.'],
  'iidr-fix':       ['G', 'E', '.', '.', '.', '.'],
  'series-p1':      ['G', 'E', '.', '.', '.', '.'],
  'series-p3':      ['G', 'E', '.', '.', '.', '.'],
};

// GICv3 userspace IGROUPR writes go through vgic_mmio_write_group (no flag); only pre-groups
// drops them. QEMU's IROUTER stride loses SPI 200's routing in every restored cell.
const QEMU_V3_NONE: Table = {
  'pre-groups':     ['R', 'R', 'R', 'R', 'R', 'R'],
  'v2-groups-flag': ['GR', 'R', 'R', 'R', 'R', 'R'],
  'iidr-noop':      ['GR', 'R', 'R', 'R', 'R', 'R'],
  'iidr-fix':       ['GR', 'R', 'R', 'R', 'R', 'R'],
  'series-p1':      ['GR', 'R', 'R', 'R', 'R', 'R'],
  'series-p3':      ['GR', 'R', 'R', 'R', 'R', 'R'],
};

// Same IIDR write rules as GICv2. A pre-groups snapshot (revision 1) on series-p1/p3 selects
// revision 1, where groups are read-only -- but they were never changed on pre-groups.
const QEMU_V3_KEEP: Table = {
  'pre-groups':     ['R', 'E', 'R', 'E', 'R', 'R'],
  'v2-groups-flag': ['GR', 'R', 'R', 'R', 'R', 'R'],
  'iidr-noop':      ['GR', 'E', 'R', 'R', 'R', 'R'],
  'iidr-fix':       ['GR', 'E', 'R', 'R', 'R', 'R'],
  'series-p1':      ['GR', 'E', 'R', 'R', 'R', 'R'],
  'series-p3':      ['GR', 'E', 'R', 'R', 'R', 'R'],
};

// Real kernels. All four default to revision 3 and gate GICv2 userspace IGROUPR behind an IIDR
// write (v2_groups_user_writable), so without one the groups are dropped everywhere but on
// series-p3; with the saved IIDR written back, every destination accepts revision 3 (6.1.164 and
// 6.12.43 take any revision and keep 3; 6.12.117 and 7.2.13 select 2 or 3) and sets the flag.
const REAL_V2_NONE: Table = {
  'linux-6.1.164':  ['G', 'G', 'G', 'G', '.'],
  'linux-6.12.43':  ['G', 'G', 'G', 'G', '.'],
  'linux-6.12.117': ['G', 'G', 'G', 'G', '.'],
  'linux-7.2.13':   ['G', 'G', 'G', 'G', '.'],
};
const REAL_V2_KEEP: Table = {
  'linux-6.1.164':  ['.', '.', '.', '.', '.'],
  'linux-6.12.43':  ['.', '.', '.', '.', '.'],
  'linux-6.12.117': ['.', '.', '.', '.', '.'],
  'linux-7.2.13':   ['.', '.', '.', '.', '.'],
};
// GICv3 groups are always restored; QEMU's IROUTER stride is the only loss, with or without IIDR
// (QEMU writes it after CTRL_INIT, so 6.1/6.12's pre-INIT EBUSY does not apply).
const REAL_V3: Table = {
  'linux-6.1.164':  ['R', 'R', 'R', 'R', 'R'],
  'linux-6.12.43':  ['R', 'R', 'R', 'R', 'R'],
  'linux-6.12.117': ['R', 'R', 'R', 'R', 'R'],
  'linux-7.2.13':   ['R', 'R', 'R', 'R', 'R'],
};

/** Firecracker, same profile on both sides (the diagonal; other cells are not run). */
type Diagonal = Readonly<Record<Profile, string>>;
// IROUTER stride 8 and Firecracker's NR_IRQS 128 (no SPI 200): routing survives; only S remains.
// With 'keep' the IIDR write is a same-profile write, accepted everywhere ('exact' matches).
const FIRECRACKER_V3_DIAGONAL: Diagonal = {
  'pre-groups': 'S', 'v2-groups-flag': 'S', 'iidr-noop': 'S', 'iidr-fix': 'S', 'series-p1': 'S', 'series-p3': 'S',
  'linux-6.1.164': 'S', 'linux-6.12.43': 'S', 'linux-6.12.117': 'S', 'linux-7.2.13': 'S',
};
// Same-profile GICv2: the shared IGROUPR words are dropped by the 'flag' kernels as with QEMU;
// on pre-groups the guest changed no group at all.
const FIRECRACKER_V2_DIAGONAL: Diagonal = {
  'pre-groups': 'BTC', 'v2-groups-flag': 'gbBTC', 'iidr-noop': 'gbBTC', 'iidr-fix': 'gbBTC', 'series-p1': 'gbBTC', 'series-p3': 'bBTC',
  'linux-6.1.164': 'gbBTC', 'linux-6.12.43': 'gbBTC', 'linux-6.12.117': 'gbBTC', 'linux-7.2.13': 'gbBTC',
};

// --- running one migration ----------------------------------------------------------------------
// (the machinery lives in lib/snapshot/workload.ts, shared with `vgic-harness snapshot`)

type Outcome =
  | { readonly kind: 'preserved' }
  | { readonly kind: 'lost'; readonly regs: readonly string[] }
  | { readonly kind: 'failed'; readonly step: string; readonly detail: string };

/** A guest that failed is REPORT_GUEST_ASSERT; a vCPU that exited with another ucall is a test failure. */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof WorkloadError)) throw e;
    if (e.ucall) reportGuestAssert(e.ucall);
    testFail('%s', e.message);
  }
}

interface Source {
  readonly observed: Readonly<Record<string, string>>;
  readonly snapshot: VgicSnapshot;
}

/** Run the workload on profile A, save with the VMM's sequence, round-trip the YAML file format. */
function runSource(vmm: VmmStyle, model: GicModel, profile: Profile, policy: IidrPolicy): Source {
  const { observed, saved } = guarded(() => saveSource({ vmm, model, profile, nrVcpus: NR_VCPUS, workload: 'state' }, policy));
  if (!saved.ok) testFail('save on %s failed: %s', profile, saved.failure.message);
  return { observed, snapshot: parseSnapshotYaml(stringifySnapshot(saved.snapshot)) };
}

/** Restore into a fresh VM on profile B (built as the snapshot's VMM builds one) and let its guest name what changed. */
function runDestination(profile: Profile, src: Source): Outcome {
  const d = guarded(() => restoreInto(src.snapshot, profile, 'state', src.observed));
  try {
    const r = d.restore;
    if (!r.ok) {
      if (r.failure.reaction === 'refused') testFail('snapshot refused on %s: %s', profile, r.failure.message);
      return { kind: 'failed', step: r.failure.step, detail: r.failure.detail };
    }
    const lost = d.lost ?? [];
    return lost.length ? { kind: 'lost', regs: [...lost] } : { kind: 'preserved' };
  } finally {
    d.machine.dispose();
  }
}

// --- expected cells, comparison and the printed table -------------------------------------------

function expectedOutcome(code: string, ctx: Ctx): Outcome {
  const lost = new Set<string>();
  for (const letter of code) {
    const rule = RULES[letter];
    if (!rule) throw new Error(`unknown rule letter '${letter}'`);
    if (rule.fails) return { kind: 'failed', ...rule.fails };
    for (const n of rule.lost?.(ctx) ?? []) lost.add(n);
  }
  return lost.size ? { kind: 'lost', regs: [...lost] } : { kind: 'preserved' };
}

/** Canonical text of an outcome, registers in probe order. */
function describe(o: Outcome, ctx: Ctx): string {
  if (o.kind === 'preserved') return 'preserved';
  if (o.kind === 'failed') return `restore failed at ${o.step}: ${o.detail}`;
  const order = (n: string): number => {
    const i = ctx.probes.indexOf(n);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return `lost ${[...o.regs].sort((a, b) => order(a) - order(b) || a.localeCompare(b)).join(', ')}`;
}

interface Cell {
  readonly src: Profile;
  readonly dst: Profile;
  readonly expected: string;
  readonly actual: string;
  /** The rule letters whose outcome equals the actual one, if any. */
  readonly code: string;
}

/** Print the table (cells labelled by rule letters when they match a rule, else by number) and a legend. */
function printTable(title: string, cells: readonly Cell[], columns: readonly Profile[], rows: readonly Profile[] = P): void {
  const labels = new Map<string, string>();
  let unknown = 0;
  for (const c of cells) if (!labels.has(c.actual)) labels.set(c.actual, c.code || `?${++unknown}`);
  const w = Math.max(...columns.map((p) => p.length)) + 2;
  const head = 'source \\ destination'.length + 2;
  const line = (first: string, cols: readonly string[]): void => printInfo('%s', `${first.padEnd(head)}${cols.map((c) => c.padEnd(w)).join('')}`.trimEnd());
  const label = (c: Cell | undefined): string => (c ? labels.get(c.actual)! : '');
  printInfo('%s', title);
  line('source \\ destination', columns);
  if (cells.every((c) => c.src === c.dst)) {
    line('(same profile)', columns.map((p) => label(cells.find((c) => c.src === p))));
  } else {
    for (const src of rows) line(src, columns.map((dst) => label(cells.find((x) => x.src === src && x.dst === dst))));
  }
  for (const [text, l] of labels) {
    const why = [...l].map((letter) => RULES[letter]?.means).filter((m) => m && m !== 'preserved');
    printInfo('  %s = %s%s', l, text, why.length ? ` [${why.join('; ')}]` : '');
  }
}

/** Compare every cell; one failure lists every mismatching cell with its coordinates. */
function verdict(title: string, cells: readonly Cell[]): void {
  const bad = cells.filter((c) => c.expected !== c.actual);
  const detail = bad.map((c) => `  [source ${c.src} -> destination ${c.dst}] expected: ${c.expected}; actual: ${c.actual}`).join('\n');
  const everyCellAsExpected = bad.length === 0;
  testAssert(everyCellAsExpected, '%s: %d of %d cells differ from EXPECTED\n%s', title, bad.length, cells.length, detail);
}

function contextFor(model: GicModel, nrIrqs: number): Ctx {
  return { model, nrIrqs, probes: vgicStateWorkload(model, nrIrqs, NR_VCPUS).flatMap((w) => w.probes.map((p) => p.name)) };
}

function cellOf(src: Profile, dst: Profile, code: string, actual: Outcome, ctx: Ctx): Cell {
  const expected = describe(expectedOutcome(code, ctx), ctx);
  const text = describe(actual, ctx);
  // Label the actual outcome with the expected letters when they agree, so the table reads as rules.
  return { src, dst, expected, actual: text, code: text === expected ? code : '' };
}

const MODEL_NAME: Readonly<Record<GicModel, string>> = { v2: 'GICv2', v3: 'GICv3' };
const VMM_NAME: Readonly<Record<VmmStyle, string>> = { qemu: 'QEMU', firecracker: 'Firecracker' };
const POLICY_TEXT: Readonly<Record<IidrPolicy, string>> = {
  none: 'none (the VMM never writes GICD_IIDR)',
  keep: 'keep (the VMM writes the saved GICD_IIDR back first)',
  rev1: 'rev1',
  rev2: 'rev2',
  rev3: 'rev3',
};

/** Every source profile (rows) against every destination profile (columns). */
function fullMatrix(vmm: VmmStyle, model: GicModel, policy: IidrPolicy, table: Table, rows: readonly Profile[] = P, cols: readonly Profile[] = P): void {
  const kind = rows === P ? '' : 'real kernels, ';
  const title = `${MODEL_NAME[model]}, ${kind}${VMM_NAME[vmm]} sequence, IIDR policy ${POLICY_TEXT[policy]}`;
  const cells: Cell[] = [];
  for (const src of rows) {
    const s = runSource(vmm, model, src, policy);
    const ctx = contextFor(model, s.snapshot.nrIrqs);
    cols.forEach((dst, i) => cells.push(cellOf(src, dst, table[src]![i]!, runDestination(dst, s), ctx)));
  }
  printTable(title, cells, cols, rows);
  verdict(title, cells);
}

/** Same profile on both sides, for each policy. */
function diagonal(vmm: VmmStyle, model: GicModel, policies: readonly IidrPolicy[], table: Diagonal): void {
  for (const policy of policies) {
    const title = `${MODEL_NAME[model]}, ${VMM_NAME[vmm]} sequence, same profile, IIDR policy ${POLICY_TEXT[policy]}`;
    const cells: Cell[] = [];
    for (const p of [...P, ...REAL]) {
      const s = runSource(vmm, model, p, policy);
      cells.push(cellOf(p, p, table[p], runDestination(p, s), contextFor(model, s.snapshot.nrIrqs)));
    }
    printTable(title, cells, [...P, ...REAL]);
    verdict(title, cells);
  }
}

function profilesAreTheColumns(): void {
  const names = PROFILES.map((p) => p.name).join(', ');
  const all = [...P, ...REAL].join(', ');
  if (names !== all) testFail('lib/vgic/profiles.ts lists [%s]; the EXPECTED tables are written for [%s]', names, all);
}

selftest('vgic_migration', [
  ['GICv2, QEMU sequence, VMM writes no IIDR', () => (profilesAreTheColumns(), fullMatrix('qemu', 'v2', 'none', QEMU_V2_NONE))],
  ['GICv2, QEMU sequence, VMM writes the saved IIDR', () => fullMatrix('qemu', 'v2', 'keep', QEMU_V2_KEEP)],
  ['GICv3, QEMU sequence, VMM writes no IIDR', () => fullMatrix('qemu', 'v3', 'none', QEMU_V3_NONE)],
  ['GICv3, QEMU sequence, VMM writes the saved IIDR', () => fullMatrix('qemu', 'v3', 'keep', QEMU_V3_KEEP)],
  ['GICv2, real kernels, QEMU sequence, VMM writes no IIDR', () => fullMatrix('qemu', 'v2', 'none', REAL_V2_NONE, REAL, REAL_COLS)],
  ['GICv2, real kernels, QEMU sequence, VMM writes the saved IIDR', () => fullMatrix('qemu', 'v2', 'keep', REAL_V2_KEEP, REAL, REAL_COLS)],
  ['GICv3, real kernels, QEMU sequence, VMM writes no IIDR', () => fullMatrix('qemu', 'v3', 'none', REAL_V3, REAL, REAL_COLS)],
  ['GICv3, real kernels, QEMU sequence, VMM writes the saved IIDR', () => fullMatrix('qemu', 'v3', 'keep', REAL_V3, REAL, REAL_COLS)],
  ['GICv3, Firecracker sequence, same profile', () => diagonal('firecracker', 'v3', ['none', 'keep'], FIRECRACKER_V3_DIAGONAL)],
  ['GICv2, Firecracker sequence, same profile', () => diagonal('firecracker', 'v2', ['none'], FIRECRACKER_V2_DIAGONAL)],
]);
