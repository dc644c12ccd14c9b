// Every benchmark, measured in one process: absolute figures with their spread and the machine's
// load (printed, never gated), and ratios against the direct register dispatch baseline measured
// in the same rounds (gated: the exit status is 1 if one misses its bound). The last block of
// stdout is the JSON document.
//
// Baseline: guest-MMIO register work (a GICD_TYPER read and an IPRIORITYR write) by direct calls
// into the vGIC's MMIO dispatch, no coroutine. Each round runs every benchmark once, so all share
// the machine's conditions; the ratios use the medians.

import { performance } from 'node:perf_hooks';
import { sgisBetweenVcpus, spisInjectedByHost, spisPendedByGuest } from './irq.bench.ts';
import { LPI_STRESS_CONFIGS, type LpiStressSample, lpiStressRun } from './lpi-stress.bench.ts';
import { coroutineRun, directRun } from './mmio.bench.ts';
import { benchSnapshot } from './snapshot.bench.ts';
import { type Gate, type Spread, fmtSpread, gate, interleave, machineLoad, median, round, spread } from './stats.ts';

/** Rounds; BENCH_RUNS overrides (at least 3). */
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS) || 7);

/** Work per run: large enough for ~50-200 ms per sample on this machine kind. */
const MMIO_ITERS = 1_000_000;
const IRQ_ITERS = 200_000;
const SGI_ITERS = 50_000;

/**
 * Gate bounds. Each is the idle-machine target divided by the idle baseline it was set
 * against (direct dispatch 32.9 M accesses/s on this machine kind, README): the same target,
 * expressed so that machine load cancels out.
 */
const IDLE_DIRECT = 32.9e6;
export const BOUNDS = {
  /** guest MMIO via the coroutine costs at most 3x the direct dispatch. */
  coroutineOverDirect: 3,
  /** (a) >= 3 M interrupts/s. */
  spisPendedPerDirect: 3e6 / IDLE_DIRECT,
  /** (b) >= 2 M interrupts/s. */
  spisInjectedPerDirect: 2e6 / IDLE_DIRECT,
  /**
   * (a) at 992 interrupts keeps at least 70% of its speed at 64. An acknowledge path that scans
   * every interrupt (this project before the candidate lists) gives about 0.1; noise on a loaded
   * 2-core machine has pushed the per-round median of a constant-cost path down to about 0.8.
   */
  largeOverSmall: 0.7,
  /** save + restore in at most 50 ms at the idle baseline: 1.645 M direct accesses' worth. */
  snapshotInDirectAccesses: 0.05 * IDLE_DIRECT,
  /** (d) vgic_lpi_stress -v 1 -d 1 -e 1: >= 2 M LPIs/s delivered (the test's Rate). */
  lpiSingleStreamPerDirect: 2e6 / IDLE_DIRECT,
  /** (d) no configuration delivers LPIs more than 3x slower than the single-stream case. */
  lpiSingleOverSlowest: 3,
};

interface Figure {
  name: string;
  spread: Spread;
}

