// vgic_lpi_stress in the five configurations of Oliver Upton's published results ("KVM: arm64:
// Improvements to LPI injection", v2 cover letter, Feb 2024; -v 32 -d 32 -e 1 in place of its
// -v 64 -d 64 -e 1). Iteration counts are set so that each run signals about 250 K MSIs: the
// kernel's (1 M, 10 K, 10 K, 100 K, 1 K) cut 4-12x, except -e 17's, raised 15x. One run is
// the selftest's run_test() (selftests/vgic_lpi_stress.ts): device threads signal MSIs with
// KVM_SIGNAL_MSI (each must return 1) while the vCPUs take LPIs, interleaved by the seeded
// scheduler. Two figures per run:
//  - delivered: MSIs signalled per second from the barrier to the last device thread, the test's
//    own `Rate: N LPIs/sec` (what the kernel's published numbers are);
//  - taken: LPIs the guests' handlers acknowledged per second over the same stretch (pending
//    LPIs coalesce, as on hardware, so with one event per device most MSIs find theirs pending).
// bench/run.ts runs these in its rounds next to the direct-dispatch baseline and gates the ratios.

import { setRecorder } from '../lib/host/index.ts';
import { runLpiStress } from '../selftests/vgic_lpi_stress.ts';

export interface LpiStressConfig {
  /** The selftest's options, as on its command line. */
  args: string;
  nrCpus: number;
  nrDevices: number;
  nrEventIds: number;
  /** Iterations here (about 250 K MSIs a run); `kernelIterations` is the published run's. */
  nrIterations: number;
  kernelIterations: number;
}

/** The single-stream case (-v 1 -d 1 -e 1) first: the other configurations are compared with it. */
export const LPI_STRESS_CONFIGS: readonly LpiStressConfig[] = [
  { args: '-v 1 -d 1 -e 1', nrCpus: 1, nrDevices: 1, nrEventIds: 1, nrIterations: 250_000, kernelIterations: 1_000_000 },
  { args: '-v 16 -d 16 -e 16', nrCpus: 16, nrDevices: 16, nrEventIds: 16, nrIterations: 1_000, kernelIterations: 10_000 },
  { args: '-v 16 -d 16 -e 17', nrCpus: 16, nrDevices: 16, nrEventIds: 17, nrIterations: 1_000, kernelIterations: 10_000 },
  { args: '-v 32 -d 32 -e 1', nrCpus: 32, nrDevices: 32, nrEventIds: 1, nrIterations: 8_000, kernelIterations: 100_000 },
  { args: '-v 1 -d 1 -e 17', nrCpus: 1, nrDevices: 1, nrEventIds: 17, nrIterations: 15_000, kernelIterations: 1_000 },
];

export interface LpiStressSample {
  /** MSIs delivered per second (the selftest's Rate). */
  delivered: number;
  /** LPIs the guests acknowledged per second. */
  taken: number;
  /** taken / delivered. */
  takenFraction: number;
}

/** One run of a configuration (iterations scaled by `scale`), with a fixed scheduler seed. */
export function lpiStressRun(c: LpiStressConfig, scale = 1, seed = 1): LpiStressSample {
  // The selftest's pr_info lines (the scheduler seed of every run) are not part of the bench output.
  setRecorder({ comment: () => {}, pass: () => {} });
  try {
    const r = runLpiStress({ nrCpus: c.nrCpus, nrDevices: c.nrDevices, nrEventIds: c.nrEventIds, nrIterations: Math.ceil(c.nrIterations * scale), seed });
    return { delivered: r.rate, taken: r.nrLpisTaken / r.seconds, takenFraction: r.nrLpisTaken / r.nrLpis };
  } finally {
    setRecorder(null);
  }
}
