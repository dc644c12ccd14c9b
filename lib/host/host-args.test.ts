// Host helpers take numbers the way a C caller's would be converted, answer an unreadable buffer
// with EFAULT where KVM touches it, and report a wrongly typed argument as a TestAssertionFailure:
// none of them throws a plain JavaScript error.

import t from 'tap';
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
import { v3Vm } from '../vgic/test-fixtures.ts';
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
