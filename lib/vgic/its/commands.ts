// The ITS command queue and the twelve commands, as KVM runs them (vgic-its.c:
// vgic_its_process_commands, vgic_its_handle_command and vgic_its_cmd_handle_*). Commands run
// synchronously when CWRITER moves (or the ITS is enabled); a command whose handler fails is
// dropped and CREADR still advances, so a bad command never stalls the queue. The handlers
// return what KVM's return: 0, an E_ITS_* code, or -errno (ignored by the queue, visible to tests).

import { EFAULT, ENODEV } from '../../uapi/errno.ts';
import {
  E_ITS_CLEAR_UNMAPPED_INTERRUPT,
  E_ITS_DISCARD_UNMAPPED_INTERRUPT,
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
  GIC_LPI_OFFSET,
  ITS_CMD_SIZE,
} from '../../uapi/its.ts';
import { gpaOf, readGuest } from '../guest-mem.ts';
import { lpisInOrder, maxLpisPropbaser, updateAffinity, vgicAddLpi, vgicItsInvall, vgicItsInvLpi } from '../lpi.ts';
import {
  COLLECTION_NOT_MAPPED,
  type ItsCollection,
  type ItsDevice,
  type ItsIte,
  VITS_TYPER_IDBITS,
  type VgicIts,
  collectionToVcpu,
  findCollection,
  findItsDevice,
  findIte,
  freeCollection,
  freeDevice,
  freeIte,
  invalidateCache,
  isCollectionMapped,
  updateAffinityCollection,
} from './state.ts';
import { checkEventId, checkId, clearEntry, iteAddress } from './tables.ts';
import { triggerMsi } from './translate.ts';

/** One decoded 32-byte command: four little-endian 64-bit words, each as two 32-bit halves. */
export class ItsCommand {
  private readonly w: Uint32Array;
  constructor(bytes: Uint8Array) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, ITS_CMD_SIZE);
    this.w = new Uint32Array(8);
    for (let i = 0; i < 8; i++) this.w[i] = v.getUint32(i * 4, true);
  }
  private lo(word: number): number {
    return this.w[word * 2]!;
  }
  private hi(word: number): number {
    return this.w[word * 2 + 1]!;
  }
  /** its_cmd_get_command: DW0[7:0] */
  get command(): number {
    return this.lo(0) & 0xff;
  }
  /** its_cmd_get_deviceid: DW0[63:32] */
  get deviceId(): number {
    return this.hi(0);
  }
  /** its_cmd_get_size: DW1[4:0] + 1 */
  get size(): number {
    return (this.lo(1) & 0x1f) + 1;
  }
  /** its_cmd_get_id: DW1[31:0] (EventID) */
  get id(): number {
    return this.lo(1);
  }
  /** its_cmd_get_physical_id: DW1[63:32] (pINTID) */
  get physicalId(): number {
    return this.hi(1);
  }
  /** its_cmd_get_collection: DW2[15:0] */
  get collection(): number {
    return this.lo(2) & 0xffff;
  }
  /** its_cmd_get_ittaddr: DW2[51:8] << 8 */
  get ittAddr(): number {
    return (this.hi(2) & 0xfffff) * 2 ** 32 + ((this.lo(2) & 0xffffff00) >>> 0);
  }
  /** its_cmd_get_target_addr: DW2[47:16] (a vCPU id, GITS_TYPER.PTA = 0) */
  get targetAddr(): number {
    return ((this.lo(2) >>> 16) | ((this.hi(2) & 0xffff) << 16)) >>> 0;
  }
  /** its_cmd_get_validbit: DW2[63] */
  get valid(): boolean {
    return this.hi(2) >>> 31 === 1;
  }
  /** MOVALL's second target: DW3[47:16] */
  get targetAddr2(): number {
    return ((this.lo(3) >>> 16) | ((this.hi(3) & 0xffff) << 16)) >>> 0;
  }
}

/** vgic_its_alloc_collection(): a new, unmapped collection. */
function allocCollection(its: VgicIts, collId: number): ItsCollection {
  const c: ItsCollection = { collectionId: collId, targetAddr: COLLECTION_NOT_MAPPED };
  its.collections.set(collId, c);
  return c;
}

/** DISCARD: free a mapped ITE and zero its ITT entry. */
function handleDiscard(its: VgicIts, cmd: ItsCommand): number {
  const ite = findIte(its, cmd.deviceId, cmd.id);
  if (ite && isCollectionMapped(ite.collection)) {
    const device = findItsDevice(its, cmd.deviceId)!;
    const gpa = iteAddress(device, ite.eventId);
    // The pending state goes with the ITE (KVM does not clear it separately).
    invalidateCache(its);
    freeIte(its, device, ite);
    return clearEntry(its, gpa);
  }
  return E_ITS_DISCARD_UNMAPPED_INTERRUPT;
}

