// The emulated host kernel's VM: vCPU creation, devices, KVM_IRQ_LINE and the first-run hook
// (virt/kvm/kvm_main.c: kvm_vm_ioctl_create_vcpu, kvm_ioctl_create_device; arch/arm64/kvm/arm.c:
// kvm_arch_vcpu_precreate, kvm_vm_ioctl_irq_line).

import { EBADF, EBUSY, EEXIST, EINVAL, EIO, ENXIO } from '../uapi/errno.ts';
import {
  KVM_ARM_IRQ_CPU_FIQ,
  KVM_ARM_IRQ_NUM_MASK,
  KVM_ARM_IRQ_TYPE_CPU,
  KVM_ARM_IRQ_TYPE_MASK,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SHIFT,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_ARM_IRQ_VCPU2_MASK,
  KVM_ARM_IRQ_VCPU2_SHIFT,
  KVM_ARM_IRQ_VCPU_MASK,
  KVM_ARM_IRQ_VCPU_SHIFT,
  KVM_CREATE_DEVICE_TEST,
  VGIC_V3_MAX_CPUS,
} from '../uapi/kvm.ts';
import { kvmTimerEnable } from '../vgic/arch-timer.ts';
import { vgicMapResources, vgicVcpuInit } from '../vgic/init.ts';
import { irqLineVcpu, vgicIrqLinePpi, vgicIrqLineSpi } from '../vgic/irq-line.ts';
import { type KvmDeviceOps, createVgicDevice } from '../vgic/kvm-device.ts';
import { resolveProfile } from '../vgic/profiles.ts';
import { DEFAULT_HOST_CAPS, VgicCpu, VgicDist, type VgicHostCaps } from '../vgic/state.ts';
import type { UserBuf } from '../vgic/user-buf.ts';
import { type Gicv5HostOptions, resolveGicv5Host } from '../vgic/v5/host.ts';
import { v5IrqLine } from '../vgic/v5/irq-line.ts';
import { allocFd, closeFd, lookupFd } from './fd-table.ts';
import { kvmIrqfdRelease } from './irqfd.ts';
import { GuestMemory } from './memory.ts';
import { KvmVcpu, vcpuMpidr } from './vcpu.ts';

/** KVM_MAX_VCPU_IDS on arm64. */
export const KVM_MAX_VCPU_IDS = VGIC_V3_MAX_CPUS;

export interface VmOptions {
  /** Guest physical address bits (IPA size); 40 as on common hosts. */
  ipaBits?: number;
  /** Host ICH_VTR_EL2.PRIbits + 1. */
  priBits?: 5 | 6 | 7;
  /** Host-kernel profile name (default: $VGIC_PROFILE, else the newest). */
  profile?: string;
  /** Host can emulate GICv2 (a GICv3 with the GICv2-compatible CPU interface). */
  gicv2Compat?: boolean;
  /** Host has GICv4.1 direct vSGIs (nASSGIcap). */
  directSgis?: boolean;
  /** Host ICH_VTR_EL2.IDbits: 16 (most hosts) or 24 (QEMU's GICv3). */
  idBits?: 16 | 24;
  /** KVM runs in VHE mode (the ptimer is hardware-mapped); default false (nVHE). */
  vhe?: boolean;
  /** Guest accesses one KVM_RUN may perform before the run is declared a runaway. */
  accessBudget?: number;
  /** The host has a GICv5 (KVM_DEV_TYPE_ARM_VGIC_V5 exists; no GICv2 emulation): lib/vgic/v5/host.ts. */
  gicv5?: Gicv5HostOptions;
}

export const DEFAULT_ACCESS_BUDGET = 50_000_000;

export class KvmDevice {
  constructor(
    readonly vm: KvmVm,
    readonly ops: KvmDeviceOps,
  ) {}
}

const isDevice = (o: unknown): o is KvmDevice => o instanceof KvmDevice;

export class KvmVm {
  readonly dist: VgicDist;
  readonly vcpus: KvmVcpu[] = [];
  readonly ipaBits: number;
  readonly accessBudget: number;
  /** The guest's copies of test globals (the guest image's .data). */
  readonly guestGlobals = new Map<string, unknown>();
  /** kvm_vm_dead(): every later ioctl fails with EIO. */
  dead = false;
  /** CPU interrupt lines (KVM_ARM_IRQ_TYPE_CPU) per vCPU index: bit 0 IRQ, bit 1 FIQ. */
  readonly cpuLines = new Map<number, number>();
  /** Guest RAM (memslots); guest accesses outside it are MMIO. */
  readonly memory = new GuestMemory();
  /** Device fds this VM created and has not closed (closed by free()). */
  private readonly fds = new Set<number>();
  /** Freed (kvm_vm_free): the VM fd and every fd it owned are closed; VM ioctls give EBADF. */
  freed = false;

