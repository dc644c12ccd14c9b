// The VMM sequences replay the sources' access order. Expected orders are written from the
// source files (cited per test), not from the engine's output.

import t from '../../../test/tap.ts';
import {
  GICD_IROUTER,
  GICR_PROPBASER,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  KVM_DEV_TYPE_ARM_VGIC_ITS,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  kvmCreateDevice,
  u32,
} from '../../host/index.ts';
import { createVmmMachine } from './machine.ts';
import { restoreVgic } from './restore.ts';
import { saveVgic } from './save.ts';
import { recorded, show } from '../../../test/support/snapshot-io.ts';

const PROFILE = 'series-p3';

t.test('QEMU GICv3 put (arm_gicv3_kvm.c kvm_arm_gicv3_put): order and clear values', (t) => {
  const src = createVmmMachine({ vmm: 'qemu', model: 'v3', nrVcpus: 2, nrIrqs: 64, profile: PROFILE });
  const s = saveVgic(src.handle, 'qemu');
  if (!s.ok) throw new Error(s.failure.message);
  const dst = createVmmMachine({ vmm: 'qemu', model: 'v3', nrVcpus: 2, nrIrqs: 64, profile: PROFILE });
  const { handle, io } = recorded(dst.handle);
  const r = restoreVgic(handle, 'qemu', s.snapshot, io.restoreOptions);
  t.ok(r.ok, 'restored');
  const log = io.inPhase('restore').map(show); // not the harness's own checks, preflight and backup (reads only)
  t.notOk(io.log.some((a) => a.dir === 'set' && a.phase !== 'restore'), 'the harness itself writes nothing');
  const redist = (v: number): string[] => [
    `set REDIST v${v} 0x0 = 0x6`, // GICR_CTLR as saved: IR|CES at revision 3 (written back, WI)
    `set REDIST v${v} 0x10 = 0x0`, // GICR_STATUSR
    `set REDIST v${v} 0x14 = 0x0`, // GICR_WAKER
    `set REDIST v${v} 0x10080 = 0xffffffff`, // GICR_IGROUPR0
    `set REDIST v${v} 0x10180 = 0xffffffff`, // GICR_ICENABLER0 = ~0
    `set REDIST v${v} 0x10100 = 0xffff`, // GICR_ISENABLER0
    `set REDIST v${v} 0x10c04 = 0x0`, // GICR_ICFGR1 (ICFGR0 never written)
    `set LEVEL${v ? ` v${v}` : ''} 0x0 = 0x0`, // LEVEL_INFO vINTID 0 (vCPU 0's MPIDR is 0)
    `set REDIST v${v} 0x10280 = 0xffffffff`, // GICR_ICPENDR0 = ~0
    `set REDIST v${v} 0x10200 = 0x0`, // GICR_ISPENDR0
    `set REDIST v${v} 0x10380 = 0xffffffff`, // GICR_ICACTIVER0 = ~0
    `set REDIST v${v} 0x10300 = 0x0`, // GICR_ISACTIVER0
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `set REDIST v${v} 0x${(0x10400 + 4 * i).toString(16)} = 0x0`),
  ];
  const head = [
    'get DIST 0x4', // kvm_arm_gicv3_check: GICD_TYPER
    'get REDIST v0 0x8', // GICR_TYPER lo of CPU 0
    'get REDIST v0 0xc', // and hi
    'set DIST 0x0 = 0x50', // GICD_CTLR (no PLPIS, so no LPI bases)
    ...redist(0),
    ...redist(1),
    'set DIST 0x10 = 0xffffffff', // GICD_STATUSR
    'set DIST 0x184 = 0x0', // kvm_dist_putbmp: clear register written with 0 ...
    'set DIST 0x104 = 0x0', // ... then GICD_ISENABLER1
    'set DIST 0x84 = 0xffffffff', // GICD_IGROUPR1 (no clear register)
  ];
  t.same(log.slice(0, head.length), head, 'checks, GICD_CTLR, redistributors, then STATUSR/ENABLE/GROUP');
  // IROUTER for IRQ i at GICD_IROUTER + 4 * i (lo) and + 4 (hi), i = 32..63.
  const irouter = log.slice(head.length, head.length + 64);
  t.same(irouter.slice(0, 4), ['set DIST 0x6080 = 0x0', 'set DIST 0x6084 = 0x0', 'set DIST 0x6084 = 0x0', 'set DIST 0x6088 = 0x0']);
  t.equal(irouter[63], `set DIST 0x${(GICD_IROUTER + 4 * 63 + 4).toString(16)} = 0x0`, 'last router word: IRQ 63 hi at 0x6100');
  const rest = log.slice(head.length + 64);
  t.same(rest.slice(0, 9), [
    'set DIST 0xc08 = 0xaaaaaaaa', // GICD_ICFGR2..3: config before pending
    'set DIST 0xc0c = 0xaaaaaaaa',
    'set LEVEL 0x20 = 0x0', // SPI line levels via CPU 0
    'set DIST 0x284 = 0x0', // ICPENDR (0) then ISPENDR
    'set DIST 0x204 = 0x0',
    'set DIST 0x384 = 0x0', // ICACTIVER (0) then ISACTIVER
    'set DIST 0x304 = 0x0',
    'set DIST 0x420 = 0x0', // GICD_IPRIORITYR8..15
    'set DIST 0x424 = 0x0',
  ]);
  const icc = (v: number): string[] =>
    ['ICC_SRE_EL1 = 0x7', 'ICC_CTLR_EL1 = 0x8400', 'ICC_IGRPEN0_EL1 = 0x0', 'ICC_IGRPEN1_EL1 = 0x0', 'ICC_PMR_EL1 = 0x0', 'ICC_BPR0_EL1 = 0x0', 'ICC_BPR1_EL1 = 0x0', 'ICC_AP0R0_EL1 = 0x0', 'ICC_AP1R0_EL1 = 0x0'].map((x) => `set SYSREG v${v} ${x}`);
  t.same(log.slice(-18), [...icc(0), ...icc(1)], 'CPU interfaces last, AP0R then AP1R sized by PRIbits (5 bits: index 0 only)');
  t.notOk(log.some((l) => /^(get|set) DIST 0x8( |$)/.test(l)), 'GICD_IIDR never touched without an IIDR policy');
  t.end();
});

