// "Every bad attribute/offset/size returns KVM's errno; none throws a plain JS error."
// A seeded random fuzz over the emulated kernel's ioctls in every VM state, and over guest MMIO
// into the vGIC frames. Every call must return 0, a positive fd, or -errno of an errno the
// kernel ABI knows (lib/uapi/errno.ts); a JS exception is a model bug. Guest MMIO that hits no
// register (holes, 16-bit, misaligned, a width the register does not allow) must read as zero
// and change no register (vgic-mmio.c: check_region, dispatch_mmio_read/write). Every function
// lib/host exports, called with wrongly typed and odd arguments, returns or throws only the typed
// errors a selftest reports cleanly (KvmError, TestAssertionFailure, TestSkip).
// Replay a run with FUZZ_SEED=<seed printed below>.

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  KVM_DEV_TYPE_ARM_VGIC_ITS,
  KVM_DEV_TYPE_ARM_VGIC_V2,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_DEV_TYPE_ARM_VGIC_V5,
  PROFILES,
  UCALL_DONE,
  UCALL_SYNC,
  __kvmCreateDevice,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  __kvmTestCreateDevice,
  __vcpuRun,
  __vmVcpuAdd,
  _kvmIrqLine,
  close,
  getUcall,
  kvmCreateDevice,
  seededRandom,
  u32,
  u64,
  vmCreateBarebones,
  vmVcpuAdd,
  type KvmVcpu,
  type KvmVm,
} from '../host/index.ts';
import * as HOST from '../host/index.ts';
import * as TEST_UTIL from '../host/test-util.ts';
import * as ERRNO from '../uapi/errno.ts';
import {
  RDIST_STRIDE,
  V2_CPU_BASE,
  V2_DIST_BASE,
  V3_DIST_BASE,
  V3_RDIST_BASE,
  distGet,
  doneGuest,
  rdGet,
  v2DistGet,
  v2Vm,
  v3Vm,
} from '../../test/support/vgic.ts';
import type { UserBuf } from '../vgic/user-buf.ts';
import { deviceGetAttr, deviceHasAttr, deviceSetAttr } from './vm.ts';

// A fixed default keeps CI reproducible; FUZZ_SEED=random explores (the seed is printed either way).
const SEED_ENV = process.env.FUZZ_SEED ?? '20261201';
const SEED = (SEED_ENV === 'random' ? Date.now() % 0x7fffffff : Number(SEED_ENV)) >>> 0;
t.comment(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);

const rnd = seededRandom(SEED);
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const u32r = (): number => int(0x100000000);
const u64r = (): bigint => (BigInt(u32r()) << 32n) | BigInt(u32r());

/** Every errno constant lib/uapi/errno.ts defines. */
const KNOWN = new Set<number>(Object.values(ERRNO as Record<string, unknown>).filter((v): v is number => typeof v === 'number'));

// --- inputs ---------------------------------------------------------------------------------------

const GROUPS: readonly number[] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 3, 4, 5, 6, 7,
  10, 11, 255, -1, -0x80000000, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 1.5, -2.5, Number.NaN, Infinity, -Infinity,
];
const OFFSETS: readonly number[] = [
  0, 1, 2, 3, 4, 8, 0xc, 0x10, 0x14, 0x40, 0x70, 0x74, 0x78, 0x7c, 0x80, 0x84, 0xa0, 0xc0, 0x100, 0x104, 0x180, 0x200, 0x204, 0x280,
  0x300, 0x380, 0x400, 0x41f, 0x420, 0x800, 0x820, 0xc00, 0xc08, 0xd00, 0xe00, 0xf00, 0xf10, 0xf20, 0xfe8, 0xffc, 0x1000,
  0x6000, 0x6100, 0x6108, 0x7ff8, 0xffd0, 0xffe8, 0xfffc, 0x10000, 0x10080, 0x10100, 0x10200, 0x10400, 0x10c00, 0x10c04,
  0x10d00, 0x1fffc, 0x20000, 0x7fffffff, 0xffffffff,
  // ICC_* encodings (CPU_SYSREGS) and LEVEL_INFO intids
  0xc230, 0xc418, 0xc420, 0xc448, 0xc660, 0xc664, 0xc665, 0xc666, 0xc667, 0xe658, 0xe659, 0xe6c0, 32, 64, 992, 1023, 1024, 0x3ff | (1 << 10),
];
const MPIDRS: readonly number[] = [0, 0, 0, 1, 2, 3, 0x100, 0x10000, 0x01000000, 0xffffffff];

