// A guest that configures interrupt state through MMIO and system registers like a GIC driver
// would (groups, priorities, enables, pending, active, trigger, routing, CPU interface), then
// records what it reads back; and a guest that, after a migration, reads the same registers and
// names every one that no longer holds what the source guest saw.
//
// The workload is data (`vgicStateWorkload`): per vCPU, the accesses it makes and the registers
// it probes, each probe named in GIC terms ("GICD_IGROUPR1", "GICR_IGROUPR0 (vCPU 1)"), so a
// test can say which registers a rule affects without running anything.
//
// Host side: set `layoutGlobals.vgic_layout` (syncGlobalToGuest), run every vCPU to its
// GUEST_SYNC("configured"), then every vCPU to GUEST_DONE; sync `vgic_observed` back. For the
// check: sync `vgic_layout` and `vgic_observed` into the destination, run every vCPU to
// GUEST_DONE, sync `vgic_lost` back.

import type { Guest, GuestProgram, GuestReply, GuestRequest } from '../lib/guest/index.ts';
import { type Action, type Frame, type GicLayout, type GicModel, type Probe, act, layoutGlobals, probe, readNrIrqs } from './vgic_actions.ts';
import {
  GICC_BPR,
  GICC_CTLR,
  GICC_PMR,
  GICD_CPENDSGIR,
  GICD_CTLR,
  GICD_ICENABLER,
  GICD_ICFGR,
  GICD_IGROUPR,
  GICD_IPRIORITYR,
  GICD_IROUTER,
  GICD_ISACTIVER,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GICD_ITARGETSR,
  GICD_SGIR,
  ICC_BPR1_EL1,
  ICC_CTLR_EL1,
  ICC_IGRPEN1_EL1,
  ICC_PMR_EL1,
  ICC_SGI1R_EL1,
} from '../lib/guest/index.ts';
import { guestGlobals } from '../lib/host/index.ts';

export type { Action, Frame, GicLayout, GicModel, Probe } from './vgic_actions.ts';

export interface VcpuWorkload {
  readonly configure: readonly Action[];
  readonly probes: readonly Probe[];
}

/** The workloads the guests below can run: the migration matrix's, or the README's groups example. */
export type WorkloadName = 'state' | 'groups';

export const workloadGlobals = guestGlobals({
  /** Probe name -> value the source guest read ("0x..."). */
  vgic_observed: {} as Readonly<Record<string, string>>,
  /** Probe names whose value differs on the destination. */
  vgic_lost: [] as readonly string[],
  /** Probe name -> value the destination guest read (every probe). */
  vgic_now: {} as Readonly<Record<string, string>>,
  /** Which workload the guests run (default: the migration matrix's). */
  vgic_workload: 'state' as WorkloadName,
});

// --- the workload ---------------------------------------------------------------------------------

const bit = (intid: number): number => (1 << (intid % 32)) >>> 0;
const word = (intid: number): number => Math.floor(intid / 32) * 4;
/** Offset of the ICFGR word of `intid` and its edge bit. */
const cfgWord = (intid: number): number => Math.floor(intid / 16) * 4;
const cfgEdge = (intid: number): number => (1 << ((intid % 16) * 2 + 1)) >>> 0;

/** SPIs the workload uses, by role. Routing targets vCPU 1; 200 exists only with more than 200 IRQs. */
export const SPI = {
  levelPending: 33, // level-triggered, pending latch set by the guest, priority 0x80
  group: [34, 35, 100], // group flipped from the reset value
  routed: [40, 100, 200], // routed to vCPU 1 (IROUTER aff 0.0.0.1 / ITARGETSR 0x02)
  edgePending: 45,
  active: 47,
  level: 64, // level-triggered
} as const;
export const PPI = { group: 20, pending: 23, active: 25, enabled: 27 } as const;
export const SGI = { group: 1, sent: 3, disabled: 5 } as const;
export const ROUTED_TO_VCPU = 1;

/** The IRQ-bitmap/byte registers a probe reads: the word holding `intid`. */
function distProbe(base: string, offset: number, intid: number, bitsPerIrq: 1 | 2 | 8): Probe {
  const idx = Math.floor((intid * bitsPerIrq) / 32);
  return { name: `${base}${idx}`, frame: 'dist', offset: offset + idx * 4, width: 4 };
}

