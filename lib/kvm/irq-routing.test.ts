// KVM_SET_GSI_ROUTING, KVM_IRQFD and the eventfd stand-in, errno by errno, and what a signalled
// irqfd does to the SPI its GSI routes to. Expected values come from virt/kvm/kvm_main.c
// (KVM_SET_GSI_ROUTING), virt/kvm/irqchip.c (kvm_set_irq_routing, setup_routing_entry),
// arch/arm64/kvm/vgic/vgic-irqfd.c (kvm_set_routing_entry, vgic_irqfd_set_irq),
// virt/kvm/eventfd.c (kvm_irqfd, kvm_irqfd_assign) and fs/eventfd.c (eventfd_write).

import type { Test } from 'tap';
import t from '../../test/tap.ts';
import {
  EAGAIN,
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  GICD_ICFGR,
  GICD_ISPENDR,
  KVM_CAP_ARM_EL2,
  KVM_CAP_ARM_IRQ_LINE_LAYOUT_2,
  KVM_CAP_IRQCHIP,
  KVM_CAP_IRQFD,
  KVM_CAP_IRQFD_RESAMPLE,
  KVM_CAP_IRQ_ROUTING,
  KVM_CAP_MAX_VCPUS,
  KVM_CAP_MSI_DEVID,
  KVM_CAP_SIGNAL_MSI,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQFD_FLAG_RESAMPLE,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_MSI_VALID_DEVID,
  type KvmIrqRouting,
  type KvmVm,
  __kvmIrqfd,
  _kvmGsiRoutingWrite,
  close,
  kvmArmIrqLine,
  kvmCheckCap,
  kvmGsiRoutingCreate,
  kvmGsiRoutingIrqchipAdd,
  kvmNewEventfd,
  kvmVmFree,
  read,
  u32,
  u64,
  vmCheckCap,
  write,
  __kvmDeviceAttrGet,
} from '../host/index.ts';
import { type GicVm, distGet, distSet, hex, runGuest, v3Vm } from '../../test/support/vgic.ts';
import {
  type Guest,
  type GuestProgram,
  GIC_V3,
  gicGetAndAckIrq,
  gicInit,
  gicIrqEnable,
  gicSetEoi,
  gicSetPriority,
  gicSetPriorityMask,
} from '../guest/index.ts';
import { kvmCheckExtension } from './caps.ts';

const NR_IRQS = 128; // 96 SPIs: pins 0..95 are valid injections

/** SPIs 32..63 latch bits as userspace reads them (GICD_ISPENDR1: the latch only). */
const pending1 = (v: GicVm): string => hex(distGet(v.fd, GICD_ISPENDR + 4).value);
/** Line levels of SPIs 32..63 (LEVEL_INFO word at INTID 32). */
function lines1(tt: Test, v: GicVm): string {
  const b = u32();
  tt.equal(__kvmDeviceAttrGet(v.fd, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, 32, b), 0);
  return hex(b.value);
}

function routing(entries: KvmIrqRouting['entries'], nr = entries.length, flags = 0): KvmIrqRouting {
  return { nr, flags, entries };
}
const irqchip = (gsi: number, pin: number, chip = 0, flags = 0) => ({ gsi, type: KVM_IRQ_ROUTING_IRQCHIP, flags, u: { irqchip: { irqchip: chip, pin } } });
const msi = (gsi: number, flags = 0) => ({ gsi, type: KVM_IRQ_ROUTING_MSI, flags, u: { msi: { address_lo: 0x8010040, address_hi: 0, data: 1, devid: 7 } } });

function setRoute(tt: Test, vm: KvmVm, gsi: number, pin: number): void {
  const r = kvmGsiRoutingCreate();
  kvmGsiRoutingIrqchipAdd(r, gsi, pin);
  tt.equal(_kvmGsiRoutingWrite(vm, r), 0, `gsi ${gsi} -> pin ${pin}`);
}

/** Make an SPI level-sensitive as userspace can: GICD_ICFGR<n> field [2k+1] = 0 (vgic_mmio_write_config). */
function makeLevel(tt: Test, v: GicVm, intid: number): void {
  const off = GICD_ICFGR + Math.floor(intid / 16) * 4;
  const cur = distGet(v.fd, off).value;
  tt.equal(distSet(v.fd, off, cur & ~(2 << ((intid % 16) * 2))), 0, `SPI ${intid} level-sensitive`);
}