t.test("QEMU GICv3 IROUTER stride: only routers 32..nr_irqs/2 travel, under other IRQs' names", (t) => {
  const src = createVmmMachine({ vmm: 'qemu', model: 'v3', nrVcpus: 2, nrIrqs: 128, profile: PROFILE });
  // Route SPI 40 and SPI 100 to vCPU 1 (affinity 0.0.0.1).
  for (const i of [40, 100]) t.equal(__kvmDeviceAttrSet(src.gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_IROUTER + 8 * i, u32(1)), 0);
  const s = saveVgic(src.handle, 'qemu');
  if (!s.ok) throw new Error(s.failure.message);
  const d = s.snapshot.distributor;
  // QEMU's "IROUTER80" is read at 0x6000 + 4*80 = IROUTER[40].lo; its "IROUTER79" hi word too.
  t.equal(d.GICD_IROUTER80, '0x0000000000000001');
  t.equal(d.GICD_IROUTER79, '0x0000000100000000');
  t.equal(d.GICD_IROUTER40, '0x0000000000000000', 'QEMU\'s "IROUTER40" reads IROUTER[20], private and RAZ');
  t.notOk(Object.values(d).some((v, i) => Object.keys(d)[i]!.startsWith('GICD_IROUTER') && v !== '0x0000000000000000' && !['GICD_IROUTER80', 'GICD_IROUTER79'].includes(Object.keys(d)[i]!)), 'SPI 100 (above nr_irqs/2 = 64) is in no saved word');
  const dst = createVmmMachine({ vmm: 'qemu', model: 'v3', nrVcpus: 2, nrIrqs: 128, profile: PROFILE });
  t.ok(restoreVgic(dst.handle, 'qemu', s.snapshot).ok);
  const router = (i: number): number => {
    const b = u32();
    __kvmDeviceAttrGet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_IROUTER + 8 * i, b);
    return b.value;
  };
  t.equal(router(40), 1, 'SPI 40 still routed to vCPU 1');
  t.equal(router(100), 0, 'SPI 100 back to affinity 0');
  t.end();
});

