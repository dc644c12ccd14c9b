// The GICv5 host a VM runs on, and which revision of the vGIC-v5 uapi its kernel has.
//
// Three host kernels are modelled (VmOptions.gicv5.uapi):
//
//  - 'ppi'        Debian linux-source 7.2 (mainline 7.1 + "Fold PPI state"): the PPI-only
//                 device. GRP_CTRL {CTRL_INIT, USERSPACE_PPIS}; ADDR, NR_IRQS and CPU_SYSREGS
//                 give ENXIO (vgic-kvm-device.c: vgic_v5_{set,get,has}_attr); no IRS, no SPIs.
//  - 'irs-early'  "KVM: arm64: Add GICv5 IRS support" v1/v2 (Apr-May 2026), the contract seed 000
//                 reviews: NR_IRQS takes any SPI count from 1 up to the host's IRS_IDR5.SPI_RANGE,
//                 kvm_vgic_v5_irs_init() sizes the SPI IST to a power of two of at least 16
//                 entries, and GRP_IST's attr->addr is a raw pointer to SPI entries whose number
//                 KVM takes from that host IST (the user's buffer size is never known).
//  - 'irs-final'  the same series at v5 (Aug 2026, kvmarm kvm-arm64/gicv5-7.4), the default: SPI
//                 counts 32..1024 in steps of 32, struct kvm_vgic_v5_ist with exact-size buffers.
//
// The 7.2 source is authoritative for everything the 'ppi' device has; the IRS-series behaviour
// comes from its own vgic-kvm-device.c, vgic-irs-v5.c, vgic-v5-tables.c and selftest (read in
// the analogdevicesinc/linux and intel-lab-lkp/linux copies) and the reference's part A.

import {
  GICV5_ARCH_PPI_CNTHP,
  GICV5_ARCH_PPI_CNTHV,
  GICV5_ARCH_PPI_CNTP,
  GICV5_ARCH_PPI_CNTV,
  GICV5_ARCH_PPI_PMUIRQ,
  GICV5_ARCH_PPI_SW_PPI,
} from '../../uapi/gicv5.ts';

export type Gicv5Uapi = 'ppi' | 'irs-early' | 'irs-final';
export const GICV5_UAPIS: readonly Gicv5Uapi[] = ['ppi', 'irs-early', 'irs-final'];
export const DEFAULT_GICV5_UAPI: Gicv5Uapi = 'irs-final';

/** Host conditions no userspace input can cause, injectable so every errno row can be tested. */
export interface Gicv5HostFaults {
  /** The host SPI IST allocation at CTRL_INIT fails (vgic_v5_spi_ist_alloc): ENOMEM. */
  spiIstAllocFail?: boolean;
  /** Host LPI IST allocations fail (vgic_v5_lpi_ist_alloc): ENOMEM on IST restore. */
  lpiIstAllocFail?: boolean;
  /** IRS_SAVE_VMR / VM operations never report idle: ETIMEDOUT. */
  irsTimeout?: boolean;
  /** The VM leaves quiescence while its ISTs are copied out (IRS_SAVE_VM_STATUSR.Q drops): EBUSY. */
  quiesceLost?: boolean;
}

/** VmOptions.gicv5: present means the host has a GICv5 (and registers the v5 device). */
export interface Gicv5HostOptions {
  uapi?: Gicv5Uapi;
  /** Host implemented PPIs 0..63 (ppi_caps.impl_ppi_mask). Default: vgic_v5_get_implemented_ppis(). */
  implementedPpis?: bigint;
  /** system_supports_pmuv3(): adds PMUIRQ to the default implemented mask. */
  pmu?: boolean;
  /** gicv5_global_data.irs_pri_bits: priority bits of the host IRS (1..5). */
  irsPriBits?: number;
  /** Host IRS IST ID bits (vgic_v5_irs_ist_id_bits). */
  istIdBits?: number;
  /** Host IRS_IDR2.MIN_LPI_ID_BITS (vgic_v5_irs_min_lpi_id_bits). */
  minLpiIdBits?: number;
  /** Host IRS_IDR5.SPI_RANGE: the early contract's NR_IRQS maximum. */
  spiRange?: number;
  /** ID_AA64MMFR0_EL1.PARange reported in IRS_IDR0.PA_RANGE. */
  paRange?: number;
  /** ARM64_HAS_GICV5_LEGACY: the host can also run GICv3 guests (vgic_v5_probe). */
  legacyV3?: boolean;
  faults?: Gicv5HostFaults;
}

/** The resolved host: every option with its value. */
export interface Gicv5Host {
  readonly uapi: Gicv5Uapi;
  readonly implementedPpis: bigint;
  readonly irsPriBits: number;
  readonly istIdBits: number;
  readonly minLpiIdBits: number;
  readonly spiRange: number;
  readonly paRange: number;
  readonly legacyV3: boolean;
  readonly faults: Gicv5HostFaults;
}

/**
 * vgic-v5.c: vgic_v5_get_implemented_ppis(): a KVM host has EL2, so the EL1/EL2 physical and
 * virtual timers; the SW_PPI; PMUIRQ only with a PMU.
 */
export function defaultImplementedPpis(pmu: boolean): bigint {
  let m = 0n;
  for (const p of [GICV5_ARCH_PPI_CNTHP, GICV5_ARCH_PPI_CNTV, GICV5_ARCH_PPI_CNTHV, GICV5_ARCH_PPI_CNTP, GICV5_ARCH_PPI_SW_PPI]) m |= 1n << BigInt(p);
  if (pmu) m |= 1n << BigInt(GICV5_ARCH_PPI_PMUIRQ);
  return m;
}

const intIn = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** Resolve the options; a bad option is a harness error (RangeError), never a KVM errno. */
export function resolveGicv5Host(o: Gicv5HostOptions): Gicv5Host {
  const uapi = o.uapi ?? (process.env.VGIC_V5_UAPI as Gicv5Uapi | undefined) ?? DEFAULT_GICV5_UAPI;
  if (!GICV5_UAPIS.includes(uapi)) throw new RangeError(`unknown GICv5 uapi '${String(uapi)}' (known: ${GICV5_UAPIS.join(', ')})`);
  const check = (name: string, v: number | undefined, lo: number, hi: number, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!intIn(v, lo, hi)) throw new RangeError(`gicv5.${name} must be an integer in ${lo}..${hi}`);
    return v;
  };
  const ppis = o.implementedPpis ?? defaultImplementedPpis(o.pmu ?? true);
  if (typeof ppis !== 'bigint' || ppis < 0n || ppis >= 1n << 64n) throw new RangeError('gicv5.implementedPpis must be a 64-bit mask');
  return {
    uapi,
    implementedPpis: ppis,
    irsPriBits: check('irsPriBits', o.irsPriBits, 1, 5, 5),
    istIdBits: check('istIdBits', o.istIdBits, 5, 24, 24),
    minLpiIdBits: check('minLpiIdBits', o.minLpiIdBits, 0, 15, 5),
    spiRange: check('spiRange', o.spiRange, 1, 0x1ffffff, 1024),
    paRange: check('paRange', o.paRange, 0, 15, 2),
    legacyV3: o.legacyV3 ?? true,
    faults: { ...(o.faults ?? {}) },
  };
}
