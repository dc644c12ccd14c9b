// `vgic-harness conformance`: for each kernel and GIC version, run the scenarios on the model
// (with the profile named after the kernel) and on real KVM (one VM boot for all of them),
// compare step by step, and report like every other run (lib/report's TAP, KTAP, JUnit, human).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReportFormat } from '../report/formats.ts';
import type { CaseResult, SelftestResult } from '../report/model.ts';
import { DEFAULT_PROFILE_NAME, findProfile } from '../vgic/profiles.ts';
import { cacheDir } from './cache.ts';
import { type ScenarioComparison, compareScenario, describeDiff } from './compare.ts';
import { KernelError, type KernelImage, knownKernel, resolveKernel } from './kernels.ts';
import { type KnownDifferences, loadKnownDifferences } from './known.ts';
import { runOnKvm } from './kvm-backend.ts';
import type { Scenario, Step } from './language.ts';
import { ModelBackend } from './model-backend.ts';
import type { KvmMode } from './qemu.ts';
import { formatRecording } from './record.ts';
import { ReportSink, exitStatus } from './report-sink.ts';
import type { RawResult } from './results.ts';
import { KNOWN_DIFFERENCES_FILE, loadScenarios, selectScenarios } from './scenarios.ts';
import { SetupError, ensureHostTools, ensureKernelSource } from './setup.ts';


export interface ConformanceOptions {
  kernels: string[];
  gics: (2 | 3)[];
  kvmMode: KvmMode;
  /** null: the profile named after each kernel (linux-<version>), else the default. */
  profile: string | null;
  format: ReportFormat;
  junitFile: string | null;
  /** Scenario name patterns; empty = all. */
  patterns: string[];
  /** Print every step with both results, not only the differences. */
  verbose: boolean;
  /** Write real KVM's normalised results here (record.ts), one file per kernel and GIC. */
  recordDir: string | null;
}

export interface ConformanceIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** The profile the model runs for a kernel: `linux-<version>` when the project has one. */
export function profileForKernel(version: string, explicit: string | null): string {
  if (explicit !== null) return explicit;
  const named = `linux-${version}`;
  return findProfile(named) ? named : DEFAULT_PROFILE_NAME;
}

export interface PairOutcome {
  kernel: string;
  gic: 2 | 3;
  profile: string;
  release: string | null;
  steps: number;
  differences: number;
  known: number;
  comparisons: ScenarioComparison[];
  bootMs: number | null;
  runMs: number | null;
  modelMs: number;
  problem: string | null;
}

/**
 * Run the model over every step, scenario by scenario (a fresh VM each: every scenario starts with
 * `vm`), on a host like the one QEMU gives real KVM: its GIC version, and VHE unless KVM runs in
 * nvhe or protected mode.
 */
export function runModel(scenarios: readonly Scenario[], profile: string, gic: 2 | 3, kvmMode: KvmMode = 'vhe'): RawResult[][] {
  const backend = new ModelBackend({ profile, hostGic: gic, vhe: kvmMode === 'vhe' });
  try {
    return scenarios.map((s) => s.steps.map((st) => backend.exec(st)));
  } finally {
    backend.close();
  }
}

export async function runPair(
  cache: string,
  kernel: KernelImage,
  gic: 2 | 3,
  kvmMode: KvmMode,
  profile: string,
  scenarios: readonly Scenario[],
  known: KnownDifferences,
): Promise<PairOutcome> {
  const t0 = Date.now();
  const model = runModel(scenarios, profile, gic, kvmMode);
  const modelMs = Date.now() - t0;
  const steps: Step[] = scenarios.flatMap((s) => s.steps);
  const kvm = await runOnKvm(cache, { kernel: kernel.path, gic, kvmMode }, steps);
  let at = 0;
  const comparisons = scenarios.map((s, i) => {
    const slice = kvm.results.slice(at, at + s.steps.length);
    at += s.steps.length;
    return compareScenario(s, model[i]!, slice, { gic, kernel: kernel.version, known });
  });
  const all = comparisons.flatMap((c) => c.diffs);
  return {
    kernel: kernel.version,
    gic,
    profile,
    release: kvm.release,
    steps: steps.length,
    differences: all.filter((d) => d.known === null).length,
    known: all.filter((d) => d.known !== null).length,
    comparisons,
    bootMs: kvm.bootMs,
    runMs: kvm.runMs,
    modelMs,
    problem: kvm.problem,
  };
}

const secs = (ms: number | null): string => (ms === null ? '?' : `${(ms / 1000).toFixed(1)} s`);

function scenarioCase(c: ScenarioComparison, id: number, verbose: boolean): CaseResult {
  const unexplained = c.diffs.filter((d) => d.known === null);
  const comments = verbose
    ? c.scenario.steps.map((s, i) => {
        const r = c.results[i]!;
        return `${r.model === r.kvm ? ' ' : '!'} ${String(i + 1).padStart(3)} ${s.text.padEnd(48)} model ${r.model}${r.model === r.kvm ? '' : `, kvm ${r.kvm}`}`;
      })
    : c.diffs.map(describeDiff);
  return {
    id,
    name: `${c.scenario.name} (${c.steps} steps)`,
    ok: unexplained.length === 0,
    skip: null,
    todo: null,
    timeoutSec: null,
    timeMs: null,
    diag: null,
    comments,
    children: [],
    synthetic: false,
  };
}

