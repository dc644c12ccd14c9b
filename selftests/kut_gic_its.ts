// Port of kvm-unit-tests arm/gic.c, the two ITS tests that run without migration:
// `its-introspection` and `its-trigger` (arm/unittests.cfg: smp = $MAX_SMP, here 4 vCPUs), with
// the guest library they use (lib/arm64/gic-v3-its.c, gic-v3-its-cmd.c, lib/arm/gic-v3.c).
//
// CPU 0 runs the test; the others are "powered off" until CPU 0 boots them into irq_recv(),
// where they take interrupts in a WFI loop, as kvm-unit-tests' smp_boot_secondary() does. The
// vCPUs are interleaved by the seeded scheduler; mdelay(ms) is a busy loop of guest accesses, so
// the other vCPUs run meanwhile. Each report() of the original is one TAP check named by the line
// kvm-unit-tests prints (`PASS: gicv3: its-trigger: int: dev=2, eventid=20  -> lpi= 8195, col=3`);
// a failed one is printed as `FAIL: ...` and fails the case at the end, after the others ran
// (kvm-unit-tests carries on after a failed report). INFO lines, the ITS command log and the
// SUMMARY line are TAP comments. The migration variants come with table save/restore.
//
// vgic-harness: timeout=60

import type { Guest, GuestProgram, GuestReply, GuestRequest } from '../lib/guest/index.ts';
import {
  GICD_BASE_GVA,
  GICD_CTLR,
  GICD_CTLR_ARE_NS,
  GICD_CTLR_ENABLE_G1,
  GICD_CTLR_ENABLE_G1A,
  GICD_CTLR_RWP,
  GICD_IGROUPR,
  GICD_TYPER,
  GICR_BASE_GVA,
  GICR_CTLR,
  GICR_CTLR_ENABLE_LPIS,
  GICR_IGROUPR0,
  GICR_IPRIORITYR0,
  GICR_ISENABLER0,
  GICR_PENDBASER,
  GICR_PROPBASER,
  GICR_TYPER,
  GICR_TYPER_LAST,
  GITS_BASER,
  GITS_BASER_INDIRECT,
  GITS_BASER_NR_REGS,
  GITS_BASER_PAGE_SIZE_64K,
  GITS_BASER_PAGE_SIZE_MASK,
  GITS_BASER_TYPE_COLLECTION,
  GITS_BASER_TYPE_DEVICE,
  GITS_BASER_VALID,
  GITS_BASE_GVA,
  GITS_CBASER,
  GITS_CBASER_VALID,
  GITS_CMD_INT,
  GITS_CMD_INV,
  GITS_CMD_INVALL,
  GITS_CMD_MAPC,
  GITS_CMD_MAPD,
  GITS_CMD_MAPTI,
  GITS_CREADR,
  GITS_CTLR,
  GITS_CTLR_ENABLE,
  GITS_CWRITER,
  GITS_IIDR,
  GITS_TYPER,
  GITS_TYPER_CIL,
  GITS_TYPER_PLPIS,
  GITS_TYPER_PTA,
  GITS_TYPER_VLPIS,
  ICC_EOIR1_EL1,
  ICC_IAR1_EL1,
  ICC_IGRPEN1_EL1,
  ICC_PMR_EL1,
  LPI_PROP_DEFAULT,
  LPI_PROP_ENABLED,
  type ItsCmdBlock,
  gitsBaserEntrySize,
  gitsBaserType,
  itsEncodeCollection,
  itsEncodeDevid,
  itsEncodeEventId,
  itsEncodeItt,
  itsEncodePhysId,
  itsEncodeSize,
  itsEncodeTarget,
  itsEncodeValid,
  newCmd,
} from '../lib/guest/index.ts';
import {
  type KvmVcpu,
  type KvmVm,
  UCALL_ABORT,
  UCALL_DONE,
  type Ucall,
  VECTOR_IRQ_CURRENT,
  formatPrintf,
  guestGlobals,
  kvmVmFree,
  printInfo,
  recordPass,
  reportGuestAssert,
  runVcpuThreads,
  selftest,
  syncGlobalToGuest,
  testFail,
  testRequire,
  vgicItsSetup,
  vmCreateWithVcpus,
  vmInstallExceptionHandler,
  vmUserspaceMemRegionAdd,
} from '../lib/host/index.ts';

type Gen<R> = Generator<GuestRequest, R, GuestReply>;

