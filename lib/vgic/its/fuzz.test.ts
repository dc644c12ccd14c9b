// Fuzz of the vITS and LPIs: garbage and plausible commands, bad and overlapping table
// addresses, queues that wrap or point outside RAM, random ITS/redistributor register writes from
// userspace and from a guest, random MSIs (KVM_SIGNAL_MSI, and MSI routes signalled through
// irqfds), resets. Every call must return 0/1 or a known -errno,
// never throw, and the model's bookkeeping must stay consistent after every step (queue pointers
// aligned and inside the queue, LPI references matching the ITEs, caches and vCPU lists holding
// them). A fixed seed keeps CI reproducible; FUZZ_SEED=random explores (the seed is printed).

import t from '../../../test/tap.ts';
import type { Guest, GuestProgram } from '../../guest/index.ts';
import {
  GICR_BASE_GVA,
  GICR_CTLR,
  GICR_INVALLR,
  GICR_INVLPIR,
  GICR_PENDBASER,
  GICR_PROPBASER,
  GITS_BASE_GPA,
  GITS_BASER,
  GITS_CBASER,
  GITS_CREADR,
  GITS_CTLR,
  GITS_CWRITER,
  GITS_IIDR,
  GITS_TRANSLATER,
  ICC_EOIR1_EL1,
  ICC_IAR1_EL1,
  gicInit,
  GIC_V3,
} from '../../guest/index.ts';
import {
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  type KvmIrqRoutingEntry,
  __kvmIrqfd,
  _kvmGsiRoutingWrite,
  close,
  kvmNewEventfd,
  write,
  KVM_DEV_ARM_VGIC_GRP_ITS_REGS,
  UCALL_DONE,
  UCALL_SYNC,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  __kvmSignalMsi,
  __vcpuRun,
  getUcall,
  kvmMsi,
  seededRandom,
  u64,
  vcpuSetGuestCode,
} from '../../host/index.ts';
import * as ERRNO from '../../uapi/errno.ts';
import { pruneApList, targetOracle } from '../ap-list.ts';
import { distSet, rdSet } from '../../../test/support/vgic.ts';
import { cmdBufferSize } from './commands.ts';
import { itsesOf } from './state.ts';
import { CMDQ, COLL_TABLE, DEV_TABLE, type ItsFix, PROP_TABLE, RAM_BASE, RAM_SIZE, itsVm } from '../../../test/support/its.ts';

