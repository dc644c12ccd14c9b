// Guest MMIO throughput: the same distributor register work (GICD_TYPER reads and IPRIORITYR
// writes) done by a guest coroutine through KVM_RUN, and by direct calls into the MMIO dispatch
// with no coroutine. The direct figure is the baseline every other benchmark is divided by: it
// is measured in the same process, interleaved with the others, so a ratio means the same on a
// busy machine as on an idle one.

import type { Guest, GuestProgram } from '../lib/guest/index.ts';
import { GICD_BASE_GVA, GICD_IPRIORITYR, GICD_TYPER } from '../lib/uapi/gic.ts';
import { UCALL_DONE } from '../lib/kvm/guest-abi.ts';
// Not lib/host/index.ts: that pulls in the selftest wrapper, and with it node-tap's harness.
import { type KvmVcpu, getUcall, guestGlobals, syncGlobalToGuest, vcpuRun, vmCreateWithOneVcpu } from '../lib/host/kvm-util.ts';
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
export function coroutineRun(iters: number): number {
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
export function directRun(iters: number): number {
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
