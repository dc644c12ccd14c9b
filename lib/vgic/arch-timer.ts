// The arm64 generic timer as KVM owns it (arch/arm64/kvm/arch_timer.c), as far as the vGIC sees
// it: the EL1 virtual and physical timers of each vCPU, their PPIs (per VM, 27 and 30 by default,
// settable through KVM_ARM_VCPU_TIMER_CTRL until a vCPU first runs), kvm_timer_enable() on a
// vCPU's first run (the timers become the owners of their PPIs, so userspace injection is
// ignored, and the vtimer PPI, and on a VHE host the ptimer PPI, are mapped to the hardware timer
// interrupts: VgicHostCaps.vhe), and the guest's
// CNT*_EL0 registers, whose ENABLE/IMASK/condition drive the PPI's line level
// (kvm_timer_update_irq -> kvm_vgic_inject_irq with the timer context as owner).
//
// Time is deterministic: the physical count is a fixed boot value plus one tick per guest access
// executed by any vCPU of the VM (VgicVmHooks.guestTicks) plus the time skipped while vCPUs slept
// in WFI. A vCPU in WFI with a timer that will fire sleeps exactly until it fires
// (kvm_timer_blocking's background hrtimer). Levels are re-evaluated at every timer register
// access and at WFI, which is where a guest can observe them; a guest spinning on memory with a
// timer armed sees it fire only at its next timer access or WFI.
//
// Not modelled: the EL2 timers of nested virt (HVTIMER/HPTIMER have PPIs 28/26 and their
// attributes, nothing else), the counter offsets API (KVM_ARM_SET_COUNTER_OFFSET, CNTVOFF), timers of a VM without an in-kernel vGIC
// (kvm_timer_should_notify_user), and KVM_GET/SET_ONE_REG for the timer registers.

import { EAGAIN, EBUSY, EEXIST, EINVAL, ENXIO } from '../uapi/errno.ts';
import {
  ARCH_TIMER_CTRL_ENABLE,
  ARCH_TIMER_CTRL_IT_MASK,
  ARCH_TIMER_CTRL_IT_STAT,
  KVM_ARM_VCPU_TIMER_IRQ_HPTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_HVTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_PTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_VTIMER,
} from '../uapi/kvm-irq.ts';
import { VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS } from '../uapi/kvm.ts';
import { vgicInjectIrq } from './init.ts';
import type { VgicCpu, VgicDist } from './state.ts';
import {
  CNTFRQ_EL0,
  CNTPCT_EL0,
  CNTP_CTL_EL0,
  CNTP_CVAL_EL0,
  CNTP_TVAL_EL0,
  CNTVCT_EL0,
  CNTV_CTL_EL0,
  CNTV_CVAL_EL0,
  CNTV_TVAL_EL0,
  EMULATED_CNTFRQ,
} from './timer-regs.ts';
import { type UserBuf, getUser, putUser } from './user-buf.ts';

/** enum kvm_arch_timers: index into the VM's PPI table. */
export const TIMER_PTIMER = 0;
export const TIMER_VTIMER = 1;
export const TIMER_HVTIMER = 2;
export const TIMER_HPTIMER = 3;

/** arch_timer.c: default_ppi[] (kvm_timer_init_vm). */
const DEFAULT_PPI = [30, 27, 28, 26] as const;

/** The host's physical count when the model starts (the vtimer's offset makes the guest's virtual count start at 0). */
const BOOT_COUNT = 0x10_0000_0000n;

/** struct arch_timer_context, the EL1 part. */
interface TimerContext {
  readonly id: number;
  /** Owner token given to kvm_vgic_set_owner / kvm_vgic_inject_irq (the context pointer in KVM). */
  readonly owner: string;
  ctl: number;
  cval: bigint;
  /** irq.level: the line last driven into the vGIC. */
  level: boolean;
}

/** struct arch_timer_cpu */
interface VcpuTimers {
  /** kvm_timer_enable() done. */
  enabled: boolean;
  readonly vtimer: TimerContext;
  readonly ptimer: TimerContext;
}

/** kvm->arch.timer_data, plus the model's clock. */
interface VmTimerData {
  readonly ppi: number[];
  /** KVM_ARCH_FLAG_TIMER_PPIS_IMMUTABLE */
  ppisImmutable: boolean;
  /** Ticks skipped while a vCPU slept in WFI until its timer fired. */
  skew: bigint;
  /** Offset of the virtual counter (timer_set_offset(vtimer, kvm_phys_timer_read()) at vCPU init). */
  readonly voffset: bigint;
}

