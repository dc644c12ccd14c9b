// The arch timer as KVM owns it (arch/arm64/kvm/arch_timer.c): kvm_timer_enable() on a vCPU's
// first KVM_RUN makes the EL1 timers the owners of PPIs 27 and 30 (userspace KVM_IRQ_LINE on them
// is then accepted and ignored: vgic.c vgic_validate_injection) and maps the vtimer PPI as a
// hardware interrupt (a userspace ISACTIVER write leaves it alone: vgic-mmio.c
// vgic_hw_irq_change_active); KVM_ARM_VCPU_TIMER_CTRL (kvm_arm_timer_{set,get,has}_attr); the
// guest's CNT*_EL0 registers drive the PPI's level (kvm_timer_update_irq).

import t from '../../test/tap.ts';
import { type Guest, type GuestProgram, GIC_V3, gicGetAndAckIrq, gicInit, gicIrqEnable, gicSetPriorityMask } from '../guest/index.ts';
import {
  CNTFRQ_EL0,
  CNTVCT_EL0,
  CNTV_CTL_EL0,
  CNTV_CVAL_EL0,
  CNTV_TVAL_EL0,
  EBUSY,
  EFAULT,
  EINVAL,
  ENXIO,
  GICR_ISACTIVER0,
  GICR_ISPENDR0,
  KVM_ARM_VCPU_PMU_V3_CTRL,
  KVM_ARM_VCPU_TIMER_CTRL,
  KVM_ARM_VCPU_TIMER_IRQ_HPTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_HVTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_PTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_VTIMER,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  __kvmDeviceAttrGet,
  __vcpuDeviceAttrGet,
  __vcpuDeviceAttrSet,
  __vcpuHasDeviceAttr,
  __vcpuRun,
  _kvmArmIrqLine,
  u32,
  vcpuGetPtimerIrq,
  vcpuGetVtimerIrq,
  vmCreateBarebones,
  vmVcpuAdd,
} from '../host/index.ts';
import { SGI_FRAME, type GicVm, doneGuest, hex, rdGet, rdSet, runGuest, v3Vm } from '../../test/support/vgic.ts';

function levelInfo0(v: GicVm): number {
  const b = u32();
  t.equal(__kvmDeviceAttrGet(v.fd, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, 0, b), 0);
  return b.value;
}

t.test('before the first run userspace drives PPI 27; after it the timer owns 27 and 30', (tt) => {
  const v = v3Vm({ guest: doneGuest });
  tt.equal(_kvmArmIrqLine(v.vm, 27, 1), 0);
  tt.equal(hex(levelInfo0(v)), hex(1 << 27), 'no owner yet: KVM_IRQ_LINE sets the line');
  tt.equal(_kvmArmIrqLine(v.vm, 27, 0), 0);
  tt.equal(__vcpuRun(v.vcpus[0]!), 0, 'first KVM_RUN: kvm_timer_enable()');
  tt.equal(_kvmArmIrqLine(v.vm, 27, 1), 0, 'KVM_IRQ_LINE on the vtimer PPI is accepted...');
  tt.equal(_kvmArmIrqLine(v.vm, 30, 1), 0, '...and on the ptimer PPI...');
  tt.equal(_kvmArmIrqLine(v.vm, 20, 1), 0);
  tt.equal(hex(levelInfo0(v)), hex(0x00100000), '...and ignored: LEVEL_INFO word 0 shows only PPI 20');
  tt.equal(rdSet(v.fd, v.vcpus[0]!.mpidr, SGI_FRAME + GICR_ISACTIVER0, (1 << 27) | (1 << 30) | (1 << 20)), 0);
  tt.equal(
    hex(rdGet(v.fd, v.vcpus[0]!.mpidr, SGI_FRAME + GICR_ISACTIVER0).value),
    hex((1 << 30) | (1 << 20)),
    'userspace ISACTIVER does not activate the HW-mapped vtimer PPI (the ptimer is emulated: it does)',
  );
  tt.end();
});

