// The twelve ITS commands: each one's effect and each error path, with the code KVM's handler
// returns (vgic-its.c: vgic_its_cmd_handle_*), and the command queue (vgic_its_process_commands,
// vgic_mmio_write_its_cwriter): processed when CWRITER moves and only while enabled, a failing
// command dropped without stalling the queue, offsets beyond the queue ignored, wrap-around.

import t from '../../../test/tap.ts';
import {
  E_ITS_CLEAR_UNMAPPED_INTERRUPT,
  E_ITS_DISCARD_UNMAPPED_INTERRUPT,
  E_ITS_INT_UNMAPPED_INTERRUPT,
  E_ITS_INVALL_UNMAPPED_COLLECTION,
  E_ITS_INV_UNMAPPED_INTERRUPT,
  E_ITS_MAPC_COLLECTION_OOR,
  E_ITS_MAPC_PROCNUM_OOR,
  E_ITS_MAPD_DEVICE_OOR,
  E_ITS_MAPD_ITTSIZE_OOR,
  E_ITS_MAPTI_ID_OOR,
  E_ITS_MAPTI_PHYSICALID_OOR,
  E_ITS_MAPTI_UNMAPPED_DEVICE,
  E_ITS_MOVALL_PROCNUM_OOR,
  E_ITS_MOVI_UNMAPPED_COLLECTION,
  E_ITS_MOVI_UNMAPPED_INTERRUPT,
  GICR_PROPBASER,
  GITS_BASER,
  GITS_CBASER,
  GITS_CMD_CLEAR,
  GITS_CMD_DISCARD,
  GITS_CMD_INT,
  GITS_CMD_INV,
  GITS_CMD_MAPC,
  GITS_CMD_MAPD,
  GITS_CMD_SYNC,
  GITS_CREADR,
  GITS_CTLR,
  GITS_CWRITER,
  newCmd,
} from '../../guest/index.ts';
import { EBUSY, EFAULT, ENODEV } from '../../uapi/errno.ts';
import { rdSet } from '../../../test/support/vgic.ts';
import { observeCommands } from './commands.ts';
import { COLL_TABLE, CMDQ, DEV_TABLE, type ItsFix, PEND_TABLES, RAM_BASE, VALID, cmds, flatBaser, itsVm, ittOf, listedLpis } from '../../../test/support/its.ts';

const { mapd, mapc, mapti, mapi, devEv, movi, invall, movall } = cmds;
const itt = ittOf;

/** An ITS with device 1 (ITT of 256 events) -> event 5 -> LPI 8200 in collection 0 on vCPU 0. */
function mapped(o: { nrVcpus?: number } = {}): ItsFix {
  const f = itsVm(o);
  f.setProp(8200, 0xa1);
  const r = [f.cmd(mapc(0, 0)), f.cmd(mapd(1)), f.cmd(mapti(1, 5, 8200, 0))];
  if (r.some((x) => x !== 0)) throw new Error(`setup commands failed: ${r.join(', ')}`);
  return f;
}
const lpi = (f: ItsFix, intid: number) => f.vm.dist.lpis.get(intid);

// --- MAPD ------------------------------------------------------------------------------------------------

t.test('MAPD maps a DeviceID to its ITT; re-mapping drops its ITEs', (t) => {
  const f = mapped();
  const d = f.its.devices.get(1)!;
  t.equal(d.ittAddr, itt(1), 'ITT address from DW2[51:8]');
  t.equal(d.numEventIdBits, 8, 'Size field + 1 EventID bits');
  t.equal(d.ites.size, 1, 'one ITE');
  t.equal(f.cmd(mapd(1, true, 4)), 0, 'MAPD again (vgic_its_cmd_handle_mapd frees and re-creates)');
  t.equal(f.its.devices.get(1)!.ites.size, 0, 'the ITEs are gone');
  t.equal(f.its.devices.get(1)!.numEventIdBits, 4, 'new size');
  t.equal(lpi(f, 8200), undefined, 'the LPI lost its last reference (vgic_put_irq)');
  t.equal(f.msi(1, 5), 0, 'an MSI for the old event is blocked');
  t.end();
});

