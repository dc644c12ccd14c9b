// The VM-wide and per-vCPU vGIC state: struct vgic_dist and struct vgic_cpu
// (include/kvm/arm_vgic.h), plus the few facts about the host the model depends on.

import { VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS, VGIC_V3_MAX_CPUS } from '../uapi/kvm.ts';
import { ApList, IrqConfig, VgicIrq } from './irq.ts';
import type { VgicIts } from './its/state.ts';
import type { VgicLpi } from './lpi.ts';
import type { HostProfile } from './profiles.ts';
import type { Gicv5Host } from './v5/host.ts';
import type { Gicv5Vgic } from './v5/vgic.ts';

export type VgicModel = 'v2' | 'v3' | 'v5';

/** Internal stand-in for VGIC_ADDR_UNDEF; validated addresses are < 2^52 so fit a number. */
export const ADDR_UNDEF = -1;

/** Facts about the host that KVM reads from hardware (ICH_VTR_EL2, GIC capabilities). */
export interface VgicHostCaps {
  /** Host can emulate a GICv2 (GICv2 hardware or a GICv3 with a GICv2-compat CPU interface). */
  readonly gicv2Compat: boolean;
  /** ICH_VTR_EL2.PRIbits + 1: 5, 6 or 7. */
  readonly priBits: number;
  /** ICH_VTR_EL2.IDbits: 16 (0) or 24 (1) guest INTID bits; KVM reports 16 on common hosts. */
  readonly idBits: 16 | 24;
  /** ICH_VTR_EL2.SEIS and A3V as the host reports them. */
  readonly seis: boolean;
  readonly a3v: boolean;
  /** GICv4.1 direct vSGIs available (gates GICD_TYPER2.nASSGIcap). */
  readonly directSgis: boolean;
  /** Number of list registers (only bounds how many IRQs the model can keep active at once). */
  readonly nrLr: number;
  /**
   * The host kernel runs KVM in VHE mode (has_vhe(): kvm-arm.mode=vhe on a CPU with VHE, as
   * QEMU's -cpu max): the ptimer is a direct, hardware-mapped timer (arch_timer.c: get_timer_map).
   * False: nVHE (and pKVM), the ptimer is emulated.
   */
  readonly vhe: boolean;
}

export const DEFAULT_HOST_CAPS: VgicHostCaps = {
  gicv2Compat: true,
  priBits: 5,
  idBits: 16,
  seis: false,
  a3v: true,
  directSgis: false,
  nrLr: 4,
  vhe: false,
};

/** Guest RAM as the vGIC reads and writes it (kvm_read_guest / kvm_write_guest): the ITS and LPI tables. */
export interface VgicGuestMemory {
  /** True if [gpa, gpa + len) lies inside one memslot. */
  isRam(gpa: number, len: number): boolean;
  readBytes(gpa: number, len: number): Uint8Array;
  writeBytes(gpa: number, data: Uint8Array): void;
}

/** What the vGIC needs to know about the VM around it (struct kvm). */
export interface VgicVmHooks {
  /** Guest RAM (memslots); absent means no RAM at all (every table access faults). */
  readonly memory?: VgicGuestMemory;
  /** Guest physical address size in bits (kvm_phys_size). */
  readonly ipaBits: number;
  /** True if any vCPU has entered the guest (vcpu_has_run_once). */
  anyVcpuRan(): boolean;
  /** True if a vCPU is inside KVM_RUN right now, so lock_all_vcpus() would fail. */
  vcpusBusy(): boolean;
  /** Guest accesses executed by all vCPUs so far: the arch timer's time base (arch-timer.ts). */
  guestTicks?(): number;
}

/** One redistributor region (struct vgic_redist_region). count 0 = legacy single region. */
export interface RedistRegion {
  index: number;
  base: number;
  count: number;
  freeIndex: number;
}

/** The GICv3 CPU interface state userspace can see: ICH_VMCR fields, APRs, ICC_CTLR bits. */
export class CpuIfState {
  pmr = 0;
  bpr0 = 0;
  bpr1 = 0;
  igrpen0 = 0;
  igrpen1 = 0;
  eoimode = 0;
  cbpr = 0;
  /** GICv2 VMCR AckCtl / FIQEn (v2 guests only). */
  ackctl = 0;
  fiqen = 0;
  readonly ap0r = [0, 0, 0, 0];
  readonly ap1r = [0, 0, 0, 0];
  /** ICC_CTLR_EL1.PRIbits + 1 (vgic_cpu.num_pri_bits): userspace may only lower it. */
  numPriBits: number;
  /** ICC_CTLR_EL1.IDbits field (0 = 16 bits, 1 = 24 bits) (vgic_cpu.num_id_bits). */
  numIdBits: number;
  /** ICC_SRE_EL1 as KVM reports it for a v3 guest: SRE|DFB|DIB (vgic_v3_enable). */
  sre = 0x7;
  /**
   * What the hardware interface implements (ICH_VTR_EL2.PRIbits + 1, IDbits field): the guest's
   * ICV_ and GICV_ registers use these whatever userspace wrote to ICC_CTLR_EL1, which only changes
   * num_pri_bits/num_id_bits (vgic-sys-reg-v3.c: set_gic_ctlr; measured on real KVM under QEMU).
   */
  readonly hwPriBits: number;
  readonly hwIdBits: number;
  constructor(priBits: number, idBits: number) {
    this.numPriBits = priBits;
    this.numIdBits = idBits === 24 ? 1 : 0;
    this.hwPriBits = priBits;
    this.hwIdBits = this.numIdBits;
  }
}