t.test('QEMU GICv2 get/put (arm_gic_kvm.c): IIDR read and discarded, banked words per CPU', (t) => {
  const src = createVmmMachine({ vmm: 'qemu', model: 'v2', nrVcpus: 2, nrIrqs: 64, profile: PROFILE });
  const rs = recorded(src.handle);
  const s = saveVgic(rs.handle, 'qemu');
  if (!s.ok) throw new Error(s.failure.message);
  const saveLog = rs.io.log.filter((a) => a.group !== 3).map(show);
  t.same(saveLog.slice(0, 5), ['get DIST 0x0', 'get DIST 0x4', 'get DIST 0x8', 'get DIST 0x80', 'get DIST v1 0x80'], 'CTLR, TYPER, IIDR ("GICD_IIDR -> ?"), IGROUPR0 for CPU 0 and CPU 1');
  t.equal(saveLog[5], 'get DIST 0x84', 'IGROUPR1 (SPIs) only for CPU 0');
  t.equal(s.snapshot.distributor.GICD_IIDR, undefined, 'the IIDR read is discarded');
  t.same(saveLog.filter((l) => l.includes('0xf1')), ['get DIST 0xf10', 'get DIST v1 0xf10', 'get DIST 0xf14', 'get DIST v1 0xf14', 'get DIST 0xf18', 'get DIST v1 0xf18', 'get DIST 0xf1c', 'get DIST v1 0xf1c'], 'CPENDSGIR0..3 per CPU');

  const dst = createVmmMachine({ vmm: 'qemu', model: 'v2', nrVcpus: 2, nrIrqs: 64, profile: PROFILE });
  const rd = recorded(dst.handle);
  t.ok(restoreVgic(rd.handle, 'qemu', s.snapshot, rd.io.restoreOptions).ok);
  const putLog = rd.io.inPhase('restore').map(show);
  t.same(putLog.slice(0, 5), ['set DIST 0x0 = 0x0', 'get DIST 0x4', 'set DIST 0x180 = 0xffffffff', 'set DIST v1 0x180 = 0xffffffff', 'set DIST 0x184 = 0xffffffff'], 'GICD_CTLR, the TYPER check, then ICENABLER = ~0 (banked word per CPU)');
  const firstOf = (prefix: string): number => putLog.findIndex((l) => l.startsWith(prefix));
  const order = ['set DIST 0x100', 'set DIST 0x80', 'set DIST 0x800', 'set DIST 0xc00', 'set DIST 0x280', 'set DIST 0x200', 'set DIST 0x380', 'set DIST 0x300', 'set DIST 0x400', 'set DIST 0xf10', 'set DIST 0xf20', 'set CPU v0 0x0'];
  const at = order.map(firstOf);
  t.ok(at.every((x, i) => x > 0 && (i === 0 || x > at[i - 1]!)), `put order ENABLE, GROUP, TARGETS, CONFIG, PENDING, ACTIVE, PRIORITY, SGI sources, CPU interface (${at.join(' < ')})`);
  t.notOk(putLog.some((l) => l.startsWith('set DIST 0x8 ') || l.startsWith('set DIST v1 0x8 ')), 'GICD_IIDR never written ("TODO: Consider checking compatibility with the IIDR ?")');
  t.same(putLog.slice(-16).map((l) => l.split(' = ')[0]), [0, 1].flatMap((v) => ['0x0', '0x4', '0x8', '0x1c', '0xd0', '0xd4', '0xd8', '0xdc'].map((o) => `set CPU v${v} ${o}`)), 'GICC CTLR, PMR, BPR, ABPR, APR0..3 per CPU');
  t.end();
});

t.test('Firecracker GICv3 (gicv3/regs): save redistributors+ICC then distributor; restore distributor first, clear registers with the saved readback', (t) => {
  const src = createVmmMachine({ vmm: 'firecracker', model: 'v3', nrVcpus: 2, profile: PROFILE });
  const rs = recorded(src.handle);
  const s = saveVgic(rs.handle, 'firecracker');
  if (!s.ok) throw new Error(s.failure.message);
  const saveLog = rs.io.log.filter((a) => a.group !== 3).map(show);
  t.equal(saveLog[0], 'set CTRL 0x3', 'KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES first');
  t.same(saveLog.slice(1, 6), ['get REDIST v0 0x10', 'get REDIST v0 0x14', 'get REDIST v0 0x70', 'get REDIST v0 0x74', 'get REDIST v0 0x78'], 'STATUSR, WAKER, PROPBASER lo/hi, PENDBASER ...');
  t.equal(saveLog[7], 'get REDIST v0 0x0', 'GICR_CTLR after the LPI bases');
  const firstDist = saveLog.findIndex((l) => l.startsWith('get DIST'));
  t.ok(saveLog.slice(0, firstDist).some((l) => l.startsWith('get SYSREG v1')), 'both vCPUs before the distributor');
  t.ok(saveLog.slice(0, firstDist).filter((l) => l === 'get SYSREG v0 ICC_CTLR_EL1').length === 2, 'ICC_CTLR_EL1 read again for the AP bank size');
  t.equal(s.snapshot.distributor.GICD_ICENABLER1, '0x00000000', 'clear registers are saved too');

  const dst = createVmmMachine({ vmm: 'firecracker', model: 'v3', nrVcpus: 2, profile: PROFILE });
  const rd = recorded(dst.handle);
  t.ok(restoreVgic(rd.handle, 'firecracker', s.snapshot, rd.io.restoreOptions).ok);
  const putLog = rd.io.inPhase('restore').map(show);
  t.same(putLog.slice(0, 3), ['set DIST 0x0 = 0x50', 'set DIST 0x10 = 0xffffffff', 'set DIST 0x184 = 0x0'], 'GICD_CTLR, STATUSR, then ICENABLER1 with the saved readback (not ~0)');
  t.ok(putLog.includes('set REDIST v1 0x10180 = 0xffff'), 'GICR_ICENABLER0 written with the saved enabled bits');
  const lastDist = putLog.map((l) => l.startsWith('set DIST')).lastIndexOf(true);
  t.ok(putLog.slice(0, lastDist).every((l) => !l.startsWith('set REDIST')), 'no redistributor access before the whole distributor');
  t.end();
});