const vmData = new WeakMap<VgicDist, VmTimerData>();
const cpuData = new WeakMap<VgicCpu, VcpuTimers>();

function vmTimers(dist: VgicDist): VmTimerData {
  let d = vmData.get(dist);
  if (!d) {
    d = { ppi: [...DEFAULT_PPI], ppisImmutable: false, skew: 0n, voffset: BOOT_COUNT };
    vmData.set(dist, d);
  }
  return d;
}

function cpuTimers(vcpu: VgicCpu): VcpuTimers {
  let t = cpuData.get(vcpu);
  if (!t) {
    // kvm_timer_vcpu_reset(): both timers disabled, CVAL 0, line low.
    const ctx = (id: number, owner: string): TimerContext => ({ id, owner: `${owner}@vcpu${vcpu.vcpuIdx}`, ctl: 0, cval: 0n, level: false });
    t = { enabled: false, vtimer: ctx(TIMER_VTIMER, 'vtimer'), ptimer: ctx(TIMER_PTIMER, 'ptimer') };
    cpuData.set(vcpu, t);
  }
  return t;
}

/** kvm_phys_timer_read(): the host counter. */
function physCount(dist: VgicDist): bigint {
  return BOOT_COUNT + BigInt(dist.vm.guestTicks?.() ?? 0) + vmTimers(dist).skew;
}

/** timer_get_offset(): the vtimer runs behind the physical counter by the VM's offset, the ptimer not at all. */
function offsetOf(dist: VgicDist, ctx: TimerContext): bigint {
  return ctx.id === TIMER_VTIMER ? vmTimers(dist).voffset : 0n;
}

/** The count the timer compares CVAL against (CNTVCT or CNTPCT as the guest reads it). */
function timerCount(dist: VgicDist, ctx: TimerContext): bigint {
  return physCount(dist) - offsetOf(dist, ctx);
}

/** kvm_timer_irq_can_fire() / kvm_timer_enabled(): enabled and not masked. */
function canFire(ctx: TimerContext): boolean {
  return (ctx.ctl & ARCH_TIMER_CTRL_ENABLE) !== 0 && (ctx.ctl & ARCH_TIMER_CTRL_IT_MASK) === 0;
}

/** kvm_timer_should_fire() for a context not loaded on a CPU: can fire and CVAL <= count. */
function shouldFire(dist: VgicDist, ctx: TimerContext): boolean {
  return canFire(ctx) && ctx.cval <= timerCount(dist, ctx);
}

/** The timer's PPI (timer_irq(ctx)): the VM's table entry for its index. */
export function timerIrq(dist: VgicDist, id: number): number {
  return vmTimers(dist).ppi[id]!;
}

/** kvm_timer_update_irq(): drive the PPI's line from the timer, as its owner. */
function updateIrq(dist: VgicDist, vcpu: VgicCpu, ctx: TimerContext): void {
  const level = shouldFire(dist, ctx);
  if (level === ctx.level) return;
  ctx.level = level;
  // Without an in-kernel vGIC the level would go to userspace (kvm_timer_should_notify_user).
  if (!dist.created || !dist.initialized) return;
  vgicInjectIrq(dist, vcpu, timerIrq(dist, ctx.id), level, ctx.owner);
}

/** Re-evaluate both EL1 timers of a vCPU (time may have passed). */
function updateAll(dist: VgicDist, vcpu: VgicCpu): void {
  const t = cpuTimers(vcpu);
  updateIrq(dist, vcpu, t.vtimer);
  updateIrq(dist, vcpu, t.ptimer);
}

/**
 * kvm_timer_blocking() then kvm_bg_timer_expire(): a vCPU in WFI whose timer can fire sleeps until
 * the earliest one expires; the clock jumps there and the levels are updated. Returns true if
 * time moved or a level rose (the caller re-checks for a deliverable interrupt).
 */
export function timerWfiExpire(dist: VgicDist, vcpu: VgicCpu): boolean {
  const t = cpuTimers(vcpu);
  let earliest: bigint | null = null;
  for (const ctx of [t.vtimer, t.ptimer]) {
    if (!canFire(ctx)) continue;
    const due = ctx.cval + offsetOf(dist, ctx); // in physical counts
    if (earliest === null || due < earliest) earliest = due;
  }
  if (earliest === null) return false;
  const now = physCount(dist);
  if (earliest > now) vmTimers(dist).skew += earliest - now;
  updateAll(dist, vcpu);
  return true;
}

// --- kvm_timer_enable (first run) --------------------------------------------------------------

