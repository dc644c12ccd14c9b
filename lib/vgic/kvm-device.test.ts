// The vGIC device attribute API, group by group: ADDR, NR_IRQS, CTRL, DIST/REDIST/CPU_REGS,
// LEVEL_INFO, MAINT_IRQ and has_attr. Each test asserts the exact errno and that a refused
// call left the state as it was. Expected values: reference vgic-kvm-semantics.md §1.3-1.9,
// checked against vgic-kvm-device.c (kvm_vgic_addr, vgic_check_iorange, vgic_set_common_attr,
// vgic_get_common_attr, vgic_v{2,3}_attr_regs_access, vgic_v3_parse_attr, vgic_v{2,3}_has_attr),
// vgic-mmio-v3.c (vgic_v3_alloc_redist_region, vgic_v3_has_attr_regs,
// vgic_v3_line_level_info_uaccess) and vgic-mmio.c (vgic_uaccess, vgic_{read,write}_irq_line_level_info).

import t from '../../test/tap.ts';
import {
  E2BIG,
  EBUSY,
  EEXIST,
  EFAULT,
  EINVAL,
  ENOENT,
  ENXIO,
  GICC_PMR,
  GICD_CTLR,
  GICD_ICFGR,
  GICD_IIDR,
  GICD_ISENABLER,
  GICD_TYPER,
  GICD_TYPER2,
  GICR_CTLR,
  GICR_TYPER,
  ICC_PMR_EL1,
  KVM_DEV_ARM_ITS_CTRL_RESET,
  KVM_DEV_ARM_ITS_RESTORE_TABLES,
  KVM_DEV_ARM_ITS_SAVE_TABLES,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_ITS_REGS,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES,
  KVM_DEV_TYPE_ARM_VGIC_ITS,
  KVM_DEV_TYPE_ARM_VGIC_V2,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_VGIC_ITS_ADDR_TYPE,
  KVM_VGIC_V2_ADDR_TYPE_CPU,
  KVM_VGIC_V2_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  __vmVcpuAdd,
  kvmCreateDevice,
  u32,
  u64,
  vmCreateBarebones,
  vmVcpuAdd,
} from '../host/index.ts';
import {
  RDIST_STRIDE,
  SGI_FRAME,
  TEST_PROFILE,
  V2_CPU_BASE,
  V2_DIST_BASE,
  V3_DIST_BASE,
  V3_RDIST_BASE,
  addrGet,
  addrSet,
  bareGic,
  cpuGet,
  cpuSet,
  ctrlSet,
  distGet,
  distSet,
  hex,
  nrIrqsGet,
  nrIrqsSet,
  rdAttr,
  rdGet,
  rdRegion,
  rdSet,
  sysregGet,
  v2Attr,
  v2DistGet,
  v2DistSet,
  v2Vm,
  v3Vm,
} from '../../test/support/vgic.ts';

const UNDEF = 0xffffffffffffffffn; // VGIC_ADDR_UNDEF as userspace reads it
const V3 = KVM_DEV_TYPE_ARM_VGIC_V3;
const V2 = KVM_DEV_TYPE_ARM_VGIC_V2;
const GRP = {
  ADDR: KVM_DEV_ARM_VGIC_GRP_ADDR,
  DIST: KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  CPU: KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
  NR: KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  CTRL: KVM_DEV_ARM_VGIC_GRP_CTRL,
  REDIST: KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  SYSREGS: KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  LEVEL: KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  ITS: KVM_DEV_ARM_VGIC_GRP_ITS_REGS,
  MAINT: KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ,
};

/** LEVEL_INFO attr: MPIDR << 32 | info << 10 | intid (ref §1.8). */
const levelAttr = (mpidr: number, intid: number, info = 0): bigint =>
  (BigInt(mpidr) << 32n) | (BigInt(info) << 10n) | BigInt(intid);
function levelGet(fd: number, attr: bigint): { ret: number; value: number } {
  const b = u32(0xdeadbeef);
  const ret = __kvmDeviceAttrGet(fd, GRP.LEVEL, attr, b);
  return { ret, value: b.value };
}
const levelSet = (fd: number, attr: bigint, v: number): number => __kvmDeviceAttrSet(fd, GRP.LEVEL, attr, u32(v));

// =====================================================================================================
// KVM_DEV_ARM_VGIC_GRP_ADDR (ref §1.3)
// =====================================================================================================

t.test('ADDR: misaligned bases are EINVAL and leave the address unset', (t) => {
  const v3 = bareGic(V3, 1);
  // vgic_check_iorange: !IS_ALIGNED(addr, alignment) -> EINVAL; 64K for v3 frames, 4K for v2
  for (const a of [0x8000, 0x1000, 0x10001, 0xfff0000 + 0x800]) {
    t.equal(addrSet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_DIST, a), -EINVAL, `v3 DIST ${hex(a)}: EINVAL`);
    t.equal(addrSet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, a), -EINVAL, `v3 legacy REDIST ${hex(a)}: EINVAL`);
  }
  t.equal(addrGet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_DIST).value, UNDEF, 'v3 DIST still undefined');
  t.equal(addrGet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST).value, UNDEF, 'no redist region');
  const v2 = bareGic(V2, 1);
  for (const a of [0x800, 0x1001, 0x8000100]) {
    t.equal(addrSet(v2.fd, KVM_VGIC_V2_ADDR_TYPE_DIST, a), -EINVAL, `v2 DIST ${hex(a)}: EINVAL`);
    t.equal(addrSet(v2.fd, KVM_VGIC_V2_ADDR_TYPE_CPU, a), -EINVAL, `v2 CPU ${hex(a)}: EINVAL`);
  }
  t.equal(addrGet(v2.fd, KVM_VGIC_V2_ADDR_TYPE_DIST).value, UNDEF, 'v2 DIST still undefined');
  t.equal(addrGet(v2.fd, KVM_VGIC_V2_ADDR_TYPE_CPU).value, UNDEF, 'v2 CPU still undefined');
  t.equal(addrSet(v2.fd, KVM_VGIC_V2_ADDR_TYPE_CPU, 0x1000), 0, 'v2 CPU frame needs only 4K alignment');
  t.end();
});