t.test('MAPD error paths: DeviceID beyond 16 bits or the table, table not in RAM, ITT size > 16 bits', (t) => {
  const f = itsVm();
  // vgic_its_check_id: DEVICE: id > VITS_MAX_DEVID (0xffff); flat: id >= 64K / 8 entries
  t.equal(f.cmd(mapd(0x10000)), E_ITS_MAPD_DEVICE_OOR, 'DeviceID 0x10000: E_ITS_MAPD_DEVICE_OOR');
  t.equal(f.cmd(mapd(8192)), E_ITS_MAPD_DEVICE_OOR, 'DeviceID 8192 (one past a 64K table of 8-byte DTEs)');
  t.equal(f.cmd(mapd(8191)), 0, 'DeviceID 8191 fits');
  // E_ITS_MAPD_ITTSIZE_OOR when valid and num_eventid_bits > VITS_TYPER_IDBITS (16)
  t.equal(f.cmd(mapd(2, true, 17)), E_ITS_MAPD_ITTSIZE_OOR, '17 EventID bits: E_ITS_MAPD_ITTSIZE_OOR');
  t.equal(f.cmd(mapd(2, true, 16)), 0, '16 EventID bits');
  t.equal(f.cmd(mapd(3, false, 32)), 0, 'the size is not checked for V=0');
  t.equal(f.its.devices.has(2), true, 'device 2 mapped');
  // A device table outside guest RAM: kvm_is_visible_gfn fails
  const g = itsVm({ enable: false });
  g.setReg(GITS_BASER, flatBaser(0x10000000));
  g.setReg(GITS_BASER + 8, flatBaser(COLL_TABLE));
  g.setReg(GITS_CBASER, VALID | BigInt(CMDQ) | 15n);
  g.setReg(GITS_CTLR, 1);
  t.equal(g.cmd(mapd(1)), E_ITS_MAPD_DEVICE_OOR, 'device table not in RAM: E_ITS_MAPD_DEVICE_OOR');
  t.equal(g.its.devices.size, 0, 'nothing mapped');
  t.end();
});

t.test('MAPD V=0 unmaps and zeroes the device-table entry', (t) => {
  const f = mapped();
  f.vm.memory.write(DEV_TABLE + 1 * 8, 8, 0x1122334455667788n);
  t.equal(f.cmd(mapd(1, false)), 0, 'MAPD V=0');
  t.equal(f.its.devices.has(1), false, 'device gone');
  t.equal(f.vm.memory.read(DEV_TABLE + 8, 8), 0n, 'DTE zeroed (vgic_its_write_entry_lock(gpa, 0))');
  t.equal(f.cmd(mapd(9, false)), 0, 'unmapping a device never mapped: 0');
  t.end();
});

t.test('MAPD through a two-level (indirect) device table', (t) => {
  const f = itsVm({ enable: false });
  const l1 = DEV_TABLE;
  const l2 = RAM_BASE + 0x100000;
  // BASER.Indirect, one 64K page of level-1 entries; entry 1 covers DeviceIDs 8192..16383
  f.setReg(GITS_BASER, flatBaser(l1) | (1n << 62n));
  f.setReg(GITS_BASER + 8, flatBaser(COLL_TABLE));
  f.setReg(GITS_CBASER, VALID | BigInt(CMDQ) | 15n);
  f.setReg(GITS_CTLR, 1);
  t.equal(f.cmd(mapd(8200)), E_ITS_MAPD_DEVICE_OOR, 'level-1 entry not valid: E_ITS_MAPD_DEVICE_OOR');
  f.vm.memory.write(l1 + 8, 8, VALID | BigInt(l2));
  t.equal(f.cmd(mapd(8200)), 0, 'valid level-1 entry: mapped');
  f.vm.memory.write(l2 + (8200 - 8192) * 8, 8, 0xffn);
  t.equal(f.cmd(mapd(8200, false)), 0, 'V=0');
  t.equal(f.vm.memory.read(l2 + 8 * 8, 8), 0n, 'the level-2 DTE was zeroed');
  f.vm.memory.write(l1 + 16, 8, VALID | 0x7000_0000n);
  t.equal(f.cmd(mapd(16384)), E_ITS_MAPD_DEVICE_OOR, 'level-2 page not in RAM: E_ITS_MAPD_DEVICE_OOR');
  t.end();
});

