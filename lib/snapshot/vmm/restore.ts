// The generic restore engine. A restore either completes or leaves the destination as it was:
// 1. validate: the schema (validateSnapshot), the snapshot against the destination (GIC model,
//    VMM, nr_irqs, the vCPU list), a plan that resolves every value the VMM's restore list writes
//    (plan.ts: a missing register, or one the list never writes, refuses the snapshot), and a
//    preflight that walks the plan against the destination's state and refuses what KVM or the
//    VMM would refuse (preflight.ts);
// 2. back up the destination with the backup sequence of its model (backup.ts);
// 3. execute the plan through KVM_SET_DEVICE_ATTR, stopping at the first failed access exactly
//    where the VMM would (QEMU aborts, Firecracker returns the error);
// 4. if it stopped, write back every register that now differs from the backup (rollback.ts)
//    and check with a fresh save that the destination is as it was; the result says so.

import { GICD_IIDR, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, KVM_DEV_ARM_VGIC_GRP_NR_IRQS } from '../../host/index.ts';
import { SnapshotError, type VgicSnapshot, type VmmStyle, describeThrown, validateSnapshot } from '../schema.ts';
import { backupSequenceFor } from './backup.ts';
import { type VgicHandle, readHandle } from './device.ts';
import { VmmAbort, type VmmFailure, checkFailure, ioctlFailure } from './failure.ts';
import { type Op, PlanError, Planner, fcApMismatch, iidrWithRevision } from './plan.ts';
import { preflight } from './preflight.ts';
import { type RollbackReport, rollback } from './rollback.ts';
import { SequenceRun, hex32, readNrIrqs } from './run.ts';
import { saveWith } from './save.ts';
import { sequenceFor } from './sequences.ts';
import type { VmmSequence } from './types.ts';

export type RestoreResult =
  | { ok: true; writes: number }
  | {
      ok: false;
      failure: VmmFailure;
      /** KVM_SET_DEVICE_ATTR calls of the restore that succeeded before the failure. */
      writes: number;
      /** Present when the restore had begun writing: how the destination was put back. */
      rollback?: RollbackReport;
    };

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
      case 'check':
        op.fn(run);
        break;
      case 'probePlpis':
        run.probePlpis();
        break;
      case 'iidrRevision':
        run.write32(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, BigInt(GICD_IIDR), iidrWithRevision(run.readIidr(), op.rev), 'GICD_IIDR');
        break;
      case 'ctrl': {
        const ret = io.set(KVM_DEV_ARM_VGIC_GRP_CTRL, BigInt(op.attr), null);
        if (ret < 0) run.fail(op.name, true, KVM_DEV_ARM_VGIC_GRP_CTRL, BigInt(op.attr), ret);
        break;
      }
      case 'fcAp': {
        // set_icc_regs(): the destination's PRIbits (read now) decide which AP registers exist
        const ctlr = run.readSysreg(op.ctlrAttr, op.ctlrLabel);
        const bad = fcApMismatch(op.regs, ctlr);
        for (const r of op.regs) {
          if (bad?.reg === r) run.check(r.label, bad.detail);
          if (r.value !== undefined) run.writeSysreg(r.attr, r.value, r.label);
        }
        break;
      }
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

type Refused = { ok: false; failure: VmmFailure; writes: 0 };
const refused = (f: VmmFailure): Refused => ({ ok: false, failure: f, writes: 0 });

