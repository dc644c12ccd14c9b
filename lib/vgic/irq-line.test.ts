// KVM_IRQ_LINE's order of checks and vCPU field per kernel (irq-line.ts), as measured on real
// kernels by scenarios/v3/irq_line.scn (v3-irq-line-order-before-init, v3-irq-line-vcpu-id) and
// scenarios/v2/irq_line.scn.

import t from '../../test/tap.ts';
import {
  EBUSY,
  EINVAL,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_VGIC_V2,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  __kvmDeviceAttrSet,
  _kvmIrqLine,
  kvmCreateDevice,
  u32,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  vmCreateBarebones,
  vmVcpuAdd,
} from '../host/index.ts';
import { V3_DIST_BASE, V3_RDIST_BASE, addrSet, ctrlSet } from '../../test/support/vgic.ts';

const ppi = (vcpu: number, num: number): number => (2 << 24) | (vcpu << 16) | num;
const spi = (num: number): number => (1 << 24) | num;
const cpuLine = (vcpu: number): number => vcpu << 16;

t.test('an uninitialised GICv3: 7.2 answers EBUSY before looking at the vCPU or INTID, 6.x EINVAL', (tt) => {
  for (const [profile, bad] of [['linux-7.2.13', -EBUSY], ['linux-6.12.117', -EINVAL], ['linux-6.1.164', -EINVAL]] as const) {
    const vm = vmCreateBarebones({ profile });
    vmVcpuAdd(vm, 0);
    kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
    tt.same(
      [ppi(2, 20), ppi(0, 15), spi(31), ppi(0, 20), spi(32)].map((irq) => _kvmIrqLine(vm, irq, 1)),
      [bad, bad, bad, -EBUSY, -EBUSY],
      `${profile}: no vCPU 2, an SGI, SPI 31; then valid lines`,
    );
  }
  tt.end();
});

t.test('a GICv2: on 7.2 a refused line has already initialised the vGIC (NR_IRQS is then EBUSY)', (tt) => {
  for (const [profile, after] of [['linux-7.2.13', -EBUSY], ['linux-6.12.117', 0]] as const) {
    const vm = vmCreateBarebones({ profile, gicv2Compat: true });
    vmVcpuAdd(vm, 0);
    const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2);
    tt.equal(_kvmIrqLine(vm, ppi(2, 20), 1), -EINVAL, `${profile}: no vCPU 2`);
    tt.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(128)), after, `${profile}: NR_IRQS afterwards`);
  }
  tt.end();
});

t.test('the vCPU field: an id (6.12, 7.2) or an index (6.1, where a PPI then takes the id as an index)', (tt) => {
  for (const [profile, want] of [
    ['linux-7.2.13', [-EINVAL, 0, -EINVAL, 0]],
    ['linux-6.1.164', [0, -EINVAL, -EINVAL, -EINVAL]],
  ] as const) {
    const vm = vmCreateBarebones({ profile });
    vmVcpuAdd(vm, 1); // id 1, index 0
    const cpu = [cpuLine(0), cpuLine(1)].map((irq) => _kvmIrqLine(vm, irq, 1));
    const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
    tt.same(
      [addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, V3_DIST_BASE), addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, V3_RDIST_BASE), ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT)],
      [0, 0, 0],
      'distributor, redistributor, INIT',
    );
    const ppis = [ppi(0, 20), ppi(1, 21)].map((irq) => _kvmIrqLine(vm, irq, 1));
    tt.same([...cpu, ...ppis], want, `${profile}: CPU line field 0, 1; PPI field 0, 1`);
  }
  tt.end();
});
