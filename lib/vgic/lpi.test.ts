// LPIs: GICR_CTLR.EnableLPIs with the pending-table sync and the flush, GICR_INVLPIR /
// GICR_INVALLR / GICR_SYNCR (vgic-mmio-v3.c: vgic_mmio_write_v3r_ctlr, vgic_mmio_write_invlpi,
// vgic_mmio_write_invall, vgic_mmio_read_sync; vgic-its.c: its_sync_lpi_pending_table,
// vgic_its_invall; vgic.c: vgic_flush_pending_lpis; vgic-v3.c: vgic_v3_save_pending_tables), and
// delivery to a guest through the CPU interface: priority from the property table, group 1,
// edge, no active state.

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  GICR_CTLR,
  GICR_INVALLR,
  GICR_INVLPIR,
  GICR_PENDBASER,
  GICR_SYNCR,
  GICR_BASE_GVA,
  GITS_CMD_INT,
  GITS_CMD_INV,
  GITS_CMD_INVALL,
  ICC_CTLR_EL1,
  ICC_CTLR_EL1_EOImode,
  ICC_DIR_EL1,
  ICC_EOIR1_EL1,
  ICC_IAR0_EL1,
  ICC_IAR1_EL1,
  ICC_PMR_EL1,
  gicInit,
  gicIrqEnable,
  gicIrqSetPending,
  gicSetPriority,
  GIC_V3,
  newCmd,
} from '../guest/index.ts';
import { EBUSY } from '../uapi/errno.ts';
import { KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES, __kvmDeviceAttrSet, vcpuSetGuestCode } from '../host/index.ts';
import { type ItsFix, PEND_TABLES, cmds, itsVm } from '../../test/support/its.ts';
import { hex, rdGet, rdSet, runUntilSync } from '../../test/support/vgic.ts';
import { acknowledge, deactivate, endOfInterrupt, runningPriority } from './cpuif.ts';
import { queueIrq } from './ap-list.ts';

const { mapc, mapti, devEv } = cmds;
const mapd = (dev: number) => cmds.mapd(dev);

/** Collections 0/1 on vCPUs 0/1; device 1: event e -> LPI 8192 + e, events 0..3 on vCPU 0, 4..7 on vCPU 1. */
function lpiVm(o: { lpis?: boolean } = {}): ItsFix {
  const f = itsVm({ nrVcpus: 2, lpis: o.lpis ?? true });
  for (let e = 0; e < 8; e++) f.setProp(8192 + e, 0xa1); // priority 0xa0, enabled
  const r = [f.cmd(mapc(0, 0)), f.cmd(mapc(1, 1)), f.cmd(mapd(1))];
  for (let e = 0; e < 8; e++) r.push(f.cmd(mapti(1, e, 8192 + e, e < 4 ? 0 : 1)));
  if (r.some((x) => x !== 0)) throw new Error(`setup: ${r}`);
  return f;
}
const lpi = (f: ItsFix, intid: number) => f.vm.dist.lpis.get(intid)!;
const pendByte = (vcpu: number, intid: number): number => PEND_TABLES + vcpu * 0x10000 + Math.floor(intid / 8);