const NR_CPUS = 4;
const SZ_4K = 0x1000;
const SZ_64K = 0x10000;
/** The guest's RAM, where alloc_pages() carves the ITS and LPI tables (kvm-unit-tests' RAM base). */
const RAM_BASE = 0x40000000;
const RAM_SIZE = 0x200000;
const GICC_INT_SPURIOUS = 1023;
const GICC_INT_PRI_THRESHOLD = 0xf0;
const GICD_INT_DEF_PRI_X4 = 0xa0a0a0a0;
const GICD_INT_EN_SET_SGI = 0x0000ffff;
/** mdelay(ms) as guest accesses: the other vCPUs run while CPU 0 waits. */
const ACCESSES_PER_MS = 4;

/** One line of kvm-unit-tests output, in order. */
interface KutLine {
  kind: 'PASS' | 'FAIL' | 'SKIP' | 'INFO' | 'PRINT' | 'SUMMARY';
  text: string;
}

/** What CPUs share (the test's statics and the library's its_data/gicv3_data where several CPUs touch it). */
interface KutShared {
  test: string;
  acked: number[];
  spurious: number[];
  irqSender: number[];
  irqNumber: number[];
  ready: boolean[];
  /** smp_boot_secondary(): the CPUs CPU 0 has started. */
  booted: boolean[];
  redistBase: number[];
  /** CPU 0 has returned from main(). */
  finished: boolean;
  log: KutLine[];
}

const globals = guestGlobals({ kut: null as KutShared | null });

function shared(g: Guest): KutShared {
  return g.readGlobal(globals, 'kut')!;
}

// --- lib/report.c ---------------------------------------------------------------------------------------

/** report(), report_info(), report_summary() with the prefix stack; CPU 0 only. */
class Report {
  private prefixes: string[] = [];
  tests = 0;
  failures = 0;
  skipped = 0;
  constructor(private readonly log: KutLine[]) {}
  private get prefix(): string {
    return this.prefixes.map((p) => `${p}: `).join('');
  }
  push(p: string): void {
    this.prefixes.push(p);
  }
  pop(): void {
    this.prefixes.pop();
  }
  report(pass: boolean, fmt: string, ...args: Array<number | string>): boolean {
    this.tests++;
    if (!pass) this.failures++;
    this.log.push({ kind: pass ? 'PASS' : 'FAIL', text: `${pass ? 'PASS' : 'FAIL'}: ${this.prefix}${formatPrintf(fmt, args)}` });
    return pass;
  }
  skip(fmt: string, ...args: Array<number | string>): void {
    this.tests++;
    this.skipped++;
    this.log.push({ kind: 'SKIP', text: `SKIP: ${this.prefix}${formatPrintf(fmt, args)}` });
  }
  info(fmt: string, ...args: Array<number | string>): void {
    this.log.push({ kind: 'INFO', text: `INFO: ${this.prefix}${formatPrintf(fmt, args)}` });
  }
  printf(fmt: string, ...args: Array<number | string>): void {
    this.log.push({ kind: 'PRINT', text: formatPrintf(fmt, args) });
  }
  summary(): void {
    let s = `SUMMARY: ${this.tests} tests`;
    if (this.failures) s += `, ${this.failures} unexpected failures`;
    if (this.skipped) s += `, ${this.skipped} skipped`;
    this.log.push({ kind: 'SUMMARY', text: s });
  }
}

// --- lib/arm/gic-v3.c -------------------------------------------------------------------------------------

function* distWaitForRwp(g: Guest): GuestProgram {
  for (let i = 0; i < 1_000_000; i++) if (!((yield* g.readl(GICD_BASE_GVA + GICD_CTLR)) & GICD_CTLR_RWP)) return;
  yield* g.fail('GICD_CTLR.RWP timeout');
}

/** gicv3_set_redist_base(): walk the redistributors for the one whose TYPER affinity is ours. */
function* setRedistBase(g: Guest): GuestProgram {
  const aff = g.vcpuId; // mpidr_compress(): Aff0 = cpu for the first 16 CPUs
  let ptr = GICR_BASE_GVA;
  for (;;) {
    const typer = yield* g.readq(ptr + GICR_TYPER);
    if (Number(typer >> 32n) === aff) {
      shared(g).redistBase[g.vcpuId] = ptr;
      return;
    }
    if (typer & BigInt(GICR_TYPER_LAST)) break;
    ptr += 2 * SZ_64K;
  }
  yield* g.fail('no redistributor for cpu%d', g.vcpuId); // assert(0)
}