// --- MAPC ------------------------------------------------------------------------------------------------

t.test('MAPC maps a collection to a vCPU id; re-mapping moves its LPIs', (t) => {
  const f = mapped();
  t.equal(f.its.collections.get(0)!.targetAddr, 0, 'collection 0 -> vCPU 0');
  t.equal(lpi(f, 8200)!.targetVcpu, 0, 'LPI on vCPU 0');
  t.equal(f.msi(1, 5), 1, 'MSI delivered');
  t.equal(f.cmd(mapc(0, 1)), 0, 'MAPC collection 0 -> vCPU 1');
  t.equal(lpi(f, 8200)!.targetVcpu, 1, 'update_affinity_collection: the LPI follows');
  t.equal(lpi(f, 8200)!.pendingLatch, true, 'its pending state moves with it');
  t.equal(f.cmd(mapc(1, 7)), E_ITS_MAPC_PROCNUM_OOR, 'no vCPU id 7: E_ITS_MAPC_PROCNUM_OOR');
  t.equal(f.cmd(mapc(8192, 0)), E_ITS_MAPC_COLLECTION_OOR, 'collection 8192 beyond a 64K table: E_ITS_MAPC_COLLECTION_OOR');
  t.equal(f.its.collections.has(8192), false, 'not created');
  t.end();
});

t.test('MAPC V=0 frees the collection: its ITEs lose it and their MSIs are blocked', (t) => {
  const f = mapped();
  t.equal(f.msi(1, 5), 1, 'delivered (and cached)');
  t.equal(f.its.translationCache.size, 1, 'cached');
  t.equal(f.cmd(mapc(0, 0, false)), 0, 'MAPC V=0');
  t.equal(f.its.collections.has(0), false, 'collection gone');
  t.equal(f.its.devices.get(1)!.ites.get(5)!.collection, null, 'ITE collection NULL');
  t.equal(f.its.translationCache.size, 0, 'cache invalidated');
  t.equal(f.msi(1, 5), 0, 'MSI blocked: 0');
  t.equal(f.cmd(mapc(3, 0, false)), 0, 'V=0 for an unknown collection: 0');
  t.end();
});

// --- MAPTI / MAPI -------------------------------------------------------------------------------------------

t.test('MAPTI creates an LPI configured from the property table and pending from the pending table', (t) => {
  const f = itsVm();
  f.setProp(8300, 0x53); // priority 0x50, group1, enabled
  // pending bit of 8300 in vCPU 1's pending table: byte 8300/8, bit 8300%8
  f.vm.memory.write(PEND_TABLES + 0x10000 + Math.floor(8300 / 8), 1, 1 << (8300 % 8));
  t.equal(f.cmd(mapc(2, 1)), 0, 'MAPC 2 -> vCPU 1');
  t.equal(f.cmd(mapd(4)), 0, 'MAPD 4');
  t.equal(f.cmd(mapti(4, 9, 8300, 2)), 0, 'MAPTI');
  const l = lpi(f, 8300)!;
  t.equal(l.priority, 0x50, 'priority = prop & 0xfc');
  t.equal(l.enabled, true, 'enabled = prop bit 0');
  t.equal(l.group, 1, 'group 1');
  t.equal(l.targetVcpu, 1, 'target vCPU 1');
  t.equal(l.pendingLatch, true, 'pending from the pending table (vgic_v3_lpi_sync_pending_status)');
  t.equal(f.vm.memory.read(PEND_TABLES + 0x10000 + Math.floor(8300 / 8), 1), 0, 'the consumed bit is cleared in RAM');
  t.end();
});

