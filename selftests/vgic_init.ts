// SPDX-License-Identifier: GPL-2.0
/*
 * vgic init sequence tests
 *
 * Copyright (C) 2020, Red Hat, Inc.
 *
 * TypeScript port of tools/testing/selftests/kvm/arm64/vgic_init.c.
 *
 * Ported from the newest version seen that has both test_v3_sysregs and
 * test_v3_nassgicap: commit 8d0ac33045370988a58a40a8a4a7d8b5c763eb09 (a mainline
 * tree, github.com/sskartheekadivi/linux), cross-checked against torvalds/linux
 * 15b5964a411f386d53e41a5595a3dd5e6068a59e (adds test_v3_nassgicap) and
 * a7f49a9bf45012704c9a5a49abfd16607edd5d97 (adds test_v3_sysregs).
 *
 * Checks per function (explicit TEST_ASSERTs that run; printed per case as
 * "<function>: N checks"):
 *   test_kvm_device                              3 (2 if the other GIC type cannot be test-created)
 *   test_vcpus_then_vgic                         9 (v3) / 8 (v2)   [subtest_dist_rdist: 8 / 7]
 *   test_vgic_then_vcpus                         9 (v3) / 8 (v2)
 *   test_v2_uaccess_cpuif_no_vcpus              10
 *   test_v3_new_redist_regions                  49                 [subtest_v3_redist_regions: 15]
 *   test_v3_typer_accesses                      13
 *   test_v3_last_bit_redist_regions              6
 *   test_v3_last_bit_single_rdist                5
 *   test_v3_redist_ipa_range_check_at_vcpu_run   1
 *   test_v3_its_region                           4
 *   test_v3_sysregs                             71 / 63 / 47 at PRIbits 5 / 6 / 7 (no EL2):
 *                                               2 + 15*3 + 2 per tolerated APnR get/set failure
 *   test_v3_nassgicap                            2
 *
 * Differences from C, all forced by the harness:
 *  - Each kernel test function is one TAP subtest ("v3: test_vcpus_then_vgic", ...).
 *    main()'s "if (!test_kvm_device(t)) run_tests(t)" becomes: the test_kvm_device
 *    case records support, and the run_tests cases of an unsupported type skip.
 *  - __kvm_* calls return 0 / -errno, so C's "ret && errno == X" is ret && errno() === X.
 *  - EL2 (KVM_CAP_ARM_EL2 / NV) is not modelled by the emulated host: test_v3_sysregs
 *    takes the kernel's "SKIP EL2 registers, not available" path.
 *  - VGIC_PRI_BITS (5, 6 or 7; default 5) sets the VM option priBits of the
 *    test_v3_sysregs VM only (the host's ICH_VTR_EL2.PRIbits on real hardware).
 */
import { readFileSync } from 'node:fs';
import {
  selftest,
  testAssert,
  TestAssertionFailure,
  errno,
  strerror,
  formatPrintf,
  testRequire,
  testFail,
  printInfo,
  printSkip,
  testDisableDefaultVgic,
  vmCreate,
  vmCreateBarebones,
  vmCreateWithVcpus,
  vmVcpuAdd,
  kvmVmFree,
  kvmCreateDevice,
  __kvmCreateDevice,
  __kvmTestCreateDevice,
  close,
  kvmHasDeviceAttr,
  __kvmHasDeviceAttr,
  kvmDeviceAttrGet,
  kvmDeviceAttrSet,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __vcpuRun,
  REDIST_REGION_ATTR_ADDR,
  u32,
  u64,
  KVM_DEV_TYPE_ARM_VGIC_V2,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_DEV_TYPE_ARM_VGIC_ITS,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_OFFSET_MASK,
  KVM_DEV_ARM_VGIC_CPUID_MASK,
  KVM_VGIC_V2_ADDR_TYPE_DIST,
  KVM_VGIC_V2_ADDR_TYPE_CPU,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
  KVM_VGIC_ITS_ADDR_TYPE,
  GICR_TYPER,
  GICD_TYPER2,
  GICD_TYPER2_nASSGIcap,
  ENOENT,
  ENXIO,
  E2BIG,
  EFAULT,
  EBUSY,
  EEXIST,
  ENODEV,
  EINVAL,
} from '../lib/host/index.ts';
import type { HostProfile, KvmVm, KvmVcpu, SelftestCase } from '../lib/host/index.ts';
import type { Guest, GuestProgram } from '../lib/guest/index.ts';

const NR_VCPUS = 4;

/* (((u64)vcpu << 32) | offset) */
function REG_OFFSET(vcpu: number, offset: number): bigint {
  return (BigInt(vcpu) << 32n) | BigInt(offset);
}

const VGIC_DEV_IS_V2 = (d: number): boolean => d === KVM_DEV_TYPE_ARM_VGIC_V2;
const VGIC_DEV_IS_V3 = (d: number): boolean => d === KVM_DEV_TYPE_ARM_VGIC_V3;

interface VmGic {
  vm: KvmVm;
  gicFd: number;
  gicDevType: number;
}

/* C: 1ULL << vm_guest_mode_params[VM_MODE_DEFAULT].pa_bits; set in main(). */
let maxPhysSize = 0n;

/*
 * Check counting: every TEST_ASSERT of the C file goes through check(), so the
 * number printed at the end of a case is the number of checks that ran.
 * A failure is re-reported at the caller's line (not this wrapper's), so the
 * TAP failure block names the kernel check that failed.
 */
type PrintfArg = Parameters<typeof formatPrintf>[1][number];
let nrChecks = 0;
const tAssert: typeof testAssert = testAssert;

function check(cond: unknown, fmt: string, ...args: PrintfArg[]): asserts cond {
  nrChecks++;
  try {
    tAssert(cond, fmt, ...args);
  } catch (e) {
    if (!(e instanceof TestAssertionFailure))
      throw e;
    const at = callerOf(new Error().stack);
    throw new TestAssertionFailure({ ...at, detail: e.detail, guest: false });
  }
}

