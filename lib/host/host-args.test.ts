// Host helpers take numbers the way a C caller's would be converted, answer an unreadable buffer
// with EFAULT where KVM touches it, and report a wrongly typed argument as a TestAssertionFailure:
// none of them throws a plain JavaScript error.

import type { Test } from 'tap';
import t from '../../test/tap.ts';
import {
  EFAULT,
  ENXIO,
  GICD_CTLR,
  KVM_ARM_IRQ_TYPE_SHIFT,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KvmError,
  REDIST_REGION_ATTR_ADDR,
  TestAssertionFailure,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  _kvmArmIrqLine,
  _kvmIrqLine,
  kvmCreateDevice,
  kvmDeviceAttrGet,
  kvmDeviceAttrSet,
  kvmIrqLine,
  kvmIrqSetLevelInfo,
  setDefaultVgicSetup,
  setRecorder,
  u32,
  u64,
  vmCreate,
  vmCreateBarebones,
} from './index.ts';
import * as HOST from './index.ts';
import { v3Vm } from '../../test/support/vgic.ts';
import type { UserBuf } from '../vgic/user-buf.ts';

const spi = (vm: ReturnType<typeof v3Vm>['vm'], intid: number) => vm.dist.spis[intid - 32]!;
const asBuf = (x: unknown): UserBuf => x as UserBuf;

t.test('u64() and REDIST_REGION_ATTR_ADDR convert numbers as C converts them to uint64_t', (t) => {
  t.equal(u64(1.5).value, 1n, 'u64(1.5): truncated');
  t.equal(u64(-1.5).value, 0xffffffffffffffffn, 'u64(-1.5): -1, wrapped');
  t.equal(u64(Number.NaN).value, 0n, 'u64(NaN): 0');
  t.equal(u64(Infinity).value, 0n, 'u64(Infinity): 0');
  t.equal(u64(-Infinity).value, 0n, 'u64(-Infinity): 0');
  t.equal(u64(2 ** 64 + 2 ** 12).value, 2n ** 12n, 'integers wrap modulo 2^64');
  t.equal(REDIST_REGION_ATTR_ADDR(1.5, 0x8030000 + 0.7, 0.2, 0.9), REDIST_REGION_ATTR_ADDR(1, 0x8030000, 0, 0), 'each field truncated');
  t.equal(REDIST_REGION_ATTR_ADDR(Number.NaN, 2n, Infinity, 0), 0n, 'NaN/Infinity fields are 0');
  t.end();
});

t.test('bigint IRQ numbers: the u32 the C prototype takes', (t) => {
  const { vm, fd } = v3Vm({ nrVcpus: 1, nrIrqs: 64 });
  const word = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | 40;
  t.equal(_kvmIrqLine(vm, BigInt(word) as unknown as number, 1), 0, '_kvmIrqLine(bigint SPI 40 word): 0');
  const raised = (intid: number): boolean => spi(vm, intid).pendingLatch || spi(vm, intid).lineLevel;
  t.equal(raised(40), true, 'SPI 40 raised');
  t.doesNotThrow(() => kvmIrqLine(vm, BigInt(word) as unknown as number, 0), 'kvmIrqLine(bigint, 0)');
  t.equal(_kvmArmIrqLine(vm, 41n as unknown as number, 1), 0, '_kvmArmIrqLine(41n): 0');
  t.equal(raised(41), true, 'SPI 41 raised');
  // struct kvm_irq_level.irq is a __u32: 2^40 arrives as 0 (type CPU), which a VM with an
  // in-kernel irqchip refuses (arm.c: kvm_vm_ioctl_irq_line, KVM_ARM_IRQ_TYPE_CPU -> -ENXIO).
  t.equal(_kvmIrqLine(vm, (2n ** 40n) as unknown as number, 1), -ENXIO, 'an irq beyond u32: what KVM answers for its low 32 bits');
  // vgic_write_irq_line_level_info() sets the line whatever the configuration.
  kvmIrqSetLevelInfo(fd, 42n as unknown as number, 1);
  t.equal(spi(vm, 42).lineLevel, true, 'kvmIrqSetLevelInfo(42n): SPI 42 line high');
  kvmIrqSetLevelInfo(fd, 42, 0);
  t.equal(spi(vm, 42).lineLevel, false, 'kvmIrqSetLevelInfo(42, 0): low again');
  t.equal(u32(5n).value, 5, 'u32(5n)');
  t.equal(u32((1n << 40n) | 7n).value, 7, 'u32 of a wide bigint: its low 32 bits');
  t.end();
});

