// The CPU interface looks only at each vCPU's candidate list (irq.ts: CandidateList, the ap_list)
// instead of every interrupt. This property test drives random interrupt and CPU-interface state
// (seeded) and checks after every step that (1) each list holds exactly the interrupts that are
// pending or active and target that vCPU, and (2) highestPending / irqSignalled / wfiWakeup give
// what a scan of every interrupt gives, with the priority, group, PMR, running-priority and BPR
// rules as written before the lists existed (vgic.c vgic_target_oracle, kvm_vgic_vcpu_pending_irq).

import t, { type Test } from 'tap';
import { seededRandom } from '../host/index.ts';
import { highestPending, irqSignalled, minBpr0, minBpr1, priMask, runningPriority, wfiWakeup } from './cpuif.ts';
import { IrqConfig, type VgicIrq } from './irq.ts';
import type { CpuIfState, VgicCpu, VgicDist } from './state.ts';
import { v2Vm, v3Vm } from './test-fixtures.ts';

const SEED = Number(process.env.CPUIF_SEED ?? 20261204);
const STEPS = 3000;

// --- the reference: every interrupt, scanned -----------------------------------------------------

function allIrqs(dist: VgicDist, vcpu: VgicCpu): VgicIrq[] {
  return [...vcpu.privateIrqs, ...dist.spis.filter((i) => i.targetVcpu === vcpu.vcpuIdx)];
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

function step(dist: VgicDist, rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const v = pick(dist.vcpus);
  const irqs = [...v.privateIrqs, ...dist.spis];
  const irq = pick(irqs);
  const c = v.cpuif;
  const bit = (): boolean => rand() < 0.5;
  switch (Math.floor(rand() * 14)) {
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
    case 4:
      irq.priority = Math.floor(rand() * 256) & 0xf8;
      return `prio ${irq.intid}`;
    case 5:
      irq.group = bit() ? 1 : 0;
      return `group ${irq.intid}`;
    case 6:
      irq.config = bit() ? IrqConfig.Level : IrqConfig.Edge;
      return `config ${irq.intid}`;
    case 7:
      if (irq.intid >= 32) irq.targetVcpu = pick([-1, 0, 1, 1]);
      return `target ${irq.intid}`;
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
      return `pend ${irq.intid}`;
  }
}

function checkAll(tt: Test, dist: VgicDist, what: string): boolean {
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

for (const model of ['v3', 'v2'] as const) {
  t.test(`${model}: candidate lists and delivery decisions match a scan of every interrupt (seed ${SEED})`, (tt) => {
    const { vm } = model === 'v3' ? v3Vm({ nrVcpus: 2, nrIrqs: 128 }) : v2Vm({ nrVcpus: 2, nrIrqs: 128 });
    const rand = seededRandom(SEED + (model === 'v2' ? 1 : 0));
    let ok = true;
    for (let i = 0; i < STEPS && ok; i++) ok = checkAll(tt, vm.dist, `step ${i} (${step(vm.dist, rand)})`);
    if (ok) tt.pass(`${STEPS} random steps, every check agreed`);
    tt.end();
  });
}
