// Guest path vs userspace (uaccess) path: the rows of reference §5.3 that the per-frame tests
// (dist-v3, redist-v3, dist-v2) do not already cover. Each test does the same thing once through
// guest MMIO and once through KVM_{GET,SET}_DEVICE_ATTR and asserts both results.
// Sources: vgic-mmio-v3.c (vgic_v3_uaccess_read_pending, vgic_v3_uaccess_write_pending,
// vgic_mmio_uaccess_write_v3_misc, vgic_v3_dist_registers, vgic_v3_rd_registers), vgic-mmio.c
// (vgic_uaccess_write_spending/cpending, vgic_mmio_change_active, vgic_hw_irq_change_active),
// vgic-mmio-v2.c (vgic_v2_dist_registers).

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  EBUSY,
  EINVAL,
  GICD_CPENDSGIR,
  GICD_CTLR,
  GICD_ICACTIVER,
  GICD_ICFGR,
  GICD_ICPENDR,
  GICD_ISACTIVER,
  GICD_ISPENDR,
  GICD_SPENDSGIR,
  GICD_STATUSR,
  GICD_TYPER,
  GICD_TYPER2,
  GICR_ICACTIVER0,
  GICR_ICPENDR0,
  GICR_IIDR,
  GICR_ISACTIVER0,
  GICR_ISPENDR0,
  GICR_STATUSR,
  GICR_WAKER,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  _kvmIrqLine,
} from '../host/index.ts';
import {
  SGI_FRAME,
  V2_DIST_BASE,
  V3_DIST_BASE,
  V3_RDIST_BASE,
  ctrlSet,
  distGet,
  distSet,
  hex,
  rdGet,
  rdSet,
  readerGuest,
  runGuest,
  runUntilSync,
  v2DistGet,
  v2DistSet,
  v2Vm,
  v3Vm,
} from '../../test/support/vgic.ts';

const D = V3_DIST_BASE;
const SGI = V3_RDIST_BASE + SGI_FRAME;
const D2 = V2_DIST_BASE;
const spi = (n: number): number => ((KVM_ARM_IRQ_TYPE_SPI << 24) | n) >>> 0;
const ppi = (vcpu: number, n: number): number => ((KVM_ARM_IRQ_TYPE_PPI << 24) | (vcpu << 16) | n) >>> 0;

// --- v3 pending -----------------------------------------------------------------------------------

t.test('v3 ISPENDR: the guest reads latch|line, userspace reads the latch only', (t) => {
  const { fd, vm, vcpus } = v3Vm({ guest: readerGuest([D + GICD_ISPENDR + 4, SGI + GICR_ISPENDR0]) });
  distSet(fd, GICD_ICFGR + 8, 0); // SPIs 32-47 level
  t.equal(_kvmIrqLine(vm, spi(33), 1), 0, 'SPI 33 line high');
  t.equal(_kvmIrqLine(vm, ppi(0, 20), 1), 0, 'PPI 20 line high (PPIs reset level)');
  distSet(fd, GICD_ISPENDR + 4, 0x4); // latch SPI 34 from userspace
  // vgic_v3_uaccess_read_pending reads pending_latch only; the guest's vgic_mmio_read_pending
  // reads irq_is_pending() = latch | line for level IRQs (ref §5.3)
  t.equal(hex(distGet(fd, GICD_ISPENDR + 4).value), hex(0x4), 'userspace GICD_ISPENDR1: only the latched SPI 34');
  t.equal(rdGet(fd, 0, SGI_FRAME + GICR_ISPENDR0).value, 0, 'userspace GICR_ISPENDR0: PPI 20 line not shown');
  t.same(runGuest(vcpus[0]!).map(hex), [hex(0x6), hex(0x00100000)], 'guest: SPI 33 (line) and 34 (latch); PPI 20 (line)');
  t.end();
});

