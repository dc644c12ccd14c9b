// The per-VM vGIC-v5 state: the emulated IRS, the SPIs and the LPI IST the host keeps for the
// guest, and each vCPU's PPIs and CPU-interface registers (include/kvm/arm_vgic.h: struct
// vgic_v5_vm, struct vgic_v5_cpu_if; IRS series: struct vgic_v5_irs). Creation, CTRL_INIT and the
// first-run checks live here too (vgic-init.c, vgic-v5.c: vgic_v5_init, vgic_v5_map_resources;
// vgic-irs-v5.c: kvm_vgic_v5_irs_init).

import { EBUSY, ENODEV, ENOMEM, ENXIO } from '../../uapi/errno.ts';
import {
  GICV5_ARCH_PPI_SW_PPI,
  GICV5_HWIRQ_TYPE_LPI,
  GICV5_HWIRQ_TYPE_PPI,
  GICV5_HWIRQ_TYPE_SPI,
  GICV5_IRS_IDR0_INT_DOM_NON_SECURE,
  GICV5_IRS_IST_CFGR_ISTSZ_4,
  GICV5_IRS_IST_CFGR_L2SZ_4K,
  VGIC_V5_DEFAULT_NR_SPIS,
  VGIC_V5_NR_PRIVATE_IRQS,
  gicv5HwirqId,
  gicv5HwirqType,
} from '../../uapi/gicv5.ts';
import { ADDR_UNDEF, type VgicCpu, type VgicDist } from '../state.ts';
import type { Gicv5Host } from './host.ts';
import { V5Irq } from './irq.ts';

/** struct vgic_v5_irs: the guest-visible IRS configuration (IRS series). */
export interface IrsState {
  idr0: { domain: number; paRange: number; irsId: number };
  /** IRS_IDR1.PRIORITY_BITS (N - 1). */
  idr1PriorityBits: number;
  idr2: { idBits: number; minLpiIdBits: number; istLevels: boolean; istL2sz: number; istmd: boolean; istmdSz: number };
  idr5SpiRange: number;
  idr6SpiIrsRange: number;
  idr7SpiBase: number;
  cr1: number;
  spiSelr: number;
  peSelr: number;
  istCfgr: { lpiIdBits: number; l2sz: number; istsz: number; structure: boolean };
  istBaser: { valid: boolean; addr: bigint };
  /** Userspace restored a valid IST_BASER: the host LPI IST is allocated by the IST restore. */
  lpiIstRestorePending: boolean;
}

/** One vCPU's GICv5 CPU interface (struct vgic_v5_cpu_if) and its 64 PPIs. */
export class V5Cpu {
  readonly ppis: V5Irq[] = [];
  /** ICH_VMCR_EL2.EN as the guest sets it through ICC_CR0_EL1.EN. */
  en = false;
  /** ICC_PCR_EL1.PRIORITY (ICH_VMCR_EL2.VPMR). */
  pcr = 0;
  /** ICC_APR_EL1: one bit per active priority. */
  apr = 0;
  /** ICC_ICSR_EL1: the result of the last GIC CDRCFG. */
  icsr = 0n;
  /** ICC_PPI_PRIORITYRn_EL1 fields for every PPI (the hardware registers KVM saves). */
  constructor(readonly vcpu: VgicCpu) {
    for (let i = 0; i < VGIC_V5_NR_PRIVATE_IRQS; i++) {
      const irq = new V5Irq(GICV5_HWIRQ_TYPE_PPI, i);
      // vgic-init.c: vgic_v5_setup_private_irq: "The only Edge architected PPI is the SW_PPI".
      irq.level = i !== GICV5_ARCH_PPI_SW_PPI;
      irq.iaffid = vcpu.vcpuId;
      this.ppis.push(irq);
    }
  }
}