export async function runBenchmarks(): Promise<number> {
  const t0 = performance.now();
  const loadBefore = machineLoad();
  const s = { direct: [] as number[], coroutine: [] as number[], a64: [] as number[], a992: [] as number[], b: [] as number[], c: [] as number[] };
  const lpi: LpiStressSample[][] = LPI_STRESS_CONFIGS.map(() => []);

  // Warm-up: every path once, so the JIT has settled before the first measured round.
  directRun(MMIO_ITERS / 4);
  coroutineRun(MMIO_ITERS / 4);
  spisPendedByGuest(64, IRQ_ITERS / 4);
  spisPendedByGuest(992, IRQ_ITERS / 4);
  spisInjectedByHost(64, IRQ_ITERS / 4);
  sgisBetweenVcpus(SGI_ITERS / 4);
  for (const c of LPI_STRESS_CONFIGS) lpiStressRun(c, 1 / 4);

  interleave(RUNS, [
    () => s.direct.push(directRun(MMIO_ITERS)),
    () => s.coroutine.push(coroutineRun(MMIO_ITERS)),
    () => s.a64.push(spisPendedByGuest(64, IRQ_ITERS)),
    () => s.a992.push(spisPendedByGuest(992, IRQ_ITERS)),
    () => s.b.push(spisInjectedByHost(64, IRQ_ITERS)),
    () => s.c.push(sgisBetweenVcpus(SGI_ITERS)),
    ...LPI_STRESS_CONFIGS.map((c, i) => () => void lpi[i]!.push(lpiStressRun(c))),
  ]);
  const snap = await benchSnapshot(RUNS);
  // The snapshot runs after the rounds: a second baseline taken right after it keeps its ratio honest.
  const directAfter: number[] = [];
  for (let i = 0; i < 3; i++) directAfter.push(directRun(MMIO_ITERS));
  const loadAfter = machineLoad();

  const figures: Figure[] = [
    { name: 'baseline: direct register dispatch (GICD_TYPER read + IPRIORITYR write)', spread: spread(s.direct, 'accesses/s') },
    { name: 'guest MMIO through the coroutine, same register work', spread: spread(s.coroutine, 'accesses/s') },
    { name: '(a) edge SPIs pended by the guest, taken, acked, EOIed; 64 IRQs', spread: spread(s.a64, 'irqs/s') },
    { name: '(a) the same with 992 IRQs (cycling over every SPI)', spread: spread(s.a992, 'irqs/s') },
    { name: '(b) edge SPIs by KVM_IRQ_LINE, one exit each; 64 IRQs', spread: spread(s.b, 'irqs/s') },
    { name: '(c) SGIs between two vCPUs (ping-pong, seeded scheduler)', spread: spread(s.c, 'sgis/s') },
    ...LPI_STRESS_CONFIGS.flatMap((c, i) => [
      { name: `(d) vgic_lpi_stress ${c.args} -i ${c.nrIterations}: LPIs delivered (its Rate)`, spread: spread(lpi[i]!.map((x) => x.delivered), 'lpis/s') },
      {
        name: `    LPIs taken by the guests (${round(100 * median(lpi[i]!.map((x) => x.takenFraction)))}% of those delivered)`,
        spread: spread(lpi[i]!.map((x) => x.taken), 'lpis/s'),
      },
    ]),
    { name: `${snap.name}: save + restore`, spread: spread(snap.totalMs, 'ms') },
    { name: '  save alone', spread: spread(snap.saveMs, 'ms') },
    { name: '  restore alone', spread: spread(snap.restoreMs, 'ms') },
    { name: '  YAML write + parse of the same snapshot (not in the total)', spread: spread(snap.yamlRoundTripMs, 'ms') },
  ];
  const snapNotes = [
    `  backup of the destination (captureVgicState, part of every restore): median ${snap.captureMedianMs} ms; restore / save ${snap.restoreOverSave}`,
    `  parse of the largest valid snapshot (${snap.largestSnapshotBytes} bytes): median ${snap.largestParseMedianMs} ms`,
  ];

  // Each gate is the median over the rounds of that round's ratio: both figures of a round ran
  // back to back, so they saw the same machine.
  const perRound = (num: number[], den: number[]): number => median(num.map((x, i) => x / den[i]!));
  // (d): how many times slower than the single stream each configuration is, per round, in LPIs
  // delivered (gated: what the kernel test prints) and in LPIs taken (reported).
  const lpiOf = (i: number, k: 'delivered' | 'taken'): number[] => lpi[i]!.map((x) => x[k]);
  const lpiRatios = LPI_STRESS_CONFIGS.map((c, i) => ({
    args: c.args,
    delivered: round(perRound(lpiOf(0, 'delivered'), lpiOf(i, 'delivered'))),
    taken: round(perRound(lpiOf(0, 'taken'), lpiOf(i, 'taken'))),
  }));
  const slowest = lpiRatios.reduce((a, b) => (b.delivered > a.delivered ? b : a));
  const lpiNotes = [
    '  (d) single stream / configuration, per-round medians: ' +
      lpiRatios
        .slice(1)
        .map((r) => `${r.args}: ${r.delivered}x delivered, ${r.taken}x taken`)
        .join('; '),
  ];
  const gates: Gate[] = [
    gate('direct / coroutine', perRound(s.direct, s.coroutine), 'max', BOUNDS.coroutineOverDirect, 'the coroutine costs at most 3x the dispatch it drives'),
    gate('(a) 64 IRQs / direct', perRound(s.a64, s.direct), 'min', round(BOUNDS.spisPendedPerDirect), '(a) >= 3 M/s at the idle baseline of 32.9 M/s'),
    gate('(a) 992 / (a) 64', perRound(s.a992, s.a64), 'min', BOUNDS.largeOverSmall, 'the cost of one interrupt does not grow with nr_irqs'),
    gate('(b) / direct', perRound(s.b, s.direct), 'min', round(BOUNDS.spisInjectedPerDirect), '(b) >= 2 M/s at the idle baseline of 32.9 M/s'),
    gate(
      'snapshot save+restore, in direct accesses',
      (median(snap.totalMs) / 1000) * median(directAfter),
      'max',
      Math.round(BOUNDS.snapshotInDirectAccesses),
      'save + restore <= 50 ms at the idle baseline',
    ),
    gate(
      '(d) lpi_stress -v1 -d1 -e1 / direct',
      perRound(lpiOf(0, 'delivered'), s.direct),
      'min',
      round(BOUNDS.lpiSingleStreamPerDirect),
      '>= 2 M LPIs/s at the idle baseline of 32.9 M/s',
    ),
    gate(
      '(d) lpi_stress -v1 -d1 -e1 / slowest',
      slowest.delivered,
      'max',
      BOUNDS.lpiSingleOverSlowest,
      `LPIs delivered, as the test prints; slowest: ${slowest.args}`,
    ),
  ];

  const w = Math.max(...figures.map((f) => f.name.length));
  console.log(`make bench: ${RUNS} rounds, load average ${loadBefore.loadavg.join(' ')} before, ${loadAfter.loadavg.join(' ')} after (${loadBefore.cpus} CPUs), Node ${process.version}`);
  console.log('\nAbsolute figures (median, spread over the rounds; printed, never gated):');
  for (const f of figures) console.log(`  ${f.name.padEnd(w)}  ${fmtSpread(f.spread)}`);
  for (const n of [...snapNotes, ...lpiNotes]) console.log(n);
  console.log('\nRatios against the baseline measured in this process (gated):');
  for (const g of gates) {
    console.log(`  ${g.name.padEnd(42)} ${String(g.value).padStart(10)}  ${g.kind === 'min' ? '>=' : '<='} ${g.bound}  ${g.met ? 'OK' : 'MISSED'}  (${g.why})`);
  }
  const json = {
    node: process.version,
    date: new Date().toISOString(),
    rounds: RUNS,
    load: { before: loadBefore, after: loadAfter },
    seconds: round((performance.now() - t0) / 1000),
    figures: figures.map((f) => ({ name: f.name, ...f.spread })),
    gates,
    snapshot: {
      bytes: snap.snapshotBytes,
      deviceAttrWritesPerRestore: snap.deviceAttrWritesPerRestore,
      backupCaptureMedianMs: snap.captureMedianMs,
      restoreOverSave: snap.restoreOverSave,
      largestParseMedianMs: snap.largestParseMedianMs,
      largestSnapshotBytes: snap.largestSnapshotBytes,
    },
    lpiStress: LPI_STRESS_CONFIGS.map((c, i) => ({
      args: c.args,
      nrIterations: c.nrIterations,
      kernelIterations: c.kernelIterations,
      takenFraction: round(median(lpi[i]!.map((x) => x.takenFraction))),
      singleOverThis: { delivered: lpiRatios[i]!.delivered, taken: lpiRatios[i]!.taken },
    })),
  };
  console.log(`\n${JSON.stringify(json, null, 2)}`);
  return gates.every((g) => g.met) ? 0 : 1;
}