t.test('v3 ISPENDR: a userspace write assigns the latch (set bits set, clear bits clear)', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(D + GICD_ISPENDR + 4, 0x3); // latch SPIs 32, 33
    yield* g.writel(SGI + GICR_ISPENDR0, 0x00030001); // SGI 0, PPIs 16, 17
    yield* g.sync(0);
    yield* g.sync(yield* g.readl(D + GICD_ISPENDR + 4));
    yield* g.sync(yield* g.readl(SGI + GICR_ISPENDR0));
    yield* g.done();
  };
  const { fd, vm, vcpus } = v3Vm({ guest });
  distSet(fd, GICD_ICFGR + 8, 0x0); // SPIs 32-47 level
  _kvmIrqLine(vm, spi(32), 1); // SPI 32's line stays high
  const vcpu = vcpus[0]!;
  runUntilSync(vcpu); // the guest has latched SPIs 32, 33 and SGI 0, PPIs 16, 17
  t.equal(hex(distGet(fd, GICD_ISPENDR + 4).value), hex(0x3), 'latches 32, 33 before the write');
  // vgic_v3_uaccess_write_pending: pending_latch = test_bit(i, &val) for every IRQ in the word
  t.equal(distSet(fd, GICD_ISPENDR + 4, 0x6), 0, 'userspace writes 0b110');
  t.equal(rdSet(fd, 0, SGI_FRAME + GICR_ISPENDR0, 0x00040000), 0, 'userspace writes PPI 18 only');
  t.equal(hex(distGet(fd, GICD_ISPENDR + 4).value), hex(0x6), 'latch = 0b110: 32 cleared, 34 set');
  t.equal(hex(rdGet(fd, 0, SGI_FRAME + GICR_ISPENDR0).value), hex(0x00040000), 'SGI 0, PPIs 16, 17 cleared; PPI 18 set');
  t.equal(vm.dist.spis[0]!.isPending(), true, 'SPI 32 still pending through its line');
  const rest = runGuest(vcpu);
  // guest view: latch | line; SPI 32's line is still high
  t.same(rest.map(hex), [hex(0x7), hex(0x00040000)], 'guest sees 32 (line), 33, 34 and PPI 18');
  t.end();
});


t.test('v3 ICPENDR: userspace reads 0 and writes are ignored; the guest clears latches', (t) => {
  const guest = readerGuest([D + GICD_ICPENDR + 4, SGI + GICR_ICPENDR0]);
  const { fd, vm, vcpus } = v3Vm({ guest });
  distSet(fd, GICD_ISPENDR + 4, 0xf0);
  rdSet(fd, 0, SGI_FRAME + GICR_ISPENDR0, 0x00ff0000);
  // ICPENDR rows: uaccess_read = vgic_mmio_read_raz, uaccess_write = vgic_mmio_uaccess_write_wi
  t.equal(distGet(fd, GICD_ICPENDR + 4).value, 0, 'userspace GICD_ICPENDR1 reads 0');
  t.equal(rdGet(fd, 0, SGI_FRAME + GICR_ICPENDR0).value, 0, 'userspace GICR_ICPENDR0 reads 0');
  t.equal(distSet(fd, GICD_ICPENDR + 4, 0xffffffff), 0, 'userspace GICD_ICPENDR1 write returns 0');
  t.equal(rdSet(fd, 0, SGI_FRAME + GICR_ICPENDR0, 0xffffffff), 0, 'userspace GICR_ICPENDR0 write returns 0');
  t.equal(hex(distGet(fd, GICD_ISPENDR + 4).value), hex(0xf0), 'SPI latches untouched');
  t.equal(hex(rdGet(fd, 0, SGI_FRAME + GICR_ISPENDR0).value), hex(0x00ff0000), 'PPI latches untouched');
  // the guest's ICPENDR reads the pending state (vgic_mmio_read_pending)
  t.same(runGuest(vcpus[0]!).map(hex), [hex(0xf0), hex(0x00ff0000)], 'guest ICPENDR reads the pending bits');
  const clearer = v3Vm({
    guest: function* (g: Guest): GuestProgram {
      yield* g.writel(D + GICD_ICPENDR + 4, 0x30);
      yield* g.done();
    },
  });
  distSet(clearer.fd, GICD_ISPENDR + 4, 0xf0);
  runGuest(clearer.vcpus[0]!);
  t.equal(hex(distGet(clearer.fd, GICD_ISPENDR + 4).value), hex(0xc0), 'guest ICPENDR clears latches 36, 37');
  t.equal(vm.dist.spis[4]!.pendingLatch, true, 'first VM: SPI 36 latch survived the userspace ICPENDR write');
  t.end();
});