/**
 * What each vCPU does and probes, for a 2-vCPU VM with `nrIrqs` interrupts. vCPU 0 programs the
 * distributor; every vCPU programs its own private interrupts and CPU interface.
 */
export function vgicStateWorkload(model: GicModel, nrIrqs: number, nrVcpus = 2): VcpuWorkload[] {
  const spis = (list: readonly number[]): number[] => list.filter((i) => i < nrIrqs);
  const v3 = model === 'v3';
  // Private registers: the SGI frame on v3, the banked distributor words on v2.
  const priv: Frame = v3 ? 'sgi' : 'dist';
  const privName = (gicr: string, gicd: string, vcpu: number): string => `${v3 ? gicr : gicd} (vCPU ${vcpu})`;

  const out: VcpuWorkload[] = [];
  for (let vcpu = 0; vcpu < nrVcpus; vcpu++) {
    const configure: Action[] = [];
    const probes: Probe[] = [];
    if (vcpu === 0) {
      // Distributor: v3 reset groups are 1, v2 reset groups 0, so the guest flips them either way.
      for (const i of spis(SPI.group)) configure.push({ op: v3 ? 'clearBits' : 'setBits', frame: 'dist', offset: GICD_IGROUPR + word(i), bits: bit(i) });
      configure.push({ op: 'write', frame: 'dist', offset: GICD_IPRIORITYR + SPI.levelPending, width: 1, value: 0x80 });
      configure.push({ op: 'write', frame: 'dist', offset: GICD_IPRIORITYR + 40, width: 1, value: 0x40 });
      for (const i of spis([100])) configure.push({ op: 'write', frame: 'dist', offset: GICD_IPRIORITYR + i, width: 1, value: 0x20 });
      for (const i of spis([SPI.levelPending, SPI.level])) configure.push({ op: 'clearBits', frame: 'dist', offset: GICD_ICFGR + cfgWord(i), bits: cfgEdge(i) });
      for (const i of spis([SPI.levelPending, 40, SPI.edgePending, 100])) configure.push({ op: 'write', frame: 'dist', offset: GICD_ISENABLER + word(i), width: 4, value: bit(i) });
      for (const i of spis([SPI.edgePending, SPI.levelPending])) configure.push({ op: 'write', frame: 'dist', offset: GICD_ISPENDR + word(i), width: 4, value: bit(i) });
      configure.push({ op: 'write', frame: 'dist', offset: GICD_ISACTIVER + word(SPI.active), width: 4, value: bit(SPI.active) });
      for (const i of spis(SPI.routed)) {
        if (v3) configure.push({ op: 'write', frame: 'dist', offset: GICD_IROUTER + 8 * i, width: 8, value: BigInt(ROUTED_TO_VCPU) });
        else configure.push({ op: 'write', frame: 'dist', offset: GICD_ITARGETSR + i, width: 1, value: 1 << ROUTED_TO_VCPU });
      }
      // Enable the distributor last (v3: ARE_NS | EnableGrp1NS; v2: Enable).
      configure.push({ op: 'write', frame: 'dist', offset: GICD_CTLR, width: 4, value: v3 ? 0x12 : 0x1 });

      probes.push({ name: 'GICD_CTLR', frame: 'dist', offset: GICD_CTLR, width: 4 });
      const seen = new Set<string>();
      const add = (p: Probe): void => {
        if (!seen.has(p.name)) probes.push(p), seen.add(p.name);
      };
      for (const i of spis(SPI.group)) add(distProbe('GICD_IGROUPR', GICD_IGROUPR, i, 1));
      for (const i of spis([SPI.levelPending, 40, SPI.edgePending, 100])) add(distProbe('GICD_ISENABLER', GICD_ISENABLER, i, 1));
      add(distProbe('GICD_ISPENDR', GICD_ISPENDR, SPI.edgePending, 1));
      add(distProbe('GICD_ISACTIVER', GICD_ISACTIVER, SPI.active, 1));
      for (const i of spis([SPI.levelPending, SPI.level])) add(distProbe('GICD_ICFGR', GICD_ICFGR, i, 2));
      for (const i of spis([SPI.levelPending, 40, 100])) add(distProbe('GICD_IPRIORITYR', GICD_IPRIORITYR, i, 8));
      for (const i of spis(SPI.routed)) {
        if (v3) add({ name: `GICD_IROUTER${i}`, frame: 'dist', offset: GICD_IROUTER + 8 * i, width: 8 });
        else add(distProbe('GICD_ITARGETSR', GICD_ITARGETSR, i, 8));
      }
    }

    // Private interrupts of this vCPU.
    configure.push({ op: v3 ? 'clearBits' : 'setBits', frame: priv, offset: GICD_IGROUPR, bits: bit(PPI.group) | (vcpu === 1 ? bit(SGI.group) : 0) });
    configure.push({ op: 'write', frame: priv, offset: GICD_IPRIORITYR + SGI.sent, width: 1, value: 0x10 });
    configure.push({ op: 'write', frame: priv, offset: GICD_IPRIORITYR + PPI.enabled, width: 1, value: 0x90 });
    configure.push({ op: 'write', frame: priv, offset: GICD_ISENABLER, width: 4, value: bit(PPI.enabled) });
    if (vcpu === 1) configure.push({ op: 'write', frame: priv, offset: GICD_ICENABLER, width: 4, value: bit(SGI.disabled) });
    if (vcpu === 0) configure.push({ op: 'write', frame: priv, offset: GICD_ISPENDR, width: 4, value: bit(PPI.pending) });
    if (vcpu === 1) configure.push({ op: 'write', frame: priv, offset: GICD_ISACTIVER, width: 4, value: bit(PPI.active) });
    if (vcpu === 1) {
      // SGI 3 to vCPU 0: ICC_SGI1R_EL1 (INTID [27:24], TargetList bit 0) / GICD_SGIR (CPUTargetList bit 0).
      if (v3) configure.push({ op: 'sysreg', encoding: ICC_SGI1R_EL1, value: (BigInt(SGI.sent) << 24n) | 1n });
      else configure.push({ op: 'write', frame: 'dist', offset: GICD_SGIR, width: 4, value: (1 << 16) | SGI.sent });
    }
    // CPU interface: priority mask, group enable, binary point, EOI mode.
    const pmr = vcpu === 0 ? 0xf0 : 0xa0;
    if (v3) {
      configure.push({ op: 'sysreg', encoding: ICC_PMR_EL1, value: BigInt(pmr) });
      configure.push({ op: 'sysreg', encoding: ICC_IGRPEN1_EL1, value: 1n });
      if (vcpu === 1) configure.push({ op: 'sysreg', encoding: ICC_BPR1_EL1, value: 4n });
      if (vcpu === 1) configure.push({ op: 'sysreg', encoding: ICC_CTLR_EL1, value: 2n }); // EOImode
    } else {
      configure.push({ op: 'write', frame: 'cpu', offset: GICC_PMR, width: 4, value: pmr });
      configure.push({ op: 'write', frame: 'cpu', offset: GICC_CTLR, width: 4, value: 0x3 });
      if (vcpu === 1) configure.push({ op: 'write', frame: 'cpu', offset: GICC_BPR, width: 4, value: 3 });
    }

    const p = (gicr: string, gicd: string, offset: number): Probe => ({ name: privName(gicr, gicd, vcpu), frame: priv, offset, width: 4 });
    probes.push(
      p('GICR_IGROUPR0', 'GICD_IGROUPR0', GICD_IGROUPR),
      p('GICR_ISENABLER0', 'GICD_ISENABLER0', GICD_ISENABLER),
      p('GICR_ISPENDR0', 'GICD_ISPENDR0', GICD_ISPENDR),
      p('GICR_ISACTIVER0', 'GICD_ISACTIVER0', GICD_ISACTIVER),
      p('GICR_IPRIORITYR0', 'GICD_IPRIORITYR0', GICD_IPRIORITYR),
      p('GICR_IPRIORITYR6', 'GICD_IPRIORITYR6', GICD_IPRIORITYR + 24),
    );
    if (!v3) probes.push(p('', 'GICD_CPENDSGIR0', GICD_CPENDSGIR));
    const cpuName = (n: string): string => `${n} (vCPU ${vcpu})`;
    if (v3) {
      for (const [n, enc] of [['ICC_PMR_EL1', ICC_PMR_EL1], ['ICC_IGRPEN1_EL1', ICC_IGRPEN1_EL1], ['ICC_BPR1_EL1', ICC_BPR1_EL1], ['ICC_CTLR_EL1', ICC_CTLR_EL1]] as const) {
        probes.push({ name: cpuName(n), sysreg: enc });
      }
    } else {
      for (const [n, off] of [['GICC_CTLR', GICC_CTLR], ['GICC_PMR', GICC_PMR], ['GICC_BPR', GICC_BPR]] as const) {
        probes.push({ name: cpuName(n), frame: 'cpu', offset: off, width: 4 });
      }
    }
    out.push({ configure, probes });
  }
  return out;
}

