// Test-only helpers for the ITS and LPI unit tests: a GICv3 VM with an ITS and guest RAM, driven
// from userspace the way a VMM or a test can (KVM_DEV_ARM_VGIC_GRP_ITS_REGS, REDIST_REGS, guest
// RAM writes, KVM_SIGNAL_MSI), so each command's effect is checked without a guest program.
// Expected values stay in the tests, stated literally with their kernel source.

import {
  GICR_CTLR,
  GICR_PENDBASER,
  GICR_PROPBASER,
  GITS_BASE_GPA,
  GITS_BASER,
  GITS_CBASER,
  GITS_CTLR,
  GITS_CWRITER,
  GITS_TRANSLATER,
  KVM_DEV_ARM_VGIC_GRP_ITS_REGS,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_VGIC_ITS_ADDR_TYPE,
  type KvmVm,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmSignalMsi,
  kvmMsi,
  u64,
  vmUserspaceMemRegionAdd,
} from '../../lib/host/index.ts';
import {
  type ItsCmdBlock,
  itsBuildDevEventCmd,
  itsBuildInvallCmd,
  itsBuildMapcCmd,
  itsBuildMapdCmd,
  itsBuildMapiCmd,
  itsBuildMaptiCmd,
  itsBuildMovallCmd,
  itsBuildMoviCmd,
} from '../../lib/guest/its.ts';
import { type GicVm, rdSet, v3Vm } from './vgic.ts';
import type { VgicCpu } from '../../lib/vgic/state.ts';
import { type ItsCommand, observeCommands } from '../../lib/vgic/its/commands.ts';
import { type VgicIts, itsesOf } from '../../lib/vgic/its/state.ts';

export const RAM_BASE = 0x40000000;
export const RAM_SIZE = 0x400000;
export const DEV_TABLE = RAM_BASE;
export const COLL_TABLE = RAM_BASE + 0x10000;
export const CMDQ = RAM_BASE + 0x20000;
export const PROP_TABLE = RAM_BASE + 0x30000;
/** vCPU i's pending table: PEND_TABLES + i * 64K (64K aligned, as PENDBASER needs). */
export const PEND_TABLES = RAM_BASE + 0x40000;
/** Device d's ITT: ITT_BASE + d * 4K. */
export const ITT_BASE = RAM_BASE + 0x200000;

export const VALID = 1n << 63n;
/** A flat 64K table of BASER type `type` at `pa`, 64K pages (what its_install_table writes). */
export const flatBaser = (pa: number): bigint => VALID | BigInt(pa) | (2n << 8n);

export interface ItsFix extends GicVm {
  its: VgicIts;
  /** KVM_GET_DEVICE_ATTR ITS_REGS: the u64 value, or throws on error. */
  reg(offset: number): bigint;
  /** KVM_SET_DEVICE_ATTR ITS_REGS: 0 or -errno. */
  setReg(offset: number, v: bigint | number): number;
  /** Put a command at CWRITER and move CWRITER on (userspace write: the queue runs); the handler's return. */
  cmd(block: ItsCmdBlock): number;
  /** KVM_SIGNAL_MSI at this ITS's GITS_TRANSLATER. */
  msi(devid: number, eventid: number, flags?: number): number;
  /** The LPI property byte of `intid`. */
  setProp(intid: number, v: number): void;
  /** GICR_CTLR.EnableLPIs of vCPU `i` (REDIST_REGS, the guest handler). */
  enableLpis(i: number, on?: boolean): void;
  vm: KvmVm;
}

/**
 * A VM with `nrVcpus` vCPUs, a vGICv3 (initialised), one ITS at GITS_BASE_GPA, 4 MiB of RAM,
 * PROPBASER (IDbits 15) and each vCPU's PENDBASER pointing into it; optionally the ITS tables
 * and queue installed and the ITS enabled.
 */