function attrBig(): bigint {
  switch (int(6)) {
    case 0:
      return u64r();
    case 1:
      return BigInt(u32r());
    case 2: // beyond 64 bits and negative: the ABI field is a __u64
      return pick([1n << 64n, (1n << 70n) | 2n, -1n, -(1n << 40n), -0x10000n]);
    default:
      return (BigInt(pick(MPIDRS)) << 32n) | BigInt(pick(OFFSETS) >>> 0);
  }
}
function attrAny(): number | bigint {
  if (int(4) > 0) return attrBig();
  return pick([0, 2, 3, 5, -1, -(2 ** 40), 2 ** 53, 2 ** 64, 1.5, -0.5, Number.NaN, Infinity, -Infinity, u32r(), u32r() * 2 ** 20]);
}
function buffer(): UserBuf | null {
  switch (int(5)) {
    case 0:
      return null;
    case 1:
    case 2:
      return u32(pick([0, 1, 16, 25, 32, 64, 96, 992, 1024, 0x4b00343b, 0x4b00143b, 0x4b00243b, 0x100, 0xffffffff, u32r()]));
    default:
      return u64(pick([0n, 0x8020000n, 0x8030000n, 0x10000n, 0xffff0000n, (1n << 52n) | 0x8030000n, (2n << 52n) | 0x200000n, u64r(), 0xffffffffffffffffn, 0x8400n, 7n]));
  }
}

// --- VM states ------------------------------------------------------------------------------------

interface World {
  name: string;
  vm: KvmVm;
  vcpus: KvmVcpu[];
  fds: number[];
}

const profile = (): string => pick(PROFILES).name;
const STATES: ReadonlyArray<[string, () => World]> = [
  ['no vGIC, no vCPUs', () => ({ name: '', vm: vmCreateBarebones({ profile: profile() }), vcpus: [], fds: [] })],
  ['no vGIC, 2 vCPUs', () => {
    const vm = vmCreateBarebones({ profile: profile() });
    return { name: '', vm, vcpus: [vmVcpuAdd(vm, 0), vmVcpuAdd(vm, 1)], fds: [] };
  }],
  ['v3, no vCPUs', () => {
    const vm = vmCreateBarebones({ profile: profile() });
    return { name: '', vm, vcpus: [], fds: [kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3)] };
  }],
  ['v3, 2 vCPUs, before INIT', () => {
    const g = v3Vm({ nrVcpus: 2, init: false, vm: { profile: profile() } });
    return { name: '', vm: g.vm, vcpus: g.vcpus, fds: [g.fd] };
  }],
  ['v3, 2 vCPUs, after INIT, + ITS, GICv4.1, 7 PRIbits', () => {
    const g = v3Vm({ nrVcpus: 2, its: true, vm: { profile: profile(), priBits: 7, directSgis: true, ipaBits: 36 } });
    return { name: '', vm: g.vm, vcpus: g.vcpus, fds: [g.fd, g.itsFd] };
  }],
  ['v3, ran once', () => {
    const g = v3Vm({ nrVcpus: 1, guest: doneGuest, vm: { profile: profile() } });
    __vcpuRun(g.vcpus[0]!);
    return { name: '', vm: g.vm, vcpus: g.vcpus, fds: [g.fd] };
  }],
  ['v3, dead after a failed first run', () => {
    const g = v3Vm({ nrVcpus: 1, init: false, guest: doneGuest, vm: { profile: profile() } });
    __vcpuRun(g.vcpus[0]!);
    return { name: '', vm: g.vm, vcpus: g.vcpus, fds: [g.fd] };
  }],
  ['v2, no vCPUs', () => {
    const vm = vmCreateBarebones({ profile: profile() });
    return { name: '', vm, vcpus: [], fds: [kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2)] };
  }],
  ['v2, 2 vCPUs, before INIT', () => {
    const g = v2Vm({ nrVcpus: 2, init: false, vm: { profile: profile() } });
    return { name: '', vm: g.vm, vcpus: g.vcpus, fds: [g.fd] };
  }],
  ['v2, 3 vCPUs, after INIT, 6 PRIbits', () => {
    const g = v2Vm({ nrVcpus: 3, vm: { profile: profile(), priBits: 6 } });
    return { name: '', vm: g.vm, vcpus: g.vcpus, fds: [g.fd] };
  }],
  ['v3, device fd closed', () => {
    const g = v3Vm({ nrVcpus: 1, vm: { profile: profile() } });
    close(g.fd);
    return { name: '', vm: g.vm, vcpus: g.vcpus, fds: [g.fd] };
  }],
];

// --- one call -------------------------------------------------------------------------------------

type Call = { what: string; run: () => number | object };

