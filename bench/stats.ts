// What every benchmark reports: the spread of its runs (min, median, max), the machine's load
// while it ran, and gates that are ratios of two figures measured in the same process. Absolute
// figures are never gated: these machines are shared and noisy.

import { availableParallelism, loadavg } from 'node:os';

export interface Spread {
  min: number;
  median: number;
  max: number;
  runs: number;
  unit: string;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function spread(samples: readonly number[], unit: string): Spread {
  if (!samples.length) throw new Error('no samples');
  return { min: round(Math.min(...samples)), median: round(median(samples)), max: round(Math.max(...samples)), runs: samples.length, unit };
}

export interface MachineLoad {
  /** os.loadavg(): 1, 5 and 15 minute load averages. */
  loadavg: [number, number, number];
  cpus: number;
}

export function machineLoad(): MachineLoad {
  const [a, b, c] = loadavg();
  return { loadavg: [round(a!), round(b!), round(c!)], cpus: availableParallelism() };
}

/** A ratio that gates the exit status: value = numerator median / denominator median. */
export interface Gate {
  name: string;
  value: number;
  /** "min" = value must be >= bound; "max" = value must be <= bound. */
  kind: 'min' | 'max';
  bound: number;
  met: boolean;
  why: string;
}

export function gate(name: string, value: number, kind: 'min' | 'max', bound: number, why: string): Gate {
  const v = round(value);
  return { name, value: v, kind, bound, met: kind === 'min' ? v >= bound : v <= bound, why };
}

/** Human formatting of a rate or duration with its spread. */
export function fmtSpread(s: Spread): string {
  const f = (x: number): string => (s.unit.endsWith('/s') ? `${(x / 1e6).toFixed(2)}M` : x.toFixed(2));
  const unit = s.unit.endsWith('/s') ? s.unit : ` ${s.unit}`;
  return `${f(s.median)}${unit} (min ${f(s.min)}, max ${f(s.max)}, ${s.runs} runs)`;
}

/** Run `n` rounds; each round calls every function once, in order, so all see the same conditions. */
export function interleave(n: number, fns: ReadonlyArray<() => void>): void {
  for (let r = 0; r < n; r++) for (const f of fns) f();
}

/** Three significant digits, for printed figures and JSON. */
export function round(x: number): number {
  return Number(x.toPrecision(3));
}
