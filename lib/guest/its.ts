// The guest ITS library (tools/testing/selftests/kvm/lib/arm64/gic_v3_its.c) and
// gic_rdist_enable_lpis() (lib/arm64/gic_v3.c), as generator helpers: `yield* itsInit(g, ...)`.
// Commands are built in the guest's own command queue (identity-mapped RAM) and announced by
// moving GITS_CWRITER, then GITS_CREADR must already have caught up (KVM runs the queue
// synchronously, so the C library polls zero times). Beyond the kernel library's five commands,
// the other seven have encoders too, for tests and the kvm-unit-tests port.

import type { GuestProgram, GuestReply, GuestRequest } from '../kvm/guest-abi.ts';
import { GICR_CTLR, GICR_CTLR_ENABLE_LPIS, GICR_PENDBASER, GICR_PROPBASER, GITS_BASE_GVA, SZ_64K } from '../uapi/gic.ts';
import {
  GICR_PENDBASER_InnerShareable,
  GICR_PENDBASER_RaWaWb,
  GICR_PROPBASER_IDBITS_MASK,
  GICR_PROPBASER_InnerShareable,
  GICR_PROPBASER_RaWaWb,
  GITS_BASER,
  GITS_BASER_InnerShareable,
  GITS_BASER_NR_REGS,
  GITS_BASER_PAGE_SIZE_64K,
  GITS_BASER_RaWaWb,
  GITS_BASER_TYPE_COLLECTION,
  GITS_BASER_TYPE_DEVICE,
  GITS_BASER_VALID,
  GITS_CBASER,
  GITS_CBASER_InnerShareable,
  GITS_CBASER_RaWaWb,
  GITS_CBASER_VALID,
  GITS_CMD_CLEAR,
  GITS_CMD_DISCARD,
  GITS_CMD_INT,
  GITS_CMD_INV,
  GITS_CMD_INVALL,
  GITS_CMD_MAPC,
  GITS_CMD_MAPD,
  GITS_CMD_MAPI,
  GITS_CMD_MAPTI,
  GITS_CMD_MOVALL,
  GITS_CMD_MOVI,
  GITS_CMD_SYNC,
  GITS_CREADR,
  GITS_CTLR,
  GITS_CTLR_ENABLE,
  GITS_CWRITER,
  ITS_CMD_SIZE,
  gitsBaserType,
} from '../uapi/its.ts';
import { rdBase } from './gic.ts';
import type { Guest } from './guest.ts';

const SZ_4K = 0x1000;
/** GITS_COLLECTION_TARGET_SHIFT: RDbase = vCPU id << 16 (GITS_TYPER.PTA = 0). */
const GITS_COLLECTION_TARGET_SHIFT = 16;

type Gen<R> = Generator<GuestRequest, R, GuestReply>;

const ilog2 = (n: number): number => Math.floor(Math.log2(n));

function* itsReadU64(g: Guest, offset: number): Gen<bigint> {
  return yield* g.readq(GITS_BASE_GVA + offset);
}
function* itsWriteU64(g: Guest, offset: number, val: bigint): GuestProgram {
  yield* g.writeq(GITS_BASE_GVA + offset, val);
}

/** its_find_baser(): the offset of the GITS_BASER<n> of this table type. */
function* itsFindBaser(g: Guest, type: number): Gen<number> {
  for (let i = 0; i < GITS_BASER_NR_REGS; i++) {
    const offset = GITS_BASER + i * 8;
    if (gitsBaserType(yield* itsReadU64(g, offset)) === type) return offset;
  }
  yield* g.fail("Couldn't find an ITS BASER of type %u", type);
  return -1;
}

/** its_install_table(): a flat table of 64K pages, inner shareable, RaWaWb, valid. */
function* itsInstallTable(g: Guest, type: number, base: number, size: number): GuestProgram {
  const offset = yield* itsFindBaser(g, type);
  const baser =
    BigInt(size / SZ_64K - 1) | GITS_BASER_PAGE_SIZE_64K | GITS_BASER_InnerShareable | BigInt(base) | GITS_BASER_RaWaWb | GITS_BASER_VALID;
  yield* itsWriteU64(g, offset, baser);
}