t.test('ADDR: setting a base twice is EEXIST and keeps the first', (t) => {
  const v3 = bareGic(V3, 1);
  t.equal(addrSet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_DIST, 0x100000), 0, 'v3 DIST');
  t.equal(addrSet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_DIST, 0x200000), -EEXIST, 'v3 DIST again: EEXIST');
  t.equal(addrSet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_DIST, 0x100000), -EEXIST, 'even the same value: EEXIST');
  t.equal(addrSet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_DIST, 0x8000), -EEXIST, 'EEXIST is checked before alignment');
  t.equal(hex(addrGet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_DIST).value), hex(0x100000n), 'first value kept');
  // vgic_v3_alloc_redist_region: a second legacy region -> EEXIST (ref §1.3)
  t.equal(addrSet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x400000), 0, 'legacy REDIST');
  t.equal(addrSet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x800000), -EEXIST, 'legacy REDIST again: EEXIST');
  t.equal(hex(addrGet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST).value), hex(0x400000n), 'first region kept');
  const v2 = bareGic(V2, 1);
  t.equal(addrSet(v2.fd, KVM_VGIC_V2_ADDR_TYPE_DIST, V2_DIST_BASE), 0, 'v2 DIST');
  t.equal(addrSet(v2.fd, KVM_VGIC_V2_ADDR_TYPE_DIST, 0), -EEXIST, 'v2 DIST again: EEXIST');
  t.equal(addrSet(v2.fd, KVM_VGIC_V2_ADDR_TYPE_CPU, V2_CPU_BASE), 0, 'v2 CPU');
  t.equal(addrSet(v2.fd, KVM_VGIC_V2_ADDR_TYPE_CPU, 0), -EEXIST, 'v2 CPU again: EEXIST');
  const its = kvmCreateDevice(v3.vm, KVM_DEV_TYPE_ARM_VGIC_ITS);
  t.equal(addrSet(its, KVM_VGIC_ITS_ADDR_TYPE, 0x1000000), 0, 'ITS base');
  t.equal(addrSet(its, KVM_VGIC_ITS_ADDR_TYPE, 0x2000000), -EEXIST, 'ITS base again: EEXIST');
  t.end();
});

t.test('ADDR: a frame beyond the IPA space is E2BIG, for several IPA sizes', (t) => {
  // vgic_check_iorange: addr & ~kvm_phys_mask || addr + size > kvm_phys_size -> E2BIG
  for (const ipaBits of [32, 36, 40, 44, 48]) {
    const top = 1n << BigInt(ipaBits);
    const vm = vmCreateBarebones({ profile: TEST_PROFILE, ipaBits });
    vmVcpuAdd(vm, 0);
    const fd = kvmCreateDevice(vm, V3);
    t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, top), -E2BIG, `${ipaBits} bits: DIST at 2^${ipaBits}: E2BIG`);
    t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(2, top - 0x20000n)), -E2BIG,
      `${ipaBits} bits: a 2-redist region whose second half is beyond: E2BIG`);
    t.equal(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 0).ret, -ENOENT, 'the refused region was not added');
    t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, top - 0x10000n), 0, `${ipaBits} bits: DIST ending exactly at 2^${ipaBits}`);
    t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, top - 0x30000n)), 0, `${ipaBits} bits: a region just below the DIST`);
    const v2vm = vmCreateBarebones({ profile: TEST_PROFILE, ipaBits });
    const v2fd = kvmCreateDevice(v2vm, V2);
    t.equal(addrSet(v2fd, KVM_VGIC_V2_ADDR_TYPE_CPU, top - 0x1000n), -E2BIG, `${ipaBits} bits: 8K CPU frame at top-4K: E2BIG`);
    t.equal(addrSet(v2fd, KVM_VGIC_V2_ADDR_TYPE_CPU, top - 0x2000n), 0, `${ipaBits} bits: CPU frame at top-8K`);
  }
  t.end();
});

t.test('ADDR: a base whose frame wraps the 64-bit space is EINVAL, not E2BIG', (t) => {
  const { fd } = bareGic(V3, 1);
  // vgic_check_iorange: "if (addr + size < addr) return -EINVAL" comes before the IPA check
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, 0xffffffffffff0000n), -EINVAL, 'DIST at 2^64-64K: EINVAL');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, 0xfffffffffff00000n), -E2BIG, 'DIST at 2^64-1M: no wrap, E2BIG');
  t.equal(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST).value, UNDEF, 'still undefined');
  t.end();
});

t.test('ADDR: a type of the other model, or an unknown type, is ENXIO for set, get and has', (t) => {
  const v3 = bareGic(V3, 1);
  const v2 = bareGic(V2, 1);
  // kvm_vgic_addr: vgic_check_type -> ENODEV, or default -> ENODEV; vgic_{set,get}_common_attr
  // turn ENODEV into ENXIO (ref §1.3)
  const cases: Array<[number, number, string]> = [
    [v3.fd, KVM_VGIC_V2_ADDR_TYPE_DIST, 'v3 + V2_DIST'],
    [v3.fd, KVM_VGIC_V2_ADDR_TYPE_CPU, 'v3 + V2_CPU'],
    [v3.fd, KVM_VGIC_ITS_ADDR_TYPE, 'v3 + ITS type'],
    [v3.fd, 6, 'v3 + type 6'],
    [v2.fd, KVM_VGIC_V3_ADDR_TYPE_DIST, 'v2 + V3_DIST'],
    [v2.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, 'v2 + V3_REDIST'],
    [v2.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 'v2 + V3_REDIST_REGION'],
    [v2.fd, 0xffff, 'v2 + type 0xffff'],
  ];
  for (const [fd, type, what] of cases) {
    t.equal(addrSet(fd, type, 0x100000), -ENXIO, `${what}: set ENXIO`);
    t.equal(addrGet(fd, type).ret, -ENXIO, `${what}: get ENXIO`);
    t.equal(__kvmHasDeviceAttr(fd, GRP.ADDR, type), -ENXIO, `${what}: has ENXIO`);
  }
  t.equal(__kvmDeviceAttrSet(v3.fd, GRP.ADDR, 0x8000000000000002n, u64(0x100000)), -ENXIO, 'v3: V3_DIST with bit 63 set is another type: ENXIO');
  t.equal(addrGet(v3.fd, KVM_VGIC_V3_ADDR_TYPE_DIST).value, UNDEF, 'no DIST was set by any of it');
  t.end();
});

t.test('ADDR: legacy REDIST and REDIST_REGION mixing', (t) => {
  // vgic_v3_alloc_redist_region (vgic-mmio-v3.c): "Don't mix single region and discrete redist
  // regions": a legacy region after a counted one is EINVAL...
  let g = bareGic(V3, 1);
  t.equal(addrSet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x200000)), 0, 'counted region 0');
  t.equal(addrSet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x400000), -EINVAL, 'then legacy: EINVAL');
  t.equal(hex(addrGet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST).value), hex(0x200000n), 'legacy read shows region 0 base');
  // ...a legacy region after a legacy one is EEXIST...
  g = bareGic(V3, 1);
  t.equal(addrSet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x200000), 0, 'legacy region');
  t.equal(addrSet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x400000), -EEXIST, 'legacy again: EEXIST');
  // ...and a counted region after a legacy one must still be index last+1 = 1: index 0 is EINVAL,
  // but index 1 is accepted (the kernel has no "counted after legacy" check; the reference's
  // "either way round" is not what the code does).
  t.equal(addrSet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x800000, 0)), -EINVAL, 'counted index 0 after legacy: EINVAL');
  t.equal(addrSet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x800000, 1)), 0, 'counted index 1 after legacy: accepted');
  t.equal(hex(addrGet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 1).value), hex(rdRegion(1, 0x800000, 1)), 'region 1 reads back');
  const r0 = addrGet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 0);
  t.same([r0.ret, hex(r0.value)], [0, hex(0x200000n)], 'the legacy region reads as index 0, count 0');
  t.end();
});

