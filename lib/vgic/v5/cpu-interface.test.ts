// The GICv5 CPU interface and IRS as a guest sees them: priority masking, acknowledge/EOI/
// deactivate, PPI registers, GIC CD* instructions, and the IRS frame by MMIO.

import t from '../../../test/tap.ts';
import {
  GICV5_ARCH_PPI_SW_PPI,
  GICV5_GICR_CDIA_VALID,
  GICV5_GIC_CDAFF_IAFFID_SHIFT,
  GICV5_GIC_CDPEND_PENDING,
  GICV5_GIC_CDPRI_PRIORITY_SHIFT,
  GICV5_HWIRQ_TYPE_LPI,
  GICV5_HWIRQ_TYPE_PPI,
  GICV5_HWIRQ_TYPE_SPI,
  GICV5_IRS_CONFIG_BASE_GPA,
  GICV5_IRS_CR0,
  GICV5_IRS_IDR0,
  GICV5_IRS_IDR1,
  GICV5_IRS_IST_BASER,
  GICV5_IRS_IST_CFGR,
  GICV5_IRS_SPI_CFGR,
  GICV5_IRS_SPI_SELR,
  GICV5_IRS_SPI_STATUSR,
  GICV5_OP_GICR_CDIA,
  GICV5_OP_GIC_CDAFF,
  GICV5_OP_GIC_CDDI,
  GICV5_OP_GIC_CDDIS,
  GICV5_OP_GIC_CDEN,
  GICV5_OP_GIC_CDEOI,
  GICV5_OP_GIC_CDPEND,
  GICV5_OP_GIC_CDPRI,
  GICV5_OP_GIC_CDRCFG,
  ICC_APR_EL1,
  ICC_CR0_EL1,
  ICC_HPPIR_EL1,
  ICC_IAFFIDR_EL1,
  ICC_IAR1_EL1,
  ICC_ICSR_EL1,
  ICC_IDR0_EL1,
  ICC_PCR_EL1,
  ICC_PPI_ENABLER0_EL1,
  ICC_PPI_ENABLER1_EL1,
  ICC_PPI_HMR0_EL1,
  ICC_PPI_PRIORITYR_EL1,
  ICC_PPI_SPENDR0_EL1,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SHIFT,
  KVM_ARM_IRQ_TYPE_SPI,
  __vcpuRun,
  _kvmIrqLine,
} from '../../host/index.ts';
import { irqSignalled, wfiWakeup } from '../cpuif.ts';
import { guestSysregRead, guestSysregWrite } from '../guest-sysregs.ts';
import { vgicMmioRead, vgicMmioWrite } from '../io.ts';
import type { VgicCpu } from '../state.ts';
import { doneGuestV5, v5Vm } from '../../../test/support/v5.ts';

const hw = (type: number, id: number): bigint => BigInt((((type & 7) << 29) | id) >>> 0);
const SW = hw(GICV5_HWIRQ_TYPE_PPI, GICV5_ARCH_PPI_SW_PPI);

/** A VM that has run once (so the IRS frame is mapped), and helpers on vCPU `i`. */
function rig(o: Parameters<typeof v5Vm>[0] = {}) {
  const f = v5Vm({ guest: doneGuestV5, ...o });
  for (const v of f.vcpus) if (__vcpuRun(v)) throw new Error('run');
  const dist = f.vm.dist;
  const cpu = (i = 0): VgicCpu => f.vcpus[i]!.vgic;
  const rd = (enc: number, i = 0): bigint => {
    const r = guestSysregRead(dist, cpu(i), enc);
    if (!r.ok) throw new Error(r.reason);
    return r.value;
  };
  const wr = (enc: number, v: number | bigint, i = 0): void => {
    const r = guestSysregWrite(dist, cpu(i), enc, BigInt(v));
    if (!r.ok) throw new Error(r.reason);
  };
  const line = (type: number, num: number, level: number, vcpu = 0): number => _kvmIrqLine(f.vm, (type << KVM_ARM_IRQ_TYPE_SHIFT) | (vcpu << 16) | num, level);
  const irs = (off: number, len = 4): number | bigint | null => vgicMmioRead(dist, cpu(), GICV5_IRS_CONFIG_BASE_GPA + off, len);
  const irsW = (off: number, v: number | bigint, len = 4): boolean => vgicMmioWrite(dist, cpu(), GICV5_IRS_CONFIG_BASE_GPA + off, len, v);
  const signalled = (i = 0): boolean => irqSignalled(dist, cpu(i));
  return { ...f, cpu, rd, wr, line, irs, irsW, signalled, wakes: (i = 0) => wfiWakeup(dist, cpu(i)) };
}

