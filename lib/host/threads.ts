// Several vCPUs "on their own threads", interleaved deterministically: the C tests' pthreads
// become a seeded scheduler, so a failing interleaving replays from its seed.

import type { Ucall } from '../kvm/guest-abi.ts';
import type { KvmVcpu } from '../kvm/vcpu.ts';
import { errnoName } from '../uapi/errno.ts';
import { arrayArg, badArg, cU32, fnArg, objectArg, readProps, vcpuArg } from './args.ts';
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

/**
 * runVcpuThreads' arguments, each read once: the threads (a vCPU and an onUcall function each),
 * the host threads (a step function each) and the options. They stand for the C test's
 * pthread_create() arguments: a wrong one is a port bug, reported before anything runs.
 */
function threadArgs(threads: unknown, opts: unknown): {
  live: Array<VcpuThread & { blockedAt: number }>;
  hosts: HostThread[];
  o: Omit<ThreadOptions, 'hostThreads'>;
} {
  const fn = 'runVcpuThreads';
  const live = arrayArg(threads, fn, 'threads', 'an array of { vcpu, onUcall }').map((th, i) => {
    const p = readProps(objectArg<object>(th, fn, `threads[${i}]`), ['vcpu', 'onUcall'], fn, `threads[${i}]`);
    const onUcall = fnArg<VcpuThread['onUcall']>(p.onUcall, fn, `threads[${i}].onUcall`);
    // Called on the port's own object, as `th.onUcall(uc, vcpu)` would be.
    return { vcpu: vcpuArg(p.vcpu, fn), onUcall: (uc: Ucall, v: KvmVcpu): boolean => Reflect.apply(onUcall, th, [uc, v]), blockedAt: -1 };
  });
  const p = opts === undefined ? {} : readProps(objectArg(opts, fn, 'opts'), ['seed', 'maxQuantum', 'budget', 'onSlice', 'hostThreads', 'stopWhen'], fn, 'opts');
  const o: Omit<ThreadOptions, 'hostThreads'> = {};
  if (p.seed !== undefined) o.seed = p.seed as number; // converted as a u32 by the caller
  // A quantum is 1 + floor(rand * maxQuantum) accesses; the budget counts down to a failure.
  if (p.maxQuantum !== undefined) {
    if (typeof p.maxQuantum !== 'number' || !Number.isFinite(p.maxQuantum) || p.maxQuantum < 0) badArg(fn, 'opts.maxQuantum', p.maxQuantum, 'a number of accesses (>= 0)');
    o.maxQuantum = p.maxQuantum;
  }
  if (p.budget !== undefined) {
    if (typeof p.budget !== 'number' || Number.isNaN(p.budget)) badArg(fn, 'opts.budget', p.budget, 'a number of accesses');
    o.budget = p.budget;
  }
  // Callbacks are called on the port's options object, as `opts.onSlice(...)` would be.
  if (p.onSlice !== undefined) {
    const f = fnArg<NonNullable<ThreadOptions['onSlice']>>(p.onSlice, fn, 'opts.onSlice');
    o.onSlice = (...a) => Reflect.apply(f, opts, a);
  }
  if (p.stopWhen !== undefined) {
    const f = fnArg<NonNullable<ThreadOptions['stopWhen']>>(p.stopWhen, fn, 'opts.stopWhen');
    o.stopWhen = () => Reflect.apply(f, opts, []);
  }
  const hosts = p.hostThreads === undefined ? [] : arrayArg(p.hostThreads, fn, 'opts.hostThreads', 'an array of { step }').map((h, i) => {
    const step = fnArg<HostThread['step']>(readProps(objectArg<object>(h, fn, `opts.hostThreads[${i}]`), ['step'], fn, `opts.hostThreads[${i}]`).step, fn, `opts.hostThreads[${i}].step`);
    return { step: (): boolean => Reflect.apply(step, h, []) };
  });
  return { live, hosts, o };
}

/** mulberry32: small, fast, and identical everywhere. */
export function seededRandom(seed: number): () => number {
  let a = cU32(seed, 'seededRandom', 'seed');
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function schedulerSeed(seed?: number): number {
  if (seed !== undefined) return cU32(seed, 'schedulerSeed', 'seed');
  const env = Number(process.env.VGIC_SEED);
  return Number.isFinite(env) && process.env.VGIC_SEED !== '' ? env >>> 0 : 1;
}

/**
 * Run the threads until each has ended; asserts on KVM_RUN errors and on deadlock. Each turn
 * picks one runnable thread (vCPUs first in the list, then host threads) and runs it for a
 * random quantum; a vCPU blocked in WFI is runnable again once something may have become pending.
 */
export function runVcpuThreads(threads: VcpuThread[], opts: ThreadOptions = {}): void {
  const { live, hosts, o } = threadArgs(threads, opts);
  const seed = o.seed === undefined ? schedulerSeed() : cU32(o.seed, 'runVcpuThreads', 'opts.seed');
  const rand = seededRandom(seed);
  const maxQuantum = o.maxQuantum ?? 64;
  let budget = o.budget ?? 50_000_000;
  printInfo('vCPU scheduler seed %u', seed);
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
      if (o.stopWhen?.()) return;
      continue;
    }
    const out = th.vcpu.step(quantum);
    o.onSlice?.(th.vcpu.id, quantum, out);
    budget -= quantum;
    if (budget < 0) testFail('vCPUs did not finish within the access budget (seed %u)', seed);
    th.blockedAt = out === 'blocked' ? th.vcpu.vm.dist.epoch : -1;
    if (out === 'exit') {
      const keep = th.onUcall(getUcall(th.vcpu), th.vcpu);
      if (!keep || !th.vcpu.alive) live.splice(live.indexOf(th), 1);
      else th.vcpu.enter();
    }
    if (o.stopWhen?.()) return;
  }
}
