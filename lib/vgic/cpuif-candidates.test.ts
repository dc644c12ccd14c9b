// The CPU interface looks only at each vCPU's ap_list (irq.ts: ApList; ap-list.ts) instead
// of every interrupt. This property test drives random interrupt and CPU-interface state (seeded)
// through the paths KVM has: state changes that call vgic_queue_irq_unlock (ISPENDR, ISENABLER,
// ISACTIVER, IGROUPR, line injection, MSIs) and those that do not (ICPENDR, ICENABLER, a retarget,
// ICFGR, GICD_CTLR), vCPU exits (vgic_prune_ap_list), acknowledges and EOIs. A reference written
// here as plain scans over every interrupt keeps its own record of which vCPU's ap_list each
// interrupt is on (a Map, by the rules of vgic.c: vgic_target_oracle, vgic_queue_irq_unlock,
// vgic_prune_ap_list). After every step (1) each model list holds exactly what the reference
// says, and (2) highestPending / irqSignalled / wfiWakeup give what a scan of every interrupt on
// the reference's list gives, with the priority, group, PMR, running-priority and BPR rules
// (vgic_flush_lr_state: what the oracle gives this vCPU; kvm_vgic_vcpu_pending_irq); an acknowledge
// step checks that IAR returns what the scan picks. The third run adds LPIs behind an ITS: every
// mapped LPI (dist->lpi_xa, including one only the ap_list still holds) is in the scan, and the
// steps include MSIs, ITS commands that map, discard, move and reconfigure them, and priority drops
// of LPIs (which have no active state). ITS commands queue inside the model, so after them the
// reference takes the model's lists, checking only that nothing left a list without a prune and
// that whatever joined one joined the vCPU the oracle names.

import type { Test } from 'tap';
import t from '../../test/tap.ts';
import { seededRandom } from '../host/index.ts';
import { GITS_CMD_CLEAR, GITS_CMD_DISCARD, GITS_CMD_INV } from '../uapi/its.ts';
import { VGIC_MIN_LPI } from '../uapi/kvm.ts';
import { pruneApList, queueIrq } from './ap-list.ts';
import { acknowledge, endOfInterrupt, highestPending, irqSignalled, minBpr0, minBpr1, priMask, runningPriority, wfiWakeup } from './cpuif.ts';
import { IrqConfig, type VgicIrq } from './irq.ts';
import { type ItsFix, cmds, itsVm } from '../../test/support/its.ts';
import { lpiSetPending, type VgicLpi } from './lpi.ts';
import type { CpuIfState, VgicCpu, VgicDist } from './state.ts';
import { v2Vm, v3Vm } from '../../test/support/vgic.ts';

const SEED = Number(process.env.CPUIF_SEED ?? 20261204);
const STEPS = 3000;

// --- the reference: every interrupt, scanned -----------------------------------------------------

/** Which vCPU's ap_list each interrupt is on (irq->vcpu), as the reference follows it. */
const onList = new Map<VgicIrq, number>();

/** The interrupts on vCPU v's ap_list, by the reference. */
function allIrqs(_dist: VgicDist, vcpu: VgicCpu): VgicIrq[] {
  const out: VgicIrq[] = [];
  for (const [irq, v] of onList) if (v === vcpu.vcpuIdx) out.push(irq);
  return out;
}

/** vgic_target_oracle() as vgic.c writes it; -1 for NULL. */
function refOracle(dist: VgicDist, irq: VgicIrq): number {
  const valid = (i: number): number => (i >= 0 && i < dist.vcpus.length ? i : -1);
  if (irq.active) return valid(onList.get(irq) ?? irq.targetVcpu);
  if (irq.enabled && irq.isPending()) return dist.enabled ? valid(irq.targetVcpu) : -1;
  return -1;
}

/** vgic_queue_irq_unlock(): the model's call and the reference's, side by side. */
function queue(dist: VgicDist, irq: VgicIrq): void {
  queueIrq(dist, irq);
  const to = refOracle(dist, irq);
  if (!onList.has(irq) && to >= 0) onList.set(irq, to);
}