function randomCall(w: World): Call {
  const fd = w.fds.length && int(16) ? pick(w.fds) : pick([-1, 0, 1, 2, 99999, 1.5, Number.NaN]);
  const group = pick(GROUPS);
  switch (int(12)) {
    case 0:
    case 1: {
      const attr = attrAny();
      const buf = buffer();
      return { what: `__kvmDeviceAttrGet(${fd}, ${group}, ${String(attr)}, ${buf ? `u${buf.width}` : 'NULL'})`, run: () => __kvmDeviceAttrGet(fd, group, attr, buf) };
    }
    case 2:
    case 3: {
      const attr = attrAny();
      const buf = buffer();
      return { what: `__kvmDeviceAttrSet(${fd}, ${group}, ${String(attr)}, ${buf ? `u${buf.width}(${buf.get()})` : 'NULL'})`, run: () => __kvmDeviceAttrSet(fd, group, attr, buf) };
    }
    case 4: {
      const attr = attrAny();
      return { what: `__kvmHasDeviceAttr(${fd}, ${group}, ${String(attr)})`, run: () => __kvmHasDeviceAttr(fd, group, attr) };
    }
    case 5: {
      // lib/kvm directly, with bigint attrs outside the u64 range too
      const attr = attrBig();
      const buf = buffer();
      const op = pick(['get', 'set', 'has'] as const);
      return {
        what: `device${op}Attr(${fd}, ${group}, ${attr}n)`,
        run: () => (op === 'get' ? deviceGetAttr(fd, group, attr, buf) : op === 'set' ? deviceSetAttr(fd, group, attr, buf) : deviceHasAttr(fd, group, attr)),
      };
    }
    case 6: {
      const type = pick([0, 1, KVM_DEV_TYPE_ARM_VGIC_V2, KVM_DEV_TYPE_ARM_VGIC_V3, KVM_DEV_TYPE_ARM_VGIC_ITS, KVM_DEV_TYPE_ARM_VGIC_V5, -1, 2 ** 32 + 7, 1.5, Number.NaN]);
      const test = int(2) === 0;
      return {
        what: `${test ? '__kvmTestCreateDevice' : '__kvmCreateDevice'}(vm, ${type})`,
        run: () => {
          const r = test ? __kvmTestCreateDevice(w.vm, type) : __kvmCreateDevice(w.vm, type);
          if (r > 0) w.fds.push(r);
          return r;
        },
      };
    }
    case 7:
    case 8: {
      const word = int(3) ? ((int(4) << 24) | (int(4) << 16) | pick([0, 1, 2, 15, 16, 20, 31, 32, 63, 64, 255, 256, 1019, 1020, 1024, 0xffff])) >>> 0 : u32r();
      const level = pick([0, 1, 1, 2, -1, true, false]);
      return { what: `_kvmIrqLine(vm, ${word}, ${level})`, run: () => _kvmIrqLine(w.vm, word, level) };
    }
    case 9: {
      const irq = pick([-1, -0x80000000, 2 ** 32 + 0x01000020, 1.5, Number.NaN, Infinity, u32r()]);
      return { what: `vm.irqLine(${irq}, true)`, run: () => w.vm.irqLine(irq, true) };
    }
    case 10: {
      const id = pick([0, 1, 2, 7, 8, 9, 255, 256, 511, 512, -1, 1.5, Number.NaN, 2 ** 40]);
      return {
        what: `__vmVcpuAdd(vm, ${id})`,
        run: () => {
          const r = __vmVcpuAdd(w.vm, id);
          if (typeof r === 'object') w.vcpus.push(r);
          return r;
        },
      };
    }
    default: {
      if (w.vcpus.length && int(8)) {
        const v = pick(w.vcpus);
        return { what: `__vcpuRun(vcpu ${v.id})`, run: () => __vcpuRun(v) };
      }
      // rarely: a closed fd answers every later call of the round with EBADF
      const victim = int(4) ? pick([12345, -3, 0]) : pick([...w.fds, 12345]);
      return { what: `close(${victim})`, run: () => close(victim) };
    }
  }
}

function verdict(r: number | object): string | null {
  if (typeof r === 'object') return null; // a KvmVcpu from a successful KVM_CREATE_VCPU
  if (!Number.isInteger(r)) return `returned ${String(r)}`;
  if (r >= 0) return null;
  return KNOWN.has(-r) ? null : `returned unknown errno ${r}`;
}