// --- v2 pending and SGI sources -----------------------------------------------------------------

t.test('v2 ISPENDR: userspace SGI bits set pending with the named vCPU as source; the guest cannot', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    if (g.vcpuId === 1) yield* g.writel(D2 + GICD_ISPENDR, 0x00000020); // SGI 5: WI from the guest
    yield* g.done();
  };
  const { fd, vm, vcpus } = v2Vm({ nrVcpus: 2, guest });
  runGuest(vcpus[1]!);
  t.equal(v2DistGet(fd, 1, GICD_ISPENDR).value & 0xffff, 0, 'guest ISPENDR SGI bit ignored');
  // vgic_uaccess_write_spending: pending_latch = true and, for a v2 SGI, source |= BIT(vcpu_id)
  t.equal(v2DistSet(fd, 1, GICD_ISPENDR, 0x00000028), 0, 'userspace via vCPU 1: SGIs 3 and 5');
  t.equal(hex(v2DistGet(fd, 1, GICD_ISPENDR).value), hex(0x28), 'vCPU 1 ISPENDR0: SGIs 3, 5 pending');
  t.equal(hex(v2DistGet(fd, 1, GICD_SPENDSGIR).value), hex(0x02000000), 'SPENDSGIR0 byte for SGI 3: source vCPU 1');
  t.equal(hex(v2DistGet(fd, 1, GICD_SPENDSGIR + 4).value), hex(0x00000200), 'SPENDSGIR1 byte for SGI 5: source vCPU 1');
  t.equal(v2DistGet(fd, 0, GICD_ISPENDR).value & 0xffff, 0, 'vCPU 0 untouched');
  // v2 ISPENDR uaccess reads latch | line (no uaccess_read override in vgic_v2_dist_registers)
  t.equal(_kvmIrqLine(vm, ppi(1, 20), 1), 0, 'PPI 20 line high on vCPU 1');
  t.equal(hex(v2DistGet(fd, 1, GICD_ISPENDR).value), hex(0x00100028), 'v2 userspace ISPENDR shows the PPI line');
  t.end();
});

t.test('v2 ICPENDR: a userspace SGI clear wipes every source; the guest bit is WI', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(D2 + GICD_ICPENDR, 0x00000004); // SGI 2: WI from the guest
    yield* g.done();
  };
  const { fd, vcpus } = v2Vm({ nrVcpus: 3, guest });
  t.equal(v2DistSet(fd, 0, GICD_SPENDSGIR, 0x00070000), 0, 'SGI 2 on vCPU 0 with sources 0, 1, 2');
  runGuest(vcpus[0]!);
  t.equal(hex(v2DistGet(fd, 0, GICD_SPENDSGIR).value), hex(0x00070000), 'guest ICPENDR left the sources');
  t.equal(hex(v2DistGet(fd, 0, GICD_ISPENDR).value & 0xffff), hex(0x4), 'still pending');
  // vgic_uaccess_write_cpending: is_vgic_v2_sgi -> irq->source = 0; pending_latch = false
  t.equal(v2DistSet(fd, 0, GICD_ICPENDR, 0x00000004), 0, 'userspace ICPENDR SGI 2');
  t.equal(v2DistGet(fd, 0, GICD_SPENDSGIR).value, 0, 'all sources gone');
  t.equal(v2DistGet(fd, 0, GICD_ISPENDR).value & 0xffff, 0, 'not pending');
  t.end();
});