/** kvm_vgic_set_owner(): EINVAL for a non-PPI, EEXIST if another device owns the IRQ. */
function setOwner(dist: VgicDist, vcpu: VgicCpu, intid: number, owner: string): number {
  if (!dist.initialized) return -EAGAIN; // cannot happen after kvm_vgic_map_resources()
  if (intid < VGIC_NR_SGIS || intid >= VGIC_NR_PRIVATE_IRQS) return -EINVAL;
  const irq = vcpu.privateIrqs[intid]!;
  if (irq.owner !== null && irq.owner !== owner) return -EEXIST;
  irq.owner = owner;
  return 0;
}

/**
 * kvm_timer_enable(), called by kvm_arch_vcpu_run_pid_change() on a vCPU's first KVM_RUN after
 * the vGIC is mapped: timer_irqs_are_valid() makes each EL1 timer the owner of its PPI (the
 * first conflict stops it) and, if the PPIs are distinct, freezes the VM's PPI table; then the
 * vtimer PPI is mapped to the hardware timer interrupt (kvm_vgic_map_phys_irq). 0 or -EINVAL.
 */
export function kvmTimerEnable(dist: VgicDist, vcpu: VgicCpu): number {
  const t = cpuTimers(vcpu);
  if (t.enabled) return 0;
  if (dist.created) {
    const vm = vmTimers(dist);
    let ppis = 0;
    for (const ctx of [t.ptimer, t.vtimer]) {
      const irq = timerIrq(dist, ctx.id);
      if (setOwner(dist, vcpu, irq, ctx.owner)) break;
      ppis |= 1 << (irq & 0x1f);
    }
    // "valid = hweight32(ppis) == nr_timers(vcpu)"
    let bits = 0;
    for (let p = ppis; p; p &= p - 1) bits++;
    if (bits !== 2) return -EINVAL;
    vm.ppisImmutable = true;
    // kvm_vgic_map_phys_irq() for get_timer_map()'s direct timers, with arch_timer_irq_ops: HW,
    // and the pending state a guest reads is the timer's own line (kvm_arch_timer_get_input_level
    // -> kvm_timer_should_fire). The vtimer always; the ptimer too on a VHE host (has_vhe(): both
    // are direct), where an nVHE host emulates it (emul_ptimer, a plain software PPI).
    for (const ctx of dist.caps.vhe ? [t.vtimer, t.ptimer] : [t.vtimer]) {
      const irq = vcpu.privateIrqs[timerIrq(dist, ctx.id)]!;
      irq.hw = true;
      irq.inputLevel = () => {
        updateIrq(dist, vcpu, ctx); // the time that passed may have fired it
        return shouldFire(dist, ctx);
      };
    }
    dist.kick();
  }
  t.enabled = true;
  return 0;
}

// --- KVM_ARM_VCPU_TIMER_CTRL (vCPU device attributes) -----------------------------------------

function attrIndex(attr: bigint): number {
  switch (attr) {
    case BigInt(KVM_ARM_VCPU_TIMER_IRQ_VTIMER):
      return TIMER_VTIMER;
    case BigInt(KVM_ARM_VCPU_TIMER_IRQ_PTIMER):
      return TIMER_PTIMER;
    case BigInt(KVM_ARM_VCPU_TIMER_IRQ_HVTIMER):
      return TIMER_HVTIMER;
    case BigInt(KVM_ARM_VCPU_TIMER_IRQ_HPTIMER):
      return TIMER_HPTIMER;
  }
  return -1;
}

/**
 * kvm_arm_timer_set_attr(): EINVAL without an in-kernel irqchip, EFAULT for a bad buffer, EINVAL
 * for a non-PPI, EBUSY once the PPIs are frozen, ENXIO for an unknown attribute. The value is
 * taken at face value; duplicates are refused at the first run.
 */
export function timerSetAttr(dist: VgicDist, attr: bigint, buf: UserBuf | null): number {
  if (!dist.created) return -EINVAL;
  const u = getUser(buf, 32);
  if (u.ret) return u.ret;
  const irq = Number(BigInt.asIntN(32, u.value));
  if (irq < VGIC_NR_SGIS || irq >= VGIC_NR_PRIVATE_IRQS) return -EINVAL; // irq_is_ppi()
  const vm = vmTimers(dist);
  if (vm.ppisImmutable) return -EBUSY;
  const idx = attrIndex(attr);
  if (idx < 0) return -ENXIO;
  vm.ppi[idx] = irq;
  return 0;
}

