// Turning a restore list and a (validated) snapshot into the exact accesses to make: every value
// resolved before the first write, so a snapshot that lacks a register the list writes (or holds
// one it never writes) is refused whole. The same planner writes a destination's backup back
// after a failed restore (rollback.ts): then it compares the backup with the destination's
// current state and plans only the registers that differ.

import {
  GICD_IIDR,
  GICD_IIDR_REVISION_MASK,
  GICD_IIDR_REVISION_SHIFT,
  ICC_AP0R0_EL1,
  ICC_AP1R0_EL1,
  ICC_CTLR_EL1,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
} from '../../host/index.ts';
import type { RegisterMap, RegisterSection, VgicSnapshot } from '../schema.ts';
import { firecrackerApOrder, priBits, qemuApOrder } from './ap.ts';
import { checkOnRestore } from './checks.ts';
import type { VcpuRef, VgicHandle } from './device.ts';
import { type SequenceRun, parseHex32, parseHex64Halves, wordIndex, wordIntids } from './run.ts';
import type { Step, Target, VmmSequence, WriteValue } from './types.ts';

/** One saved AP register of Firecracker's restore, present or absent (None) in the snapshot. */
export interface FcApReg {
  readonly name: string;
  readonly attr: bigint;
  readonly label: string;
  /** The saved value, or undefined where the snapshot holds None. */
  readonly value: bigint | undefined;
}

/**
 * One planned access. `label` names the register (and vCPU) for a failure message; `dep` is the
 * saved register the value came from ("section|key|name"), for the rollback's change filter.
 */
export type Op =
  | { readonly k: 'set32'; readonly group: number; readonly attr: bigint; readonly value: number; readonly label: string; readonly dep?: string }
  | { readonly k: 'set64'; readonly attr: bigint; readonly value: bigint; readonly label: string; readonly dep?: string }
  /** Reads and VMM checks only (no write): run again, without effect, by the preflight. */
  | { readonly k: 'check'; readonly fn: (run: SequenceRun) => void }
  /** The probe that decides the ifPlpis branches (reads only). */
  | { readonly k: 'probePlpis' }
  /** A write whose value is only known at restore time (revN: read GICD_IIDR, change the revision). */
  | { readonly k: 'iidrRevision'; readonly rev: number }
  /** A KVM_DEV_ARM_VGIC_GRP_CTRL write with no value. */
  | { readonly k: 'ctrl'; readonly name: string; readonly attr: number }
  /**
   * Firecracker's set_icc_regs() AP bank: read the destination's ICC_CTLR_EL1, compare the saved
   * Some/None pattern with what its PRIbits allow (InvalidVgicSysRegState), write the present ones.
   */
  | { readonly k: 'fcAp'; readonly ctlrAttr: bigint; readonly ctlrLabel: string; readonly regs: readonly FcApReg[] }
  | { readonly k: 'ifPlpis'; readonly ops: readonly Op[] };

/** A snapshot that cannot be restored with this sequence; found before anything is written. */
export class PlanError extends Error {
  constructor(
    readonly step: string,
    readonly detail: string,
  ) {
    super(`${step}: ${detail}`);
  }
}

const sectionPath = (section: RegisterSection, key: string): string =>
  section === 'distributor' ? 'distributor' : section === 'levelInfoSpi' ? 'levelInfo.spi' : section === 'levelInfoVcpu' ? `levelInfo.${key}` : `${section}.${key}`;

/** The register map of `section` under `key` in a snapshot, if any. */
export function registerMap(s: VgicSnapshot, section: RegisterSection, key: string): RegisterMap | undefined {
  switch (section) {
    case 'distributor':
      return s.distributor;
    case 'levelInfoSpi':
      return s.model === 'v3' ? s.levelInfo?.spi : undefined;
    case 'levelInfoVcpu':
      return s.model === 'v3' ? s.levelInfo?.[key] : undefined;
    case 'redistributors':
      return s.model === 'v3' ? s.redistributors[key] : undefined;
    case 'bankedDistributor':
      return s.model === 'v2' ? s.bankedDistributor?.[key] : undefined;
    case 'cpuInterfaces':
      return s.cpuInterfaces[key];
  }
}

const own = (m: RegisterMap | undefined, name: string): string | undefined =>
  m !== undefined && Object.prototype.hasOwnProperty.call(m, name) ? m[name] : undefined;