/* file:line and source text of check()'s caller, from a V8 stack. */
function callerOf(stack: string | undefined): { file?: string; line?: number; expr: string } {
  const frame = (stack ?? '').split('\n')[2] ?? '';
  const m = /\(?((?:file:\/\/)?[^\s()]+\.[cm]?[tj]s):(\d+):\d+\)?\s*$/.exec(frame.trim());
  if (!m)
    return { expr: '(unknown)' };
  const path = m[1]!.replace(/^file:\/\//, '');
  const line = Number(m[2]);
  let text = '(unknown)';
  try {
    text = (readFileSync(path, 'utf8').split('\n')[line - 1] ?? '').trim() || text;
  } catch {
    /* keep (unknown) */
  }
  const cwd = process.cwd() + '/';
  return { file: path.startsWith(cwd) ? path.slice(cwd.length) : path, line, expr: text };
}

/* KVM_IOCTL_ERROR(_ioctl, _ret) from kvm_util.h */
function KVM_IOCTL_ERROR(name: string, ret: number): string {
  /* C's ioctl() returns -1; __kvm* here return -errno, errno() is the same errno. */
  return `${name} failed, rc: ${ret < 0 ? -1 : ret} errno: ${errno()} (${strerror(errno())})`;
}

/*
 * Helpers to access a redistributor register and verify the ioctl() failed or
 * succeeded as expected, and provided the correct value on success.
 */
function v3RedistRegGetErrno(gicv3Fd: number, vcpu: number, offset: number,
                             want: number, msg: string): void {
  const ignoredVal = u32();
  const ret = __kvmDeviceAttrGet(gicv3Fd, KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
                                 REG_OFFSET(vcpu, offset), ignoredVal);

  check(ret && errno() === want, '%s; want errno = %d', msg, want);
}

function v3RedistRegGet(gicv3Fd: number, vcpu: number, offset: number, want: number,
                        msg: string): void {
  const val = u32();

  kvmDeviceAttrGet(gicv3Fd, KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
                   REG_OFFSET(vcpu, offset), val);
  check(val.value === want, "%s; want '0x%x', got '0x%x'", msg, want, val.value);
}

/* dummy guest code */
function* guestCode(g: Guest): GuestProgram {
  yield* g.sync(0);
  yield* g.sync(1);
  yield* g.sync(2);
  yield* g.done();
}

/* we don't want to assert on run execution, hence that helper */
function runVcpu(vcpu: KvmVcpu): number {
  return __vcpuRun(vcpu) ? -errno() : 0;
}

function vmGicCreateWithVcpus(gicDevType: number, nrVcpus: number,
                              code: typeof guestCode, vcpus: KvmVcpu[]): VmGic {
  const r = vmCreateWithVcpus(nrVcpus, code);

  vcpus.splice(0, vcpus.length, ...r.vcpus);
  return { vm: r.vm, gicFd: kvmCreateDevice(r.vm, gicDevType), gicDevType };
}

function vmGicCreateBarebones(gicDevType: number): VmGic {
  const vm = vmCreateBarebones();

  return { vm, gicFd: kvmCreateDevice(vm, gicDevType), gicDevType };
}

function vmGicDestroy(v: VmGic): void {
  close(v.gicFd);
  kvmVmFree(v.vm);
}

interface VgicRegionAttr {
  attr: number;
  size: bigint;
  alignment: bigint;
}

const gicV3DistRegion: VgicRegionAttr = {
  attr: KVM_VGIC_V3_ADDR_TYPE_DIST,
  size: 0x10000n,
  alignment: 0x10000n,
};

const gicV3RedistRegion: VgicRegionAttr = {
  attr: KVM_VGIC_V3_ADDR_TYPE_REDIST,
  size: BigInt(NR_VCPUS) * 0x20000n,
  alignment: 0x10000n,
};

const gicV2DistRegion: VgicRegionAttr = {
  attr: KVM_VGIC_V2_ADDR_TYPE_DIST,
  size: 0x1000n,
  alignment: 0x1000n,
};

const gicV2CpuRegion: VgicRegionAttr = {
  attr: KVM_VGIC_V2_ADDR_TYPE_CPU,
  size: 0x2000n,
  alignment: 0x1000n,
};

/**
 * Helper routine that performs KVM device tests in general. Eventually the
 * ARM_VGIC (GICv2 or GICv3) device gets created with an overlapping
 * DIST/REDIST (or DIST/CPUIF for GICv2). Assumption is 4 vcpus are going to be
 * used hence the overlap. In the case of GICv3, A RDIST region is set at @0x0
 * and a DIST region is set @0x70000. The GICv2 case sets a CPUIF @0x0 and a
 * DIST region @0x1000.
 */
function subtestDistRdist(v: VmGic): void {
  let ret: number;
  const addr = u64();
  /* CPU interface in GICv2 */
  const rdist = VGIC_DEV_IS_V3(v.gicDevType) ? gicV3RedistRegion : gicV2CpuRegion;
  const dist = VGIC_DEV_IS_V3(v.gicDevType) ? gicV3DistRegion : gicV2DistRegion;

  /* Check existing group/attributes */
  kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, dist.attr);

  kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, rdist.attr);

  /* check non existing attribute: C passes -1 to a u64 attr */
  ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, BigInt.asUintN(64, -1n));
  check(ret && errno() === ENXIO, 'attribute not supported');

  /* misaligned DIST and REDIST address settings */
  addr.value = dist.alignment / 0x10n;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, dist.attr, addr);
  check(ret && errno() === EINVAL, 'GIC dist base not aligned');

  addr.value = rdist.alignment / 0x10n;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, rdist.attr, addr);
  check(ret && errno() === EINVAL, 'GIC redist/cpu base not aligned');

  /* out of range address */
  addr.value = maxPhysSize;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, dist.attr, addr);
  check(ret && errno() === E2BIG, 'dist address beyond IPA limit');

  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, rdist.attr, addr);
  check(ret && errno() === E2BIG, 'redist address beyond IPA limit');

  /* Space for half a rdist (a rdist is: 2 * rdist.alignment). */
  addr.value = maxPhysSize - dist.alignment;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, rdist.attr, addr);
  check(ret && errno() === E2BIG, 'half of the redist is beyond IPA limit');

  /* set REDIST base address @0x0*/
  addr.value = 0x00000n;
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, rdist.attr, addr);

  /* Attempt to create a second legacy redistributor region */
  addr.value = 0xE0000n;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, rdist.attr, addr);
  check(ret && errno() === EEXIST, 'GIC redist base set again');

  ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST);
  if (!ret) {
    /* Attempt to mix legacy and new redistributor regions */
    addr.value = REDIST_REGION_ATTR_ADDR(NR_VCPUS, 0x100000, 0, 0);
    ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                             KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
    check(ret && errno() === EINVAL, 'attempt to mix GICv3 REDIST and REDIST_REGION');
  }

  /*
   * Set overlapping DIST / REDIST, cannot be detected here. Will be detected
   * on first vcpu run instead.
   */
  addr.value = rdist.size - rdist.alignment;
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, dist.attr, addr);
}

