// Test-only: a DeviceAttrIo that records every access (and can fail one), for the engine and
// sequence tests. Accesses print as "get DIST 0x4", "set REDIST v1 0x10180 = 0xffffffff",
// "set SYSREG v0 ICC_PMR_EL1 = 0xf0".

import {
  KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  sysregName,
} from '../../lib/host/index.ts';
import type { UserBuf } from '../../lib/vgic/user-buf.ts';
import type { DeviceAttrIo, VgicHandle } from '../../lib/snapshot/vmm/device.ts';

const GROUP: Readonly<Record<number, string>> = {
  [KVM_DEV_ARM_VGIC_GRP_DIST_REGS]: 'DIST',
  [KVM_DEV_ARM_VGIC_GRP_CPU_REGS]: 'CPU',
  [KVM_DEV_ARM_VGIC_GRP_NR_IRQS]: 'NR_IRQS',
  [KVM_DEV_ARM_VGIC_GRP_CTRL]: 'CTRL',
  [KVM_DEV_ARM_VGIC_GRP_REDIST_REGS]: 'REDIST',
  [KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS]: 'SYSREG',
  [KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO]: 'LEVEL',
};

export interface Recorded {
  readonly dir: 'get' | 'set';
  readonly group: number;
  /** Attribute upper word (vCPU MPIDR / cpu id) and offset (or sysreg encoding / vINTID). */
  readonly upper: number;
  readonly offset: number;
  /** Value written, or read back. */
  readonly value: bigint | null;
  readonly ret: number;
  /** The restore phase the access was made in (set through `restoreOptions`), if any. */
  readonly phase?: string;
}

export function show(r: Recorded): string {
  const perVcpu = [KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, KVM_DEV_ARM_VGIC_GRP_CPU_REGS].includes(r.group);
  const who = r.upper || perVcpu ? ` v${r.upper}` : '';
  const where = r.group === KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS ? sysregName(r.offset) : `0x${r.offset.toString(16)}`;
  const val = r.dir === 'set' && r.value !== null ? ` = 0x${r.value.toString(16)}` : '';
  return `${r.dir} ${GROUP[r.group] ?? r.group}${who} ${where}${val}`;
}

export interface RecordingIo extends DeviceAttrIo {
  readonly log: Recorded[];
  sets(): number;
  /** Pass to restoreVgic so that each access records its phase. */
  readonly restoreOptions: { onPhase(phase: string): void };
  /** The accesses of one phase ('restore': the VMM's own restore list). */
  inPhase(phase: string): Recorded[];
}

/** Wrap `inner`; `fail(r, index)` may return -errno to make that access fail (not forwarded). */
export function recordingIo(inner: DeviceAttrIo, fail?: (r: Omit<Recorded, 'ret' | 'value'>, index: number) => number): RecordingIo {
  const log: Recorded[] = [];
  let phase: string | undefined;
  const access = (dir: 'get' | 'set', group: number, attr: bigint, buf: UserBuf | null): number => {
    const base = { dir, group, upper: Number(attr >> 32n), offset: Number(attr & 0xffffffffn), ...(phase !== undefined ? { phase } : {}) };
    const forced = fail?.(base, log.length) ?? 0;
    const ret = forced < 0 ? forced : dir === 'get' ? inner.get(group, attr, buf) : inner.set(group, attr, buf);
    log.push({ ...base, value: buf ? buf.get() : null, ret });
    return ret;
  };
  return {
    log,
    get: (g, a, b) => access('get', g, a, b),
    set: (g, a, b) => access('set', g, a, b),
    sets: () => log.filter((r) => r.dir === 'set').length,
    restoreOptions: {
      onPhase(p: string) {
        phase = p;
      },
    },
    inPhase: (p) => log.filter((r) => r.phase === p),
  };
}

/** The same VM seen through a recording io. */
export function recorded(h: VgicHandle, fail?: Parameters<typeof recordingIo>[1]): { handle: VgicHandle; io: RecordingIo } {
  const io = recordingIo(h.io, fail);
  return { handle: { ...h, io }, io };
}