export interface PlannerOptions {
  /**
   * Rollback: the destination's state now. Ops whose saved register holds the same value in
   * `current` are left out, and { undo } values are computed from both.
   */
  readonly current?: VgicSnapshot;
}

export class Planner {
  /** Names read from each register map, to find registers the restore would silently ignore. */
  private readonly used = new Map<RegisterMap, Set<string>>();
  /** The saved register the value being planned came from. */
  private dep: string | undefined;

  constructor(
    readonly seq: VmmSequence,
    readonly vm: VgicHandle,
    readonly snap: VgicSnapshot,
    /** Only for attribute encoding and labels: never used for an access while planning. */
    readonly enc: SequenceRun,
    readonly opts: PlannerOptions = {},
  ) {}

  /** The saved hex string, or undefined; marks it used. */
  private lookup(section: RegisterSection, key: string, name: string): string | undefined {
    const m = registerMap(this.snap, section, key);
    const v = own(m, name);
    if (m && v !== undefined) {
      let set = this.used.get(m);
      if (!set) this.used.set(m, (set = new Set()));
      set.add(name);
      this.dep = `${section}|${key}|${name}`;
    }
    return v;
  }

  private saved(section: RegisterSection, key: string, name: string): string {
    const v = this.lookup(section, key, name);
    if (v === undefined) throw new PlanError(`${sectionPath(section, key)}.${name}`, `missing: the ${this.seq.name} restore writes it`);
    return v;
  }

  /** The destination's current value of a register (rollback only). */
  private now(section: RegisterSection, key: string, name: string): string {
    const cur = this.opts.current;
    const v = cur ? own(registerMap(cur, section, key), name) : undefined;
    if (v === undefined) throw new PlanError(`${sectionPath(section, key)}.${name}`, 'missing from the current state (rollback)');
    return v;
  }

  /** A 32-bit value to write. */
  private value32(w: WriteValue | undefined, section: RegisterSection, key: string, name: string): number {
    const how = w ?? 'saved';
    if (how === 'ones') return 0xffffffff;
    if (how === 'zero') return 0;
    if (how === 'saved-or-zero') {
      const v = this.lookup(section, key, name);
      return v === undefined ? 0 : parseHex32(v);
    }
    if (typeof how === 'object') {
      const idx = /[0-9]+$/.exec(name)?.[0] ?? '';
      if ('savedAs' in how) return parseHex32(this.saved(section, key, `${how.savedAs}${idx}`));
      // { undo }: the bits to set (saved, not now) or to clear (now, not saved)
      const other = `${how.of}${idx}`;
      const saved = parseHex32(this.saved(section, key, other));
      const now = parseHex32(this.now(section, key, other));
      return (how.undo === 'set' ? saved & ~now : now & ~saved) >>> 0;
    }
    return parseHex32(this.saved(section, key, name));
  }

  /** A 64-bit value as halves (two 32-bit accesses). */
  private value64(w: WriteValue | undefined, section: RegisterSection, key: string, name: string): { hi: number; lo: number } {
    const how = w ?? 'saved';
    if (how === 'ones') return { hi: 0xffffffff, lo: 0xffffffff };
    if (how === 'zero') return { hi: 0, lo: 0 };
    const v = how === 'saved-or-zero' ? this.lookup(section, key, name) : this.saved(section, key, name);
    return v === undefined ? { hi: 0, lo: 0 } : parseHex64Halves(v);
  }

  plan(steps: readonly Step[], loop: VcpuRef | null, out: Op[]): Op[] {
    for (const s of steps) this.step(s, loop, out);
    return out;
  }

  /** Whether a planned write is needed: always, except in a rollback when its register did not change. */
  private needed(dep: string | undefined): boolean {
    const cur = this.opts.current;
    if (!cur || dep === undefined) return true;
    const [section, key, name] = dep.split('|') as [RegisterSection, string, string];
    return own(registerMap(this.snap, section, key), name) !== own(registerMap(cur, section, key), name);
  }

  private take(): string | undefined {
    const d = this.dep;
    this.dep = undefined;
    return d;
  }

  private set32(out: Op[], group: number, attr: bigint, value: number, label: string, dep: string | undefined): void {
    if (this.needed(dep)) out.push(dep === undefined ? { k: 'set32', group, attr, value, label } : { k: 'set32', group, attr, value, label, dep });
  }