const SEED_ENV = process.env.FUZZ_SEED ?? '20261204';
const SEED = (SEED_ENV === 'random' ? Date.now() % 0x7fffffff : Number(SEED_ENV)) >>> 0;
t.comment(`ITS fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);

const rnd = seededRandom(SEED);
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const u32r = (): number => int(0x100000000);
const u64r = (): bigint => (BigInt(u32r()) << 32n) | BigInt(u32r());
const KNOWN = new Set<number>(Object.values(ERRNO as Record<string, unknown>).filter((v): v is number => typeof v === 'number'));

// --- inputs ---------------------------------------------------------------------------------------------

/** Table/queue addresses: in RAM, overlapping each other, straddling the end of RAM, outside RAM, huge. */
const ADDRS: readonly number[] = [DEV_TABLE, COLL_TABLE, CMDQ, PROP_TABLE, RAM_BASE, RAM_BASE + RAM_SIZE - 0x10000, RAM_BASE + RAM_SIZE, 0, 0x10000000, 0xfff0000, 2 ** 47 - 0x10000];
const OPCODES: readonly number[] = [0x08, 0x09, 0x0a, 0x0b, 0x01, 0x0f, 0x0c, 0x0e, 0x0d, 0x03, 0x04, 0x05, 0x00, 0x02, 0x29, 0x2a, 0xff];
const REGS: readonly number[] = [GITS_CTLR, GITS_IIDR, 0x8, 0xc, GITS_CBASER, GITS_CWRITER, GITS_CREADR, GITS_BASER, GITS_BASER + 8, GITS_BASER + 0x38, 0xffd0, 0xffe8, 0x10, 0x84, 0x1, GITS_TRANSLATER, 0x1fffc];

function baser(type: 'dev' | 'coll'): bigint {
  const valid = int(4) ? 1n << 63n : 0n;
  const indirect = int(4) ? 0n : 1n << 62n;
  const pages = BigInt(pick([0, 0, 1, 15, 255]));
  const typeBits = type === 'dev' ? 1n << 56n : 4n << 56n;
  return int(6) ? valid | indirect | typeBits | BigInt(pick(ADDRS)) | pages : u64r();
}

/** A command: plausible fields for a random opcode, or pure garbage. */
function command(nrVcpus: number): bigint[] {
  if (!int(5)) return [u64r(), u64r(), u64r(), u64r()];
  const op = BigInt(pick(OPCODES));
  const devid = BigInt(pick([0, 1, 2, 3, 0xffff, 0x10000, 8191, 8192, u32r()]));
  const ev = BigInt(pick([0, 1, 5, 255, 256, 8192, 0xffff, u32r()]));
  const intid = BigInt(pick([8192, 8193, 8200, 8191, 16383, 65535, 65536, 0, u32r()]));
  const size = BigInt(pick([0, 3, 7, 15, 16, 31]));
  const itt = BigInt(pick([RAM_BASE + 0x200000, RAM_BASE + 0x201000, CMDQ, 0, 0x10000000]));
  const coll = BigInt(pick([0, 1, 2, 0xffff, 8192]));
  const target = BigInt(pick([0, 1, nrVcpus - 1, nrVcpus, 7, 0xffffffff]));
  const valid = int(5) ? 1n << 63n : 0n;
  const w0 = op | (devid << 32n);
  const w1 = int(2) ? (ev | (intid << 32n)) : size | (ev << 32n);
  const w2 = coll | (target << 16n) | valid | (int(2) ? itt : 0n);
  const w3 = target << 16n;
  return [w0, BigInt.asUintN(64, w1), BigInt.asUintN(64, w2), w3];
}

// --- invariants -----------------------------------------------------------------------------------------------

/** The model's bookkeeping, checked after every step: returns the first broken rule or null. */
function invariant(f: ItsFix): string | null {
  const dist = f.vm.dist;
  const expected = new Map<unknown, number>();
  const add = (l: unknown): void => void expected.set(l, (expected.get(l) ?? 0) + 1);
  for (const its of itsesOf(dist)) {
    const size = cmdBufferSize(its.cbaser);
    if (its.creadr % 32 || its.cwriter % 32 || its.creadr >= size || its.cwriter >= size) return `queue pointers ${its.creadr}/${its.cwriter} for size ${size}`;
    for (const d of its.devices.values()) for (const ite of d.ites.values()) if (ite.irq) add(ite.irq);
    for (const l of its.translationCache.values()) add(l);
  }
  const listed = new Set<unknown>();
  for (const v of dist.vcpus) {
    for (const [i, l] of v.apList.items.entries()) {
      if (l.list !== v.apList || l.listIndex !== i) return `IRQ ${l.intid} at ${i} on vCPU ${v.vcpuIdx} says list index ${l.listIndex}`;
      if (l.intid < 8192) continue;
      if (listed.has(l)) return `LPI ${l.intid} listed twice`;
      listed.add(l);
      // Until the vCPU's next exit its list may hold an LPI the oracle no longer gives it (ap-list.ts).
      if (dist.lpis.get(l.intid) !== l) return `listed LPI ${l.intid} is not in lpi_xa`;
    }
  }
  for (const [l, n] of expected) {
    const lpi = l as { intid: number; refs: number };
    if (lpi.refs !== n) return `LPI ${lpi.intid}: refs ${lpi.refs}, holders ${n}`;
    if (dist.lpis.get(lpi.intid) !== l) return `referenced LPI ${lpi.intid} missing from lpi_xa`;
  }
  for (const l of dist.lpis.values()) {
    // With no ITE or cache reference, only KVM's ap_list keeps it (until that list is pruned).
    if (!expected.has(l) && !listed.has(l)) return `LPI ${l.intid} in lpi_xa with no holder (refs ${l.refs})`;
  }
  return null;
}

function verdict(r: number): string | null {
  if (!Number.isInteger(r)) return `returned ${String(r)}`;
  if (r >= 0) return r <= 1 ? null : `returned ${r}`;
  return KNOWN.has(-r) ? null : `returned unknown errno ${r}`;
}

// --- userspace steps ----------------------------------------------------------------------------------------------

function step(f: ItsFix): { what: string; run: () => number } {
  const nr = f.vcpus.length;
  switch (int(16)) {
    case 0:
    case 1: {
      const off = int(5) ? pick(REGS) : u32r();
      const v = int(3) ? pick([0n, 1n, u64r(), baser('dev'), baser('coll'), (1n << 63n) | BigInt(pick(ADDRS)) | BigInt(int(256))]) : BigInt(int(0x100000));
      return { what: `ITS_REGS set 0x${off.toString(16)} = 0x${v.toString(16)}`, run: () => __kvmDeviceAttrSet(f.itsFd, KVM_DEV_ARM_VGIC_GRP_ITS_REGS, off, u64(v)) };
    }
    case 2: {
      const off = int(4) ? pick(REGS) : u32r();
      return { what: `ITS_REGS get 0x${off.toString(16)}`, run: () => (__kvmDeviceAttrGet(f.itsFd, KVM_DEV_ARM_VGIC_GRP_ITS_REGS, off, int(10) ? u64() : null) || __kvmHasDeviceAttr(f.itsFd, KVM_DEV_ARM_VGIC_GRP_ITS_REGS, off)) };
    }
    case 3:
    case 4:
    case 5: {
      // Commands into the queue at CWRITER (or anywhere), then CWRITER moves (maybe wrapping, maybe too far)
      const n = 1 + int(6);
      const cmds = Array.from({ length: n }, () => command(nr));
      return {
        what: `${n} commands [${cmds.map((c) => `0x${(c[0]! & 0xffn).toString(16)}`).join(' ')}]`,
        run: () => {
          const its = f.its;
          const base = Number(its.cbaser & 0x000ffffffffff000n);
          const size = cmdBufferSize(its.cbaser);
          let off = its.cwriter;
          for (const c of cmds) {
            if (f.vm.memory.isRam(base + off, 32)) {
              const b = new Uint8Array(32);
              const dv = new DataView(b.buffer);
              c.forEach((w, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, w), true));
              f.vm.memory.writeBytes(base + off, b);
            }
            off = (off + 32) % size;
          }
          const cw = int(8) ? BigInt(off) : int(2) ? BigInt(size) : u64r();
          return __kvmDeviceAttrSet(f.itsFd, KVM_DEV_ARM_VGIC_GRP_ITS_REGS, GITS_CWRITER, u64(cw));
        },
      };
    }
    case 6:
    case 7: {
      const db = int(8) ? GITS_BASE_GPA + GITS_TRANSLATER : pick([GITS_BASE_GPA, GITS_BASE_GPA + 0x20000, 0, 0x9000000 + GITS_TRANSLATER]);
      const flags = int(8) ? 1 : pick([0, 2, 3, 0xffffffff]);
      const devid = pick([0, 1, 1, 1, 2, 3, 0xffff, 0x10000]);
      const ev = pick([0, 1, 2, 3, 5, 255, 8192, 0xffff, 0x10000]);
      return { what: `KVM_SIGNAL_MSI dev ${devid} ev ${ev} flags ${flags}`, run: () => __kvmSignalMsi(f.vm, kvmMsi(db, devid, ev, flags)) };
    }
    case 8: {
      const v = int(nr);
      const off = pick([GICR_CTLR, GICR_CTLR, GICR_PROPBASER, GICR_PROPBASER + 4, GICR_PENDBASER, GICR_PENDBASER + 4, GICR_INVLPIR, GICR_INVLPIR + 4, GICR_INVALLR]);
      const val = off === GICR_CTLR ? int(2) : off === GICR_PROPBASER || off === GICR_PENDBASER ? (pick(ADDRS) | int(32)) >>> 0 : pick([0, 8192, 8200, 8191, 1 << 30, u32r()]);
      return { what: `REDIST_REGS vCPU ${v} 0x${off.toString(16)} = 0x${val.toString(16)}`, run: () => rdSet(f.fd, f.vcpus[v]!.mpidr, off, val) };
    }
    case 9: {
      const a = pick([0, 1, 2, 3, 4, 5, 0xffffffff]);
      // the GIC's CTRL (SAVE_PENDING_TABLES) or the ITS's (INIT, SAVE/RESTORE, RESET)
      const fd = a === 3 ? f.fd : f.itsFd;
      return { what: `CTRL ${a}`, run: () => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, a, null) };
    }
    case 10:
      return {
        what: 'property/pending table bytes',
        run: () => {
          for (let i = 0; i < 8; i++) f.vm.memory.write(pick([PROP_TABLE, RAM_BASE + 0x40000, RAM_BASE + 0x50000]) + int(0x2000), 1, int(256));
          return 0;
        },
      };
    case 11: {
      // KVM_SET_GSI_ROUTING: MSI entries with any flags, DeviceID, EventID and doorbell, or irqchip pins
      const entries: KvmIrqRoutingEntry[] = Array.from({ length: 1 + int(3) }, () => {
        const gsi = int(6) ? int(4) : pick([4095, 4096]);
        if (!int(4)) return { gsi, type: pick([KVM_IRQ_ROUTING_IRQCHIP, 3]), flags: pick([0, 1]), u: { irqchip: { irqchip: pick([0, 1]), pin: pick([0, 5, 987, 988]) } } };
        const db = int(6) ? GITS_BASE_GPA + GITS_TRANSLATER : pick([GITS_BASE_GPA, 0, GITS_BASE_GPA + 0x20000]);
        // mostly device 1's events 0..3, which sane() maps
        const msi = { address_lo: db % 2 ** 32, address_hi: int(8) ? 0 : u32r(), data: int(5) ? int(4) : pick([0xffff, u32r()]), devid: int(4) ? 1 : pick([0, 2, 0x10000]) };
        return { gsi, type: KVM_IRQ_ROUTING_MSI, flags: int(6) ? 1 : pick([0, 2, 0xffffffff]), u: { msi } };
      });
      return { what: `KVM_SET_GSI_ROUTING ${JSON.stringify(entries)}`, run: () => _kvmGsiRoutingWrite(f.vm, { nr: entries.length, flags: 0, entries }) };
    }
    case 12: {
      // an irqfd on a GSI (routed or not), signalled once, then deassigned
      const gsi = pick([0, 1, 2, 3, 77]);
      return {
        what: `irqfd on gsi ${gsi} signalled`,
        run: () => {
          const efd = kvmNewEventfd();
          try {
            const r = __kvmIrqfd(f.vm, gsi, efd, 0);
            if (r) return r;
            const w = write(efd, u64(1), 8);
            if (w !== 8) return w < 0 ? w : -1000; // a write returns 8 or -errno
            return __kvmIrqfd(f.vm, gsi, efd, KVM_IRQFD_FLAG_DEASSIGN);
          } finally {
            close(efd);
          }
        },
      };
    }
    case 13: {
      // an exit of a vCPU: vgic_prune_ap_list; afterwards its list holds only what the oracle gives it
      const v = f.vm.dist.vcpus[int(nr)]!;
      return {
        what: `vCPU ${v.vcpuIdx} exits (prune)`,
        run: () => {
          pruneApList(f.vm.dist, v);
          return v.apList.items.every((irq) => targetOracle(f.vm.dist, irq) === v.vcpuIdx) ? 0 : -1000;
        },
      };
    }
    case 14: {
      const on = int(4) ? 0x12 : 0x10; // GICD_CTLR ARE | EnableGrp1A, or disabled: queues nothing
      return { what: `GICD_CTLR = 0x${on.toString(16)}`, run: () => distSet(f.fd, 0, on) };
    }
    default:
      return { what: 'enable the ITS with sane tables', run: () => sane(f) };
  }
}

/** Put the ITS back into a working shape now and then, so deep command paths are reached. */
function sane(f: ItsFix): number {
  f.setReg(GITS_CTLR, 0);
  f.setReg(GITS_BASER, (1n << 63n) | BigInt(DEV_TABLE) | (2n << 8n));
  f.setReg(GITS_BASER + 8, (1n << 63n) | BigInt(COLL_TABLE) | (2n << 8n));
  f.setReg(GITS_CBASER, (1n << 63n) | BigInt(CMDQ) | BigInt(pick([0, 15])));
  const r = f.setReg(GITS_CTLR, 1);
  // and, usually, a device with a few events mapped to LPIs on vCPU 0
  if (int(4)) {
    f.cmd([0x09n, 0n, (1n << 63n), 0n]); // MAPC collection 0 -> vCPU 0
    f.cmd([0x08n | (1n << 32n), 7n, (1n << 63n) | BigInt(RAM_BASE + 0x200000), 0n]); // MAPD device 1, 256 events
    for (let e = 0; e < 4; e++) f.cmd([0x0an | (1n << 32n), BigInt(e) | (BigInt(8192 + e) << 32n), 0n, 0n]); // MAPTI
  }
  return r;
}

t.test('fuzz: ITS registers, commands, MSIs, LPI registers from userspace never throw and keep the model consistent', (t) => {
  const failures: string[] = [];
  const seen = new Map<number, number>();
  let calls = 0;
  for (let round = 0; round < 40; round++) {
    const f = itsVm({ nrVcpus: 1 + int(3), enable: !!int(4), lpis: !!int(4) });
    for (let i = 0; i < 150; i++) {
      const s = step(f);
      calls++;
      let r: number;
      try {
        r = s.run();
      } catch (e) {
        failures.push(`${s.what} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        break;
      }
      const bad = verdict(r) ?? invariant(f);
      if (bad) {
        failures.push(`${s.what}: ${bad}`);
        break;
      }
      seen.set(r, (seen.get(r) ?? 0) + 1);
    }
  }
  t.comment(`${calls} calls; results: ${[...seen.entries()].sort((a, b) => a[0] - b[0]).map(([k, n]) => `${k}:${n}`).join(' ')}`);
  t.same(failures.slice(0, 10), [], `no step threw, returned a non-errno or broke an invariant (seed ${SEED})`);
  t.ok(seen.has(1) && seen.has(0) && seen.has(-ERRNO.EBUSY) && seen.has(-ERRNO.EINVAL), 'reached delivered, blocked, EBUSY and EINVAL');
  t.end();
});