t.test('MAPTI error paths', (t) => {
  const f = itsVm({ propIdBits: 13 }); // INTIDs below 2^14
  t.equal(f.cmd(mapc(0, 0)), 0, 'MAPC');
  t.equal(f.cmd(mapti(1, 0, 8192, 0)), E_ITS_MAPTI_UNMAPPED_DEVICE, 'no device: E_ITS_MAPTI_UNMAPPED_DEVICE');
  t.equal(f.cmd(mapd(1, true, 4)), 0, 'MAPD with 4 EventID bits');
  t.equal(f.cmd(mapti(1, 16, 8192, 0)), E_ITS_MAPTI_ID_OOR, 'EventID 16 >= 2^4: E_ITS_MAPTI_ID_OOR');
  t.equal(f.cmd(mapti(1, 15, 8191, 0)), E_ITS_MAPTI_PHYSICALID_OOR, 'pINTID 8191: E_ITS_MAPTI_PHYSICALID_OOR');
  t.equal(f.cmd(mapti(1, 15, 16384, 0)), E_ITS_MAPTI_PHYSICALID_OOR, 'pINTID 2^14 with PROPBASER.IDbits 13: E_ITS_MAPTI_PHYSICALID_OOR');
  t.equal(f.cmd(mapti(1, 15, 16383, 8192)), E_ITS_MAPC_COLLECTION_OOR, 'collection beyond the table: E_ITS_MAPC_COLLECTION_OOR (MAPC code)');
  t.equal(f.cmd(mapd(2, true, 8, 0x10000000)), 0, 'MAPD with an ITT outside RAM (not checked by MAPD)');
  t.equal(f.cmd(mapti(2, 0, 8192, 0)), E_ITS_MAPTI_ID_OOR, 'ITT entry not in RAM: E_ITS_MAPTI_ID_OOR');
  t.equal(f.its.devices.get(1)!.ites.size, 0, 'no ITE was left behind');
  t.equal(f.vm.dist.lpis.size, 0, 'no LPI was created');
  t.end();
});

t.test('MAPTI with the property table outside RAM fails (-EFAULT) and leaves nothing', (t) => {
  const f = itsVm();
  t.equal(f.cmd(mapc(0, 0)), 0, 'MAPC');
  t.equal(f.cmd(mapd(1)), 0, 'MAPD');
  // PROPBASER can only change with LPIs off on the vCPU whose redistributor is written
  f.enableLpis(0, false);
  t.equal(rdSet(f.fd, f.vcpus[0]!.mpidr, GICR_PROPBASER, 0x7000_0000 | 15), 0, 'PROPBASER -> outside RAM');
  t.equal(f.vm.dist.propbaser & 0xfffff000n, 0x7000_0000n, 'taken (vCPU 0 has LPIs off)');
  t.equal(f.cmd(mapti(1, 1, 8192, 0)), -EFAULT, 'update_lpi_config read fails: -EFAULT');
  t.equal(f.its.devices.get(1)!.ites.size, 0, 'the ITE was freed');
  t.equal(f.vm.dist.lpis.size, 0, 'the LPI was dropped');
  t.end();
});

t.test('MAPTI on a mapped event changes nothing; MAPI uses the EventID as INTID; LPIs are shared', (t) => {
  const f = mapped();
  t.equal(f.cmd(mapti(1, 5, 8201, 0)), 0, 'MAPTI on an existing mapping: 0 (UNPREDICTABLE, kept)');
  t.equal(f.its.devices.get(1)!.ites.get(5)!.irq!.intid, 8200, 'still LPI 8200');
  t.equal(f.cmd(mapd(2, true, 14)), 0, 'device 2 with 14 EventID bits');
  t.equal(f.cmd(mapi(2, 8200, 0)), 0, 'MAPI event 8200');
  t.equal(f.its.devices.get(2)!.ites.get(8200)!.irq, lpi(f, 8200), 'the same struct vgic_irq (vgic_add_lpi takes a reference)');
  t.equal(lpi(f, 8200)!.refs, 2, 'two references');
  t.equal(f.cmd(devEv(GITS_CMD_DISCARD, 1, 5)), 0, 'DISCARD one of them');
  t.equal(lpi(f, 8200)!.refs, 1, 'still mapped by the other');
  t.equal(f.msi(2, 8200), 1, 'and still delivered through it');
  t.end();
});

t.test('MAPTI into a collection not yet mapped: MSIs blocked until MAPC maps it', (t) => {
  const f = itsVm();
  f.setProp(8192, 0xa1);
  t.equal(f.cmd(mapd(1)), 0, 'MAPD');
  t.equal(f.cmd(mapti(1, 0, 8192, 6)), 0, 'MAPTI into collection 6 (created unmapped)');
  t.equal(f.its.collections.get(6)!.targetAddr, 0xffffffff, 'COLLECTION_NOT_MAPPED');
  t.equal(lpi(f, 8192)!.targetVcpu, -1, 'no target vCPU');
  t.equal(f.msi(1, 0), 0, 'MSI blocked: 0');
  t.equal(f.cmd(mapc(6, 1)), 0, 'MAPC 6 -> vCPU 1');
  t.equal(lpi(f, 8192)!.targetVcpu, 1, 'the LPI now targets vCPU 1');
  t.equal(f.msi(1, 0), 1, 'delivered');
  t.end();
});