/** MOVI: move an ITE (and its LPI's target) to another mapped collection. */
function handleMovi(its: VgicIts, cmd: ItsCommand): number {
  const ite = findIte(its, cmd.deviceId, cmd.id);
  if (!ite) return E_ITS_MOVI_UNMAPPED_INTERRUPT;
  if (!isCollectionMapped(ite.collection)) return E_ITS_MOVI_UNMAPPED_COLLECTION;
  const collection = findCollection(its, cmd.collection);
  if (!isCollectionMapped(collection)) return E_ITS_MOVI_UNMAPPED_COLLECTION;
  ite.collection = collection;
  const vcpu = collectionToVcpu(its.dist, collection) ?? null;
  invalidateCache(its);
  if (ite.irq) updateAffinity(its.dist, ite.irq, null, vcpu);
  return 0;
}

/** MAPTI / MAPI: map an EventID to an LPI in a collection (created unmapped if new). */
function handleMapi(its: VgicIts, cmd: ItsCommand): number {
  const deviceId = cmd.deviceId;
  const eventId = cmd.id;
  const collId = cmd.collection;
  const device = findItsDevice(its, deviceId);
  if (!device) return E_ITS_MAPTI_UNMAPPED_DEVICE;
  if (!checkEventId(its, device, eventId)) return E_ITS_MAPTI_ID_OOR;
  const lpiNr = cmd.command === GITS_CMD_MAPTI ? cmd.physicalId : eventId;
  if (lpiNr < GIC_LPI_OFFSET || lpiNr >= maxLpisPropbaser(its.dist.propbaser)) return E_ITS_MAPTI_PHYSICALID_OOR;
  // An existing mapping is UNPREDICTABLE: KVM keeps it and reports success.
  if (findIte(its, deviceId, eventId)) return 0;
  let collection = findCollection(its, collId);
  let newColl = false;
  if (!collection) {
    if (checkId(its, its.baserCollTable, collId) < 0) return E_ITS_MAPC_COLLECTION_OOR;
    collection = allocCollection(its, collId);
    newColl = true;
  }
  const ite: ItsIte = { eventId, collection, irq: null };
  device.ites.set(eventId, ite);
  const vcpu = isCollectionMapped(collection) ? collectionToVcpu(its.dist, collection) ?? null : null;
  const irq = vgicAddLpi(its.dist, lpiNr, vcpu);
  if (typeof irq === 'number') {
    if (newColl) freeCollection(its, collId);
    freeIte(its, device, ite);
    return irq;
  }
  ite.irq = irq;
  return 0;
}

/** MAPD: (re)map a DeviceID to an ITT, or unmap it (V=0) and zero its device-table entry. */
function handleMapd(its: VgicIts, cmd: ItsCommand): number {
  const deviceId = cmd.deviceId;
  const valid = cmd.valid;
  const numEventIdBits = cmd.size;
  const gpa = checkId(its, its.baserDeviceTable, deviceId);
  if (gpa < 0) return E_ITS_MAPD_DEVICE_OOR;
  if (valid && numEventIdBits > VITS_TYPER_IDBITS) return E_ITS_MAPD_ITTSIZE_OOR;
  // Re-mapping a mapped device drops all its ITEs (KVM frees and re-creates it).
  const old = findItsDevice(its, deviceId);
  if (old) freeDevice(its, old);
  if (!valid) return clearEntry(its, gpa);
  const device: ItsDevice = { deviceId, ittAddr: cmd.ittAddr, numEventIdBits, ites: new Map() };
  its.devices.set(deviceId, device);
  return 0;
}

/** MAPC: map a collection to a redistributor (vCPU id), or unmap it (V=0). */
function handleMapc(its: VgicIts, cmd: ItsCommand): number {
  const collId = cmd.collection;
  if (!cmd.valid) {
    freeCollection(its, collId);
    invalidateCache(its);
    return 0;
  }
  const vcpu = its.dist.vcpuById(cmd.targetAddr);
  if (!vcpu) return E_ITS_MAPC_PROCNUM_OOR;
  const collection = findCollection(its, collId);
  if (!collection) {
    if (checkId(its, its.baserCollTable, collId) < 0) return E_ITS_MAPC_COLLECTION_OOR;
    allocCollection(its, collId).targetAddr = vcpu.vcpuId;
  } else {
    collection.targetAddr = vcpu.vcpuId;
    updateAffinityCollection(its, collection);
  }
  return 0;
}

/** CLEAR: drop an ITE's LPI pending state. */
function handleClear(its: VgicIts, cmd: ItsCommand): number {
  const ite = findIte(its, cmd.deviceId, cmd.id);
  if (!ite) return E_ITS_CLEAR_UNMAPPED_INTERRUPT;
  if (ite.irq) ite.irq.pendingLatch = false;
  return 0;
}