/** vgic_prune_ap_list() at an exit of v: the model's and the reference's. */
function prune(dist: VgicDist, v: VgicCpu): void {
  pruneApList(dist, v);
  for (const irq of allIrqs(dist, v)) {
    const to = refOracle(dist, irq);
    if (to === v.vcpuIdx) continue;
    if (to >= 0) onList.set(irq, to);
    else onList.delete(irq);
  }
}

/** What the model's lists hold, by interrupt. */
function modelLists(dist: VgicDist): Map<VgicIrq, number> {
  const m = new Map<VgicIrq, number>();
  for (const v of dist.vcpus) for (const irq of v.apList.items) m.set(irq, v.vcpuIdx);
  return m;
}

/**
 * After an ITS command or MSI (which queue inside the model): nothing left a list (no prune ran),
 * every LPI that joined one joined the vCPU the oracle names; then the reference takes the lists.
 */
function adoptAfterIts(dist: VgicDist): string | null {
  const now = modelLists(dist);
  for (const [irq, v] of onList) {
    if (now.get(irq) !== v) return `${irq.intid} left vCPU ${v}'s list without a prune (now ${now.get(irq) ?? 'none'})`;
  }
  for (const [irq, v] of now) {
    if (onList.has(irq)) continue;
    if (irq.intid < VGIC_MIN_LPI) return `${irq.intid} joined vCPU ${v}'s list during an ITS step`;
    if (refOracle(dist, irq) !== v) return `LPI ${irq.intid} joined vCPU ${v}'s list, the oracle names ${refOracle(dist, irq)}`;
    onList.set(irq, v);
  }
  return null;
}

/** What vgic_flush_lr_state() presents as pending: on v's list, the oracle gives it v, not active. */
function presentable(dist: VgicDist, v: VgicCpu, irq: VgicIrq): boolean {
  return !irq.active && refOracle(dist, irq) === v.vcpuIdx;
}

function refGroupMask(c: CpuIfState, group: number): number {
  const bpr0 = Math.max(c.bpr0, minBpr0(c));
  const bpr = group === 0 || c.cbpr ? bpr0 : Math.max(c.bpr1, minBpr1(c));
  const shift = group === 0 || c.cbpr ? bpr + 1 : bpr;
  return (0xff << shift) & 0xff;
}

function refHighest(dist: VgicDist, vcpu: VgicCpu, g0: boolean, g1: boolean, checkPriority: boolean): VgicIrq | null {
  const c = vcpu.cpuif;
  const pm = priMask(c);
  const pmr = c.pmr & pm;
  const rpr = runningPriority(c);
  let best: VgicIrq | null = null;
  for (const irq of allIrqs(dist, vcpu)) {
    if (!presentable(dist, vcpu, irq)) continue;
    if (irq.group === 0 ? !g0 : !g1) continue;
    const prio = irq.priority & pm;
    if (checkPriority && (prio >= pmr || (prio & refGroupMask(c, irq.group)) >= rpr)) continue;
    if (!best || prio < (best.priority & pm) || (prio === (best.priority & pm) && irq.intid < best.intid)) best = irq;
  }
  return best;
}

/** kvm_vgic_vcpu_pending_irq(): anything on the list, enabled, pending, inactive, above the PMR. */
function refWfi(dist: VgicDist, vcpu: VgicCpu): boolean {
  const c = vcpu.cpuif;
  const pm = priMask(c);
  return allIrqs(dist, vcpu).some((irq) => dist.enabled && irq.enabled && irq.isPending() && !irq.active && (irq.priority & pm) < (c.pmr & pm));
}

// --- random state ------------------------------------------------------------------------------

/** Acknowledge (both groups in turn): IAR must return the scan's pick, and only a non-LPI becomes active. */
function ackStep(dist: VgicDist, v: VgicCpu, group: 0 | 1): string | null {
  const c = v.cpuif;
  const enabled = group === 0 ? c.igrpen0 === 1 : c.igrpen1 === 1;
  const want = enabled ? refHighest(dist, v, group === 0, group === 1, true) : null;
  const got = acknowledge(dist, v, group);
  const intid = dist.model === 'v2' ? got & 0x3ff : got;
  if (intid !== (want?.intid ?? 1023)) return `IAR${group} returned ${intid}, the scan picks ${want?.intid ?? 1023}`;
  if (want && want.active !== want.intid < VGIC_MIN_LPI) return `IAR${group} of ${want.intid}: active ${want.active}`;
  return null;
}