export function pairSummaryLine(o: { steps: number; differences: number; known: number }): string {
  return `${o.steps} steps, ${o.differences} differences (${o.known} known)`;
}

export function pairResult(o: PairOutcome, kvmMode: KvmMode, verbose: boolean): SelftestResult {
  const cases = o.comparisons.map((c, i) => scenarioCase(c, i + 1, verbose));
  const failed = o.differences > 0 || o.problem !== null;
  const trailing = [
    `kernel ${o.release ?? o.kernel}, GICv${o.gic}, kvm-arm.mode=${kvmMode}, model profile ${o.profile}`,
    `boot ${secs(o.bootMs)}, run ${secs(o.runMs)}, model ${secs(o.modelMs)}`,
    pairSummaryLine(o),
  ];
  if (o.problem) trailing.push(`problem: ${o.problem}`);
  return {
    name: `linux-${o.kernel} gicv${o.gic}`,
    file: 'lib/conformance',
    status: failed ? 'fail' : 'pass',
    reason: o.problem ?? (failed ? `${o.differences} unexplained differences` : ''),
    exitCode: failed ? 1 : 0,
    signal: null,
    timeoutSec: 0,
    durationMs: (o.bootMs ?? 0) + (o.runMs ?? 0) + o.modelMs,
    stdout: '',
    stderr: '',
    leftovers: [],
    notes: [],
    tap: { cases, trailingComments: trailing, skipAll: null, valid: true, clean: false, problems: [] },
  };
}

function skipResult(name: string, reason: string): SelftestResult {
  return {
    name,
    file: 'lib/conformance',
    status: 'skip',
    reason,
    exitCode: 4, // KSFT_SKIP
    signal: null,
    timeoutSec: 0,
    durationMs: 0,
    stdout: '',
    stderr: '',
    leftovers: [],
    notes: [],
    tap: { cases: [], trailingComments: [], skipAll: reason, valid: true, clean: false, problems: [] },
  };
}

export async function conformanceCommand(opts: ConformanceOptions, io: ConformanceIo): Promise<number> {
  const cache = cacheDir(io.env);
  const log = (m: string): void => io.stderr(`conformance: ${m}\n`);
  const known = loadKnownDifferences(KNOWN_DIFFERENCES_FILE);
  const byGic = new Map<2 | 3, Scenario[]>();
  for (const g of opts.gics) byGic.set(g, selectScenarios(loadScenarios(g), opts.patterns));

  const sink = new ReportSink(opts.format, opts.junitFile, io);
  sink.begin({ seed: 0, total: opts.kernels.length * opts.gics.length, profile: opts.profile });
  const emit = (r: SelftestResult): void => sink.emit(r);
  let setupProblem: string | null = null;
  try {
    await ensureHostTools(log);
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    setupProblem = e.message;
    log(`skipping: ${e.message}`);
  }
  const totals = { steps: 0, differences: 0, known: 0 };
  for (const spec of opts.kernels) {
    let kernel: KernelImage | null = null;
    let skip = setupProblem;
    if (skip === null) {
      try {
        const k = knownKernel(spec);
        if (k) await ensureKernelSource(k, log);
        kernel = await resolveKernel(spec, cache, log);
      } catch (e) {
        if (!(e instanceof SetupError) && !(e instanceof KernelError)) throw e;
        skip = e.message;
        log(`skipping kernel ${spec}: ${e.message}`);
      }
    }
    for (const gic of opts.gics) {
      if (kernel === null) {
        emit(skipResult(`linux-${spec} gicv${gic}`, skip ?? 'kernel unavailable'));
        continue;
      }
      const profile = profileForKernel(kernel.version, opts.profile);
      log(`linux-${kernel.version} GICv${gic}: ${byGic.get(gic)!.reduce((n, s) => n + s.steps.length, 0)} steps, model profile ${profile}`);
      const o = await runPair(cache, kernel, gic, opts.kvmMode, profile, byGic.get(gic)!, known);
      if (opts.recordDir !== null && o.problem === null && !kernel.custom) {
        const file = join(opts.recordDir, `linux-${kernel.version}-gicv${gic}.txt`);
        await writeFile(file, formatRecording({ kernel: kernel.version, gic, release: o.release ?? '', kvmMode: opts.kvmMode }, byGic.get(gic)!, o.comparisons.map((c) => c.results.map((r) => r.kvm))));
        log(`recorded ${file}`);
      }
      totals.steps += o.steps;
      totals.differences += o.differences;
      totals.known += o.known;
      emit(pairResult(o, opts.kvmMode, opts.verbose));
    }
  }
  return exitStatus(await sink.end([`conformance: ${pairSummaryLine(totals)}`]));
}