/* Test the new REDIST region API */
function subtestV3RedistRegions(v: VmGic): void {
  const addr = u64();
  let expectedAddr: bigint;
  let ret: number;

  ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST);
  check(!ret, 'Multiple redist regions advertised');

  addr.value = REDIST_REGION_ATTR_ADDR(NR_VCPUS, 0x100000, 2, 0);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === EINVAL, 'redist region attr value with flags != 0');

  addr.value = REDIST_REGION_ATTR_ADDR(0, 0x100000, 0, 0);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === EINVAL, 'redist region attr value with count== 0');

  addr.value = REDIST_REGION_ATTR_ADDR(2, 0x200000, 0, 1);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === EINVAL,
        'attempt to register the first rdist region with index != 0');

  addr.value = REDIST_REGION_ATTR_ADDR(2, 0x201000, 0, 1);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === EINVAL, 'rdist region with misaligned address');

  addr.value = REDIST_REGION_ATTR_ADDR(2, 0x200000, 0, 0);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                   KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);

  addr.value = REDIST_REGION_ATTR_ADDR(2, 0x200000, 0, 1);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === EINVAL, 'register an rdist region with already used index');

  addr.value = REDIST_REGION_ATTR_ADDR(1, 0x210000, 0, 2);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === EINVAL,
        'register an rdist region overlapping with another one');

  addr.value = REDIST_REGION_ATTR_ADDR(1, 0x240000, 0, 2);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === EINVAL, 'register redist region with index not +1');

  addr.value = REDIST_REGION_ATTR_ADDR(1, 0x240000, 0, 1);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                   KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);

  addr.value = REDIST_REGION_ATTR_ADDR(1, maxPhysSize, 0, 2);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === E2BIG,
        'register redist region with base address beyond IPA range');

  /* The last redist is above the pa range. */
  addr.value = REDIST_REGION_ATTR_ADDR(2, maxPhysSize - 0x30000n, 0, 2);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === E2BIG,
        'register redist region with top address beyond IPA range');

  addr.value = 0x260000n;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST, addr);
  check(ret && errno() === EINVAL,
        'Mix KVM_VGIC_V3_ADDR_TYPE_REDIST and REDIST_REGION');

  /*
   * Now there are 2 redist regions:
   * region 0 @ 0x200000 2 redists
   * region 1 @ 0x240000 1 redist
   * Attempt to read their characteristics
   */

  addr.value = REDIST_REGION_ATTR_ADDR(0, 0, 0, 0);
  expectedAddr = REDIST_REGION_ATTR_ADDR(2, 0x200000, 0, 0);
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(!ret && addr.value === expectedAddr, 'read characteristics of region #0');

  addr.value = REDIST_REGION_ATTR_ADDR(0, 0, 0, 1);
  expectedAddr = REDIST_REGION_ATTR_ADDR(1, 0x240000, 0, 1);
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(!ret && addr.value === expectedAddr, 'read characteristics of region #1');

  addr.value = REDIST_REGION_ATTR_ADDR(0, 0, 0, 2);
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === ENOENT, 'read characteristics of non existing region');

  addr.value = 0x260000n;
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, addr);

  addr.value = REDIST_REGION_ATTR_ADDR(1, 0x260000, 0, 2);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === EINVAL, 'register redist region colliding with dist');
}

/*
 * VGIC KVM device is created and initialized before the secondary CPUs
 * get created
 */
function testVgicThenVcpus(gicDevType: number): void {
  const vcpus: KvmVcpu[] = [];
  let ret: number;

  const v = vmGicCreateWithVcpus(gicDevType, 1, guestCode, vcpus);

  subtestDistRdist(v);

  /* Add the rest of the VCPUs */
  for (let i = 1; i < NR_VCPUS; ++i)
    vcpus[i] = vmVcpuAdd(v.vm, i, guestCode);

  ret = runVcpu(vcpus[3]!);
  check(ret === -EINVAL, 'dist/rdist overlap detected on 1st vcpu run');

  vmGicDestroy(v);
}

/* All the VCPUs are created before the VGIC KVM device gets initialized */
function testVcpusThenVgic(gicDevType: number): void {
  const vcpus: KvmVcpu[] = [];
  let ret: number;

  const v = vmGicCreateWithVcpus(gicDevType, NR_VCPUS, guestCode, vcpus);

  subtestDistRdist(v);

  ret = runVcpu(vcpus[3]!);
  check(ret === -EINVAL, 'dist/rdist overlap detected on 1st vcpu run');

  vmGicDestroy(v);
}

/* FIELD_PREP(mask, val) for the bigint attribute masks */
function FIELD_PREP(mask: bigint, val: number | bigint): bigint {
  let shift = 0n;
  while (((mask >> shift) & 1n) === 0n) shift++;
  return (BigInt(val) << shift) & mask;
}

function KVM_VGIC_V2_ATTR(offset: number, cpu: number): bigint {
  return FIELD_PREP(KVM_DEV_ARM_VGIC_OFFSET_MASK, offset) |
         FIELD_PREP(KVM_DEV_ARM_VGIC_CPUID_MASK, cpu);
}

const GIC_CPU_CTRL = 0x00;

function testV2UaccessCpuifNoVcpus(): void {
  const val = u64(0n);
  let ret: number;

  const v = vmGicCreateBarebones(KVM_DEV_TYPE_ARM_VGIC_V2);
  subtestDistRdist(v);

  ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
                           KVM_VGIC_V2_ATTR(GIC_CPU_CTRL, 0));
  check(ret && errno() === EINVAL,
        'accessed non-existent CPU interface, want errno: %i', EINVAL);
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
                           KVM_VGIC_V2_ATTR(GIC_CPU_CTRL, 0), val);
  check(ret && errno() === EINVAL,
        'accessed non-existent CPU interface, want errno: %i', EINVAL);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
                           KVM_VGIC_V2_ATTR(GIC_CPU_CTRL, 0), val);
  check(ret && errno() === EINVAL,
        'accessed non-existent CPU interface, want errno: %i', EINVAL);

  vmGicDestroy(v);
}