export class VgicCpu {
  readonly vcpuId: number;
  /** Creation order (vcpu->vcpu_idx). */
  readonly vcpuIdx: number;
  /** Packed affinity Aff3:Aff2:Aff1:Aff0 as used in attribute upper words. */
  readonly mpidr: number;
  readonly privateIrqs: VgicIrq[] = [];
  rdreg: RedistRegion | null = null;
  rdregIndex = 0;
  /** Base of this vCPU's redistributor frame once placed (rd_iodev.base_addr), else ADDR_UNDEF. */
  rdBase = ADDR_UNDEF;
  lpisEnabled = false;
  pendbaser = 0n;
  readonly cpuif: CpuIfState;
  /** The interrupts KVM has queued for this vCPU (its ap_list; irq.ts ApList, ap-list.ts). */
  readonly apList: ApList;
  /** GICR_WAKER is RAZ/WI in KVM; nothing to store. */

  constructor(vcpuId: number, vcpuIdx: number, mpidr: number, caps: VgicHostCaps) {
    this.vcpuId = vcpuId;
    this.vcpuIdx = vcpuIdx;
    this.mpidr = mpidr;
    this.cpuif = new CpuIfState(caps.priBits, caps.idBits);
    this.apList = new ApList(vcpuIdx);
  }
}

export class VgicDist {
  model: VgicModel | null = null;
  created = false;
  initialized = false;
  /** kvm_vgic_map_resources() done (first run). */
  ready = false;
  /** 0 until NR_IRQS is set or vgic_init() picks the default. */
  nrSpis = 0;
  enabled = false;
  nassgireq = false;
  /** GICD_TYPER2.nASSGIcap as userspace configured it. */
  nassgicap = false;
  implementationRev = 0;
  v2GroupsUserWritable = false;
  /** Frame bases; ADDR_UNDEF until userspace sets them (VGIC_ADDR_UNDEF in the kernel). */
  distBase = ADDR_UNDEF;
  cpuBase = ADDR_UNDEF;
  readonly rdRegions: RedistRegion[] = [];
  spis: VgicIrq[] = [];
  readonly vcpus: VgicCpu[] = [];
  /** ITS device present (vgic_has_its). */
  hasIts = false;
  /** kvm->max_vcpus: the host GIC's limit (512 on a GICv3 host) until kvm_vgic_create() sets 8 or 512. */
  maxVcpus = VGIC_V3_MAX_CPUS;
  /** GICv3 maintenance interrupt (NV); stored only. */
  maintIrq = 0;
  propbaser = 0n;
  msisRequireDevid = false;
  /** Mapped LPIs by INTID (dist->lpi_xa), kept by lib/vgic/lpi.ts. */
  readonly lpis = new Map<number, VgicLpi>();
  /** The VM's ITS devices in creation order (lib/vgic/its/state.ts). */
  readonly itses: VgicIts[] = [];
  /** Bumped whenever something may have become deliverable, so delivery checks can be skipped. */
  epoch = 0;
  /** The host's GICv5 (VmOptions.gicv5), or null on a GICv3 host. */
  v5Host: Gicv5Host | null = null;
  /** The vGIC-v5 state once a KVM_DEV_TYPE_ARM_VGIC_V5 device exists (lib/vgic/v5). */
  v5: Gicv5Vgic | null = null;

  constructor(
    readonly profile: HostProfile,
    readonly caps: VgicHostCaps,
    readonly vm: VgicVmHooks,
  ) {}

  get nrIrqs(): number {
    return this.nrSpis + VGIC_NR_PRIVATE_IRQS;
  }

  /** vgic_get_irq() for one vCPU's view: private IRQs are banked, SPIs shared; null when out of range. */
  getIrq(vcpu: VgicCpu, intid: number): VgicIrq | null {
    if (intid < VGIC_NR_PRIVATE_IRQS) return vcpu.privateIrqs[intid] ?? null;
    const spi = this.spis[intid - VGIC_NR_PRIVATE_IRQS];
    return spi ?? null;
  }

  vcpuByMpidr(mpidr: number): VgicCpu | undefined {
    for (const v of this.vcpus) if (v.mpidr === mpidr) return v;
    return undefined;
  }

  vcpuById(id: number): VgicCpu | undefined {
    for (const v of this.vcpus) if (v.vcpuId === id) return v;
    return undefined;
  }

  kick(): void {
    this.epoch++;
  }
}

/**
 * Allocate a vCPU's SGIs and PPIs as vgic_allocate_private_irqs_locked() does: SGIs enabled and
 * edge, PPIs level; group 1 and routed to this vCPU on v3, group 0 and targets = 1 << vcpu_idx on v2.
 */
export function allocPrivateIrqs(dist: VgicDist, vcpu: VgicCpu): void {
  if (vcpu.privateIrqs.length) return;
  for (let i = 0; i < VGIC_NR_PRIVATE_IRQS; i++) {
    const irq = new VgicIrq(i);
    if (i < VGIC_NR_SGIS) {
      irq.enabled = true;
      irq.config = IrqConfig.Edge;
    } else {
      irq.config = IrqConfig.Level;
    }
    irq.targetVcpu = vcpu.vcpuIdx;
    if (dist.model === 'v3') {
      irq.group = 1;
      irq.mpidr = vcpu.mpidr;
    } else {
      irq.group = 0;
      irq.targets = (1 << vcpu.vcpuIdx) & 0xff;
    }
    vcpu.privateIrqs.push(irq);
  }
}
