// A QEMU-style save/restore sequence for the GICv5 vGIC, following the order the IRS series
// documents (arm-vgic-v5.rst; reference A.4 "Ordering"): save = GRP_IRS_REGS and GRP_IST gets,
// either order (plus the vCPUs' CPU_SYSREGS); restore = vCPUs created -> IRS address ->
// NR_IRQS -> CTRL_INIT -> IRS_REGS (ID registers and IST_CFGR/IST_BASER before the ISTs) ->
// CPU_SYSREGS -> GRP_IST -> run. QEMU itself has no GICv5 KVM support to copy; this is the
// documented order written as data (the steps) run by one small engine, through
// KVM_{GET,SET}_DEVICE_ATTR only.

import {
  GICV5_IRS_IST_BASER,
  GICV5_IRS_IST_BASER_VALID,
  GICV5_IRS_IST_CFGR,
  GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_IRS_REGS,
  KVM_DEV_ARM_VGIC_GRP_IST,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT,
  KVM_VGIC_V5_ADDR_TYPE_IRS,
  UserBytes,
  errnoName,
  u32,
  u64,
  vgicV5IstAttr,
} from '../../host/index.ts';
import { V5_USER_SYSREGS } from '../../vgic/v5/cpu-interface.ts';
import { IRS_ROWS } from '../../vgic/v5/irs.ts';
import { SnapshotError } from '../schema.ts';
import { type IstImage, type VgicSnapshotV5, validateSnapshotV5 } from '../v5/schema.ts';
import { parseSnapshotV5Yaml } from '../v5/yaml.ts';
import type { DeviceAttrIo, VcpuRef } from './device.ts';
import { hex32, hex64 } from './run.ts';

/** One step of the sequence; `config` steps run on restore only. */
export type V5Step =
  | { readonly op: 'irsAddr' | 'nrSpis' | 'init' } // restore: configure the new vGIC
  | { readonly op: 'irsRegs' } // every IRS register, table order
  | { readonly op: 'cpuSysregs' } // for each vCPU, the CPU_SYSREGS list
  | { readonly op: 'ist' }; // GRP_IST

export interface V5Sequence {
  readonly name: 'qemu-v5';
  readonly vmm: 'qemu';
  readonly save: readonly V5Step[];
  readonly restore: readonly V5Step[];
}

export const QEMU_V5: V5Sequence = {
  name: 'qemu-v5',
  vmm: 'qemu',
  save: [{ op: 'irsRegs' }, { op: 'cpuSysregs' }, { op: 'ist' }],
  restore: [{ op: 'irsAddr' }, { op: 'nrSpis' }, { op: 'init' }, { op: 'irsRegs' }, { op: 'cpuSysregs' }, { op: 'ist' }],
};

/** The vGIC-v5 of one VM as the VMM holds it. */
export interface VgicV5Handle {
  readonly io: DeviceAttrIo;
  /** In creation order. */
  readonly vcpus: readonly VcpuRef[];
}

export type V5Result<T> = { ok: true; value: T } | { ok: false; failure: string };

const sysregAttr = (enc: number, c: VcpuRef): bigint => BigInt(enc) | (BigInt(c.mpidr >>> 0) << KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT);

class Failed extends Error {}
function must(ret: number, what: string): void {
  if (ret) throw new Failed(`${what}: ${errnoName(-ret)}`);
}

function image(buf: UserBytes, entries: number): IstImage {
  const set: Record<string, string> = {};
  for (let i = 0; i < entries; i++) {
    const v = buf.u32(i);
    if (v) set[String(i)] = hex32(v);
  }
  return { entries, set };
}
function fill(buf: UserBytes, img: IstImage): void {
  for (const [k, v] of Object.entries(img.set)) buf.setU32(Number(k), Number(v));
}