t.test('ADDR: REDIST_REGION with flags or a zero count is EINVAL before any other check', (t) => {
  const { fd } = bareGic(V3, 1);
  // kvm_vgic_addr: "if (!count || flags) r = -EINVAL" before vgic_v3_set_redist_base (ref §1.3)
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(0, 0x200000)), -EINVAL, 'count 0: EINVAL');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x200000, 0, 1)), -EINVAL, 'flags 1: EINVAL');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x200000, 0, 8)), -EINVAL, 'flags 8: EINVAL');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(0, 0, 7, 0xf)), -EINVAL, 'count 0 + flags + bad index: EINVAL');
  t.equal(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 0).ret, -ENOENT, 'no region added');
  t.end();
});

t.test('ADDR: REDIST_REGION index rules', (t) => {
  const { fd } = bareGic(V3, 1);
  // first region must be index 0; then last index + 1 (vgic_v3_alloc_redist_region)
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x200000, 1)), -EINVAL, 'first region index 1: EINVAL');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x200000, 0)), 0, 'index 0');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x400000, 0)), -EINVAL, 'index 0 again: EINVAL');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x400000, 2)), -EINVAL, 'skip to index 2: EINVAL');
  // the index is a u8 in kvm_vgic_addr: 0x101 is index 1
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x400000, 0x101)), 0, 'index 0x101 = index 1');
  t.equal(hex(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 1).value), hex(rdRegion(1, 0x400000, 1)), 'stored as index 1');
  t.equal(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 2).ret, -ENOENT, 'no index 2');
  t.end();
});

t.test('ADDR: REDIST_REGION overlaps are EINVAL', (t) => {
  const { fd } = bareGic(V3, 1);
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(2, 0x200000, 0)), 0, 'region 0: 0x200000, 2 redists');
  // collision with any other rdist region -> EINVAL (vgic_v3_rdist_overlap)
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x220000, 1)), -EINVAL, 'inside region 0: EINVAL');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(2, 0x1f0000, 1)), -EINVAL, 'straddling its start: EINVAL');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, 0x240000, 1)), 0, 'adjacent after it: accepted');
  // a legacy region over an already-set distributor -> EINVAL (newer kernels, ref §1.3)
  const g = bareGic(V3, 2);
  t.equal(addrSet(g.fd, KVM_VGIC_V3_ADDR_TYPE_DIST, 0x210000), 0, 'DIST at 0x210000');
  t.equal(addrSet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x200000), -EINVAL, 'legacy region (2 x 128K) over the DIST: EINVAL');
  t.equal(addrGet(g.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST).value, UNDEF, 'not added');
  t.end();
});

t.test('ADDR: a counted region colliding with the DIST when vCPUs are placed is EINVAL and removed', (t) => {
  const { fd, vm } = bareGic(V3, 2);
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, 0x220000), 0, 'DIST');
  // vgic_v3_set_redist_base: the region is added, then vgic_register_redist_iodev for each vCPU
  // fails vgic_v3_check_base -> the region is freed and EINVAL returned (ref §1.3; selftest
  // "register redist region colliding with dist")
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(2, 0x200000)), -EINVAL, 'EINVAL');
  t.equal(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 0).ret, -ENOENT, 'region removed');
  t.equal(vm.dist.vcpus.every((v) => v.rdreg === null), true, 'no vCPU kept a redistributor');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(2, 0x400000)), 0, 'index 0 is free again');
  t.end();
});

t.test('ADDR: reads', (t) => {
  const { fd } = bareGic(V3, 1);
  // unset DIST / legacy REDIST read VGIC_ADDR_UNDEF (ref §1.3)
  t.same([addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST).ret, addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST).value], [0, UNDEF], 'unset DIST: all-ones');
  t.equal(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST).value, UNDEF, 'no region: legacy read all-ones');
  // a missing region index -> ENOENT, and the buffer is not written
  const miss = addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 3);
  t.same([miss.ret, miss.value], [-ENOENT, 3n], 'missing index 3: ENOENT, buffer keeps the index');
  addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(5, 0x1230000n, 0));
  addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(0xfff, 0x10_0000_0000n, 1));
  // value = index | base | count << 52 (kvm_vgic_addr)
  t.equal(hex(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 0).value), hex(0x0050000001230000n), 'region 0: count 5, base 0x1230000');
  t.equal(hex(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 1).value), hex(0xfff0001000000001n), 'region 1: count 0xfff, index 1');
  // only the index bits of the read buffer matter, and the index is a u8
  t.equal(hex(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 0xabcdef0000000101n).value), hex(0xfff0001000000001n), 'junk above the index, index 0x101: region 1');
  t.equal(hex(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST).value), hex(0x1230000n), 'legacy read: first region base');
  t.end();
});

t.test('ADDR: NULL and 32-bit buffers are EFAULT; the type check comes after get_user', (t) => {
  const { fd } = bareGic(V3, 1);
  // kvm_vgic_addr: get_user (write, or REDIST_REGION read) first -> EFAULT; put_user at the end
  t.equal(__kvmDeviceAttrSet(fd, GRP.ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, null), -EFAULT, 'set DIST, NULL: EFAULT');
  t.equal(__kvmDeviceAttrSet(fd, GRP.ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, u32(0x100000)), -EFAULT, 'set DIST, 32-bit buffer: EFAULT');
  t.equal(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST).value, UNDEF, 'nothing set');
  t.equal(__kvmDeviceAttrSet(fd, GRP.ADDR, 6, null), -EFAULT, 'set unknown type, NULL: EFAULT (get_user first)');
  t.equal(__kvmDeviceAttrGet(fd, GRP.ADDR, 6, null), -ENXIO, 'get unknown type, NULL: ENXIO (no get_user for it)');
  t.equal(__kvmDeviceAttrGet(fd, GRP.ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, null), -EFAULT, 'get DIST, NULL: EFAULT (put_user)');
  t.equal(__kvmDeviceAttrGet(fd, GRP.ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, null), -EFAULT, 'get REDIST_REGION, NULL: EFAULT (get_user of the index)');
  t.equal(__kvmDeviceAttrSet(fd, GRP.ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, null), -EFAULT, 'set REDIST_REGION, NULL: EFAULT');
  t.equal(addrGet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 0).ret, -ENOENT, 'no region');
  t.end();
});

t.test('ADDR: addresses may be set after INIT (no stage check)', (t) => {
  const { fd } = bareGic(V3, 1);
  t.equal(ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT), 0, 'INIT first');
  // ref §1.3: "No stage check: addresses may be set before or after INIT"
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, V3_DIST_BASE), 0, 'DIST after INIT');
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, V3_RDIST_BASE)), 0, 'region after INIT');
  t.end();
});

// =====================================================================================================
// KVM_DEV_ARM_VGIC_GRP_NR_IRQS (ref §1.4)
// =====================================================================================================

t.test('NR_IRQS: reads 32 before any set', (t) => {
  for (const type of [V3, V2]) {
    const { fd } = bareGic(type, 1);
    // vgic_get_common_attr: nr_spis + VGIC_NR_PRIVATE_IRQS with nr_spis still 0
    t.same([nrIrqsGet(fd).ret, nrIrqsGet(fd).value], [0, 32], `type ${type}: 32`);
  }
  t.end();
});