/** its_install_cmdq() */
function* itsInstallCmdq(g: Guest, base: number, size: number): GuestProgram {
  const cbaser = BigInt(size / SZ_4K - 1) | GITS_CBASER_InnerShareable | BigInt(base) | GITS_CBASER_RaWaWb | GITS_CBASER_VALID;
  yield* itsWriteU64(g, GITS_CBASER, cbaser);
}

/** its_init(coll_tbl, coll_tbl_sz, device_tbl, device_tbl_sz, cmdq, cmdq_size) */
export function* itsInit(
  g: Guest,
  collTbl: number,
  collTblSz: number,
  deviceTbl: number,
  deviceTblSz: number,
  cmdq: number,
  cmdqSize: number,
): GuestProgram {
  yield* itsInstallTable(g, GITS_BASER_TYPE_COLLECTION, collTbl, collTblSz);
  yield* itsInstallTable(g, GITS_BASER_TYPE_DEVICE, deviceTbl, deviceTblSz);
  yield* itsInstallCmdq(g, cmdq, cmdqSize);
  const ctlr = yield* g.readl(GITS_BASE_GVA + GITS_CTLR);
  yield* g.writel(GITS_BASE_GVA + GITS_CTLR, ctlr | GITS_CTLR_ENABLE);
}

// --- command encoding (its_encode_*) -------------------------------------------------------------------

/** struct its_cmd_block: four 64-bit words. */
export type ItsCmdBlock = [bigint, bigint, bigint, bigint];

export function newCmd(cmdNr: number): ItsCmdBlock {
  return [BigInt(cmdNr & 0xff), 0n, 0n, 0n];
}

/** its_mask_encode(&raw_cmd[word], val, h, l) */
function maskEncode(cmd: ItsCmdBlock, word: 0 | 1 | 2 | 3, val: bigint, h: number, l: number): void {
  const mask = ((1n << BigInt(h - l + 1)) - 1n) << BigInt(l);
  cmd[word] = (cmd[word] & ~mask) | ((val << BigInt(l)) & mask);
}

export const itsEncodeDevid = (c: ItsCmdBlock, devid: number): void => maskEncode(c, 0, BigInt(devid >>> 0), 63, 32);
export const itsEncodeEventId = (c: ItsCmdBlock, id: number): void => maskEncode(c, 1, BigInt(id >>> 0), 31, 0);
export const itsEncodePhysId = (c: ItsCmdBlock, physId: number): void => maskEncode(c, 1, BigInt(physId >>> 0), 63, 32);
export const itsEncodeSize = (c: ItsCmdBlock, size: number): void => maskEncode(c, 1, BigInt(size & 0xff), 4, 0);
export const itsEncodeItt = (c: ItsCmdBlock, ittAddr: number): void => maskEncode(c, 2, BigInt(ittAddr) >> 8n, 51, 8);
export const itsEncodeValid = (c: ItsCmdBlock, valid: boolean): void => maskEncode(c, 2, valid ? 1n : 0n, 63, 63);
export const itsEncodeTarget = (c: ItsCmdBlock, targetAddr: number): void => maskEncode(c, 2, BigInt(targetAddr) >> 16n, 51, 16);
export const itsEncodeCollection = (c: ItsCmdBlock, col: number): void => maskEncode(c, 2, BigInt(col & 0xffff), 15, 0);
/** MOVALL's second redistributor, DW3[51:16]. */
export const itsEncodeTarget2 = (c: ItsCmdBlock, targetAddr: number): void => maskEncode(c, 3, BigInt(targetAddr) >> 16n, 51, 16);

/** procnum_to_rdbase() */
export const procnumToRdbase = (vcpuId: number): number => vcpuId * 2 ** GITS_COLLECTION_TARGET_SHIFT;

/**
 * its_send_cmd(): write the command at CWRITER, move CWRITER one slot on (wrapping at the queue
 * size from CBASER) and check CREADR caught up with no polling (GITS_CMDQ_POLL_ITERATIONS = 0).
 */