  private set64(out: Op[], attr: bigint, value: bigint, label: string, dep: string | undefined): void {
    if (this.needed(dep)) out.push(dep === undefined ? { k: 'set64', attr, value, label } : { k: 'set64', attr, value, label, dep });
  }

  private step(s: Step, loop: VcpuRef | null, out: Op[]): void {
    const enc = this.enc;
    switch (s.op) {
      case 'reg': {
        const attr = enc.attr(s.group, s.offset, s.target, loop);
        const label = enc.label(s.name, loop, s.target);
        const key = enc.storageKey(s.target, s.section, loop);
        this.dep = undefined;
        if (s.width === 64) {
          const { hi, lo } = this.value64(s.value, s.section, key, s.name);
          const dep = this.take();
          this.set32(out, s.group, attr, lo, label, dep);
          this.set32(out, s.group, attr + 4n, hi, label, dep);
        } else {
          const v = this.value32(s.value, s.section, key, s.name);
          this.set32(out, s.group, attr, v, label, this.take());
        }
        return;
      }
      case 'words':
        for (const intid of wordIntids(s.from, s.to, s.bitsPerIrq, this.snap.nrIrqs)) {
          const idx = wordIndex(intid, s.bitsPerIrq);
          const name = `${s.name}${idx}`;
          const offset = s.offset + idx * 4;
          const banked = s.bankedSection !== undefined && intid < 32;
          for (const v of banked ? this.vm.vcpus : [loop]) {
            const target: Target = banked ? 'vcpu' : s.target;
            const section = banked ? s.bankedSection! : s.section;
            this.dep = undefined;
            const value = this.value32(s.value, section, enc.storageKey(target, section, v), name);
            this.set32(out, s.group, enc.attr(s.group, offset, target, v), value, enc.label(name, v, target), this.take());
          }
        }
        return;
      case 'pairs':
        for (const intid of wordIntids(s.from, undefined, 1, this.snap.nrIrqs)) {
          const idx = wordIndex(intid, 1);
          const clearName = `${s.clear.name}${idx}`;
          const setName = `${s.set.name}${idx}`;
          this.dep = undefined;
          const value = this.value32('saved', 'distributor', '', setName);
          const dep = this.take();
          this.set32(out, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(s.clear.offset + idx * 4), s.clear.value === 'ones' ? 0xffffffff : 0, clearName, dep);
          this.set32(out, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(s.set.offset + idx * 4), value, setName, dep);
        }
        return;
      case 'level':
        for (const intid of wordIntids(s.from, s.to, 1, this.snap.nrIrqs)) {
          const name = `LEVEL_INFO${intid}`;
          this.dep = undefined;
          const value = this.value32('saved', s.section, enc.storageKey(s.target, s.section, loop), name);
          this.set32(out, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, enc.attr(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, intid, s.target, loop), value, enc.label(name, loop, s.target), this.take());
        }
        return;
      case 'irouter': {
        const end = Math.min(s.to ?? this.snap.nrIrqs, this.snap.nrIrqs);
        for (let i = s.from; i < end; i++) {
          const name = `GICD_IROUTER${i}`;
          this.dep = undefined;
          const { hi, lo } = this.value64('saved', 'distributor', '', name);
          const dep = this.take();
          const off = 0x6000 + s.stride * i;
          this.set32(out, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(off), lo, name, dep);
          this.set32(out, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(off + 4), hi, name, dep);
        }
        return;
      }
      case 'sysreg': {
        const key = enc.storageKey('vcpu', 'cpuInterfaces', loop);
        this.dep = undefined;
        const value = BigInt(this.saved('cpuInterfaces', key, s.name));
        this.set64(out, enc.attr(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, s.encoding, 'vcpu', loop), value, enc.label(s.name, loop), this.take());
        return;
      }
      case 'ap':
        this.ap(s.order, loop, out);
        return;
      case 'forEachVcpu':
        for (const v of this.vm.vcpus) this.plan(s.steps, v, out);
        return;
      case 'probePlpis':
        out.push({ k: 'probePlpis' });
        return;
      case 'ifPlpis':
        out.push({ k: 'ifPlpis', ops: this.plan(s.steps, loop, []) });
        return;
      case 'check': {
        const snap = this.snap;
        out.push({ k: 'check', fn: (run) => checkOnRestore(run, s.what, snap) });
        return;
      }
      case 'ctrl':
        out.push({ k: 'ctrl', name: s.name, attr: s.attr });
        return;
      case 'iidr':
        this.iidr(out);
        return;
    }
  }