export function itsVm(o: { nrVcpus?: number; enable?: boolean; lpis?: boolean; propIdBits?: number } = {}): ItsFix {
  const nrVcpus = o.nrVcpus ?? 2;
  const g = v3Vm({ nrVcpus, its: true });
  vmUserspaceMemRegionAdd(g.vm, RAM_BASE, 1, RAM_SIZE / 0x1000);
  __kvmDeviceAttrSet(g.itsFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, u64(GITS_BASE_GPA));
  const its = itsesOf(g.vm.dist).at(-1)!;
  const reg = (offset: number): bigint => {
    const b = u64(0xdeadn);
    const r = __kvmDeviceAttrGet(g.itsFd, KVM_DEV_ARM_VGIC_GRP_ITS_REGS, offset, b);
    if (r) throw new Error(`ITS_REGS get 0x${offset.toString(16)}: ${r}`);
    return b.value;
  };
  const setReg = (offset: number, v: bigint | number): number => __kvmDeviceAttrSet(g.itsFd, KVM_DEV_ARM_VGIC_GRP_ITS_REGS, offset, u64(BigInt(v)));
  const fix: ItsFix = {
    ...g,
    its,
    reg,
    setReg,
    cmd(block) {
      let ret = Number.NaN;
      const cwriter = Number(reg(GITS_CWRITER));
      const bytes = new Uint8Array(32);
      const view = new DataView(bytes.buffer);
      block.forEach((w, i) => view.setBigUint64(i * 8, BigInt.asUintN(64, w), true));
      g.vm.memory.writeBytes(CMDQ + cwriter, bytes);
      const size = (Number(reg(GITS_CBASER) & 0xffn) + 1) * 0x1000;
      observeCommands((_c: ItsCommand | null, r: number) => {
        ret = r;
      });
      try {
        setReg(GITS_CWRITER, (cwriter + 32) % size);
      } finally {
        observeCommands(null);
      }
      return ret;
    },
    msi: (devid, eventid, flags) => __kvmSignalMsi(g.vm, kvmMsi(GITS_BASE_GPA + GITS_TRANSLATER, devid, eventid, flags)),
    setProp: (intid, v) => g.vm.memory.write(PROP_TABLE + intid - 8192, 1, v),
    enableLpis: (i, on = true) => {
      rdSet(g.fd, g.vcpus[i]!.mpidr, GICR_CTLR, on ? 1 : 0);
    },
  };
  // PROPBASER (VM-wide, 32-bit uaccess halves), IDbits 15 -> 2^16 INTIDs; PENDBASER per vCPU
  const idBits = o.propIdBits ?? 15;
  rdSet(g.fd, g.vcpus[0]!.mpidr, GICR_PROPBASER, (PROP_TABLE | idBits) >>> 0);
  rdSet(g.fd, g.vcpus[0]!.mpidr, GICR_PROPBASER + 4, 0);
  g.vcpus.forEach((v, i) => {
    rdSet(g.fd, v.mpidr, GICR_PENDBASER, (PEND_TABLES + i * 0x10000) >>> 0);
    rdSet(g.fd, v.mpidr, GICR_PENDBASER + 4, 0);
  });
  if (o.enable ?? true) {
    setReg(GITS_BASER, flatBaser(DEV_TABLE));
    setReg(GITS_BASER + 8, flatBaser(COLL_TABLE));
    setReg(GITS_CBASER, VALID | BigInt(CMDQ) | 15n); // 64K queue
    setReg(GITS_CTLR, 1);
  }
  if (o.lpis ?? true) g.vcpus.forEach((_v, i) => fix.enableLpis(i));
  return fix;
}

/** Device d's ITT address. */
export const ittOf = (dev: number): number => ITT_BASE + dev * 0x1000;

/** Command builders with the argument order the tests read best in (the guest library encodes). */
export const cmds = {
  mapd: (dev: number, valid = true, bits = 8, ittAddr = ittOf(dev)): ItsCmdBlock => itsBuildMapdCmd(dev, ittAddr, 2 ** bits, valid),
  mapc: (coll: number, vcpu: number, valid = true): ItsCmdBlock => itsBuildMapcCmd(vcpu, coll, valid),
  mapti: (dev: number, ev: number, intid: number, coll: number): ItsCmdBlock => itsBuildMaptiCmd(dev, ev, coll, intid),
  mapi: (dev: number, ev: number, coll: number): ItsCmdBlock => itsBuildMapiCmd(dev, ev, coll),
  devEv: (nr: number, dev: number, ev: number): ItsCmdBlock => itsBuildDevEventCmd(nr, dev, ev),
  movi: (dev: number, ev: number, coll: number): ItsCmdBlock => itsBuildMoviCmd(dev, ev, coll),
  invall: (coll: number): ItsCmdBlock => itsBuildInvallCmd(coll),
  movall: (from: number, to: number): ItsCmdBlock => itsBuildMovallCmd(from, to),
};

/** The LPIs on a vCPU's ap_list (irq.ts ApList), in INTID order. */
export const listedLpis = (v: VgicCpu): number[] =>
  v.apList.items.filter((i) => i.intid >= 8192).map((i) => i.intid).sort((a, b) => a - b);