t.test('Firecracker GICv2 (gicv2/regs): every CPU-interface access names cpu 0; no banked words or ITARGETSR', (t) => {
  const src = createVmmMachine({ vmm: 'firecracker', model: 'v2', nrVcpus: 2, profile: PROFILE });
  const rs = recorded(src.handle);
  const s = saveVgic(rs.handle, 'firecracker');
  if (!s.ok) throw new Error(s.failure.message);
  const cpu = rs.io.log.filter((a) => a.group === 2);
  t.equal(cpu.length, 16, '8 GICC registers for each of the 2 vCPUs');
  t.ok(cpu.every((a) => a.upper === 0), 'attr cpu field is 0 for vCPU 1 too');
  const dist = rs.io.log.filter((a) => a.group === KVM_DEV_ARM_VGIC_GRP_DIST_REGS);
  t.notOk(dist.some((a) => a.offset >= 0x800 && a.offset < 0xc00), 'no GICD_ITARGETSR');
  t.notOk(dist.some((a) => a.offset >= 0x80 && a.offset < 0xc00 && a.offset % 0x80 === 0), 'no banked word 0 of any per-IRQ register');
  t.ok(dist.some((a) => a.offset === 0xf10) && dist.some((a) => a.offset === 0xf20), 'CPENDSGIR/SPENDSGIR as simple registers');
  t.end();
});

t.test('QEMU GICv3 with an ITS (GICR_TYPER.PLPIS): LPI bases saved, and restored before GICR_CTLR', (t) => {
  const withIts = (): ReturnType<typeof createVmmMachine> => {
    const m = createVmmMachine({ vmm: 'qemu', model: 'v3', nrVcpus: 2, nrIrqs: 64, profile: PROFILE });
    kvmCreateDevice(m.vm, KVM_DEV_TYPE_ARM_VGIC_ITS); // makes vgic_has_its() true: PLPIS, EnableLPIs writable
    return m;
  };
  const src = withIts();
  // A PROPBASER the guest could have programmed (KVM sanitises it; shared by all redistributors).
  t.equal(__kvmDeviceAttrSet(src.gicFd, KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, GICR_PROPBASER, u32(0x40000f8f)), 0);
  const s = saveVgic(src.handle, 'qemu');
  if (!s.ok) throw new Error(s.failure.message);
  const rd = s.snapshot.model === 'v3' ? s.snapshot.redistributors : {};
  t.ok(rd['0']?.GICR_PROPBASER && rd['1']?.GICR_PENDBASER, 'bases saved for every vCPU');
  const order = Object.keys(rd['0'] ?? {});
  t.ok(order.indexOf('GICR_PROPBASER') > order.indexOf('GICR_IPRIORITYR7'), 'get: after the SGI-frame registers (the PLPIS block follows the redistributor loop)');
  const dst = withIts();
  const io = recorded(dst.handle);
  t.ok(restoreVgic(io.handle, 'qemu', s.snapshot, io.io.restoreOptions).ok);
  const log = io.io.inPhase('restore').filter((a) => a.dir === 'set').map(show);
  const ctlr = log.indexOf('set REDIST v0 0x0 = 0x6');
  t.same(log.slice(1, 9).map((l) => l.split(' = ')[0]), ['v0 0x70', 'v0 0x74', 'v0 0x78', 'v0 0x7c', 'v1 0x70', 'v1 0x74', 'v1 0x78', 'v1 0x7c'].map((x) => `set REDIST ${x}`), 'PROPBASER lo/hi, PENDBASER lo/hi per vCPU right after GICD_CTLR');
  t.ok(ctlr > 8, 'then GICR_CTLR ("Restore base addresses before LPIs are potentially enabled")');
  t.end();
});
