// One GICv5 interrupt's state: what KVM keeps in struct vgic_irq for PPIs, and what the host IRS
// keeps in an Interrupt State Table entry (ISTE) for SPIs and LPIs. The model keeps both in one
// object; the ISTE view is what IST save/restore exchanges with userspace.

import {
  GICV5_ISTL2E_ACTIVE,
  GICV5_ISTL2E_ENABLE,
  GICV5_ISTL2E_HM,
  GICV5_ISTL2E_HWU_MASK,
  GICV5_ISTL2E_IAFFID_SHIFT,
  GICV5_ISTL2E_IRM,
  GICV5_ISTL2E_PENDING,
  GICV5_ISTL2E_PRIORITY_SHIFT,
  gicv5Hwirq,
} from '../../uapi/gicv5.ts';

export class V5Irq {
  readonly type: number;
  readonly id: number;
  /** The GICv5 IntID: type in bits 31:29, ID in 23:0 (vgic_v5_make_{ppi,spi,lpi}). */
  readonly intid: number;
  enabled = false;
  /** Edge latch (or a software pend of a level interrupt): vgic_irq.pending_latch / ISTE.Pending. */
  pendingLatch = false;
  /** Input line of a level interrupt (vgic_irq.line_level). */
  lineLevel = false;
  active = false;
  /** Handling mode: level-sensitive (ISTE.HM = 1, VGIC_CONFIG_LEVEL). */
  level = false;
  /** 5-bit GICv5 priority, 0 highest. */
  priority = 0;
  /** Target PE: for a VM the IAFFID is the vCPU id (the VPE ID). */
  iaffid = 0;
  irm = false;
  /** ISTE.HWU: hardware use; never set by the model, dropped on restore. */
  hwu = 0;
  /** An in-kernel device that drives the line (arch timer, PMU); userspace may not. */
  owner: string | null = null;

  constructor(type: number, id: number) {
    this.type = type;
    this.id = id;
    this.intid = gicv5Hwirq(type, id);
  }

  /** irq_is_pending(): the latch, or a high line for a level interrupt. */
  isPending(): boolean {
    return this.pendingLatch || (this.level && this.lineLevel);
  }

  /** The 32-bit L2 ISTE as userspace sees it (vgic-v5-tables.c: GICV5_ISTL2E_*). */
  toIste(): number {
    let v = 0;
    if (this.isPending()) v |= GICV5_ISTL2E_PENDING;
    if (this.active) v |= GICV5_ISTL2E_ACTIVE;
    if (this.level) v |= GICV5_ISTL2E_HM;
    if (this.enabled) v |= GICV5_ISTL2E_ENABLE;
    if (this.irm) v |= GICV5_ISTL2E_IRM;
    v |= (this.hwu << 9) & GICV5_ISTL2E_HWU_MASK;
    v |= (this.priority & 0x1f) << GICV5_ISTL2E_PRIORITY_SHIFT;
    v |= (this.iaffid & 0xffff) << GICV5_ISTL2E_IAFFID_SHIFT;
    return v >>> 0;
  }

  /**
   * vgic_v5_restore_ist_entry(): HWU is dropped; pending is replayed (GIC VDPEND before the first
   * run), which the model does at once. vgic_v5_restore_spi_config(): HM sets the trigger mode;
   * an edge interrupt's latch follows Pending, a level one is latched when Pending is set.
   */
  fromIste(v: number): void {
    const pending = (v & GICV5_ISTL2E_PENDING) !== 0;
    this.active = (v & GICV5_ISTL2E_ACTIVE) !== 0;
    this.level = (v & GICV5_ISTL2E_HM) !== 0;
    this.enabled = (v & GICV5_ISTL2E_ENABLE) !== 0;
    this.irm = (v & GICV5_ISTL2E_IRM) !== 0;
    this.hwu = 0;
    this.priority = (v >>> GICV5_ISTL2E_PRIORITY_SHIFT) & 0x1f;
    this.iaffid = (v >>> GICV5_ISTL2E_IAFFID_SHIFT) & 0xffff;
    if (!this.level) this.pendingLatch = pending;
    else if (pending) this.pendingLatch = true;
    else if (!this.active) this.pendingLatch = false;
  }
}