  constructor(opts: VmOptions = {}) {
    this.ipaBits = opts.ipaBits ?? 40;
    this.accessBudget = opts.accessBudget ?? DEFAULT_ACCESS_BUDGET;
    const caps: VgicHostCaps = {
      ...DEFAULT_HOST_CAPS,
      ...(opts.priBits ? { priBits: opts.priBits } : {}),
      ...(opts.gicv2Compat !== undefined ? { gicv2Compat: opts.gicv2Compat } : {}),
      ...(opts.directSgis !== undefined ? { directSgis: opts.directSgis } : {}),
      // vgic_v5_probe(): "can_emulate_gicv2 = false" on a GICv5 host.
      ...(opts.gicv5 ? { gicv2Compat: false } : {}),
      ...(opts.idBits !== undefined ? { idBits: opts.idBits } : {}),
      ...(opts.vhe !== undefined ? { vhe: opts.vhe } : {}),
    };
    const vm = this;
    this.dist = new VgicDist(resolveProfile(opts.profile), caps, {
      ipaBits: this.ipaBits,
      memory: this.memory, // the ITS and LPI tables live in guest RAM
      anyVcpuRan: () => vm.vcpus.some((v) => v.hasRun),
      vcpusBusy: () => vm.vcpus.some((v) => v.running),
      guestTicks: () => vm.vcpus.reduce((n, v) => n + v.accesses, 0),
    });
    if (opts.gicv5) this.dist.v5Host = resolveGicv5Host(opts.gicv5);
  }

  /** 1 << ipaBits, as the selftests' max_phys_size. */
  maxPhysSize(): bigint {
    return 1n << BigInt(this.ipaBits);
  }

  /** kvm->max_vcpus (arm.c: kvm_arch_init_vm, then kvm_vgic_create). */
  get maxVcpus(): number {
    return this.dist.maxVcpus;
  }

  /**
   * Release the VM: close every device fd it created (later use of them is EBADF) and the VM
   * itself (VM ioctls are EBADF; a vCPU of a freed VM cannot run: -EIO, as for a dead VM).
   * Nothing process-wide refers to it afterwards, so it can be collected. Idempotent.
   */
  free(): void {
    // kvm_main.c kvm_vm_release -> kvm_irqfd_release: the VM's irqfds go with its fd, so an
    // eventfd that outlives the VM neither reaches it nor stays busy for another VM.
    kvmIrqfdRelease(this);
    for (const fd of this.fds) closeFd(fd);
    this.fds.clear();
    this.freed = true;
    this.dead = true;
  }

  /** A device fd of this VM was closed by close(fd). */
  forgetFd(fd: number): void {
    this.fds.delete(fd);
  }

  /** KVM_CREATE_VCPU: the vCPU, or -errno. */
  createVcpu(id: number): KvmVcpu | number {
    if (this.freed) return -EBADF;
    if (this.dead) return -EIO;
    if (!Number.isInteger(id) || id < 0 || id >= KVM_MAX_VCPU_IDS) return -EINVAL;
    if (this.vcpus.length >= this.maxVcpus) return -EINVAL;
    // kvm_arch_vcpu_precreate(): no new vCPU once the vGIC is initialised, and (arm.c:
    // kvm_arch_vcpu_precreate, "if (id >= kvm->max_vcpus) return -EINVAL") no vCPU id at or
    // above kvm->max_vcpus, which kvm_vgic_create() lowers to 8 for a GICv2.
    if (this.dist.created && this.dist.initialized) return -EBUSY;
    if (id >= this.maxVcpus) return -EINVAL;
    if (this.vcpus.some((v) => v.id === id)) return -EEXIST;
    const idx = this.vcpus.length;
    const vgic = new VgicCpu(id, idx, vcpuMpidr(id), this.dist.caps);
    // kvm_vgic_vcpu_init() runs before the vCPU is online (a legacy region is sized without it).
    const r = vgicVcpuInit(this.dist, vgic);
    if (r) return r;
    this.dist.vcpus.push(vgic);
    const vcpu = new KvmVcpu(this, id, idx, vgic);
    this.vcpus.push(vcpu);
    return vcpu;
  }

  /** KVM_SET_USER_MEMORY_REGION: 0 or -errno (size 0 deletes the slot). */
  setUserMemoryRegion(slot: number, gpa: number, size: number): number {
    if (this.freed) return -EBADF;
    if (this.dead) return -EIO;
    return this.memory.setRegion(slot, gpa, size);
  }