export class Gicv5Vgic {
  /** The IRS CONFIG_FRAME base (vgic_v5_irs_data->vgic_v5_irs_base), ADDR_UNDEF until set. */
  irsBase = ADDR_UNDEF;
  /** Userspace's NR_IRQS (SPIs only); 0 until set or picked by CTRL_INIT. */
  nrSpis = 0;
  readonly spis: V5Irq[] = [];
  /** Entries of the host SPI IST beyond nr_spis (the early contract's round-up), as raw ISTEs. */
  spiIstSpare: Uint32Array = new Uint32Array(0);
  /** The host-owned LPI IST shadowing the guest's (vgic_v5_lpi_ist_alloc), or null. */
  lpis: V5Irq[] | null = null;
  lpiIdBits = 0;
  /** gicv5_vm.userspace_ppis: the PPIs KVM_IRQ_LINE may drive. */
  userspacePpis = 0n;
  /** gicv5_vm.vgic_ppi_mask: the PPIs the guest can see. */
  vgicPpiMask = 0n;
  readonly irs: IrsState;
  private readonly cpus = new Map<VgicCpu, V5Cpu>();

  constructor(
    readonly dist: VgicDist,
    readonly host: Gicv5Host,
  ) {
    this.irs = resetIrs(host, 0);
  }

  get uapi(): Gicv5Host['uapi'] {
    return this.host.uapi;
  }
  /** The IRS-series devices (anything but the 7.2 PPI-only one). */
  get hasIrs(): boolean {
    return this.host.uapi !== 'ppi';
  }

  cpu(vcpu: VgicCpu): V5Cpu {
    let c = this.cpus.get(vcpu);
    if (!c) {
      c = new V5Cpu(vcpu);
      this.cpus.set(vcpu, c);
    }
    return c;
  }

  vcpuById(id: number): VgicCpu | undefined {
    return this.dist.vcpuById(id);
  }

  /** The vGIC's IRS is enabled (IRS_CR0.IRSEN; the kernel keeps it in vgic_dist.enabled). */
  get irsEnabled(): boolean {
    return this.dist.enabled;
  }

  /** vgic_get_irq() for a GICv5 IntID as seen from `vcpu`: its own PPIs, the SPIs, the LPIs. */
  irq(vcpu: VgicCpu, intid: number): V5Irq | null {
    const id = gicv5HwirqId(intid);
    switch (gicv5HwirqType(intid)) {
      case GICV5_HWIRQ_TYPE_PPI:
        return id < VGIC_V5_NR_PRIVATE_IRQS ? this.cpu(vcpu).ppis[id]! : null;
      case GICV5_HWIRQ_TYPE_SPI:
        return this.spis[id] ?? null;
      case GICV5_HWIRQ_TYPE_LPI:
        return this.lpis?.[id] ?? null;
    }
    return null;
  }

  /** IRS_IDR1.IAFFID_BITS + 1: VPE ID bits for the highest vCPU id, at least one (vgic_v5_vmte_init). */
  vpeIdBits(): number {
    let max = 0;
    for (const v of this.dist.vcpus) max = Math.max(max, v.vcpuId);
    let bits = 0;
    while (1 << bits < max + 1) bits++;
    return Math.max(1, bits);
  }

  kick(): void {
    this.dist.kick();
  }

