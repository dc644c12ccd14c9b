// `vgic-harness run`: find, select and shard the selftests, run them N at a time, and print
// one report whose order never depends on which test finished first.
import { randomInt } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reporterFor, type ReportFormat } from '../report/formats.ts';
import type { Reporter, RunInfo, SelftestResult, Summary } from '../report/model.ts';
import { runFailed, summarize, summaryLine } from '../report/summary.ts';
import { checkProfile, DEFAULT_TIMEOUT_SEC, parseSeed, type ReportSelection, type RunOptions } from './cli.ts';
import { parseChildTap } from './child-tap.ts';
import { discoverSelftests, type SelftestFile } from './discover.ts';
import { executeSelftest } from './execute.ts';
import { killAllTests } from './process-group.ts';
import { Progress, type ProgressStream } from './progress.ts';
import { TRACK_ENV } from './reaper.ts';
import { selectByName } from './select.ts';
import { applyShard, shardText } from './shard.ts';
import { Supervisor } from './supervisor.ts';
import { startTracking } from './tracking.ts';
import { UsageError } from './usage-error.ts';
import { verdict } from './verdict.ts';

/** The project root: children run here so `--import=tsx` resolves and paths print short. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunIo {
  stdout(text: string): void;
  /** Progress goes here only when it is a terminal. */
  stderr: ProgressStream;
  /** Whether stdout is a terminal (then the summary is not repeated on stderr). */
  stdoutIsTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** Discovery, selection, then sharding: the list a run (or --list) works through. */
export async function plannedSelftests(opts: RunOptions, cwd: string): Promise<SelftestFile[]> {
  const dir = opts.dir === null ? join(PROJECT_ROOT, 'selftests') : resolve(cwd, opts.dir);
  const all = await discoverSelftests(dir);
  return applyShard(selectByName(all, opts.patterns), opts.shard);
}

function resolveSeed(opts: RunOptions, env: NodeJS.ProcessEnv): number {
  if (opts.seed !== null) return opts.seed;
  const fromEnv = env.VGIC_SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    try {
      return parseSeed(fromEnv);
    } catch {
      throw new UsageError(`VGIC_SEED=${fromEnv} in the environment is not a valid seed (0..4294967295)`);
    }
  }
  // A fresh seed per run explores other interleavings; the header prints it for replay.
  return randomInt(0, 0x1_0000_0000);
}

function resolveProfile(opts: RunOptions, env: NodeJS.ProcessEnv): string | null {
  if (opts.profile !== null) return opts.profile;
  const fromEnv = env.VGIC_PROFILE;
  if (fromEnv === undefined || fromEnv === '') return null;
  try {
    return checkProfile(fromEnv);
  } catch (err) {
    throw new UsageError(`VGIC_PROFILE in the environment: ${(err as Error).message}`);
  }
}

/**
 * The selftests' environment. node-tap's runner variables are dropped: when the harness itself
 * runs under `tap` (its own tests do), a selftest must still print the plain TAP it prints when
 * run alone. An inherited tracking token is replaced by the test's own.
 */
export function childEnv(env: NodeJS.ProcessEnv, seed: number, profile: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k === 'TAP' || k.startsWith('TAP_') || k.startsWith('_TAPJS') || k === TRACK_ENV) continue;
    out[k] = v;
  }
  out.VGIC_SEED = String(seed);
  if (profile !== null) out.VGIC_PROFILE = profile;
  return out;
}