t.test('EnableLPIs 0 -> 1 syncs the pending table (unless PTZ), 1 -> 0 flushes queued LPIs', (t) => {
  const f = lpiVm({ lpis: false });
  t.equal(f.msi(1, 0), -EBUSY, 'LPIs off on the target: MSI -EBUSY');
  // 8192 pending in vCPU 0's table; 8193 pending in the model but clear in the table
  f.vm.memory.write(pendByte(0, 8192), 1, 0x01);
  lpi(f, 8193).pendingLatch = true;
  f.enableLpis(0);
  t.equal(hex(rdGet(f.fd, f.vcpus[0]!.mpidr, GICR_CTLR).value & 1), hex(1), 'GICR_CTLR.EnableLPIs reads 1');
  t.equal(lpi(f, 8192).pendingLatch, true, 'pending bit taken from the table');
  t.equal(lpi(f, 8193).pendingLatch, false, 'a clear bit clears the pending state (its_sync_lpi_pending_table)');
  t.equal(f.vm.memory.read(pendByte(0, 8192), 1), 1, 'the table bit is not consumed here (unlike at MAPTI)');
  // vCPU 1 with PTZ: no sync
  rdSet(f.fd, f.vcpus[1]!.mpidr, GICR_PENDBASER + 4, 1 << 30);
  f.vm.memory.write(pendByte(1, 8196), 1, 0x10);
  f.enableLpis(1);
  t.equal(lpi(f, 8196).pendingLatch, false, 'PENDBASER.PTZ: the table is not read');
  t.equal(hex(rdGet(f.fd, f.vcpus[1]!.mpidr, GICR_PENDBASER + 4).value), hex(0), 'PTZ reads as 0');
  // 1 -> 0: LPIs queued on vCPU 0's ap_list (enabled, pending, distributor enabled) lose their pending state
  f.vm.dist.enabled = true;
  f.setProp(8194, 0xa0); // disabled
  t.equal(f.cmd(devEv(GITS_CMD_INV, 1, 2)), 0, 'INV device 1 event 2');
  t.equal(lpi(f, 8194).enabled, false, '8194 disabled by INV');
  t.equal(f.msi(1, 2), 1, '8194 pending (not queued: disabled)');
  t.equal(f.msi(1, 0), 1, '8192 pending again');
  t.equal(f.its.translationCache.size, 2, 'two cached translations');
  f.enableLpis(0, false);
  t.equal(lpi(f, 8192).pendingLatch, false, 'queued LPI flushed (vgic_flush_pending_lpis)');
  t.equal(lpi(f, 8194).pendingLatch, true, 'a pending but disabled LPI was not on the ap_list: kept');
  t.equal(f.its.translationCache.size, 0, 'every translation cache invalidated');
  t.equal(f.msi(1, 0), -EBUSY, 'so the next MSI takes the slow path: -EBUSY');
  t.end();
});

t.test('GICR_INVLPIR and GICR_INVALLR re-read property bytes; GICR_SYNCR reads 0', (t) => {
  const f = lpiVm();
  const rd = (v: number): number => GICR_BASE_GVA + v * 0x20000;
  f.setProp(8192, 0x30); // vCPU 0
  f.setProp(8193, 0x50); // vCPU 0
  f.setProp(8196, 0x70); // vCPU 1
  vcpuSetGuestCode(f.vcpus[0]!, function* (g: Guest): GuestProgram {
    yield* g.writel(rd(0) + GICR_INVLPIR, 8191); // below 8192: dropped
    yield* g.writel(rd(0) + GICR_INVLPIR + 4, 8192); // upper half (vPE): dropped
    yield* g.sync(0);
    yield* g.writeq(rd(0) + GICR_INVLPIR, 8192n); // 64-bit: the low half counts
    yield* g.sync(1);
    yield* g.writel(rd(0) + GICR_INVALLR, 0); // vCPU 0's LPIs
    yield* g.sync(yield* g.readl(rd(0) + GICR_SYNCR));
    yield* g.writel(rd(1) + GICR_INVLPIR, 9000); // not mapped: nothing
    yield* g.writel(rd(1) + GICR_INVALLR, 0); // from vCPU 0, through vCPU 1's redistributor
    yield* g.sync(3);
    yield* g.done();
  });
  t.equal(runUntilSync(f.vcpus[0]!), 0, 'dropped writes');
  t.equal(lpi(f, 8192).priority, 0xa0, 'INVLPIR below 8192 / upper half: nothing re-read');
  t.equal(runUntilSync(f.vcpus[0]!), 1, 'INVLPIR 8192');
  t.equal(hex(lpi(f, 8192).priority), hex(0x30), '8192 re-read: priority 0x30');
  t.equal(lpi(f, 8192).enabled, false, '8192 disabled');
  t.equal(lpi(f, 8193).priority, 0xa0, '8193 untouched by INVLPIR');
  t.equal(runUntilSync(f.vcpus[0]!), 0, 'GICR_SYNCR reads 0 (never busy)');
  t.equal(hex(lpi(f, 8193).priority), hex(0x50), 'INVALLR on vCPU 0: 8193 re-read');
  t.equal(lpi(f, 8196).priority, 0xa0, 'INVALLR on vCPU 0 leaves vCPU 1 LPIs');
  t.equal(runUntilSync(f.vcpus[0]!), 3, 'INVALLR of redistributor 1');
  t.equal(hex(lpi(f, 8196).priority), hex(0x70), 'vCPU 1 LPIs re-read');
  // With LPIs off on a redistributor, its INVLPIR is dropped
  f.enableLpis(1, false);
  f.setProp(8197, 0x20);
  rdSet(f.fd, f.vcpus[1]!.mpidr, GICR_INVLPIR, 8197);
  t.equal(lpi(f, 8197).priority, 0xa0, 'INVLPIR with LPIs off: dropped');
  f.enableLpis(1);
  rdSet(f.fd, f.vcpus[1]!.mpidr, GICR_INVLPIR, 8197);
  t.equal(hex(lpi(f, 8197).priority), hex(0x20), 'userspace INVLPIR (the guest handler) with LPIs on');
  t.end();
});

