// Fuzz: random GICv5 attribute calls, with random buffer sizes, in random VM states, on every
// host profile. Every call returns 0 or -errno of a known errno (a JS exception is a model bug);
// no byte outside a user allocation is ever written (the guard canaries stay intact); and on the
// final contract no IST copy touches user memory beyond the buffer size the VMM declared (the
// bytes after each declared buffer are mapped "neighbours" that must stay unchanged). The early
// contract is fuzzed too and must be caught overrunning, which shows the neighbour check works.
// Fixed seed (FUZZ_SEED=<n> to replay, FUZZ_SEED=random to explore); bounded by an op count.

import t from '../../../test/tap.ts';
import {
  GICV5_IRS_CONFIG_BASE_GPA,
  GICV5_IRS_IST_BASER,
  GICV5_IRS_IST_CFGR,
  ICC_CR0_EL1,
  KVM_ARM_IRQ_TYPE_SHIFT,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_IRS_REGS,
  KVM_DEV_ARM_VGIC_GRP_IST,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_USERSPACE_PPIS,
  KVM_DEV_TYPE_ARM_VGIC_V5,
  KVM_VGIC_V5_ADDR_TYPE_IRS,
  type Gicv5HostOptions,
  type Gicv5Uapi,
  type KvmVm,
  UserBytes,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  __vcpuRun,
  __vmVcpuAdd,
  _kvmIrqLine,
  kvmCreateDevice,
  seededRandom,
  u32,
  u64,
  userPtr,
  vmCreateBarebones,
} from '../../host/index.ts';
import * as ERRNO from '../../uapi/errno.ts';
import { V5_USER_SYSREGS } from './cpu-interface.ts';
import { IRS_ROWS } from './irs.ts';
import { doneGuestV5 } from '../../../test/support/v5.ts';
import type { UserBuf } from '../user-buf.ts';

