// One pass of a sequence over one VM: the attribute encoding per target, the reusable value
// buffers, 32/64-bit accesses that turn a failed ioctl into the VMM's failure, and the small
// arithmetic shared by save and restore (word iteration, hex).

import {
  GICD_IIDR,
  GICD_TYPER,
  GICR_TYPER,
  GICR_TYPER_PLPIS,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  U32Buf,
  U64Buf,
} from '../../host/index.ts';
import type { RegisterSection } from '../schema.ts';
import { type VcpuRef, type VgicHandle, attrUpper } from './device.ts';
import { type FailurePhase, VmmAbort, checkFailure, ioctlFailure } from './failure.ts';
import type { Target, VmmSequence } from './types.ts';

export class SequenceRun {
  readonly u32 = new U32Buf();
  readonly u64 = new U64Buf();
  /** GICR_TYPER.PLPIS of the first vCPU, once probed. */
  plpis = false;
  /** Successful KVM_SET_DEVICE_ATTR calls so far. */
  writes = 0;

  constructor(
    readonly seq: VmmSequence,
    readonly vm: VgicHandle,
    readonly phase: FailurePhase,
    readonly nrIrqs: number,
  ) {}

  get reaction(): 'abort' | 'error' {
    return this.seq.onError;
  }

  get first(): VcpuRef {
    const v = this.vm.vcpus[0];
    if (!v) throw new VmmAbort(checkFailure(this.phase, this.seq.name, 'refused', 'vCPUs', 'the VM has no vCPU'));
    return v;
  }

  /** The vCPU whose identity an access carries (the loop vCPU unless the target says otherwise). */
  accessVcpu(target: Target, loop: VcpuRef | null): VcpuRef {
    if (target === 'vcpu' || target === 'fc-v2-cpu') {
      if (!loop) throw new Error(`${this.seq.name}: a '${target}' step outside forEachVcpu`);
      return loop;
    }
    return this.first;
  }

  attr(group: number, offset: number, target: Target, loop: VcpuRef | null): bigint {
    return attrUpper(this.vm.model, group, target, this.accessVcpu(target, loop)) | BigInt(offset >>> 0);
  }

  /** Per-vCPU snapshot key: the loop vCPU for vcpu/fc-v2-cpu, cpu 0 for dist, the first vCPU for vcpu0. */
  storageKey(target: Target, section: RegisterSection, loop: VcpuRef | null): string {
    if (section === 'levelInfoSpi') return 'spi';
    if (target === 'dist') return this.vm.model === 'v2' ? '0' : String(this.first.id);
    return String(this.accessVcpu(target, loop).id);
  }

  /** "GICD_CTLR" or "GICR_CTLR (vCPU 1)". */
  label(name: string, loop: VcpuRef | null, target: Target = 'vcpu'): string {
    return loop && target !== 'dist' && target !== 'vcpu0' ? `${name} (vCPU ${loop.id})` : name;
  }

  fail(step: string, write: boolean, group: number, attr: bigint, ret: number): never {
    throw new VmmAbort(ioctlFailure(this.phase, this.seq.name, this.reaction, step, write, group, attr, ret));
  }

  check(step: string, detail: string, reaction: 'abort' | 'error' = this.reaction): never {
    throw new VmmAbort(checkFailure(this.phase, this.seq.name, reaction, step, detail));
  }

  read32(group: number, attr: bigint, step: string): number {
    const ret = this.vm.io.get(group, attr, this.u32);
    if (ret < 0) this.fail(step, false, group, attr, ret);
    return this.u32.value >>> 0;
  }

  write32(group: number, attr: bigint, value: number, step: string): void {
    this.u32.value = value >>> 0;
    const ret = this.vm.io.set(group, attr, this.u32);
    if (ret < 0) this.fail(step, true, group, attr, ret);
    this.writes++;
  }

  readSysreg(attr: bigint, step: string): bigint {
    const ret = this.vm.io.get(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, this.u64);
    if (ret < 0) this.fail(step, false, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, ret);
    return this.u64.value;
  }

  writeSysreg(attr: bigint, value: bigint, step: string): void {
    this.u64.value = value;
    const ret = this.vm.io.set(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, this.u64);
    if (ret < 0) this.fail(step, true, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, ret);
    this.writes++;
  }

  readIidr(): number {
    return this.read32(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(GICD_IIDR), 'GICD_IIDR');
  }

  readGicdTyper(): number {
    return this.read32(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(GICD_TYPER), 'GICD_TYPER');
  }

  /** GICR_TYPER lo then hi of the first vCPU; PLPIS is bit 0 of the low word. */
  probePlpis(): void {
    const lo = this.read32(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, this.attr(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, GICR_TYPER, 'vcpu0', null), 'GICR_TYPER');
    this.read32(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, this.attr(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, GICR_TYPER + 4, 'vcpu0', null), 'GICR_TYPER');
    this.plpis = (lo & GICR_TYPER_PLPIS) !== 0;
  }
}

/** KVM_DEV_ARM_VGIC_GRP_NR_IRQS read: the VM's nr_irqs (nr_spis + 32). */
export function readNrIrqs(vm: VgicHandle): number | { ret: number } {
  const buf = new U32Buf();
  const ret = vm.io.get(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0n, buf);
  return ret < 0 ? { ret } : buf.value;
}

/** First INTID of each 32-bit word of a per-IRQ register over [from, to), clipped to nr_irqs. */
export function wordIntids(from: number, to: number | undefined, bitsPerIrq: number, nrIrqs: number): number[] {
  const end = Math.min(to ?? nrIrqs, nrIrqs);
  const step = 32 / bitsPerIrq;
  const out: number[] = [];
  for (let intid = from; intid < end; intid += step) out.push(intid);
  return out;
}

/** Word index of the word starting at `intid` (the <n> in GICD_IPRIORITYR<n>). */
export function wordIndex(intid: number, bitsPerIrq: number): number {
  return (intid * bitsPerIrq) / 32;
}

const HEX = '0123456789abcdef';

/** "0x" + 8 lowercase hex digits. */
export function hex32(v: number): string {
  let s = '';
  let x = v >>> 0;
  for (let i = 0; i < 8; i++) {
    s = HEX[x & 0xf]! + s;
    x >>>= 4;
  }
  return `0x${s}`;
}

/** "0x" + 16 lowercase hex digits from two 32-bit halves. */
export function hex64Halves(hi: number, lo: number): string {
  return hex32(hi) + hex32(lo).slice(2);
}

export function hex64(v: bigint): string {
  return `0x${BigInt.asUintN(64, v).toString(16).padStart(16, '0')}`;
}

/** Parse a validated "0x" + 8 hex digits value. */
export function parseHex32(s: string): number {
  return parseInt(s.slice(2), 16) >>> 0;
}

/** Parse a validated "0x" + 16 hex digits value into halves. */
export function parseHex64Halves(s: string): { hi: number; lo: number } {
  return { hi: parseInt(s.slice(2, 10), 16) >>> 0, lo: parseInt(s.slice(10, 18), 16) >>> 0 };
}
