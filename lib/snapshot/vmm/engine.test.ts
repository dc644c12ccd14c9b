// The save/restore engine: what a failed access looks like for each VMM, and a snapshot that
// cannot be restored is refused before anything is written.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from '../../../test/tap.ts';
import {
  EBUSY,
  GICD_CTLR,
  GICD_ICENABLER,
  GICD_ISENABLER,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  type VmOptions,
  __kvmDeviceAttrSet,
  u32,
} from '../../host/index.ts';
import { SGI_BASE } from './types.ts';
import { parseSnapshotYaml, stringifySnapshot } from '../yaml-io.ts';
import { captureVgicState } from './backup.ts';
import type { VgicHandle } from './device.ts';
import { failureSummary } from './failure.ts';
import { type VmmMachine, createVmmMachine } from './machine.ts';
import { restoreVgic } from './restore.ts';
import { saveVgic } from './save.ts';
import { recorded } from '../../../test/support/snapshot-io.ts';
import type { GicModel, IidrPolicy, VgicSnapshot, VgicSnapshotV3, VmmStyle } from '../schema.ts';

const machine = (vmm: VmmStyle, model: GicModel, profile = 'series-p3', extra: { nrVcpus?: number; nrIrqs?: number; vmOptions?: Omit<VmOptions, 'profile'> } = {}): VmmMachine =>
  createVmmMachine({ vmm, model, nrVcpus: extra.nrVcpus ?? 2, profile, ...(extra.nrIrqs ? { nrIrqs: extra.nrIrqs } : {}), ...(extra.vmOptions ? { vmOptions: extra.vmOptions } : {}) });

function save(h: VgicHandle, vmm: VmmStyle, policy: IidrPolicy = 'none'): VgicSnapshot {
  const s = saveVgic(h, vmm, { iidrPolicy: policy });
  if (!s.ok) throw new Error(s.failure.message);
  return s.snapshot;
}

/** Everything a restore can change, as text. */
function capture(h: VgicHandle): string {
  const s = captureVgicState(h);
  if (!s.ok) throw new Error(s.failure.message);
  return stringifySnapshot(s.snapshot);
}

/** A deep, mutable copy through the file format. */
const copy = (s: VgicSnapshot): VgicSnapshot => parseSnapshotYaml(stringifySnapshot(s));

t.test('a failed KVM_SET_DEVICE_ATTR ends the restore where the VMM would, with register and errno', (t) => {
  for (const [vmm, reaction, words] of [['qemu', 'abort', 'QEMU aborts (error_abort)'], ['firecracker', 'error', 'Firecracker returns the error']] as const) {
    // A source whose first restored registers differ from a fresh destination's.
    const src = machine(vmm, 'v3');
    const set = (group: number, attr: number | bigint, v: number): void => void t.equal(__kvmDeviceAttrSet(src.gicFd, group, attr, u32(v)), 0);
    set(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_CTLR, 0x12);
    set(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_ISENABLER + 4, 0x0000ff00);
    set(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, SGI_BASE + GICD_ICENABLER, 0x0000000f);
    const snap = save(src.handle, vmm);
    const dst = machine(vmm, 'v3');
    const before = capture(dst.handle);
    let sets = 0;
    const { handle, io } = recorded(dst.handle, (a) => (a.dir === 'set' && ++sets === 10 ? -EBUSY : 0));
    const r = restoreVgic(handle, vmm, snap, io.restoreOptions);
    t.notOk(r.ok, `${vmm}: restore reports failure`);
    if (r.ok) continue;
    t.equal(r.failure.phase, 'restore');
    t.equal(r.failure.errno, 'EBUSY');
    t.equal(r.failure.code, EBUSY);
    t.equal(r.failure.reaction, reaction);
    t.equal(r.writes, 9, `${vmm}: the 9 writes before the failure happened`);
    t.equal(io.inPhase('restore').at(-1)!.ret, -EBUSY, 'the failing access was the last one of the restore');
    t.match(r.failure.message, new RegExp(`KVM_SET_DEVICE_ATTR .* failed: EBUSY \\(Device or resource busy\\); ${words.replace(/[()]/g, '\\$&')}; rolled back: the destination is as it was \\(\\d+ writes\\)$`));
    t.match(r.failure.step, /^(GIC[DR]_|LEVEL_INFO|ICC_)/, `${vmm}: the step names a register (${r.failure.step})`);
    t.ok(r.rollback?.unchanged, `${vmm}: rolled back`);
    t.ok((r.rollback?.writes ?? 0) > 0, `${vmm}: the rollback wrote the changed registers back`);
    t.equal(capture(dst.handle), before, `${vmm}: every register a restore can change reads as before`);
  }
  t.end();
});

