// Which scenarios a GIC version runs: the hand-written files in scenarios/v2 or scenarios/v3
// (one or more `scenario NAME` blocks per file) and the ones generated from the register tables.
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedScenarios } from './generate.ts';
import { type Scenario, parseScenarios } from './language.ts';

export const SCENARIO_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));
export const KNOWN_DIFFERENCES_FILE = join(SCENARIO_DIR, 'known-differences.yaml');

export function scenarioFiles(gic: 2 | 3, dir = SCENARIO_DIR): string[] {
  const sub = join(dir, `v${gic}`);
  let names: string[];
  try {
    names = readdirSync(sub);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.scn')).sort().map((n) => join(sub, n));
}

export function loadScenarios(gic: 2 | 3, dir = SCENARIO_DIR): Scenario[] {
  const out: Scenario[] = [];
  for (const f of scenarioFiles(gic, dir)) {
    const rel = `scenarios/v${gic}/${basename(f)}`;
    out.push(...parseScenarios(readFileSync(f, 'utf8'), rel, basename(f, '.scn')));
  }
  out.push(...generatedScenarios(gic));
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.name)) throw new Error(`scenario name ${s.name} is used twice (GICv${gic})`);
    seen.add(s.name);
  }
  return out;
}

function globRe(p: string): RegExp {
  return new RegExp(`^${p.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** Scenarios whose name matches one of the patterns (all when there are none). */
export function selectScenarios(all: Scenario[], patterns: readonly string[]): Scenario[] {
  if (patterns.length === 0) return all;
  const res = patterns.map(globRe);
  return all.filter((s) => res.some((r) => r.test(s.name)));
}
