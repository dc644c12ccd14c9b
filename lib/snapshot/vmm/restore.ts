// The generic restore engine. Restoring is two phases so that a bad snapshot changes nothing:
// 1. validate: the schema (validateSnapshot), then the snapshot against the destination (GIC
//    model, VMM, nr_irqs, the vCPU list), then a plan that resolves every value the VMM's restore
//    list writes (a missing register, or one the list never writes, refuses the snapshot);
// 2. execute the plan through KVM_SET_DEVICE_ATTR, stopping at the first failed access exactly
//    where the VMM would (QEMU aborts, Firecracker returns the error).

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
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
} from '../../host/index.ts';
import { type RegisterMap, type RegisterSection, SnapshotError, type VgicSnapshot, type VmmStyle, validateSnapshot } from '../schema.ts';
import { firecrackerApOrder, priBits, qemuApOrder } from './ap.ts';
import { checkOnRestore } from './checks.ts';
import type { VcpuRef, VgicHandle } from './device.ts';
import { VmmAbort, type VmmFailure, checkFailure, ioctlFailure } from './failure.ts';
import { SequenceRun, hex32, parseHex32, parseHex64Halves, readNrIrqs, wordIndex, wordIntids } from './run.ts';
import { sequenceFor } from './sequences.ts';
import type { Step, Target, VmmSequence, WriteValue } from './types.ts';

export type RestoreResult =
  | { ok: true; writes: number }
  | { ok: false; failure: VmmFailure; /** KVM_SET_DEVICE_ATTR calls that succeeded before the failure. */ writes: number };

/** One planned access. `label` names the register (and vCPU) for a failure message. */
type Op =
  | { readonly k: 'set32'; readonly group: number; readonly attr: bigint; readonly value: number; readonly label: string }
  | { readonly k: 'set64'; readonly attr: bigint; readonly value: bigint; readonly label: string }
  | { readonly k: 'run'; readonly fn: (run: SequenceRun) => void }
  | { readonly k: 'ifPlpis'; readonly ops: readonly Op[] };

/** A snapshot that cannot be restored with this sequence; found before anything is written. */
class PlanError extends Error {
  constructor(
    readonly step: string,
    readonly detail: string,
  ) {
    super(`${step}: ${detail}`);
  }
}

const sectionPath = (section: RegisterSection, key: string): string =>
  section === 'distributor' ? 'distributor' : section === 'levelInfoSpi' ? 'levelInfo.spi' : section === 'levelInfoVcpu' ? `levelInfo.${key}` : `${section}.${key}`;

class Planner {
  /** Names read from each register map, to find registers the restore would silently ignore. */
  private readonly used = new Map<RegisterMap, Set<string>>();

  constructor(
    readonly seq: VmmSequence,
    readonly vm: VgicHandle,
    readonly snap: VgicSnapshot,
    /** Only for attribute encoding and labels: never used for an access while planning. */
    readonly enc: SequenceRun,
  ) {}

