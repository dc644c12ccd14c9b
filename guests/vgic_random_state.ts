// Random guest-reachable vGIC state: per vCPU, a seeded list of the register writes (and
// side-effecting reads: acknowledges) a guest can make through MMIO and system registers,
// run by `vgicRandomStateGuest`. Nothing here is a userspace (device attribute) write.
//
// Host side: generate with `randomGuestActions(rand, model, nrIrqs, nrVcpus)`, set
// `randomStateGlobals.vgic_actions` and `layoutGlobals.vgic_layout`, sync both, run each vCPU
// to GUEST_DONE.

import type { Guest, GuestProgram } from '../lib/guest/index.ts';
import {
  GICC_ABPR,
  GICC_BPR,
  GICC_CTLR,
  GICC_PMR,
  GICD_CPENDSGIR,
  GICD_CTLR,
  GICD_ICACTIVER,
  GICD_ICENABLER,
  GICD_ICFGR,
  GICD_ICPENDR,
  GICD_IGROUPR,
  GICD_IPRIORITYR,
  GICD_IROUTER,
  GICD_ISACTIVER,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GICD_ITARGETSR,
  GICD_SGIR,
  GICD_SPENDSGIR,
  GIC_CPU_DEACTIVATE,
  GIC_CPU_EOI,
  GIC_CPU_INTACK,
  ICC_AP0R0_EL1,
  ICC_AP1R0_EL1,
  ICC_BPR0_EL1,
  ICC_BPR1_EL1,
  ICC_CTLR_EL1,
  ICC_DIR_EL1,
  ICC_EOIR1_EL1,
  ICC_IAR0_EL1,
  ICC_IAR1_EL1,
  ICC_IGRPEN0_EL1,
  ICC_IGRPEN1_EL1,
  ICC_PMR_EL1,
  ICC_SGI0R_EL1,
  ICC_SGI1R_EL1,
} from '../lib/guest/index.ts';
import { guestGlobals } from '../lib/host/index.ts';
import { type Action, type GicModel, act, layoutGlobals } from './vgic_actions.ts';

export const randomStateGlobals = guestGlobals({
  /** Actions per vCPU index. */
  vgic_actions: [] as readonly (readonly Action[])[],
});

/** Run this vCPU's actions, then GUEST_DONE. */
export function* vgicRandomStateGuest(g: Guest): GuestProgram {
  const layout = g.readGlobal(layoutGlobals, 'vgic_layout');
  for (const a of g.readGlobal(randomStateGlobals, 'vgic_actions')[g.vcpuId] ?? []) yield* act(g, layout, a);
  yield* g.done();
}

type Rand = () => number;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const u32 = (rand: Rand): number => (int(rand, 0x10000) | (int(rand, 0x10000) << 16)) >>> 0;
/** Sparse 32-bit mask: a few bits, as real drivers touch a few interrupts at a time. */
const bits = (rand: Rand): number => {
  let v = 0;
  for (let i = int(rand, 4) + 1; i > 0; i--) v |= 1 << int(rand, 32);
  return v >>> 0;
};
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[int(rand, xs.length)]!;

/** The per-IRQ set/clear registers a guest writes one word at a time. */
const BITMAPS = [GICD_IGROUPR, GICD_ISENABLER, GICD_ICENABLER, GICD_ISPENDR, GICD_ICPENDR, GICD_ISACTIVER, GICD_ICACTIVER] as const;

/** Packed affinity of vCPU id `i` (KVM's reset MPIDR: Aff0 = id[3:0], Aff1 = id[11:4]). */
const mpidrOf = (i: number): number => (i & 0xf) | (((i >>> 4) & 0xff) << 8);

function distAction(rand: Rand, model: GicModel, nrIrqs: number, nrVcpus: number): Action {
  const v3 = model === 'v3';
  // GICv3 private words in the distributor are RAZ/WI, so v3 aims at SPI words; v2 banks word 0.
  const spi = (): number => 32 + int(rand, nrIrqs - 32);
  const anyIrq = (): number => (v3 ? spi() : int(rand, nrIrqs));
  switch (int(rand, v3 ? 7 : 9)) {
    case 0: {
      const intid = anyIrq();
      return { op: 'write', frame: 'dist', offset: pick(rand, BITMAPS) + Math.floor(intid / 32) * 4, width: 4, value: bits(rand) };
    }
    case 1:
      return { op: 'write', frame: 'dist', offset: GICD_IPRIORITYR + anyIrq(), width: 1, value: int(rand, 256) };
    case 2:
      return { op: 'write', frame: 'dist', offset: GICD_IPRIORITYR + (anyIrq() & ~3), width: 4, value: u32(rand) };
    case 3:
      return { op: 'write', frame: 'dist', offset: GICD_ICFGR + Math.floor(anyIrq() / 16) * 4, width: 4, value: u32(rand) };
    case 4:
      return { op: 'write', frame: 'dist', offset: GICD_CTLR, width: 4, value: pick(rand, v3 ? [0, 0x12, 0x13, 0x2] : [0, 1]) };
    case 5:
      if (v3) {
        // A vCPU's affinity, an affinity no vCPU has, or one with IRM set (KVM drops IRM).
        const aff = pick(rand, [mpidrOf(int(rand, nrVcpus)), u32(rand) & 0xffffff, 0x80000000 | mpidrOf(int(rand, nrVcpus))]);
        return { op: 'write', frame: 'dist', offset: GICD_IROUTER + 8 * spi(), width: 8, value: BigInt(aff >>> 0) };
      }
      return { op: 'write', frame: 'dist', offset: GICD_ITARGETSR + anyIrq(), width: 1, value: int(rand, 256) };
    case 6:
      return { op: pick(rand, ['setBits', 'clearBits'] as const), frame: 'dist', offset: GICD_IGROUPR + Math.floor(anyIrq() / 32) * 4, bits: bits(rand) };
    case 7: // GICD_SGIR: SGIINTID, CPUTargetList, TargetListFilter 0..2
      return { op: 'write', frame: 'dist', offset: GICD_SGIR, width: 4, value: (int(rand, 3) << 24) | (int(rand, 1 << nrVcpus) << 16) | int(rand, 16) };
    default: // SGI sources: C/SPENDSGIR bytes
      return { op: 'write', frame: 'dist', offset: pick(rand, [GICD_SPENDSGIR, GICD_CPENDSGIR]) + int(rand, 4) * 4, width: 4, value: bits(rand) & ((1 << nrVcpus) - 1) * 0x01010101 };
  }
}