// --- MOVI ---------------------------------------------------------------------------------------------------

t.test('MOVI moves an event to another mapped collection', (t) => {
  const f = mapped();
  t.equal(f.cmd(mapc(1, 1)), 0, 'MAPC 1 -> vCPU 1');
  t.equal(f.msi(1, 5), 1, 'pending on vCPU 0');
  t.equal(f.cmd(movi(1, 5, 1)), 0, 'MOVI to collection 1');
  t.equal(f.its.devices.get(1)!.ites.get(5)!.collection!.collectionId, 1, 'ITE in collection 1');
  t.equal(lpi(f, 8200)!.targetVcpu, 1, 'LPI targets vCPU 1, still pending');
  t.equal(f.its.translationCache.size, 0, 'cache invalidated');
  t.equal(f.cmd(movi(1, 6, 1)), E_ITS_MOVI_UNMAPPED_INTERRUPT, 'no ITE: E_ITS_MOVI_UNMAPPED_INTERRUPT');
  t.equal(f.cmd(movi(1, 5, 9)), E_ITS_MOVI_UNMAPPED_COLLECTION, 'unknown target collection: E_ITS_MOVI_UNMAPPED_COLLECTION');
  t.equal(f.cmd(mapd(2)), 0, 'MAPD 2');
  t.equal(f.cmd(mapti(2, 0, 8201, 7)), 0, 'MAPTI into unmapped collection 7');
  t.equal(f.cmd(movi(2, 0, 0)), E_ITS_MOVI_UNMAPPED_COLLECTION, 'ITE in an unmapped collection: E_ITS_MOVI_UNMAPPED_COLLECTION');
  t.end();
});

// --- DISCARD ------------------------------------------------------------------------------------------------

t.test('DISCARD frees a mapped event and zeroes its ITT entry', (t) => {
  const f = mapped();
  f.vm.memory.write(itt(1) + 5 * 8, 8, 0xabcdefn);
  t.equal(f.cmd(devEv(GITS_CMD_DISCARD, 1, 5)), 0, 'DISCARD');
  t.equal(f.its.devices.get(1)!.ites.has(5), false, 'ITE gone');
  t.equal(f.vm.memory.read(itt(1) + 5 * 8, 8), 0n, 'ITE zeroed in the ITT');
  t.equal(lpi(f, 8200), undefined, 'LPI released');
  t.equal(f.msi(1, 5), 0, 'MSI blocked');
  t.equal(f.cmd(devEv(GITS_CMD_DISCARD, 1, 5)), E_ITS_DISCARD_UNMAPPED_INTERRUPT, 'again: E_ITS_DISCARD_UNMAPPED_INTERRUPT');
  t.equal(f.cmd(mapti(1, 6, 8201, 3)), 0, 'MAPTI into unmapped collection 3');
  t.equal(f.cmd(devEv(GITS_CMD_DISCARD, 1, 6)), E_ITS_DISCARD_UNMAPPED_INTERRUPT, 'event in an unmapped collection: E_ITS_DISCARD_UNMAPPED_INTERRUPT');
  t.equal(f.its.devices.get(1)!.ites.has(6), true, 'that ITE is kept');
  t.end();
});

