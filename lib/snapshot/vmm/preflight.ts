// Before the first write of a restore: everything KVM (or the VMM) will refuse, found by walking
// the planned accesses against the destination's state, which is only read. A refusal here
// leaves the destination untouched; a write that still fails later is rolled back (restore.ts).
//
// Every register the four restore lists write, and what refuses it (arch/arm64/kvm, Linux 7.2):
//
// | register (group)                       | KVM function                                   | refused when                         |
// |----------------------------------------|------------------------------------------------|--------------------------------------|
// | any access (all groups)                | vgic_v3_attr_regs_access / vgic_v2_attr_regs_access (vgic-kvm-device.c) | EINVAL: no vCPU with that MPIDR / cpu id (checked: the snapshot's vCPU list must be the destination's); EBUSY: a vCPU is running or (v3) the vGIC is not initialised (the backup read fails first: refused) |
// | GICD_IIDR (DIST, the IIDR policy)      | vgic_mmio_uaccess_write_v{2,3}_misc            | EINVAL: other bits than Revision differ, or a revision the kernel does not offer (differs per profile, lib/vgic/iidr.ts) -- not predicted: it is the first write of every sequence and a refused write changes nothing |
// | GICD_CTLR, GICD_STATUSR, GICR_CTLR, GICR_STATUSR, GICR_WAKER, GICR_PROPBASER, GICR_PENDBASER | vgic_mmio_uaccess_write_v3_misc, vgic_mmio_write_v3r_ctlr, ... | never (unknown offsets are WI: vgic_uaccess_write) |
// | IGROUPR, I[SC]ENABLER, I[SC]PENDR, I[SC]ACTIVER, IPRIORITYR, ICFGR, IROUTER, ITARGETSR, [CS]PENDSGIR (DIST, REDIST) | vgic_mmio_uaccess_write_v2_group, vgic_uaccess_write_[sc]enable, vgic_v3_uaccess_write_pending, vgic_uaccess_write_cpending, vgic_mmio_uaccess_write_[sc]active, ... | never (a write the profile ignores, e.g. v2 IGROUPR without the flag, returns 0) |
// | LEVEL_INFO                             | vgic_v3_line_level_info_uaccess                | EINVAL: INTID not a multiple of 32 (the sequences never do it; checked) |
// | GICC_* (CPU_REGS)                      | vgic_v2_cpuif_uaccess                          | never                                |
// | ICC_SRE_EL1                            | set_gic_sre (vgic-sys-reg-v3.c)                | EINVAL: SRE (bit 0) clear            |
// | ICC_CTLR_EL1                           | set_gic_ctlr                                   | EINVAL: PRIbits above the vCPU's num_pri_bits, IDbits above num_id_bits, SEIS or A3V unlike the host's; PRIbits is lowered before the IDbits check and both before the SEIS/A3V checks, so a refused write can still lower them |
// | ICC_AP0R<n>_EL1, ICC_AP1R<n>_EL1       | set_gic_ap0r / set_gic_ap1r                    | EINVAL: n > vgic_v3_max_apr_idx() for the num_pri_bits in force at that moment (after the ICC_CTLR_EL1 write) |
// | ICC_PMR/BPR0/BPR1/IGRPEN0/IGRPEN1_EL1  | set_gic_pmr, set_gic_bpr0, set_gic_bpr1, set_gic_grpen0/1 | never (BPR1 is ignored while CBPR is set) |
//
// And the VMMs' own checks: QEMU's GICD_TYPER checks (kvm_arm_gicv3_check, kvm_arm_gic_put),
// Firecracker's vCPU count and its AP bank check (set_icc_regs: InvalidVgicSysRegState when the
// saved Some/None pattern does not match the PRIbits the destination has after the ICC_CTLR_EL1
// write). All of them only read, so they run here too.

import {
  ICC_AP0R0_EL1,
  ICC_AP1R0_EL1,
  ICC_CTLR_EL1,
  ICC_CTLR_EL1_A3V,
  ICC_CTLR_EL1_ID_BITS_MASK,
  ICC_CTLR_EL1_ID_BITS_SHIFT,
  ICC_CTLR_EL1_PRI_BITS_MASK,
  ICC_CTLR_EL1_PRI_BITS_SHIFT,
  ICC_CTLR_EL1_SEIS,
  ICC_SRE_EL1,
  ICC_SRE_EL1_SRE,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  KVM_DEV_ARM_VGIC_LINE_LEVEL_INTID_MASK,
  KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK,
  KVM_DEV_ARM_VGIC_V3_MPIDR_MASK,
  maxAprIdx,
} from '../../host/index.ts';
import { VmmAbort, checkFailure } from './failure.ts';
import { type FcApReg, type Op, fcApMismatch } from './plan.ts';
import type { SequenceRun } from './run.ts';

/** What set_gic_ctlr compares, per vCPU, as the planned writes would leave it. */
interface CpuIfModel {
  priBits: number;
  idBits: number;
  readonly seis: boolean;
  readonly a3v: boolean;
}

const field = (v: number, mask: number, shift: number): number => (v & mask) >>> shift;

class Preflight {
  private readonly cpuifs = new Map<bigint, CpuIfModel>();

  constructor(readonly run: SequenceRun) {}

  private refuse(step: string, detail: string): never {
    throw new VmmAbort(checkFailure('validate', this.run.seq.name, 'refused', step, detail));
  }