t.test('capabilities: the values an arm64 GICv3 host reports', (tt) => {
  tt.equal(kvmCheckCap(KVM_CAP_IRQ_ROUTING), 4096, 'KVM_CAP_IRQ_ROUTING = KVM_MAX_IRQ_ROUTES');
  tt.equal(kvmCheckCap(KVM_CAP_IRQFD), 1);
  tt.equal(kvmCheckCap(KVM_CAP_IRQFD_RESAMPLE), 1);
  tt.equal(kvmCheckCap(KVM_CAP_SIGNAL_MSI), 1, 'CONFIG_HAVE_KVM_MSI: 1 with or without an ITS');
  tt.equal(kvmCheckCap(KVM_CAP_ARM_IRQ_LINE_LAYOUT_2), 1);
  tt.equal(kvmCheckCap(KVM_CAP_IRQCHIP), 1);
  tt.equal(kvmCheckCap(KVM_CAP_ARM_EL2), 0, 'no nested virt in the model');
  tt.equal(kvmCheckCap(9999), 0, 'unknown capability: 0');
  tt.equal(kvmCheckExtension(null, KVM_CAP_MSI_DEVID), -EINVAL, 'KVM_CAP_MSI_DEVID on /dev/kvm: EINVAL');
  const plain = v3Vm();
  tt.equal(vmCheckCap(plain.vm, KVM_CAP_MSI_DEVID), 0, 'no ITS: msis_require_devid 0');
  tt.equal(vmCheckCap(plain.vm, KVM_CAP_MAX_VCPUS), 512, 'GICv3 VM: max_vcpus 512');
  const its = v3Vm({ its: true });
  tt.equal(vmCheckCap(its.vm, KVM_CAP_MSI_DEVID), 1, 'an ITS sets msis_require_devid');
  tt.end();
});

t.test('KVM_SET_GSI_ROUTING: the checks, in the kernel order', (tt) => {
  const { vm } = v3Vm({ nrIrqs: NR_IRQS });
  tt.equal(_kvmGsiRoutingWrite(vm, routing([], 4097)), -EINVAL, 'nr > KVM_MAX_IRQ_ROUTES');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([irqchip(0, 0)], 1, 1)), -EINVAL, 'routing.flags must be 0');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([irqchip(0, 0)], 2)), -EFAULT, 'fewer entries than nr: EFAULT (copy from user)');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([irqchip(4096, 0)])), -EINVAL, 'gsi >= KVM_MAX_IRQ_ROUTES');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([irqchip(4095, 0)])), 0, 'gsi 4095 is the last valid one');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([irqchip(1, 987)])), 0, 'pin 987 (SPI 1019) is valid');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([irqchip(1, 988)])), -EINVAL, 'pin >= KVM_IRQCHIP_NUM_PINS (988)');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([irqchip(1, 5, 1)])), -EINVAL, 'irqchip >= KVM_NR_IRQCHIPS (1)');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([irqchip(1, 5, 0, 1)])), -EINVAL, 'an irqchip entry carries no flags');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([irqchip(1, 5), irqchip(1, 6)])), -EINVAL, 'a GSI maps to the irqchip once');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([irqchip(1, 5), irqchip(2, 5)])), 0, 'two GSIs may share a pin');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([msi(3, KVM_MSI_VALID_DEVID)])), 0, 'MSI entries are accepted without an ITS');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([msi(3, 2)])), -EINVAL, 'an MSI entry may only carry KVM_MSI_VALID_DEVID');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([msi(3), irqchip(3, 1)])), -EINVAL, 'a non-irqchip GSI maps to one thing only');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([{ gsi: 4, type: 3, flags: 0, u: {} }])), -EINVAL, 'S390 adapter entries: EINVAL on arm64');
  tt.equal(_kvmGsiRoutingWrite(vm, routing([])), 0, 'an empty table is valid');
  tt.end();
});