t.test('fuzz: device ioctls, KVM_IRQ_LINE, vCPU creation and runs never throw', (t) => {
  const start = performance.now();
  const failures: string[] = [];
  const seen = new Map<number | string, number>();
  let calls = 0;
  for (let round = 0; round < 150; round++) {
    // the dead-VM and closed-fd states answer everything with EIO / EBADF: visit them less
    let [name, make] = pick(STATES);
    if (/dead|closed/.test(name) && int(3)) [name, make] = pick(STATES);
    const w = make();
    w.name = name;
    for (let i = 0; i < 80; i++) {
      const c = randomCall(w);
      calls++;
      let r: number | object;
      try {
        r = c.run();
      } catch (e) {
        failures.push(`[${name}] ${c.what} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        continue;
      }
      const bad = verdict(r);
      if (bad) failures.push(`[${name}] ${c.what} ${bad}`);
      const key = typeof r === 'object' ? 'vcpu' : r > 0 ? 'fd' : r;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  const ms = performance.now() - start;
  t.comment(`${calls} calls in ${ms.toFixed(0)} ms; results: ${[...seen.entries()].sort().map(([k, n]) => `${k}:${n}`).join(' ')}`);
  t.same(failures.slice(0, 20), [], `no call threw or returned a non-errno (seed ${SEED})`);
  t.ok(calls >= 10000, `at least 10000 calls (${calls})`);
  t.ok(seen.has(0) && seen.has(-ERRNO.ENXIO) && seen.has(-ERRNO.EINVAL), 'the fuzz reached successes, ENXIO and EINVAL');
  t.ok(ms < 2000, `well under 2 s (${ms.toFixed(0)} ms)`);
  t.end();
});

t.test('regression: non-integer and non-finite attrs through lib/host no longer throw RangeError', (t) => {
  const { fd } = v3Vm();
  // lib/host toAttr() used BigInt(attr), which throws for 1.5 / NaN / Infinity. The attr is a
  // __u64 (struct kvm_device_attr): C truncates a fractional value and wraps integers mod 2^64.
  t.equal(__kvmHasDeviceAttr(fd, 3 /* NR_IRQS */, 1.5), 0, 'NR_IRQS, attr 1.5: 0');
  t.equal(__kvmHasDeviceAttr(fd, 0 /* ADDR */, 2.9), 0, 'ADDR, attr 2.9 (V3_DIST after truncation): 0');
  t.equal(__kvmHasDeviceAttr(fd, 0, Number.NaN), -ERRNO.ENXIO, 'ADDR, attr NaN (0 = V2_DIST on a v3): ENXIO');
  t.equal(__kvmHasDeviceAttr(fd, 0, Infinity), -ERRNO.ENXIO, 'ADDR, attr Infinity: ENXIO');
  t.equal(__kvmHasDeviceAttr(fd, 0, -1), -ERRNO.ENXIO, 'ADDR, attr -1 (2^64-1): ENXIO');
  t.end();
});

// --- guest MMIO -----------------------------------------------------------------------------------

interface Access {
  addr: number;
  len: 1 | 2 | 4 | 8;
  write: boolean;
  val: number;
}

function* replay(g: Guest, list: readonly Access[], expectZero: boolean): GuestProgram {
  let firstBad = -1;
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    if (a.write) {
      if (a.len === 1) yield* g.writeb(a.addr, a.val);
      else if (a.len === 2) yield* g.writew(a.addr, a.val);
      else if (a.len === 4) yield* g.writel(a.addr, a.val);
      else yield* g.writeq(a.addr, (BigInt(a.val) << 32n) | BigInt(a.val ^ 0x5a5a5a5a));
      continue;
    }
    const v = a.len === 1 ? yield* g.readb(a.addr) : a.len === 2 ? yield* g.readw(a.addr) : a.len === 4 ? yield* g.readl(a.addr) : yield* g.readq(a.addr);
    if (expectZero && v !== 0 && v !== 0n && firstBad < 0) firstBad = i;
  }
  yield* g.sync(firstBad);
  yield* g.done();
}

/** Run a guest to GUEST_DONE through any KVM_EXIT_MMIO exits; returns its GUEST_SYNC values. */
function runThrough(vcpu: KvmVcpu): number[] {
  const syncs: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    const ret = __vcpuRun(vcpu);
    if (ret) throw new Error(`KVM_RUN failed: ${ret}`);
    const uc = getUcall(vcpu);
    if (uc.cmd === UCALL_DONE) return syncs;
    if (uc.cmd === UCALL_SYNC) syncs.push(uc.args[1] as number);
    else if (uc.cmd !== 0) throw new Error(`guest ucall ${uc.cmd}: ${uc.buffer}`);
  }
  throw new Error('guest did not finish');
}

/** Offset ranges [start, end) with no register in the v3 distributor (vgic_v3_dist_registers, 64 IRQs). */
const V3_DIST_HOLES: ReadonlyArray<[number, number]> = [
  [0x0014, 0x0080], // after GICD_STATUSR; SETSPI/CLRSPI not implemented
  [0x0088, 0x0100], [0x0108, 0x0180], [0x0188, 0x0200], [0x0208, 0x0280], [0x0288, 0x0300], // per-IRQ words beyond 64 IRQs
  [0x0440, 0x0800], [0x0840, 0x0c00], // IPRIORITYR / ITARGETSR beyond 64 IRQs
  [0x0c10, 0x0d00], [0x0d08, 0x0e00], // ICFGR / IGRPMODR beyond 64 IRQs
  [0x0e00, 0x6000], // NSACR, SGIR, C/SPENDSGIR absent
  [0x6200, 0xffd0], // IROUTER beyond 64 IRQs, then nothing up to the ID registers
];
/** The same for a v3 redistributor (RD_base + SGI_base). */
const V3_RD_HOLES: ReadonlyArray<[number, number]> = [
  [0x0018, 0x0070], [0x0080, 0x00a0], [0x00a8, 0x00b0], [0x00b8, 0x00c0], [0x00c4, 0xffd0],
  [0x10000, 0x10080], [0x10084, 0x10100], [0x10104, 0x10180], [0x10184, 0x10200], [0x10204, 0x10280],
  [0x10284, 0x10300], [0x10304, 0x10380], [0x10384, 0x10400], [0x10420, 0x10c00], [0x10c08, 0x10d00],
  [0x10d04, 0x10e00], [0x10e04, 0x20000],
];
/** v2 distributor (vgic_v2_dist_registers, 64 IRQs). */
const V2_DIST_HOLES: ReadonlyArray<[number, number]> = [
  [0x00c, 0x080], [0x088, 0x100], [0x108, 0x180], [0x188, 0x200], [0x208, 0x280], [0x288, 0x300], [0x308, 0x380], [0x388, 0x400],
  [0x440, 0x800], [0x840, 0xc00], [0xc10, 0xf00], [0xf04, 0xf10], [0xf30, 0x1000],
];

/** An access that must be RAZ/WI wherever it lands in a frame (`regions`: offsets that take bytes). */
function razAccess(base: number, size: number, holes: ReadonlyArray<[number, number]>, byteRegs: ReadonlyArray<[number, number]>, qwordRegs: readonly number[]): Access {
  const write = int(2) === 0;
  const val = u32r();
  for (;;) {
    switch (int(5)) {
      case 0: // 16-bit: never allowed (check_region knows 1, 4 and 8 only)
        return { addr: base + int(size), len: 2, write, val };
      case 1: { // misaligned 32/64-bit
        const len = pick([4, 8] as const);
        const off = int(size);
        if (off % len) return { addr: base + off, len, write, val };
        break;
      }
      case 2: { // anything inside a hole
        const [s, e] = pick(holes);
        return { addr: base + s + int(e - s), len: pick([1, 4, 8] as const), write, val };
      }
      case 3: { // 8-bit on a 32-bit-only register
        const off = int(size);
        if (!byteRegs.some(([s, e]) => off >= s && off < e) && !(off >= 0xffd0 && size === 0x10000)) return { addr: base + off, len: 1, write, val };
        break;
      }
      default: { // 64-bit on a register that is not 64-bit capable
        const off = int(size / 8) * 8;
        if (!qwordRegs.some((q) => off === q) && !(off >= 0x6000 && off < 0x8000 && size === 0x10000)) return { addr: base + off, len: 8, write, val };
      }
    }
  }
}

t.test('guest MMIO that hits no register reads zero and changes nothing (v3)', (t) => {
  const list: Access[] = [];
  for (let i = 0; i < 1500; i++) {
    const where = int(3);
    if (where === 0) list.push(razAccess(V3_DIST_BASE, 0x10000, V3_DIST_HOLES, [[0x400, 0x440], [0x800, 0x840]], []));
    else list.push(razAccess(V3_RDIST_BASE + (where - 1) * RDIST_STRIDE, 0x20000, V3_RD_HOLES, [[0x10400, 0x10420]], [0x8, 0x70, 0x78, 0xa0, 0xb0]));
  }
  const { fd, vcpus } = v3Vm({ nrVcpus: 2, nrIrqs: 64, guest: (g) => replay(g, list, true) });
  const snapshot = (): number[] => {
    const s: number[] = [];
    for (let off = 0; off < 0x10000; off += 4) s.push(distGet(fd, off).value);
    for (const mpidr of [0, 1]) for (let off = 0; off < 0x20000; off += 4) s.push(rdGet(fd, mpidr, off).value);
    return s;
  };
  const before = snapshot();
  let syncs: number[] = [];
  t.doesNotThrow(() => {
    syncs = runThrough(vcpus[0]!);
  }, 'the guest ran every access');
  t.same(syncs, [-1], 'every read returned 0 (index of the first non-zero read, -1 = none)');
  const after = snapshot();
  const changed = after.findIndex((v, i) => v !== before[i]);
  t.equal(changed, -1, 'no register changed (first changed word index, -1 = none)');
  t.end();
});

t.test('guest MMIO that hits no register reads zero and changes nothing (v2)', (t) => {
  const list: Access[] = [];
  for (let i = 0; i < 1000; i++) list.push(razAccess(V2_DIST_BASE, 0x1000, V2_DIST_HOLES, [[0x400, 0x440], [0x800, 0x840], [0xf10, 0xf30]], []));
  const { fd, vcpus } = v2Vm({ nrVcpus: 2, nrIrqs: 64, guest: (g) => replay(g, list, true) });
  const snapshot = (): number[] => {
    const s: number[] = [];
    for (const id of [0, 1]) for (let off = 0; off < 0x1000; off += 4) s.push(v2DistGet(fd, id, off).value);
    return s;
  };
  const before = snapshot();
  let syncs: number[] = [];
  t.doesNotThrow(() => {
    syncs = runThrough(vcpus[1]!);
  }, 'the guest ran every access');
  t.same(syncs, [-1], 'every read returned 0');
  t.equal(snapshot().findIndex((v, i) => v !== before[i]), -1, 'no register changed');
  t.end();
});

t.test('guest MMIO at random addresses, widths and alignments never throws', (t) => {
  const frames: Array<[number, number]> = [
    [V3_DIST_BASE, 0x10000],
    [V3_RDIST_BASE, 0x40000],
    [V3_DIST_BASE - 0x100, 0x100], // just below the distributor: no frame, exits to userspace
  ];
  const mk = (fr: Array<[number, number]>): Access[] => {
    const list: Access[] = [];
    for (let i = 0; i < 2000; i++) {
      const [base, size] = pick(fr);
      list.push({ addr: base + int(size), len: pick([1, 2, 4, 8] as const), write: int(2) === 0, val: u32r() });
    }
    return list;
  };
  const v3list = mk(frames);
  const v3 = v3Vm({ nrVcpus: 2, nrIrqs: 128, its: true, guest: (g) => replay(g, v3list, false) });
  t.doesNotThrow(() => runThrough(v3.vcpus[1]!), 'v3: done');
  const v2list = mk([
    [V2_DIST_BASE, 0x1000],
    [V2_CPU_BASE, 0x2000],
    [V2_CPU_BASE + 0x2000, 0x100],
  ]);
  const v2 = v2Vm({ nrVcpus: 2, guest: (g) => replay(g, v2list, false) });
  t.doesNotThrow(() => runThrough(v2.vcpus[0]!), 'v2: done');
  t.end();
});

// --- wrongly typed arguments to every exported host call ----------------------------------------
//
// Every function lib/host/index.ts exports (its own calls, and the lower layers' helpers it
// re-exports through checked wrappers) is called in turn with random arguments, half of them of
// a type no C prototype would take. Each call must return, or throw one of the typed errors a
// selftest reports cleanly: KvmError (KVM's errno), TestAssertionFailure (a port bug, at the
// port's line) or TestSkip. A promise it returns is awaited, with a bound, under the same rule.
// The methods of the buffer and struct objects lib/host makes are held to it too.

/** Exports not called here, and why. Every other function export is. */
const NOT_FUZZED: Readonly<Record<string, string>> = {
  testDisableDefaultVgic:
    'takes no arguments, and turns the default vGIC off for the rest of the process (every later vmCreate() in this file would change)',
};

/** The classes whose methods a port calls on objects lib/host gives it (buffers, struct layouts); subclasses first. */
const METHOD_FUZZED: ReadonlyArray<abstract new (...a: never[]) => object> = [HOST.U32Buf, HOST.U64Buf, HOST.UserBytes, HOST.UserPointer, HOST.CStruct];

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}
const TRAPS = new Proxy({}, {
  get: () => { throw new Error('get trap'); },
  has: () => { throw new Error('has trap'); },
  ownKeys: () => { throw new Error('ownKeys trap'); },
  getPrototypeOf: () => { throw new Error('getPrototypeOf trap'); },
});

/** A plain object whose every property a host call might read throws (no Proxy to refuse). */
const GETTERS = Object.defineProperties(
  {},
  Object.fromEntries(
    ['nr', 'flags', 'entries', 'u', 'gsi', 'vm', 'gpa', 'vcpu', 'onUcall', 'step', 'name', 'run', 'expectFail', 'profile', 'ipaBits', 'seed',
      'maxQuantum', 'guard', 'fill', 'a', 'b', 'address_lo', 'data', 'width', 'get', 'set', 'value', 'comment', 'pass', 'cmd', 'buffer', 'then']
      .map((k) => [k, { enumerable: true, get: () => { throw new Error(`${k} getter`); } }]),
  ),
);
/** An array whose first element's getter throws. */
const BAD_ARRAY = Object.defineProperty(['x'], 0, { get: () => { throw new Error('element getter'); } });

/** Values no C prototype would take, and numbers C would convert. */
const WRONG: readonly unknown[] = [
  GETTERS, BAD_ARRAY, { nr: 1, flags: 0, entries: [GETTERS] }, { nr: 1, flags: 0, entries: BAD_ARRAY },
  undefined, null, true, false, 0, -1, 1.5, -2.5, Number.NaN, Infinity, -Infinity, 2 ** 53, 2 ** 64, 5n, -1n, 2n ** 70n,
  '', '5', 'abc', '%s%d%x%c', Symbol('s'), {}, [], [1, 2], () => 1, function* () {}, async function* () {}, Object.create(null),
  TRAPS, revokedProxy(), new Date(0), new Map(), { value: 5 }, { cmd: 2, args: [], buffer: 'x' }, new Uint8Array(4),
  { width: 32, get: () => { throw new Error('get'); }, set: () => {} }, [TRAPS], [Symbol('e')], { nr: 1, flags: 0, entries: [TRAPS] },
  { nr: 1.5, entries: {} }, { vm: {}, gpa: 0 }, { vcpu: {}, onUcall: 1 }, [{ step: 5 }], Object.freeze({ nr: 0, flags: 0, entries: Object.freeze([]) }),
];

function* doneGuestCode(g: Guest): GuestProgram {
  yield* g.done();
}

function describeArg(a: unknown): string {
  try {
    if (typeof a === 'symbol') return a.toString();
    if (typeof a === 'bigint') return `${a}n`;
    if (typeof a === 'function') return 'function';
    return JSON.stringify(a, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(a);
  } catch {
    return '(unprintable)';
  }
}

const isClass = (f: Function): boolean => /^class\b/.test(Function.prototype.toString.call(f));

/** A promise settled within `ms`, or 'timeout'. */
async function settle(p: PromiseLike<unknown>, ms: number): Promise<{ value: unknown } | { error: unknown } | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([Promise.resolve(p).then((value) => ({ value }), (error: unknown) => ({ error })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function thenable(v: unknown): v is PromiseLike<unknown> {
  try {
    return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
  } catch {
    return false;
  }
}

/** One VM with what a port makes next to it: the plausible arguments that get calls past their first check. */
function hostWorld(): unknown[] {
  const { vm, vcpus } = HOST.vmCreateWithVcpus(2, doneGuestCode, { profile: 'series-p3' });
  const [v0, v1] = vcpus as [KvmVcpu, KvmVcpu];
  const routing = HOST.kvmGsiRoutingCreate();
  HOST.kvmGsiRoutingIrqchipAdd(routing, 1, 1);
  const layout = HOST.cStruct({ a: 'u32', b: 'u64', c: 'bool' });
  return [
    vm, v0, v1, HOST.vmGicFd(vm), HOST.kvmNewEventfd(), 32, 40, 0, 1, 8, u32(7), u64(8n), 'fmt %d', '64', 'EINVAL', 'series-p3', 'n:v',
    ['-n', '64', 'x'], doneGuestCode, 3, 0x10000, HOST.VECTOR_IRQ_CURRENT, { profile: 'series-p3' }, new Uint8Array(8), routing,
    HOST.addrGva2hva(vm, HOST.vmAllocPage(vm)), layout, { a: 1, b: 2n, c: true }, HOST.userBytes(16), HOST.userPtr(1),
    HOST.kvmMsi(HOST.ITS_DOORBELL_GPA, 0, 0), vm.dist, v0.vgic, v0.vgic.cpuif, HOST.ICC_PMR_EL1,
    [{ vcpu: v1, onUcall: () => false }], { seed: 3, maxQuantum: 4 },
    [['a case', () => {}], { name: 'a hostile case', run: () => { throw Object.create(null); }, expectFail: () => Symbol('why') }],
  ];
}

t.test('fuzz: wrongly typed arguments to every exported host call throw no plain JS error', async (t) => {
  const fns = Object.entries(HOST)
    .filter((e): e is [string, (...a: unknown[]) => unknown] => typeof e[1] === 'function' && !(e[0] in NOT_FUZZED))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const failures = new Map<string, string>();
  const calls = new Map<string, number>();
  const typed = (e: unknown): boolean => e instanceof ERRNO.KvmError || e instanceof HOST.TestAssertionFailure || e instanceof HOST.TestSkip;
  const record = (name: string, e: unknown, args: unknown[]): void => {
    const what = `${name}: ${e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : describeArg(e)}`;
    if (!failures.has(what)) failures.set(what, `${name}(${args.map(describeArg).join(', ')})`);
  };
  // The recorder a selftest installs; what a host call hands it must be text.
  const recorder: TEST_UTIL.CaseRecorder = {
    comment: (text) => { if (typeof text !== 'string') record('recorder.comment', new TypeError(`got ${describeArg(text)}`), []); },
    pass: (text) => { if (typeof text !== 'string') record('recorder.pass', new TypeError(`got ${describeArg(text)}`), []); },
  };
  const sink = (): void => {};
  /** Run one call (construct a class), and await what it returns. */
  const attempt = async (name: string, f: Function, args: unknown[], self?: unknown): Promise<unknown> => {
    let r: unknown;
    try {
      r = self === undefined && isClass(f) ? Reflect.construct(f, args) : Reflect.apply(f as (...a: unknown[]) => unknown, self, args);
    } catch (e) {
      if (!typed(e)) record(name, e, args);
      return undefined;
    }
    if (!thenable(r)) return r;
    const s = await settle(r, 2000);
    if (s === 'timeout') record(name, new Error('its promise did not settle within 2 s'), args);
    else if ('error' in s && !typed(s.error)) record(name, s.error, args);
    return s !== 'timeout' && 'value' in s ? s.value : undefined;
  };
  /** One method of `obj` (if lib/host made it: a buffer or a layout), with random arguments. */
  const callMethod = async (obj: unknown, arg: () => unknown): Promise<boolean> => {
    const C = METHOD_FUZZED.find((K) => obj instanceof K);
    if (!C) return false;
    const proto = C.prototype as Record<string, unknown>;
    const methods = Object.getOwnPropertyNames(proto).filter((m) => m !== 'constructor' && typeof proto[m] === 'function');
    const m = pick(methods);
    const method = proto[m] as Function;
    await attempt(`${C.name}.${m}`, method, Array.from({ length: int(method.length + 2) }, arg), obj);
    return true;
  };
  TEST_UTIL.setRecorder(recorder);
  const start = performance.now();
  let total = 0;
  let methodCalls = 0;
  const ROUNDS = 40;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const world = hostWorld();
      const arg = (): unknown => (int(2) ? pick(WRONG) : pick(world));
      for (const [name, f] of fns) {
        const args = Array.from({ length: int(f.length + 2) }, arg);
        calls.set(name, (calls.get(name) ?? 0) + 1);
        total++;
        let r: unknown;
        if (name === 'selftest') {
          // A selftest prints its TAP and sets the exit status: run it the way the mutation
          // workers do, collected (nothing printed), then run what was collected into a sink.
          const got = await attempt('collectSelftests(selftest)', HOST.collectSelftests, [() => HOST.selftest(...(args as Parameters<typeof HOST.selftest>))]);
          for (const s of Array.isArray(got) ? (got as HOST.CollectedSelftest[]) : []) await attempt('selftest: run', s.run, [sink], s);
        } else {
          r = await attempt(name, f, args);
        }
        // Process-wide wiring a call may have replaced: put it back.
        if (name === 'setDefaultVgicSetup') HOST.setDefaultVgicSetup((vm, n) => HOST.__vgicV3Setup(vm, n, 64)); // as lib/host/vgic.ts does
        if (name === 'setRecorder' || name === 'selftest') TEST_UTIL.setRecorder(recorder);
        // A buffer or layout it made: one of its methods, with random arguments.
        if (await callMethod(r, arg)) methodCalls++;
      }
      // And the buffers and layouts of this round's world, a few method calls each.
      for (const obj of world) for (let k = 0; k < 4; k++) if (await callMethod(obj, arg)) methodCalls++;
    }
  } finally {
    TEST_UTIL.setRecorder(null);
  }
  const ms = performance.now() - start;
  const uncalled = fns.map(([n]) => n).filter((n) => !calls.get(n));
  t.comment(`${total} calls to ${fns.length} exported host calls and ${methodCalls} method calls in ${ms.toFixed(0)} ms (seed ${SEED})`);
  t.same([...failures.entries()].slice(0, 20).map(([what, call]) => `${what} <- ${call}`), [], `no exported host call threw or rejected with a plain JS error (seed ${SEED})`);
  t.same(uncalled, [], 'every exported function but NOT_FUZZED was called');
  const exported = Object.entries(HOST).filter(([, v]) => typeof v === 'function').map(([n]) => n);
  t.same(Object.keys(NOT_FUZZED).filter((n) => !exported.includes(n)), [], 'each NOT_FUZZED entry is an export');
  t.ok(fns.length >= 150, `the fuzz covers the exports (${fns.length} of ${exported.length})`);
});