t.test('v2 CPENDSGIR from userspace drops only the named sources', (t) => {
  const { fd } = v2Vm({ nrVcpus: 3 });
  v2DistSet(fd, 0, GICD_SPENDSGIR, 0x00000600); // SGI 1 from vCPUs 1, 2
  // no uaccess override: vgic_mmio_write_sgipendc, as for the guest
  t.equal(v2DistSet(fd, 0, GICD_CPENDSGIR, 0x00000200), 0, 'drop source 1');
  t.equal(hex(v2DistGet(fd, 0, GICD_SPENDSGIR).value), hex(0x00000400), 'source 2 left');
  t.equal(hex(v2DistGet(fd, 0, GICD_ISPENDR).value & 0xffff), hex(0x2), 'still pending');
  t.end();
});

// --- active state ---------------------------------------------------------------------------------

t.test('I{S,C}ACTIVER: userspace does not touch HW-mapped IRQs; the guest does', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(SGI + GICR_ISACTIVER0, 0x08000000); // PPI 27
    yield* g.sync(yield* g.readl(SGI + GICR_ISACTIVER0));
    yield* g.writel(SGI + GICR_ICACTIVER0, 0x08000000);
    yield* g.sync(yield* g.readl(SGI + GICR_ISACTIVER0));
    yield* g.done();
  };
  const { fd, vcpus } = v3Vm({ guest });
  const vtimer = vcpus[0]!.vgic.privateIrqs[27]!;
  vtimer.hw = true; // kvm_vgic_map_phys_irq() by the arch timer
  // vgic_mmio_change_active -> vgic_hw_irq_change_active(..., is_uaccess) returns early
  t.equal(rdSet(fd, 0, SGI_FRAME + GICR_ISACTIVER0, 0x0c000000), 0, 'userspace sets PPIs 26 and 27 active');
  t.equal(hex(rdGet(fd, 0, SGI_FRAME + GICR_ISACTIVER0).value), hex(0x04000000), 'only PPI 26 (not HW) became active');
  vtimer.active = true;
  t.equal(rdSet(fd, 0, SGI_FRAME + GICR_ICACTIVER0, 0x0c000000), 0, 'userspace clears both');
  t.equal(hex(rdGet(fd, 0, SGI_FRAME + GICR_ISACTIVER0).value), hex(0x08000000), 'the HW PPI 27 stayed active');
  vtimer.active = false;
  // the guest path changes the virtual state of a HW IRQ (and would change the physical one)
  t.same(runGuest(vcpus[0]!).map(hex), [hex(0x08000000), hex(0)], 'guest ISACTIVER/ICACTIVER move PPI 27');
  t.end();
});

t.test('I{S,C}ACTIVER on SPIs: userspace reads and writes the active state', (t) => {
  const { fd, vm } = v3Vm();
  // vgic_uaccess_read_active / vgic_mmio_uaccess_write_{s,c}active: no halting, plain state
  t.equal(distSet(fd, GICD_ISACTIVER + 4, 0x81), 0, 'set SPIs 32, 39 active');
  t.equal(hex(distGet(fd, GICD_ICACTIVER + 4).value), hex(0x81), 'ICACTIVER reads the active bits too');
  t.equal(distSet(fd, GICD_ICACTIVER + 4, 0x1), 0, 'clear SPI 32');
  t.equal(hex(distGet(fd, GICD_ISACTIVER + 4).value), hex(0x80), 'SPI 39 left');
  t.equal(vm.dist.spis[7]!.active, true, 'model state agrees');
  t.end();
});

t.test('v2 SGI ISACTIVER: active_source is the guest vCPU, or 0 from userspace', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(D2 + GICD_ISACTIVER, 0x00000004); // SGI 2 on the caller
    yield* g.done();
  };
  const { fd, vcpus } = v2Vm({ nrVcpus: 2, guest });
  runGuest(vcpus[1]!);
  // vgic_mmio_change_active: active_source = requester_vcpu ? requester_vcpu->vcpu_id : 0
  t.equal(vcpus[1]!.vgic.privateIrqs[2]!.active, true, 'SGI 2 active on vCPU 1');
  t.equal(vcpus[1]!.vgic.privateIrqs[2]!.activeSource, 1, 'guest path: active_source 1');
  t.equal(v2DistSet(fd, 1, GICD_ISACTIVER, 0x00000008), 0, 'userspace via vCPU 1: SGI 3 active');
  t.equal(vcpus[1]!.vgic.privateIrqs[3]!.active, true, 'SGI 3 active');
  t.equal(vcpus[1]!.vgic.privateIrqs[3]!.activeSource, 0, 'userspace path: active_source 0');
  t.end();
});

