// The guest GIC library (tools/testing/selftests/kvm/lib/arm64/gic.c, gic_v3.c) as generator
// helpers: `yield* gicIrqEnable(g, intid)`.

import {
  GICD_BASE_GVA,
  GICD_CTLR,
  GICD_CTLR_ARE_NS,
  GICD_CTLR_ENABLE_G1,
  GICD_CTLR_ENABLE_G1A,
  GICD_CTLR_RWP,
  GICD_ICACTIVER,
  GICD_ICENABLER,
  GICD_ICFGR,
  GICD_ICPENDR,
  GICD_IGROUPR,
  GICD_IPRIORITYR,
  GICD_ISACTIVER,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GICD_TYPER,
  GICR_BASE_GVA,
  GICR_CTLR_RWP,
  GICR_WAKER,
  GICR_WAKER_ChildrenAsleep,
  GICR_WAKER_ProcessorSleep,
  SZ_64K,
} from '../uapi/gic.ts';
import {
  ICC_CTLR_EL1,
  ICC_CTLR_EL1_EOImode,
  ICC_DIR_EL1,
  ICC_EOIR1_EL1,
  ICC_IAR1_EL1,
  ICC_IGRPEN1_EL1,
  ICC_PMR_EL1,
  ICC_SRE_EL1,
} from '../vgic/cpuif-regs.ts';
import type { GuestProgram, GuestReply, GuestRequest } from '../kvm/guest-abi.ts';
import type { Guest } from './guest.ts';

export const GIC_V3 = 3;
const GICR_STRIDE = 0x20000;

/** The redistributor SGI frame of the running vCPU. */
export function sgiBase(g: Guest): number {
  return GICR_BASE_GVA + g.vcpuId * GICR_STRIDE + SZ_64K;
}
/** The redistributor RD frame of the running vCPU. */
export function rdBase(g: Guest): number {
  return GICR_BASE_GVA + g.vcpuId * GICR_STRIDE;
}

/** Distributor for SPIs, the caller's SGI frame for SGIs and PPIs. */
function regBase(g: Guest, intid: number): number {
  return intid < 32 ? sgiBase(g) : GICD_BASE_GVA;
}

function* waitRwp(g: Guest, addr: number, bit: number): GuestProgram {
  for (let i = 0; i < 100000; i++) {
    if (!((yield* g.readl(addr)) & bit)) return;
  }
  yield* g.fail('RWP timeout');
}

/**
 * gic.c's statics: gic_lock and gic_common_ops (set once the distributor is initialised), per VM
 * as a guest image's statics are. Guest globals, so every vCPU of the VM sees the same ones.
 */
const gicStatics = { __gic_lock: 0, __gic_common_ops: 0 };

/**
 * gic_init(GIC_V3, nr_cpus): gic_dist_init() under gic_lock (the first vCPU to take the lock
 * initialises the distributor, the others wait for the lock and find it done), then this vCPU's
 * redistributor. The wait matters: a vCPU that set its SGIs pending while another had the
 * distributor disabled would find them never queued (KVM does not requeue on GICD_CTLR enable).
 */
export function* gicInit(g: Guest, _type: number, _nrCpus: number): GuestProgram {
  // spin_lock(&gic_lock): test and set with no access in between is atomic here
  while (g.readGlobal(gicStatics, '__gic_lock')) yield* g.cpuRelax();
  g.writeGlobal(gicStatics, '__gic_lock', 1);
  if (!g.readGlobal(gicStatics, '__gic_common_ops')) {
    const typer = yield* g.readl(GICD_BASE_GVA + GICD_TYPER);
    const nrIrqs = Math.min(((typer & 0x1f) + 1) * 32, 1020);
    yield* g.writel(GICD_BASE_GVA + GICD_CTLR, 0);
    yield* waitRwp(g, GICD_BASE_GVA + GICD_CTLR, GICD_CTLR_RWP);
    for (let i = 32; i < nrIrqs; i += 32) {
      yield* g.writel(GICD_BASE_GVA + GICD_IGROUPR + i / 8, 0xffffffff);
      yield* g.writel(GICD_BASE_GVA + GICD_ICACTIVER + i / 8, 0xffffffff);
      yield* g.writel(GICD_BASE_GVA + GICD_ICENABLER + i / 8, 0xffffffff);
    }
    for (let i = 32; i < nrIrqs; i += 4) yield* g.writel(GICD_BASE_GVA + GICD_IPRIORITYR + i, 0xa0a0a0a0);
    yield* g.writel(GICD_BASE_GVA + GICD_CTLR, GICD_CTLR_ARE_NS | GICD_CTLR_ENABLE_G1A | GICD_CTLR_ENABLE_G1);
    g.writeGlobal(gicStatics, '__gic_common_ops', 1);
  }
  g.writeGlobal(gicStatics, '__gic_lock', 0); // spin_unlock(&gic_lock)
  const waker = yield* g.readl(rdBase(g) + GICR_WAKER);
  yield* g.writel(rdBase(g) + GICR_WAKER, waker & ~GICR_WAKER_ProcessorSleep);
  for (let i = 0; i < 100000; i++) {
    if (!((yield* g.readl(rdBase(g) + GICR_WAKER)) & GICR_WAKER_ChildrenAsleep)) break;
  }
  const sgi = sgiBase(g);
  yield* g.writel(sgi + GICD_IGROUPR, 0xffffffff);
  yield* g.writel(sgi + GICD_ICACTIVER, 0xffffffff);
  yield* g.writel(sgi + GICD_ICENABLER, 0xffffffff);
  for (let i = 0; i < 32; i += 4) yield* g.writel(sgi + GICD_IPRIORITYR + i, 0xa0a0a0a0);
  yield* waitRwp(g, rdBase(g), GICR_CTLR_RWP);
  yield* g.writeSysreg(ICC_SRE_EL1, 1);
  yield* g.writeSysreg(ICC_PMR_EL1, 0xf0);
  yield* g.writeSysreg(ICC_IGRPEN1_EL1, 1);
}