function testV3NewRedistRegions(): void {
  const vcpus: KvmVcpu[] = [];
  const dummy = null;
  let v: VmGic;
  const addr = u64();
  let ret: number;

  v = vmGicCreateWithVcpus(KVM_DEV_TYPE_ARM_VGIC_V3, NR_VCPUS, guestCode, vcpus);
  subtestV3RedistRegions(v);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  ret = runVcpu(vcpus[3]!);
  check(ret === -ENXIO, 'running without sufficient number of rdists');
  vmGicDestroy(v);

  /* step2 */

  v = vmGicCreateWithVcpus(KVM_DEV_TYPE_ARM_VGIC_V3, NR_VCPUS, guestCode, vcpus);
  subtestV3RedistRegions(v);

  addr.value = REDIST_REGION_ATTR_ADDR(1, 0x280000, 0, 2);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                   KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);

  ret = runVcpu(vcpus[3]!);
  check(ret === -EBUSY, 'running without vgic explicit init');

  vmGicDestroy(v);

  /* step 3 */

  v = vmGicCreateWithVcpus(KVM_DEV_TYPE_ARM_VGIC_V3, NR_VCPUS, guestCode, vcpus);
  subtestV3RedistRegions(v);

  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, dummy);
  check(ret && errno() === EFAULT,
        'register a third region allowing to cover the 4 vcpus');

  addr.value = REDIST_REGION_ATTR_ADDR(1, 0x280000, 0, 2);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                   KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  ret = runVcpu(vcpus[3]!);
  check(!ret, 'vcpu run');

  vmGicDestroy(v);
}

function testV3TyperAccesses(): void {
  const addr = u64();
  let ret: number;

  const vm = vmCreate(NR_VCPUS);
  void vmVcpuAdd(vm, 0, guestCode);

  /* gic_dev_type is left uninitialised by the C code; it is not used here. */
  const v: VmGic = { vm, gicFd: kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3),
                     gicDevType: KVM_DEV_TYPE_ARM_VGIC_V3 };

  void vmVcpuAdd(v.vm, 3, guestCode);

  v3RedistRegGetErrno(v.gicFd, 1, GICR_TYPER, EINVAL,
                      'attempting to read GICR_TYPER of non created vcpu');

  void vmVcpuAdd(v.vm, 1, guestCode);

  v3RedistRegGetErrno(v.gicFd, 1, GICR_TYPER, EBUSY,
                      'read GICR_TYPER before GIC initialized');

  void vmVcpuAdd(v.vm, 2, guestCode);

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  for (let i = 0; i < NR_VCPUS; i++) {
    v3RedistRegGet(v.gicFd, i, GICR_TYPER, i * 0x100,
                   'read GICR_TYPER before rdist region setting');
  }

  addr.value = REDIST_REGION_ATTR_ADDR(2, 0x200000, 0, 0);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                   KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);

  /* The 2 first rdists should be put there (vcpu 0 and 3) */
  v3RedistRegGet(v.gicFd, 0, GICR_TYPER, 0x0, 'read typer of rdist #0');
  v3RedistRegGet(v.gicFd, 3, GICR_TYPER, 0x310, 'read typer of rdist #1');

  addr.value = REDIST_REGION_ATTR_ADDR(10, 0x100000, 0, 1);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                           KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);
  check(ret && errno() === EINVAL, 'collision with previous rdist region');

  v3RedistRegGet(v.gicFd, 1, GICR_TYPER, 0x100,
                 'no redist region attached to vcpu #1 yet, last cannot be returned');
  v3RedistRegGet(v.gicFd, 2, GICR_TYPER, 0x200,
                 'no redist region attached to vcpu #2, last cannot be returned');

  addr.value = REDIST_REGION_ATTR_ADDR(10, 0x20000, 0, 1);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                   KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);

  v3RedistRegGet(v.gicFd, 1, GICR_TYPER, 0x100, 'read typer of rdist #1');
  v3RedistRegGet(v.gicFd, 2, GICR_TYPER, 0x210,
                 'read typer of rdist #1, last properly returned');

  vmGicDestroy(v);
}

function vmGicV3CreateWithVcpuids(nrVcpus: number, vcpuids: readonly number[]): VmGic {
  const vm = vmCreate(nrVcpus);

  for (let i = 0; i < nrVcpus; i++)
    vmVcpuAdd(vm, vcpuids[i]!, guestCode);

  /* gic_dev_type is left uninitialised by the C code; it is not used. */
  return { vm, gicFd: kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3),
           gicDevType: KVM_DEV_TYPE_ARM_VGIC_V3 };
}

/**
 * Test GICR_TYPER last bit with new redist regions
 * rdist regions #1 and #2 are contiguous
 * rdist region #0 @0x100000 2 rdist capacity
 *     rdists: 0, 3 (Last)
 * rdist region #1 @0x240000 2 rdist capacity
 *     rdists:  5, 4 (Last)
 * rdist region #2 @0x200000 2 rdist capacity
 *     rdists: 1, 2
 */
function testV3LastBitRedistRegions(): void {
  const vcpuids = [0, 3, 5, 4, 1, 2] as const;
  const addr = u64();

  const v = vmGicV3CreateWithVcpuids(vcpuids.length, vcpuids);

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  addr.value = REDIST_REGION_ATTR_ADDR(2, 0x100000, 0, 0);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                   KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);

  addr.value = REDIST_REGION_ATTR_ADDR(2, 0x240000, 0, 1);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                   KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);

  addr.value = REDIST_REGION_ATTR_ADDR(2, 0x200000, 0, 2);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR,
                   KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr);

  v3RedistRegGet(v.gicFd, 0, GICR_TYPER, 0x000, 'read typer of rdist #0');
  v3RedistRegGet(v.gicFd, 1, GICR_TYPER, 0x100, 'read typer of rdist #1');
  v3RedistRegGet(v.gicFd, 2, GICR_TYPER, 0x200, 'read typer of rdist #2');
  v3RedistRegGet(v.gicFd, 3, GICR_TYPER, 0x310, 'read typer of rdist #3');
  v3RedistRegGet(v.gicFd, 5, GICR_TYPER, 0x500, 'read typer of rdist #5');
  v3RedistRegGet(v.gicFd, 4, GICR_TYPER, 0x410, 'read typer of rdist #4');

  vmGicDestroy(v);
}