t.test('DISCARD of a pending LPI: a queued one is still taken once, a masked one is dropped', (t) => {
  // KVM holds a queued LPI on the vCPU's ap_list with its own reference (vgic_queue_irq_unlock)
  const f = mapped();
  f.vm.dist.enabled = true; // GICD_CTLR.EnableGrp1 (vgic_target_oracle needs it)
  t.equal(f.msi(1, 5), 1, 'pending');
  t.equal(f.cmd(devEv(GITS_CMD_DISCARD, 1, 5)), 0, 'DISCARD');
  t.same(listedLpis(f.vcpus[0]!.vgic), [8200], 'still on vCPU 0 list');
  t.equal(lpi(f, 8200)?.intid, 8200, 'still in lpi_xa through the list reference');
  const g = mapped();
  g.vm.dist.enabled = true;
  g.setProp(8200, 0xa0); // disabled
  t.equal(g.cmd(devEv(GITS_CMD_INV, 1, 5)), 0, 'INV: disabled');
  t.equal(g.msi(1, 5), 1, 'pending');
  t.equal(g.cmd(devEv(GITS_CMD_DISCARD, 1, 5)), 0, 'DISCARD');
  t.equal(listedLpis(g.vcpus[0]!.vgic).length, 0, 'not queued, so freed with its pending state');
  t.equal(lpi(g, 8200), undefined, 'gone');
  t.end();
});

// --- CLEAR, INV, INVALL, INT, SYNC ---------------------------------------------------------------------------

t.test('CLEAR drops the pending state', (t) => {
  const f = mapped();
  t.equal(f.msi(1, 5), 1, 'pending');
  t.equal(f.cmd(devEv(GITS_CMD_CLEAR, 1, 5)), 0, 'CLEAR');
  t.equal(lpi(f, 8200)!.pendingLatch, false, 'not pending');
  t.equal(f.cmd(devEv(GITS_CMD_CLEAR, 1, 6)), E_ITS_CLEAR_UNMAPPED_INTERRUPT, 'no ITE: E_ITS_CLEAR_UNMAPPED_INTERRUPT');
  t.end();
});

t.test('INV re-reads one LPI property byte; INVALL every LPI targeting the collection vCPU', (t) => {
  const f = mapped();
  t.equal(f.cmd(mapc(1, 1)), 0, 'MAPC 1 -> vCPU 1');
  t.equal(f.cmd(mapti(1, 6, 8201, 1)), 0, 'event 6 -> 8201 on vCPU 1');
  f.setProp(8200, 0x40);
  f.setProp(8201, 0x41);
  t.equal(lpi(f, 8200)!.enabled, true, 'a property change is not seen before an invalidation');
  t.equal(f.cmd(devEv(GITS_CMD_INV, 1, 5)), 0, 'INV');
  t.equal(lpi(f, 8200)!.enabled, false, 'INV: 8200 disabled');
  t.equal(lpi(f, 8200)!.priority, 0x40, 'INV: priority 0x40');
  t.equal(lpi(f, 8201)!.priority, 0, 'INV touched only its own LPI');
  t.equal(f.cmd(invall(0)), 0, 'INVALL collection 0 (vCPU 0)');
  t.equal(lpi(f, 8201)!.priority, 0, 'INVALL on vCPU 0 leaves the vCPU 1 LPI alone');
  t.equal(f.cmd(invall(1)), 0, 'INVALL collection 1');
  t.equal(lpi(f, 8201)!.priority, 0x40, 'INVALL: 8201 re-read');
  t.equal(lpi(f, 8201)!.enabled, true, 'INVALL: 8201 enabled');
  t.equal(f.cmd(devEv(GITS_CMD_INV, 1, 7)), E_ITS_INV_UNMAPPED_INTERRUPT, 'INV no ITE: E_ITS_INV_UNMAPPED_INTERRUPT');
  t.equal(f.cmd(invall(5)), E_ITS_INVALL_UNMAPPED_COLLECTION, 'INVALL unknown collection: E_ITS_INVALL_UNMAPPED_COLLECTION');
  t.equal(f.cmd(mapti(1, 8, 8202, 5)), 0, 'collection 5 created unmapped');
  t.equal(f.cmd(invall(5)), E_ITS_INVALL_UNMAPPED_COLLECTION, 'INVALL unmapped collection: E_ITS_INVALL_UNMAPPED_COLLECTION');
  t.end();
});