function* pokeBit(g: Guest, reg: number, intid: number): GuestProgram {
  yield* g.writel(regBase(g, intid) + reg + Math.floor(intid / 32) * 4, 1 << (intid % 32));
}
function* peekBit(g: Guest, reg: number, intid: number): Generator<GuestRequest, boolean, GuestReply> {
  const v = yield* g.readl(regBase(g, intid) + reg + Math.floor(intid / 32) * 4);
  return ((v >>> (intid % 32)) & 1) === 1;
}

export const gicIrqEnable = (g: Guest, intid: number): GuestProgram => pokeBit(g, GICD_ISENABLER, intid);
export const gicIrqDisable = (g: Guest, intid: number): GuestProgram => pokeBit(g, GICD_ICENABLER, intid);
export const gicIrqSetPending = (g: Guest, intid: number): GuestProgram => pokeBit(g, GICD_ISPENDR, intid);
export const gicIrqClearPending = (g: Guest, intid: number): GuestProgram => pokeBit(g, GICD_ICPENDR, intid);
export const gicIrqSetActive = (g: Guest, intid: number): GuestProgram => pokeBit(g, GICD_ISACTIVER, intid);
export const gicIrqClearActive = (g: Guest, intid: number): GuestProgram => pokeBit(g, GICD_ICACTIVER, intid);
export const gicIrqGetPending = (g: Guest, intid: number) => peekBit(g, GICD_ISPENDR, intid);
export const gicIrqGetActive = (g: Guest, intid: number) => peekBit(g, GICD_ISACTIVER, intid);

/** gic_set_priority(): one byte of IPRIORITYR. */
export function* gicSetPriority(g: Guest, intid: number, prio: number): GuestProgram {
  yield* g.writeb(regBase(g, intid) + GICD_IPRIORITYR + intid, prio);
}

/** gic_irq_set_config(): SPIs only; edge = true. */
export function* gicIrqSetConfig(g: Guest, intid: number, edge: boolean): GuestProgram {
  const addr = GICD_BASE_GVA + GICD_ICFGR + Math.floor(intid / 16) * 4;
  const shift = (intid % 16) * 2 + 1;
  const v = yield* g.readl(addr);
  yield* g.writel(addr, edge ? v | (1 << shift) : v & ~(1 << shift));
}

/** gic_irq_set_group() */
export function* gicIrqSetGroup(g: Guest, intid: number, group: number): GuestProgram {
  const addr = regBase(g, intid) + GICD_IGROUPR + Math.floor(intid / 32) * 4;
  const v = yield* g.readl(addr);
  yield* g.writel(addr, group ? v | (1 << (intid % 32)) : v & ~(1 << (intid % 32)));
}

/** gic_get_and_ack_irq(): ICC_IAR1_EL1 & 0xffffff. */
export function* gicGetAndAckIrq(g: Guest): Generator<GuestRequest, number, GuestReply> {
  return Number((yield* g.readSysreg(ICC_IAR1_EL1)) & 0xffffffn);
}
export function* gicSetEoi(g: Guest, intid: number): GuestProgram {
  yield* g.writeSysreg(ICC_EOIR1_EL1, intid);
}
export function* gicSetDir(g: Guest, intid: number): GuestProgram {
  yield* g.writeSysreg(ICC_DIR_EL1, intid);
}
export function* gicSetEoiSplit(g: Guest, split: boolean): GuestProgram {
  yield* g.writeSysreg(ICC_CTLR_EL1, split ? ICC_CTLR_EL1_EOImode : 0);
}
export function* gicSetPriorityMask(g: Guest, mask: number): GuestProgram {
  yield* g.writeSysreg(ICC_PMR_EL1, mask);
}
