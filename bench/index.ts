// `make bench`: every benchmark's medians, human-readable and as JSON (last block of stdout).

import { existsSync } from 'node:fs';
import { benchLpiStress } from './lpi-stress.bench.ts';
import { benchMmio } from './mmio.bench.ts';

interface Figure {
  name: string;
  value: number;
  unit: string;
  target: string;
  met: boolean;
}

async function main(): Promise<void> {
  const figures: Figure[] = [];
  const json: Record<string, unknown> = { node: process.version, date: new Date().toISOString() };

  const m = benchMmio();
  json.mmio = m;
  figures.push(
    { name: 'guest MMIO via coroutine (median)', value: m.coroutineAccessesPerSec, unit: 'accesses/s', target: `>= ${m.targets.minAccessesPerSec}`, met: m.coroutineAccessesPerSec >= m.targets.minAccessesPerSec },
    { name: 'same work by direct dispatch (median)', value: m.directAccessesPerSec, unit: 'accesses/s', target: 'baseline', met: true },
    { name: 'direct / coroutine ratio', value: m.ratio, unit: 'x', target: `<= ${m.targets.maxRatio}`, met: m.ratio <= m.targets.maxRatio },
  );

  // The snapshot benchmark lives with the save/restore code.
  const snapPath = new URL('./snapshot.bench.ts', import.meta.url);
  if (existsSync(snapPath)) {
    const mod = (await import(snapPath.href)) as { benchSnapshot?: () => Promise<{ name: string; medianMs: number; runs: number; targetMs: number }> };
    if (mod.benchSnapshot) {
      const s = await mod.benchSnapshot();
      json.snapshot = s;
      figures.push({ name: `${s.name} (median of ${s.runs})`, value: s.medianMs, unit: 'ms', target: `< ${s.targetMs}`, met: s.medianMs < s.targetMs });
    }
  }

  // vgic_lpi_stress: LPIs/s per configuration; only the same-process ratio gates.
  const l = benchLpiStress();
  json.lpiStress = l;
  for (const f of l.figures) {
    const target = f === l.figures[0] ? `>= ${l.targets.singleStreamMin} (not gated: ${f.median >= l.targets.singleStreamMin ? 'met' : 'missed'})` : 'reported';
    figures.push({ name: `vgic_lpi_stress ${f.args} -i ${f.nrIterations} (median of ${l.runs}; min ${f.min}, max ${f.max}; ${Math.round(f.takenFraction * 100)}% taken)`, value: f.median, unit: 'LPIs/s', target, met: true });
    figures.push({ name: `  the same per CPU-second (min ${f.cpuMin}, max ${f.cpuMax})`, value: f.cpuMedian, unit: 'LPIs/cpu-s', target: 'reported', met: true });
  }
  figures.push({ name: `vgic_lpi_stress single stream / slowest (${l.worstArgs}; CPU time ${l.cpuRatio}x)`, value: l.worstRatio, unit: 'x', target: `<= ${l.targets.maxRatio}`, met: l.worstRatio <= l.targets.maxRatio });

  for (const f of figures) {
    console.log(`${f.name.padEnd(58)} ${String(f.value).padStart(12)} ${f.unit.padEnd(11)} target ${f.target} ${f.met ? 'OK' : 'MISSED'}`);
  }
  console.log(JSON.stringify({ ...json, figures }, null, 2));
  if (figures.some((f) => !f.met)) process.exitCode = 1;
}

await main();