t.test('buffers the kernel cannot read are EFAULT, after the checks KVM makes first', (t) => {
  const vm = vmCreateBarebones({ profile: 'series-p3' });
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  const numberInU64 = u64();
  numberInU64.value = 0x8000000 as unknown as bigint;
  t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, numberInU64), 0, 'a u64 buffer holding the number 0x8000000: the integer it holds');
  const back = u64();
  kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, back);
  t.equal(back.value, 0x8000000n, 'it was written');
  const fraction = u64();
  fraction.value = 1.5 as unknown as bigint;
  t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, fraction), -EFAULT, 'a u64 buffer holding 1.5: EFAULT');
  t.equal(__kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, asBuf({})), -EFAULT, '{} as the buffer of a GET: EFAULT');
  const ready = v3Vm({ nrVcpus: 1 });
  t.equal(__kvmDeviceAttrSet(ready.fd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_CTLR, asBuf('0')), -EFAULT, 'a string as the buffer of DIST_REGS GICD_CTLR: EFAULT');
  t.equal(__kvmDeviceAttrSet(ready.fd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_CTLR, u32(0)), 0, 'the same with u32(0): 0');
  t.equal(__kvmDeviceAttrSet(fd, 99, 0, asBuf({})), -ENXIO, 'an unknown group is refused before the buffer is touched (ENXIO)');
  t.throws(() => kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, asBuf({})), KvmError, 'the asserting variant: a KvmError (EFAULT)');
  t.end();
});

t.test('a value C would not compile is a TestAssertionFailure that names the call and the parameter', (t) => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ["u64('x')", () => u64('x' as unknown as bigint), /u64\(\): value is "x" \(a string\), not a number or bigint/],
    ['u32({})', () => u32({} as unknown as number), /u32\(\): value is/],
    ['_kvmIrqLine({}, ...)', () => _kvmIrqLine({} as never, 32, 1), /_kvmIrqLine\(\): vm is .*not a VM/],
    ["kvmIrqLine(vm, '32', 1)", () => kvmIrqLine(vmCreate(1), '32' as unknown as number, 1), /kvmIrqLine\(\): irq is "32" \(a string\)/],
    ['REDIST_REGION_ATTR_ADDR(Symbol)', () => REDIST_REGION_ATTR_ADDR(Symbol('n') as unknown as number, 0, 0, 0), /REDIST_REGION_ATTR_ADDR\(\): count is Symbol\(n\)/],
    ["vmCreate(1, { profile: 'nope' })", () => vmCreate(1, { profile: 'nope' }), /opts.profile is "nope".*series-p3/],
    ['vmCreate(1, { ipaBits: 1.5 })', () => vmCreate(1, { ipaBits: 1.5 }), /opts.ipaBits is 1.5/],
    ["setDefaultVgicSetup('x')", () => setDefaultVgicSetup('x' as never), /setDefaultVgicSetup\(\): fn is "x"/],
    ['setRecorder({})', () => setRecorder({} as never), /setRecorder\(\): r is .*not a CaseRecorder/],
  ];
  for (const [name, f, msg] of cases) {
    let caught: unknown;
    try {
      f();
    } catch (e) {
      caught = e;
    }
    t.ok(caught instanceof TestAssertionFailure, `${name}: a TestAssertionFailure`);
    t.match((caught as TestAssertionFailure | undefined)?.detail ?? String(caught), msg, `${name}: the message`);
    t.match((caught as TestAssertionFailure | undefined)?.file ?? '', /host-args\.test\.ts$/, `${name}: at the caller's line`);
  }
  t.end();
});

// --- the exports other modules added since: irq, routing, irqfd, eventfd, ITS, GICv5, pointers,
// getopt, threads, selftest(), and the lower layers' helpers lib/host re-exports ------------------

const bad = (x: unknown): never => x as never;

/** The errno of the KvmError f() throws. */
function thrownErrno(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof KvmError ? e.errno : `not a KvmError: ${String(e)}`;
  }
  return 'nothing thrown';
}