t.test('KVM_ARM_VCPU_TIMER_CTRL', (tt) => {
  const v = v3Vm({ guest: doneGuest });
  const vcpu = v.vcpus[0]!;
  tt.equal(vcpuGetVtimerIrq(vcpu), 27, 'vtimer PPI 27 (default_ppi)');
  tt.equal(vcpuGetPtimerIrq(vcpu), 30, 'ptimer PPI 30');
  const b = u32();
  tt.equal(__vcpuDeviceAttrGet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_HVTIMER, b), 0);
  tt.equal(b.value, 28, 'hvtimer PPI 28');
  tt.equal(__vcpuDeviceAttrGet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_HPTIMER, b), 0);
  tt.equal(b.value, 26, 'hptimer PPI 26');
  tt.equal(__vcpuDeviceAttrGet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, 9, b), -ENXIO, 'unknown timer attribute');
  tt.equal(__vcpuHasDeviceAttr(vcpu, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_VTIMER), 0);
  tt.equal(__vcpuHasDeviceAttr(vcpu, KVM_ARM_VCPU_TIMER_CTRL, 9), -ENXIO);
  tt.equal(__vcpuHasDeviceAttr(vcpu, KVM_ARM_VCPU_PMU_V3_CTRL, 0), -ENXIO, 'no PMU in the model: its group answers like an unknown one');
  tt.equal(__vcpuDeviceAttrSet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, null), -EFAULT, 'NULL value: EFAULT');
  tt.equal(__vcpuDeviceAttrSet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, u32(15)), -EINVAL, 'an SGI is not a PPI');
  tt.equal(__vcpuDeviceAttrSet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, u32(32)), -EINVAL, 'an SPI is not a PPI');
  tt.equal(__vcpuDeviceAttrSet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, 9, u32(20)), -ENXIO, 'a valid PPI for an unknown attribute: ENXIO');
  tt.equal(__vcpuDeviceAttrSet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, u32(27)), 0, 'a duplicate is taken at face value...');
  tt.equal(__vcpuRun(vcpu), -EINVAL, '...and refused at the first KVM_RUN (timer_irqs_are_valid)');
  tt.equal(__vcpuDeviceAttrSet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, u32(29)), 0, 'still settable: nothing ran');
  // The failed run left the ptimer (checked first: TIMER_PTIMER = 0) owning PPI 27, and nothing
  // clears an owner, so the vtimer's kvm_vgic_set_owner(27) is -EEXIST for good.
  tt.equal(__vcpuRun(vcpu), -EINVAL, 'KVM quirk: the stale owner of PPI 27 keeps this vCPU from running');
  const w = v3Vm({ guest: doneGuest });
  const c0 = w.vcpus[0]!;
  tt.equal(__vcpuDeviceAttrSet(c0, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, u32(29)), 0, 'a fresh VM: ptimer on PPI 29');
  tt.equal(__vcpuRun(c0), 0, 'distinct PPIs: the first run succeeds');
  tt.equal(vcpuGetPtimerIrq(c0), 29);
  tt.equal(__vcpuDeviceAttrSet(c0, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, u32(30)), -EBUSY, 'frozen after the first run');
  const bare = vmCreateBarebones();
  const c = vmVcpuAdd(bare, 0);
  tt.equal(__vcpuDeviceAttrSet(c, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, u32(20)), -EINVAL, 'no in-kernel irqchip: EINVAL');
  tt.end();
});

/** The guest's view: counter, CTL.ISTATUS, TVAL, and the PPI's pending state following them. */
function* timerRegs(g: Guest): GuestProgram {
  const rd = 0x8030000 + 0x10000; // this vCPU's SGI frame
  yield* g.sync(yield* g.readSysreg(CNTFRQ_EL0));
  const c0 = yield* g.readSysreg(CNTVCT_EL0);
  const c1 = yield* g.readSysreg(CNTVCT_EL0);
  yield* g.sync(c1 > c0 ? 1 : 0);
  yield* g.writeSysreg(CNTV_CVAL_EL0, c1 + 1_000_000n);
  yield* g.writeSysreg(CNTV_CTL_EL0, 1);
  yield* g.sync(yield* g.readSysreg(CNTV_CTL_EL0)); // ENABLE, condition not met
  yield* g.sync(((yield* g.readl(rd + GICR_ISPENDR0)) >>> 27) & 1);
  yield* g.writeSysreg(CNTV_TVAL_EL0, 20);
  let ctl = 0n;
  let spins = 0;
  while (!(ctl & 4n)) {
    ctl = yield* g.readSysreg(CNTV_CTL_EL0);
    spins++;
  }
  yield* g.sync(ctl);
  yield* g.sync(spins > 1 && spins <= 20 ? 1 : 0); // time passes one tick per access
  yield* g.sync(((yield* g.readl(rd + GICR_ISPENDR0)) >>> 27) & 1);
  yield* g.writeSysreg(CNTV_CTL_EL0, 3); // IMASK
  yield* g.sync(((yield* g.readl(rd + GICR_ISPENDR0)) >>> 27) & 1);
  yield* g.sync(yield* g.readSysreg(CNTV_CTL_EL0)); // ISTATUS stays set, masked
  yield* g.done();
}