t.test('KVM refuses the saved GICD_IIDR: the QEMU-style restore stops at its first write', (t) => {
  // Revision 3 (series-p3's default) on a v2-groups-flag kernel, which only takes its current
  // value (revision 2): vgic_mmio_uaccess_write_v3_misc -> EINVAL.
  const snap = save(machine('qemu', 'v3').handle, 'qemu', 'keep');
  t.equal(snap.distributor.GICD_IIDR, '0x4b00343b', 'keep saves GICD_IIDR');
  const r = restoreVgic(machine('qemu', 'v3', 'v2-groups-flag').handle, 'qemu', snap);
  t.notOk(r.ok);
  if (!r.ok) {
    t.equal(failureSummary(r.failure), 'GICD_IIDR: EINVAL');
    t.equal(r.writes, 0);
    t.equal(r.failure.reaction, 'abort');
  }
  t.end();
});

t.test('ICC_CTLR_EL1 from a host with more priority bits is EINVAL (vgic-sys-reg-v3.c set_gic_ctlr)', (t) => {
  const snap = save(machine('qemu', 'v3', 'series-p3', { vmOptions: { priBits: 7 } }).handle, 'qemu');
  t.ok('ICC_AP0R3_EL1' in snap.cpuInterfaces['0']!, '7 priority bits: QEMU saves AP0R3..0');
  const dst = machine('qemu', 'v3');
  const before = capture(dst.handle);
  const { handle, io } = recorded(dst.handle);
  const r = restoreVgic(handle, 'qemu', snap);
  t.notOk(r.ok);
  if (!r.ok) {
    // Found before the first write (preflight.ts): KVM would refuse it after ~270 writes, and its
    // refusal would lower nothing here (PRIbits 7 > 5 is the first check) -- but see the SEIS case.
    t.equal(failureSummary(r.failure), "ICC_CTLR_EL1 (vCPU 0): PRIbits 7 above the destination's 5: KVM refuses it (set_gic_ctlr: EINVAL)");
    t.equal(r.failure.reaction, 'refused');
    t.equal(r.writes, 0);
  }
  t.equal(io.sets(), 0, 'nothing written');
  t.equal(capture(dst.handle), before);
  t.end();
});

t.test('Firecracker refuses an AP pattern the destination does not have (GicError::InvalidVgicSysRegState)', (t) => {
  const snap = copy(save(machine('firecracker', 'v3').handle, 'firecracker')) as VgicSnapshotV3;
  delete snap.cpuInterfaces['1']!.ICC_AP1R0_EL1;
  const dst = machine('firecracker', 'v3');
  const before = capture(dst.handle);
  const { handle, io } = recorded(dst.handle);
  const r = restoreVgic(handle, 'firecracker', snap);
  t.notOk(r.ok);
  if (!r.ok) {
    t.equal(r.failure.step, 'ICC_AP1R0_EL1 (vCPU 1)');
    t.match(r.failure.detail, /^InvalidVgicSysRegState: absent in the snapshot, available with 5 priority bits/);
    // Firecracker itself finds it after restoring the distributor and vCPU 0; the preflight
    // finds it before the first write.
    t.equal(r.failure.reaction, 'refused');
    t.equal(r.writes, 0);
  }
  t.equal(io.sets(), 0, 'nothing written');
  t.equal(capture(dst.handle), before);
  t.end();
});

t.test('a save that cannot read reports it (vCPU inside KVM_RUN: EBUSY)', (t) => {
  const m = machine('qemu', 'v3');
  m.vcpus[1]!.running = true;
  const s = saveVgic(m.handle, 'qemu');
  t.notOk(s.ok);
  if (!s.ok) {
    t.equal(s.failure.phase, 'save');
    t.equal(failureSummary(s.failure), 'GICD_TYPER: EBUSY');
  }
  t.end();
});