  /** KVM_CREATE_DEVICE: an fd, 0 for a successful TEST probe, or -errno. */
  createDevice(type: number, flags = 0): number {
    if (this.freed) return -EBADF;
    if (this.dead) return -EIO;
    const test = (flags & KVM_CREATE_DEVICE_TEST) !== 0;
    const r = createVgicDevice(this.dist, type, test);
    if (typeof r === 'number') return r;
    const fd = allocFd(new KvmDevice(this, r));
    this.fds.add(fd);
    return fd;
  }

  /**
   * kvm_arch_vcpu_run_pid_change() on a vCPU's first KVM_RUN: map the vGIC (on failure the VM is
   * dead: kvm_vm_dead), then kvm_timer_enable() for that vCPU (EINVAL if its timer PPIs clash).
   * The GICv5 model has no in-kernel PPI owners (lib/vgic/v5), so no timer is enabled there.
   */
  firstRun(vcpu?: KvmVcpu): number {
    const r = this.dist.v5 ? this.dist.v5.mapResources() : vgicMapResources(this.dist);
    if (r) {
      this.dead = true;
      return r;
    }
    return vcpu && !this.dist.v5 ? kvmTimerEnable(this.dist, vcpu.vgic) : 0;
  }

  /** KVM_IRQ_LINE (kvm_vm_ioctl_irq_line). */
  irqLine(irq: number, level: boolean): number {
    if (this.freed) return -EBADF;
    if (this.dead) return -EIO;
    const type = (irq >>> KVM_ARM_IRQ_TYPE_SHIFT) & KVM_ARM_IRQ_TYPE_MASK;
    const vcpuId =
      ((irq >>> KVM_ARM_IRQ_VCPU_SHIFT) & KVM_ARM_IRQ_VCPU_MASK) +
      ((irq >>> KVM_ARM_IRQ_VCPU2_SHIFT) & KVM_ARM_IRQ_VCPU2_MASK) * (KVM_ARM_IRQ_VCPU_MASK + 1);
    const num = (irq >>> 0) & KVM_ARM_IRQ_NUM_MASK;
    const irqchip = this.dist.created;
    // GICv5 PPIs and SPIs: lib/vgic/v5/irq-line.ts (the vgic_is_v5() branches of this ioctl).
    if (this.dist.v5 && (type === KVM_ARM_IRQ_TYPE_PPI || type === KVM_ARM_IRQ_TYPE_SPI)) return v5IrqLine(this.dist.v5, type, vcpuId, num, level);
    switch (type) {
      case KVM_ARM_IRQ_TYPE_CPU: {
        if (irqchip) return -ENXIO;
        const vgic = irqLineVcpu(this.dist, vcpuId); // by id, or by index on 6.1 (profiles.ts)
        const vcpu = vgic ? this.vcpus[vgic.vcpuIdx] : undefined;
        if (!vcpu) return -EINVAL;
        if (num > KVM_ARM_IRQ_CPU_FIQ) return -EINVAL;
        const bit = 1 << num;
        const cur = this.cpuLines.get(vcpu.idx) ?? 0;
        this.cpuLines.set(vcpu.idx, level ? cur | bit : cur & ~bit);
        return 0;
      }
      case KVM_ARM_IRQ_TYPE_PPI:
        if (!irqchip) return -ENXIO;
        return vgicIrqLinePpi(this.dist, vcpuId, num, level); // lib/vgic/irq-line.ts
      case KVM_ARM_IRQ_TYPE_SPI:
        if (!irqchip) return -ENXIO;
        return vgicIrqLineSpi(this.dist, num, level);
    }
    return -EINVAL;
  }
}


// --- device fd ioctls -----------------------------------------------------------------------------

function device(fd: number): KvmDevice | number {
  const d = lookupFd(fd, isDevice);
  if (typeof d === 'number') return -EBADF;
  if (d.vm.dead) return -EIO;
  return d;
}

/** KVM_SET_DEVICE_ATTR */
export function deviceSetAttr(fd: number, group: number, attr: bigint, buf: UserBuf | null): number {
  const d = device(fd);
  return typeof d === 'number' ? d : d.ops.setAttr(group, attr, buf);
}

/** KVM_GET_DEVICE_ATTR */
export function deviceGetAttr(fd: number, group: number, attr: bigint, buf: UserBuf | null): number {
  const d = device(fd);
  return typeof d === 'number' ? d : d.ops.getAttr(group, attr, buf);
}

/** KVM_HAS_DEVICE_ATTR */
export function deviceHasAttr(fd: number, group: number, attr: bigint): number {
  const d = device(fd);
  return typeof d === 'number' ? d : d.ops.hasAttr(group, attr);
}

export function closeDevice(fd: number): number {
  const d = lookupFd(fd, isDevice);
  if (typeof d !== 'number') d.vm.forgetFd(fd);
  return closeFd(fd);
}
