// GICv2 CPU interface through KVM_DEV_ARM_VGIC_GRP_CPU_REGS (userspace only; the guest sees the
// hardware GICV page). Expected values: reference §4.2 and kernel-facts §2.4/§3
// (vgic-mmio-v2.c: vgic_mmio_read/write_vcpuif, vgic_mmio_read/write_apr; vgic-v3.c vgic_v3_enable).

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  EINVAL,
  ENXIO,
  GICC_ABPR,
  GICC_APR0,
  GICC_BPR,
  GICC_CTLR,
  GICC_IIDR,
  GICC_PMR,
  GIC_CPU_PRIMASK,
  KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
  __kvmHasDeviceAttr,
} from '../host/index.ts';
import { V2_CPU_BASE, cpuGet, cpuSet, hex, runGuest, v2Attr, v2Vm, v3Vm } from '../../test/support/vgic.ts';

const APR = [GICC_APR0, GICC_APR0 + 4, GICC_APR0 + 8, GICC_APR0 + 12];

t.test('CPU_REGS reset values', (t) => {
  const { fd } = v2Vm();
  // vgic_v3_enable: VMCR = 0 (ref §6 reset), so CTLR/PMR/BPR/ABPR read 0; APRs 0;
  // GICC_IIDR = 0x4B<<20 | 2<<16 | 0x43B = 0x04B2043B (ref §4.2)
  const want: Array<[number, number]> = [
    [GICC_CTLR, 0],
    [GICC_PMR, 0],
    [GICC_BPR, 0],
    [GICC_ABPR, 0],
    ...APR.map((o): [number, number] => [o, 0]),
    [GICC_IIDR, 0x04b2043b],
  ];
  for (const [off, v] of want) {
    const r = cpuGet(fd, 0, off);
    t.equal(r.ret, 0, `get 0x${off.toString(16)}`);
    t.equal(hex(r.value), hex(v), `0x${off.toString(16)} resets to ${hex(v)}`);
  }
  t.end();
});

t.test('GICC_PMR uses the 5-bit VMCR format', (t) => {
  const { fd } = v2Vm();
  // ref §4.2: read = PMR >> 3 (0-31), write = (v << 3) & 0xF8
  for (const [w, r] of [
    [0x1f, 0x1f],
    [0x0a, 0x0a],
    [0xff, 0x1f],
    [0x20, 0x00],
    [0x3e, 0x1e],
  ] as const) {
    t.equal(cpuSet(fd, 0, GICC_PMR, w), 0, `write PMR ${hex(w)}`);
    t.equal(hex(cpuGet(fd, 0, GICC_PMR).value), hex(r), `reads back ${hex(r)}`);
  }
  t.end();
});

t.test('the guest sees the userspace PMR in GICV_PMR format', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.sync(yield* g.readl(V2_CPU_BASE + GIC_CPU_PRIMASK));
    yield* g.done();
  };
  const { fd, vcpus } = v2Vm({ guest });
  cpuSet(fd, 0, GICC_PMR, 0x1f);
  // ref §4.2: userspace value v is stored as (v << 3) & 0xF8; the GICv2 virtual interface PMR
  // holds the priority in bits [7:3] with 5 priority bits, so the guest reads 0xF8
  t.same(runGuest(vcpus[0]!).map(hex), [hex(0xf8)]);
  t.end();
});

t.test('GICC_CTLR, BPR, ABPR fields', (t) => {
  const { fd } = v2Vm();
  // ref §4.2: EnableGrp0 b0, EnableGrp1 b1, AckCtl b2, FIQEn b3, CBPR b4, EOImodeNS b9
  cpuSet(fd, 0, GICC_CTLR, 0x21f);
  t.equal(hex(cpuGet(fd, 0, GICC_CTLR).value), hex(0x21f), 'all six fields round-trip');
  cpuSet(fd, 0, GICC_CTLR, 0xffffffff);
  t.equal(hex(cpuGet(fd, 0, GICC_CTLR).value), hex(0x21f), 'other bits are not stored');
  cpuSet(fd, 0, GICC_CTLR, 0x202);
  t.equal(hex(cpuGet(fd, 0, GICC_CTLR).value), hex(0x202), 'EnableGrp1 | EOImodeNS');
  // ref §4.2: BPR / ABPR are raw VMCR fields
  cpuSet(fd, 0, GICC_BPR, 3);
  cpuSet(fd, 0, GICC_ABPR, 4);
  t.equal(cpuGet(fd, 0, GICC_BPR).value, 3, 'BPR');
  t.equal(cpuGet(fd, 0, GICC_ABPR).value, 4, 'ABPR');
  t.end();
});

t.test('GICC_IIDR is read-only', (t) => {
  const { fd } = v2Vm();
  t.equal(cpuSet(fd, 0, GICC_IIDR, 0), 0, 'write accepted');
  t.equal(hex(cpuGet(fd, 0, GICC_IIDR).value), hex(0x04b2043b), 'writes ignored (ref §4.2)');
  t.end();
});