/** Save the vGIC-v5 with `seq`: the snapshot, or the failing step and errno. */
export function saveVgicV5(vm: VgicV5Handle, seq: V5Sequence = QEMU_V5): V5Result<VgicSnapshotV5> {
  try {
    const base = u64();
    must(vm.io.get(KVM_DEV_ARM_VGIC_GRP_ADDR, BigInt(KVM_VGIC_V5_ADDR_TYPE_IRS), base), 'KVM_VGIC_V5_ADDR_TYPE_IRS');
    const nr = u32();
    must(vm.io.get(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0n, nr), 'NR_IRQS');
    const irs: Record<string, string> = {};
    const cpuInterfaces: Record<string, Record<string, string>> = {};
    let ist: VgicSnapshotV5['ist'] | null = null;
    for (const step of seq.save) {
      if (step.op === 'irsRegs') {
        for (const r of IRS_ROWS) {
          const v = u64();
          must(vm.io.get(KVM_DEV_ARM_VGIC_GRP_IRS_REGS, BigInt(r.offset), v), r.name);
          irs[r.name] = hex64(v.value);
        }
      } else if (step.op === 'cpuSysregs') {
        for (const c of vm.vcpus) {
          const regs: Record<string, string> = {};
          for (const r of V5_USER_SYSREGS) {
            const v = u64();
            must(vm.io.get(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, sysregAttr(r.enc, c), v), `${r.name} of vCPU ${c.id}`);
            regs[r.name] = hex64(v.value);
          }
          cpuInterfaces[String(c.id)] = regs;
        }
      } else if (step.op === 'ist') {
        // The buffers are sized from the IRS configuration, exactly as the final contract wants.
        const cfgr = u64();
        const baser = u64();
        must(vm.io.get(KVM_DEV_ARM_VGIC_GRP_IRS_REGS, BigInt(GICV5_IRS_IST_CFGR), cfgr), 'IRS_IST_CFGR');
        must(vm.io.get(KVM_DEV_ARM_VGIC_GRP_IRS_REGS, BigInt(GICV5_IRS_IST_BASER), baser), 'IRS_IST_BASER');
        const lpiEntries = baser.value & GICV5_IRS_IST_BASER_VALID ? 1 << Number(cfgr.value & BigInt(GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK)) : 0;
        const spi = new UserBytes(nr.value * 4);
        const lpi = lpiEntries ? new UserBytes(lpiEntries * 4) : null;
        must(vm.io.get(KVM_DEV_ARM_VGIC_GRP_IST, 0n, vgicV5IstAttr(spi, spi.size, lpi, lpi ? lpi.size : 0)), 'GRP_IST');
        ist = { spi: image(spi, nr.value), ...(lpi ? { lpi: image(lpi, lpiEntries) } : {}) };
      }
    }
    if (!ist) throw new Failed('the sequence saves no IST');
    const snapshot = validateSnapshotV5({
      vgicSnapshot: 1,
      source: { uapi: 'irs-final', vmm: seq.vmm },
      model: 'v5',
      nrSpis: nr.value,
      irsBase: hex64(base.value),
      vcpus: vm.vcpus.map((c) => ({ id: c.id, mpidr: hex32(c.mpidr) })),
      irs,
      cpuInterfaces,
      ist,
    });
    return { ok: true, value: snapshot };
  } catch (e) {
    if (e instanceof Failed || e instanceof SnapshotError) return { ok: false, failure: `save: ${e.message}` };
    throw e;
  }
}

/**
 * Restore into a VM whose vCPUs exist (same ids and MPIDRs, same order) and whose v5 device is
 * created but not configured. The snapshot (object or YAML text) and the destination are checked
 * before the first write; an ioctl that fails later ends the restore there, naming the step.
 */
export function restoreVgicV5(vm: VgicV5Handle, input: unknown, seq: V5Sequence = QEMU_V5): V5Result<null> {
  let s: VgicSnapshotV5;
  try {
    s = typeof input === 'string' ? parseSnapshotV5Yaml(input) : validateSnapshotV5(input);
  } catch (e) {
    if (e instanceof SnapshotError) return { ok: false, failure: `refused: ${e.message}` };
    throw e;
  }
  const same = s.vcpus.length === vm.vcpus.length && s.vcpus.every((c, i) => c.id === vm.vcpus[i]!.id && Number(c.mpidr) === vm.vcpus[i]!.mpidr >>> 0);
  if (!same) return { ok: false, failure: 'refused: the destination vCPUs differ from the snapshot\'s' };
  const nr = u32(0xbad);
  if (vm.io.get(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0n, nr) || nr.value !== 0) return { ok: false, failure: 'refused: the destination vGIC-v5 is already configured (NR_IRQS set)' };
  try {
    for (const step of seq.restore) {
      switch (step.op) {
        case 'irsAddr':
          must(vm.io.set(KVM_DEV_ARM_VGIC_GRP_ADDR, BigInt(KVM_VGIC_V5_ADDR_TYPE_IRS), u64(BigInt(s.irsBase))), 'KVM_VGIC_V5_ADDR_TYPE_IRS');
          break;
        case 'nrSpis':
          must(vm.io.set(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0n, u32(s.nrSpis)), 'NR_IRQS');
          break;
        case 'init':
          must(vm.io.set(KVM_DEV_ARM_VGIC_GRP_CTRL, BigInt(KVM_DEV_ARM_VGIC_CTRL_INIT), null), 'CTRL_INIT');
          break;
        case 'irsRegs':
          for (const r of IRS_ROWS) must(vm.io.set(KVM_DEV_ARM_VGIC_GRP_IRS_REGS, BigInt(r.offset), u64(BigInt(s.irs[r.name]!))), r.name);
          break;
        case 'cpuSysregs':
          for (const c of vm.vcpus) {
            const regs = s.cpuInterfaces[String(c.id)]!;
            for (const r of V5_USER_SYSREGS) must(vm.io.set(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, sysregAttr(r.enc, c), u64(BigInt(regs[r.name]!))), `${r.name} of vCPU ${c.id}`);
          }
          break;
        case 'ist': {
          const spi = new UserBytes(s.ist.spi.entries * 4);
          fill(spi, s.ist.spi);
          const lpi = s.ist.lpi ? new UserBytes(s.ist.lpi.entries * 4) : null;
          if (lpi && s.ist.lpi) fill(lpi, s.ist.lpi);
          must(vm.io.set(KVM_DEV_ARM_VGIC_GRP_IST, 0n, vgicV5IstAttr(spi, spi.size, lpi, lpi ? lpi.size : 0)), 'GRP_IST');
          break;
        }
      }
    }
  } catch (e) {
    if (e instanceof Failed) return { ok: false, failure: `restore: ${e.message}` };
    throw e;
  }
  return { ok: true, value: null };
}