const SEED_ENV = process.env.FUZZ_SEED ?? '20260521';
const SEED = (SEED_ENV === 'random' ? Date.now() % 0x7fffffff : Number(SEED_ENV)) >>> 0;
t.comment(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
const rnd = seededRandom(SEED);
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const KNOWN = new Set<number>(Object.values(ERRNO as Record<string, unknown>).filter((v): v is number => typeof v === 'number'));
const GROUPS = [KVM_DEV_ARM_VGIC_GRP_ADDR, 1, 2, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, KVM_DEV_ARM_VGIC_GRP_CTRL, 5, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, 7, 8, 9, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, KVM_DEV_ARM_VGIC_GRP_IST, 12, 0xffffffff];

/** Every user allocation of the current VM, to check the guards after each call. */
let allocs: UserBytes[] = [];
/** Declared IST buffers: the bytes [declared, size) of each allocation are neighbours. */
let declared: { buf: UserBytes; size: number; before: Uint8Array }[] = [];

function alloc(size: number, fill = int(256)): UserBytes {
  const b = new UserBytes(size, { fill, guard: 8 });
  allocs.push(b);
  return b;
}

/** An IST buffer of `size` declared bytes, followed by `slack` mapped neighbour bytes. */
function istBuffer(size: number): UserBytes {
  const slack = pick([0, 4, 16, 64]);
  const b = alloc(size + slack);
  if (slack) declared.push({ buf: b, size, before: b.bytes().slice(size) });
  return b;
}

function attrFor(group: number): bigint {
  switch (group) {
    case KVM_DEV_ARM_VGIC_GRP_ADDR:
      return BigInt(pick([KVM_VGIC_V5_ADDR_TYPE_IRS, KVM_VGIC_V5_ADDR_TYPE_IRS, 0, 2, 5, 7, -1]));
    case KVM_DEV_ARM_VGIC_GRP_CTRL:
      return BigInt(pick([KVM_DEV_ARM_VGIC_CTRL_INIT, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, 1, 3, 6]));
    case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS:
      return BigInt(pick([...V5_USER_SYSREGS.map((r) => r.enc), ICC_CR0_EL1, int(0x10000)])) | (BigInt(pick([0, 0, 0, 1, 0x100, 0xffffffff])) << 32n);
    case KVM_DEV_ARM_VGIC_GRP_IRS_REGS:
      return BigInt(pick([...IRS_ROWS.map((r) => r.offset), ...IRS_ROWS.map((r) => r.offset + int(8)), int(0x20000), 0xffffffff]));
    case KVM_DEV_ARM_VGIC_GRP_IST:
      return BigInt(pick([0, 0, 0, 1]));
  }
  return BigInt(int(0x100000));
}

/** A struct kvm_vgic_v5_ist whose buffers have random sizes, honestly declared, or random fields. */
function istStruct(vm: KvmVm): UserBuf {
  const nr = vm.dist.v5?.nrSpis || 32;
  const lpiBytes = (1 << (vm.dist.v5?.irs.istCfgr.lpiIdBits ?? 5)) * 4;
  const sizeNear = (exact: number): number => (rnd() < 0.5 ? exact : pick([0, 4, exact - 4, exact + 4, 4 * int(300)]));
  const s = alloc(rnd() < 0.8 ? 32 : pick([24, 40, 8, 0]), 0);
  const field = (i: number, v: bigint): void => {
    if (8 * i + 8 <= s.size) s.setU64(i, v);
  };
  if (rnd() < 0.15) {
    for (let i = 0; i < 4; i++) field(i, BigInt(int(0x100000)));
    return s;
  }
  const spiSize = Math.max(0, sizeNear(nr * 4));
  const spi = rnd() < 0.1 ? null : istBuffer(spiSize);
  field(0, spi ? spi.addr : 0n);
  field(1, BigInt(spi ? spiSize : pick([0, 128])));
  if (rnd() < 0.5) {
    const lpiSize = Math.max(0, sizeNear(lpiBytes));
    const lpi = rnd() < 0.1 ? null : istBuffer(lpiSize);
    field(2, lpi ? lpi.addr : BigInt(pick([0, 1])));
    field(3, BigInt(lpi ? lpiSize : pick([0, 128])));
  }
  return s;
}

function bufferFor(vm: KvmVm, group: number): UserBuf | null {
  const r = rnd();
  // The early contract's attr->addr is the SPI buffer itself, sized for the SPIs the VMM asked for.
  if (group === KVM_DEV_ARM_VGIC_GRP_IST && vm.dist.v5?.uapi === 'irs-early' && r < 0.6) return istBuffer(4 * (vm.dist.v5.nrSpis || int(8)));
  if (group === KVM_DEV_ARM_VGIC_GRP_IST && r < 0.6) return istStruct(vm);
  if (r < 0.1) return null;
  if (r < 0.15) return userPtr(pick([1, 0x1000, 0xdead0000]));
  if (r < 0.35) return u32(int(0x100000000));
  if (r < 0.55) {
    const v = u64(BigInt(int(0x100000000)) | (BigInt(int(0x100000000)) << 32n));
    if (group === KVM_DEV_ARM_VGIC_GRP_IRS_REGS && rnd() < 0.5) v.value = BigInt(pick([5, 0x8020001, 0, 1 << 21]));
    return v;
  }
  if (group === KVM_DEV_ARM_VGIC_GRP_NR_IRQS && rnd() < 0.5) return u32(pick([1, 31, 32, 33, 64, 1024, 1056]));
  return alloc(int(40));
}

const HOSTS: readonly Gicv5Uapi[] = ['irs-final', 'irs-final', 'irs-early', 'ppi'];

function randomHost(uapi: Gicv5Uapi): Gicv5HostOptions {
  const h: Gicv5HostOptions = { uapi };
  if (rnd() < 0.3) h.implementedPpis = BigInt(int(0x100000000)) | (BigInt(int(0x100000000)) << 32n);
  if (rnd() < 0.3) h.irsPriBits = 1 + int(5);
  if (rnd() < 0.2) h.minLpiIdBits = int(8);
  if (rnd() < 0.1) h.faults = { spiIstAllocFail: rnd() < 0.3, lpiIstAllocFail: rnd() < 0.5, irsTimeout: rnd() < 0.3, quiesceLost: rnd() < 0.3 };
  return h;
}

interface Tally {
  calls: number;
  /** Successful GRP_IST saves and restores. */
  istOk: number;
  overruns: number;
  byErrno: Map<number, number>;
}

function checkCall(t: Tally, what: string, f: () => number, uapi: Gicv5Uapi, fail: (msg: string) => void): void {
  for (const d of declared) d.before = d.buf.bytes().slice(d.size);
  let ret: number;
  try {
    ret = f();
  } catch (e) {
    fail(`${what} threw ${(e as Error).stack ?? String(e)}`);
    return;
  }
  t.calls++;
  if (ret > 0 || (ret < 0 && !KNOWN.has(-ret))) fail(`${what} returned ${ret}`);
  t.byErrno.set(ret, (t.byErrno.get(ret) ?? 0) + 1);
  if (!ret && / group 11 attr 0x0$/.test(what) && !what.startsWith('has')) t.istOk++;
  for (const b of allocs) if (!b.guardsIntact()) fail(`${what}: a guard canary of a ${b.size}-byte buffer changed`);
  for (const d of declared) {
    const now = d.buf.bytes().slice(d.size);
    if (now.some((x, i) => x !== d.before[i])) {
      t.overruns++;
      if (uapi !== 'irs-early') fail(`${what}: wrote past a declared ${d.size}-byte buffer on '${uapi}'`);
    }
  }
}

function round(tally: Record<Gicv5Uapi, Tally>, fail: (msg: string) => void): void {
  allocs = [];
  declared = [];
  const uapi = pick(HOSTS);
  const vm = vmCreateBarebones({ gicv5: randomHost(uapi) });
  const tl = tally[uapi];
  let nextId = 0;
  for (let i = int(3); i > 0; i--) __vmVcpuAdd(vm, nextId++, doneGuestV5);
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V5);
  if (rnd() < 0.7) {
    // most rounds start from a configured, initialised vGIC
    checkCall(tl, 'NR_IRQS', () => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(pick([1, 3, 17, 32, 33, 64, 96]))), uapi, fail);
    checkCall(tl, 'ADDR', () => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA)), uapi, fail);
    checkCall(tl, 'CTRL_INIT', () => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), uapi, fail);
  }
  for (let op = 0; op < 40; op++) {
    const r = rnd();
    if (r < 0.05) {
      checkCall(tl, 'KVM_CREATE_VCPU', () => {
        const v = __vmVcpuAdd(vm, rnd() < 0.8 ? nextId++ : int(600), doneGuestV5);
        return typeof v === 'number' ? v : 0;
      }, uapi, fail);
    } else if (r < 0.1) {
      checkCall(tl, 'CTRL_INIT', () => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), uapi, fail);
    } else if (r < 0.13) {
      checkCall(tl, 'ADDR', () => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA)), uapi, fail);
    } else if (r < 0.17) {
      // userspace restores an LPI IST configuration, as a VMM would before GRP_IST
      checkCall(tl, 'IST_CFGR', () => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_CFGR, u64(pick([5, 6, 3]))), uapi, fail);
      checkCall(tl, 'IST_BASER', () => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_BASER, u64(pick([0x8020001n, 0x8020000n]))), uapi, fail);
    } else if (r < 0.2) {
      if (vm.dist.initialized && !vm.dist.ready && rnd() < 0.5) checkCall(tl, 'ADDR', () => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA)), uapi, fail);
      const v = vm.vcpus.length ? pick(vm.vcpus) : null;
      // a failed first run kills the VM (EIO from then on): mostly run configured VMs
      if (v && v.alive && (vm.dist.ready || rnd() < 0.2)) checkCall(tl, 'KVM_RUN', () => __vcpuRun(v), uapi, fail);
    } else if (r < 0.27) {
      const irq = (pick([0, 1, 2, 3]) << KVM_ARM_IRQ_TYPE_SHIFT) | (int(4) << 16) | pick([0, 3, 5, 31, 32, 63, 64, 1023, 0xffff]);
      checkCall(tl, `KVM_IRQ_LINE 0x${irq.toString(16)}`, () => _kvmIrqLine(vm, irq, int(2)), uapi, fail);
    } else {
      const group = rnd() < 0.25 ? KVM_DEV_ARM_VGIC_GRP_IST : pick(GROUPS);
      const attr = attrFor(group);
      const which = int(3);
      const buf = which === 2 ? null : bufferFor(vm, group);
      const what = `${['get', 'set', 'has'][which]} group ${group} attr 0x${attr.toString(16)}`;
      checkCall(tl, what, () => (which === 0 ? __kvmDeviceAttrGet(fd, group, attr, buf) : which === 1 ? __kvmDeviceAttrSet(fd, group, attr, buf) : __kvmHasDeviceAttr(fd, group, attr)), uapi, fail);
    }
  }
}