/** Enable the CPU interface with PCR = 31 and SW_PPI enabled at `prio`. */
function swPpiReady(r: ReturnType<typeof rig>, prio = 0x10): void {
  r.wr(ICC_PPI_PRIORITYR_EL1(0), BigInt(prio) << 24n);
  r.wr(ICC_PPI_ENABLER0_EL1, 1n << BigInt(GICV5_ARCH_PPI_SW_PPI));
  r.wr(ICC_PCR_EL1, 31);
  r.wr(ICC_CR0_EL1, 1);
}

t.test('priority mask: ICC_CR0_EL1.EN, ICC_PCR_EL1 and the active priority (vgic_v5_get_effective_priority_mask)', async (t) => {
  const r = rig();
  swPpiReady(r, 0x10);
  r.wr(ICC_CR0_EL1, 0);
  t.equal(r.line(KVM_ARM_IRQ_TYPE_PPI, 3, 1), 0, 'SW_PPI raised');
  t.notOk(r.signalled(), 'EN clear: nothing is signalled');
  t.notOk(r.wakes(), 'EN clear: nothing wakes a WFI either');
  r.wr(ICC_CR0_EL1, 1);
  t.ok(r.signalled(), 'EN set, PCR 31: signalled');
  r.wr(ICC_PCR_EL1, 0x0f);
  t.notOk(r.signalled(), 'PCR 0x0f masks priority 0x10');
  r.wr(ICC_PCR_EL1, 0x10);
  t.ok(r.signalled(), 'PCR 0x10 lets priority 0x10 through (priority <= PCR)');
  r.wr(ICC_APR_EL1, 1 << 0x10);
  t.notOk(r.signalled(), 'an active priority 0x10 blocks another interrupt of the same priority');
  r.wr(ICC_APR_EL1, 1 << 0x11);
  t.ok(r.signalled(), 'a lower active priority does not');
  t.equal(r.rd(ICC_PPI_SPENDR0_EL1), 1n << 3n, 'ICC_PPI_SPENDR0_EL1 shows it pending');
});

t.test('GICR CDIA / GIC CDEOI / GIC CDDI', async (t) => {
  const r = rig();
  swPpiReady(r, 0x04);
  t.equal(r.rd(GICV5_OP_GICR_CDIA), 0n, 'nothing pending: VALID clear');
  r.line(KVM_ARM_IRQ_TYPE_PPI, 3, 1);
  t.equal(r.rd(ICC_HPPIR_EL1), (1n << 32n) | SW, 'ICC_HPPIR_EL1');
  t.equal(r.rd(GICV5_OP_GICR_CDIA), GICV5_GICR_CDIA_VALID | SW, 'acknowledged: VALID | IntID');
  t.equal(r.rd(ICC_APR_EL1), 1n << 4n, 'APR bit of priority 4');
  t.notOk(r.signalled(), 'active, edge latch consumed');
  t.equal(r.rd(GICV5_OP_GICR_CDIA), 0n, 'a second CDIA finds nothing');
  r.wr(GICV5_OP_GIC_CDEOI, 0);
  t.equal(r.rd(ICC_APR_EL1), 0n, 'CDEOI dropped the priority');
  r.line(KVM_ARM_IRQ_TYPE_PPI, 3, 0);
  r.line(KVM_ARM_IRQ_TYPE_PPI, 3, 1);
  t.notOk(r.signalled(), 'still active: a new edge waits');
  r.wr(GICV5_OP_GIC_CDDI, SW);
  t.ok(r.signalled(), 'CDDI deactivated it; the new edge is signalled');
});