let lastError: string | null = null;
/** The step just taken was an ITS command or MSI: the reference adopts what it queued (adoptAfterIts). */
let itsStep = false;

function step(dist: VgicDist, rand: () => number, its: ItsFix | null): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const v = pick(dist.vcpus);
  const lpis = [...dist.lpis.values()];
  const irqs = [...v.privateIrqs, ...dist.spis, ...lpis];
  const irq = pick(irqs);
  const isLpi = irq.intid >= VGIC_MIN_LPI;
  const c = v.cpuif;
  const bit = (): boolean => rand() < 0.5;
  const kinds = its ? 24 : 18;
  const k = Math.floor(rand() * kinds);
  // LPIs: edge, group 1, no active state, target set by the ITS; those steps become an MSI.
  if (isLpi && (k === 1 || k === 2 || k === 5 || k === 6)) {
    lpiSetPending(dist, irq as VgicLpi);
    const to = refOracle(dist, irq);
    if (!onList.has(irq) && to >= 0) onList.set(irq, to);
    return `msi ${irq.intid}`;
  }
  switch (k) {
    case 14: {
      const r = ackStep(dist, v, bit() ? 1 : 0);
      if (r) lastError = r;
      return `ack on vCPU ${v.vcpuIdx}`;
    }
    case 15: {
      // EOIR: priority drop, and deactivation in EOImode 0 (nothing for an LPI)
      c.eoimode = rand() < 0.3 ? 1 : 0;
      endOfInterrupt(dist, v, irq.intid);
      return `eoi ${irq.intid}`;
    }
    case 16:
    case 17:
      // a vCPU exit: vgic_prune_ap_list (twice as likely as anything else that is not an ITS step)
      prune(dist, v);
      return `exit of vCPU ${v.vcpuIdx}`;
    case 18:
    case 19: {
      // an MSI through KVM_SIGNAL_MSI for a random event (mapped or not)
      const r = its!.msi(Math.floor(rand() * ITS_DEVS), Math.floor(rand() * ITS_EVENTS));
      itsStep = true;
      return `KVM_SIGNAL_MSI -> ${r}`;
    }
    case 20: {
      // MAPTI an event to a random LPI (possibly one already mapped, or one only the ap_list holds)
      const dev = Math.floor(rand() * ITS_DEVS);
      const ev = Math.floor(rand() * ITS_EVENTS);
      const intid = VGIC_MIN_LPI + Math.floor(rand() * ITS_LPIS);
      its!.setProp(intid, (Math.floor(rand() * 64) << 2) | (rand() < 0.8 ? 1 : 0));
      itsStep = true;
      return `MAPTI ${dev}/${ev} -> ${intid}: ${its!.cmd(cmds.mapti(dev, ev, intid, Math.floor(rand() * 2)))}`;
    }
    case 21: {
      const dev = Math.floor(rand() * ITS_DEVS);
      const ev = Math.floor(rand() * ITS_EVENTS);
      const op = pick([GITS_CMD_DISCARD, GITS_CMD_CLEAR, GITS_CMD_INV]);
      itsStep = true;
      return `cmd ${op} ${dev}/${ev}: ${its!.cmd(cmds.devEv(op, dev, ev))}`;
    }
    case 22: {
      const dev = Math.floor(rand() * ITS_DEVS);
      const ev = Math.floor(rand() * ITS_EVENTS);
      itsStep = true;
      return `MOVI ${dev}/${ev}: ${its!.cmd(cmds.movi(dev, ev, Math.floor(rand() * 2)))}`;
    }
    case 23:
      if (isLpi) its!.setProp(irq.intid, (Math.floor(rand() * 64) << 2) | (rand() < 0.8 ? 1 : 0));
      itsStep = true;
      return `INVALL ${its!.cmd(cmds.invall(Math.floor(rand() * 2)))}`;
  }
  switch (k) {
    case 0:
      // ISPENDR queues (vgic_mmio_write_spending); ICPENDR does not
      irq.pendingLatch = bit();
      if (irq.pendingLatch) queue(dist, irq);
      return `latch ${irq.intid}`;
    case 1:
      // LEVEL_INFO: a raised line queues (vgic_write_irq_line_level_info), a lowered one does not
      irq.lineLevel = bit();
      if (irq.lineLevel) queue(dist, irq);
      return `line ${irq.intid}`;
    case 2:
      // ISACTIVER queues (vgic_mmio_change_active); ICACTIVER does not
      irq.active = rand() < 0.3;
      if (irq.active) queue(dist, irq);
      return `active ${irq.intid}`;
    case 3:
      // ISENABLER queues; ICENABLER does not
      irq.enabled = rand() < 0.7;
      if (irq.enabled) queue(dist, irq);
      return `enable ${irq.intid}`;
    case 5:
      // IGROUPR queues every interrupt it covers (vgic_mmio_write_group)
      irq.group = bit() ? 1 : 0;
      queue(dist, irq);
      return `group ${irq.intid}`;
    case 6:
      // ICFGR queues nothing (vgic_mmio_write_config)
      irq.config = bit() ? IrqConfig.Level : IrqConfig.Edge;
      return `config ${irq.intid}`;
    case 7:
      // IROUTER / ITARGETSR queue nothing (the old list keeps it until its vCPU prunes)
      if (irq.intid >= 32) irq.targetVcpu = pick([-1, 0, 1, 1]);
      return `target ${irq.intid}`;
    case 4:
      irq.priority = Math.floor(rand() * 256) & (isLpi ? 0xfc : 0xf8);
      return `prio ${irq.intid}`;
    case 8:
      c.pmr = Math.floor(rand() * 256);
      return 'pmr';
    case 9: {
      const bank = bit() ? c.ap1r : c.ap0r;
      bank[0] = rand() < 0.4 ? 0 : (1 << Math.floor(rand() * 32)) >>> 0;
      return 'apr';
    }
    case 10:
      c.bpr0 = Math.floor(rand() * 8);
      c.bpr1 = Math.floor(rand() * 8);
      c.cbpr = rand() < 0.2 ? 1 : 0;
      return 'bpr';
    case 11:
      c.igrpen0 = bit() ? 1 : 0;
      c.igrpen1 = rand() < 0.8 ? 1 : 0;
      return 'igrpen';
    case 12:
      // GICD_CTLR: enabling only kicks (vgic_mmio_write_v3_misc -> vgic_kick_vcpus)
      dist.enabled = rand() < 0.8;
      dist.kick();
      return 'dist';
    default:
      irq.pendingLatch = true;
      irq.enabled = true;
      queue(dist, irq);
      return `pend ${irq.intid}`;
  }
}

