// The generic save engine: iterate a VMM's save list, reading each register through the
// device-attribute API into a named snapshot (insertion order = the sequence's order, so
// save -> restore -> save gives byte-identical YAML).

import {
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  ICC_AP0R0_EL1,
  ICC_AP1R0_EL1,
  ICC_CTLR_EL1,
} from '../../host/index.ts';
import {
  IIDR_POLICIES,
  type IidrPolicy,
  type RegisterMap,
  type RegisterSection,
  SNAPSHOT_VERSION,
  type VgicSnapshot,
  type VmmStyle,
  describeThrown,
} from '../schema.ts';
import { firecrackerApOrder, qemuApOrder } from './ap.ts';
import { type VcpuRef, type VgicHandle, readHandle } from './device.ts';
import { VmmAbort, type VmmFailure, checkFailure, ioctlFailure } from './failure.ts';
import { SequenceRun, hex32, hex64, hex64Halves, readNrIrqs, wordIndex, wordIntids } from './run.ts';
import { sequenceFor } from './sequences.ts';
import { checkOnSave } from './checks.ts';
import type { Step, VmmSequence } from './types.ts';

export type SaveResult = { ok: true; snapshot: VgicSnapshot } | { ok: false; failure: VmmFailure };

export interface SaveOptions {
  /** What the VMM will do with GICD_IIDR on restore; 'keep' makes the save record it. Default 'none'. */
  iidrPolicy?: IidrPolicy;
}

/** Register maps being filled, per section and per vCPU key. */
class SnapshotBuilder {
  readonly distributor: RegisterMap = Object.create(null) as RegisterMap;
  readonly perKey = new Map<RegisterSection, Map<string, RegisterMap>>();

  map(section: RegisterSection, key: string): RegisterMap {
    if (section === 'distributor') return this.distributor;
    let byKey = this.perKey.get(section);
    if (!byKey) this.perKey.set(section, (byKey = new Map()));
    let m = byKey.get(key);
    if (!m) byKey.set(key, (m = Object.create(null) as RegisterMap));
    return m;
  }

  section(section: RegisterSection): Record<string, RegisterMap> | undefined {
    const byKey = this.perKey.get(section);
    if (!byKey) return undefined;
    const out: Record<string, RegisterMap> = Object.create(null) as Record<string, RegisterMap>;
    for (const [k, m] of byKey) out[k] = m;
    return out;
  }
}

class Saver {
  readonly out = new SnapshotBuilder();
  constructor(
    readonly run: SequenceRun,
    readonly policy: IidrPolicy,
  ) {}

  steps(steps: readonly Step[], loop: VcpuRef | null): void {
    for (const s of steps) this.step(s, loop);
  }

  private store(section: RegisterSection, key: string, name: string, value: string): void {
    this.out.map(section, key)[name] = value;
  }