/** Everything before the first write: the plan, or why the snapshot is refused. */
function validate(seq: VmmSequence, vm: VgicHandle, input: unknown): { snap: VgicSnapshot; ops: Op[] } | Refused {
  let snap: VgicSnapshot;
  try {
    snap = validateSnapshot(input);
  } catch (e) {
    if (!(e instanceof SnapshotError)) throw e;
    return refused(checkFailure('validate', seq.name, 'refused', e.path === '' ? 'snapshot' : e.path, e.reason));
  }
  const incompatible = compatibility(seq, vm, snap);
  if (incompatible) return refused(incompatible);
  let ops: Op[];
  try {
    const planner = new Planner(seq, vm, snap, new SequenceRun(seq, vm, 'validate', snap.nrIrqs));
    ops = planner.plan(seq.restore, null, []);
    const unused = planner.unused();
    if (unused.length) throw new PlanError(unused[0]!, `not written by the ${seq.name} restore${unused.length > 1 ? ` (nor ${unused.length - 1} more: ${unused.slice(1, 4).join(', ')}${unused.length > 4 ? ', ...' : ''})` : ''}`);
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    return refused(checkFailure('validate', seq.name, 'refused', e.step, e.detail));
  }
  try {
    preflight(new SequenceRun(seq, vm, 'validate', snap.nrIrqs), ops);
  } catch (e) {
    if (!(e instanceof VmmAbort)) throw e;
    const f = e.failure;
    // a read the preflight needed failed: nothing was written either
    return refused(f.reaction === 'refused' ? f : { ...f, phase: 'validate', reaction: 'refused', message: f.message.replace(/; [^;]*$/, '; nothing was written') });
  }
  return { snap, ops };
}

export interface RestoreOptions {
  /**
   * Called as the restore enters each phase: 'validate' (checks and the preflight, reads only),
   * 'backup' (the destination is saved, reads only), 'restore' (the VMM's restore list),
   * 'rollback' (only after a failed write). For tests and tools that trace the accesses.
   */
  readonly onPhase?: (phase: RestorePhase) => void;
}

export type RestorePhase = 'validate' | 'backup' | 'restore' | 'rollback';

/**
 * Restore a snapshot (any untrusted value, e.g. parsed YAML) into `vm` with a VMM's restore
 * sequence. Nothing is written unless the snapshot is valid, matches the VM, is complete for
 * this sequence and passes the preflight; if a write still fails, the destination is put back as
 * it was (the result's `rollback` says whether a fresh save confirms it). Never throws: bad input
 * (hostile objects included), KVM errors and a throwing device io all end in a result.
 */
export function restoreVgic(vm: VgicHandle, vmm: VmmStyle | VmmSequence, input: unknown, opts: RestoreOptions = {}): RestoreResult {
  const phase = (p: RestorePhase): void => {
    try {
      opts?.onPhase?.(p);
    } catch {
      // an observer's mistake must not change the restore
    }
  };
  phase('validate');
  let h: VgicHandle;
  let seq: VmmSequence;
  try {
    h = readHandle(vm);
    seq = typeof vmm === 'string' ? sequenceFor(vmm, h.model) : vmm;
    if (typeof seq?.name !== 'string' || !Array.isArray(seq.restore)) throw new TypeError('not a VMM sequence');
  } catch (e) {
    return refused(checkFailure('validate', 'unknown', 'refused', 'arguments', `the VM handle or the VMM could not be used (${describeThrown(e)})`));
  }
  const checked = validateOrRefuse(seq, h, input);
  if ('ok' in checked) return checked;
  const { snap, ops } = checked;

  phase('backup');
  const backupSeq = backupSequenceFor(h.model);
  const backup = saveWith(h, backupSeq, 'none');
  if (!backup.ok) {
    const f = backup.failure;
    return refused(checkFailure('validate', seq.name, 'refused', f.step, `the destination could not be backed up first: ${f.detail}`));
  }

  phase('restore');
  const run = new SequenceRun(seq, h, 'restore', snap.nrIrqs);
  let failure: VmmFailure;
  try {
    execute(run, ops);
    return { ok: true, writes: run.writes };
  } catch (e) {
    failure = e instanceof VmmAbort ? e.failure : checkFailure('restore', seq.name, seq.onError, 'restore', `the restore stopped: ${describeThrown(e)}`);
  }
  phase('rollback');
  const report = rollback(h, backupSeq, backup.snapshot);
  const message = `${failure.message}; ${report.summary}`;
  return { ok: false, failure: { ...failure, message }, writes: run.writes, rollback: report };
}

function validateOrRefuse(seq: VmmSequence, vm: VgicHandle, input: unknown): { snap: VgicSnapshot; ops: Op[] } | Refused {
  try {
    return validate(seq, vm, input);
  } catch (e) {
    if (e instanceof VmmAbort) return refused({ ...e.failure, phase: 'validate', reaction: 'refused' });
    return refused(checkFailure('validate', seq.name, 'refused', 'snapshot', `could not be checked (${describeThrown(e)})`));
  }
}
