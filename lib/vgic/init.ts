// vGIC lifetime: creation, vCPU setup, vgic_init(), first-run resource mapping, injection
// (vgic-init.c, vgic-v2.c, vgic-v3.c, vgic.c: kvm_vgic_inject_irq).

import { E2BIG, EBUSY, EEXIST, EINVAL, ENODEV, ENXIO } from '../uapi/errno.ts';
import {
  KVM_VGIC_V2_CPU_SIZE,
  KVM_VGIC_V2_DIST_SIZE,
  KVM_VGIC_IMP_REV_LATEST,
  VGIC_NR_IRQS_LEGACY,
  VGIC_NR_PRIVATE_IRQS,
  VGIC_NR_SGIS,
  VGIC_V2_MAX_CPUS,
  VGIC_V3_MAX_CPUS,
} from '../uapi/kvm.ts';
import { registerRedist, v3CheckBase } from './addr.ts';
import { queueIrq } from './ap-list.ts';
import { IrqConfig, VgicIrq } from './irq.ts';
import { ADDR_UNDEF, allocPrivateIrqs, type VgicCpu, type VgicDist, type VgicModel } from './state.ts';

/** kvm_vgic_create(), in the kernel's check order. Returns 0 or -errno. */
export function vgicCreate(dist: VgicDist, model: VgicModel): number {
  if (model === 'v2' && !dist.caps.gicv2Compat) return -ENODEV;
  if (dist.vm.vcpusBusy()) return -EBUSY; // lock_all_vcpus()
  if (dist.created) return -EEXIST;
  if (dist.vm.anyVcpuRan()) return -EBUSY;
  // vgic-init.c: kvm_vgic_create sets kvm->max_vcpus (8 or 512) *before* the E2BIG check, so a
  // refused GICv2 still leaves max_vcpus at 8 and later KVM_CREATE_VCPU calls are bounded by it.
  dist.maxVcpus = maxVcpus(model);
  if (dist.vcpus.length > dist.maxVcpus) return -E2BIG;
  dist.created = true;
  dist.model = model;
  // vgic-init.c: kvm_vgic_create sets implementation_rev = KVM_VGIC_IMP_REV_LATEST (ac6769c8,
  // Feb 2026); older kernels left it 0 until vgic_init() (the revAtCreate profile switch).
  if (dist.profile.revAtCreate) dist.implementationRev = latestRev(dist);
  dist.distBase = ADDR_UNDEF;
  dist.cpuBase = ADDR_UNDEF;
  for (const v of dist.vcpus) allocPrivateIrqs(dist, v);
  // vgic-init.c: kvm_vgic_create: "if (type == KVM_DEV_TYPE_ARM_VGIC_V3)
  // kvm->arch.vgic.nassgicap = system_supports_direct_sgis();" (older kernels reported
  // GICD_TYPER2.nASSGIcap whenever has_gicv4_1): a GICv4.1 host shows nASSGIcap by default.
  if (model === 'v3') dist.nassgicap = dist.caps.directSgis;
  return 0;
}

/** KVM_VGIC_IMP_REV_LATEST of the host kernel the profile models. */
function latestRev(dist: VgicDist): number {
  return Math.min(dist.profile.latestRev, KVM_VGIC_IMP_REV_LATEST);
}

/** kvm->max_vcpus once the vGIC model is known. */
export function maxVcpus(model: VgicModel): number {
  return model === 'v2' ? VGIC_V2_MAX_CPUS : VGIC_V3_MAX_CPUS;
}

/** kvm_vgic_vcpu_init(): private IRQs, and a redistributor if a region has room. 0 or -errno. */
export function vgicVcpuInit(dist: VgicDist, vcpu: VgicCpu): number {
  if (!dist.created) return 0;
  allocPrivateIrqs(dist, vcpu);
  if (dist.model === 'v3') return registerRedist(dist, vcpu);
  return 0;
}

/** kvm_vgic_dist_init(): SPIs edge, disabled, priority 0, routed to vCPU 0; group per model. */
function distInit(dist: VgicDist): void {
  dist.spis = [];
  for (let i = 0; i < dist.nrSpis; i++) {
    const irq = new VgicIrq(VGIC_NR_PRIVATE_IRQS + i);
    irq.config = IrqConfig.Edge;
    irq.targetVcpu = 0;
    if (dist.model === 'v2') {
      irq.targets = 0;
      irq.group = 0;
    } else {
      irq.mpidr = 0;
      irq.group = 1;
    }
    dist.spis.push(irq);
  }
}

/** vgic_v3_enable() / vgic_v2_enable(): VMCR cleared, priority and ID bits from the host. */
function vcpuEnable(dist: VgicDist, vcpu: VgicCpu): void {
  const c = vcpu.cpuif;
  c.pmr = c.bpr0 = c.bpr1 = c.igrpen0 = c.igrpen1 = c.eoimode = c.cbpr = c.ackctl = c.fiqen = 0;
  c.ap0r.fill(0);
  c.ap1r.fill(0);
  c.numPriBits = dist.caps.priBits;
  c.numIdBits = dist.caps.idBits === 24 ? 1 : 0;
  c.sre = dist.model === 'v3' ? 0x7 : 0;
  // vgic-v3.c: vgic_v3_enable sets pendbaser = INITIAL_PENDBASER_VALUE (inner RaWb, InnerShareable)
  if (dist.model === 'v3') vcpu.pendbaser = 0x580n;
}