  /** The destination vCPU's ICC_CTLR_EL1 as the writes so far would leave it (read once). */
  private cpuif(attr: bigint): CpuIfModel {
    const upper = attr & KVM_DEV_ARM_VGIC_V3_MPIDR_MASK;
    let c = this.cpuifs.get(upper);
    if (!c) {
      const v = Number(this.run.readSysreg(upper | BigInt(ICC_CTLR_EL1), 'ICC_CTLR_EL1 (destination)') & 0xffffffffn);
      c = {
        priBits: field(v, ICC_CTLR_EL1_PRI_BITS_MASK, ICC_CTLR_EL1_PRI_BITS_SHIFT) + 1,
        idBits: field(v, ICC_CTLR_EL1_ID_BITS_MASK, ICC_CTLR_EL1_ID_BITS_SHIFT),
        seis: (v & ICC_CTLR_EL1_SEIS) !== 0,
        a3v: (v & ICC_CTLR_EL1_A3V) !== 0,
      };
      this.cpuifs.set(upper, c);
    }
    return c;
  }

  /** The KVM rules of the CPU_SYSREGS writes (vgic-sys-reg-v3.c), in the order KVM applies them. */
  private sysreg(attr: bigint, value: bigint, label: string): void {
    const enc = Number(attr & KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK);
    if (enc === ICC_SRE_EL1) {
      // set_gic_sre: "Validate SRE bit"
      if ((value & BigInt(ICC_SRE_EL1_SRE)) === 0n) this.refuse(label, 'SRE (bit 0) is 0: KVM refuses it (set_gic_sre: EINVAL); a GICv3 guest runs with SRE = 1');
      return;
    }
    if (enc === ICC_CTLR_EL1) {
      const c = this.cpuif(attr);
      const v = Number(value & 0xffffffffn);
      const pri = field(v, ICC_CTLR_EL1_PRI_BITS_MASK, ICC_CTLR_EL1_PRI_BITS_SHIFT) + 1;
      const id = field(v, ICC_CTLR_EL1_ID_BITS_MASK, ICC_CTLR_EL1_ID_BITS_SHIFT);
      // set_gic_ctlr: PRIbits and IDbits may only be lowered (each is lowered before the next
      // check, so a write refused later still lowers them: refusing here keeps them)...
      if (pri > c.priBits) this.refuse(label, `PRIbits ${pri} above the destination's ${c.priBits}: KVM refuses it (set_gic_ctlr: EINVAL)`);
      if (id > c.idBits) this.refuse(label, `IDbits ${id} above the destination's ${c.idBits}: KVM refuses it (set_gic_ctlr: EINVAL)`);
      // ...and SEIS/A3V must be the host's (ICH_VTR_EL2).
      if (((v & ICC_CTLR_EL1_SEIS) !== 0) !== c.seis) this.refuse(label, `SEIS ${c.seis ? 0 : 1} unlike the destination's ${c.seis ? 1 : 0}: KVM refuses it (set_gic_ctlr: EINVAL)`);
      if (((v & ICC_CTLR_EL1_A3V) !== 0) !== c.a3v) this.refuse(label, `A3V ${c.a3v ? 0 : 1} unlike the destination's ${c.a3v ? 1 : 0}: KVM refuses it (set_gic_ctlr: EINVAL)`);
      c.priBits = pri;
      c.idBits = id;
      return;
    }
    const ap0 = enc - ICC_AP0R0_EL1;
    const ap1 = enc - ICC_AP1R0_EL1;
    const n = ap0 >= 0 && ap0 < 4 ? ap0 : ap1 >= 0 && ap1 < 4 ? ap1 : -1;
    if (n >= 0) {
      // set_gic_ap0r / set_gic_ap1r: idx > vgic_v3_max_apr_idx(vcpu) is EINVAL
      const c = this.cpuif(attr);
      if (n > maxAprIdx(c.priBits)) this.refuse(label, `index ${n} does not exist with ${c.priBits} priority bits: KVM refuses it (set_gic_ap${ap0 === n ? 0 : 1}r: EINVAL)`);
    }
  }

  private fcAp(ctlrAttr: bigint, regs: readonly FcApReg[]): void {
    const c = this.cpuif(ctlrAttr);
    const ctlr = BigInt(((c.priBits - 1) << ICC_CTLR_EL1_PRI_BITS_SHIFT) >>> 0);
    const bad = fcApMismatch(regs, ctlr);
    if (bad) this.refuse(bad.reg.label, bad.detail);
    for (const r of regs) if (r.value !== undefined) this.sysreg(r.attr, r.value, r.label);
  }

  ops(ops: readonly Op[]): void {
    for (const op of ops) {
      switch (op.k) {
        case 'set32':
          // vgic_v3_line_level_info_uaccess: "if (intid % 32) return -EINVAL"
          if (op.group === KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO && Number(op.attr & KVM_DEV_ARM_VGIC_LINE_LEVEL_INTID_MASK) % 32) {
            this.refuse(op.label, 'LEVEL_INFO INTID not a multiple of 32 (vgic_v3_line_level_info_uaccess: EINVAL)');
          }
          break;
        case 'set64':
          this.sysreg(op.attr, op.value, op.label);
          break;
        case 'fcAp':
          this.fcAp(op.ctlrAttr, op.regs);
          break;
        case 'check':
          try {
            op.fn(this.run);
          } catch (e) {
            if (e instanceof VmmAbort && e.failure.reaction !== 'refused') this.refuse(e.failure.step, e.failure.detail);
            throw e;
          }
          break;
        case 'probePlpis':
          this.run.probePlpis();
          break;
        case 'ifPlpis':
          if (this.run.plpis) this.ops(op.ops);
          break;
        case 'iidrRevision':
        case 'ctrl':
          break;
      }
    }
  }
}

/**
 * Walk the planned accesses against the destination (reads only) and throw a 'refused' VmmAbort
 * for the first one KVM or the VMM would refuse. `run` must be a fresh run on the destination.
 */
export function preflight(run: SequenceRun, ops: readonly Op[]): void {
  new Preflight(run).ops(ops);
}