/* Test last bit with legacy region */
function testV3LastBitSingleRdist(): void {
  const vcpuids = [0, 3, 5, 4, 1, 2] as const;
  const addr = u64();

  const v = vmGicV3CreateWithVcpuids(vcpuids.length, vcpuids);

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  addr.value = 0x10000n;
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, addr);

  v3RedistRegGet(v.gicFd, 0, GICR_TYPER, 0x000, 'read typer of rdist #0');
  v3RedistRegGet(v.gicFd, 3, GICR_TYPER, 0x300, 'read typer of rdist #1');
  v3RedistRegGet(v.gicFd, 5, GICR_TYPER, 0x500, 'read typer of rdist #2');
  v3RedistRegGet(v.gicFd, 1, GICR_TYPER, 0x100, 'read typer of rdist #3');
  v3RedistRegGet(v.gicFd, 2, GICR_TYPER, 0x210, 'read typer of rdist #3');

  vmGicDestroy(v);
}

/* Uses the legacy REDIST region API. */
function testV3RedistIpaRangeCheckAtVcpuRun(): void {
  const vcpus: KvmVcpu[] = [];
  let ret: number;
  const addr = u64();

  const v = vmGicCreateWithVcpus(KVM_DEV_TYPE_ARM_VGIC_V3, 1, guestCode, vcpus);

  /* Set space for 3 redists, we have 1 vcpu, so this succeeds. */
  addr.value = maxPhysSize - (3n * 2n * 0x10000n);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, addr);

  addr.value = 0x00000n;
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, addr);

  /* Add the rest of the VCPUs */
  for (let i = 1; i < NR_VCPUS; ++i)
    vcpus[i] = vmVcpuAdd(v.vm, i, guestCode);

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  /* Attempt to run a vcpu without enough redist space. */
  ret = runVcpu(vcpus[2]!);
  check(ret && errno() === EINVAL,
        'redist base+size above PA range detected on 1st vcpu run');

  vmGicDestroy(v);
}

function testV3ItsRegion(): void {
  const vcpus: KvmVcpu[] = [];
  const addr = u64();
  let ret: number;

  const v = vmGicCreateWithVcpus(KVM_DEV_TYPE_ARM_VGIC_V3, NR_VCPUS, guestCode, vcpus);
  const itsFd = kvmCreateDevice(v.vm, KVM_DEV_TYPE_ARM_VGIC_ITS);

  addr.value = 0x401000n;
  ret = __kvmDeviceAttrSet(itsFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, addr);
  check(ret && errno() === EINVAL, 'ITS region with misaligned address');

  addr.value = maxPhysSize;
  ret = __kvmDeviceAttrSet(itsFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, addr);
  check(ret && errno() === E2BIG, 'register ITS region with base address beyond IPA range');

  addr.value = maxPhysSize - 0x10000n;
  ret = __kvmDeviceAttrSet(itsFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, addr);
  check(ret && errno() === E2BIG, 'Half of ITS region is beyond IPA range');

  /* This one succeeds setting the ITS base */
  addr.value = 0x400000n;
  kvmDeviceAttrSet(itsFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, addr);

  addr.value = 0x300000n;
  ret = __kvmDeviceAttrSet(itsFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, addr);
  check(ret && errno() === EEXIST, 'ITS base set again');

  close(itsFd);
  vmGicDestroy(v);
}

function testV3Nassgicap(): void {
  const vcpus: KvmVcpu[] = [];
  const typer2 = u32();
  let ret: number;

  const vm = vmGicCreateWithVcpus(KVM_DEV_TYPE_ARM_VGIC_V3, NR_VCPUS, guestCode, vcpus);
  kvmDeviceAttrGet(vm.gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_TYPER2, typer2);
  const hasNassgicap = (typer2.value & GICD_TYPER2_nASSGIcap) !== 0;

  typer2.value = (typer2.value | GICD_TYPER2_nASSGIcap) >>> 0;
  ret = __kvmDeviceAttrSet(vm.gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_TYPER2, typer2);
  if (hasNassgicap)
    check(!ret, '%s', KVM_IOCTL_ERROR('KVM_DEVICE_ATTR_SET', ret));
  else
    check(ret && errno() === EINVAL, "Enabled nASSGIcap even though it's unavailable");

  typer2.value = (typer2.value & ~GICD_TYPER2_nASSGIcap) >>> 0;
  kvmDeviceAttrSet(vm.gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_TYPER2, typer2);

  kvmDeviceAttrSet(vm.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  typer2.value = (typer2.value ^ GICD_TYPER2_nASSGIcap) >>> 0;
  ret = __kvmDeviceAttrSet(vm.gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_TYPER2, typer2);
  check(ret && errno() === EBUSY, 'Changed nASSGIcap after initializing the VGIC');

  vmGicDestroy(vm);
}

/*
 * Returns 0 if it's possible to create GIC device of a given type (V2 or V3).
 */
function testKvmDevice(gicDevType: number): number {
  const vcpus: KvmVcpu[] = [];
  let ret: number;

  const r = vmCreateWithVcpus(NR_VCPUS, guestCode);
  vcpus.splice(0, vcpus.length, ...r.vcpus);

  /* try to create a non existing KVM device */
  ret = __kvmTestCreateDevice(r.vm, 0);
  check(ret && errno() === ENODEV, 'unsupported device');

  /* trial mode */
  ret = __kvmTestCreateDevice(r.vm, gicDevType);
  if (ret)
    return ret; /* the VM is leaked, as in C */
  const v: VmGic = { vm: r.vm, gicFd: kvmCreateDevice(r.vm, gicDevType), gicDevType };

  ret = __kvmCreateDevice(v.vm, gicDevType);
  check(ret < 0 && errno() === EEXIST, 'create GIC device twice');

  /* try to create the other gic_dev_type */
  const other = VGIC_DEV_IS_V2(gicDevType) ? KVM_DEV_TYPE_ARM_VGIC_V3
                                           : KVM_DEV_TYPE_ARM_VGIC_V2;

  if (!__kvmTestCreateDevice(v.vm, other)) {
    ret = __kvmCreateDevice(v.vm, other);
    check(ret < 0 && (errno() === EINVAL || errno() === EEXIST),
          'create GIC device while other version exists');
  }

  vmGicDestroy(v);

  return 0;
}

/* ---- test_v3_sysregs ---------------------------------------------------- */

interface SrDef {
  name: string;
  encoding: number;
}

/* sys_reg() and sys_reg_Op*() from tools/arch/arm64/include/asm/sysreg.h */
function sys_reg(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 19) | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5);
}
const sys_reg_Op0 = (r: number): number => (r >> 19) & 0x3;
const sys_reg_Op1 = (r: number): number => (r >> 16) & 0x7;
const sys_reg_CRn = (r: number): number => (r >> 12) & 0xf;
const sys_reg_CRm = (r: number): number => (r >> 8) & 0xf;
const sys_reg_Op2 = (r: number): number => (r >> 5) & 0x7;

