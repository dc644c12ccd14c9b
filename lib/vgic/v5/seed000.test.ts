// Seed 000 (Vladimir Murzin's review of "[PATCH 36/43] KVM: arm64: gic-v5: Implement
// save/restore mechanisms for ISTs", answered 21 May 2026): with the early IST contract a VMM that
// asks for 1 SPI and gives KVM a one-entry buffer gets the memory after it overwritten, because
// KVM rounds the SPI IST up to 16 entries and saves every one. The fix made SPI counts multiples
// of 32 (minimum 32, like GICv3) and the buffers exact-size. Reproduced here on the 'irs-early'
// host profile and refused on 'irs-final'; then the same SPI-count rule for GICv3.

import t from '../../../test/tap.ts';
import {
  EINVAL,
  ENOENT,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_IST,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_ARM_IRQ_TYPE_SHIFT,
  UserPointer,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  _kvmIrqLine,
  kvmCreateDevice,
  u32,
  userBytes,
  vgicV5IstAttr,
  vmCreateBarebones,
  vmVcpuAdd,
} from '../../host/index.ts';
import { v5Vm } from '../../../test/support/v5.ts';

const FILL = 0x5a;
const NEIGHBOUR = 60; // what lies after the one-entry buffer in the VMM's memory

t.test('irs-early: 1 SPI, one-entry buffer -> the 60 bytes after it are overwritten', async (t) => {
  const f = v5Vm({ host: { uapi: 'irs-early' }, nrSpis: 1 });
  t.equal(f.v5.spis.length, 1, 'NR_IRQS = 1 accepted');
  t.equal(f.v5.spis.length + f.v5.spiIstSpare.length, 16, 'kvm_vgic_v5_irs_init rounded the SPI IST up to 16 entries');
  // The SPI is made pending from userspace so its entry is not zero either.
  t.equal(_kvmIrqLine(f.vm, (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | 0, 1), 0);

  // `u32 spi_ist[1]` followed by other data of the VMM: one mapped allocation.
  const mem = userBytes(4 + NEIGHBOUR, { fill: FILL });
  const spiIst = new UserPointer(mem.addr); // attr->addr: a raw pointer, no size
  t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_IST, 0, spiIst), 0, 'KVM reports success');
  t.equal(mem.u32(0) & 1, 1, 'entry 0: SPI 0 pending');
  const after = mem.bytes().slice(4);
  const changed = after.filter((b) => b !== FILL).length;
  t.equal(changed, NEIGHBOUR, 'all 60 neighbouring bytes overwritten (15 zero entries)');
  t.ok(mem.guardsIntact(), 'the model itself wrote nothing outside the mapped allocation');

  // With nothing mapped after the one-entry buffer, the same save faults instead (EFAULT).
  const alone = userBytes(4, { fill: FILL });
  t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_IST, 0, alone), -14, 'EFAULT at the first unmapped entry');
  t.ok(alone.guardsIntact(), 'guard canaries intact');

  // Restore reads the same 16 entries: what lay after the buffer becomes SPI IST state.
  const g = v5Vm({ host: { uapi: 'irs-early' }, nrSpis: 1 });
  const src = userBytes(64, { fill: 0 });
  src.setU32(5, 0x1234_5678);
  t.equal(__kvmDeviceAttrSet(g.fd, KVM_DEV_ARM_VGIC_GRP_IST, 0, new UserPointer(src.addr)), 0);
  t.equal(g.v5.spiIstSpare[4], 0x1234_5678, 'a neighbour word was read into host IST entry 5');
});