/** gicv3_enable_defaults() */
function* gicv3EnableDefaults(g: Guest): GuestProgram {
  const irqNr = Math.min((((yield* g.readl(GICD_BASE_GVA + GICD_TYPER)) & 0x1f) + 1) * 32, 1020);
  yield* g.writel(GICD_BASE_GVA + GICD_CTLR, 0);
  yield* distWaitForRwp(g);
  yield* g.writel(GICD_BASE_GVA + GICD_CTLR, GICD_CTLR_ARE_NS | GICD_CTLR_ENABLE_G1A | GICD_CTLR_ENABLE_G1);
  yield* distWaitForRwp(g);
  for (let i = 0; i < irqNr; i += 4) yield* g.writel(GICD_BASE_GVA + GICD_IGROUPR + i, 0xffffffff);
  if (!shared(g).redistBase[g.vcpuId]) yield* setRedistBase(g);
  const sgiBase = shared(g).redistBase[g.vcpuId]! + SZ_64K;
  yield* g.writel(sgiBase + GICR_IGROUPR0, 0xffffffff);
  for (let i = 0; i < 16; i += 4) yield* g.writel(sgiBase + GICR_IPRIORITYR0 + i, GICD_INT_DEF_PRI_X4);
  yield* g.writel(sgiBase + GICR_ISENABLER0, GICD_INT_EN_SET_SGI);
  yield* g.writeSysreg(ICC_PMR_EL1, GICC_INT_PRI_THRESHOLD);
  yield* g.writeSysreg(ICC_IGRPEN1_EL1, 1);
}

// --- arm/gic.c: interrupt bookkeeping -----------------------------------------------------------------------

/** irq_handler(): ack, EOI, record what arrived on this CPU. */
function* irqHandler(g: Guest): GuestProgram {
  const irqstat = Number(yield* g.readSysreg(ICC_IAR1_EL1));
  const irqnr = irqstat & 0xffffff; // gicv3_iar_irqnr
  const s = shared(g);
  if (irqnr !== GICC_INT_SPURIOUS) {
    yield* g.writeSysreg(ICC_EOIR1_EL1, irqstat);
    s.irqSender[g.vcpuId] = -1; // gic_get_sender(): GICv3 has no sender
    s.irqNumber[g.vcpuId] = irqnr;
    s.acked[g.vcpuId]!++;
  } else {
    s.spurious[g.vcpuId]!++;
  }
}

/** setup_irq(irq_handler): gic_enable_defaults, the handler is installed VM-wide, unmask. */
function* setupIrq(g: Guest): GuestProgram {
  yield* gicv3EnableDefaults(g);
  yield* g.localIrqEnable();
}

function* mdelay(g: Guest, ms: number): GuestProgram {
  for (let i = 0; i < ms * ACCESSES_PER_MS; i++) yield* g.cpuRelax();
}

function statsReset(s: KutShared): void {
  for (let i = 0; i < NR_CPUS; i++) {
    s.acked[i] = 0;
    s.irqSender[i] = -1;
    s.irqNumber[i] = -1;
  }
}

/** wait_for_interrupts(): up to 50 x 100 ms until every CPU in the mask got one and no other did. */
function* waitForInterrupts(g: Guest, r: Report, mask: ReadonlySet<number>): GuestProgram {
  const s = shared(g);
  for (let i = 0; i < 50; i++) {
    yield* mdelay(g, 100);
    let nrPass = 0;
    for (let cpu = 0; cpu < NR_CPUS; cpu++) nrPass += mask.has(cpu) ? (s.acked[cpu]! >= 1 ? 1 : 0) : s.acked[cpu] === 0 ? 1 : 0;
    if (nrPass === NR_CPUS) {
      if (i) r.info('interrupts took more than %d ms', i * 100);
      // Wait for unexpected interrupts to fire
      yield* mdelay(g, 100);
      return;
    }
  }
  r.info('interrupts timed-out (5s)');
}

/** check_acked(): exactly one interrupt on each CPU of the mask, with the right number, none elsewhere. */
function checkAcked(s: KutShared, r: Report, mask: ReadonlySet<number>, _sender: number, irqnum: number): boolean {
  let missing = 0;
  let extra = 0;
  let unexpected = 0;
  let pass = true;
  for (let cpu = 0; cpu < NR_CPUS; cpu++) {
    if (mask.has(cpu)) {
      if (!s.acked[cpu]) ++missing;
      else if (s.acked[cpu]! > 1) ++extra;
    } else if (s.acked[cpu]) {
      ++unexpected;
    }
    if (!s.acked[cpu]) continue;
    // GICv3: no sender check
    if (s.irqNumber[cpu] !== irqnum) {
      r.info('cpu%d received wrong irq %d', cpu, s.irqNumber[cpu]!);
      pass = false;
    }
  }
  if (missing || extra || unexpected) {
    r.info('ACKS: missing=%d extra=%d unexpected=%d', missing, extra, unexpected);
    pass = false;
  }
  return pass;
}

function checkSpurious(s: KutShared, r: Report): void {
  for (let cpu = 0; cpu < NR_CPUS; cpu++) if (s.spurious[cpu]) r.info('WARN: cpu%d got %d spurious interrupts', cpu, s.spurious[cpu]!);
}

