// The GICv5 host as VM options, and the 7.2 PPI-only device ('ppi' host profile).

import t from '../../../test/tap.ts';
import {
  EBUSY,
  EINVAL,
  ENODEV,
  ENXIO,
  GICV5_ARCH_PPI_CNTV,
  GICV5_ARCH_PPI_PMUIRQ,
  GICV5_ARCH_PPI_SW_PPI,
  ICC_CR0_EL1,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SHIFT,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_CREATE_DEVICE_TEST,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_IRS_REGS,
  KVM_DEV_ARM_VGIC_GRP_IST,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_USERSPACE_PPIS,
  KVM_DEV_TYPE_ARM_VGIC_V2,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_DEV_TYPE_ARM_VGIC_V5,
  KVM_VGIC_V5_ADDR_TYPE_IRS,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  __vcpuRun,
  _kvmIrqLine,
  defaultImplementedPpis,
  kvmCreateDevice,
  u32,
  u64,
  u64Array,
  vmCreateBarebones,
  vmVcpuAdd,
} from '../../host/index.ts';
import { doneGuestV5, v5Vm } from '../../../test/support/v5.ts';

const ppi = (n: number, vcpu = 0): number => (KVM_ARM_IRQ_TYPE_PPI << KVM_ARM_IRQ_TYPE_SHIFT) | (vcpu << 16) | n;
const spi = (n: number): number => (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | n;

t.test('device registration: GICv5 only on a GICv5 host; no GICv2 there; GICv3 with the legacy interface', async (t) => {
  const v3host = vmCreateBarebones();
  t.equal(v3host.createDevice(KVM_DEV_TYPE_ARM_VGIC_V5, KVM_CREATE_DEVICE_TEST), -ENODEV, 'GICv3 host: no v5 device');
  const v5host = vmCreateBarebones({ gicv5: {} });
  t.equal(v5host.createDevice(KVM_DEV_TYPE_ARM_VGIC_V5, KVM_CREATE_DEVICE_TEST), 0);
  t.equal(v5host.createDevice(KVM_DEV_TYPE_ARM_VGIC_V2, KVM_CREATE_DEVICE_TEST), -ENODEV, 'vgic_v5_probe: can_emulate_gicv2 = false');
  t.equal(v5host.createDevice(KVM_DEV_TYPE_ARM_VGIC_V3, KVM_CREATE_DEVICE_TEST), 0, 'ARM64_HAS_GICV5_LEGACY by default');
  const noLegacy = vmCreateBarebones({ gicv5: { legacyV3: false } });
  t.equal(noLegacy.createDevice(KVM_DEV_TYPE_ARM_VGIC_V3, KVM_CREATE_DEVICE_TEST), -ENODEV, 'without the legacy interface');
  const fd = kvmCreateDevice(v5host, KVM_DEV_TYPE_ARM_VGIC_V5);
  t.ok(fd > 0);
  t.equal(v5host.createDevice(KVM_DEV_TYPE_ARM_VGIC_V3), -17, 'one GIC per VM: EEXIST');
  t.equal(v5host.createVcpu(600), -EINVAL, 'vCPU ids below VGIC_V5_MAX_CPUS (512)');
  // A bad host option is a port bug, reported like every other bad VM option (lib/host/kvm-util.ts).
  t.throws(() => vmCreateBarebones({ gicv5: { irsPriBits: 6 } }), /opts\.gicv5 .*irsPriBits must be an integer in 1\.\.5/, 'a bad host option is a harness error');
  t.throws(() => vmCreateBarebones({ gicv5: { uapi: 'v9' as 'ppi' } }), /unknown GICv5 uapi 'v9'/);
});

t.test('host implemented PPIs: the default mask, the PMU, and what userspace may drive', async (t) => {
  const bit = (n: number): bigint => 1n << BigInt(n);
  t.equal(defaultImplementedPpis(false) & bit(GICV5_ARCH_PPI_PMUIRQ), 0n);
  t.equal(defaultImplementedPpis(true) & bit(GICV5_ARCH_PPI_PMUIRQ), bit(GICV5_ARCH_PPI_PMUIRQ));
  t.equal(defaultImplementedPpis(true) & bit(GICV5_ARCH_PPI_SW_PPI), bit(GICV5_ARCH_PPI_SW_PPI));
  const f = v5Vm();
  t.equal(_kvmIrqLine(f.vm, ppi(3), 1), 0, 'SW_PPI');
  t.equal(_kvmIrqLine(f.vm, ppi(GICV5_ARCH_PPI_CNTV), 1), -EINVAL, 'a timer PPI is not userspace-drivable');
  t.equal(_kvmIrqLine(f.vm, ppi(64), 1), -EINVAL, 'PPI 64');
  t.equal(_kvmIrqLine(f.vm, ppi(3, 5), 1), -EINVAL, 'no vCPU 5');
  const noSw = v5Vm({ host: { implementedPpis: bit(GICV5_ARCH_PPI_CNTV) } });
  t.equal(_kvmIrqLine(noSw.vm, ppi(3), 1), -EINVAL, 'a host without the SW_PPI: EINVAL');
  const b = u64Array(2);
  t.equal(__kvmDeviceAttrGet(noSw.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, b), 0);
  t.equal(b.u64(0), 0n, 'empty mask');
  const pre = v5Vm({ init: false });
  t.equal(_kvmIrqLine(pre.vm, ppi(3), 1), -EBUSY, 'before CTRL_INIT: vgic_lazy_init is EBUSY');
  t.equal(_kvmIrqLine(pre.vm, spi(0), 1), -EBUSY);
  t.equal(__kvmDeviceAttrGet(pre.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, b), 0);
  t.equal(b.u64(0), 0n, 'USERSPACE_PPIS before CTRL_INIT: not computed yet');
});

t.test("7.2's PPI-only device ('ppi' host profile)", async (t) => {
  const vm = vmCreateBarebones({ gicv5: { uapi: 'ppi' } });
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V5);
  for (const g of [KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, KVM_DEV_ARM_VGIC_GRP_IST]) {
    const attr = g === KVM_DEV_ARM_VGIC_GRP_ADDR ? KVM_VGIC_V5_ADDR_TYPE_IRS : g === KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS ? ICC_CR0_EL1 : 0;
    t.equal(__kvmDeviceAttrSet(fd, g, attr, u64()), -ENXIO, `set group ${g}`);
    t.equal(__kvmDeviceAttrGet(fd, g, attr, u64()), -ENXIO, `get group ${g}`);
    t.equal(__kvmHasDeviceAttr(fd, g, attr), -ENXIO, `has group ${g}`);
  }
  t.equal(__kvmHasDeviceAttr(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS), 0);
  t.equal(__kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, u32()), -ENXIO, 'get CTRL_INIT');
  t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), 0, 'CTRL_INIT with no vCPU succeeds in 7.2');
  const w = vmCreateBarebones({ gicv5: { uapi: 'ppi' } });
  const wfd = kvmCreateDevice(w, KVM_DEV_TYPE_ARM_VGIC_V5);
  const vcpu = vmVcpuAdd(w, 0, doneGuestV5);
  t.equal(__kvmDeviceAttrSet(wfd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), 0);
  t.equal(_kvmIrqLine(w, spi(0), 1), -EINVAL, '"Non-private IRQs are not yet implemented for GICv5"');
  t.equal(_kvmIrqLine(w, ppi(3), 1), 0);
  t.equal(__vcpuRun(vcpu), 0, 'no IRS address needed to run');
});
