// Several vCPUs "on their own threads", interleaved deterministically: the C tests' pthreads
// become a seeded scheduler, so a failing interleaving replays from its seed.

import type { Ucall } from '../kvm/guest-abi.ts';
import type { KvmVcpu } from '../kvm/vcpu.ts';
import { errnoName } from '../uapi/errno.ts';
import { getUcall } from './kvm-util.ts';
import { printInfo, testFail } from './test-util.ts';

export interface VcpuThread {
  vcpu: KvmVcpu;
  /** Called at each exit to userspace; return false to end this thread (as the C thread returns). */
  onUcall: (uc: Ucall, vcpu: KvmVcpu) => boolean;
}

export interface ThreadOptions {
  /** Scheduler seed; default $VGIC_SEED, else 1. */
  seed?: number;
  /** Largest number of guest accesses a vCPU runs before the scheduler may switch. */
  maxQuantum?: number;
  /** Total guest accesses across all vCPUs before the run is declared stuck. */
  budget?: number;
  /** Told of every slice the scheduler runs (to fingerprint the interleaving of a seed). */
  onSlice?: (vcpuId: number, quantum: number, outcome: 'exit' | 'preempted' | 'blocked') => void;
}

/** mulberry32: small, fast, and identical everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function schedulerSeed(seed?: number): number {
  if (seed !== undefined) return seed >>> 0;
  const env = Number(process.env.VGIC_SEED);
  return Number.isFinite(env) && process.env.VGIC_SEED !== '' ? env >>> 0 : 1;
}

/** Run the threads until each has ended; asserts on KVM_RUN errors and on deadlock. */
export function runVcpuThreads(threads: VcpuThread[], opts: ThreadOptions = {}): void {
  const seed = schedulerSeed(opts.seed);
  const rand = seededRandom(seed);
  const maxQuantum = opts.maxQuantum ?? 64;
  let budget = opts.budget ?? 50_000_000;
  printInfo('vCPU scheduler seed %u', seed);
  const live = threads.map((th) => ({ ...th, blockedAt: -1 }));
  for (const th of live) {
    const r = th.vcpu.enter();
    if (r) testFail('KVM_RUN on vCPU %d failed: %s', th.vcpu.id, errnoName(-r));
  }
  while (live.length) {
    const epoch = live[0]!.vcpu.vm.dist.epoch;
    const runnable = live.filter((th) => th.blockedAt < 0 || th.blockedAt !== epoch);
    if (!runnable.length) testFail('all vCPUs blocked in WFI with nothing pending (seed %u)', seed);
    const th = runnable[Math.floor(rand() * runnable.length)]!;
    const quantum = 1 + Math.floor(rand() * maxQuantum);
    const out = th.vcpu.step(quantum);
    opts.onSlice?.(th.vcpu.id, quantum, out);
    budget -= quantum;
    if (budget < 0) testFail('vCPUs did not finish within the access budget (seed %u)', seed);
    th.blockedAt = out === 'blocked' ? th.vcpu.vm.dist.epoch : -1;
    if (out !== 'exit') continue;
    const keep = th.onUcall(getUcall(th.vcpu), th.vcpu);
    if (!keep || !th.vcpu.alive) live.splice(live.indexOf(th), 1);
    else th.vcpu.enter();
  }
}