t.test('INT makes the LPI pending; blocked, unmapped and LPIs-off cases', (t) => {
  const f = mapped();
  t.equal(f.cmd(devEv(GITS_CMD_INT, 1, 5)), 0, 'INT');
  t.equal(lpi(f, 8200)!.pendingLatch, true, 'pending');
  t.same(listedLpis(f.vcpus[0]!.vgic), [], 'distributor disabled: queued nowhere (vgic_target_oracle)');
  f.vm.dist.enabled = true; // GICD_CTLR.EnableGrp1: queues nothing by itself (vgic_mmio_write_v3_misc)
  t.same(listedLpis(f.vcpus[0]!.vgic), [], 'enabling the distributor queues nothing');
  t.equal(f.cmd(devEv(GITS_CMD_INT, 1, 5)), 0, 'INT again');
  t.same(listedLpis(f.vcpus[0]!.vgic), [8200], 'queued on vCPU 0');
  t.equal(f.cmd(devEv(GITS_CMD_INT, 1, 6)), E_ITS_INT_UNMAPPED_INTERRUPT, 'no ITE: E_ITS_INT_UNMAPPED_INTERRUPT');
  t.equal(f.cmd(devEv(GITS_CMD_INT, 2, 5)), E_ITS_INT_UNMAPPED_INTERRUPT, 'no device: E_ITS_INT_UNMAPPED_INTERRUPT');
  f.enableLpis(0, false);
  t.equal(f.cmd(devEv(GITS_CMD_INT, 1, 5)), -EBUSY, "target's LPIs off: -EBUSY (vgic_its_resolve_lpi)");
  t.equal(f.cmd(newCmd(GITS_CMD_SYNC)), 0, 'SYNC: 0 (always in sync)');
  t.end();
});

t.test('MOVALL moves every LPI of the VM from one redistributor to another', (t) => {
  const f = mapped({ nrVcpus: 3 });
  t.equal(f.cmd(mapti(1, 6, 8201, 0)), 0, 'second LPI on vCPU 0');
  t.equal(f.cmd(mapc(2, 2)), 0, 'MAPC 2 -> vCPU 2');
  t.equal(f.cmd(mapti(1, 7, 8202, 2)), 0, 'third LPI on vCPU 2');
  t.equal(f.cmd(movall(0, 1)), 0, 'MOVALL 0 -> 1');
  t.same([8200, 8201, 8202].map((i) => lpi(f, i)!.targetVcpu), [1, 1, 2], 'vCPU 0 LPIs now on vCPU 1');
  t.equal(f.its.collections.get(0)!.targetAddr, 0, 'collections are not changed');
  t.equal(f.cmd(movall(1, 1)), 0, 'same redistributor: 0');
  t.equal(f.cmd(movall(1, 9)), E_ITS_MOVALL_PROCNUM_OOR, 'no vCPU 9: E_ITS_MOVALL_PROCNUM_OOR');
  t.equal(f.cmd(movall(9, 1)), E_ITS_MOVALL_PROCNUM_OOR, 'no vCPU 9 as source: E_ITS_MOVALL_PROCNUM_OOR');
  t.end();
});

t.test('unknown commands return -ENODEV and the queue goes on', (t) => {
  const f = itsVm();
  for (const nr of [0x00, 0x02, 0x06, 0x07, 0x10, 0x29, 0x2a, 0xff]) t.equal(f.cmd(newCmd(nr)), -ENODEV, `command 0x${nr.toString(16)}: -ENODEV`);
  t.equal(f.cmd(mapd(1)), 0, 'a valid command after them runs');
  t.equal(f.reg(GITS_CREADR), f.reg(GITS_CWRITER), 'CREADR caught up');
  t.end();
});

// --- the queue ----------------------------------------------------------------------------------------------

t.test('the queue runs only while enabled; enabling runs what was queued', (t) => {
  const f = itsVm({ enable: false });
  f.setReg(GITS_BASER, flatBaser(DEV_TABLE));
  f.setReg(GITS_BASER + 8, flatBaser(COLL_TABLE));
  f.setReg(GITS_CBASER, VALID | BigInt(CMDQ) | 15n);
  const seen: number[] = [];
  observeCommands((c) => seen.push(c?.command ?? -1));
  const bytes = new Uint8Array(64);
  const v = new DataView(bytes.buffer);
  [mapd(1), mapc(0, 0)].forEach((c, k) => c.forEach((w, i) => v.setBigUint64(k * 32 + i * 8, w, true)));
  f.vm.memory.writeBytes(CMDQ, bytes);
  t.equal(f.setReg(GITS_CWRITER, 64), 0, 'CWRITER = 64 while disabled');
  t.same(seen, [], 'nothing ran');
  t.equal(f.reg(GITS_CREADR), 0n, 'CREADR 0');
  t.equal(f.reg(GITS_CTLR), 0n, 'not quiescent (CREADR != CWRITER), not enabled');
  t.equal(f.setReg(GITS_CTLR, 1), 0, 'enable');
  t.same(seen, [GITS_CMD_MAPD, GITS_CMD_MAPC], 'both ran, in order');
  t.equal(f.reg(GITS_CREADR), 64n, 'CREADR 64');
  observeCommands(null);
  t.end();
});