/** What a promise rejects with (null if it resolves). */
const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(() => null, (e: unknown) => e);
const TRAPS = new Proxy({}, { get: () => { throw new Error('get trap'); } });

/** f() throws a TestAssertionFailure whose detail matches `msg`, reported at a line of this file. */
function failsAt(t: Test, name: string, f: () => unknown, msg: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  t.ok(caught instanceof TestAssertionFailure, `${name}: a TestAssertionFailure (got ${caught instanceof Error ? caught.name : String(caught)})`);
  t.match((caught as TestAssertionFailure | undefined)?.detail ?? String(caught), msg, `${name}: the message`);
  t.match((caught as TestAssertionFailure | undefined)?.file ?? '', /host-args\.test\.ts$/, `${name}: at the caller's line`);
}

t.test('setup helpers: a value C would not compile names the call and the parameter', (t) => {
  const vm = vmCreate(1);
  // vgic_its_setup(struct kvm_vm *vm) has no nr_irqs (lib/arm64/vgic.c); vgic_v3_setup's does.
  failsAt(t, "vgicItsSetup('vm')", () => HOST.vgicItsSetup(bad('vm')), /vgicItsSetup\(\): vm is "vm" \(a string\), not a VM/);
  failsAt(t, "vgicV3Setup(vm, 0, '64')", () => HOST.vgicV3Setup(HOST.vmCreateBarebones(), 0, bad('64')), /^vgicV3Setup\(\): nrIrqs is "64" \(a string\)/);
  failsAt(t, "__vgicV3Setup(vm, 1, '64')", () => HOST.__vgicV3Setup(vm, 1, bad('64')), /__vgicV3Setup\(\): nrIrqs is "64" \(a string\)/);
  failsAt(t, 'vmComputeMaxGfn(null)', () => HOST.vmComputeMaxGfn(bad(null)), /vmComputeMaxGfn\(\): vm is null/);
  failsAt(t, "vmPhyPagesAlloc(vm, '1', ...)", () => HOST.vmPhyPagesAlloc(vm, bad('1'), 0, 0), /vmPhyPagesAlloc\(\): num is "1"/);
  t.equal(HOST.vmCalcNumGuestPages(8193n as unknown as number), 3, 'vmCalcNumGuestPages(8193n): a size_t bigint converts');
  t.equal(HOST.vmCalcNumGuestPages(4096.5), 1, 'vmCalcNumGuestPages(4096.5): truncated as C does');
  t.end();
});

t.test('KVM_IRQFD: fds as kvm_irqfd_assign answers them, arguments as C converts them', (t) => {
  const { vm, fd } = v3Vm({ nrVcpus: 1 });
  const closedOrNever = 987654;
  // virt/kvm/eventfd.c: kvm_irqfd_assign -> CLASS(fd) is empty for an fd that is not open: EBADF;
  // eventfd_ctx_fileget() refuses an open file that is not an eventfd: EINVAL.
  t.equal(HOST.__kvmIrqfd(vm, 0, closedOrNever, 0), -HOST.EBADF, 'an fd that is not open: EBADF');
  t.equal(thrownErrno(() => HOST.kvmIrqfd(vm, 0, closedOrNever, 0)), 'EBADF', 'kvmIrqfd asserts: a KvmError naming EBADF');
  t.equal(HOST.__kvmIrqfd(vm, 0, fd, 0), -HOST.EINVAL, 'the vGIC device fd (open, not an eventfd): EINVAL');
  t.equal(thrownErrno(() => HOST.kvmAssignIrqfd(vm, 0, fd)), 'EINVAL', 'kvmAssignIrqfd: the same, asserted');
  const ev = HOST.kvmNewEventfd();
  t.equal(HOST.__kvmIrqfd(vm, 3n as unknown as number, ev + 0.5, 0), 0, 'a bigint gsi and a fractional fd convert (int fd = ev + 0.5 is ev)');
  t.equal(HOST.__kvmIrqfd(vm, 3, ev, HOST.KVM_IRQFD_FLAG_DEASSIGN), 0, 'deassigned again');
  failsAt(t, "kvmIrqfd(vm, 0, '5', 0)", () => HOST.kvmIrqfd(vm, 0, bad('5'), 0), /kvmIrqfd\(\): eventfd is "5" \(a string\)/);
  failsAt(t, 'kvmDeassignIrqfd({}, 0, ev)', () => HOST.kvmDeassignIrqfd(bad({}), 0, ev), /kvmDeassignIrqfd\(\): vm is/);
  t.end();
});

