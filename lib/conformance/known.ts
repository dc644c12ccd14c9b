// Known differences between the model and real KVM, each with its reason, in one data file
// (scenarios/known-differences.yaml). A difference that matches no entry is unexplained and
// fails the run.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface KnownDifference {
  /** Scenario name, exact or with * wildcards. */
  readonly scenario: string;
  /** Regular expression over the step text (as printed in reports), anchored. */
  readonly step: string;
  /** Only on this host GIC version, if given. */
  readonly gic: 2 | 3 | null;
  /** Only on these kernel versions (exact or with * wildcards), if given. */
  readonly kernels: readonly string[] | null;
  readonly reason: string;
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

export class KnownDifferences {
  private readonly compiled: { d: KnownDifference; scenario: RegExp; step: RegExp; kernels: RegExp[] | null }[];

  constructor(readonly entries: readonly KnownDifference[]) {
    this.compiled = entries.map((d) => ({
      d,
      scenario: glob(d.scenario),
      step: new RegExp(`^(?:${d.step})$`),
      kernels: d.kernels === null ? null : d.kernels.map(glob),
    }));
  }

  /** The entry explaining a difference, or null. */
  explain(scenario: string, stepText: string, gic: 2 | 3, kernel: string): KnownDifference | null {
    for (const c of this.compiled) {
      if (c.d.gic !== null && c.d.gic !== gic) continue;
      if (c.kernels !== null && !c.kernels.some((k) => k.test(kernel))) continue;
      if (c.scenario.test(scenario) && c.step.test(stepText)) return c.d;
    }
    return null;
  }
}

export function parseKnownDifferences(text: string, file: string): KnownDifferences {
  const doc: unknown = parse(text);
  if (!Array.isArray(doc)) throw new Error(`${file}: expected a list of entries`);
  const entries = doc.map((raw, i): KnownDifference => {
    const where = `${file}: entry ${i + 1}`;
    if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: not a mapping`);
    const o = raw as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!['scenario', 'step', 'gic', 'kernels', 'reason'].includes(k)) throw new Error(`${where}: unknown field '${k}'`);
    }
    const str = (k: string): string => {
      const v = o[k];
      if (typeof v !== 'string' || v === '') throw new Error(`${where}: '${k}' must be a non-empty string`);
      return v;
    };
    const gic = o.gic === undefined ? null : o.gic;
    if (gic !== null && gic !== 2 && gic !== 3) throw new Error(`${where}: gic must be 2 or 3`);
    const kernels = o.kernels === undefined ? null : o.kernels;
    if (kernels !== null && (!Array.isArray(kernels) || !kernels.every((k) => typeof k === 'string'))) {
      throw new Error(`${where}: kernels must be a list of versions`);
    }
    const step = str('step');
    try {
      new RegExp(step);
    } catch (e) {
      throw new Error(`${where}: bad step pattern: ${(e as Error).message}`);
    }
    return { scenario: str('scenario'), step, gic, kernels: kernels as string[] | null, reason: str('reason') };
  });
  return new KnownDifferences(entries);
}

export function loadKnownDifferences(file: string): KnownDifferences {
  return parseKnownDifferences(readFileSync(file, 'utf8'), file);
}