t.test('irqfd: errnos of KVM_IRQFD', (tt) => {
  const pre = v3Vm({ nrIrqs: NR_IRQS, init: false });
  const efd = kvmNewEventfd();
  tt.equal(__kvmIrqfd(pre.vm, 0, efd, 0), -EAGAIN, 'before vgic_init: EAGAIN (kvm_arch_intc_initialized)');
  const { vm, fd } = v3Vm({ nrIrqs: NR_IRQS });
  tt.equal(__kvmIrqfd(vm, 0, efd, 4), -EINVAL, 'unknown flag');
  tt.equal(__kvmIrqfd(vm, 0, 9999, 0), -EBADF, 'fd not open');
  tt.equal(__kvmIrqfd(vm, 0, fd, 0), -EINVAL, 'fd open but not an eventfd (the vGIC device fd)');
  tt.equal(__kvmIrqfd(vm, 0, efd, KVM_IRQFD_FLAG_RESAMPLE, 9999), -EBADF, 'resamplefd not open');
  tt.equal(__kvmIrqfd(vm, 0, efd, 0), 0, 'assign');
  tt.equal(__kvmIrqfd(vm, 1, efd, 0), -EBUSY, 'the same eventfd on another GSI: EBUSY');
  tt.equal(__kvmIrqfd(vm, 0, efd, 0), -EBUSY, 'the same eventfd twice: EBUSY');
  tt.equal(__kvmIrqfd(pre.vm, 0, efd, 0), -EAGAIN, 'another VM: still EAGAIN first');
  tt.equal(__kvmIrqfd(vm, 1, efd, KVM_IRQFD_FLAG_DEASSIGN), 0, 'deassign of a (eventfd, gsi) pair that is not assigned: 0');
  tt.equal(__kvmIrqfd(vm, 0, 9999, KVM_IRQFD_FLAG_DEASSIGN), -EBADF, 'deassign of a closed fd: EBADF');
  tt.equal(__kvmIrqfd(vm, 0, efd, KVM_IRQFD_FLAG_DEASSIGN), 0, 'deassign');
  tt.equal(__kvmIrqfd(vm, 1, efd, 0), 0, 'after deassign the eventfd is free again');
  tt.equal(close(efd), 0);
  const efd2 = kvmNewEventfd();
  tt.equal(__kvmIrqfd(vm, 1, efd2, 0), 0, 'closing the eventfd released its irqfd (EPOLLHUP): the GSI takes another');
  tt.end();
});

t.test('eventfd writes (eventfd_write)', (tt) => {
  const efd = kvmNewEventfd();
  tt.equal(write(efd, u32(1), 4), -EINVAL, 'fewer than 8 bytes: EINVAL');
  tt.equal(write(efd, new Uint8Array(16), 16), -EINVAL, 'more than 8 bytes: EINVAL (7.2 eventfd_write: count != sizeof(ucnt))');
  tt.equal(write(efd, u64(0xffffffffffffffffn), 8), -EINVAL, 'ULLONG_MAX: EINVAL');
  tt.equal(write(efd, u64(5), 8), 8, 'adds to the count');
  const b = u64();
  tt.equal(read(efd, b, 8), 8);
  tt.equal(b.value, 5n, 'read drains the count');
  tt.equal(close(efd), 0);
  tt.equal(write(efd, u64(1), 8), -EBADF, 'closed: EBADF');
  tt.end();
});

t.test('a signalled irqfd raises the SPI its GSI routes to', (tt) => {
  const v = v3Vm({ nrIrqs: NR_IRQS });
  const efd = kvmNewEventfd();
  tt.equal(__kvmIrqfd(v.vm, 3, efd, 0), 0);
  tt.equal(write(efd, u64(1), 8), 8);
  tt.equal(pending1(v), hex(1 << 3), 'default routing (kvm_vgic_setup_default_irq_routing): gsi 3 -> SPI 35');
  setRoute(tt, v.vm, 3, 10);
  tt.equal(write(efd, u64(1), 8), 8);
  tt.equal(pending1(v), hex((1 << 3) | (1 << 10)), 'after KVM_SET_GSI_ROUTING the irqfd follows its GSI: SPI 42');
  setRoute(tt, v.vm, 3, 100);
  tt.equal(write(efd, u64(1), 8), 8, 'a pin beyond the SPIs: the write succeeds...');
  tt.equal(pending1(v), hex((1 << 3) | (1 << 10)), '...and nothing is injected (vgic_valid_spi)');
  setRoute(tt, v.vm, 4, 1);
  tt.equal(write(efd, u64(1), 8), 8, 'a GSI with no route: the write succeeds...');
  tt.equal(pending1(v), hex((1 << 3) | (1 << 10)), '...and nothing is injected');
  tt.equal(__kvmIrqfd(v.vm, 3, efd, KVM_IRQFD_FLAG_DEASSIGN), 0);
  setRoute(tt, v.vm, 3, 20);
  tt.equal(write(efd, u64(1), 8), 8);
  tt.equal(pending1(v), hex((1 << 3) | (1 << 10)), 'a deassigned irqfd injects nothing');
  tt.end();
});