t.test('NR_IRQS: value checks (min 64, multiple of 32, at most 1023)', (t) => {
  const { fd } = bareGic(V3, 1);
  // val < 64 || val > VGIC_MAX_RESERVED (1023) || val & 31 -> EINVAL (ref §1.4, §8 item 1)
  for (const v of [0, 32, 63, 65, 96 + 1, 100, 1000, 1023, 1024, 2048, 0xffffffff]) {
    t.equal(nrIrqsSet(fd, v), -EINVAL, `${v}: EINVAL`);
  }
  t.equal(nrIrqsGet(fd).value, 32, 'still unset (32)');
  t.equal(nrIrqsSet(fd, 992), 0, '992 (the largest) accepted');
  t.equal(nrIrqsGet(fd).value, 992, 'reads 992');
  const g = bareGic(V3, 1);
  t.equal(nrIrqsSet(g.fd, 64), 0, '64 (the smallest) accepted');
  t.end();
});

t.test('NR_IRQS: a second set is EBUSY even with the same value', (t) => {
  const { fd } = bareGic(V3, 1);
  t.equal(nrIrqsSet(fd, 128), 0, '128');
  // "if (vgic_ready(kvm) || kvm->arch.vgic.nr_spis) ret = -EBUSY"
  t.equal(nrIrqsSet(fd, 128), -EBUSY, '128 again: EBUSY');
  t.equal(nrIrqsSet(fd, 256), -EBUSY, '256: EBUSY');
  t.equal(nrIrqsSet(fd, 1024), -EINVAL, 'an invalid value is still EINVAL (checked first)');
  t.equal(nrIrqsGet(fd).value, 128, 'still 128');
  t.end();
});

t.test('NR_IRQS: after INIT picked the default it is EBUSY; INIT froze 256', (t) => {
  for (const type of [V3, V2]) {
    const { fd } = bareGic(type, 1);
    t.equal(ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT), 0, 'INIT without NR_IRQS');
    // vgic_init: nr_spis = VGIC_NR_IRQS_LEGACY - 32 = 224 (ref §2)
    t.equal(nrIrqsGet(fd).value, 256, `type ${type}: 256`);
    t.equal(nrIrqsSet(fd, 64), -EBUSY, `type ${type}: EBUSY after INIT`);
  }
  t.end();
});

t.test('NR_IRQS: a GICv2 register access initialises it, then NR_IRQS is EBUSY', (t) => {
  const { fd } = bareGic(V2, 1);
  t.equal(cpuGet(fd, 0, GICC_PMR).ret, 0, 'CPU_REGS read (vgic_v2_attr_regs_access calls vgic_init)');
  t.equal(nrIrqsSet(fd, 64), -EBUSY, 'EBUSY');
  t.equal(nrIrqsGet(fd).value, 256, 'the lazy init picked 256');
  t.end();
});

t.test('NR_IRQS: NULL and narrow buffers are EFAULT', (t) => {
  const { fd } = bareGic(V3, 1);
  t.equal(__kvmDeviceAttrSet(fd, GRP.NR, 0, null), -EFAULT, 'set NULL: EFAULT');
  t.equal(__kvmDeviceAttrGet(fd, GRP.NR, 0, null), -EFAULT, 'get NULL: EFAULT');
  t.equal(nrIrqsGet(fd).value, 32, 'still unset');
  t.equal(__kvmDeviceAttrSet(fd, GRP.NR, 0, u64(0xffffffff00000040n)), 0, 'a u64 buffer: get_user reads its low 32 bits (64)');
  t.equal(nrIrqsGet(fd).value, 64, 'reads 64');
  t.end();
});

// =====================================================================================================
// KVM_DEV_ARM_VGIC_GRP_CTRL (ref §1.5)
// =====================================================================================================

t.test('CTRL_INIT is idempotent', (t) => {
  for (const type of [V3, V2]) {
    const { fd, vm } = bareGic(type, 1);
    t.equal(nrIrqsSet(fd, 96), 0, 'NR_IRQS 96');
    t.equal(ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT), 0, 'INIT');
    vm.dist.spis[0]!.priority = 0xa0; // state vgic_init would wipe if it ran again
    t.equal(ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT), 0, 'INIT again: 0 (vgic_init returns 0 when initialised)');
    t.equal(vm.dist.spis[0]!.priority, 0xa0, 'SPI state not reset by the second INIT');
    t.equal(nrIrqsGet(fd).value, 96, 'NR_IRQS kept');
  }
  t.end();
});

t.test('SAVE_PENDING_TABLES: ENXIO on a GICv2 and before INIT, EBUSY with a running vCPU', (t) => {
  const v2 = bareGic(V2, 1);
  ctrlSet(v2.fd, KVM_DEV_ARM_VGIC_CTRL_INIT);
  // vgic_set_common_attr: vgic_check_type(V3) -> ENXIO
  t.equal(ctrlSet(v2.fd, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES), -ENXIO, 'v2: ENXIO');
  const v3 = bareGic(V3, 1);
  // vgic_v3_save_pending_tables: "if (unlikely(!vgic_initialized(kvm))) return -ENXIO"
  t.equal(ctrlSet(v3.fd, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES), -ENXIO, 'v3 before INIT: ENXIO');
  v3.vcpus[0]!.running = true; // another thread inside KVM_RUN holds the vCPU mutex
  t.equal(ctrlSet(v3.fd, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES), -EBUSY, 'v3 with a running vCPU: EBUSY (trylock comes first)');
  v3.vcpus[0]!.running = false;
  ctrlSet(v3.fd, KVM_DEV_ARM_VGIC_CTRL_INIT);
  t.equal(ctrlSet(v3.fd, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES), 0, 'v3 after INIT: 0');
  t.end();
});

t.test('CTRL: unknown attrs are ENXIO, and get_attr(CTRL) is ENXIO', (t) => {
  for (const type of [V3, V2]) {
    const { fd, vm } = bareGic(type, 1);
    // ITS-only controls and unknown attrs fall out of vgic_set_common_attr -> ENXIO
    for (const a of [KVM_DEV_ARM_ITS_SAVE_TABLES, KVM_DEV_ARM_ITS_RESTORE_TABLES, KVM_DEV_ARM_ITS_CTRL_RESET, 5, 0x100000000n, 0xffffffffffffffffn]) {
      t.equal(ctrlSet(fd, a), -ENXIO, `type ${type}, CTRL attr ${a}: ENXIO`);
    }
    t.equal(vm.dist.initialized, false, 'nothing initialised');
    // vgic_get_common_attr has no CTRL case
    t.equal(__kvmDeviceAttrGet(fd, GRP.CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, u32()), -ENXIO, `type ${type}: get CTRL_INIT: ENXIO`);
  }
  t.end();
});

// =====================================================================================================
// DIST_REGS / REDIST_REGS / CPU_REGS (ref §1.6)
// =====================================================================================================