t.test('CWRITER: offsets beyond the queue are ignored, bits outside [19:5] dropped, halves merged', (t) => {
  const f = itsVm();
  f.setReg(GITS_CTLR, 0);
  f.setReg(GITS_CBASER, VALID | BigInt(CMDQ)); // Size 0: one 4K page
  t.equal(f.setReg(GITS_CWRITER, 0x1000), 0, 'CWRITER = 4K (the queue size)');
  t.equal(f.reg(GITS_CWRITER), 0n, 'ignored (reg >= ITS_CMD_BUFFER_SIZE)');
  t.equal(f.setReg(GITS_CWRITER, 0xfff), 0, 'CWRITER = 0xfff');
  t.equal(f.reg(GITS_CWRITER), 0xfe0n, 'ITS_CMD_OFFSET keeps bits [19:5]');
  t.equal(f.setReg(GITS_CWRITER, (0xffffn << 32n) | 0x20n), 0, 'upper bits set');
  t.equal(f.reg(GITS_CWRITER), 0x20n, 'dropped');
  t.end();
});

t.test('a queue that wraps runs every command once, in order', (t) => {
  const f = itsVm();
  f.setReg(GITS_CTLR, 0);
  f.setReg(GITS_CBASER, VALID | BigInt(CMDQ)); // 4K: 128 slots
  f.setReg(GITS_CTLR, 1);
  for (let i = 0; i < 126; i++) f.cmd(newCmd(GITS_CMD_SYNC));
  t.equal(f.reg(GITS_CREADR), 126n * 32n, 'CREADR at slot 126');
  // Four MAPDs in slots 126, 127, 0, 1, announced by one CWRITER write
  const seen: number[] = [];
  const bytes = new Uint8Array(32);
  const v = new DataView(bytes.buffer);
  [126, 127, 0, 1].forEach((slot, k) => {
    mapd(10 + k).forEach((w, i) => v.setBigUint64(i * 8, w, true));
    f.vm.memory.writeBytes(CMDQ + slot * 32, bytes);
  });
  observeCommands((c, r) => seen.push(c ? c.deviceId * 10 + (r === 0 ? 0 : 1) : -1));
  f.setReg(GITS_CWRITER, 2 * 32);
  observeCommands(null);
  t.same(seen, [100, 110, 120, 130], 'devices 10..13 mapped, in order, each once');
  t.equal(f.reg(GITS_CREADR), 64n, 'CREADR wrapped to 64');
  t.end();
});

t.test('a command that cannot be read is skipped; CREADR still advances', (t) => {
  const f = itsVm();
  f.setReg(GITS_CTLR, 0);
  // A 17-page queue whose last 4K page is outside the memslot (CBASER is 64K aligned)
  const top = RAM_BASE + 0x400000 - 0x10000;
  f.setReg(GITS_CBASER, VALID | BigInt(top) | 16n);
  f.setReg(GITS_CTLR, 1);
  const seen: number[] = [];
  observeCommands((_c, r) => seen.push(r));
  t.equal(f.setReg(GITS_CREADR, 0), -EBUSY, 'CREADR is not writable while enabled');
  f.setReg(GITS_CWRITER, 0x10000);
  t.equal(f.reg(GITS_CREADR), 0x10000n, 'the first 16 pages ran');
  t.equal(seen.at(-1), -ENODEV, '(zeroed RAM reads as command 0: -ENODEV)');
  f.setReg(GITS_CWRITER, 0x10020);
  observeCommands(null);
  t.equal(seen.at(-1), -EFAULT, 'unreadable slot: skipped (kvm_read_guest failed)');
  t.equal(f.reg(GITS_CREADR), 0x10020n, 'CREADR advanced past it');
  t.end();
});