t.test('delivery: the guest takes an LPI at its property priority, group 1, once per MSI, with no active state', (t) => {
  const f = lpiVm();
  f.setProp(8193, 0xf1); // priority 0xf0 (masked by PMR 0xf0), enabled
  f.cmd(newCmd(GITS_CMD_INVALL)); // collection 0
  vcpuSetGuestCode(f.vcpus[0]!, function* (g: Guest): GuestProgram {
    yield* gicInit(g, GIC_V3, 2); // distributor on, PMR 0xf0, IGRPEN1
    yield* g.sync(0);
    yield* g.sync(Number(yield* g.readSysreg(ICC_IAR0_EL1))); // group 0: nothing
    const intid = Number(yield* g.readSysreg(ICC_IAR1_EL1));
    yield* g.sync(intid);
    yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1))); // edge, one MSI: nothing more
    yield* g.writeSysreg(ICC_EOIR1_EL1, intid);
    yield* g.sync(1);
    // Split EOI: after the priority drop an LPI is not active, so a new MSI is taken before any DIR
    yield* g.writeSysreg(ICC_CTLR_EL1, ICC_CTLR_EL1_EOImode);
    const a = Number(yield* g.readSysreg(ICC_IAR1_EL1));
    yield* g.writeSysreg(ICC_EOIR1_EL1, a);
    yield* g.sync(a);
    const b = Number(yield* g.readSysreg(ICC_IAR1_EL1));
    yield* g.writeSysreg(ICC_EOIR1_EL1, b);
    yield* g.writeSysreg(ICC_DIR_EL1, b);
    yield* g.sync(b);
    // Below PMR: not presented; raise PMR and it is
    yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1)));
    yield* g.writeSysreg(ICC_PMR_EL1, 0xf8);
    yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1)));
    yield* g.done();
  });
  t.equal(runUntilSync(f.vcpus[0]!), 0, 'GIC initialised');
  t.equal(f.msi(1, 0), 1, 'MSI for 8192');
  t.equal(runUntilSync(f.vcpus[0]!), 1023, 'ICC_IAR0_EL1: spurious (LPIs are group 1)');
  t.equal(runUntilSync(f.vcpus[0]!), 8192, 'ICC_IAR1_EL1: 8192');
  t.equal(runUntilSync(f.vcpus[0]!), 1023, 'taken once: pending cleared by the acknowledge');
  t.equal(lpi(f, 8192).active, false, 'no active state while being handled');
  t.equal(runUntilSync(f.vcpus[0]!), 1, 'EOI');
  t.equal(f.msi(1, 0), 1, 'MSI');
  t.equal(runUntilSync(f.vcpus[0]!), 8192, 'acked and priority-dropped, not deactivated');
  t.equal(f.msi(1, 0), 1, 'MSI again before any DIR');
  t.equal(runUntilSync(f.vcpus[0]!), 8192, 'taken again: an LPI has no active state to wait for');
  t.equal(f.msi(1, 1), 1, 'MSI for 8193 (priority 0xf0)');
  t.equal(runUntilSync(f.vcpus[0]!), 1023, 'priority 0xf0 is not below PMR 0xf0: not presented');
  t.equal(runUntilSync(f.vcpus[0]!), 8193, 'PMR 0xf8: 8193 presented');
  t.end();
});

t.test('KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES writes each LPI pending bit to its target pending table', (t) => {
  const f = lpiVm();
  t.equal(f.msi(1, 1), 1, '8193 pending (vCPU 0)');
  t.equal(f.msi(1, 5), 1, '8197 pending (vCPU 1)');
  f.vm.memory.write(pendByte(0, 8194), 1, 0xff); // stale bits for 8192..8199 in vCPU 0's table
  t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES, null), 0, 'SAVE_PENDING_TABLES');
  // vCPU 0 owns 8192..8195: only 8193 pending; bits of LPIs targeting vCPU 1 (8196..8199) untouched
  t.equal(hex(f.vm.memory.read(pendByte(0, 8192), 1) as number), hex(0xf2), 'vCPU 0 table: 8193 set, 8192/8194/8195 cleared, others kept');
  t.equal(hex(f.vm.memory.read(pendByte(1, 8197), 1) as number), hex(0x20), 'vCPU 1 table: 8197 set');
  t.end();
});