/**
 * The README's example: vCPU 0 moves SPIs 34 and 35 to the other group (GICv2: group 1, from
 * reset 0; GICv3: group 0, from reset 1) and probes GICD_IGROUPR1; other vCPUs do nothing.
 */
export function groupsWorkload(model: GicModel, nrVcpus = 1): VcpuWorkload[] {
  const bits = (bit(34) | bit(35)) >>> 0;
  return Array.from({ length: nrVcpus }, (_, vcpu) =>
    vcpu === 0
      ? {
          configure: [{ op: model === 'v3' ? 'clearBits' : 'setBits', frame: 'dist', offset: GICD_IGROUPR + word(34), bits }],
          probes: [{ name: 'GICD_IGROUPR1', frame: 'dist', offset: GICD_IGROUPR + word(34), width: 4 }],
        }
      : { configure: [], probes: [] },
  );
}

/** A named workload, for `nrVcpus` vCPUs of a VM with `nrIrqs` interrupts. */
export function namedWorkload(name: WorkloadName, model: GicModel, nrIrqs: number, nrVcpus: number): VcpuWorkload[] {
  return name === 'groups' ? groupsWorkload(model, nrVcpus) : vgicStateWorkload(model, nrIrqs, nrVcpus);
}

// --- the guest programs ---------------------------------------------------------------------------