  private step(s: Step, loop: VcpuRef | null): void {
    const run = this.run;
    switch (s.op) {
      case 'reg': {
        const attr = run.attr(s.group, s.offset, s.target, loop);
        const label = run.label(s.name, loop, s.target);
        const key = run.storageKey(s.target, s.section, loop);
        if (s.width === 64) {
          const lo = run.read32(s.group, attr, label);
          const hi = run.read32(s.group, attr + 4n, label);
          this.store(s.section, key, s.name, hex64Halves(hi, lo));
        } else {
          const v = run.read32(s.group, attr, label);
          this.store(s.section, key, s.name, hex32(s.saveMask === undefined ? v : v & s.saveMask));
        }
        return;
      }
      case 'words': {
        for (const intid of wordIntids(s.from, s.to, s.bitsPerIrq, run.nrIrqs)) {
          const idx = wordIndex(intid, s.bitsPerIrq);
          const name = `${s.name}${idx}`;
          const offset = s.offset + idx * 4;
          const banked = s.bankedSection !== undefined && intid < 32;
          const vcpus = banked ? run.vm.vcpus : [loop];
          for (const v of vcpus) {
            const target = banked ? 'vcpu' : s.target;
            const section = banked ? s.bankedSection! : s.section;
            const raw = run.read32(s.group, run.attr(s.group, offset, target, v), run.label(name, v, target));
            this.store(section, run.storageKey(target, section, v), name, hex32(s.saveMask === undefined ? raw : raw & s.saveMask));
          }
        }
        return;
      }
      case 'level': {
        for (const intid of wordIntids(s.from, s.to, 1, run.nrIrqs)) {
          const name = `LEVEL_INFO${intid}`;
          const attr = run.attr(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, intid, s.target, loop); // info 0 = line level
          const v = run.read32(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, attr, run.label(name, loop, s.target));
          this.store(s.section, run.storageKey(s.target, s.section, loop), name, hex32(v));
        }
        return;
      }
      case 'irouter': {
        const end = Math.min(s.to ?? run.nrIrqs, run.nrIrqs);
        for (let i = s.from; i < end; i++) {
          const name = `GICD_IROUTER${i}`;
          const off = 0x6000 + s.stride * i;
          const lo = run.read32(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(off), name);
          const hi = run.read32(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(off + 4), name);
          this.out.distributor[name] = hex64Halves(hi, lo);
        }
        return;
      }
      case 'sysreg': {
        const v = run.readSysreg(run.attr(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, s.encoding, 'vcpu', loop), run.label(s.name, loop));
        this.store('cpuInterfaces', run.storageKey('vcpu', 'cpuInterfaces', loop), s.name, hex64(v));
        return;
      }
      case 'ap':
        this.ap(s.order, loop);
        return;
      case 'forEachVcpu':
        for (const v of run.vm.vcpus) this.steps(s.steps, v);
        return;
      case 'probePlpis':
        run.probePlpis();
        return;
      case 'ifPlpis':
        if (run.plpis) this.steps(s.steps, loop);
        return;
      case 'check':
        checkOnSave(run, s.what);
        return;
      case 'ctrl': {
        const ret = run.vm.io.set(KVM_DEV_ARM_VGIC_GRP_CTRL, BigInt(s.attr), null);
        if (ret < 0) run.fail(s.name, true, KVM_DEV_ARM_VGIC_GRP_CTRL, BigInt(s.attr), ret);
        return;
      }
      case 'iidr':
        if (s.always || this.policy === 'keep') {
          const v = run.readIidr();
          if (this.policy === 'keep') this.out.distributor.GICD_IIDR = hex32(v);
        }
        return;
      case 'pairs':
        throw new Error(`${run.seq.name}: 'pairs' is a restore-only step`);
    }
  }

  /** ICC_AP{0,1}R<n>_EL1, the bank sized by ICC_CTLR_EL1.PRIbits. */
  private ap(order: 'qemu' | 'firecracker', loop: VcpuRef | null): void {
    const run = this.run;
    const key = run.storageKey('vcpu', 'cpuInterfaces', loop);
    const map = this.out.map('cpuInterfaces', key);
    let ctlr: bigint;
    if (order === 'qemu') {
      // num_pri_bits from the ICC_CTLR_EL1 value just read (kvm_arm_gicv3_get)
      const saved = map.ICC_CTLR_EL1;
      if (saved === undefined) throw new Error(`${run.seq.name}: the AP step needs ICC_CTLR_EL1 first`);
      ctlr = BigInt(saved);
    } else {
      // icc_regs.rs num_priority_bits(): a fresh ICC_CTLR_EL1 read
      ctlr = run.readSysreg(run.attr(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, ICC_CTLR_EL1, 'vcpu', loop), run.label('ICC_CTLR_EL1', loop));
    }
    const regs = order === 'qemu' ? qemuApOrder(ctlr) : firecrackerApOrder(ctlr);
    for (const r of regs) {
      if (!r.available) continue; // Firecracker records None
      const enc = (r.group === 0 ? ICC_AP0R0_EL1 : ICC_AP1R0_EL1) + r.n;
      const v = run.readSysreg(run.attr(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, enc, 'vcpu', loop), run.label(r.name, loop));
      map[r.name] = hex64(v);
    }
  }
}