t.test('eventfd read()/write(): an unreadable buffer is EFAULT where the kernel copies it', (t) => {
  const ev = HOST.kvmNewEventfd();
  t.equal(HOST.write(ev, u64(2n), 8), 8, 'write(u64(2), 8): 8');
  t.equal(HOST.write(ev, bad({}), 8), -EFAULT, 'write({}, 8): EFAULT (copy_from_user)');
  t.equal(HOST.write(ev, bad('x'), 4), -HOST.EINVAL, 'write("x", 4): EINVAL, the count is checked first (eventfd_write)');
  t.equal(HOST.write(ev, u64(1n), 2 ** 60), -HOST.EINVAL, 'a count of 2^60 is no RangeError: EINVAL (eventfd_write: count != 8)');
  const out = u64();
  t.equal(HOST.read(ev, bad({}), 8), -EFAULT, 'read into {}: EFAULT after the counter was read (copy_to_iter comes last)');
  t.equal(HOST.read(ev, out, 8), -HOST.EAGAIN, 'so the counter is 0: EAGAIN');
  t.equal(HOST.write(ev, u64(5n), 8n as unknown as number), 8, 'a bigint count converts');
  t.equal(HOST.read(ev, out, 2 ** 40), 8, 'read with a huge count: 8');
  t.equal(out.value, 5n, 'the count read');
  failsAt(t, "write('3', ...)", () => HOST.write(bad('3'), u64(1n), 8), /write\(\): fd is "3" \(a string\)/);
  failsAt(t, 'kvmClose(Symbol)', () => HOST.kvmClose(bad(Symbol('fd'))), /kvmClose\(\): fd is Symbol\(fd\)/);
  t.end();
});

t.test('KVM_SET_GSI_ROUTING: the routing table as the kernel copies it in', (t) => {
  const { vm } = v3Vm({ nrVcpus: 1 });
  const good = HOST.kvmGsiRoutingCreate();
  HOST.kvmGsiRoutingIrqchipAdd(good, 1n as unknown as number, 2n as unknown as number);
  t.same(good.entries[0]?.u, { irqchip: { irqchip: 0, pin: 2 } }, 'kvmGsiRoutingIrqchipAdd: bigint gsi and pin convert');
  t.equal(HOST._kvmGsiRoutingWrite(vm, good), 0, 'a valid table: 0');
  // kvm_main.c, KVM_SET_GSI_ROUTING: copy_from_user(header) EFAULT, nr > KVM_MAX_IRQ_ROUTES and
  // flags EINVAL, then vmemdup_array_user(entries) EFAULT.
  const cases: Array<[string, unknown, number]> = [
    ['null', null, -EFAULT],
    ['a string', 'routing', -EFAULT],
    ['a Proxy whose traps throw', TRAPS, -EFAULT],
    ['a VM (not a routing table)', vm, -EFAULT],
    ['an array', [good], -EFAULT],
    ['nr 1.5', { nr: 1.5, flags: 0, entries: [] }, -EFAULT],
    ['nr beyond KVM_MAX_IRQ_ROUTES, unreadable entries', { nr: 5000, flags: 0, entries: TRAPS }, -HOST.EINVAL],
    ['a flag, unreadable entries', { nr: 1, flags: 1, entries: 'x' }, -HOST.EINVAL],
    ['entries not an array', { nr: 1, flags: 0, entries: {} }, -EFAULT],
    ['fewer entries than nr', { nr: 2, flags: 0, entries: good.entries }, -EFAULT],
    ['an entry whose getter throws', { nr: 1, flags: 0, entries: [TRAPS] }, -EFAULT],
    ['an entry with a string gsi', { nr: 1, flags: 0, entries: [{ gsi: '1', type: 1, flags: 0, u: {} }] }, -EFAULT],
    ['nr 0, entries unreadable (never read)', { nr: 0, flags: 0, entries: TRAPS }, 0],
    ['an irqchip entry with no union (zeros: pin 0)', { nr: 1, flags: 0, entries: [{ gsi: 4, type: HOST.KVM_IRQ_ROUTING_IRQCHIP, flags: 0 }] }, 0],
  ];
  for (const [name, r, want] of cases) t.equal(HOST._kvmGsiRoutingWrite(vm, bad(r)), want, `${name}: ${want}`);
  t.equal(thrownErrno(() => HOST.kvmGsiRoutingWrite(vm, bad({ nr: 1, flags: 0, entries: [TRAPS] }))), 'EFAULT', 'kvmGsiRoutingWrite asserts: a KvmError naming EFAULT');
  failsAt(t, 'kvmGsiRoutingIrqchipAdd({}, 0, 0)', () => HOST.kvmGsiRoutingIrqchipAdd(bad({}), 0, 0), /kvmGsiRoutingIrqchipAdd\(\): routing.nr is undefined, not an entry count/);
  failsAt(t, 'kvmGsiRoutingIrqchipAdd(frozen table)', () => HOST.kvmGsiRoutingIrqchipAdd(bad(Object.freeze({ nr: 0, flags: 0, entries: Object.freeze([]) })), 0, 0), /a routing table .*it can write/);
  failsAt(t, "kvmGsiRoutingIrqchipAdd(table, 'x', 0)", () => HOST.kvmGsiRoutingIrqchipAdd(HOST.kvmGsiRoutingCreate(), bad('x'), 0), /gsi is "x"/);
  t.end();
});