t.test('PPI registers: enable masked by the exposed PPIs, HMR, ENABLER1 and PRIORITYR8..15 RAZ/WI', async (t) => {
  const r = rig();
  r.wr(ICC_PPI_ENABLER0_EL1, -1n);
  t.equal(r.rd(ICC_PPI_ENABLER0_EL1), 1n << BigInt(GICV5_ARCH_PPI_SW_PPI), 'only the SW_PPI is exposed (no in-kernel PPI owners)');
  r.wr(ICC_PPI_ENABLER1_EL1, -1n);
  t.equal(r.rd(ICC_PPI_ENABLER1_EL1), 0n);
  t.equal(r.rd(ICC_PPI_HMR0_EL1), 0n, 'the SW_PPI is edge');
  r.wr(ICC_PPI_PRIORITYR_EL1(0), -1n);
  t.equal(r.rd(ICC_PPI_PRIORITYR_EL1(0)), 0x1f1f1f1f1f1f1f1fn, '5-bit priority fields');
  r.wr(ICC_PPI_PRIORITYR_EL1(9), -1n);
  t.equal(r.rd(ICC_PPI_PRIORITYR_EL1(9)), 0n, 'PPIs 64..127 are not backed');
  t.equal(r.rd(ICC_IDR0_EL1), 4n << 4n, 'ICC_IDR0_EL1: PRI_BITS = 5 bits, ID_BITS = 16');
  t.equal(r.rd(ICC_IAFFIDR_EL1), 0n, 'IAFFID = vCPU id');
  t.notOk(guestSysregWrite(r.vm.dist, r.cpu(), ICC_IAFFIDR_EL1, 0n).ok, 'ICC_IAFFIDR_EL1 write: UNDEF');
  t.notOk(guestSysregRead(r.vm.dist, r.cpu(), ICC_IAR1_EL1).ok, 'a GICv3 register: UNDEF');
});

t.test('SPIs: IRS enable, affinity, priority bits of the IRS, level and edge lines', async (t) => {
  const r = rig({ vcpus: 2, host: { irsPriBits: 3 } });
  const spi = hw(GICV5_HWIRQ_TYPE_SPI, 5);
  for (const i of [0, 1]) {
    r.wr(ICC_PCR_EL1, 31, i);
    r.wr(ICC_CR0_EL1, 1, i);
  }
  r.wr(GICV5_OP_GIC_CDPRI, spi | (0x1fn << GICV5_GIC_CDPRI_PRIORITY_SHIFT));
  r.wr(GICV5_OP_GIC_CDRCFG, spi);
  t.equal((r.rd(ICC_ICSR_EL1) >> 11n) & 0x1fn, 0x1cn, 'a 3-bit IRS keeps the top 3 priority bits');
  t.equal((Number(r.irs(GICV5_IRS_IDR1)) >>> 20) & 7, 2, 'IRS_IDR1.PRIORITY_BITS = 3 - 1');
  r.wr(GICV5_OP_GIC_CDPRI, spi | (0x08n << GICV5_GIC_CDPRI_PRIORITY_SHIFT));
  r.wr(GICV5_OP_GIC_CDAFF, spi | (1n << GICV5_GIC_CDAFF_IAFFID_SHIFT));
  r.wr(GICV5_OP_GIC_CDEN, spi);
  t.equal(r.line(KVM_ARM_IRQ_TYPE_SPI, 5, 1), 0);
  t.notOk(r.signalled(1), 'IRS disabled: not delivered');
  t.equal(r.irsW(GICV5_IRS_CR0, 1), true);
  t.ok(r.signalled(1), 'IRS enabled: delivered to IAFFID 1');
  t.notOk(r.signalled(0), 'not to vCPU 0');
  t.equal(r.line(KVM_ARM_IRQ_TYPE_SPI, 5, 0), 0);
  t.ok(r.signalled(1), 'edge: lowering the line cannot recall it');
  // make it level through IRS_SPI_SELR/IRS_SPI_CFGR
  r.irsW(GICV5_IRS_SPI_SELR, 6);
  t.equal(r.irs(GICV5_IRS_SPI_STATUSR), 3, 'SPI_STATUSR: IDLE | V for a valid SPI');
  r.irsW(GICV5_IRS_SPI_CFGR, 1);
  t.equal(r.irs(GICV5_IRS_SPI_CFGR), 1, 'SPI 6 level');
  const lvl = hw(GICV5_HWIRQ_TYPE_SPI, 6);
  r.wr(GICV5_OP_GIC_CDAFF, lvl);
  r.wr(GICV5_OP_GIC_CDEN, lvl);
  r.wr(GICV5_OP_GIC_CDDIS, spi);
  r.line(KVM_ARM_IRQ_TYPE_SPI, 6, 1);
  t.equal(r.rd(GICV5_OP_GICR_CDIA, 0), GICV5_GICR_CDIA_VALID | lvl, 'level SPI acknowledged');
  r.wr(GICV5_OP_GIC_CDEOI, 0);
  r.wr(GICV5_OP_GIC_CDDI, lvl);
  t.ok(r.signalled(0), 'line still high: pending again after deactivation');
  r.line(KVM_ARM_IRQ_TYPE_SPI, 6, 0);
  t.notOk(r.signalled(0), 'line low: no longer pending');
  t.equal(r.line(KVM_ARM_IRQ_TYPE_SPI, 32, 1), -22, 'SPI 32 of 32: EINVAL');
  r.wr(GICV5_OP_GIC_CDRCFG, hw(GICV5_HWIRQ_TYPE_SPI, 40));
  t.equal(r.rd(ICC_ICSR_EL1) & 1n, 1n, 'CDRCFG of a missing SPI: ICSR.F');
});

