// ICC_* system registers as a GICv3 guest sees them (the ICV interface, plus the SGI
// registers that trap to KVM: sys_regs.c access_gic_sgi). A GICv2 VM has no system-register
// interface (ICC_SRE_EL1.SRE = 0): every access is UNDEF.

import {
  ICC_AP0R0_EL1,
  ICC_AP1R0_EL1,
  ICC_ASGI1R_EL1,
  ICC_BPR0_EL1,
  ICC_BPR1_EL1,
  ICC_CTLR_EL1,
  ICC_CTLR_EL1_CBPR,
  ICC_CTLR_EL1_EOImode,
  ICC_DIR_EL1,
  ICC_EOIR0_EL1,
  ICC_EOIR1_EL1,
  ICC_HPPIR0_EL1,
  ICC_HPPIR1_EL1,
  ICC_IAR0_EL1,
  ICC_IAR1_EL1,
  ICC_IGRPEN0_EL1,
  ICC_IGRPEN1_EL1,
  ICC_PMR_EL1,
  ICC_RPR_EL1,
  ICC_SGI0R_EL1,
  ICC_SGI1R_EL1,
  ICC_SRE_EL1,
  maxAprIdx,
  readIccCtlr,
  sysregName,
} from './cpuif-regs.ts';
import {
  SPURIOUS_INTID,
  acknowledge,
  deactivate,
  dispatchSgi,
  endOfInterrupt,
  highestPending,
  minBpr0,
  minBpr1,
  priMask,
  runningPriority,
} from './cpuif.ts';
import { pruneApList } from './ap-list.ts';
import type { VgicCpu, VgicDist } from './state.ts';
import { v5GuestSysregRead, v5GuestSysregWrite } from './v5/cpu-interface.ts';
import { timerSysregRead, timerSysregWrite } from './arch-timer.ts';

/** MPIDR_EL1 (op0 3, op1 0, CRn 0, CRm 0, op2 5), in the ARM64_SYS_REG low-16-bit encoding. */
const MPIDR_EL1 = (3 << 14) | 5;

interface GuestSysreg {
  readonly name: string;
  /** Present whatever the GIC model (else only for a GICv3 guest: ICC_SRE_EL1.SRE). */
  readonly anyModel?: boolean;
  read?(dist: VgicDist, vcpu: VgicCpu): number;
  write?(dist: VgicDist, vcpu: VgicCpu, v: number | bigint): void;
}

/** The low 32 bits of a written value (a u32 arrives as a number, wider values as a bigint). */
const lo = (v: number | bigint): number => (typeof v === 'number' ? v >>> 0 : Number(v & 0xffffffffn));
const u64 = (v: number | bigint): bigint => BigInt.asUintN(64, BigInt(v));

/** BigInts of 0..1023 (every INTID IAR/HPPIR can return, and every 8-bit register), made once. */
const SMALL = Array.from({ length: 1024 }, (_, i) => BigInt(i));

function apr(group: 0 | 1, n: number): [number, GuestSysreg] {
  const enc = (group === 0 ? ICC_AP0R0_EL1 : ICC_AP1R0_EL1) + n;
  return [
    enc,
    {
      name: `ICC_AP${group}R${n}_EL1`,
      read: (_d, v) => (n > maxAprIdx(v.cpuif.numPriBits) ? 0 : (group ? v.cpuif.ap1r : v.cpuif.ap0r)[n]!),
      write: (d, v, x) => {
        if (n > maxAprIdx(v.cpuif.numPriBits)) return;
        (group ? v.cpuif.ap1r : v.cpuif.ap0r)[n] = lo(x) >>> 0;
        d.kick();
      },
    },
  ];
}