t.test('KVM_SIGNAL_MSI and vCPU attributes: structs and buffers as the kernel reads them', (t) => {
  const { vm, vcpus } = v3Vm({ nrVcpus: 1, its: true });
  t.same(HOST.kvmMsi(2n ** 64n + 0x8080040n, 1n as unknown as number, 2.7), HOST.kvmMsi(0x8080040, 1, 2), 'kvmMsi: a bigint doorbell wraps, 2.7 truncates');
  t.equal(HOST.__kvmSignalMsi(vm, bad({ address_lo: 1.5 })), -EFAULT, 'a struct kvm_msi holding 1.5: EFAULT');
  t.equal(HOST.__kvmSignalMsi(vm, bad(TRAPS)), -EFAULT, 'an unreadable struct kvm_msi: EFAULT');
  failsAt(t, "kvmSignalMsi('vm', msi)", () => HOST.kvmSignalMsi(bad('vm'), HOST.kvmMsi(0, 0, 0)), /kvmSignalMsi\(\): vm is "vm"/);
  const v = u32();
  t.equal(HOST.__vcpuDeviceAttrGet(vcpus[0]!, HOST.KVM_ARM_VCPU_TIMER_CTRL, 0.5, v), 0, 'vCPU timer attr 0.5 (VTIMER after truncation): 0');
  t.equal(v.value, HOST.vcpuGetVtimerIrq(vcpus[0]!), 'the vtimer PPI');
  t.equal(HOST.__vcpuDeviceAttrGet(vcpus[0]!, HOST.KVM_ARM_VCPU_TIMER_CTRL, 0, asBuf({})), -EFAULT, '{} as the buffer: EFAULT');
  failsAt(t, "__vcpuHasDeviceAttr(vcpu, 1, 'x')", () => HOST.__vcpuHasDeviceAttr(vcpus[0]!, 1, bad('x')), /__vcpuHasDeviceAttr\(\): attr is "x"/);
  failsAt(t, 'vcpuGetPtimerIrq(vm)', () => HOST.vcpuGetPtimerIrq(bad(vm)), /vcpuGetPtimerIrq\(\): vcpu is .*not a vCPU/);
  t.end();
});