export function* itsSendCmd(g: Guest, cmdqBase: number, cmd: ItsCmdBlock): GuestProgram {
  const cwriter = Number(yield* itsReadU64(g, GITS_CWRITER));
  const dst = cmdqBase + cwriter;
  const cbaser = yield* itsReadU64(g, GITS_CBASER);
  const cmdqSize = (Number(cbaser & 0xffn) + 1) * SZ_4K;
  for (let i = 0; i < 4; i++) yield* g.writeq(dst + i * 8, cmd[i]!);
  const next = (cwriter + ITS_CMD_SIZE) % cmdqSize;
  yield* itsWriteU64(g, GITS_CWRITER, BigInt(next));
  for (let i = 0; (yield* itsReadU64(g, GITS_CREADR)) !== BigInt(next); i++) {
    yield* g.assert(i < 0, "ITS didn't process command at offset %lu after %d iterations\n", cwriter, i);
    yield* g.cpuRelax();
  }
}

// --- the commands (its_send_*_cmd), each also as a builder for tests ---------------------------------------

/** MAPD: Size = ilog2(itt_size) - 1 (so 2^Size+1 events), ITT address, Valid. */
export function itsBuildMapdCmd(deviceId: number, ittBase: number, ittSize: number, valid: boolean): ItsCmdBlock {
  const cmd = newCmd(GITS_CMD_MAPD);
  itsEncodeDevid(cmd, deviceId);
  itsEncodeSize(cmd, ilog2(ittSize) - 1);
  itsEncodeItt(cmd, ittBase);
  itsEncodeValid(cmd, valid);
  return cmd;
}

/** MAPC: collection -> RDbase of the vCPU (GITS_TYPER.PTA = 0), Valid. */
export function itsBuildMapcCmd(vcpuId: number, collectionId: number, valid: boolean): ItsCmdBlock {
  const cmd = newCmd(GITS_CMD_MAPC);
  itsEncodeCollection(cmd, collectionId);
  itsEncodeTarget(cmd, procnumToRdbase(vcpuId));
  itsEncodeValid(cmd, valid);
  return cmd;
}

/** MAPTI: (DeviceID, EventID) -> pINTID in a collection. */
export function itsBuildMaptiCmd(deviceId: number, eventId: number, collectionId: number, intid: number): ItsCmdBlock {
  const cmd = itsBuildDevEventCmd(GITS_CMD_MAPTI, deviceId, eventId);
  itsEncodePhysId(cmd, intid);
  itsEncodeCollection(cmd, collectionId);
  return cmd;
}

/** MAPI: the EventID is the LPI INTID. */
export function itsBuildMapiCmd(deviceId: number, eventId: number, collectionId: number): ItsCmdBlock {
  const cmd = itsBuildDevEventCmd(GITS_CMD_MAPI, deviceId, eventId);
  itsEncodeCollection(cmd, collectionId);
  return cmd;
}

/** MOVI: move an event to another collection. */
export function itsBuildMoviCmd(deviceId: number, eventId: number, collectionId: number): ItsCmdBlock {
  const cmd = itsBuildDevEventCmd(GITS_CMD_MOVI, deviceId, eventId);
  itsEncodeCollection(cmd, collectionId);
  return cmd;
}

/** A command that names a DeviceID and an EventID only: INT, INV, CLEAR, DISCARD. */
export function itsBuildDevEventCmd(cmdNr: number, deviceId: number, eventId: number): ItsCmdBlock {
  const cmd = newCmd(cmdNr);
  itsEncodeDevid(cmd, deviceId);
  itsEncodeEventId(cmd, eventId);
  return cmd;
}

/** INVALL: every LPI of the collection's redistributor. */
export function itsBuildInvallCmd(collectionId: number): ItsCmdBlock {
  const cmd = newCmd(GITS_CMD_INVALL);
  itsEncodeCollection(cmd, collectionId);
  return cmd;
}

/** SYNC: the vCPU's redistributor. */
export function itsBuildSyncCmd(vcpuId: number): ItsCmdBlock {
  const cmd = newCmd(GITS_CMD_SYNC);
  itsEncodeTarget(cmd, procnumToRdbase(vcpuId));
  return cmd;
}

/** MOVALL: every LPI on one redistributor (vCPU) to another. */
export function itsBuildMovallCmd(fromVcpu: number, toVcpu: number): ItsCmdBlock {
  const cmd = newCmd(GITS_CMD_MOVALL);
  itsEncodeTarget(cmd, procnumToRdbase(fromVcpu));
  itsEncodeTarget2(cmd, procnumToRdbase(toVcpu));
  return cmd;
}