t.test('CNTV_* drive the vtimer PPI', (tt) => {
  const v = v3Vm({ guest: timerRegs });
  tt.same(runGuest(v.vcpus[0]!), [25_000_000n, 1, 1n, 0, 5n, 1, 1, 0, 7n], 'CNTFRQ, counting, CTL, pending off/on/masked');
  tt.end();
});

/** Arm the vtimer 10 M ticks ahead, WFI with IRQs masked, then acknowledge. */
function* sleepUntilTimer(g: Guest): GuestProgram {
  yield* gicInit(g, GIC_V3, 1);
  yield* gicIrqEnable(g, 27);
  yield* gicSetPriorityMask(g, 0xf8);
  const now = yield* g.readSysreg(CNTVCT_EL0);
  yield* g.writeSysreg(CNTV_CVAL_EL0, now + 10_000_000n);
  yield* g.writeSysreg(CNTV_CTL_EL0, 1);
  yield* g.wfi();
  yield* g.sync(yield* gicGetAndAckIrq(g));
  yield* g.sync((yield* g.readSysreg(CNTVCT_EL0)) >= now + 10_000_000n ? 1 : 0);
  yield* g.done();
}

t.test('a vCPU in WFI sleeps until its timer fires (kvm_timer_blocking)', (tt) => {
  const v = v3Vm({ guest: sleepUntilTimer });
  tt.same(runGuest(v.vcpus[0]!), [27, 1], 'woken by the timer, PPI 27 taken, the counter moved past CVAL');
  tt.end();
});

/** Arm the vtimer 50 ticks ahead and spin on GICR_ISPENDR0 only (no timer register access). */
function* spinOnPending(g: Guest): GuestProgram {
  const sgiFrame = 0x8030000 + 0x10000;
  const now = yield* g.readSysreg(CNTVCT_EL0);
  yield* g.writeSysreg(CNTV_CVAL_EL0, now + 50n);
  yield* g.writeSysreg(CNTV_CTL_EL0, 1);
  let reads = 0;
  while (!(((yield* g.readl(sgiFrame + GICR_ISPENDR0)) >>> 27) & 1)) reads++;
  yield* g.sync(reads >= 40 && reads <= 50 ? 1 : reads);
  yield* g.done();
}

t.test('a guest ISPENDR read of the vtimer PPI sees the timer\'s line as time passes (vgic_get_phys_line_level)', (tt) => {
  const v = v3Vm({ guest: spinOnPending });
  tt.same(runGuest(v.vcpus[0]!), [1], 'pending once 50 ticks (one per access) have passed');
  tt.end();
});

/** A guest ISPENDR0 write of every PPI, then a read (what gen-v3-redist-GICR_ISPENDR0 does on real KVM). */
function* pendAllPpis(g: Guest): GuestProgram {
  const sgiFrame = 0x8030000 + 0x10000;
  yield* g.writel(sgiFrame + GICR_ISPENDR0, 0xffffffff);
  yield* g.sync(yield* g.readl(sgiFrame + GICR_ISPENDR0));
  yield* g.done();
}

t.test('VHE host: the ptimer PPI is hardware-mapped too (get_timer_map: direct_ptimer)', (tt) => {
  // Measured under QEMU: 0xb7ffffff with kvm-arm.mode=vhe on 6.1.164, 6.12.43, 6.12.117 and 7.2.13
  // (27 and 30 read the timers' lines), 0xf7ffffff with nvhe on 7.2.13 (30 is a software PPI
  // whose latch the write set).
  const vhe = v3Vm({ guest: pendAllPpis, vm: { vhe: true } });
  tt.same(runGuest(vhe.vcpus[0]!).map(hex), [hex(0xb7ffffff)], 'VHE: PPIs 27 and 30 read the (low) timer lines');
  const nvhe = v3Vm({ guest: pendAllPpis });
  tt.same(runGuest(nvhe.vcpus[0]!).map(hex), [hex(0xf7ffffff)], 'nVHE (default): only PPI 27 is hardware-mapped');
  tt.end();
});