// --- the guest's side ---------------------------------------------------------------------------------------------

interface GuestOp {
  kind: 'mmio' | 'cmd' | 'ack';
  addr: number;
  len: 1 | 2 | 4 | 8;
  write: boolean;
  val: bigint;
  words?: bigint[];
}

function guestOps(n: number, nrVcpus: number): GuestOp[] {
  const ops: GuestOp[] = [];
  for (let i = 0; i < n; i++) {
    const k = int(10);
    if (k < 5) {
      const off = int(4) ? pick(REGS) + pick([0, 0, 4, 1, 2]) : int(0x20000);
      ops.push({ kind: 'mmio', addr: GITS_BASE_GPA + off, len: pick([1, 2, 4, 4, 8, 8] as const), write: !!int(2), val: int(3) ? pick([0n, 1n, 0x20n, (1n << 63n) | BigInt(pick(ADDRS)) | 15n]) : u64r() });
    } else if (k < 8) {
      ops.push({ kind: 'cmd', addr: 0, len: 8, write: true, val: 0n, words: command(nrVcpus) });
    } else if (k < 9) {
      const rd = GICR_BASE_GVA + int(nrVcpus) * 0x20000;
      ops.push({ kind: 'mmio', addr: rd + pick([GICR_CTLR, GICR_INVLPIR, GICR_INVALLR, GICR_PROPBASER, GICR_PENDBASER]), len: pick([4, 8] as const), write: true, val: BigInt(pick([0, 1, 8192, 8200, PROP_TABLE | 15])) });
    } else {
      ops.push({ kind: 'ack', addr: 0, len: 4, write: false, val: 0n });
    }
  }
  return ops;
}