t.test('a snapshot that cannot be restored is refused before anything is written', (t) => {
  const v3 = save(machine('qemu', 'v3').handle, 'qemu');
  const cases: Array<[string, () => unknown, VmmMachine, RegExp]> = [
    ['not a snapshot', () => 'vgicSnapshot: 1', machine('qemu', 'v3'), /^snapshot: expected a mapping/],
    ['schema: bad hex', () => ({ ...copy(v3), distributor: { ...v3.distributor, GICD_CTLR: '0x52' } }), machine('qemu', 'v3'), /^distributor\.GICD_CTLR: expected 0x \+ 8 hex digits/],
    ['schema: unknown version', () => ({ ...copy(v3), vgicSnapshot: 2 }), machine('qemu', 'v3'), /^vgicSnapshot: unsupported schema version/],
    ['more vCPUs at the destination', () => v3, machine('qemu', 'v3', 'series-p3', { nrVcpus: 3 }), /^vcpus: snapshot has vCPUs \[0@0x00000000, 1@0x00000001\], the destination VM \[0@0x00000000, 1@0x00000001, 2@0x00000002\]/],
    ['another MPIDR', () => ({ ...copy(v3), vcpus: [{ id: 0, mpidr: '0x00000000' }, { id: 1, mpidr: '0x00000100' }] }), machine('qemu', 'v3'), /^vcpus: /],
    ['another nr_irqs', () => v3, machine('qemu', 'v3', 'series-p3', { nrIrqs: 256 }), /^nrIrqs: snapshot has 288 IRQs, the destination VM 256/],
    ['another GIC model', () => save(machine('qemu', 'v2').handle, 'qemu'), machine('qemu', 'v3'), /^model: snapshot is GICv2, the destination VM GICv3/],
    ['another VMM', () => save(machine('firecracker', 'v3', 'series-p3', { nrIrqs: 288 }).handle, 'firecracker'), machine('qemu', 'v3'), /^source\.vmm: a firecracker snapshot cannot be restored by the qemu-v3 sequence/],
    [
      'a register the restore needs is missing',
      () => {
        const s = copy(v3) as VgicSnapshotV3;
        delete s.redistributors['1']!.GICR_ISENABLER0;
        return s;
      },
      machine('qemu', 'v3'),
      /^redistributors\.1\.GICR_ISENABLER0: missing: the qemu-v3 restore writes it/,
    ],
    ['a register the restore would ignore', () => ({ ...copy(v3), distributor: { ...v3.distributor, GICD_TYPER: '0x00000008' } }), machine('qemu', 'v3'), /^distributor\.GICD_TYPER: not written by the qemu-v3 restore/],
    ["'keep' without GICD_IIDR", () => ({ ...copy(v3), source: { ...v3.source, iidrPolicy: 'keep' } }), machine('qemu', 'v3'), /^distributor\.GICD_IIDR: missing/],
  ];
  for (const [what, make, dst, re] of cases) {
    const before = stringifySnapshot(save(dst.handle, 'qemu'));
    const { handle, io } = recorded(dst.handle);
    const r = restoreVgic(handle, 'qemu', make());
    t.notOk(r.ok, `${what}: refused`);
    if (r.ok) continue;
    t.equal(r.failure.phase, 'validate', `${what}: at validation`);
    t.equal(r.failure.reaction, 'refused');
    t.match(`${r.failure.step}: ${r.failure.detail}`, re, `${what}: ${r.failure.step}: ${r.failure.detail}`);
    t.equal(io.sets(), 0, `${what}: no KVM_SET_DEVICE_ATTR at all`);
    t.equal(r.writes, 0);
    t.equal(stringifySnapshot(save(dst.handle, 'qemu')), before, `${what}: the destination is unchanged`);
  }
  t.end();
});

t.test('the IIDR policies: keep writes the saved value, revN pins the revision, none writes nothing', (t) => {
  const iidrWrites = (policy: IidrPolicy, profile: string): string[] => {
    const snap = save(machine('qemu', 'v2', profile).handle, 'qemu', policy);
    const { handle, io } = recorded(machine('qemu', 'v2', profile).handle);
    const r = restoreVgic(handle, 'qemu', snap);
    t.ok(r.ok, `${policy} on ${profile} restores`);
    return io.log.filter((a) => a.dir === 'set' && a.group === 1 && a.offset === 8).map((a) => `0x${a.value!.toString(16)}`);
  };
  t.same(iidrWrites('none', 'series-p3'), []);
  t.same(iidrWrites('keep', 'series-p3'), ['0x4b00343b']);
  t.same(iidrWrites('rev2', 'series-p3'), ['0x4b00243b']);
  t.same(iidrWrites('rev1', 'series-p1'), ['0x4b00143b']);
  const snap = save(machine('qemu', 'v2').handle, 'qemu', 'rev2');
  t.equal(snap.distributor.GICD_IIDR, undefined, 'a pinned revision is not saved');
  t.equal(snap.source.iidrPolicy, 'rev2', 'the policy is recorded');
  t.end();
});

t.test('restoring from YAML text read back from a file', (t) => {
  const dir = t.testdir({});
  const m = machine('qemu', 'v2');
  const text = stringifySnapshot(save(m.handle, 'qemu', 'keep'));
  const file = join(dir, 'snap.yaml');
  writeFileSync(file, text);
  const dst = machine('qemu', 'v2');
  const r = restoreVgic(dst.handle, 'qemu', parseSnapshotYaml(readFileSync(file, 'utf8')));
  t.ok(r.ok);
  t.equal(stringifySnapshot(save(dst.handle, 'qemu', 'keep')), text, 'the destination saves the same file');
  t.end();
});