const TABLE = new Map<number, GuestSysreg>([
  [ICC_PMR_EL1, { name: 'ICC_PMR_EL1', read: (_d, v) => v.cpuif.pmr & priMask(v.cpuif), write: (d, v, x) => { v.cpuif.pmr = lo(x) & priMask(v.cpuif); d.kick(); } }],
  [ICC_IAR0_EL1, { name: 'ICC_IAR0_EL1', read: (d, v) => acknowledge(d, v, 0) }],
  [ICC_IAR1_EL1, { name: 'ICC_IAR1_EL1', read: (d, v) => acknowledge(d, v, 1) }],
  [ICC_EOIR0_EL1, { name: 'ICC_EOIR0_EL1', write: (d, v, x) => endOfInterrupt(d, v, lo(x) & 0xffffff) }],
  [ICC_EOIR1_EL1, { name: 'ICC_EOIR1_EL1', write: (d, v, x) => endOfInterrupt(d, v, lo(x) & 0xffffff) }],
  [ICC_DIR_EL1, { name: 'ICC_DIR_EL1', write: (d, v, x) => { if (v.cpuif.eoimode) deactivate(d, v, lo(x) & 0xffffff); } }],
  // The hardware ICV_HPPIRn only considers list registers of an enabled group (measured on real
  // KVM under QEMU: a pending Group 0 SGI reads 1023 until ICC_IGRPEN0_EL1 is set).
  [ICC_HPPIR0_EL1, { name: 'ICC_HPPIR0_EL1', read: (d, v) => highestPending(d, v, { g0: v.cpuif.igrpen0 === 1, g1: false }, false)?.intid ?? SPURIOUS_INTID }],
  [ICC_HPPIR1_EL1, { name: 'ICC_HPPIR1_EL1', read: (d, v) => highestPending(d, v, { g0: false, g1: v.cpuif.igrpen1 === 1 }, false)?.intid ?? SPURIOUS_INTID }],
  [ICC_RPR_EL1, { name: 'ICC_RPR_EL1', read: (_d, v) => runningPriority(v.cpuif) }],
  [ICC_BPR0_EL1, { name: 'ICC_BPR0_EL1', read: (_d, v) => Math.max(v.cpuif.bpr0, minBpr0(v.cpuif)), write: (d, v, x) => { v.cpuif.bpr0 = Math.max(lo(x) & 7, minBpr0(v.cpuif)); d.kick(); } }],
  [ICC_BPR1_EL1, {
    name: 'ICC_BPR1_EL1',
    read: (_d, v) => (v.cpuif.cbpr ? Math.min(Math.max(v.cpuif.bpr0, minBpr0(v.cpuif)) + 1, 7) : Math.max(v.cpuif.bpr1, minBpr1(v.cpuif))),
    write: (d, v, x) => { if (!v.cpuif.cbpr) v.cpuif.bpr1 = Math.max(lo(x) & 7, minBpr1(v.cpuif)); d.kick(); },
  }],
  [ICC_CTLR_EL1, {
    name: 'ICC_CTLR_EL1',
    read: (d, v) => readIccCtlr(d, v.cpuif, true),
    // Only CBPR and EOImode are writable from the guest (ICV_CTLR_EL1).
    write: (d, v, x) => { v.cpuif.cbpr = lo(x) & ICC_CTLR_EL1_CBPR ? 1 : 0; v.cpuif.eoimode = lo(x) & ICC_CTLR_EL1_EOImode ? 1 : 0; d.kick(); },
  }],
  [ICC_SRE_EL1, { name: 'ICC_SRE_EL1', read: (_d, v) => v.cpuif.sre, write: () => {} }],
  [ICC_IGRPEN0_EL1, { name: 'ICC_IGRPEN0_EL1', read: (_d, v) => v.cpuif.igrpen0, write: (d, v, x) => { v.cpuif.igrpen0 = lo(x) & 1; d.kick(); } }],
  [ICC_IGRPEN1_EL1, { name: 'ICC_IGRPEN1_EL1', read: (_d, v) => v.cpuif.igrpen1, write: (d, v, x) => { v.cpuif.igrpen1 = lo(x) & 1; d.kick(); } }],
  // SGI generation traps to KVM (sys_regs.c: access_gic_sgi): an exit, so the ap_list is pruned first.
  [ICC_SGI1R_EL1, { name: 'ICC_SGI1R_EL1', write: (d, v, x) => { pruneApList(d, v); dispatchSgi(d, v, u64(x), true); } }],
  [ICC_SGI0R_EL1, { name: 'ICC_SGI0R_EL1', write: (d, v, x) => { pruneApList(d, v); dispatchSgi(d, v, u64(x), false); } }],
  [ICC_ASGI1R_EL1, { name: 'ICC_ASGI1R_EL1', write: (d, v, x) => { pruneApList(d, v); dispatchSgi(d, v, u64(x), false); } }],
  // MPIDR_EL1 is not a GIC register, but guests route by it: sys_regs.c: reset_mpidr gives
  // RES1 bit 31 and Aff2:Aff1:Aff0 from the vCPU id (the packed form the model keeps). Any GIC model.
  [MPIDR_EL1, { name: 'MPIDR_EL1', anyModel: true, read: (_d, v) => (0x80000000 | v.mpidr) >>> 0 }],
  apr(0, 0), apr(0, 1), apr(0, 2), apr(0, 3),
  apr(1, 0), apr(1, 1), apr(1, 2), apr(1, 3),
]);

/** Outcome of a guest sysreg access: a value, or an UNDEF exception with a reason. */
export type GuestSysregResult = { ok: true; value: bigint } | { ok: false; reason: string };

/** Successful accesses reuse one result each: the vCPU loop takes the value before the next access. */
const READ_OK: { ok: true; value: bigint } = { ok: true, value: 0n };
const WRITE_OK: GuestSysregResult = Object.freeze({ ok: true, value: 0n });

export function guestSysregRead(dist: VgicDist, vcpu: VgicCpu, enc: number): GuestSysregResult {
  if (dist.v5) return v5GuestSysregRead(dist.v5, vcpu, enc); // GICv5 registers and GIC/GICR instructions
  const r = TABLE.get(enc);
  if (!r) return timerSysregRead(dist, vcpu, enc) ?? { ok: false, reason: `UNDEF: read of ${sysregName(enc)}` }; // CNT*_EL0, any GIC
  if ((dist.model !== 'v3' && !r.anyModel) || !r.read) return { ok: false, reason: `UNDEF: read of ${r.name}` };
  const v = r.read(dist, vcpu) >>> 0;
  READ_OK.value = v < 1024 ? SMALL[v]! : BigInt(v);
  return READ_OK;
}

export function guestSysregWrite(dist: VgicDist, vcpu: VgicCpu, enc: number, v: number | bigint): GuestSysregResult {
  if (dist.v5) return v5GuestSysregWrite(dist.v5, vcpu, enc, u64(v));
  const r = TABLE.get(enc);
  if (!r) return timerSysregWrite(dist, vcpu, enc, u64(v)) ?? { ok: false, reason: `UNDEF: write of ${sysregName(enc)}` }; // CNT*_EL0
  if ((dist.model !== 'v3' && !r.anyModel) || !r.write) return { ok: false, reason: `UNDEF: write of ${r.name}` };
  r.write(dist, vcpu, v);
  return WRITE_OK;
}