// --- lib/arm64/gic-v3-its.c and gic-v3-its-cmd.c ---------------------------------------------------------------

interface ItsTyper {
  iteSize: number;
  eventidBits: number;
  deviceidBits: number;
  collidBits: number;
  pta: boolean;
  physLpi: boolean;
  virtLpi: boolean;
}
interface ItsBaser {
  index: number;
  esz: number;
  indirect: boolean;
  tableAddr: number;
}
interface ItsDevice {
  deviceId: number;
  nrItes: number;
  itt: number;
}
interface ItsCollection {
  targetAddress: number;
  colId: number;
}

/** its_data plus gicv3_data's LPI tables and alloc_pages(): CPU 0's view. */
class ItsData {
  typer: ItsTyper = { iteSize: 0, eventidBits: 0, deviceidBits: 0, collidBits: 0, pta: false, physLpi: false, virtLpi: false };
  deviceBaser: ItsBaser | null = null;
  collBaser: ItsBaser | null = null;
  cmdBase = 0;
  cmdWrite = 0;
  devices: ItsDevice[] = [];
  collections: ItsCollection[] = [];
  lpiProp = 0;
  lpiPend: number[] = [];
  private heap = RAM_BASE;
  /** alloc_pages(order): 2^order zeroed 4K pages, aligned to their size. */
  allocPages(order: number): number {
    const size = SZ_4K * 2 ** order;
    this.heap = Math.ceil(this.heap / size) * size;
    const p = this.heap;
    this.heap += size;
    return p;
  }
}

const getOrder = (pages: number): number => (pages <= 1 ? 0 : 32 - Math.clz32(pages - 1));
const fls = (x: number): number => 32 - Math.clz32(x);

/** its_parse_typer() */
function* itsParseTyper(g: Guest, its: ItsData): GuestProgram {
  const typer = yield* g.readq(GITS_BASE_GVA + GITS_TYPER);
  const t = its.typer;
  t.iteSize = Number((typer >> 4n) & 0xfn) + 1;
  t.pta = (typer & GITS_TYPER_PTA) !== 0n;
  t.eventidBits = Number((typer >> 8n) & 0x1fn) + 1;
  t.deviceidBits = Number((typer >> 13n) & 0x1fn) + 1;
  t.collidBits = typer & GITS_TYPER_CIL ? Number((typer >> 32n) & 0xfn) + 1 : 16;
  t.virtLpi = (typer & GITS_TYPER_VLPIS) !== 0n;
  t.physLpi = (typer & GITS_TYPER_PLPIS) !== 0n;
}

/** its_baser_lookup(type) */
function* itsBaserLookup(g: Guest, type: number): Gen<ItsBaser | null> {
  for (let i = 0; i < GITS_BASER_NR_REGS; i++) {
    const val = yield* g.readq(GITS_BASE_GVA + GITS_BASER + i * 8);
    if (gitsBaserType(val) === type) {
      yield* g.assert((val & GITS_BASER_PAGE_SIZE_MASK) === GITS_BASER_PAGE_SIZE_64K);
      return { index: i, esz: gitsBaserEntrySize(val), indirect: (val & GITS_BASER_INDIRECT) !== 0n, tableAddr: 0 };
    }
  }
  return null;
}

/** its_baser_alloc_table(): one 64K table, BASER |= PA | Valid. */
function* itsBaserAllocTable(g: Guest, its: ItsData, baser: ItsBaser, size: number): GuestProgram {
  const addr = GITS_BASE_GVA + GITS_BASER + baser.index * 8;
  const val = yield* g.readq(addr);
  baser.tableAddr = its.allocPages(getOrder(size / SZ_4K));
  yield* g.writeq(addr, val | BigInt(baser.tableAddr) | GITS_BASER_VALID);
}

/** its_cmd_queue_init(): a 64K queue, CBASER = PA | 15 | Valid, CWRITER = 0. */
function* itsCmdQueueInit(g: Guest, its: ItsData): GuestProgram {
  its.cmdBase = its.allocPages(getOrder(SZ_64K / SZ_4K));
  yield* g.writeq(GITS_BASE_GVA + GITS_CBASER, BigInt(its.cmdBase) | BigInt(SZ_64K / SZ_4K - 1) | GITS_CBASER_VALID);
  its.cmdWrite = its.cmdBase;
  yield* g.writeq(GITS_BASE_GVA + GITS_CWRITER, 0n);
}