const SYS_ICC_PMR_EL1 = sys_reg(3, 0, 4, 6, 0);
const SYS_ICC_BPR0_EL1 = sys_reg(3, 0, 12, 8, 3);
const SYS_ICC_AP0Rn_EL1 = (n: number): number => sys_reg(3, 0, 12, 8, 4 | n);
const SYS_ICC_AP0R0_EL1 = SYS_ICC_AP0Rn_EL1(0);
const SYS_ICC_AP0R1_EL1 = SYS_ICC_AP0Rn_EL1(1);
const SYS_ICC_AP0R2_EL1 = SYS_ICC_AP0Rn_EL1(2);
const SYS_ICC_AP0R3_EL1 = SYS_ICC_AP0Rn_EL1(3);
const SYS_ICC_AP1Rn_EL1 = (n: number): number => sys_reg(3, 0, 12, 9, n);
const SYS_ICC_AP1R0_EL1 = SYS_ICC_AP1Rn_EL1(0);
const SYS_ICC_AP1R1_EL1 = SYS_ICC_AP1Rn_EL1(1);
const SYS_ICC_AP1R2_EL1 = SYS_ICC_AP1Rn_EL1(2);
const SYS_ICC_AP1R3_EL1 = SYS_ICC_AP1Rn_EL1(3);
const SYS_ICC_BPR1_EL1 = sys_reg(3, 0, 12, 12, 3);
const SYS_ICC_CTLR_EL1 = sys_reg(3, 0, 12, 12, 4);
const SYS_ICC_SRE_EL1 = sys_reg(3, 0, 12, 12, 5);
const SYS_ICC_IGRPEN0_EL1 = sys_reg(3, 0, 12, 12, 6);
const SYS_ICC_IGRPEN1_EL1 = sys_reg(3, 0, 12, 12, 7);

const SYS_ICH_AP0R0_EL2 = sys_reg(3, 4, 12, 8, 0);
const SYS_ICH_AP0R1_EL2 = sys_reg(3, 4, 12, 8, 1);
const SYS_ICH_AP0R2_EL2 = sys_reg(3, 4, 12, 8, 2);
const SYS_ICH_AP0R3_EL2 = sys_reg(3, 4, 12, 8, 3);
const SYS_ICH_AP1R0_EL2 = sys_reg(3, 4, 12, 9, 0);
const SYS_ICH_AP1R1_EL2 = sys_reg(3, 4, 12, 9, 1);
const SYS_ICH_AP1R2_EL2 = sys_reg(3, 4, 12, 9, 2);
const SYS_ICH_AP1R3_EL2 = sys_reg(3, 4, 12, 9, 3);
const SYS_ICH_HCR_EL2 = sys_reg(3, 4, 12, 11, 0);
const SYS_ICC_SRE_EL2 = sys_reg(3, 4, 12, 9, 5);
const SYS_ICH_VTR_EL2 = sys_reg(3, 4, 12, 11, 1);
const SYS_ICH_VMCR_EL2 = sys_reg(3, 4, 12, 11, 7);
const SYS_ICH_LR_EL2 = (n: number): number => sys_reg(3, 4, 12, 12 + (n >> 3), n & 7);

/* arm-gic-v3.h / sysreg fields */
const ICC_CTLR_EL1_PRI_BITS_SHIFT = 8n;
const ICC_CTLR_EL1_PRI_BITS_MASK = 0x7n << ICC_CTLR_EL1_PRI_BITS_SHIFT;
const ICH_VTR_EL2_PRIbits = 0x7n << 29n; /* GENMASK(31, 29) */

/* FIELD_GET(mask, val) for a u64 value */
function FIELD_GET(mask: bigint, val: bigint): number {
  let shift = 0n;
  while (((mask >> shift) & 1n) === 0n) shift++;
  return Number((val & mask) >> shift);
}

function PACK_SR(r: number): number {
  return (sys_reg_Op0(r) << 14) |
         (sys_reg_Op1(r) << 11) |
         (sys_reg_CRn(r) << 7) |
         (sys_reg_CRm(r) << 3) |
         sys_reg_Op2(r);
}

const SR = (name: string, encoding: number): SrDef => ({ name, encoding });

const sysregsEl1: readonly SrDef[] = [
  SR('SYS_ICC_PMR_EL1', SYS_ICC_PMR_EL1),
  SR('SYS_ICC_BPR0_EL1', SYS_ICC_BPR0_EL1),
  SR('SYS_ICC_AP0R0_EL1', SYS_ICC_AP0R0_EL1),
  SR('SYS_ICC_AP0R1_EL1', SYS_ICC_AP0R1_EL1),
  SR('SYS_ICC_AP0R2_EL1', SYS_ICC_AP0R2_EL1),
  SR('SYS_ICC_AP0R3_EL1', SYS_ICC_AP0R3_EL1),
  SR('SYS_ICC_AP1R0_EL1', SYS_ICC_AP1R0_EL1),
  SR('SYS_ICC_AP1R1_EL1', SYS_ICC_AP1R1_EL1),
  SR('SYS_ICC_AP1R2_EL1', SYS_ICC_AP1R2_EL1),
  SR('SYS_ICC_AP1R3_EL1', SYS_ICC_AP1R3_EL1),
  SR('SYS_ICC_BPR1_EL1', SYS_ICC_BPR1_EL1),
  SR('SYS_ICC_CTLR_EL1', SYS_ICC_CTLR_EL1),
  SR('SYS_ICC_SRE_EL1', SYS_ICC_SRE_EL1),
  SR('SYS_ICC_IGRPEN0_EL1', SYS_ICC_IGRPEN0_EL1),
  SR('SYS_ICC_IGRPEN1_EL1', SYS_ICC_IGRPEN1_EL1),
];