t.test('irs-final: 1 SPI is refused; a one-entry buffer is refused with EINVAL and left untouched', async (t) => {
  const f = v5Vm({ init: false });
  t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(1)), -EINVAL, 'NR_IRQS = 1: EINVAL');
  t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), 0, 'CTRL_INIT: 32 SPIs');
  const mem = userBytes(4 + NEIGHBOUR, { fill: FILL });
  for (const [op, name] of [[__kvmDeviceAttrGet, 'save'], [__kvmDeviceAttrSet, 'restore']] as const) {
    const ist = vgicV5IstAttr(mem, 4, null, 0);
    t.equal(op(f.fd, KVM_DEV_ARM_VGIC_GRP_IST, 0, ist), -EINVAL, `${name}: spi_ist_size 4 != 32 * 4`);
    t.ok(mem.bytes().every((b) => b === FILL), `${name}: buffer and neighbours untouched`);
    t.ok(mem.guardsIntact() && ist.guardsIntact(), `${name}: guards intact`);
  }
  // Passing the early raw pointer to a final kernel is a struct read from the SPI buffer: the
  // "struct" (60 bytes of 0x5a) has a size field that cannot match, so EINVAL again.
  t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_IST, 0, new UserPointer(mem.addr)), -EINVAL, 'raw pointer: EINVAL');
  t.ok(mem.bytes().every((b) => b === FILL), 'untouched');
  const exact = userBytes(32 * 4, { fill: FILL });
  t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_IST, 0, vgicV5IstAttr(exact, 128, null, 0)), 0, 'the exact-size buffer is filled');
  t.ok(exact.guardsIntact(), 'and nothing after it');
});

t.test('irs-early: other rules of the early contract', async (t) => {
  const set = (f: ReturnType<typeof v5Vm>, v: number): number => __kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(v));
  t.equal(set(v5Vm({ host: { uapi: 'irs-early' }, init: false }), 0), -EINVAL, 'no way to set 0 SPIs');
  t.equal(set(v5Vm({ host: { uapi: 'irs-early' }, init: false }), 33), 0, 'no multiple-of-32 rule');
  t.equal(set(v5Vm({ host: { uapi: 'irs-early', spiRange: 64 }, init: false }), 65), -EINVAL, 'above the host IRS_IDR5.SPI_RANGE');
  const none = v5Vm({ host: { uapi: 'irs-early' } });
  t.equal(none.v5.spis.length, 0, 'no default SPI count');
  t.equal(__kvmDeviceAttrGet(none.fd, KVM_DEV_ARM_VGIC_GRP_IST, 0, userBytes(4)), -ENOENT, 'a buffer but no SPI IST: ENOENT');
  t.equal(__kvmDeviceAttrGet(none.fd, KVM_DEV_ARM_VGIC_GRP_IST, 0, null), 0, 'NULL and no SPI IST: nothing to do');
  const f = v5Vm({ host: { uapi: 'irs-early' }, nrSpis: 33 });
  const buf = userBytes(64 * 4, { fill: FILL });
  t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_IST, 0, buf), 0);
  t.equal(buf.bytes().filter((b) => b === FILL).length, 0, '33 SPIs: 64 host entries written (256 bytes)');
});

t.test('GICv3 NR_IRQS: minimum 64 IRQs (32 SPIs), multiples of 32, at most 992 (VGIC_MAX_RESERVED)', async (t) => {
  for (const [v, want] of [
    [0, -EINVAL],
    [1, -EINVAL],
    [32, -EINVAL],
    [33, -EINVAL],
    [63, -EINVAL],
    [64, 0],
    [65, -EINVAL],
    [80, -EINVAL],
    [96, 0],
    [992, 0],
    [1000, -EINVAL],
    [1024, -EINVAL],
  ] as const) {
    const vm = vmCreateBarebones();
    vmVcpuAdd(vm, 0);
    const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
    t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(v)), want, `${v} IRQs`);
    if (!want) {
      const got = u32();
      __kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, got);
      t.equal(got.value, v, 'get returns nr_spis + 32');
    }
  }
  // GICv5 counts SPIs only: the same 32-SPI minimum and step, 1024 SPIs allowed.
  for (const [v, want] of [[31, -EINVAL], [32, 0], [48, -EINVAL], [1024, 0], [1056, -EINVAL]] as const) {
    t.equal(__kvmDeviceAttrSet(v5Vm({ init: false, addr: false }).fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(v)), want, `GICv5: ${v} SPIs`);
  }
});