t.test('v3 register access before INIT is EBUSY, except GICD_IIDR/TYPER2 on newer kernels', (t) => {
  const { fd, vm } = v3Vm({ init: false });
  // vgic_v3_attr_regs_access: !vgic_initialized && !reg_allowed_pre_init -> EBUSY
  t.equal(distGet(fd, GICD_CTLR).ret, -EBUSY, 'get GICD_CTLR: EBUSY');
  t.equal(distSet(fd, GICD_CTLR, 2), -EBUSY, 'set GICD_CTLR: EBUSY');
  t.equal(rdGet(fd, 0, GICR_TYPER).ret, -EBUSY, 'get GICR_TYPER: EBUSY (selftest "read GICR_TYPER before GIC initialized")');
  t.equal(sysregGet(fd, 0, ICC_PMR_EL1).ret, -EBUSY, 'get ICC_PMR_EL1: EBUSY');
  t.equal(levelGet(fd, levelAttr(0, 32)).ret, -EBUSY, 'get LEVEL_INFO: EBUSY');
  t.equal(vm.dist.enabled, false, 'GICD_CTLR write did not land');
  // reg_allowed_pre_init(): DIST_REGS at GICD_IIDR or GICD_TYPER2, whatever the direction
  t.same([distGet(fd, GICD_IIDR).ret, hex(distGet(fd, GICD_IIDR).value)], [0, hex(0x4b00343b)], 'series-p3: GICD_IIDR readable');
  t.same([distGet(fd, GICD_TYPER2).ret, distGet(fd, GICD_TYPER2).value], [0, 0], 'series-p3: GICD_TYPER2 readable');
  t.equal(distGet(fd, GICD_TYPER).ret, -EBUSY, 'GICD_TYPER is not on the list: EBUSY');
  const old = v3Vm({ init: false, vm: { profile: 'v2-groups-flag' } });
  t.equal(distGet(old.fd, GICD_IIDR).ret, -EBUSY, 'v2-groups-flag (before f26e6af75782): GICD_IIDR EBUSY');
  t.equal(distGet(old.fd, GICD_TYPER2).ret, -EBUSY, 'v2-groups-flag: GICD_TYPER2 EBUSY');
  t.end();
});

t.test('v3 DIST_REGS need vCPU 0; REDIST_REGS and CPU_SYSREGS need a matching MPIDR', (t) => {
  const none = bareGic(V3, 0);
  ctrlSet(none.fd, KVM_DEV_ARM_VGIC_CTRL_INIT);
  // vgic_v3_parse_attr: DIST_REGS use kvm_get_vcpu(kvm, 0) -> NULL -> EINVAL (even for IIDR)
  t.equal(distGet(none.fd, GICD_CTLR).ret, -EINVAL, 'no vCPUs: get GICD_CTLR EINVAL');
  t.equal(distSet(none.fd, GICD_IIDR, 0x4b00343b), -EINVAL, 'no vCPUs: set GICD_IIDR EINVAL');
  t.equal(__kvmHasDeviceAttr(none.fd, GRP.DIST, GICD_CTLR), -EINVAL, 'no vCPUs: has_attr EINVAL (parse first)');
  const { fd } = v3Vm({ nrVcpus: 2 });
  // kvm_mpidr_to_vcpu: no vCPU with that affinity -> EINVAL (get, set and has)
  for (const mpidr of [2, 0x100, 0x10000, 0x01000000, 0xffffffff]) {
    t.equal(rdGet(fd, mpidr, GICR_CTLR).ret, -EINVAL, `REDIST MPIDR ${hex(mpidr)}: get EINVAL`);
    t.equal(rdSet(fd, mpidr, GICR_CTLR, 0), -EINVAL, `REDIST MPIDR ${hex(mpidr)}: set EINVAL`);
    t.equal(__kvmHasDeviceAttr(fd, GRP.REDIST, rdAttr(mpidr, GICR_CTLR)), -EINVAL, `REDIST MPIDR ${hex(mpidr)}: has EINVAL`);
    t.equal(sysregGet(fd, mpidr, ICC_PMR_EL1).ret, -EINVAL, `SYSREGS MPIDR ${hex(mpidr)}: get EINVAL`);
  }
  // DIST_REGS ignore the MPIDR field entirely
  t.equal(__kvmDeviceAttrGet(fd, GRP.DIST, rdAttr(0x12345678, GICD_TYPER), u32()), 0, 'DIST_REGS with junk MPIDR bits: 0');
  t.end();
});

t.test('v3 DIST_REGS use the first-created vCPU (kvm_get_vcpu(kvm, 0)), whatever its id', (t) => {
  const vm = vmCreateBarebones({ profile: TEST_PROFILE });
  vmVcpuAdd(vm, 5);
  const fd = kvmCreateDevice(vm, V3);
  ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT);
  // vgic_v3_parse_attr: DIST_REGS -> kvm_get_vcpu(kvm, 0), i.e. vcpu_idx 0, not vcpu_id 0
  t.same([distGet(fd, GICD_TYPER).ret, hex(distGet(fd, GICD_TYPER).value)], [0, hex(0x00480007)], 'only vCPU id 5: DIST_REGS work (256 IRQs)');
  t.equal(rdGet(fd, 0, GICR_TYPER).ret, -EINVAL, 'REDIST_REGS with MPIDR 0: EINVAL (vCPU 5 has Aff0 5)');
  t.equal(rdGet(fd, 5, GICR_TYPER).ret, 0, 'REDIST_REGS with MPIDR 5: 0');
  t.end();
});

t.test('v3: unknown, unaligned and out-of-range offsets read 0, ignore writes; has_attr is ENXIO', (t) => {
  const { fd, vm } = v3Vm({ nrIrqs: 64 });
  // vgic_uaccess_read/write return 0 when no region matches; only vgic_v3_has_attr_regs says
  // ENXIO (offset & 3, or no region) (ref §1.6, §8 item 2)
  const distOffs = [0x14, GICD_CTLR + 1, GICD_CTLR + 2, GICD_ISENABLER + 5, GICD_ISENABLER + 8, 0x7000, 0xfffc + 4, 0x10000, 0x12345678, 0xffffffff];
  for (const off of distOffs) {
    const r = distGet(fd, off);
    t.same([r.ret, r.value], [0, 0], `DIST ${hex(off)}: get 0 / value 0`);
    t.equal(distSet(fd, off, 0xffffffff), 0, `DIST ${hex(off)}: set 0`);
    t.equal(__kvmHasDeviceAttr(fd, GRP.DIST, off), -ENXIO, `DIST ${hex(off)}: has ENXIO`);
  }
  t.equal(vm.dist.enabled, false, 'GICD_CTLR+1/+2 writes did not enable the distributor');
  t.equal(vm.dist.spis.some((i) => i.enabled), false, 'no SPI enabled by the unaligned ISENABLER write');
  t.equal(hex(distGet(fd, GICD_CTLR).value), hex(0x50), 'GICD_CTLR unchanged');
  const rdOffs = [0x30, GICR_CTLR + 1, SGI_FRAME + 0x800, SGI_FRAME + 0x0c08, 0x20000, 0xffffffff];
  for (const off of rdOffs) {
    const r = rdGet(fd, 0, off);
    t.same([r.ret, r.value], [0, 0], `REDIST ${hex(off)}: get 0 / value 0`);
    t.equal(rdSet(fd, 0, off, 0xffffffff), 0, `REDIST ${hex(off)}: set 0`);
    t.equal(__kvmHasDeviceAttr(fd, GRP.REDIST, rdAttr(0, off)), -ENXIO, `REDIST ${hex(off)}: has ENXIO`);
  }
  for (const off of [GICD_CTLR, GICD_TYPER, GICD_IIDR, GICD_TYPER2, 0x10, GICD_ISENABLER + 4, 0xffe8]) {
    t.equal(__kvmHasDeviceAttr(fd, GRP.DIST, off), 0, `DIST ${hex(off)}: has 0`);
  }
  t.equal(__kvmHasDeviceAttr(fd, GRP.DIST, GICD_ISENABLER + 8), -ENXIO, 'per-IRQ word beyond nr_irqs: has ENXIO');
  t.end();
});