function checkAll(tt: Test, dist: VgicDist, what: string): boolean {
  // lpi_xa holds an LPI only while something references it: an ITE or cache entry (refs), or
  // KVM's ap_list (it is on a candidate list); one that left the list with no reference is freed.
  for (const l of dist.lpis.values()) {
    if (l.refs === 0 && l.list === null) return tt.fail(`${what}: LPI ${l.intid} in lpi_xa with no reference and on no list`) as false;
  }
  if (itsStep) {
    itsStep = false;
    const bad = adoptAfterIts(dist);
    if (bad) return tt.fail(`${what}: ${bad}`) as false;
  }
  // An LPI freed from lpi_xa is gone from the reference too (it can only have left a list by a prune).
  for (const irq of onList.keys()) if (irq.intid >= VGIC_MIN_LPI && dist.lpis.get(irq.intid) !== irq) onList.delete(irq);
  for (const v of dist.vcpus) {
    const items = v.apList.items;
    for (let i = 0; i < items.length; i++) {
      if (items[i]!.list !== v.apList || items[i]!.listIndex !== i) return tt.fail(`${what}: vCPU ${v.vcpuIdx} list slot ${i} says ${items[i]!.listIndex}`) as false;
    }
    const want = allIrqs(dist, v).map((i) => i.intid).sort((a, b) => a - b);
    const got = items.map((i) => i.intid).sort((a, b) => a - b);
    if (want.join() !== got.join()) return tt.fail(`${what}: vCPU ${v.vcpuIdx} list ${got} != ${want}`) as false;
    for (const [g0, g1] of [[true, false], [false, true], [true, true]] as const) {
      for (const cp of [true, false]) {
        const a = highestPending(dist, v, { g0, g1 }, cp)?.intid ?? -1;
        const b = refHighest(dist, v, g0, g1, cp)?.intid ?? -1;
        if (a !== b) return tt.fail(`${what}: vCPU ${v.vcpuIdx} highestPending(g0=${g0}, g1=${g1}, prio=${cp}) ${a} != ${b}`) as false;
      }
    }
    const sig = dist.model === 'v2' ? refHighest(dist, v, v.cpuif.igrpen0 === 1, v.cpuif.igrpen1 === 1, true) !== null : v.cpuif.igrpen1 === 1 && refHighest(dist, v, false, true, true) !== null;
    if (irqSignalled(dist, v) !== sig) return tt.fail(`${what}: vCPU ${v.vcpuIdx} irqSignalled`) as false;
    if (wfiWakeup(dist, v) !== refWfi(dist, v)) return tt.fail(`${what}: vCPU ${v.vcpuIdx} wfiWakeup`) as false;
  }
  return true;
}

