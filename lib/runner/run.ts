// `vgic-harness run`: find, select and shard the selftests, run them N at a time, and print
// one report whose order never depends on which test finished first.
import { randomInt } from 'node:crypto';
import { writeFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reporterFor, type ReportFormat } from '../report/formats.ts';
import type { Reporter, RunInfo, SelftestResult } from '../report/model.ts';
import { runFailed, summarize, summaryLine } from '../report/summary.ts';
import { checkProfile, DEFAULT_TIMEOUT_SEC, parseSeed, type RunOptions } from './cli.ts';
import { parseChildTap } from './child-tap.ts';
import { discoverSelftests, type SelftestFile } from './discover.ts';
import { executeSelftest, KILL_GRACE_MS, MAX_OUTPUT_BYTES } from './execute.ts';
import { killAllGroups } from './process-group.ts';
import { Progress, type ProgressStream } from './progress.ts';
import { selectByName } from './select.ts';
import { applyShard, shardText } from './shard.ts';
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
 * run alone, not the output node-tap produces for a runner it thinks is its parent.
 */
export function childEnv(env: NodeJS.ProcessEnv, seed: number, profile: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k === 'TAP' || k.startsWith('TAP_') || k.startsWith('_TAPJS')) continue;
    out[k] = v;
  }
  out.VGIC_SEED = String(seed);
  if (profile !== null) out.VGIC_PROFILE = profile;
  return out;
}

async function checkJunitTarget(file: string): Promise<void> {
  const dir = dirname(file);
  const st = await stat(dir).catch(() => null);
  if (st === null || !st.isDirectory()) throw new UsageError(`--junit ${file}: directory ${dir} does not exist`);
}

function displayPath(path: string): string {
  const rel = relative(PROJECT_ROOT, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

interface Sinks {
  /** Writes to stdout. */
  stdout: Reporter;
  /** Collects the JUnit document for --junit FILE. */
  junitFile: Reporter | null;
}

function sinks(opts: RunOptions): Sinks {
  // `--format junit --junit FILE`: the XML goes to the file and stdout gets one human line per
  // selftest, so a CI log stays readable. Without --junit, `--format junit` prints the XML.
  const stdoutFormat: ReportFormat = opts.format === 'junit' && opts.junitFile !== null ? 'human' : opts.format;
  return { stdout: reporterFor(stdoutFormat), junitFile: opts.junitFile === null ? null : reporterFor('junit') };
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
  };
}

export async function runCommand(opts: RunOptions, io: RunIo, cwd: string = process.cwd()): Promise<number> {
  const tests = await plannedSelftests(opts, cwd);
  if (opts.list) {
    io.stdout(tests.map((t) => `${t.name}\n`).join(''));
    return 0;
  }
  const seed = resolveSeed(opts, io.env);
  const profile = resolveProfile(opts, io.env);
  const junitPath = opts.junitFile === null ? null : resolve(cwd, opts.junitFile);
  if (junitPath !== null) await checkJunitTarget(junitPath);
  const jobs = opts.jobs ?? availableParallelism();
  const env = childEnv(io.env, seed, profile);
  const info: RunInfo = {
    seed,
    total: tests.length,
    shard: opts.shard === null ? null : shardText(opts.shard),
    profile,
    timeoutOverrideSec: opts.timeoutSec,
    startedAt: new Date(),
  };
  const out = sinks(opts);
  const progress = new Progress(io.stderr, tests.length);
  const print = (text: string): void => {
    if (text === '') return;
    progress.clear();
    io.stdout(text);
  };
  print(out.stdout.begin(info));
  out.junitFile?.begin(info);

  // Interrupt: stop starting tests, kill the running ones, and still finish the document.
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted !== null) {
      // A second Ctrl-C means "now": the exit hook kills what is left.
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    interrupted = sig;
    killAllGroups();
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
      out.junitFile?.result(r, printed);
    }
  };
  const timeoutOf = (t: SelftestFile): number => opts.timeoutSec ?? t.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
  const runOne = async (t: SelftestFile): Promise<SelftestResult> => {
    const timeoutSec = timeoutOf(t);
    const file = displayPath(t.path);
    const raw = await executeSelftest(file, {
      cwd: PROJECT_ROOT,
      env,
      timeoutMs: timeoutSec * 1000,
      killGraceMs: KILL_GRACE_MS,
      maxBuffer: MAX_OUTPUT_BYTES,
    });
    if (interrupted !== null && !raw.timedOut) raw.error ??= `interrupted by ${interrupted}`;
    return verdict({ name: t.name, file, timeoutSec, raw, tap: await parseChildTap(raw.stdout) });
  };
  const worker = async (): Promise<void> => {
    while (next < tests.length) {
      const i = next++;
      const t = tests[i] as SelftestFile;
      if (interrupted !== null) {
        results[i] = notRun(t, timeoutOf(t));
      } else {
        progress.started(t.name);
        results[i] = await runOne(t);
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
  }
  const summary = summarize(results.filter((r): r is SelftestResult => r !== undefined), Date.now() - started);
  print(out.stdout.end(summary));
  if (out.junitFile !== null && junitPath !== null) {
    await writeFile(junitPath, out.junitFile.end(summary));
  }
  // Someone watching a terminal while the report goes to a file still sees the outcome.
  if (io.stderr.isTTY === true && !io.stdoutIsTTY) io.stderr.write(`${summaryLine(summary)}\n`);
  if (interrupted !== null) return interrupted === 'SIGINT' ? 130 : 143;
  return runFailed(summary) ? 1 : 0;
}