// --- GICD_CTLR / TYPER / TYPER2 ---------------------------------------------------------------------

t.test('v3 GICD_CTLR from userspace: EnableGrp1 stored, nASSGIreq masked without GICv4.1', (t) => {
  const { fd, vm } = v3Vm();
  // vgic_mmio_uaccess_write_v3_misc GICD_CTLR: enabled = EnableGrp1; nASSGIreq only with HW SGIs
  t.equal(distSet(fd, GICD_CTLR, 0x3), 0, 'write EnableGrp0|EnableGrp1');
  t.equal(hex(distGet(fd, GICD_CTLR).value), hex(0x52), 'reads ARE|DS|EnableGrp1 (EnableGrp0 RAZ/WI)');
  t.equal(distSet(fd, GICD_CTLR, 0x102), 0, 'write nASSGIreq|EnableGrp1');
  t.equal(hex(distGet(fd, GICD_CTLR).value), hex(0x52), 'nASSGIreq masked (no GICv4.1)');
  t.equal(vm.dist.nassgireq, false, 'model: nassgireq false');
  t.equal(distSet(fd, GICD_CTLR, 0), 0, 'disable');
  t.equal(hex(distGet(fd, GICD_CTLR).value), hex(0x50), 'ARE|DS');
  t.end();
});

t.test('v3 GICD_CTLR nASSGIreq with GICv4.1: userspace sets it while enabled, the guest cannot', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(D + GICD_CTLR, 0x102); // stays enabled: nASSGIreq is RO (vgic_mmio_write_v3_misc)
    yield* g.sync(yield* g.readl(D + GICD_CTLR));
    yield* g.done();
  };
  const gv = v3Vm({ vm: { directSgis: true }, guest });
  distSet(gv.fd, GICD_CTLR, 0x2);
  t.same(runGuest(gv.vcpus[0]!).map(hex), [hex(0x52)], 'guest: nASSGIreq not taken while the distributor stays enabled');
  const uv = v3Vm({ vm: { directSgis: true } });
  distSet(uv.fd, GICD_CTLR, 0x2);
  // vgic_mmio_uaccess_write_v3_misc assigns enabled and nassgireq directly (ref §5.3)
  t.equal(distSet(uv.fd, GICD_CTLR, 0x102), 0, 'userspace writes nASSGIreq|EnableGrp1 while enabled');
  t.equal(hex(distGet(uv.fd, GICD_CTLR).value), hex(0x152), 'userspace: nASSGIreq set');
  t.end();
});

t.test('v3 GICD_TYPER from userspace: write accepted and ignored', (t) => {
  const { fd } = v3Vm({ nrIrqs: 128 });
  t.equal(distSet(fd, GICD_TYPER, 0xffffffff), 0, 'returns 0');
  t.equal(hex(distGet(fd, GICD_TYPER).value), hex(0x00480003), 'unchanged (128 IRQs, ref §3.1)');
  t.end();
});

t.test('v3 GICD_TYPER2 from userspace without GICv4.1', (t) => {
  const { fd } = v3Vm({ init: false });
  // vgic_mmio_uaccess_write_v3_misc GICD_TYPER2 (ref §5.3): same value -> 0; nASSGIcap without
  // HW -> EINVAL; other bits -> EINVAL; a change after init -> EBUSY
  t.equal(distGet(fd, GICD_TYPER2).value, 0, 'reads 0');
  t.equal(distSet(fd, GICD_TYPER2, 0), 0, 'same value: 0');
  t.equal(distSet(fd, GICD_TYPER2, 0x100), -EINVAL, 'nASSGIcap without GICv4.1: EINVAL');
  t.equal(distSet(fd, GICD_TYPER2, 0x1), -EINVAL, 'another bit: EINVAL');
  t.equal(distGet(fd, GICD_TYPER2).value, 0, 'still 0');
  ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT);
  t.equal(distSet(fd, GICD_TYPER2, 0), 0, 'after INIT, same value: 0');
  t.equal(distSet(fd, GICD_TYPER2, 0x100), -EBUSY, 'after INIT, a change: EBUSY (checked before the bit checks)');
  t.end();
});

