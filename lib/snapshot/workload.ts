// A migration as the harness runs it, end to end, for the migration selftest and the
// `vgic-harness snapshot` commands: build a VM the way a VMM does, let a guest configure its
// interrupt state (guests/vgic_state_workload.ts) and record what it reads back, save it; then
// restore into a fresh VM on another host-kernel profile and let a guest there name every
// register that no longer reads what the source guest saw.
//
// Failures come back as a WorkloadError (with the guest's ucall when a guest failed), never as
// a test assertion: callers decide (the selftest turns them into testFail/REPORT_GUEST_ASSERT,
// the CLI into a message).

import { layoutGlobals } from '../../guests/vgic_actions.ts';
import {
  type WorkloadName,
  vgicStateCheckGuest,
  vgicStateWorkloadGuest,
  workloadGlobals as G,
} from '../../guests/vgic_state_workload.ts';
import {
  type KvmVcpu,
  UCALL_DONE,
  UCALL_SYNC,
  type Ucall,
  getUcall,
  isGuestFailure,
  syncGlobalFromGuest,
  syncGlobalToGuest,
  vcpuRun,
} from '../host/index.ts';
import type { GicModel, IidrPolicy, VgicSnapshot, VmmStyle } from './schema.ts';
import { type VmmMachine, createVmmMachine } from './vmm/machine.ts';
import { type RestoreResult, restoreVgic } from './vmm/restore.ts';
import { type SaveResult, saveVgic } from './vmm/save.ts';

export type { WorkloadName } from '../../guests/vgic_state_workload.ts';
/** What `snapshot save` can run: a guest workload, or nothing (the VM's reset state). */
export type WorkloadChoice = WorkloadName | 'none';
export const WORKLOADS: readonly WorkloadChoice[] = ['state', 'groups', 'none'];

/** A guest that did not reach the ucall it should have. */
export class WorkloadError extends Error {
  constructor(
    message: string,
    /** The ucall the vCPU exited with, when a guest failed (UCALL_ABORT / UCALL_UNHANDLED). */
    readonly ucall?: Ucall,
  ) {
    super(message);
    this.name = 'WorkloadError';
  }
}

/** Run a vCPU until it exits to userspace with `cmd`. */
function runTo(v: KvmVcpu, cmd: number, what: string): void {
  vcpuRun(v);
  const uc = getUcall(v);
  if (isGuestFailure(uc)) throw new WorkloadError(`${what}: vCPU ${v.id}: ${uc.buffer}`, uc);
  if (uc.cmd !== cmd) throw new WorkloadError(`${what}: vCPU ${v.id} exited with ucall ${uc.cmd}, expected ${cmd}`);
}

/** Tell the guests where the GIC frames are, as the VMM's firmware tables would. */
function shareLayout(m: VmmMachine): void {
  layoutGlobals.vgic_layout = { model: m.spec.model, ...m.layout };
  syncGlobalToGuest(m.vm, layoutGlobals, 'vgic_layout');
}

function setWorkload(m: VmmMachine, name: WorkloadName): void {
  G.vgic_workload = name;
  syncGlobalToGuest(m.vm, G, 'vgic_workload');
}

export interface SourceSpec {
  readonly vmm: VmmStyle;
  readonly model: GicModel;
  readonly profile: string;
  readonly nrVcpus: number;
  /** Default: the VMM's (QEMU virt 288, Firecracker 128). */
  readonly nrIrqs?: number;
  readonly workload: WorkloadChoice;
}

export interface Source {
  readonly machine: VmmMachine;
  /** Probe name -> what the source guest read (empty for 'none'). */
  readonly observed: Readonly<Record<string, string>>;
}

/**
 * Build the source VM, run the workload on every vCPU (each to its GUEST_SYNC, then each to
 * GUEST_DONE) and collect what the guests observed. The caller disposes of the machine.
 */
export function runSource(spec: SourceSpec): Source {
  const workload = spec.workload;
  const m = createVmmMachine({
    vmm: spec.vmm,
    model: spec.model,
    nrVcpus: spec.nrVcpus,
    profile: spec.profile,
    guestCode: workload === 'none' ? null : vgicStateWorkloadGuest,
    ...(spec.nrIrqs !== undefined ? { nrIrqs: spec.nrIrqs } : {}),
  });
  if (workload === 'none') return { machine: m, observed: {} };
  try {
    shareLayout(m);
    setWorkload(m, workload);
    G.vgic_observed = {};
    syncGlobalToGuest(m.vm, G, 'vgic_observed');
    for (const v of m.vcpus) runTo(v, UCALL_SYNC, `workload on ${spec.profile}`);
    for (const v of m.vcpus) runTo(v, UCALL_DONE, `workload on ${spec.profile}`);
    syncGlobalFromGuest(m.vm, G, 'vgic_observed');
    return { machine: m, observed: G.vgic_observed };
  } catch (e) {
    m.dispose();
    throw e;
  }
}

/** Run the workload on a source and save it with its VMM's sequence. */
export function saveSource(spec: SourceSpec, iidrPolicy: IidrPolicy): { observed: Readonly<Record<string, string>>; saved: SaveResult } {
  const src = runSource(spec);
  try {
    return { observed: src.observed, saved: saveVgic(src.machine.handle, spec.vmm, { iidrPolicy }) };
  } finally {
    src.machine.dispose();
  }
}

export interface Destination {
  readonly machine: VmmMachine;
  readonly restore: RestoreResult;
  /** After a successful restore with a workload: probes that read differently, and every probe's value now. */
  readonly lost?: readonly string[];
  readonly now?: Readonly<Record<string, string>>;
}

/**
 * Build a fresh VM on `profile` the way the snapshot's VMM builds one (same GIC model, vCPU
 * count and nr_irqs), restore the snapshot into it, and -- when `observed` comes from a workload
 * -- let a guest on it read every probe again. The caller disposes of the machine.
 */
export function restoreInto(snapshot: VgicSnapshot, profile: string, workload: WorkloadChoice, observed: Readonly<Record<string, string>>): Destination {
  const m = createVmmMachine({
    vmm: snapshot.source.vmm,
    model: snapshot.model,
    nrVcpus: snapshot.vcpus.length,
    nrIrqs: snapshot.nrIrqs,
    profile,
    guestCode: workload === 'none' ? null : vgicStateCheckGuest,
  });
  try {
    const r = restoreVgic(m.handle, snapshot.source.vmm, snapshot);
    if (!r.ok || workload === 'none') return { machine: m, restore: r };
    shareLayout(m);
    setWorkload(m, workload);
    G.vgic_observed = observed;
    G.vgic_lost = [];
    G.vgic_now = {};
    for (const name of ['vgic_observed', 'vgic_lost', 'vgic_now'] as const) syncGlobalToGuest(m.vm, G, name);
    for (const v of m.vcpus) runTo(v, UCALL_DONE, `check on ${profile}`);
    syncGlobalFromGuest(m.vm, G, 'vgic_lost');
    syncGlobalFromGuest(m.vm, G, 'vgic_now');
    return { machine: m, restore: r, lost: [...G.vgic_lost], now: { ...G.vgic_now } };
  } catch (e) {
    m.dispose();
    throw e;
  }
}