/** its_init() (from gic_init() on CPU 0) */
function* itsInitKut(g: Guest, its: ItsData): GuestProgram {
  yield* itsParseTyper(g, its);
  its.deviceBaser = yield* itsBaserLookup(g, GITS_BASER_TYPE_DEVICE);
  its.collBaser = yield* itsBaserLookup(g, GITS_BASER_TYPE_COLLECTION);
  yield* g.assert(its.deviceBaser !== null && its.collBaser !== null);
  yield* itsBaserAllocTable(g, its, its.deviceBaser!, SZ_64K);
  yield* itsBaserAllocTable(g, its, its.collBaser!, SZ_64K);
  yield* itsCmdQueueInit(g, its);
}

/** gicv3_lpi_alloc_tables(): PROPBASER (IDbits 13) on every redistributor, one pending table each. */
function* gicv3LpiAllocTables(g: Guest, its: ItsData): GuestProgram {
  const order = fls(SZ_64K / SZ_4K);
  its.lpiProp = its.allocPages(order);
  const propVal = BigInt(its.lpiProp) | 13n;
  const s = shared(g);
  for (let cpu = 0; cpu < NR_CPUS; cpu++) {
    const ptr = s.redistBase[cpu]!;
    yield* g.assert(ptr !== 0, 'Redistributor for cpu%d not initialized. Did cpu%d enable the GIC?', cpu, cpu);
    yield* g.writeq(ptr + GICR_PROPBASER, propVal);
    its.lpiPend[cpu] = its.allocPages(order);
    yield* g.writeq(ptr + GICR_PENDBASER, BigInt(its.lpiPend[cpu]!));
  }
}

/** gicv3_lpi_rdist_enable(redist) */
function* gicv3LpiRdistEnable(g: Guest, redist: number): GuestProgram {
  const ptr = shared(g).redistBase[redist]!;
  const val = yield* g.readl(ptr + GICR_CTLR);
  yield* g.writel(ptr + GICR_CTLR, val | GICR_CTLR_ENABLE_LPIS);
}

/** its_enable_defaults(): LPI tables, LPIs on every CPU, then GITS_CTLR.Enabled. */
function* itsEnableDefaults(g: Guest, its: ItsData): GuestProgram {
  yield* gicv3LpiAllocTables(g, its);
  for (let cpu = 0; cpu < NR_CPUS; cpu++) yield* gicv3LpiRdistEnable(g, cpu);
  yield* g.writel(GITS_BASE_GVA + GITS_CTLR, GITS_CTLR_ENABLE);
}

/** gicv3_lpi_set_config(intid, value): one byte of the property table. */
function* gicv3LpiSetConfig(g: Guest, its: ItsData, intid: number, value: number): GuestProgram {
  yield* g.writeb(its.lpiProp + intid - 8192, value);
}

function itsCreateDevice(its: ItsData, deviceId: number, nrItes: number): ItsDevice {
  const n = Math.floor((its.typer.iteSize * nrItes) / SZ_4K);
  const dev = { deviceId, nrItes, itt: its.allocPages(getOrder(n)) };
  its.devices.push(dev);
  return dev;
}

function itsCreateCollection(its: ItsData, colId: number, pe: number): ItsCollection {
  // GITS_TYPER.PTA = 0: the target is the PE number << 16
  const col = { colId, targetAddress: pe * 2 ** 16 };
  its.collections.push(col);
  return col;
}

/** its_send_single_command(): allocate the slot, build, post CWRITER, wait for CREADR to pass it. */
function* itsSendSingleCommand(g: Guest, its: ItsData, cmd: ItsCmdBlock): GuestProgram {
  const slot = its.cmdWrite;
  its.cmdWrite += 32;
  if (its.cmdWrite === its.cmdBase + SZ_64K) its.cmdWrite = its.cmdBase;
  for (let i = 0; i < 4; i++) yield* g.writeq(slot + i * 8, cmd[i]!);
  const fromIdx = slot - its.cmdBase;
  const toIdx = its.cmdWrite - its.cmdBase;
  yield* g.writeq(GITS_BASE_GVA + GITS_CWRITER, BigInt(toIdx));
  // its_wait_for_range_completion(): 1000000 polls of 1 us
  for (let count = 1_000_000; ; ) {
    const rdIdx = Number(yield* g.readq(GITS_BASE_GVA + GITS_CREADR));
    if (rdIdx >= toIdx || rdIdx < fromIdx) return;
    if (!--count) {
      yield* g.fail('%s timeout!', Number(cmd[0] & 0xffn));
      return;
    }
  }
}