t.test('v2: unknown and out-of-range DIST offsets read 0, ignore writes; has_attr is ENXIO', (t) => {
  const { fd, vm } = v2Vm({ nrIrqs: 64 });
  for (const off of [0x00c, 0x010, 0x0fe8, 0x0fd0, GICD_ISENABLER + 8, 0x1000, 0x2, 0xffffffff]) {
    const r = v2DistGet(fd, 0, off);
    t.same([r.ret, r.value], [0, 0], `v2 DIST ${hex(off)}: get 0 / value 0`);
    t.equal(v2DistSet(fd, 0, off, 0xffffffff), 0, `v2 DIST ${hex(off)}: set 0`);
    t.equal(__kvmHasDeviceAttr(fd, GRP.DIST, v2Attr(0, off)), -ENXIO, `v2 DIST ${hex(off)}: has ENXIO`);
  }
  t.equal(vm.dist.enabled, false, 'CTLR+2 write ignored');
  t.end();
});

t.test('v2: any DIST/CPU register access forces vgic_init (NR_IRQS and vCPU creation then EBUSY)', (t) => {
  for (const access of ['dist-get', 'dist-set', 'cpu-get', 'cpu-set'] as const) {
    const { fd, vm } = bareGic(V2, 1);
    let r: number;
    if (access === 'dist-get') r = v2DistGet(fd, 0, GICD_CTLR).ret;
    else if (access === 'dist-set') r = v2DistSet(fd, 0, 0xfff0, 0); // even an unknown offset
    else if (access === 'cpu-get') r = cpuGet(fd, 0, GICC_PMR).ret;
    else r = cpuSet(fd, 0, GICC_PMR, 0x10);
    t.equal(r, 0, `${access}: 0`);
    // vgic_v2_attr_regs_access calls vgic_init before the access (ref §1.6)
    t.equal(vm.dist.initialized, true, `${access}: initialised`);
    t.equal(nrIrqsSet(fd, 64), -EBUSY, `${access}: NR_IRQS EBUSY`);
    t.equal(__vmVcpuAdd(vm, 1), -EBUSY, `${access}: KVM_CREATE_VCPU EBUSY`);
  }
  t.end();
});

t.test('v2: naming a missing vCPU is EINVAL and does not initialise', (t) => {
  const { fd, vm } = bareGic(V2, 2);
  // vgic_v2_parse_attr: kvm_get_vcpu_by_id NULL -> EINVAL, before vgic_init
  t.equal(v2DistGet(fd, 2, GICD_CTLR).ret, -EINVAL, 'DIST vCPU 2: EINVAL');
  t.equal(cpuSet(fd, 7, GICC_PMR, 1), -EINVAL, 'CPU vCPU 7: EINVAL');
  t.equal(__kvmHasDeviceAttr(fd, GRP.DIST, v2Attr(255, GICD_CTLR)), -EINVAL, 'has vCPU 255: EINVAL');
  t.equal(vm.dist.initialized, false, 'not initialised');
  t.equal(nrIrqsSet(fd, 64), 0, 'NR_IRQS still settable');
  const none = bareGic(V2, 0);
  t.equal(v2DistGet(none.fd, 0, GICD_CTLR).ret, -EINVAL, 'no vCPUs at all: EINVAL (test_v2_uaccess_cpuif_no_vcpus)');
  t.end();
});

t.test('register access: EFAULT ordering against EINVAL and EBUSY', (t) => {
  const none = bareGic(V3, 0);
  // vgic_v3_attr_regs_access: parse (EINVAL) -> get_user (EFAULT) -> trylock (EBUSY) -> init (EBUSY)
  t.equal(__kvmDeviceAttrSet(none.fd, GRP.DIST, GICD_CTLR, null), -EINVAL, 'no vCPU 0 + NULL: EINVAL');
  const { fd, vm } = v3Vm({ init: false });
  t.equal(__kvmDeviceAttrSet(fd, GRP.DIST, GICD_CTLR, null), -EFAULT, 'before INIT, set NULL: EFAULT (get_user first)');
  t.equal(__kvmDeviceAttrGet(fd, GRP.DIST, GICD_CTLR, null), -EBUSY, 'before INIT, get NULL: EBUSY (put_user last)');
  ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT);
  t.equal(__kvmDeviceAttrGet(fd, GRP.DIST, GICD_CTLR, null), -EFAULT, 'after INIT, get NULL: EFAULT');
  t.equal(__kvmDeviceAttrSet(fd, GRP.REDIST, rdAttr(0, GICR_CTLR), null), -EFAULT, 'REDIST set NULL: EFAULT');
  t.equal(__kvmDeviceAttrSet(fd, GRP.LEVEL, levelAttr(0, 32), null), -EFAULT, 'LEVEL_INFO set NULL: EFAULT');
  t.equal(vm.dist.enabled, false, 'nothing written');
  const v2 = bareGic(V2, 1);
  t.equal(__kvmDeviceAttrSet(v2.fd, GRP.DIST, v2Attr(0, GICD_CTLR), null), -EFAULT, 'v2 set NULL: EFAULT');
  t.equal(v2.vm.dist.initialized, false, 'v2: EFAULT comes before vgic_init');
  t.equal(__kvmDeviceAttrGet(v2.fd, GRP.DIST, v2Attr(0, GICD_CTLR), null), -EFAULT, 'v2 get NULL: EFAULT (after the access)');
  t.equal(v2.vm.dist.initialized, true, 'v2: the get initialised before failing put_user');
  t.end();
});

t.test('register access with a vCPU inside KVM_RUN is EBUSY', (t) => {
  const { fd, vcpus } = v3Vm();
  vcpus[0]!.running = true; // another thread in KVM_RUN: kvm_trylock_all_vcpus fails
  t.equal(distGet(fd, GICD_CTLR).ret, -EBUSY, 'v3 DIST get: EBUSY');
  t.equal(distSet(fd, GICD_CTLR, 2), -EBUSY, 'v3 DIST set: EBUSY');
  t.equal(sysregGet(fd, 0, ICC_PMR_EL1).ret, -EBUSY, 'v3 SYSREGS get: EBUSY');
  vcpus[0]!.running = false;
  t.equal(hex(distGet(fd, GICD_CTLR).value), hex(0x50), 'GICD_CTLR unchanged');
  const v2 = bareGic(V2, 1);
  v2.vcpus[0]!.running = true;
  t.equal(v2DistGet(v2.fd, 0, GICD_CTLR).ret, -EBUSY, 'v2 DIST get: EBUSY');
  t.equal(v2.vm.dist.initialized, false, 'v2: EBUSY before vgic_init');
  t.end();
});

// =====================================================================================================
// KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO (ref §1.8)
// =====================================================================================================

