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

/** A host thread that is not a vCPU (a C test's device thread), run one step at a time. */
export interface HostThread {
  /** One unit of the thread's work (one ioctl); return false once the thread has returned. */
  step: () => boolean;
}

export interface ThreadOptions {
  /** Scheduler seed; default $VGIC_SEED, else 1. */
  seed?: number;
  /** Largest number of guest accesses a vCPU runs (or steps a host thread runs) before the scheduler may switch. */
  maxQuantum?: number;
  /** Total guest accesses across all vCPUs before the run is declared stuck. */
  budget?: number;
  /** Told of every slice the scheduler runs (to fingerprint the interleaving of a seed). */
  onSlice?: (vcpuId: number, quantum: number, outcome: 'exit' | 'preempted' | 'blocked') => void;
  /** Host threads interleaved with the vCPUs by the same seeded choice. */
  hostThreads?: HostThread[];
  /** End the run at once when this returns true after a turn (the C test's exit() with threads still running). */
  stopWhen?: () => boolean;
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

/**
 * Run the threads until each has ended; asserts on KVM_RUN errors and on deadlock. Each turn
 * picks one runnable thread (vCPUs first in the list, then host threads) and runs it for a
 * random quantum; a vCPU blocked in WFI is runnable again once something may have become pending.
 */
export function runVcpuThreads(threads: VcpuThread[], opts: ThreadOptions = {}): void {
  const seed = schedulerSeed(opts.seed);
  const rand = seededRandom(seed);
  const maxQuantum = opts.maxQuantum ?? 64;
  let budget = opts.budget ?? 50_000_000;
  printInfo('vCPU scheduler seed %u', seed);
  const live = threads.map((th) => ({ ...th, blockedAt: -1 }));
  const hosts = [...(opts.hostThreads ?? [])];
  for (const th of live) {
    const r = th.vcpu.enter();
    if (r) testFail('KVM_RUN on vCPU %d failed: %s', th.vcpu.id, errnoName(-r));
  }
  while (live.length || hosts.length) {
    const epoch = live.length ? live[0]!.vcpu.vm.dist.epoch : 0;
    let nRunnable = hosts.length;
    for (const th of live) if (th.blockedAt < 0 || th.blockedAt !== epoch) nRunnable++;
    if (!nRunnable) testFail('all vCPUs blocked in WFI with nothing pending (seed %u)', seed);
    let k = Math.floor(rand() * nRunnable);
    const quantum = 1 + Math.floor(rand() * maxQuantum);
    let th: (typeof live)[number] | undefined;
    for (const x of live) {
      if (!(x.blockedAt < 0 || x.blockedAt !== epoch)) continue;
      if (k-- === 0) {
        th = x;
        break;
      }
    }
    if (!th) {
      const host = hosts[k]!;
      let n = 0;
      while (n < quantum && host.step()) n++;
      if (n < quantum) hosts.splice(hosts.indexOf(host), 1);
      budget -= n + 1;
      if (budget < 0) testFail('threads did not finish within the access budget (seed %u)', seed);
      if (opts.stopWhen?.()) return;
      continue;
    }
    const out = th.vcpu.step(quantum);
    opts.onSlice?.(th.vcpu.id, quantum, out);
    budget -= quantum;
    if (budget < 0) testFail('vCPUs did not finish within the access budget (seed %u)', seed);
    th.blockedAt = out === 'blocked' ? th.vcpu.vm.dist.epoch : -1;
    if (out === 'exit') {
      const keep = th.onUcall(getUcall(th.vcpu), th.vcpu);
      if (!keep || !th.vcpu.alive) live.splice(live.indexOf(th), 1);
      else th.vcpu.enter();
    }
    if (opts.stopWhen?.()) return;
  }
}