/** The ITS run: devices 0..3 with 8 events each, mapped to LPIs 8192..8223 over collections 0 and 1. */
const ITS_DEVS = 4;
const ITS_EVENTS = 8;
const ITS_LPIS = 40;

function itsSetup(rand: () => number): ItsFix {
  const f = itsVm({ nrVcpus: 2 });
  const r = [f.cmd(cmds.mapc(0, 0)), f.cmd(cmds.mapc(1, 1))];
  for (let d = 0; d < ITS_DEVS; d++) {
    r.push(f.cmd(cmds.mapd(d)));
    for (let e = 0; e < ITS_EVENTS; e++) {
      const intid = VGIC_MIN_LPI + d * ITS_EVENTS + e;
      f.setProp(intid, (Math.floor(rand() * 64) << 2) | (rand() < 0.8 ? 1 : 0));
      r.push(f.cmd(cmds.mapti(d, e, intid, (d + e) % 2)));
    }
  }
  if (r.some((x) => x !== 0)) throw new Error(`ITS setup: ${r}`);
  return f;
}

for (const model of ['v3', 'v2', 'v3+its'] as const) {
  t.test(`${model}: ap_lists and delivery decisions match the reference (seed ${SEED})`, (tt) => {
    const rand = seededRandom(SEED + ['v3', 'v2', 'v3+its'].indexOf(model));
    onList.clear();
    itsStep = false;
    const its = model === 'v3+its' ? itsSetup(rand) : null;
    if (its) adoptAfterIts(its.vm.dist); // the setup's MAPTIs
    const { vm } = its ?? (model === 'v3' ? v3Vm({ nrVcpus: 2, nrIrqs: 128 }) : v2Vm({ nrVcpus: 2, nrIrqs: 128 }));
    if (its) tt.equal(vm.dist.lpis.size, ITS_DEVS * ITS_EVENTS, 'LPIs mapped');
    let ok = true;
    let acks = 0;
    lastError = null;
    for (let i = 0; i < STEPS && ok; i++) {
      const what = `step ${i} (${step(vm.dist, rand, its)})`;
      if (what.includes('ack on')) acks++;
      if (lastError) ok = tt.fail(`${what}: ${lastError}`) as false;
      else ok = checkAll(tt, vm.dist, what);
    }
    if (ok) tt.pass(`${STEPS} random steps (${acks} acknowledges), every check agreed`);
    tt.end();
  });
}