const sysregsEl2: readonly SrDef[] = [
  SR('SYS_ICH_AP0R0_EL2', SYS_ICH_AP0R0_EL2),
  SR('SYS_ICH_AP0R1_EL2', SYS_ICH_AP0R1_EL2),
  SR('SYS_ICH_AP0R2_EL2', SYS_ICH_AP0R2_EL2),
  SR('SYS_ICH_AP0R3_EL2', SYS_ICH_AP0R3_EL2),
  SR('SYS_ICH_AP1R0_EL2', SYS_ICH_AP1R0_EL2),
  SR('SYS_ICH_AP1R1_EL2', SYS_ICH_AP1R1_EL2),
  SR('SYS_ICH_AP1R2_EL2', SYS_ICH_AP1R2_EL2),
  SR('SYS_ICH_AP1R3_EL2', SYS_ICH_AP1R3_EL2),
  SR('SYS_ICH_HCR_EL2', SYS_ICH_HCR_EL2),
  SR('SYS_ICC_SRE_EL2', SYS_ICC_SRE_EL2),
  SR('SYS_ICH_VTR_EL2', SYS_ICH_VTR_EL2),
  SR('SYS_ICH_VMCR_EL2', SYS_ICH_VMCR_EL2),
  ...Array.from({ length: 16 }, (_, n) => SR(`SYS_ICH_LR${n}_EL2`, SYS_ICH_LR_EL2(n))),
];

type SrCheck = (gic: number, sr: SrDef, what: string) => number;

function testSysregArray(gic: number, sr: readonly SrDef[], nr: number, chk: SrCheck): void {
  for (let i = 0; i < nr; i++) {
    const s = sr[i]!;
    const val = u64();
    let ret: number;

    /* Assume MPIDR_EL1.Aff*=0 */
    const attr = PACK_SR(s.encoding);

    /*
     * The API is braindead. A register can be advertised as
     * available, and yet not be readable or writable.
     * ICC_APnR{1,2,3}_EL1 are examples of such non-sense, and
     * ICH_APnR{1,2,3}_EL2 do follow suit for consistency.
     *
     * On the bright side, no known HW is implementing more than
     * 5 bits of priority, so we're safe. Sort of...
     */
    ret = __kvmHasDeviceAttr(gic, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr);
    check(ret === 0, '%s unavailable', s.name);

    /* Check that we can write back what we read */
    ret = __kvmDeviceAttrGet(gic, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, val);
    check(ret === 0 || !chk(gic, s, 'read'), '%s unreadable', s.name);
    ret = __kvmDeviceAttrSet(gic, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, val);
    check(ret === 0 || !chk(gic, s, 'write'), '%s unwritable', s.name);
  }
}

function getCtlrPribits(gic: number): number {
  const val = u64();

  const ret = __kvmDeviceAttrGet(gic, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
                                 PACK_SR(SYS_ICC_CTLR_EL1), val);
  check(ret === 0, 'ICC_CTLR_EL1 unreadable');

  const pri = (FIELD_GET(ICC_CTLR_EL1_PRI_BITS_MASK, val.value) + 1) & 0xff; /* u8 */
  check(pri >= 5 && pri <= 7, 'Bad pribits %d', pri);

  return pri;
}

function checkUnaccessibleEl1Regs(gic: number, sr: SrDef, what: string): number {
  switch (sr.encoding) {
  case SYS_ICC_AP0R1_EL1:
  case SYS_ICC_AP1R1_EL1:
    if (getCtlrPribits(gic) >= 6)
      return -EINVAL;
    break;
  case SYS_ICC_AP0R2_EL1:
  case SYS_ICC_AP0R3_EL1:
  case SYS_ICC_AP1R2_EL1:
  case SYS_ICC_AP1R3_EL1:
    if (getCtlrPribits(gic) === 7)
      return 0;
    break;
  default:
    return -EINVAL;
  }

  printInfo('SKIP %s for %s', sr.name, what);
  return 0;
}

function getVtrPribits(gic: number): number {
  const val = u64();

  const ret = __kvmDeviceAttrGet(gic, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
                                 PACK_SR(SYS_ICH_VTR_EL2), val);
  check(ret === 0, 'ICH_VTR_EL2 unreadable');

  const pri = (FIELD_GET(ICH_VTR_EL2_PRIbits, val.value) + 1) & 0xff; /* u8 */
  check(pri >= 5 && pri <= 7, 'Bad pribits %d', pri);

  return pri;
}

function checkUnaccessibleEl2Regs(gic: number, sr: SrDef, what: string): number {
  switch (sr.encoding) {
  case SYS_ICH_AP0R1_EL2:
  case SYS_ICH_AP1R1_EL2:
    if (getVtrPribits(gic) >= 6)
      return -EINVAL;
    break;
  case SYS_ICH_AP0R2_EL2:
  case SYS_ICH_AP0R3_EL2:
  case SYS_ICH_AP1R2_EL2:
  case SYS_ICH_AP1R3_EL2:
    if (getVtrPribits(gic) === 7)
      return -EINVAL;
    break;
  default:
    return -EINVAL;
  }

  printInfo('SKIP %s for %s', sr.name, what);
  return 0;
}

/*
 * Not in the kernel file: the emulated host's priority bits (ICH_VTR_EL2.PRIbits on
 * real hardware), from VGIC_PRI_BITS (5, 6 or 7; default 5). Only the
 * test_v3_sysregs VM uses it, so the APnR tolerance logic can be run for every
 * value (5: AP*R1-3 fail; 6: AP*R2-3 fail; 7: none fail).
 */
function sysregsPriBits(): 5 | 6 | 7 {
  const s = process.env['VGIC_PRI_BITS'];
  if (s === undefined || s === '')
    return 5;
  if (s === '5' || s === '6' || s === '7')
    return Number(s) as 5 | 6 | 7;
  throw new Error(`VGIC_PRI_BITS must be 5, 6 or 7, not '${s}'`);
}