function* itsSendMapd(g: Guest, r: Report, its: ItsData, dev: ItsDevice, valid: boolean): GuestProgram {
  const ittAddr = Math.ceil(dev.itt / 256) * 256; // ALIGN(itt, ITS_ITT_ALIGN)
  const cmd = newCmd(GITS_CMD_MAPD);
  itsEncodeDevid(cmd, dev.deviceId);
  itsEncodeSize(cmd, dev.nrItes - 1);
  itsEncodeItt(cmd, ittAddr);
  itsEncodeValid(cmd, valid);
  r.printf('ITS: MAPD devid=%d size = 0x%x itt=0x%lx valid=%d', dev.deviceId, dev.nrItes, ittAddr, valid ? 1 : 0);
  yield* itsSendSingleCommand(g, its, cmd);
}

function* itsSendMapc(g: Guest, r: Report, its: ItsData, col: ItsCollection, valid: boolean): GuestProgram {
  const cmd = newCmd(GITS_CMD_MAPC);
  itsEncodeCollection(cmd, col.colId);
  itsEncodeTarget(cmd, col.targetAddress);
  itsEncodeValid(cmd, valid);
  r.printf('MAPC col_id=%d target_addr = 0x%lx valid=%d', col.colId, col.targetAddress, valid ? 1 : 0);
  yield* itsSendSingleCommand(g, its, cmd);
}

function* itsSendMapti(g: Guest, r: Report, its: ItsData, dev: ItsDevice, irqId: number, eventId: number, col: ItsCollection): GuestProgram {
  const cmd = newCmd(GITS_CMD_MAPTI);
  itsEncodeDevid(cmd, dev.deviceId);
  itsEncodeEventId(cmd, eventId);
  itsEncodePhysId(cmd, irqId);
  itsEncodeCollection(cmd, col.colId);
  r.printf('MAPTI dev_id=%d event_id=%d -> phys_id=%d, col_id=%d', dev.deviceId, eventId, irqId, col.colId);
  yield* itsSendSingleCommand(g, its, cmd);
}

function* itsSendInvall(g: Guest, r: Report, its: ItsData, col: ItsCollection): GuestProgram {
  const cmd = newCmd(GITS_CMD_INVALL);
  itsEncodeCollection(cmd, col.colId);
  r.printf('INVALL col_id=%d', col.colId);
  yield* itsSendSingleCommand(g, its, cmd);
}

function* itsSendDevEvent(g: Guest, r: Report, its: ItsData, nr: number, name: string, dev: ItsDevice, eventId: number): GuestProgram {
  const cmd = newCmd(nr);
  itsEncodeDevid(cmd, dev.deviceId);
  itsEncodeEventId(cmd, eventId);
  r.printf('%s dev_id=%d event_id=%d', name, dev.deviceId, eventId);
  yield* itsSendSingleCommand(g, its, cmd);
}
const itsSendInt = (g: Guest, r: Report, its: ItsData, dev: ItsDevice, ev: number): GuestProgram => itsSendDevEvent(g, r, its, GITS_CMD_INT, 'INT', dev, ev);
const itsSendInv = (g: Guest, r: Report, its: ItsData, dev: ItsDevice, ev: number): GuestProgram => itsSendDevEvent(g, r, its, GITS_CMD_INV, 'INV', dev, ev);

// --- arm/gic.c: the tests ----------------------------------------------------------------------------------------

/** test_readonly_32() with test_ro_pattern_32(). */
function* testReadonly32(g: Guest, address: number, razwi: boolean): Gen<boolean> {
  const orig = yield* g.readl(address);
  if (razwi && orig) return false;
  for (const pattern of [0xffffffff, 0xa5a55a5a, 0]) {
    if (orig === pattern) continue;
    yield* g.writel(address, pattern);
    const reg = yield* g.readl(address);
    if (reg !== orig) yield* g.writel(address, orig);
    if (reg !== orig) return false;
  }
  return true;
}

function* testItsIntrospection(g: Guest, r: Report, its: ItsData): GuestProgram {
  const devBaser = its.deviceBaser;
  const collBaser = its.collBaser;
  const typer = its.typer;
  // IIDR
  r.report(yield* testReadonly32(g, GITS_BASE_GVA + GITS_IIDR, false), 'GITS_IIDR is read-only');
  // TYPER
  r.report(yield* testReadonly32(g, GITS_BASE_GVA + GITS_TYPER, false), 'GITS_TYPER is read-only');
  r.report(typer.physLpi, 'ITS supports physical LPIs');
  r.info('vLPI support: %s', typer.virtLpi ? 'yes' : 'no');
  r.info('ITT entry size = 0x%x', typer.iteSize);
  r.info('Bit Count: EventID=%d DeviceId=%d CollId=%d', typer.eventidBits, typer.deviceidBits, typer.collidBits);
  r.report(!!(typer.eventidBits && typer.deviceidBits && typer.collidBits), 'ID spaces');
  r.info('Target address format %s', typer.pta ? 'Redist base address' : 'PE #');
  // The C passes &its_data.device_baser (never NULL); its_init() asserted both BASERs were found.
  r.report(devBaser !== null && collBaser !== null, 'detect device and collection BASER');
  r.info('device table entry_size = 0x%x', devBaser?.esz ?? 0);
  r.info('collection table entry_size = 0x%x', collBaser?.esz ?? 0);
}