/** its_send_mapd_cmd(cmdq, device_id, itt_base, itt_size, valid) */
export const itsSendMapdCmd = (g: Guest, q: number, deviceId: number, ittBase: number, ittSize: number, valid: boolean): GuestProgram =>
  itsSendCmd(g, q, itsBuildMapdCmd(deviceId, ittBase, ittSize, valid));
/** its_send_mapc_cmd(cmdq, vcpu_id, collection_id, valid) */
export const itsSendMapcCmd = (g: Guest, q: number, vcpuId: number, collectionId: number, valid: boolean): GuestProgram =>
  itsSendCmd(g, q, itsBuildMapcCmd(vcpuId, collectionId, valid));
/** its_send_mapti_cmd(cmdq, device_id, event_id, collection_id, intid) */
export const itsSendMaptiCmd = (g: Guest, q: number, deviceId: number, eventId: number, collectionId: number, intid: number): GuestProgram =>
  itsSendCmd(g, q, itsBuildMaptiCmd(deviceId, eventId, collectionId, intid));
/** its_send_invall_cmd(cmdq, collection_id) */
export const itsSendInvallCmd = (g: Guest, q: number, collectionId: number): GuestProgram => itsSendCmd(g, q, itsBuildInvallCmd(collectionId));
/** its_send_sync_cmd(cmdq, vcpu_id) */
export const itsSendSyncCmd = (g: Guest, q: number, vcpuId: number): GuestProgram => itsSendCmd(g, q, itsBuildSyncCmd(vcpuId));

// The commands the kernel library does not have (as kvm-unit-tests' gic-v3-its-cmd.c encodes them).
export const itsSendIntCmd = (g: Guest, q: number, dev: number, ev: number): GuestProgram => itsSendCmd(g, q, itsBuildDevEventCmd(GITS_CMD_INT, dev, ev));
export const itsSendInvCmd = (g: Guest, q: number, dev: number, ev: number): GuestProgram => itsSendCmd(g, q, itsBuildDevEventCmd(GITS_CMD_INV, dev, ev));
export const itsSendClearCmd = (g: Guest, q: number, dev: number, ev: number): GuestProgram => itsSendCmd(g, q, itsBuildDevEventCmd(GITS_CMD_CLEAR, dev, ev));
export const itsSendDiscardCmd = (g: Guest, q: number, dev: number, ev: number): GuestProgram => itsSendCmd(g, q, itsBuildDevEventCmd(GITS_CMD_DISCARD, dev, ev));
export const itsSendMapiCmd = (g: Guest, q: number, dev: number, ev: number, coll: number): GuestProgram => itsSendCmd(g, q, itsBuildMapiCmd(dev, ev, coll));
export const itsSendMoviCmd = (g: Guest, q: number, dev: number, ev: number, coll: number): GuestProgram => itsSendCmd(g, q, itsBuildMoviCmd(dev, ev, coll));
export const itsSendMovallCmd = (g: Guest, q: number, from: number, to: number): GuestProgram => itsSendCmd(g, q, itsBuildMovallCmd(from, to));

// --- redistributor --------------------------------------------------------------------------------------

/** gic_rdist_enable_lpis(cfg_table, cfg_table_size, pend_table) for the calling vCPU. */
export function* gicRdistEnableLpis(g: Guest, cfgTable: number, cfgTableSize: number, pendTable: number): GuestProgram {
  const rdistBase = rdBase(g);
  let val = BigInt(cfgTable) | GICR_PROPBASER_InnerShareable | GICR_PROPBASER_RaWaWb | (BigInt(ilog2(cfgTableSize) - 1) & GICR_PROPBASER_IDBITS_MASK);
  yield* g.writeq(rdistBase + GICR_PROPBASER, val);
  val = BigInt(pendTable) | GICR_PENDBASER_InnerShareable | GICR_PENDBASER_RaWaWb;
  yield* g.writeq(rdistBase + GICR_PENDBASER, val);
  const ctlr = yield* g.readl(rdistBase + GICR_CTLR);
  yield* g.writel(rdistBase + GICR_CTLR, ctlr | GICR_CTLR_ENABLE_LPIS);
}