t.test('v3 GICD_TYPER2 with GICv4.1: nASSGIcap on by default, userspace may clear it before INIT', (t) => {
  const { fd, vm } = v3Vm({ init: false, vm: { directSgis: true } });
  // vgic-init.c kvm_vgic_create: nassgicap = system_supports_direct_sgis()
  t.equal(hex(distGet(fd, GICD_TYPER2).value), hex(0x100), 'reads nASSGIcap');
  t.equal(distSet(fd, GICD_TYPER2, 0), 0, 'clear: 0');
  t.equal(distGet(fd, GICD_TYPER2).value, 0, 'reads 0');
  t.equal(distSet(fd, GICD_TYPER2, 0x100), 0, 'set again: 0 (the host has it)');
  t.equal(distSet(fd, GICD_TYPER2, 0x101), -EINVAL, 'with another bit: EINVAL');
  ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT);
  t.equal(distSet(fd, GICD_TYPER2, 0), -EBUSY, 'clearing after INIT: EBUSY');
  t.equal(hex(distGet(fd, GICD_TYPER2).value), hex(0x100), 'still nASSGIcap');
  t.equal(vm.dist.nassgicap, true, 'model agrees');
  t.end();
});

t.test('v3 guest writes to GICD_TYPER2 / TYPER / IIDR are ignored', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(D + GICD_TYPER2, 0x100);
    yield* g.writel(D + GICD_TYPER, 0);
    yield* g.writel(D + 0x8, 0);
    yield* g.sync(yield* g.readl(D + GICD_TYPER2));
    yield* g.sync(yield* g.readl(D + GICD_TYPER));
    yield* g.sync(yield* g.readl(D + 0x8));
    yield* g.done();
  };
  const { vcpus } = v3Vm({ guest, vm: { directSgis: true } });
  // vgic_mmio_write_v3_misc: TYPER, TYPER2, IIDR "at best for documentation purposes"
  t.same(runGuest(vcpus[0]!).map(hex), [0x100, 0x00480001, 0x4b00343b].map(hex), 'all unchanged');
  t.end();
});

// --- RO registers written from userspace ---------------------------------------------------------

t.test('GICD_STATUSR, GICR_IIDR, GICR_STATUSR, GICR_WAKER: userspace writes return 0 and change nothing', (t) => {
  const { fd } = v3Vm();
  // ref §5.3: "GICR_IIDR, GICD_STATUSR, GICR_STATUSR: WI (the docs claim STATUSR is writable)"
  t.equal(distSet(fd, GICD_STATUSR, 0), 0, 'GICD_STATUSR write 0');
  t.equal(hex(distGet(fd, GICD_STATUSR).value), hex(0xffffffff), 'GICD_STATUSR still RAO');
  t.equal(rdSet(fd, 0, GICR_IIDR, 0x12345678), 0, 'GICR_IIDR write 0');
  t.equal(hex(rdGet(fd, 0, GICR_IIDR).value), hex(0x4b00043b), 'GICR_IIDR unchanged, no revision field');
  t.equal(rdSet(fd, 0, GICR_STATUSR, 0xffffffff), 0, 'GICR_STATUSR write 0');
  t.equal(rdGet(fd, 0, GICR_STATUSR).value, 0, 'GICR_STATUSR RAZ');
  t.equal(rdSet(fd, 0, GICR_WAKER, 0x2), 0, 'GICR_WAKER write (ProcessorSleep)');
  t.equal(rdGet(fd, 0, GICR_WAKER).value, 0, 'GICR_WAKER RAZ');
  t.end();
});