export function displayPath(path: string): string {
  const rel = relative(PROJECT_ROOT, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** A report written to a file at the end of the run (streaming reporters return text
 * piecewise; JUnit returns it all at the end). */
class FileSink {
  #text = '';
  constructor(
    readonly path: string,
    readonly reporter: Reporter,
  ) {}

  begin(info: RunInfo): void {
    this.#text += this.reporter.begin(info);
  }

  result(r: SelftestResult, index: number): void {
    this.#text += this.reporter.result(r, index);
  }

  async end(summary: Summary): Promise<void> {
    await writeFile(this.path, this.#text + this.reporter.end(summary));
  }
}

/** The reporters of a run or a merge: one for stdout, one per --output/--junit file. */
export interface Sinks {
  stdout: Reporter;
  files: FileSink[];
}

export async function makeSinks(sel: ReportSelection, junitFile: string | null, cwd: string): Promise<Sinks> {
  // `--format junit --junit FILE`: the XML goes to the file and stdout gets one human line per
  // selftest, so a CI log stays readable. Without --junit, `--format junit` prints the XML.
  const stdoutFormat: ReportFormat = sel.format === 'junit' && junitFile !== null ? 'human' : sel.format;
  const files: Sinks['files'] = [];
  for (const o of sel.outputs) {
    const path = resolve(cwd, o.file);
    const st = await stat(dirname(path)).catch(() => null);
    const opt = o.format === 'junit' && o.file === junitFile ? '--junit' : '--output';
    if (st === null || !st.isDirectory()) throw new UsageError(`${opt} ${o.file}: directory ${dirname(path)} does not exist`);
    files.push(new FileSink(path, reporterFor(o.format, sel.naming)));
  }
  return { stdout: reporterFor(stdoutFormat, sel.naming), files };
}

/** Print a whole report from results already known (a merge), to stdout and the files. */
export async function writeReports(out: Sinks, info: RunInfo, results: readonly SelftestResult[], summary: Summary, print: (t: string) => void): Promise<void> {
  print(out.stdout.begin(info));
  for (const f of out.files) f.begin(info);
  results.forEach((r, i) => {
    print(out.stdout.result(r, i + 1));
    for (const f of out.files) f.result(r, i + 1);
  });
  print(out.stdout.end(summary));
  await finishFiles(out, summary);
}

async function finishFiles(out: Sinks, summary: Summary): Promise<void> {
  for (const f of out.files) await f.end(summary);
}

/** Result for a selftest never started because the run was interrupted. */
function notRun(t: SelftestFile, timeoutSec: number): SelftestResult {
  return {
    name: t.name,
    file: displayPath(t.path),
    status: 'skip',
    reason: 'not run: the run was interrupted',
    exitCode: null,
    signal: null,
    timeoutSec,
    durationMs: 0,
    stdout: '',
    stderr: '',
    tap: { cases: [], trailingComments: [], skipAll: null, valid: true, clean: true, problems: [] },
    leftovers: [],
    notes: [],
  };
}

/** --timeout, else the selftest's own directive line, else its directory's settings file
 * (kselftest's order: override, settings, default), else kselftest's 45 s. */
export function timeoutOf(t: SelftestFile, override: number | null): number {
  return override ?? t.timeoutSec ?? t.settingsTimeoutSec ?? DEFAULT_TIMEOUT_SEC;
}

export async function runCommand(opts: RunOptions, io: RunIo, cwd: string = process.cwd()): Promise<number> {
  const tests = await plannedSelftests(opts, cwd);
  if (opts.list) {
    io.stdout(tests.map((t) => `${t.name}\n`).join(''));
    return 0;
  }
  const seed = resolveSeed(opts, io.env);
  const profile = resolveProfile(opts, io.env);
  const out = await makeSinks(opts, opts.junitFile, cwd);
  const jobs = opts.jobs ?? availableParallelism();
  const env = childEnv(io.env, seed, profile);
  const tracking = startTracking(io.env);
  for (const note of tracking.stale) io.stderr.write(`vgic-harness: ${note}\n`);
  const supervisor = Supervisor.start();
  const info: RunInfo = {
    seed,
    total: tests.length,
    shard: opts.shard === null ? null : shardText(opts.shard),
    profile,
    timeoutOverrideSec: opts.timeoutSec,
    startedAt: new Date(),
    tracking: tracking.description,
  };
  const progress = new Progress(io.stderr, tests.length);
  const print = (text: string): void => {
    if (text === '') return;
    progress.clear();
    io.stdout(text);
  };
  print(out.stdout.begin(info));
  for (const f of out.files) f.begin(info);

  // Interrupt: stop starting tests, kill the running ones, and still finish the document.
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted !== null) {
      // A second Ctrl-C means "now": the exit hook kills what is left.
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    interrupted = sig;
    killAllTests();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: (SelftestResult | undefined)[] = new Array<SelftestResult | undefined>(tests.length);
  let next = 0;
  let printed = 0;
  const flush = (): void => {
    // Print in name order: a result waits for every selftest sorted before it.
    for (let r = results[printed]; r !== undefined; r = results[printed]) {
      printed++;
      print(out.stdout.result(r, printed));
      for (const f of out.files) f.result(r, printed);
    }
  };
  const runOne = async (t: SelftestFile, index: number): Promise<SelftestResult> => {
    const timeoutSec = timeoutOf(t, opts.timeoutSec);
    const file = displayPath(t.path);
    const raw = await executeSelftest(file, {
      cwd: PROJECT_ROOT,
      env,
      timeoutMs: timeoutSec * 1000,
      tracker: tracking.forTest(index, t.name),
      reaper: tracking.reaper,
      supervisor,
      name: t.name,
    });
    if (interrupted !== null && !raw.timedOut) raw.error ??= `interrupted by ${interrupted}`;
    return { ...verdict({ name: t.name, file, timeoutSec, raw, tap: await parseChildTap(raw.stdout) }), seed };
  };
  const worker = async (): Promise<void> => {
    while (next < tests.length) {
      const i = next++;
      const t = tests[i] as SelftestFile;
      if (interrupted !== null) {
        results[i] = notRun(t, timeoutOf(t, opts.timeoutSec));
      } else {
        progress.started(t.name);
        results[i] = await runOne(t, i + 1);
        progress.finished(t.name);
      }
      flush();
    }
  };
  const started = Date.now();
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, tests.length) }, worker));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.stop();
    supervisor?.stop();
    tracking.close();
  }
  const summary = summarize(results.filter((r): r is SelftestResult => r !== undefined), Date.now() - started);
  print(out.stdout.end(summary));
  await finishFiles(out, summary);
  // Someone watching a terminal while the report goes to a file still sees the outcome.
  if (io.stderr.isTTY === true && !io.stdoutIsTTY) io.stderr.write(`${summaryLine(summary)}\n`);
  if (interrupted !== null) return interrupted === 'SIGINT' ? 130 : 143;
  return runFailed(summary) ? 1 : 0;
}