  private map(section: RegisterSection, key: string): RegisterMap | undefined {
    const s = this.snap;
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

  /** The saved hex string, or undefined; marks it used. */
  private lookup(section: RegisterSection, key: string, name: string): string | undefined {
    const m = this.map(section, key);
    const v = m?.[name];
    if (m && v !== undefined) {
      let set = this.used.get(m);
      if (!set) this.used.set(m, (set = new Set()));
      set.add(name);
    }
    return v;
  }

  private saved(section: RegisterSection, key: string, name: string): string {
    const v = this.lookup(section, key, name);
    if (v === undefined) throw new PlanError(`${sectionPath(section, key)}.${name}`, `missing: the ${this.seq.name} restore writes it`);
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
      return parseHex32(this.saved(section, key, `${how.savedAs}${idx}`));
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

  private set32(out: Op[], group: number, attr: bigint, value: number, label: string): void {
    out.push({ k: 'set32', group, attr, value, label });
  }

  private step(s: Step, loop: VcpuRef | null, out: Op[]): void {
    const enc = this.enc;
    switch (s.op) {
      case 'reg': {
        const attr = enc.attr(s.group, s.offset, s.target, loop);
        const label = enc.label(s.name, loop, s.target);
        const key = enc.storageKey(s.target, s.section, loop);
        if (s.width === 64) {
          const { hi, lo } = this.value64(s.value, s.section, key, s.name);
          this.set32(out, s.group, attr, lo, label);
          this.set32(out, s.group, attr + 4n, hi, label);
        } else {
          this.set32(out, s.group, attr, this.value32(s.value, s.section, key, s.name), label);
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
            const value = this.value32(s.value, section, enc.storageKey(target, section, v), name);
            this.set32(out, s.group, enc.attr(s.group, offset, target, v), value, enc.label(name, v, target));
          }
        }
        return;
      case 'pairs':
        for (const intid of wordIntids(s.from, undefined, 1, this.snap.nrIrqs)) {
          const idx = wordIndex(intid, 1);
          const clearName = `${s.clear.name}${idx}`;
          const setName = `${s.set.name}${idx}`;
          this.set32(out, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(s.clear.offset + idx * 4), s.clear.value === 'ones' ? 0xffffffff : 0, clearName);
          this.set32(out, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(s.set.offset + idx * 4), this.value32('saved', 'distributor', '', setName), setName);
        }
        return;
      case 'level':
        for (const intid of wordIntids(s.from, s.to, 1, this.snap.nrIrqs)) {
          const name = `LEVEL_INFO${intid}`;
          const value = this.value32('saved', s.section, enc.storageKey(s.target, s.section, loop), name);
          this.set32(out, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, enc.attr(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, intid, s.target, loop), value, enc.label(name, loop, s.target));
        }
        return;
      case 'irouter': {
        const end = Math.min(s.to ?? this.snap.nrIrqs, this.snap.nrIrqs);
        for (let i = s.from; i < end; i++) {
          const name = `GICD_IROUTER${i}`;
          const { hi, lo } = this.value64('saved', 'distributor', '', name);
          const off = 0x6000 + s.stride * i;
          this.set32(out, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(off), lo, name);
          this.set32(out, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(off + 4), hi, name);
        }
        return;
      }
      case 'sysreg': {
        const key = enc.storageKey('vcpu', 'cpuInterfaces', loop);
        out.push({ k: 'set64', attr: enc.attr(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, s.encoding, 'vcpu', loop), value: BigInt(this.saved('cpuInterfaces', key, s.name)), label: enc.label(s.name, loop) });
        return;
      }
      case 'ap':
        this.ap(s.order, loop, out);
        return;
      case 'forEachVcpu':
        for (const v of this.vm.vcpus) this.plan(s.steps, v, out);
        return;
      case 'probePlpis':
        out.push({ k: 'run', fn: (run) => run.probePlpis() });
        return;
      case 'ifPlpis':
        out.push({ k: 'ifPlpis', ops: this.plan(s.steps, loop, []) });
        return;
      case 'check': {
        const snap = this.snap;
        out.push({ k: 'run', fn: (run) => checkOnRestore(run, s.what, snap) });
        return;
      }
      case 'ctrl':
        out.push({
          k: 'run',
          fn: (run) => {
            const ret = run.vm.io.set(KVM_DEV_ARM_VGIC_GRP_CTRL, BigInt(s.attr), null);
            if (ret < 0) run.fail(s.name, true, KVM_DEV_ARM_VGIC_GRP_CTRL, BigInt(s.attr), ret);
          },
        });
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
      this.set32(out, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(GICD_IIDR), parseHex32(this.saved('distributor', '', 'GICD_IIDR')), 'GICD_IIDR');
      return;
    }
    // revN: read the destination's IIDR and write it back with Revision = N (the read-modify-write
    // the KVM selftests vgic_group_iidr/vgic_group_v2 do).
    const rev = Number(policy.slice(3));
    out.push({
      k: 'run',
      fn: (run) => {
        const cur = run.readIidr();
        const v = ((cur & ~GICD_IIDR_REVISION_MASK) | (rev << GICD_IIDR_REVISION_SHIFT)) >>> 0;
        run.write32(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(GICD_IIDR), v, 'GICD_IIDR');
      },
    });
  }

  private ap(order: 'qemu' | 'firecracker', loop: VcpuRef | null, out: Op[]): void {
    const enc = this.enc;
    const key = enc.storageKey('vcpu', 'cpuInterfaces', loop);
    const attrOf = (group: 0 | 1, n: number): bigint => enc.attr(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, (group === 0 ? ICC_AP0R0_EL1 : ICC_AP1R0_EL1) + n, 'vcpu', loop);
    if (order === 'qemu') {
      // num_pri_bits from the saved ICC_CTLR_EL1 (kvm_arm_gicv3_put)
      for (const r of qemuApOrder(BigInt(this.saved('cpuInterfaces', key, 'ICC_CTLR_EL1')))) {
        out.push({ k: 'set64', attr: attrOf(r.group, r.n), value: BigInt(this.saved('cpuInterfaces', key, r.name)), label: enc.label(r.name, loop) });
      }
      return;
    }
    // set_icc_regs(): the destination's PRIbits decide which AP registers exist; the saved
    // Some/None pattern must match it, else GicError::InvalidVgicSysRegState.
    const saved = firecrackerApOrder(0n).map((r) => ({ r, value: this.lookup('cpuInterfaces', key, r.name) }));
    const ctlrAttr = enc.attr(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, ICC_CTLR_EL1, 'vcpu', loop);
    const ctlrLabel = enc.label('ICC_CTLR_EL1', loop);
    out.push({
      k: 'run',
      fn: (run) => {
        const ctlr = run.readSysreg(ctlrAttr, ctlrLabel);
        const avail = firecrackerApOrder(ctlr);
        for (let i = 0; i < saved.length; i++) {
          const { r, value } = saved[i]!;
          if (avail[i]!.available !== (value !== undefined)) {
            run.check(enc.label(r.name, loop), `InvalidVgicSysRegState: ${value === undefined ? 'absent' : 'present'} in the snapshot, ${avail[i]!.available ? 'available' : 'unavailable'} with ${priBits(ctlr)} priority bits`);
          }
          if (value !== undefined) run.writeSysreg(attrOf(r.group, r.n), BigInt(value), enc.label(r.name, loop));
        }
      },
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

function execute(run: SequenceRun, ops: readonly Op[]): void {
  const io = run.vm.io;
  const u32 = run.u32;
  for (const op of ops) {
    switch (op.k) {
      case 'set32': {
        u32.value = op.value;
        const ret = io.set(op.group, op.attr, u32);
        if (ret < 0) run.fail(op.label, true, op.group, op.attr, ret);
        run.writes++;
        break;
      }
      case 'set64':
        run.writeSysreg(op.attr, op.value, op.label);
        break;
      case 'run':
        op.fn(run);
        break;
      case 'ifPlpis':
        if (run.plpis) execute(run, op.ops);
        break;
    }
  }
}

/** The checks between a valid snapshot and the destination, before any write. */
function compatibility(seq: VmmSequence, vm: VgicHandle, snap: VgicSnapshot): VmmFailure | null {
  const refuse = (step: string, detail: string): VmmFailure => checkFailure('validate', seq.name, 'refused', step, detail);
  if (snap.model !== vm.model || seq.model !== vm.model) return refuse('model', `snapshot is GIC${snap.model}, the destination VM GIC${vm.model}`);
  if (snap.source.vmm !== seq.vmm) return refuse('source.vmm', `a ${snap.source.vmm} snapshot cannot be restored by the ${seq.name} sequence`);
  const nr = readNrIrqs(vm);
  if (typeof nr !== 'number') return ioctlFailure('validate', seq.name, 'refused', 'NR_IRQS', false, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0n, nr.ret);
  if (nr !== snap.nrIrqs) return refuse('nrIrqs', `snapshot has ${snap.nrIrqs} IRQs, the destination VM ${nr}`);
  const want = snap.vcpus.map((v) => `${v.id}@${v.mpidr}`).join(', ');
  const have = vm.vcpus.map((v) => `${v.id}@${hex32(v.mpidr)}`).join(', ');
  if (want !== have) return refuse('vcpus', `snapshot has vCPUs [${want}], the destination VM [${have}]`);
  return null;
}

/**
 * Restore a snapshot (any untrusted value, e.g. parsed YAML) into `vm` with a VMM's restore
 * sequence. Nothing is written unless the snapshot is valid, matches the VM and is complete for
 * this sequence. Never throws for bad input or KVM errors: the result says what failed.
 */
export function restoreVgic(vm: VgicHandle, vmm: VmmStyle | VmmSequence, input: unknown): RestoreResult {
  const seq = typeof vmm === 'string' ? sequenceFor(vmm, vm.model) : vmm;
  let snap: VgicSnapshot;
  try {
    snap = validateSnapshot(input);
  } catch (e) {
    if (!(e instanceof SnapshotError)) throw e;
    return { ok: false, writes: 0, failure: checkFailure('validate', seq.name, 'refused', e.path === '' ? 'snapshot' : e.path, e.reason) };
  }
  const incompatible = compatibility(seq, vm, snap);
  if (incompatible) return { ok: false, writes: 0, failure: incompatible };

  const run = new SequenceRun(seq, vm, 'restore', snap.nrIrqs);
  let ops: Op[];
  try {
    const planner = new Planner(seq, vm, snap, run);
    ops = planner.plan(seq.restore, null, []);
    const unused = planner.unused();
    if (unused.length) throw new PlanError(unused[0]!, `not written by the ${seq.name} restore${unused.length > 1 ? ` (nor ${unused.length - 1} more: ${unused.slice(1, 4).join(', ')}${unused.length > 4 ? ', ...' : ''})` : ''}`);
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    return { ok: false, writes: 0, failure: checkFailure('validate', seq.name, 'refused', e.step, e.detail) };
  }
  try {
    execute(run, ops);
  } catch (e) {
    if (e instanceof VmmAbort) return { ok: false, writes: run.writes, failure: e.failure };
    throw e;
  }
  return { ok: true, writes: run.writes };
}