/** This vCPU's part of the workload, sized from GICD_TYPER as a driver would. */
function* myWorkload(g: Guest, layout: GicLayout): Generator<GuestRequest, VcpuWorkload | undefined, GuestReply> {
  const nrIrqs = yield* readNrIrqs(g, layout);
  return namedWorkload(g.readGlobal(workloadGlobals, 'vgic_workload'), layout.model, nrIrqs, g.vcpuId + 1)[g.vcpuId];
}

/** Source side: configure, GUEST_SYNC("configured"), record every probe, GUEST_DONE. */
export function* vgicStateWorkloadGuest(g: Guest): GuestProgram {
  const layout = g.readGlobal(layoutGlobals, 'vgic_layout');
  const w = yield* myWorkload(g, layout);
  if (!w) {
    yield* g.fail('no workload for vCPU %d', g.vcpuId);
    return;
  }
  for (const a of w.configure) yield* act(g, layout, a);
  yield* g.sync('configured');
  const seen: Record<string, string> = { ...g.readGlobal(workloadGlobals, 'vgic_observed') };
  for (const p of w.probes) seen[p.name] = yield* probe(g, layout, p);
  g.writeGlobal(workloadGlobals, 'vgic_observed', seen);
  yield* g.done();
}

/** Destination side: read every probe again and list those that differ from what the source saw. */
export function* vgicStateCheckGuest(g: Guest): GuestProgram {
  const layout = g.readGlobal(layoutGlobals, 'vgic_layout');
  const seen = g.readGlobal(workloadGlobals, 'vgic_observed');
  const w = yield* myWorkload(g, layout);
  if (!w) {
    yield* g.fail('no workload for vCPU %d', g.vcpuId);
    return;
  }
  const lost: string[] = [...g.readGlobal(workloadGlobals, 'vgic_lost')];
  const nowSeen: Record<string, string> = { ...g.readGlobal(workloadGlobals, 'vgic_now') };
  for (const p of w.probes) {
    const now = yield* probe(g, layout, p);
    if (seen[p.name] === undefined) yield* g.fail('%s was never observed on the source', p.name);
    if (now !== seen[p.name]) lost.push(p.name);
    nowSeen[p.name] = now;
  }
  g.writeGlobal(workloadGlobals, 'vgic_lost', lost);
  g.writeGlobal(workloadGlobals, 'vgic_now', nowSeen);
  yield* g.done();
}