t.test('a level SPI raised by an irqfd stays high (atomic path); MSI routes do nothing without an ITS', (tt) => {
  const v = v3Vm({ nrIrqs: NR_IRQS, guest: null });
  const efd = kvmNewEventfd();
  setRoute(tt, v.vm, 1, 1);
  makeLevel(tt, v, 33);
  tt.equal(__kvmIrqfd(v.vm, 1, efd, 0), 0);
  tt.equal(write(efd, u64(1), 8), 8);
  tt.equal(lines1(tt, v), hex(1 << 1), 'kvm_arch_set_irq_inatomic raised the line and left it high');
  kvmArmIrqLine(v.vm, 33, 0);
  tt.equal(lines1(tt, v), hex(0), 'KVM_IRQ_LINE lowers it');
  const m = kvmNewEventfd();
  tt.equal(_kvmGsiRoutingWrite(v.vm, routing([msi(7, KVM_MSI_VALID_DEVID)])), 0);
  tt.equal(__kvmIrqfd(v.vm, 7, m, 0), 0, 'an irqfd on an MSI route');
  tt.equal(write(m, u64(1), 8), 8, 'kvm_set_msi: -ENODEV without an ITS; the write still succeeds');
  tt.equal(pending1(v), hex(0));
  tt.end();
});

t.test('an eventfd signalled before KVM_IRQFD injects on assignment', (tt) => {
  const v = v3Vm({ nrIrqs: NR_IRQS });
  const efd = kvmNewEventfd();
  tt.equal(write(efd, u64(1), 8), 8);
  tt.equal(__kvmIrqfd(v.vm, 5, efd, 0), 0);
  tt.equal(pending1(v), hex(1 << 5), 'vfs_poll saw EPOLLIN: irqfd_inject ran');
  tt.end();
});

/** Enable SPI 33 at priority 0x80, PMR 0xf8, Group 1 on; acknowledge it (IRQs masked) and EOI it. */
function* ackEoiSpi33(g: Guest): GuestProgram {
  yield* gicInit(g, GIC_V3, 1);
  yield* gicSetPriority(g, 33, 0x80);
  yield* gicIrqEnable(g, 33);
  yield* gicSetPriorityMask(g, 0xf8);
  const intid = yield* gicGetAndAckIrq(g);
  yield* g.sync(intid);
  yield* gicSetEoi(g, intid);
  yield* g.sync(yield* gicGetAndAckIrq(g));
  yield* g.done();
}

t.test('KVM_IRQFD_FLAG_RESAMPLE: the line stays high until the guest deactivates the level SPI', (tt) => {
  const v = v3Vm({ nrIrqs: NR_IRQS, guest: ackEoiSpi33 });
  makeLevel(tt, v, 33);
  const efd = kvmNewEventfd();
  const rfd = kvmNewEventfd();
  tt.equal(__kvmIrqfd(v.vm, 1, efd, KVM_IRQFD_FLAG_RESAMPLE, rfd), 0, 'resampling irqfd on gsi 1 (SPI 33)');
  tt.equal(write(efd, u64(1), 8), 8);
  tt.equal(lines1(tt, v), hex(1 << 1), 'line raised');
  tt.same(runGuest(v.vcpus[0]!), [33, 1023], 'the guest takes SPI 33 once: after its EOI the line is low, nothing re-pends');
  tt.equal(lines1(tt, v), hex(0), 'irqfd_resampler_ack lowered the line (kvm_notify_acked_irq)');
  const b = u64();
  tt.equal(read(rfd, b, 8), 8, 'the resamplefd was signalled');
  tt.equal(b.value, 1n);
  tt.end();
});

t.test('freeing a VM releases its irqfds (kvm_vm_release -> kvm_irqfd_release): the eventfd can feed another VM', (tt) => {
  const a = v3Vm({ nrIrqs: NR_IRQS });
  const b = v3Vm({ nrIrqs: NR_IRQS });
  const efd = kvmNewEventfd();
  tt.equal(__kvmIrqfd(a.vm, 3, efd, 0), 0);
  tt.equal(__kvmIrqfd(b.vm, 3, efd, 0), -EBUSY, 'while the first VM holds it: EBUSY (one priority waiter per eventfd)');
  kvmVmFree(a.vm);
  tt.equal(__kvmIrqfd(b.vm, 3, efd, 0), 0, 'after kvm_vm_free of the first VM: assigned');
  tt.equal(write(efd, u64(1), 8), 8);
  tt.equal(pending1(b), hex(1 << 3), 'and a write raises SPI 35 of the second VM');
  tt.end();
});