t.test('IRS frame by MMIO: widths, IST_BASER/IST_CFGR rules, the LPI IST', async (t) => {
  const r = rig();
  t.equal(r.irs(GICV5_IRS_IDR0, 8), 0n, 'a 64-bit access to a 32-bit register reads zero');
  t.equal(r.irs(GICV5_IRS_IDR0) !== 0, true, 'a 32-bit one works');
  t.equal(r.irs(0x10000), 0, 'SETLPI frame: RAZ');
  t.equal(r.irs(0x20000), null, 'past the 128K IRS: an exit to userspace');
  const base = 0x8020000n;
  r.irsW(GICV5_IRS_IST_CFGR, 30); // LPI_ID_BITS 30 > ID_BITS 16: invalid
  r.irsW(GICV5_IRS_IST_BASER, base | 1n, 8);
  t.equal(r.irs(GICV5_IRS_IST_BASER, 8), 0n, 'BASER.VALID with an invalid IST_CFGR: ignored');
  t.equal(r.v5.lpis, null);
  r.irsW(GICV5_IRS_IST_CFGR, 5);
  r.irsW(GICV5_IRS_IST_BASER, base | 1n, 8);
  t.equal(r.irs(GICV5_IRS_IST_BASER, 8), base | 1n, 'valid');
  t.equal(r.v5.lpis?.length, 32, 'the host LPI IST has 2^5 entries');
  r.irsW(GICV5_IRS_IST_BASER, (base + 0x40n) | 1n, 8);
  t.equal(r.irs(GICV5_IRS_IST_BASER, 8), base | 1n, 'the address cannot change while valid');
  r.irsW(GICV5_IRS_IST_CFGR, 6);
  t.equal(r.irs(GICV5_IRS_IST_CFGR), 5, 'IST_CFGR is frozen while BASER is valid');
  t.equal(r.irs(GICV5_IRS_IST_BASER + 4), 0, 'upper half by a 32-bit access');
  const lpi = hw(GICV5_HWIRQ_TYPE_LPI, 7);
  r.wr(ICC_PCR_EL1, 31);
  r.wr(ICC_CR0_EL1, 1);
  r.irsW(GICV5_IRS_CR0, 1);
  r.wr(GICV5_OP_GIC_CDEN, lpi);
  r.wr(GICV5_OP_GIC_CDPEND, lpi | GICV5_GIC_CDPEND_PENDING);
  t.ok(r.signalled(), 'LPI 7 pending and enabled');
  r.wr(GICV5_OP_GIC_CDPEND, lpi);
  t.notOk(r.signalled(), 'CDPEND without PENDING clears it');
  r.irsW(GICV5_IRS_IST_BASER, base, 8);
  t.equal(r.v5.lpis, null, 'VALID cleared: the host LPI IST is freed');

});