/** its_prerequisites(nb_cpus): handlers, the other CPUs booted into irq_recv, LPIs enabled. */
function* itsPrerequisites(g: Guest, r: Report, its: ItsData, nbCpus: number): Gen<number> {
  if (NR_CPUS < nbCpus) {
    r.skip('Test requires at least %d vcpus', nbCpus);
    return -1;
  }
  const s = shared(g);
  yield* setupIrq(g);
  for (let cpu = 1; cpu < NR_CPUS; cpu++) s.booted[cpu] = true; // smp_boot_secondary(cpu, irq_recv)
  // wait_on_ready()
  s.ready[g.vcpuId] = true;
  while (!s.ready.every(Boolean)) yield* g.cpuRelax();
  yield* itsEnableDefaults(g, its);
  return 0;
}

/** its_setup1(): dev2/event 20 -> LPI 8195 on PE 3, dev7/event 255 -> LPI 8196 on PE 2. */
function* itsSetup1(g: Guest, r: Report, its: ItsData): Gen<number> {
  if ((yield* itsPrerequisites(g, r, its, 4)) !== 0) return -1;
  const dev2 = itsCreateDevice(its, 2, 8);
  const dev7 = itsCreateDevice(its, 7, 8);
  const col3 = itsCreateCollection(its, 3, 3);
  const col2 = itsCreateCollection(its, 2, 2);
  yield* gicv3LpiSetConfig(g, its, 8195, LPI_PROP_DEFAULT);
  yield* gicv3LpiSetConfig(g, its, 8196, LPI_PROP_DEFAULT);
  // dev=2, eventid=20  -> lpi= 8195, col=3; dev=7, eventid=255 -> lpi= 8196, col=2
  yield* itsSendMapd(g, r, its, dev2, true);
  yield* itsSendMapd(g, r, its, dev7, true);
  yield* itsSendMapc(g, r, its, col3, true);
  yield* itsSendMapc(g, r, its, col2, true);
  yield* itsSendInvall(g, r, its, col2);
  yield* itsSendInvall(g, r, its, col3);
  yield* itsSendMapti(g, r, its, dev2, 8195, 20, col3);
  yield* itsSendMapti(g, r, its, dev7, 8196, 255, col2);
  return 0;
}

function* testItsTrigger(g: Guest, r: Report, its: ItsData): GuestProgram {
  if ((yield* itsSetup1(g, r, its)) !== 0) return;
  const s = shared(g);
  const col3 = its.collections.find((c) => c.colId === 3)!;
  const dev2 = its.devices.find((d) => d.deviceId === 2)!;
  const dev7 = its.devices.find((d) => d.deviceId === 7)!;

  r.push('int');
  statsReset(s);
  let mask = new Set([3]);
  yield* itsSendInt(g, r, its, dev2, 20);
  yield* waitForInterrupts(g, r, mask);
  r.report(checkAcked(s, r, mask, 0, 8195), 'dev=2, eventid=20  -> lpi= 8195, col=3');

  statsReset(s);
  mask = new Set([2]);
  yield* itsSendInt(g, r, its, dev7, 255);
  yield* waitForInterrupts(g, r, mask);
  r.report(checkAcked(s, r, mask, 0, 8196), 'dev=7, eventid=255 -> lpi= 8196, col=2');
  r.pop();

  r.push('inv/invall');
  // disable 8195, check dev2/eventid=20 does not trigger the corresponding LPI
  yield* gicv3LpiSetConfig(g, its, 8195, LPI_PROP_DEFAULT & ~LPI_PROP_ENABLED);
  yield* itsSendInv(g, r, its, dev2, 20);
  statsReset(s);
  mask = new Set();
  yield* itsSendInt(g, r, its, dev2, 20);
  yield* waitForInterrupts(g, r, mask);
  r.report(checkAcked(s, r, mask, -1, -1), 'dev2/eventid=20 does not trigger any LPI');

  // re-enable the LPI; the pending LPI must have hit by the time the INVALL is done
  yield* gicv3LpiSetConfig(g, its, 8195, LPI_PROP_DEFAULT);
  statsReset(s);
  mask = new Set();
  yield* itsSendInt(g, r, its, dev2, 20);
  mask.add(3);
  yield* itsSendInvall(g, r, its, col3);
  yield* waitForInterrupts(g, r, mask);
  r.report(checkAcked(s, r, mask, 0, 8195), 'dev2/eventid=20 pending LPI is received');

  statsReset(s);
  mask = new Set([3]);
  yield* itsSendInt(g, r, its, dev2, 20);
  yield* waitForInterrupts(g, r, mask);
  r.report(checkAcked(s, r, mask, 0, 8195), 'dev2/eventid=20 now triggers an LPI');
  r.pop();

  r.push('mapd valid=false');
  // Unmap device 2 and check the eventid 20 formerly attached to it does not hit anymore
  yield* itsSendMapd(g, r, its, dev2, false);
  statsReset(s);
  mask = new Set();
  yield* itsSendInt(g, r, its, dev2, 20);
  yield* waitForInterrupts(g, r, mask);
  r.report(checkAcked(s, r, mask, -1, -1), 'no LPI after device unmap');
  checkSpurious(s, r);
  r.pop();
}