t.test('random GICv5 attribute calls never throw, never write outside a buffer', async (t) => {
  const mk = (): Tally => ({ calls: 0, istOk: 0, overruns: 0, byErrno: new Map() });
  const tally: Record<Gicv5Uapi, Tally> = { ppi: mk(), 'irs-early': mk(), 'irs-final': mk() };
  const failures: string[] = [];
  const fail = (m: string): void => {
    if (failures.length < 10) failures.push(m);
  };
  const start = process.hrtime.bigint();
  for (let i = 0; i < 250 && !failures.length; i++) round(tally, fail);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.same(failures, [], 'no failure');
  for (const [uapi, tl] of Object.entries(tally)) {
    const errs = [...tl.byErrno].sort((a, b) => a[0] - b[0]).map(([r, n]) => `${r ? ERRNO.errnoName(-r) : 'ok'} ${n}`).join(', ');
    t.comment(`${uapi}: ${tl.calls} calls (${errs}); ${tl.istOk} IST saves/restores done; ${tl.overruns} writes past a declared IST buffer`);
  }
  t.comment(`${ms.toFixed(0)} ms`);
  t.ok(tally['irs-final'].calls > 1000 && tally['irs-final'].byErrno.get(0)! > 100, 'the final contract was exercised, with successes');
  t.ok(tally['irs-final'].istOk > 10, 'with successful IST saves and restores');
  t.equal(tally['irs-final'].overruns, 0, "'irs-final' never wrote past a declared buffer");
  t.ok(tally['irs-early'].overruns > 0, "'irs-early' was caught overrunning (the neighbour check works)");
});
