// The guest ITS library (gic_v3_its.c, gic_rdist_enable_lpis): its_init() programs BASER/CBASER
// and enables the ITS, each its_send_*_cmd() is decoded by the ITS into the fields it encoded,
// CREADR has caught up when it returns, and the LPIs end up configured and deliverable.

import t from '../../test/tap.ts';
import {
  GITS_BASE_GPA,
  GITS_TRANSLATER,
  __kvmSignalMsi,
  kvmMsi,
  vcpuSetGuestCode,
  vmUserspaceMemRegionAdd,
  vgicItsSetup,
} from '../host/index.ts';
import { ItsCommand, observeCommands } from '../vgic/its/commands.ts';
import { itsesOf } from '../vgic/its/state.ts';
import { hex, runGuest, v3Vm } from '../../test/support/vgic.ts';
import type { Guest } from './guest.ts';
import type { GuestProgram } from './index.ts';
import {
  gicRdistEnableLpis,
  itsInit,
  itsSendClearCmd,
  itsSendDiscardCmd,
  itsSendIntCmd,
  itsSendInvCmd,
  itsSendInvallCmd,
  itsSendMapcCmd,
  itsSendMapdCmd,
  itsSendMapiCmd,
  itsSendMaptiCmd,
  itsSendMovallCmd,
  itsSendMoviCmd,
  itsSendSyncCmd,
} from './its.ts';

const RAM = 0x40000000;
const COLL = RAM;
const DEV = RAM + 0x10000;
const CMDQ = RAM + 0x20000;
const ITT = RAM + 0x30000;
const PROP = RAM + 0x40000;
const PEND = RAM + 0x50000;

t.test('its_init, gic_rdist_enable_lpis and every command helper, as the ITS decodes them', (t) => {
  const g = v3Vm({ nrVcpus: 2 });
  vmUserspaceMemRegionAdd(g.vm, RAM, 1, 0x100);
  vgicItsSetup(g.vm);
  g.vm.memory.writeBytes(PROP, new Uint8Array(16).fill(0xa3));
  const decoded: Array<Record<string, number | boolean>> = [];
  const rets: number[] = [];
  observeCommands((c: ItsCommand | null, r: number) => {
    rets.push(r);
    if (c) decoded.push({ cmd: c.command, dev: c.deviceId, id: c.id, pid: c.physicalId, size: c.size, coll: c.collection, itt: c.ittAddr, target: c.targetAddr, valid: c.valid, target2: c.targetAddr2 });
  });
  vcpuSetGuestCode(g.vcpus[0]!, function* (gg: Guest): GuestProgram {
    yield* gicRdistEnableLpis(gg, PROP, 0x10000, PEND);
    yield* itsInit(gg, COLL, 0x10000, DEV, 0x10000, CMDQ, 0x10000);
    yield* itsSendMapcCmd(gg, CMDQ, 1, 3, true);
    yield* itsSendMapdCmd(gg, CMDQ, 5, ITT, 0x4000, true); // 14 EventID bits
    yield* itsSendMaptiCmd(gg, CMDQ, 5, 9, 3, 8200);
    yield* itsSendMapiCmd(gg, CMDQ, 5, 8201, 3);
    yield* itsSendInvallCmd(gg, CMDQ, 3);
    yield* itsSendSyncCmd(gg, CMDQ, 1);
    yield* itsSendIntCmd(gg, CMDQ, 5, 9);
    yield* itsSendInvCmd(gg, CMDQ, 5, 9);
    yield* itsSendClearCmd(gg, CMDQ, 5, 9);
    yield* itsSendMoviCmd(gg, CMDQ, 5, 9, 3);
    yield* itsSendMovallCmd(gg, CMDQ, 1, 0);
    yield* itsSendDiscardCmd(gg, CMDQ, 5, 9);
    yield* gg.done();
  });
  // vCPU 1 turns its LPIs on too (MAPC targets it)
  vcpuSetGuestCode(g.vcpus[1]!, function* (gg: Guest): GuestProgram {
    yield* gicRdistEnableLpis(gg, PROP, 0x10000, PEND + 0x10000);
    yield* gg.done();
  });
  runGuest(g.vcpus[1]!);
  runGuest(g.vcpus[0]!);
  observeCommands(null);
  const its = itsesOf(g.vm.dist)[0]!;
  t.equal(hex(g.vm.dist.propbaser), hex(BigInt(PROP) | (1n << 10n) | (7n << 7n) | 15n), 'PROPBASER: table | InnerShareable | RaWaWb | IDbits 15');
  t.equal(hex(g.vm.dist.vcpus[0]!.pendbaser), hex(BigInt(PEND) | (1n << 10n) | (7n << 7n)), 'PENDBASER: table | InnerShareable | RaWaWb');
  t.equal(g.vm.dist.vcpus[0]!.lpisEnabled, true, 'GICR_CTLR.EnableLPIs');
  t.equal(hex(its.baserCollTable), hex((1n << 63n) | (7n << 59n) | (4n << 56n) | (7n << 48n) | BigInt(COLL) | (1n << 10n) | (2n << 8n)), 'BASER1: valid collection table, 1 page of 64K');
  t.equal(its.baserDeviceTable & 0xffffffff0000n, BigInt(DEV), 'BASER0 address');
  t.equal(its.cbaser & 0xffn, 15n, 'CBASER: 16 pages');
  t.equal(its.enabled, true, 'GITS_CTLR.Enabled');
  t.same(rets, Array(12).fill(0), 'every command succeeded');
  t.same(
    decoded.map((d) => d.cmd),
    [0x09, 0x08, 0x0a, 0x0b, 0x0d, 0x05, 0x03, 0x0c, 0x04, 0x01, 0x0e, 0x0f],
    'MAPC MAPD MAPTI MAPI INVALL SYNC INT INV CLEAR MOVI MOVALL DISCARD',
  );
  t.match(decoded[0], { coll: 3, target: 1, valid: true }, 'MAPC: collection 3 -> RDbase 1 << 16 (vCPU 1), V');
  t.match(decoded[1], { dev: 5, size: 14, itt: ITT, valid: true }, 'MAPD: device 5, ilog2(itt_size) EventID bits, ITT');
  t.match(decoded[2], { dev: 5, id: 9, pid: 8200, coll: 3 }, 'MAPTI: device 5, event 9 -> 8200, collection 3');
  t.match(decoded[3], { dev: 5, id: 8201, coll: 3 }, 'MAPI: event 8201');
  t.match(decoded[4], { coll: 3 }, 'INVALL collection 3');
  t.match(decoded[5], { target: 1 }, 'SYNC RDbase of vCPU 1');
  t.match(decoded[10], { target: 1, target2: 0 }, 'MOVALL 1 -> 0');
  t.equal(its.devices.get(5)!.ites.size, 1, 'after DISCARD only the MAPI event is left');
  t.equal(g.vm.dist.lpis.get(8201)!.targetVcpu, 0, 'MOVALL moved 8201 from vCPU 1 to vCPU 0');
  t.equal(__kvmSignalMsi(g.vm, kvmMsi(GITS_BASE_GPA + GITS_TRANSLATER, 5, 8201)), 1, 'the mapped event delivers');
  t.end();
});