/** A guest that replays the ops: MMIO of every width, commands written at CWRITER then announced, acks. */
function* fuzzGuest(g: Guest, ops: readonly GuestOp[]): GuestProgram {
  yield* gicInit(g, GIC_V3, 1);
  for (const op of ops) {
    if (op.kind === 'ack') {
      const iar = Number(yield* g.readSysreg(ICC_IAR1_EL1));
      if (iar !== 1023) yield* g.writeSysreg(ICC_EOIR1_EL1, iar);
      continue;
    }
    if (op.kind === 'cmd') {
      const cw = Number(yield* g.readq(GITS_BASE_GPA + GITS_CWRITER));
      const cbaser = yield* g.readq(GITS_BASE_GPA + GITS_CBASER);
      const base = Number(cbaser & 0x000ffffffffff000n);
      const size = (Number(cbaser & 0xffn) + 1) * 0x1000;
      if (base >= RAM_BASE && base + cw + 32 <= RAM_BASE + RAM_SIZE) for (let i = 0; i < 4; i++) yield* g.writeq(base + cw + i * 8, op.words![i]!);
      yield* g.writeq(GITS_BASE_GPA + GITS_CWRITER, BigInt((cw + 32) % size));
      continue;
    }
    if (op.write) {
      if (op.len === 1) yield* g.writeb(op.addr, Number(op.val & 0xffn));
      else if (op.len === 2) yield* g.writew(op.addr, Number(op.val & 0xffffn));
      else if (op.len === 4) yield* g.writel(op.addr, Number(op.val & 0xffffffffn));
      else yield* g.writeq(op.addr, op.val);
    } else if (op.len === 1) yield* g.readb(op.addr);
    else if (op.len === 2) yield* g.readw(op.addr);
    else if (op.len === 4) yield* g.readl(op.addr);
    else yield* g.readq(op.addr);
  }
  yield* g.sync(0);
  yield* g.done();
}