/**
 * Save the vGIC of `vm` with a VMM's sequence. Never throws: a failed access ends the save and is
 * returned as the VMM would report it; unusable arguments (hostile objects included) and a device
 * io that throws are refused the same way.
 */
export function saveVgic(vm: VgicHandle, vmm: VmmStyle | VmmSequence, opts: SaveOptions = {}): SaveResult {
  let h: VgicHandle;
  let seq: VmmSequence;
  let policy: IidrPolicy;
  try {
    h = readHandle(vm);
    seq = typeof vmm === 'string' ? sequenceFor(vmm, h.model) : vmm;
    if (typeof seq?.name !== 'string' || !Array.isArray(seq.save)) throw new TypeError('not a VMM sequence');
    const p: unknown = opts?.iidrPolicy ?? 'none';
    if (typeof p !== 'string' || !(IIDR_POLICIES as readonly string[]).includes(p)) throw new TypeError(`unknown IIDR policy ${typeof p === 'string' ? JSON.stringify(p) : typeof p}`);
    policy = p as IidrPolicy;
  } catch (e) {
    return { ok: false, failure: checkFailure('save', 'unknown', 'refused', 'arguments', `the VM handle, VMM or options could not be used (${describeThrown(e)})`) };
  }
  return saveWith(h, seq, policy);
}

/** saveVgic with a checked handle (readHandle) and a known sequence and policy. */
export function saveWith(h: VgicHandle, seq: VmmSequence, policy: IidrPolicy): SaveResult {
  if (seq.model !== h.model) {
    return { ok: false, failure: checkFailure('save', seq.name, 'refused', 'GIC model', `the VM has a GIC${h.model}, the sequence is for ${seq.model}`) };
  }
  try {
    const nr = readNrIrqs(h);
    if (typeof nr !== 'number') {
      return { ok: false, failure: ioctlFailure('save', seq.name, seq.onError, 'NR_IRQS', false, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0n, nr.ret) };
    }
    const run = new SequenceRun(seq, h, 'save', nr);
    const saver = new Saver(run, policy);
    saver.steps(seq.save, null);
    return { ok: true, snapshot: assemble(seq, h, nr, policy, saver.out) };
  } catch (e) {
    if (e instanceof VmmAbort) return { ok: false, failure: e.failure };
    return { ok: false, failure: checkFailure('save', seq.name, seq.onError, 'save', `the save stopped: ${describeThrown(e)}`) };
  }
}

function assemble(seq: VmmSequence, vm: VgicHandle, nrIrqs: number, iidrPolicy: IidrPolicy, b: SnapshotBuilder): VgicSnapshot {
  const common = {
    vgicSnapshot: SNAPSHOT_VERSION,
    source: { profile: vm.profile, vmm: seq.vmm, iidrPolicy },
    nrIrqs,
    vcpus: vm.vcpus.map((v) => ({ id: v.id, mpidr: hex32(v.mpidr) })),
    distributor: b.distributor,
  } as const;
  const cpuInterfaces = b.section('cpuInterfaces') ?? (Object.create(null) as Record<string, RegisterMap>);
  if (seq.model === 'v3') {
    const levelVcpu = b.section('levelInfoVcpu');
    const levelSpi = b.perKey.get('levelInfoSpi')?.get('spi');
    const levelInfo = levelVcpu || levelSpi ? { ...(levelVcpu ?? {}), ...(levelSpi ? { spi: levelSpi } : {}) } : undefined;
    return {
      ...common,
      model: 'v3',
      redistributors: b.section('redistributors') ?? (Object.create(null) as Record<string, RegisterMap>),
      cpuInterfaces,
      ...(levelInfo ? { levelInfo } : {}),
    };
  }
  const banked = b.section('bankedDistributor');
  return { ...common, model: 'v2', ...(banked ? { bankedDistributor: banked } : {}), cpuInterfaces };
}