/** CPU 0: main() of gic.flat with argv[1] = the test name. */
function* kutMain(g: Guest): GuestProgram {
  const s = shared(g);
  const r = new Report(s.log);
  const its = new ItsData();
  // gic_init(): the ITS is found and initialised before any test runs
  yield* itsInitKut(g, its);
  r.push('gicv3');
  r.push(s.test);
  if (s.test === 'its-introspection') yield* testItsIntrospection(g, r, its);
  else if (s.test === 'its-trigger') yield* testItsTrigger(g, r, its);
  else yield* g.fail("Unknown subtest '%s'", s.test);
  r.pop();
  r.summary();
  s.finished = true;
  yield* g.done();
}

/** The other CPUs: powered off until booted, then irq_recv(). */
function* secondary(g: Guest): GuestProgram {
  const s = shared(g);
  while (!s.booted[g.vcpuId]) yield* g.cpuRelax();
  yield* setupIrq(g);
  s.ready[g.vcpuId] = true;
  for (;;) yield* g.wfi();
}

function* guestCode(g: Guest): GuestProgram {
  if (g.vcpuId === 0) yield* kutMain(g);
  else yield* secondary(g);
}

// --- host ------------------------------------------------------------------------------------------------------

function newShared(test: string): KutShared {
  const z = (): number[] => Array<number>(NR_CPUS).fill(0);
  return {
    test,
    acked: z(),
    spurious: z(),
    irqSender: z().fill(-1),
    irqNumber: z().fill(-1),
    ready: Array<boolean>(NR_CPUS).fill(false),
    booted: [true, ...Array<boolean>(NR_CPUS - 1).fill(false)],
    redistBase: z(),
    finished: false,
    log: [],
  };
}

/** Run gic.flat's `test` on NR_CPUS vCPUs with a vGICv3 and an ITS (QEMU virt, gic-version=3). */
function runKut(test: string): void {
  const { vm, vcpus } = vmCreateWithVcpus(NR_CPUS, guestCode);
  vmInstallExceptionHandler(vm, VECTOR_IRQ_CURRENT, irqHandler);
  vmUserspaceMemRegionAdd(vm, RAM_BASE, 1, RAM_SIZE / SZ_4K);
  vgicItsSetup(vm);
  const s = newShared(test);
  globals.kut = s;
  syncGlobalToGuest(vm, globals, 'kut');
  runVcpuThreads(
    vcpus.map((vcpu: KvmVcpu) => ({
      vcpu,
      onUcall: (uc: Ucall): boolean => {
        if (uc.cmd === UCALL_ABORT) reportGuestAssert(uc);
        if (uc.cmd !== UCALL_DONE) testFail('unexpected ucall %d on vCPU %d', uc.cmd, vcpu.id);
        return false;
      },
    })),
    { stopWhen: () => s.finished },
  );
  replay(vm, s);
}

/** kvm-unit-tests' output as TAP: PASS lines are checks, the rest comments; FAIL fails the case. */
function replay(vm: KvmVm, s: KutShared): void {
  const failed: string[] = [];
  let tests = 0;
  let skipped = 0;
  for (const line of s.log) {
    if (line.kind === 'PASS') recordPass(line.text);
    else printInfo('%s', line.text);
    if (line.kind === 'PASS' || line.kind === 'FAIL' || line.kind === 'SKIP') tests++;
    if (line.kind === 'SKIP') skipped++;
    if (line.kind === 'FAIL') failed.push(line.text);
  }
  kvmVmFree(vm);
  if (failed.length) testFail('%s', failed.join('; '));
  // report_summary() returns 77 >> 1 when every test was skipped: the run is a SKIP
  testRequire(tests === 0 || tests !== skipped, `${s.test}: every check was skipped`);
}

selftest('kut_gic_its', [
  ['its-introspection', () => runKut('its-introspection')],
  ['its-trigger', () => runKut('its-trigger')],
]);
