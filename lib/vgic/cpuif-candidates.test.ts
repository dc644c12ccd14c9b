// The CPU interface looks only at each vCPU's candidate list (irq.ts: CandidateList, the ap_list)
// instead of every interrupt. This property test drives random interrupt and CPU-interface state
// (seeded) and checks after every step that (1) each list holds exactly the interrupts that are
// pending or active and target that vCPU, and (2) highestPending / irqSignalled / wfiWakeup give
// what a scan of every interrupt gives, with the priority, group, PMR, running-priority and BPR
// rules as written before the lists existed (vgic.c vgic_target_oracle, kvm_vgic_vcpu_pending_irq);
// an acknowledge step checks that IAR returns what the scan picks. The third run adds LPIs behind
// an ITS: every mapped LPI (dist->lpi_xa, including one only the ap_list still holds) is in the
// scan, and the steps include MSIs, ITS commands that map, discard, move and reconfigure them, and
// priority drops of LPIs (which have no active state).

import t, { type Test } from 'tap';
import { seededRandom } from '../host/index.ts';
import { GITS_CMD_CLEAR, GITS_CMD_DISCARD, GITS_CMD_INV } from '../uapi/its.ts';
import { VGIC_MIN_LPI } from '../uapi/kvm.ts';
import { acknowledge, endOfInterrupt, highestPending, irqSignalled, minBpr0, minBpr1, priMask, runningPriority, wfiWakeup } from './cpuif.ts';
import { IrqConfig, type VgicIrq } from './irq.ts';
import { type ItsFix, cmds, itsVm } from './its/test-fixtures.ts';
import type { CpuIfState, VgicCpu, VgicDist } from './state.ts';
import { v2Vm, v3Vm } from './test-fixtures.ts';

const SEED = Number(process.env.CPUIF_SEED ?? 20261204);
const STEPS = 3000;

// --- the reference: every interrupt, scanned -----------------------------------------------------

function allIrqs(dist: VgicDist, vcpu: VgicCpu): VgicIrq[] {
  const lpis = [...dist.lpis.values()].filter((i) => i.targetVcpu === vcpu.vcpuIdx);
  return [...vcpu.privateIrqs, ...dist.spis.filter((i) => i.targetVcpu === vcpu.vcpuIdx), ...lpis];
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
    if (!(dist.enabled && irq.enabled && irq.isPending() && !irq.active)) continue;
    if (irq.group === 0 ? !g0 : !g1) continue;
    const prio = irq.priority & pm;
    if (checkPriority && (prio >= pmr || (prio & refGroupMask(c, irq.group)) >= rpr)) continue;
    if (!best || prio < (best.priority & pm) || (prio === (best.priority & pm) && irq.intid < best.intid)) best = irq;
  }
  return best;
}

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

function step(dist: VgicDist, rand: () => number, its: ItsFix | null): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const v = pick(dist.vcpus);
  const lpis = [...dist.lpis.values()];
  const irqs = [...v.privateIrqs, ...dist.spis, ...lpis];
  const irq = pick(irqs);
  const isLpi = irq.intid >= VGIC_MIN_LPI;
  const c = v.cpuif;
  const bit = (): boolean => rand() < 0.5;
  const kinds = its ? 22 : 16;
  const k = Math.floor(rand() * kinds);
  // LPIs: edge, group 1, no active state, target set by the ITS; those steps become an MSI.
  if (isLpi && (k === 1 || k === 2 || k === 5 || k === 6 || k === 7)) {
    irq.pendingLatch = true;
    dist.kick();
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
    case 17: {
      // an MSI through KVM_SIGNAL_MSI for a random event (mapped or not)
      const r = its!.msi(Math.floor(rand() * ITS_DEVS), Math.floor(rand() * ITS_EVENTS));
      return `KVM_SIGNAL_MSI -> ${r}`;
    }
    case 18: {
      // MAPTI an event to a random LPI (possibly one already mapped, or one only the ap_list holds)
      const dev = Math.floor(rand() * ITS_DEVS);
      const ev = Math.floor(rand() * ITS_EVENTS);
      const intid = VGIC_MIN_LPI + Math.floor(rand() * ITS_LPIS);
      its!.setProp(intid, (Math.floor(rand() * 64) << 2) | (rand() < 0.8 ? 1 : 0));
      return `MAPTI ${dev}/${ev} -> ${intid}: ${its!.cmd(cmds.mapti(dev, ev, intid, Math.floor(rand() * 2)))}`;
    }
    case 19: {
      const dev = Math.floor(rand() * ITS_DEVS);
      const ev = Math.floor(rand() * ITS_EVENTS);
      const op = pick([GITS_CMD_DISCARD, GITS_CMD_CLEAR, GITS_CMD_INV]);
      return `cmd ${op} ${dev}/${ev}: ${its!.cmd(cmds.devEv(op, dev, ev))}`;
    }
    case 20: {
      const dev = Math.floor(rand() * ITS_DEVS);
      const ev = Math.floor(rand() * ITS_EVENTS);
      return `MOVI ${dev}/${ev}: ${its!.cmd(cmds.movi(dev, ev, Math.floor(rand() * 2)))}`;
    }
    case 21:
      if (isLpi) its!.setProp(irq.intid, (Math.floor(rand() * 64) << 2) | (rand() < 0.8 ? 1 : 0));
      return `INVALL ${its!.cmd(cmds.invall(Math.floor(rand() * 2)))}`;
  }
  switch (k) {
    case 0:
      irq.pendingLatch = bit();
      return `latch ${irq.intid}`;
    case 1:
      irq.lineLevel = bit();
      return `line ${irq.intid}`;
    case 2:
      irq.active = rand() < 0.3;
      return `active ${irq.intid}`;
    case 3:
      irq.enabled = rand() < 0.7;
      return `enable ${irq.intid}`;
    case 5:
      irq.group = bit() ? 1 : 0;
      return `group ${irq.intid}`;
    case 6:
      irq.config = bit() ? IrqConfig.Level : IrqConfig.Edge;
      return `config ${irq.intid}`;
    case 7:
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
      dist.enabled = rand() < 0.9;
      return 'dist';
    default:
      irq.pendingLatch = true;
      irq.enabled = true;
      dist.kick();
      return `pend ${irq.intid}`;
  }
}

function checkAll(tt: Test, dist: VgicDist, what: string): boolean {
  // lpi_xa holds an LPI only while something references it: an ITE or cache entry (refs), or
  // KVM's ap_list (it is on a candidate list); one that left the list with no reference is freed.
  for (const l of dist.lpis.values()) {
    if (l.refs === 0 && l.list === null) return tt.fail(`${what}: LPI ${l.intid} in lpi_xa with no reference and on no list`) as false;
  }
  for (const v of dist.vcpus) {
    const want = allIrqs(dist, v).filter((i) => i.pendingLatch || i.lineLevel || i.active).map((i) => i.intid).sort((a, b) => a - b);
    const got = v.candidates.items.map((i) => i.intid).sort((a, b) => a - b);
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
  t.test(`${model}: candidate lists and delivery decisions match a scan of every interrupt (seed ${SEED})`, (tt) => {
    const rand = seededRandom(SEED + ['v3', 'v2', 'v3+its'].indexOf(model));
    const its = model === 'v3+its' ? itsSetup(rand) : null;
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
