// Per-step comparison of the model's and real KVM's normalised results.
import type { KnownDifferences, KnownDifference } from './known.ts';
import type { Scenario, Step } from './language.ts';
import { type RawResult, normalise } from './results.ts';

export interface StepDiff {
  readonly step: Step;
  /** Index of the step in its scenario (0-based). */
  readonly index: number;
  readonly model: string;
  readonly kvm: string;
  readonly known: KnownDifference | null;
}

export interface ScenarioComparison {
  readonly scenario: Scenario;
  readonly steps: number;
  readonly diffs: StepDiff[];
  /** Both normalised results of every step, in order (for --verbose). */
  readonly results: { model: string; kvm: string }[];
}

export interface ComparisonContext {
  gic: 2 | 3;
  kernel: string;
  known: KnownDifferences;
}

/** Compare one scenario; `kvm` holds the raw results of its steps (null: not reported). */
export function compareScenario(
  scenario: Scenario,
  model: readonly RawResult[],
  kvm: readonly (RawResult | null)[],
  ctx: ComparisonContext,
): ScenarioComparison {
  const lines = scenario.steps.map((step, i) => (kvm[i] ? normalise(step, kvm[i]!) : '(no result)'));
  return compareNormalised(scenario, model, lines, ctx);
}

/** The same with real KVM's results already normalised (a recording, record.ts). */
export function compareNormalised(
  scenario: Scenario,
  model: readonly RawResult[],
  kvm: readonly string[],
  ctx: ComparisonContext,
): ScenarioComparison {
  const diffs: StepDiff[] = [];
  const results: { model: string; kvm: string }[] = [];
  scenario.steps.forEach((step, index) => {
    const m = normalise(step, model[index]!);
    const k = kvm[index] ?? '(no result)';
    results.push({ model: m, kvm: k });
    if (m !== k) diffs.push({ step, index, model: m, kvm: k, known: ctx.known.explain(scenario.name, step.text, ctx.gic, ctx.kernel) });
  });
  return { scenario, steps: scenario.steps.length, diffs, results };
}

export function describeDiff(d: StepDiff): string {
  const where = `${d.step.file}:${d.step.line}`;
  const base = `step ${d.index + 1} (${where}) ${d.step.text}: model ${d.model}, kvm ${d.kvm}`;
  return d.known ? `${base} [known: ${d.known.reason}]` : base;
}