/** The running vCPU's SGI frame (v3) or CPU interface (v2). */
function privateAction(rand: Rand, model: GicModel, nrVcpus: number): Action {
  if (model === 'v3') {
    switch (int(rand, 4)) {
      case 0:
        return { op: 'write', frame: 'sgi', offset: pick(rand, BITMAPS), width: 4, value: bits(rand) };
      case 1:
        return { op: 'write', frame: 'sgi', offset: GICD_IPRIORITYR + int(rand, 32), width: 1, value: int(rand, 256) };
      case 2:
        return { op: 'write', frame: 'sgi', offset: GICD_ICFGR + 4 * int(rand, 2), width: 4, value: u32(rand) }; // read-only
      default:
        return { op: pick(rand, ['setBits', 'clearBits'] as const), frame: 'sgi', offset: GICD_IGROUPR, bits: bits(rand) };
    }
  }
  switch (int(rand, 6)) {
    case 0:
      return { op: 'write', frame: 'cpu', offset: GICC_CTLR, width: 4, value: int(rand, 32) | (int(rand, 2) << 9) };
    case 1:
      return { op: 'write', frame: 'cpu', offset: GICC_PMR, width: 4, value: int(rand, 256) };
    case 2:
      return { op: 'write', frame: 'cpu', offset: pick(rand, [GICC_BPR, GICC_ABPR]), width: 4, value: int(rand, 8) };
    case 3:
      return { op: 'read', frame: 'cpu', offset: GIC_CPU_INTACK }; // acknowledge
    case 4:
      return { op: 'write', frame: 'cpu', offset: GIC_CPU_EOI, width: 4, value: int(rand, 64) | (int(rand, nrVcpus) << 10) };
    default:
      return { op: 'write', frame: 'cpu', offset: GIC_CPU_DEACTIVATE, width: 4, value: int(rand, 64) };
  }
}

/** ICC_* writes and acknowledges (GICv3 only). */
function sysregAction(rand: Rand, nrVcpus: number): Action {
  switch (int(rand, 9)) {
    case 0:
      return { op: 'sysreg', encoding: ICC_PMR_EL1, value: BigInt(int(rand, 256)) };
    case 1:
      return { op: 'sysreg', encoding: pick(rand, [ICC_BPR0_EL1, ICC_BPR1_EL1]), value: BigInt(int(rand, 8)) };
    case 2:
      return { op: 'sysreg', encoding: pick(rand, [ICC_IGRPEN0_EL1, ICC_IGRPEN1_EL1]), value: BigInt(int(rand, 2)) };
    case 3:
      return { op: 'sysreg', encoding: ICC_CTLR_EL1, value: BigInt(int(rand, 4)) }; // CBPR, EOImode
    case 4:
      return { op: 'sysreg', encoding: pick(rand, [ICC_AP0R0_EL1, ICC_AP1R0_EL1]), value: BigInt(bits(rand)) };
    case 5: {
      // SGI to a target list (Aff0 of vCPUs 0..15, Aff1 0) or to everyone else (IRM, bit 40).
      const irm = int(rand, 4) === 0 ? 1n << 40n : 0n;
      return { op: 'sysreg', encoding: pick(rand, [ICC_SGI1R_EL1, ICC_SGI0R_EL1]), value: irm | (BigInt(int(rand, 16)) << 24n) | BigInt(int(rand, 1 << Math.min(nrVcpus, 16))) };
    }
    case 6:
      return { op: 'readSysreg', encoding: pick(rand, [ICC_IAR1_EL1, ICC_IAR0_EL1]) };
    case 7:
      return { op: 'sysreg', encoding: ICC_EOIR1_EL1, value: BigInt(int(rand, 64)) };
    default:
      return { op: 'sysreg', encoding: ICC_DIR_EL1, value: BigInt(int(rand, 64)) };
  }
}

/** Per vCPU, `min`..`max` random guest actions. */
export function randomGuestActions(rand: Rand, model: GicModel, nrIrqs: number, nrVcpus: number, min = 8, max = 40): Action[][] {
  const out: Action[][] = [];
  for (let v = 0; v < nrVcpus; v++) {
    const list: Action[] = [];
    for (let n = min + int(rand, max - min + 1); n > 0; n--) {
      const r = rand();
      if (r < 0.45) list.push(distAction(rand, model, nrIrqs, nrVcpus));
      else if (model === 'v3' && r < 0.75) list.push(sysregAction(rand, nrVcpus));
      else list.push(privateAction(rand, model, nrVcpus));
    }
    out.push(list);
  }
  return out;
}