t.test('GICC_APRn bounded by the host priority bits', (t) => {
  // ref §4.2 / vgic_mmio_read_apr on a GICv3 host: ICH_AP1Rn with n <= vgic_v3_max_apr_idx
  // (5 PRIbits -> APR0 only; 6 -> APR0-1; 7 -> APR0-3), others RAZ/WI
  for (const [priBits, usable] of [
    [5, 1],
    [6, 2],
    [7, 4],
  ] as const) {
    const { fd } = v2Vm({ vm: { priBits } });
    APR.forEach((off, n) => {
      t.equal(cpuSet(fd, 0, off, 0xdead0000 | n), 0, `${priBits} PRIbits: APR${n} write returns 0`);
      const want = n < usable ? 0xdead0000 | n : 0;
      t.equal(hex(cpuGet(fd, 0, off).value), hex(want), `${priBits} PRIbits: APR${n} reads ${hex(want)}`);
    });
  }
  t.end();
});

t.test('CPU_REGS are per vCPU', (t) => {
  const { fd } = v2Vm({ nrVcpus: 2 });
  cpuSet(fd, 1, GICC_PMR, 0x10);
  cpuSet(fd, 1, GICC_CTLR, 0x1);
  t.equal(cpuGet(fd, 1, GICC_PMR).value, 0x10, 'vCPU 1 PMR');
  t.equal(cpuGet(fd, 0, GICC_PMR).value, 0, 'vCPU 0 PMR untouched');
  t.equal(cpuGet(fd, 0, GICC_CTLR).value, 0, 'vCPU 0 CTLR untouched');
  t.end();
});

t.test('unknown and unaligned CPU_REGS offsets', (t) => {
  const { fd } = v2Vm();
  // kernel-facts §2.4: only CTLR, PMR, BPR, ABPR, APR0-3, IIDR exist; other offsets (IAR 0x0C,
  // EOIR 0x10, RPR 0x14, HPPIR 0x18, AIAR 0x20, DIR 0x1000, unaligned) get 0 / set ignored and
  // has_attr ENXIO (ref §1.6, §4.2). Correction from real KVM: 7.2.13 lists GIC_CPU_DEACTIVATE
  // (0x1000) in vgic_v2_cpu_registers (RAZ/WI for userspace, has_attr 0); 6.1.164 and 6.12.117
  // do not (profile switch v2CpuDirUaccess; checked per kernel by `vgic-harness conformance`).
  for (const off of [0x0c, 0x10, 0x14, 0x18, 0x20, 0x24, 0x28, 0x2, 0xfd]) {
    const r = cpuGet(fd, 0, off);
    t.same([r.ret, r.value], [0, 0], `get 0x${off.toString(16)} returns 0 with value 0`);
    t.equal(cpuSet(fd, 0, off, 0xffffffff), 0, `set 0x${off.toString(16)} returns 0`);
    t.equal(__kvmHasDeviceAttr(fd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS, v2Attr(0, off)), -ENXIO, `has 0x${off.toString(16)}: ENXIO`);
  }
  for (const off of [GICC_CTLR, GICC_PMR, GICC_BPR, GICC_ABPR, ...APR, GICC_IIDR]) {
    t.equal(__kvmHasDeviceAttr(fd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS, v2Attr(0, off)), 0, `has 0x${off.toString(16)}: 0`);
  }
  const dir = cpuGet(fd, 0, 0x1000);
  t.same([dir.ret, dir.value], [0, 0], 'GICC_DIR (0x1000) reads 0 for userspace');
  t.equal(cpuSet(fd, 0, 0x1000, 0xffffffff), 0, 'GICC_DIR write ignored');
  t.equal(__kvmHasDeviceAttr(fd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS, v2Attr(0, 0x1000)), 0, 'has GICC_DIR: 0 (7.2.13 has the row)');
  const old = v2Vm({ vm: { profile: 'linux-6.12.117' } });
  t.equal(__kvmHasDeviceAttr(old.fd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS, v2Attr(0, 0x1000)), -ENXIO, 'has GICC_DIR on 6.12.117: ENXIO');
  t.end();
});

t.test('CPU_REGS naming a missing vCPU, and on a GICv3 device', (t) => {
  const { fd } = v2Vm({ nrVcpus: 2 });
  // ref §1.6: v2 vCPU by id in bits [39:32]; none -> EINVAL (get, set and has)
  t.equal(cpuGet(fd, 5, GICC_PMR).ret, -EINVAL, 'get: EINVAL');
  t.equal(cpuSet(fd, 5, GICC_PMR, 0), -EINVAL, 'set: EINVAL');
  t.equal(__kvmHasDeviceAttr(fd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS, v2Attr(5, GICC_PMR)), -EINVAL, 'has: EINVAL');
  const v3 = v3Vm();
  // kernel-facts §4: groups a device does not know fall to vgic_{set,get}_common_attr -> ENXIO
  t.equal(cpuGet(v3.fd, 0, GICC_PMR).ret, -ENXIO, 'GICv3 device: CPU_REGS get ENXIO');
  t.equal(cpuSet(v3.fd, 0, GICC_PMR, 0), -ENXIO, 'GICv3 device: CPU_REGS set ENXIO');
  t.equal(__kvmHasDeviceAttr(v3.fd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS, 0), -ENXIO, 'GICv3 device: CPU_REGS has ENXIO');
  t.end();
});