t.test('LEVEL_INFO: info != 0 is EINVAL (has_attr ENXIO)', (t) => {
  const { fd } = v3Vm();
  for (const info of [1, 2, 0x3fffff]) {
    t.equal(levelGet(fd, levelAttr(0, 32, info)).ret, -EINVAL, `info ${info}: get EINVAL`);
    t.equal(levelSet(fd, levelAttr(0, 32, info), 0xffffffff), -EINVAL, `info ${info}: set EINVAL`);
    t.equal(__kvmHasDeviceAttr(fd, GRP.LEVEL, levelAttr(0, 32, info)), -ENXIO, `info ${info}: has ENXIO`);
  }
  t.equal(__kvmHasDeviceAttr(fd, GRP.LEVEL, levelAttr(0, 32)), 0, 'info 0: has 0');
  t.equal(__kvmHasDeviceAttr(fd, GRP.LEVEL, levelAttr(0, 33)), 0, 'has does not look at the intid');
  t.end();
});

t.test('LEVEL_INFO: intid not a multiple of 32, or above 1023, is EINVAL', (t) => {
  const { fd, vm } = v3Vm();
  // vgic_v3_line_level_info_uaccess: intid % 32 -> EINVAL
  for (const intid of [1, 16, 33, 63]) {
    t.equal(levelGet(fd, levelAttr(0, intid)).ret, -EINVAL, `intid ${intid}: get EINVAL`);
    t.equal(levelSet(fd, levelAttr(0, intid), 0xffffffff), -EINVAL, `intid ${intid}: set EINVAL`);
  }
  // intid has 10 bits: 1024 spills into the info field -> EINVAL (selftest vgic_irq relies on it)
  t.equal(levelSet(fd, levelAttr(0, 0) | 1024n, 0xffffffff), -EINVAL, 'intid 1024: EINVAL');
  t.equal(vm.dist.spis.some((i) => i.lineLevel), false, 'no line moved');
  t.end();
});

t.test('LEVEL_INFO: SGIs and INTIDs beyond nr_irqs are RAZ/WI', (t) => {
  const { fd, vm } = v3Vm({ nrIrqs: 64 });
  t.equal(levelSet(fd, levelAttr(0, 0), 0xffffffff), 0, 'write all-ones to INTIDs 0-31');
  // vgic_write_irq_line_level_info skips intid < 16; PPIs reset level, so read = level && line
  t.equal(hex(levelGet(fd, levelAttr(0, 0)).value), hex(0xffff0000), 'SGIs WI, PPIs 16-31 read back');
  t.equal(vm.dist.vcpus[0]!.privateIrqs.slice(0, 16).some((i) => i.lineLevel), false, 'no SGI line set');
  t.equal(levelSet(fd, levelAttr(0, 64), 0xffffffff), 0, 'write INTIDs 64-95 (beyond 64): 0');
  t.same([levelGet(fd, levelAttr(0, 64)).ret, levelGet(fd, levelAttr(0, 64)).value], [0, 0], 'read 0');
  t.same([levelGet(fd, levelAttr(0, 992)).ret, levelGet(fd, levelAttr(0, 992)).value], [0, 0], 'INTID 992: read 0');
  t.end();
});

t.test('LEVEL_INFO: read is level && line; write sets the line whatever the config', (t) => {
  const { fd, vm } = v3Vm({ nrIrqs: 64 });
  // SPIs reset edge: the write sets line_level anyway (vgic_write_irq_line_level_info) ...
  t.equal(levelSet(fd, levelAttr(0, 32), 0x8000000f), 0, 'write 0x8000000f to SPIs 32-63');
  t.equal(vm.dist.spis[0]!.lineLevel, true, 'SPI 32 line high although edge');
  t.equal(vm.dist.spis[31]!.lineLevel, true, 'SPI 63 line high');
  // ... but the read reports only level-configured IRQs (vgic_read_irq_line_level_info)
  t.equal(levelGet(fd, levelAttr(0, 32)).value, 0, 'all edge: read 0');
  t.equal(distSet(fd, GICD_ICFGR + 8, 0x000000aa), 0, 'SPIs 36-47 level, 32-35 edge');
  t.equal(hex(levelGet(fd, levelAttr(0, 32)).value), hex(0), 'levels 36..47 have no line: still 0');
  t.equal(distSet(fd, GICD_ICFGR + 8, 0), 0, 'SPIs 32-47 level');
  t.equal(hex(levelGet(fd, levelAttr(0, 32)).value), hex(0xf), 'lines 32-35 now reported');
  t.equal(distSet(fd, GICD_ICFGR + 12, 0), 0, 'SPIs 48-63 level');
  t.equal(hex(levelGet(fd, levelAttr(0, 32)).value), hex(0x8000000f), 'and SPI 63');
  t.equal(levelSet(fd, levelAttr(0, 32), 0), 0, 'write 0');
  t.equal(levelGet(fd, levelAttr(0, 32)).value, 0, 'all lines low');
  t.end();
});

t.test('LEVEL_INFO: PPIs are per vCPU (by MPIDR), SPIs shared', (t) => {
  const { fd } = v3Vm({ nrVcpus: 2 });
  t.equal(levelSet(fd, levelAttr(1, 0), 0x00100000), 0, 'PPI 20 line on vCPU 1');
  t.equal(hex(levelGet(fd, levelAttr(1, 0)).value), hex(0x00100000), 'vCPU 1 reads it');
  t.equal(levelGet(fd, levelAttr(0, 0)).value, 0, 'vCPU 0 does not');
  distSet(fd, GICD_ICFGR + 8, 0);
  t.equal(levelSet(fd, levelAttr(0, 32), 0x4), 0, 'SPI 34 line via vCPU 0');
  t.equal(hex(levelGet(fd, levelAttr(1, 32)).value), hex(0x4), 'visible via vCPU 1');
  t.equal(levelGet(fd, levelAttr(2, 0)).ret, -EINVAL, 'MPIDR 2 (no vCPU): EINVAL');
  t.end();
});

// =====================================================================================================
// KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ (ref §1.9)
// =====================================================================================================

t.test('MAINT_IRQ: a PPI, settable only before INIT; get works before and after', (t) => {
  const { fd } = bareGic(V3, 1);
  const get = (): { ret: number; value: number } => {
    const b = u32(0xdead);
    const ret = __kvmDeviceAttrGet(fd, GRP.MAINT, 0, b);
    return { ret, value: b.value };
  };
  t.same([get().ret, get().value], [0, 0], 'reads 0 before any set');
  // vgic_v3_set_attr MAINT_IRQ: get_user, initialized -> EBUSY, outside [16, 32) -> EINVAL
  for (const v of [0, 15, 32, 1023, 0xffffffff]) t.equal(__kvmDeviceAttrSet(fd, GRP.MAINT, 0, u32(v)), -EINVAL, `${v}: EINVAL`);
  t.equal(get().value, 0, 'unchanged');
  t.equal(__kvmDeviceAttrSet(fd, GRP.MAINT, 0, u32(25)), 0, '25 accepted');
  t.equal(__kvmDeviceAttrSet(fd, GRP.MAINT, 0, null), -EFAULT, 'NULL: EFAULT');
  ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT);
  t.equal(__kvmDeviceAttrSet(fd, GRP.MAINT, 0, u32(20)), -EBUSY, 'after INIT: EBUSY');
  t.equal(__kvmDeviceAttrSet(fd, GRP.MAINT, 0, u32(5)), -EBUSY, 'after INIT an invalid value is EBUSY too (init checked first)');
  t.same([get().ret, get().value], [0, 25], 'after INIT the get still returns 25 (consolidated MAINT_IRQ handling, 2025)');
  t.equal(__kvmHasDeviceAttr(fd, GRP.MAINT, 0), 0, 'has: 0');
  const v2 = bareGic(V2, 1);
  t.equal(__kvmDeviceAttrSet(v2.fd, GRP.MAINT, 0, u32(25)), -ENXIO, 'v2 set: ENXIO');
  t.equal(__kvmDeviceAttrGet(v2.fd, GRP.MAINT, 0, u32()), -ENXIO, 'v2 get: ENXIO');
  t.equal(__kvmHasDeviceAttr(v2.fd, GRP.MAINT, 0), -ENXIO, 'v2 has: ENXIO');
  t.end();
});