/* API gap: no kvmCheckCap(); EL2 (NV) is not modelled, so KVM_CAP_ARM_EL2 is 0. */
const KVM_CAP_ARM_EL2_PRESENT: number = 0;
const KVM_ARM_VCPU_HAS_EL2 = 7;

function testV3Sysregs(): void {
  let feat = 0;

  if (KVM_CAP_ARM_EL2_PRESENT) /* kvm_check_cap(KVM_CAP_ARM_EL2) */
    feat |= 1 << KVM_ARM_VCPU_HAS_EL2;

  const vm = vmCreate(1, { priBits: sysregsPriBits() });

  /*
   * vm_ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init); init.features[0] |= feat;
   * vcpu = aarch64_vcpu_add(vm, 0, &init, NULL);
   * API gap: no explicit kvm_vcpu_init; feat is always 0 here.
   */
  const vcpu: KvmVcpu | null | undefined = vmVcpuAdd(vm, 0);
  check(vcpu !== null && vcpu !== undefined, "Can't create a vcpu?");

  const gic = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  check(gic >= 0, 'No GIC???');

  kvmDeviceAttrSet(gic, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  testSysregArray(gic, sysregsEl1, sysregsEl1.length, checkUnaccessibleEl1Regs);
  if (feat)
    testSysregArray(gic, sysregsEl2, sysregsEl2.length, checkUnaccessibleEl2Regs);
  else
    printInfo('SKIP EL2 registers, not available');

  close(gic);
  kvmVmFree(vm);
}

/* ---- run_tests / main --------------------------------------------------- */

type Case = SelftestCase;

const gicName = (t: number): string => (VGIC_DEV_IS_V3(t) ? 'v3' : 'v2');

/*
 * One TAP subtest per kernel test function, named "v3: test_vcpus_then_vgic";
 * prints the number of checks that ran.
 */
function counted(gicDevType: number, fname: string, fn: () => void,
                 expectFail?: SelftestCase['expectFail']): Case {
  return {
    name: `${gicName(gicDevType)}: ${fname}`,
    run: () => {
      nrChecks = 0;
      fn();
      printInfo('%s: %d checks', fname, nrChecks);
    },
    ...(expectFail ? { expectFail } : {}),
  };
}

/*
 * Not in the kernel file: the host-kernel profiles on which a case is expected to fail.
 * test_v3_nassgicap reads and writes GICD_TYPER2 before CTRL_INIT, which kernels before
 * reg_allowed_pre_init() (f26e6af75782, 6.17) refuse with EBUSY.
 */
const nassgicapXfail = (p: HostProfile): string | undefined =>
  p.v3PreInitRegs ? undefined : 'GICD_TYPER2 access before CTRL_INIT is EBUSY before reg_allowed_pre_init (6.17)';

function runTests(gicDevType: number): Case[] {
  const cases: Case[] = [
    counted(gicDevType, 'test_vcpus_then_vgic', () => testVcpusThenVgic(gicDevType)),
    counted(gicDevType, 'test_vgic_then_vcpus', () => testVgicThenVcpus(gicDevType)),
  ];

  if (VGIC_DEV_IS_V2(gicDevType))
    cases.push(counted(gicDevType, 'test_v2_uaccess_cpuif_no_vcpus', testV2UaccessCpuifNoVcpus));

  if (VGIC_DEV_IS_V3(gicDevType)) {
    cases.push(
      counted(gicDevType, 'test_v3_new_redist_regions', testV3NewRedistRegions),
      counted(gicDevType, 'test_v3_typer_accesses', testV3TyperAccesses),
      counted(gicDevType, 'test_v3_last_bit_redist_regions', testV3LastBitRedistRegions),
      counted(gicDevType, 'test_v3_last_bit_single_rdist', testV3LastBitSingleRdist),
      counted(gicDevType, 'test_v3_redist_ipa_range_check_at_vcpu_run',
              testV3RedistIpaRangeCheckAtVcpuRun),
      counted(gicDevType, 'test_v3_its_region', testV3ItsRegion),
      counted(gicDevType, 'test_v3_sysregs', testV3Sysregs),
      counted(gicDevType, 'test_v3_nassgicap', testV3Nassgicap, nassgicapXfail),
    );
  }
  return cases;
}

/*
 * main() is "ret = test_kvm_device(t); if (!ret) { pr_info(...); run_tests(t); }" for
 * V3 then V2. A TAP case list is fixed before the first case runs, and a skip ends the
 * whole selftest (ksft_exit_skip), so whether a GIC type exists is first asked with
 * the same KVM_CREATE_DEVICE_TEST that test_kvm_device() uses; test_kvm_device() then
 * runs as the type's first case and its result is asserted (a harness check, not
 * counted as a kernel check).
 */
function testKvmDeviceCase(gicDevType: number): Case {
  const fname = 'test_kvm_device';
  return {
    name: `${gicName(gicDevType)}: ${fname}`,
    run: () => {
      nrChecks = 0;
      const ret = testKvmDevice(gicDevType);
      printInfo('%s: %d checks', fname, nrChecks);
      if (ret)
        testFail('test_kvm_device(%d) returned %d but the device can be test-created',
                 gicDevType, ret);
      printInfo('Running GIC_%s tests.', gicName(gicDevType));
    },
  };
}

function main(): void {
  const cases: Case[] = [];

  testDisableDefaultVgic();

  /*
   * max_phys_size = 1ULL << vm_guest_mode_params[VM_MODE_DEFAULT].pa_bits: the IPA
   * size is a VM property here, read from a VM with default options.
   */
  const probe = vmCreateBarebones();
  maxPhysSize = probe.maxPhysSize();

  for (const t of [KVM_DEV_TYPE_ARM_VGIC_V3, KVM_DEV_TYPE_ARM_VGIC_V2]) {
    if (__kvmTestCreateDevice(probe, t))
      continue;
    cases.push(testKvmDeviceCase(t), ...runTests(t));
  }
  kvmVmFree(probe);

  if (!cases.length) {
    cases.push({
      name: 'main',
      run: () => {
        printSkip('No GICv2 nor GICv3 support');
        testRequire(false, 'GICv2 or GICv3 (exit(KSFT_SKIP))');
      },
    });
  }

  selftest('vgic_init', cases);
}

main();