  /** The VMM's IIDR policy (the snapshot records the policy its save was made for). */
  private iidr(out: Op[]): void {
    const policy = this.snap.source.iidrPolicy;
    if (policy === 'none') return;
    if (policy === 'keep') {
      this.dep = undefined;
      const v = parseHex32(this.saved('distributor', '', 'GICD_IIDR'));
      this.set32(out, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(GICD_IIDR), v, 'GICD_IIDR', this.take());
      return;
    }
    // revN: read the destination's IIDR and write it back with Revision = N (the read-modify-write
    // the KVM selftests vgic_group_iidr/vgic_group_v2 do).
    out.push({ k: 'iidrRevision', rev: Number(policy.slice(3)) });
  }

  private ap(order: 'qemu' | 'firecracker', loop: VcpuRef | null, out: Op[]): void {
    const enc = this.enc;
    const key = enc.storageKey('vcpu', 'cpuInterfaces', loop);
    const attrOf = (group: 0 | 1, n: number): bigint => enc.attr(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, (group === 0 ? ICC_AP0R0_EL1 : ICC_AP1R0_EL1) + n, 'vcpu', loop);
    if (order === 'qemu') {
      // num_pri_bits from the saved ICC_CTLR_EL1 (kvm_arm_gicv3_put)
      for (const r of qemuApOrder(BigInt(this.saved('cpuInterfaces', key, 'ICC_CTLR_EL1')))) {
        this.dep = undefined;
        const value = BigInt(this.saved('cpuInterfaces', key, r.name));
        this.set64(out, attrOf(r.group, r.n), value, enc.label(r.name, loop), this.take());
      }
      return;
    }
    // set_icc_regs(): the destination's PRIbits decide which AP registers exist; the saved
    // Some/None pattern must match it, else GicError::InvalidVgicSysRegState.
    const regs = firecrackerApOrder(0n).map((r): FcApReg => {
      const v = this.lookup('cpuInterfaces', key, r.name);
      return { name: r.name, attr: attrOf(r.group, r.n), label: enc.label(r.name, loop), value: v === undefined ? undefined : BigInt(v) };
    });
    out.push({
      k: 'fcAp',
      ctlrAttr: enc.attr(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, ICC_CTLR_EL1, 'vcpu', loop),
      ctlrLabel: enc.label('ICC_CTLR_EL1', loop),
      regs,
    });
  }

  /** Registers present in the snapshot that this restore never writes (a wrong or hand-edited file). */
  unused(): string[] {
    const out: string[] = [];
    const visit = (m: RegisterMap | undefined, path: string): void => {
      if (!m) return;
      const used = this.used.get(m);
      for (const name of Object.keys(m)) if (!used?.has(name)) out.push(`${path}.${name}`);
    };
    const s = this.snap;
    visit(s.distributor, 'distributor');
    for (const [k, m] of Object.entries(s.cpuInterfaces)) visit(m, `cpuInterfaces.${k}`);
    if (s.model === 'v3') {
      for (const [k, m] of Object.entries(s.redistributors)) visit(m, `redistributors.${k}`);
      for (const [k, m] of Object.entries(s.levelInfo ?? {})) visit(m, `levelInfo.${k}`);
    } else {
      for (const [k, m] of Object.entries(s.bankedDistributor ?? {})) visit(m, `bankedDistributor.${k}`);
    }
    return out;
  }
}

/** The Firecracker AP bank check, as set_icc_regs() makes it, for the PRIbits a vCPU has. */
export function fcApMismatch(regs: readonly FcApReg[], iccCtlr: bigint): { reg: FcApReg; detail: string } | null {
  const avail = firecrackerApOrder(iccCtlr);
  for (let i = 0; i < regs.length; i++) {
    const r = regs[i]!;
    const available = avail[i]!.available;
    if (available !== (r.value !== undefined)) {
      return {
        reg: r,
        detail: `InvalidVgicSysRegState: ${r.value === undefined ? 'absent' : 'present'} in the snapshot, ${available ? 'available' : 'unavailable'} with ${priBits(iccCtlr)} priority bits`,
      };
    }
  }
  return null;
}

/** GICD_IIDR with its Revision field replaced. */
export function iidrWithRevision(iidr: number, rev: number): number {
  return ((iidr & ~GICD_IIDR_REVISION_MASK) | (rev << GICD_IIDR_REVISION_SHIFT)) >>> 0;
}