  /**
   * vgic_init() for a GICv5: nr_spis frozen (32 by default in the final series), SPIs and the
   * host SPI IST (kvm_vgic_v5_irs_init), the userspace PPI mask (vgic_v5_init), the CPU
   * interfaces reset (vgic_v5_reset). 0 or -errno.
   */
  init(): number {
    const dist = this.dist;
    if (dist.initialized) return 0;
    if (this.hasIrs) {
      // arm-vgic-v5.rst (IRS series) errors: "-ENODEV no online VCPU".
      if (!dist.vcpus.length) return -ENODEV;
      // 'irs-final': "If userspace does not set this attribute, KVM uses 32 SPIs by default";
      // 'irs-early': no default (no SPI IST unless NR_IRQS was set).
      if (!this.nrSpis && this.uapi === 'irs-final') this.nrSpis = VGIC_V5_DEFAULT_NR_SPIS;
      if (this.nrSpis) {
        if (this.host.faults.spiIstAllocFail) return -ENOMEM; // vgic_v5_spi_ist_alloc
        for (let i = 0; i < this.nrSpis; i++) {
          const irq = new V5Irq(GICV5_HWIRQ_TYPE_SPI, i);
          // kvm_vgic_v5_irs_init: target vCPU 0; enable is the guest's, in the IST.
          irq.iaffid = 0;
          this.spis.push(irq);
        }
        this.spiIstSpare = new Uint32Array(spiIstEntries(this.uapi, this.nrSpis) - this.nrSpis);
      }
      Object.assign(this.irs, resetIrs(this.host, this.nrSpis));
    }
    // vgic-v5.c: vgic_v5_init: "We only allow userspace to drive the SW_PPI, if it is implemented."
    const sw = 1n << BigInt(GICV5_ARCH_PPI_SW_PPI);
    this.userspacePpis = sw & this.host.implementedPpis;
    // vgic_v5_finalize_ppi_state: expose implemented PPIs that have an owner, and the SW_PPI. No
    // in-kernel device (timer, PMU) is modelled, so no PPI has an owner.
    this.vgicPpiMask = sw & this.host.implementedPpis;
    for (const v of dist.vcpus) this.cpu(v);
    dist.initialized = true;
    this.kick();
    return 0;
  }

  /** kvm_vgic_map_resources() -> vgic_v5_map_resources() and the IRS iodev (IRS series). */
  mapResources(): number {
    const dist = this.dist;
    if (dist.ready || !dist.created) return 0;
    if (!dist.initialized) return -EBUSY;
    // IRS series: "Failure to set the IRS address before the first vCPU run results in an error."
    if (this.hasIrs && this.irsBase === ADDR_UNDEF) return -ENXIO;
    dist.ready = true;
    return 0;
  }
}

/**
 * Entries of the host SPI IST. Final series: a linear IST of roundup_pow_of_two(nr_spis) entries
 * (kvm_vgic_v5_irs_init: nr_spi_bits = fls(roundup_pow_of_two(nr_spis)) - 1); nr_spis is a
 * multiple of 32, so that is exactly what userspace saves. Early series (seed 000): "rounded up to
 * 16", the IST alignment minimum, and save/restore walk every host entry.
 */
function spiIstEntries(uapi: Gicv5Host['uapi'], nrSpis: number): number {
  if (!nrSpis) return 0;
  let n = 1;
  while (n < nrSpis) n <<= 1;
  return uapi === 'irs-early' ? Math.max(16, n) : n;
}

/** kvm_vgic_v5_irs_init(): "Set sane initial state for the IRS MMIO registers". */
function resetIrs(host: Gicv5Host, nrSpis: number): IrsState {
  return {
    idr0: { domain: GICV5_IRS_IDR0_INT_DOM_NON_SECURE, paRange: host.paRange, irsId: 0 },
    idr1PriorityBits: host.irsPriBits - 1,
    idr2: {
      // "Support 16-bits of ID space for the IRS"; the minimum matches the hardware.
      idBits: Math.min(16, host.istIdBits),
      minLpiIdBits: host.minLpiIdBits,
      // "Only allow the guest to create Linear ISTs - simplifies Save/Restore"
      istLevels: false,
      istL2sz: GICV5_IRS_IST_CFGR_L2SZ_4K,
      istmd: false,
      istmdSz: 0,
    },
    idr5SpiRange: nrSpis,
    idr6SpiIrsRange: nrSpis,
    idr7SpiBase: 0,
    cr1: 0,
    spiSelr: 0xffffff, // spi_selr.id = -1 in a 24-bit field
    peSelr: 0xffff, // pe_selr.iaffid = -1 in a 16-bit field
    istCfgr: { lpiIdBits: 0, l2sz: 0, istsz: GICV5_IRS_IST_CFGR_ISTSZ_4, structure: false },
    istBaser: { valid: false, addr: 0n },
    lpiIstRestorePending: false,
  };
}