t.test('GICR_CTLR.EnableLPIs is per redistributor; INT to a vCPU with LPIs off is -EBUSY', (t) => {
  const f = lpiVm();
  f.enableLpis(1, false);
  t.equal(f.cmd(devEv(GITS_CMD_INT, 1, 4)), -EBUSY, 'INT for an LPI on vCPU 1: -EBUSY');
  t.equal(f.msi(1, 0), 1, 'vCPU 0 still takes MSIs');
  t.equal(f.msi(1, 4), -EBUSY, 'vCPU 1 does not: -EBUSY');
  t.end();
});

t.test('several pending LPIs and an SPI: presented by priority, then INTID; a disabled LPI never', (t) => {
  const f = lpiVm();
  f.setProp(8192, 0x81); // priority 0x80
  f.setProp(8193, 0x40); // priority 0x40, disabled
  f.setProp(8194, 0x41); // priority 0x40
  f.setProp(8195, 0x41); // priority 0x40
  f.cmd(newCmd(GITS_CMD_INVALL)); // collection 0 (vCPU 0)
  vcpuSetGuestCode(f.vcpus[0]!, function* (g: Guest): GuestProgram {
    yield* gicInit(g, GIC_V3, 2);
    yield* gicSetPriority(g, 40, 0x40);
    yield* gicIrqEnable(g, 40);
    yield* gicIrqSetPending(g, 40);
    yield* g.sync(0);
    for (let i = 0; i < 5; i++) {
      const intid = Number(yield* g.readSysreg(ICC_IAR1_EL1));
      yield* g.writeSysreg(ICC_EOIR1_EL1, intid);
      yield* g.sync(intid);
    }
    yield* g.done();
  });
  t.equal(runUntilSync(f.vcpus[0]!), 0, 'SPI 40 pending at priority 0x40');
  for (const ev of [0, 1, 2, 3]) t.equal(f.msi(1, ev), 1, `MSI for ${8192 + ev}`);
  const order: number[] = [];
  for (let i = 0; i < 5; i++) order.push(runUntilSync(f.vcpus[0]!) as number);
  t.same(order, [40, 8194, 8195, 8192, 1023], 'SPI 40 (0x40, lowest INTID), 8194 and 8195 (0x40), 8192 (0x80); 8193 is disabled');
  t.equal(lpi(f, 8193).pendingLatch, true, '8193 stays pending');
  t.end();
});

t.test('EOI of an LPI drops its priority and deactivates nothing: not SGI 0 (the INTID is not cut to 10 bits on GICv3)', (t) => {
  const f = lpiVm();
  f.vm.dist.enabled = true;
  const v = f.vcpus[0]!.vgic;
  v.cpuif.igrpen1 = 1;
  v.cpuif.pmr = 0xff;
  const sgi0 = v.privateIrqs[0]!;
  sgi0.priority = 0x80;
  sgi0.pendingLatch = true;
  queueIrq(f.vm.dist, sgi0); // as an ICC_SGI1R_EL1 write does
  t.equal(acknowledge(f.vm.dist, v, 1), 0, 'SGI 0 acknowledged');
  t.equal(sgi0.active, true, 'SGI 0 active');
  t.equal(f.msi(1, 0), 1, 'MSI for 8192 (priority 0xa0: cannot preempt the running 0x80)');
  f.setProp(8192, 0x41);
  t.equal(f.cmd(devEv(GITS_CMD_INV, 1, 0)), 0, 'INV: 8192 at priority 0x40 preempts');
  t.equal(acknowledge(f.vm.dist, v, 1), 8192, 'LPI 8192 acknowledged');
  t.equal(hex(runningPriority(v.cpuif)), hex(0x40), 'running priority 0x40');
  endOfInterrupt(f.vm.dist, v, 8192); // EOImode 0: priority drop + deactivation of 8192
  t.equal(sgi0.active, true, 'SGI 0 is still active (8192 & 0x3ff is 0)');
  t.equal(hex(runningPriority(v.cpuif)), hex(0x80), 'running priority back to SGI 0');
  v.cpuif.eoimode = 1;
  deactivate(f.vm.dist, v, 8192); // ICC_DIR_EL1 of an LPI
  t.equal(sgi0.active, true, 'DIR of an LPI deactivates nothing');
  deactivate(f.vm.dist, v, 0);
  t.equal(sgi0.active, false, 'DIR of SGI 0 does');
  t.end();
});