t.test('fuzz: a guest writing garbage to the ITS frames and queue, with MSIs in between, never throws', (t) => {
  const failures: string[] = [];
  let accesses = 0;
  for (let round = 0; round < 12; round++) {
    const f = itsVm({ nrVcpus: 1 });
    const ops = guestOps(250, 1);
    vcpuSetGuestCode(f.vcpus[0]!, (g) => fuzzGuest(g, ops));
    for (let n = 0; n < 50; n++) {
      const r = __vcpuRun(f.vcpus[0]!);
      const uc = getUcall(f.vcpus[0]!);
      if (r) failures.push(`KVM_RUN: ${r}`);
      if (uc.cmd === UCALL_DONE) break;
      if (uc.cmd !== UCALL_SYNC && f.vcpus[0]!.exit.mmio === null) {
        failures.push(`round ${round}: guest exit ${uc.cmd}: ${uc.buffer}`);
        break;
      }
      for (let k = 0; k < 5; k++) {
        const r2 = __kvmSignalMsi(f.vm, kvmMsi(GITS_BASE_GPA + GITS_TRANSLATER, int(4), pick([0, 1, 5])));
        if (verdict(r2)) failures.push(`MSI ${verdict(r2)}`);
      }
      const bad = invariant(f);
      if (bad) failures.push(`round ${round}: ${bad}`);
    }
    accesses += f.vcpus[0]!.accesses;
  }
  t.comment(`${accesses} guest accesses`);
  t.same(failures.slice(0, 10), [], `the model never threw and stayed consistent (seed ${SEED})`);
  t.end();
});
