// Guest MMIO throughput: the same distributor register work (GICD_TYPER reads and IPRIORITYR
// writes) done by a guest coroutine through KVM_RUN, and by direct calls into the MMIO dispatch
// with no coroutine. Both in this process, so the ratio is the coroutine's cost.

import type { Guest, GuestProgram } from '../lib/guest/index.ts';
import {
  GICD_BASE_GVA,
  GICD_IPRIORITYR,
  GICD_TYPER,
  UCALL_DONE,
  getUcall,
  guestGlobals,
  syncGlobalToGuest,
  vcpuRun,
  vmCreateWithOneVcpu,
  type KvmVcpu,
} from '../lib/host/index.ts';
import { vgicMmioRead, vgicMmioWrite } from '../lib/vgic/io.ts';

const globals = guestGlobals({ bench_iters: 0 });

/** Per iteration: one GICD_TYPER read and one IPRIORITYR write (two accesses). */
function* benchGuest(g: Guest): GuestProgram {
  const iters = g.readGlobal(globals, 'bench_iters');
  let sum = 0;
  for (let i = 0; i < iters; i++) {
    sum += yield* g.readl(GICD_BASE_GVA + GICD_TYPER);
    yield* g.writel(GICD_BASE_GVA + GICD_IPRIORITYR + 32 + ((i & 7) << 2), i);
  }
  yield* g.assert(sum > 0);
  yield* g.done();
}

function setup(): KvmVcpu {
  const { vcpu } = vmCreateWithOneVcpu(benchGuest, { accessBudget: Number.MAX_SAFE_INTEGER });
  return vcpu;
}

/** Accesses per second through vcpu_run and the guest coroutine. */
function coroutineRun(iters: number): number {
  const vcpu = setup();
  globals.bench_iters = iters;
  syncGlobalToGuest(vcpu.vm, globals, 'bench_iters');
  const t0 = performance.now();
  vcpuRun(vcpu);
  const ms = performance.now() - t0;
  if (getUcall(vcpu).cmd !== UCALL_DONE) throw new Error(`bench guest failed: ${getUcall(vcpu).buffer}`);
  return (2 * iters) / (ms / 1000);
}

/** Accesses per second calling the same MMIO dispatch directly. */
function directRun(iters: number): number {
  const vcpu = setup();
  // The first run maps the vGIC frames; an immediately-finishing guest does it.
  globals.bench_iters = 0;
  syncGlobalToGuest(vcpu.vm, globals, 'bench_iters');
  const dist = vcpu.vm.dist;
  const v = vcpu.vgic;
  if (!dist.ready) {
    vcpuRun(vcpu);
  }
  let sum = 0;
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    sum += Number(vgicMmioRead(dist, v, GICD_BASE_GVA + GICD_TYPER, 4));
    vgicMmioWrite(dist, v, GICD_BASE_GVA + GICD_IPRIORITYR + 32 + ((i & 7) << 2), 4, i);
  }
  const ms = performance.now() - t0;
  if (sum <= 0) throw new Error('direct dispatch read nothing');
  return (2 * iters) / (ms / 1000);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface MmioBenchResult {
  coroutineAccessesPerSec: number;
  directAccessesPerSec: number;
  ratio: number;
  runs: number;
  accessesPerRun: number;
  targets: { minAccessesPerSec: number; maxRatio: number };
}

export function benchMmio(runs = 9, iters = 1_000_000): MmioBenchResult {
  // Warm up both paths so the JIT has settled before measuring.
  coroutineRun(iters / 4);
  directRun(iters / 4);
  const co: number[] = [];
  const di: number[] = [];
  for (let r = 0; r < runs; r++) {
    // Alternate so both see the same machine conditions.
    co.push(coroutineRun(iters));
    di.push(directRun(iters));
  }
  const coroutine = median(co);
  const direct = median(di);
  return {
    coroutineAccessesPerSec: Math.round(coroutine),
    directAccessesPerSec: Math.round(direct),
    ratio: Number((direct / coroutine).toFixed(2)),
    runs,
    accessesPerRun: 2 * iters,
    targets: { minAccessesPerSec: 5_000_000, maxRatio: 3 },
  };
}