/** vgic_init(): idempotent; freezes nr_spis (default 224) and sets the default revision. */
export function vgicInit(dist: VgicDist): number {
  if (dist.initialized) return 0;
  if (!dist.nrSpis) dist.nrSpis = VGIC_NR_IRQS_LEGACY - VGIC_NR_PRIVATE_IRQS;
  distInit(dist);
  for (const v of dist.vcpus) {
    allocPrivateIrqs(dist, v);
    vcpuEnable(dist, v);
  }
  // vgic-init.c: vgic_init: "If userspace didn't set the GIC implementation revision, default to
  // the latest" (the latest of that kernel: 2 before 49a1a2c70a7f).
  if (!dist.implementationRev) dist.implementationRev = latestRev(dist);
  dist.initialized = true;
  return 0;
}

/** vgic_lazy_init(): GICv2 initialises on demand, GICv3 insists on CTRL_INIT (EBUSY). */
export function vgicLazyInit(dist: VgicDist): number {
  if (dist.initialized) return 0;
  if (dist.model !== 'v2') return -EBUSY;
  return vgicInit(dist);
}

/** vgic_v2_check_base(): 4K distributor and 8K CPU interface must not overlap or wrap. */
function v2CheckBase(d: number, c: number): boolean {
  if (d + KVM_VGIC_V2_DIST_SIZE < d || c + KVM_VGIC_V2_CPU_SIZE < c) return false;
  if (d + KVM_VGIC_V2_DIST_SIZE <= c) return true;
  if (c + KVM_VGIC_V2_CPU_SIZE <= d) return true;
  return false;
}

/**
 * kvm_vgic_map_resources() on the first KVM_RUN: v3 checks ENXIO (a vCPU without a
 * redistributor, no distributor), EINVAL (overlap or beyond the IPA), EBUSY (not initialised);
 * v2 checks ENXIO, EINVAL and then initialises lazily.
 */
export function vgicMapResources(dist: VgicDist): number {
  if (dist.ready || !dist.created) return 0;
  if (dist.model === 'v3') {
    for (const v of dist.vcpus) if (v.rdBase === ADDR_UNDEF) return -ENXIO;
    if (dist.distBase === ADDR_UNDEF) return -ENXIO;
    if (!v3CheckBase(dist)) return -EINVAL;
    if (!dist.initialized) return -EBUSY;
  } else {
    if (dist.distBase === ADDR_UNDEF || dist.cpuBase === ADDR_UNDEF) return -ENXIO;
    if (!v2CheckBase(dist.distBase, dist.cpuBase)) return -EINVAL;
    const ret = vgicInit(dist);
    if (ret) return ret;
  }
  dist.ready = true;
  return 0;
}

/**
 * kvm_vgic_inject_irq(): lazy init (6.1, 6.12; 7.2 leaves it to its callers and injects nothing,
 * returning 0, while the vGIC is not initialised: profiles.ts irqLineOrder), EINVAL for a missing
 * IRQ, and a silent no-op unless the caller is the IRQ's owner (userspace passes owner NULL; the
 * arch timer passes its context: vgic_validate_injection). Level IRQs follow the line; edge IRQs
 * latch on a rising level only; every valid injection is queued (vgic_queue_irq_unlock).
 */
export function vgicInjectIrq(dist: VgicDist, vcpu: VgicCpu | null, intid: number, level: boolean, owner: string | null = null): number {
  if (dist.profile.irqLineOrder === 'init-first') {
    if (!dist.initialized) return 0;
  } else {
    const ret = vgicLazyInit(dist);
    if (ret) return ret;
  }
  if (intid < VGIC_NR_PRIVATE_IRQS && !vcpu) return -EINVAL;
  const irq = intid < VGIC_NR_PRIVATE_IRQS ? vcpu!.privateIrqs[intid] ?? null : dist.spis[intid - VGIC_NR_PRIVATE_IRQS] ?? null;
  if (!irq) return -EINVAL;
  if (irq.owner !== owner) return 0; // vgic_validate_injection: not the caller's to drive
  if (irq.config === IrqConfig.Level) {
    if (irq.lineLevel === level) return 0;
    irq.lineLevel = level;
  } else {
    if (!level) return 0;
    irq.pendingLatch = true;
  }
  queueIrq(dist, irq);
  return 0;
}

/** vgic_read_irq_line_level_info(): bit set iff the IRQ is level-triggered and its line is high. */
export function readLineLevelInfo(dist: VgicDist, vcpu: VgicCpu, intid: number): number {
  let v = 0;
  for (let i = 0; i < 32; i++) {
    const irq = dist.getIrq(vcpu, intid + i);
    if (irq && irq.config === IrqConfig.Level && irq.lineLevel) v |= 1 << i;
  }
  return v >>> 0;
}

/** vgic_write_irq_line_level_info(): SGIs and missing IRQs skipped; the level is set whatever the config. */
export function writeLineLevelInfo(dist: VgicDist, vcpu: VgicCpu, intid: number, val: number): void {
  for (let i = 0; i < 32; i++) {
    if (intid + i < VGIC_NR_SGIS || intid + i >= dist.nrIrqs) continue;
    const irq = dist.getIrq(vcpu, intid + i);
    if (!irq) continue;
    irq.lineLevel = ((val >>> i) & 1) === 1;
    if (irq.lineLevel) queueIrq(dist, irq); // vgic_write_irq_line_level_info
  }
}