/** kvm_arm_timer_get_attr(): the timer's PPI, ENXIO for an unknown attribute. */
export function timerGetAttr(dist: VgicDist, attr: bigint, buf: UserBuf | null): number {
  const idx = attrIndex(attr);
  if (idx < 0) return -ENXIO;
  return putUser(buf, 32, BigInt(timerIrq(dist, idx)));
}

/** kvm_arm_timer_has_attr() */
export function timerHasAttr(attr: bigint): number {
  return attrIndex(attr) < 0 ? -ENXIO : 0;
}

// --- guest CNT*_EL0 accesses ------------------------------------------------------------------

/** What the guest's access to a timer register gives: a value, or UNDEF (not a timer register we serve). */
export type TimerSysregResult = { ok: true; value: bigint } | { ok: false; reason: string } | null;

interface TimerReg {
  readonly name: string;
  /** Which timer; null for the counters and CNTFRQ. */
  readonly timer: 'v' | 'p' | null;
  read(dist: VgicDist, vcpu: VgicCpu, ctx: TimerContext | null): bigint;
  write?(dist: VgicDist, vcpu: VgicCpu, ctx: TimerContext, v: bigint): void;
}

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

const TIMER_REGS = new Map<number, TimerReg>([
  [CNTFRQ_EL0, { name: 'CNTFRQ_EL0', timer: null, read: () => BigInt(EMULATED_CNTFRQ) }],
  [CNTVCT_EL0, { name: 'CNTVCT_EL0', timer: null, read: (d) => U64(physCount(d) - vmTimers(d).voffset) }],
  [CNTPCT_EL0, { name: 'CNTPCT_EL0', timer: null, read: (d) => U64(physCount(d)) }],
  ...(['v', 'p'] as const).flatMap((w): Array<[number, TimerReg]> => [
    [
      w === 'v' ? CNTV_CTL_EL0 : CNTP_CTL_EL0,
      {
        name: `CNT${w.toUpperCase()}_CTL_EL0`,
        timer: w,
        // read_timer_ctl(): ISTATUS whenever the condition is met, whatever ENABLE says.
        read: (d, _v, c) => BigInt(c!.ctl | (c!.cval <= timerCount(d, c!) ? ARCH_TIMER_CTRL_IT_STAT : 0)),
        // kvm_arm_timer_write(TIMER_REG_CTL): ISTATUS is read-only.
        write: (_d, _v, c, x) => {
          c.ctl = Number(x & BigInt(ARCH_TIMER_CTRL_ENABLE | ARCH_TIMER_CTRL_IT_MASK));
        },
      },
    ],
    [
      w === 'v' ? CNTV_CVAL_EL0 : CNTP_CVAL_EL0,
      {
        name: `CNT${w.toUpperCase()}_CVAL_EL0`,
        timer: w,
        read: (_d, _v, c) => c!.cval,
        write: (_d, _v, c, x) => {
          c.cval = U64(x);
        },
      },
    ],
    [
      w === 'v' ? CNTV_TVAL_EL0 : CNTP_TVAL_EL0,
      {
        name: `CNT${w.toUpperCase()}_TVAL_EL0`,
        timer: w,
        // TIMER_REG_TVAL: lower 32 bits of CVAL - count; a write sets CVAL = count + (s32)val.
        read: (d, _v, c) => BigInt.asUintN(32, c!.cval - timerCount(d, c!)),
        write: (d, _v, c, x) => {
          c.cval = U64(timerCount(d, c) + BigInt.asIntN(32, x));
        },
      },
    ],
  ]),
]);

function contextOf(vcpu: VgicCpu, r: TimerReg): TimerContext | null {
  if (r.timer === null) return null;
  const t = cpuTimers(vcpu);
  return r.timer === 'v' ? t.vtimer : t.ptimer;
}

/** A guest read of a generic timer register; null if `enc` is not one. */
export function timerSysregRead(dist: VgicDist, vcpu: VgicCpu, enc: number): TimerSysregResult {
  const r = TIMER_REGS.get(enc);
  if (!r) return null;
  const v = r.read(dist, vcpu, contextOf(vcpu, r));
  updateAll(dist, vcpu); // time has passed since the last look
  return { ok: true, value: v };
}

/** A guest write of a generic timer register; null if `enc` is not one. */
export function timerSysregWrite(dist: VgicDist, vcpu: VgicCpu, enc: number, val: bigint): TimerSysregResult {
  const r = TIMER_REGS.get(enc);
  if (!r) return null;
  if (!r.write) return { ok: false, reason: `UNDEF: write of ${r.name}` };
  r.write(dist, vcpu, contextOf(vcpu, r)!, val);
  updateAll(dist, vcpu);
  return { ok: true, value: 0n };
}