// =====================================================================================================
// has_attr tables (ref §1.9)
// =====================================================================================================

t.test('has_attr table of a GICv3', (t) => {
  const { fd } = v3Vm();
  const has = (g: number, a: number | bigint): number => __kvmHasDeviceAttr(fd, g, a);
  // vgic_v3_has_attr
  t.same([2, 3, 5].map((a) => has(GRP.ADDR, a)), [0, 0, 0], 'ADDR V3_DIST, V3_REDIST, REDIST_REGION: 0');
  t.same([0, 1, 4, 6, 0xffffffff].map((a) => has(GRP.ADDR, a)), Array(5).fill(-ENXIO), 'ADDR v2 types, ITS, unknown: ENXIO');
  t.same([0, 1, 0xffffffff].map((a) => has(GRP.NR, a)), [0, 0, 0], 'NR_IRQS: 0 whatever the attr');
  t.equal(has(GRP.MAINT, 0), 0, 'MAINT_IRQ: 0');
  t.same([KVM_DEV_ARM_VGIC_CTRL_INIT, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES].map((a) => has(GRP.CTRL, a)), [0, 0], 'CTRL INIT, SAVE_PENDING_TABLES: 0');
  t.same([1, 2, 4, 5].map((a) => has(GRP.CTRL, a)), Array(4).fill(-ENXIO), 'CTRL ITS attrs / unknown: ENXIO');
  t.equal(has(GRP.DIST, GICD_CTLR), 0, 'DIST_REGS GICD_CTLR: 0');
  t.equal(has(GRP.REDIST, rdAttr(0, GICR_TYPER)), 0, 'REDIST_REGS GICR_TYPER: 0');
  t.equal(has(GRP.SYSREGS, rdAttr(0, ICC_PMR_EL1)), 0, 'CPU_SYSREGS ICC_PMR_EL1: 0');
  t.equal(has(GRP.CPU, GICC_PMR), -ENXIO, 'CPU_REGS (GICv2 only): ENXIO');
  t.equal(has(GRP.ITS, 0), -ENXIO, 'ITS_REGS on the GIC: ENXIO');
  for (const g of [10, 11, 0xff, -1, 0x7fffffff]) t.equal(has(g, 0), -ENXIO, `group ${g}: ENXIO`);
  t.end();
});

t.test('has_attr table of a GICv2, which does not initialise it', (t) => {
  const { fd, vm } = bareGic(V2, 1);
  const has = (g: number, a: number | bigint): number => __kvmHasDeviceAttr(fd, g, a);
  // vgic_v2_has_attr
  t.same([0, 1].map((a) => has(GRP.ADDR, a)), [0, 0], 'ADDR V2_DIST, V2_CPU: 0');
  t.same([2, 3, 4, 5].map((a) => has(GRP.ADDR, a)), Array(4).fill(-ENXIO), 'ADDR v3 types / ITS: ENXIO');
  t.equal(has(GRP.NR, 0), 0, 'NR_IRQS: 0');
  t.equal(has(GRP.CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT), 0, 'CTRL_INIT: 0');
  t.equal(has(GRP.CTRL, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES), -ENXIO, 'SAVE_PENDING_TABLES: ENXIO');
  t.equal(has(GRP.DIST, v2Attr(0, GICD_CTLR)), 0, 'DIST_REGS GICD_CTLR: 0');
  t.equal(has(GRP.CPU, v2Attr(0, GICC_PMR)), 0, 'CPU_REGS GICC_PMR: 0');
  t.equal(has(GRP.DIST, v2Attr(0, GICD_ISENABLER + 4)), -ENXIO, 'SPI word before init (nr_irqs 32): ENXIO');
  for (const g of [GRP.REDIST, GRP.SYSREGS, GRP.LEVEL, GRP.ITS, GRP.MAINT, 10]) t.equal(has(g, 0), -ENXIO, `group ${g}: ENXIO`);
  t.equal(vm.dist.initialized, false, 'has_attr did not initialise the GICv2');
  t.equal(nrIrqsSet(fd, 64), 0, 'NR_IRQS still settable');
  t.equal(has(GRP.DIST, v2Attr(0, GICD_ISENABLER + 4)), 0, 'with 64 IRQs the SPI word exists: 0');
  t.end();
});

t.test('has_attr table of the ITS device', (t) => {
  const { vm } = v3Vm();
  const its = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_ITS);
  const has = (g: number, a: number | bigint): number => __kvmHasDeviceAttr(its, g, a);
  // vgic_its_has_attr: ADDR ITS type; CTRL INIT, ITS_CTRL_RESET, SAVE/RESTORE_TABLES
  t.equal(has(GRP.ADDR, KVM_VGIC_ITS_ADDR_TYPE), 0, 'ADDR ITS: 0');
  t.equal(has(GRP.ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST), -ENXIO, 'ADDR V3_DIST: ENXIO');
  t.same([0, 1, 2, 4].map((a) => has(GRP.CTRL, a)), [0, 0, 0, 0], 'CTRL 0, 1, 2, 4: 0');
  t.equal(has(GRP.CTRL, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES), -ENXIO, 'CTRL SAVE_PENDING_TABLES: ENXIO');
  t.equal(has(GRP.NR, 0), -ENXIO, 'NR_IRQS: ENXIO');
  t.end();
});

t.test('ADDR set/get through the V3_REDIST legacy type with vCPUs placed in creation order', (t) => {
  const vm = vmCreateBarebones({ profile: TEST_PROFILE });
  vmVcpuAdd(vm, 5);
  vmVcpuAdd(vm, 2);
  const fd = kvmCreateDevice(vm, V3);
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, V3_RDIST_BASE), 0, 'legacy region');
  // redistributors are placed in vCPU creation order (vgic_v3_rdist_free_slot), not by id
  t.equal(vm.dist.vcpus[0]!.rdBase, V3_RDIST_BASE, 'vCPU id 5 (created first) at the base');
  t.equal(vm.dist.vcpus[1]!.rdBase, V3_RDIST_BASE + RDIST_STRIDE, 'vCPU id 2 at base + 128K');
  t.end();
});