t.test('guest pointers, C structs, GICv5 user memory', (t) => {
  const vm = vmCreateBarebones();
  const hva = HOST.addrGva2hva(vm, BigInt(HOST.vmAllocPage(vm)) as unknown as number);
  const layout = HOST.cStruct({ a: 'u32', b: 'u64', c: 'bool' });
  HOST.hvaWriteStruct(hva, layout, bad({ a: -1, b: 1.5 }));
  t.same(HOST.hvaReadStruct(hva, layout), { a: 0xffffffff, b: 1n, c: false }, 'fields stored as C stores them; one left out is 0');
  failsAt(t, "hvaWriteStruct(hva, layout, { a: 'x' })", () => HOST.hvaWriteStruct(hva, layout, bad({ a: 'x' })), /hvaWriteStruct\(\): v.a is "x"/);
  failsAt(t, 'hvaWrite({ vm: {}, gpa: 0 }, ...)', () => HOST.hvaWrite(bad({ vm: {}, gpa: 0 }), new Uint8Array(1)), /hvaWrite\(\): hva.vm is/);
  failsAt(t, "hvaRead(hva, '4')", () => HOST.hvaRead(hva, bad('4')), /hvaRead\(\): len is "4"/);
  failsAt(t, "cStruct({ a: 'u128' })", () => HOST.cStruct(bad({ a: 'u128' })), /cStruct\(\): spec.a is "u128"/);
  failsAt(t, "layout.offsetOf('z')", () => layout.offsetOf(bad('z')), /CStruct.field\(\): name is "z"/);
  failsAt(t, "vcpuArgsSet(vcpu, 1, 'x')", () => HOST.vcpuArgsSet(HOST.vmVcpuAdd(vm, 0), 1, bad('x')), /vcpuArgsSet\(\): args\[0\] is "x"/);
  failsAt(t, 'userBytes(-1)', () => HOST.userBytes(-1), /userBytes\(\): size is -1 \(a number\), not a byte count/);
  failsAt(t, 'userBytes(16).u32(4)', () => HOST.userBytes(16).u32(4), /UserBytes.u32\(\): index is 4 .*below 4/);
  failsAt(t, "vgicV5IstAttr('p', ...)", () => HOST.vgicV5IstAttr(bad('p'), 0, null, 0), /vgicV5IstAttr\(\): spi is "p"/);
  t.equal(HOST.userPtr(1.5).addr, 1n, 'userPtr(1.5): (void *)1');
  t.equal(HOST.userPtr(8).add(-8).addr, 0n, 'UserPointer.add(-8): pointer arithmetic');
  t.ok(HOST.userBytes(8) instanceof HOST.UserPointer && HOST.userBytes(8) instanceof HOST.UserBytes, 'instanceof holds for the checked classes');
  t.end();
});

t.test('getopt, atoi_*, threads: arguments a C main() could not pass are port bugs', (t) => {
  t.same(HOST.getopt(['-n', '64', 'x'], 'n:', 'p', () => {}), [{ opt: 'n', optarg: '64' }], 'valid argv: unchanged');
  failsAt(t, "getopt(['-n', 64], 'n:')", () => HOST.getopt(bad(['-n', 64]), 'n:'), /getopt\(\): argv\[1\] is 64 \(a number\), not a string/);
  failsAt(t, "getopt('-n', 'n:')", () => HOST.getopt(bad('-n'), 'n:'), /getopt\(\): argv is "-n" \(a string\), not an array of strings/);
  failsAt(t, "getopt([], 'n:', 'p', 'warn')", () => HOST.getopt([], 'n:', 'p', bad('warn')), /getopt\(\): warn is "warn"/);
  failsAt(t, 'atoiParanoid(5)', () => HOST.atoiParanoid(bad(5)), /atoiParanoid\(\): numStr is 5 \(a number\), not a string/);
  failsAt(t, "atoiPositive(null, '1')", () => HOST.atoiPositive(bad(null), '1'), /atoiPositive\(\): name is null/);
  failsAt(t, "runVcpuThreads('t')", () => HOST.runVcpuThreads(bad('t')), /runVcpuThreads\(\): threads is "t"/);
  failsAt(t, 'runVcpuThreads([{ vcpu: {} }])', () => HOST.runVcpuThreads(bad([{ vcpu: {}, onUcall: () => false }])), /runVcpuThreads\(\): vcpu is/);
  failsAt(t, 'runVcpuThreads([], { maxQuantum: NaN })', () => HOST.runVcpuThreads([], { maxQuantum: Number.NaN }), /opts.maxQuantum is NaN/);
  t.equal(HOST.seededRandom(7n as unknown as number)(), HOST.seededRandom(7)(), 'seededRandom(7n) is seededRandom(7)');
  t.end();
});