/** INV: re-read one LPI's property byte. */
function handleInv(its: VgicIts, cmd: ItsCommand): number {
  const ite = findIte(its, cmd.deviceId, cmd.id);
  if (!ite) return E_ITS_INV_UNMAPPED_INTERRUPT;
  return ite.irq ? vgicItsInvLpi(its.dist, ite.irq) : 0;
}

/** INVALL: re-read the property bytes of every LPI (of any ITS) targeting the collection's vCPU. */
function handleInvall(its: VgicIts, cmd: ItsCommand): number {
  const collection = findCollection(its, cmd.collection);
  if (!isCollectionMapped(collection)) return E_ITS_INVALL_UNMAPPED_COLLECTION;
  const vcpu = collectionToVcpu(its.dist, collection);
  if (vcpu) vgicItsInvall(its.dist, vcpu);
  return 0;
}

/** MOVALL: every LPI of the VM targeting RDbase1 moves to RDbase2 (collections are left alone). */
function handleMovall(its: VgicIts, cmd: ItsCommand): number {
  const dist = its.dist;
  const vcpu1 = dist.vcpuById(cmd.targetAddr);
  const vcpu2 = dist.vcpuById(cmd.targetAddr2);
  if (!vcpu1 || !vcpu2) return E_ITS_MOVALL_PROCNUM_OOR;
  if (vcpu1 === vcpu2) return 0;
  for (const lpi of lpisInOrder(dist)) updateAffinity(dist, lpi, vcpu1, vcpu2);
  invalidateCache(its);
  return 0;
}

/** INT: make the EventID's LPI pending, as an MSI would. */
function handleInt(its: VgicIts, cmd: ItsCommand): number {
  return triggerMsi(its, cmd.deviceId, cmd.id);
}

/** vgic_its_handle_command(): an unknown command is -ENODEV; SYNC does nothing (always in sync). */
export function handleCommand(its: VgicIts, cmd: ItsCommand): number {
  switch (cmd.command) {
    case GITS_CMD_MAPD:
      return handleMapd(its, cmd);
    case GITS_CMD_MAPC:
      return handleMapc(its, cmd);
    case GITS_CMD_MAPI:
    case GITS_CMD_MAPTI:
      return handleMapi(its, cmd);
    case GITS_CMD_MOVI:
      return handleMovi(its, cmd);
    case GITS_CMD_DISCARD:
      return handleDiscard(its, cmd);
    case GITS_CMD_CLEAR:
      return handleClear(its, cmd);
    case GITS_CMD_MOVALL:
      return handleMovall(its, cmd);
    case GITS_CMD_INT:
      return handleInt(its, cmd);
    case GITS_CMD_INV:
      return handleInv(its, cmd);
    case GITS_CMD_INVALL:
      return handleInvall(its, cmd);
    case GITS_CMD_SYNC:
      return 0;
  }
  return -ENODEV;
}

/** ITS_CMD_BUFFER_SIZE(cbaser): (Size + 1) 4 KiB pages. */
export function cmdBufferSize(cbaser: bigint): number {
  return (Number(cbaser & 0xffn) + 1) * 0x1000;
}

/** GITS_CBASER_ADDRESS(): bits [51:12]. */
export function cbaserAddress(cbaser: bigint): bigint {
  return cbaser & 0x000ffffffffff000n;
}

/** A hook tests use to see each command's result; the queue itself ignores it, as KVM does. */
export type CommandObserver = (cmd: ItsCommand | null, ret: number) => void;
let observer: CommandObserver | null = null;
export function observeCommands(fn: CommandObserver | null): void {
  observer = fn;
}

/**
 * vgic_its_process_commands(): only while enabled; from CREADR to CWRITER, wrapping at the end
 * of the queue. A command that cannot be read from guest RAM is skipped (GICv3 spec 6.3.2).
 */
export function processCommands(its: VgicIts): void {
  if (!its.enabled) return;
  const base = gpaOf(cbaserAddress(its.cbaser));
  const size = cmdBufferSize(its.cbaser);
  // CREADR and CWRITER are both 32-byte aligned and inside the queue (every writer checks), so
  // this ends within one lap; the count only makes that bound explicit.
  for (let n = size / ITS_CMD_SIZE; its.cwriter !== its.creadr && n > 0; n--) {
    const bytes = base < 0 ? null : readGuest(its.dist, base + its.creadr, ITS_CMD_SIZE);
    if (bytes) {
      const cmd = new ItsCommand(bytes);
      const ret = handleCommand(its, cmd);
      observer?.(cmd, ret);
    } else {
      observer?.(null, -EFAULT);
    }
    its.creadr += ITS_CMD_SIZE;
    if (its.creadr === size) its.creadr = 0;
  }
}