t.test("the lower layers' helpers lib/host re-exports: checked, identical for valid input", (t) => {
  t.equal(HOST.errnoName(22n as unknown as number), 'EINVAL', 'errnoName(22n)');
  t.equal(HOST.strerror(-14), 'Bad address', 'strerror(-14)');
  t.equal(HOST.KVM_DEV_ARM_VGIC_SYSREG(3n as unknown as number, 0, 12, 12, 5), HOST.ICC_SRE_EL1, 'KVM_DEV_ARM_VGIC_SYSREG with a bigint op0');
  t.equal(HOST.gitsBaserType(0x0100000000000000 as unknown as bigint), HOST.gitsBaserType(1n << 56n), 'gitsBaserType of a number: the u64 it converts to');
  t.equal(HOST.INTID_IS_SPI(40n as unknown as number), true, 'INTID_IS_SPI(40n)');
  t.equal(HOST.gicv5Hwirq(3n as unknown as number, 7), HOST.gicv5Hwirq(3, 7), 'gicv5Hwirq with a bigint type');
  failsAt(t, "strerror('x')", () => HOST.strerror(bad('x')), /strerror\(\): code is "x"/);
  failsAt(t, "new KvmError('EBOGUS')", () => new HOST.KvmError(bad('EBOGUS')), /KvmError\(\): errno is "EBOGUS" .*an errno name/);
  failsAt(t, "errnoCode('constructor')", () => HOST.errnoCode(bad('constructor')), /errnoCode\(\): name is "constructor"/);
  failsAt(t, "resolveProfile('nope')", () => HOST.resolveProfile('nope'), /resolveProfile\(\): name is "nope" .*series-p3/);
  failsAt(t, 'cpuSysregGet({}, ...)', () => HOST.cpuSysregGet(bad({}), bad({}), HOST.ICC_PMR_EL1), /cpuSysregGet\(\): dist is/);
  failsAt(t, 'sysregName(null)', () => HOST.sysregName(bad(null)), /sysregName\(\): encoding is null/);
  failsAt(t, "new KvmVm({ profile: 'nope' })", () => new HOST.KvmVm({ profile: 'nope' }), /KvmVm\(\): opts.profile is "nope"/);
  // Errors and VMs the model makes are instances of the checked classes lib/host exports.
  const e = (() => {
    try {
      HOST.kvmCreateDevice(vmCreateBarebones(), 12345);
    } catch (x) {
      return x;
    }
  })();
  t.ok(e instanceof HOST.KvmError, "a KvmError the model throws is `instanceof KvmError` (lib/host's)");
  t.ok(new HOST.KvmError('EINVAL') instanceof KvmError, "one lib/host builds is lib/uapi's too");
  t.ok(vmCreate(1) instanceof HOST.KvmVm, 'vmCreate() gives a KvmVm');
  t.end();
});

t.test('selftest() and collectSelftests(): bad cases are port bugs, hostile case bodies are case failures', async (t) => {
  await t.rejects(HOST.collectSelftests(bad(5)), TestAssertionFailure, 'collectSelftests(5): rejects with a TestAssertionFailure');
  const e1 = await rejection(HOST.collectSelftests(async () => HOST.selftest('x', bad([['a case', 5]]))));
  t.match((e1 as TestAssertionFailure | null)?.detail, /selftest\(\): cases\[0\]\[1\] is 5/, 'a case body that is not a function: a TestAssertionFailure');
  const e2 = await rejection(HOST.collectSelftests(async () => HOST.selftest(bad(7), [])));
  t.match((e2 as TestAssertionFailure | null)?.detail, /selftest\(\): name is 7/, 'a name that is not a string: the same');
  const [s] = await HOST.collectSelftests(async () =>
    HOST.selftest('hostile', [
      { name: 'throws a null-prototype object', run: () => { throw Object.create(null); } },
      { name: 'expectFail returns a Symbol', run: () => {}, expectFail: () => bad(Symbol('why')) },
    ]),
  );
  let out = '';
  const code = await s!.run((text) => {
    out += text;
  });
  HOST.setRecorder(null);
  t.equal(code, 1, 'both cases fail: exit status 1, no internal error');
  t.match(out, /not ok 1 - throws a null-prototype object/, 'the first case is reported');
  t.match(out, /not ok 2 - expectFail returns a Symbol/, 'the second too');
  t.match(out, /expectFail\(\) returned Symbol\(why\)/, 'saying what expectFail returned');
});
