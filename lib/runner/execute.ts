// Running one selftest as a child process, as kselftest's run_one does under `timeout`:
// node --import=tsx FILE, stdout and stderr captured, a time limit, and nothing left running
// afterwards. node:child_process rather than execa: the runner must stop reading a pipe that a
// leftover process still holds after the test exited, which needs the raw streams.
import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { trackTest, untrackTest } from './process-group.ts';
import type { Reaper, TrackedProcess, TrackSpec } from './reaper.ts';
import type { Supervisor } from './supervisor.ts';
import type { TestTracker } from './tracking.ts';

export interface ExecOptions {
  /** Working directory: the project root, where `--import=tsx` resolves and paths are relative to. */
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  tracker: TestTracker;
  reaper: Reaper;
  supervisor: Supervisor | null;
  /** The selftest's name, for the supervisor's messages. */
  name: string;
}

export interface RawRun {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Why the process could not be run or was stopped by the runner (other than the timeout). */
  error: string | null;
  /** Processes the test left running after it exited (then killed): `pid command`. */
  leftovers: string[];
  /** How the run went, where the reports should say so. */
  notes: string[];
}

/** Time between SIGTERM and SIGKILL at a timeout (GNU timeout's -k). */
const KILL_GRACE_MS = 1000;
/** How long to keep reading after the test exited: a process it left may hold the pipes. */
const DRAIN_MS = 1000;
/**
 * How long a process still running when the selftest exits may take to end by itself before it
 * counts as left behind. tsx's esbuild service (started when a file is not in tsx's cache) ends
 * when its pipe from node closes, a few milliseconds after node: without this moment it was
 * reported, now and then, as a leftover of whichever test compiled something.
 */
export const LEFTOVER_GRACE_MS = 1000;
const LEFTOVER_POLL_MS = 20;
/** Output beyond this many bytes per stream ends the test (a runaway loop printing forever). */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Why Node cannot import this file at all, if it cannot: its ESM loader refuses a file URL with
 * an encoded '/' or '\' (ERR_INVALID_MODULE_SPECIFIER), which a '\' in a Linux file name gives.
 */
export function importProblem(file: string, cwd: string): string | null {
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  if (/%2f|%5c/i.test(pathToFileURL(path).pathname)) {
    return `Node cannot import ${JSON.stringify(file)}: a '\\' in a file name makes an invalid module URL (ERR_INVALID_MODULE_SPECIFIER); rename the file`;
  }
  return null;
}

class Capture {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  overflow = false;

  constructor(readonly limit: number) {}

  add(chunk: Buffer): boolean {
    if (this.overflow) return false;
    const room = this.limit - this.bytes;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.bytes = this.limit;
      this.overflow = true;
      return false;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    return true;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function couldNotRun(started: number, why: string, notes: string[]): RawRun {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    stdout: '',
    stderr: '',
    durationMs: performance.now() - started,
    error: `could not run the selftest: ${why}`,
    leftovers: [],
    notes,
  };
}

export async function executeSelftest(file: string, opts: ExecOptions): Promise<RawRun> {
  const started = performance.now();
  const { tracker, reaper, supervisor } = opts;
  const spec = tracker.spec;
  const notes: string[] = [];
  const problem = importProblem(file, opts.cwd);
  if (problem !== null) return couldNotRun(started, problem, tracker.dispose());
  // Tracked before it exists: the cgroup and the token are known now, so a runner killed right
  // after the spawn still leaves the supervisor enough to clean up.
  const supervisorId = `${spec.token}`;
  supervisor?.track(supervisorId, opts.name, spec);
  const argv = tracker.wrap([process.execPath, '--import=tsx', file]);
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: opts.cwd,
    env: { ...opts.env, ...tracker.env },
    // A new session and process group (setsid): the timeout kills the test's children too, and
    // an interrupt typed at the terminal reaches only the runner, which then cleans up.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) {
    spec.pgid = child.pid;
    supervisor?.track(supervisorId, opts.name, spec);
  }
  const liveId = trackTest(() => void reaper.killAll(spec));
  const out = new Capture(MAX_OUTPUT_BYTES);
  const err = new Capture(MAX_OUTPUT_BYTES);
  let timedOut = false;
  let overflow = false;
  let exited = false;
  let exitCode: number | null = null;
  let signal: string | null = null;
  let spawnError: Error | null = null;
  const leftovers: string[] = [];
  const timers: NodeJS.Timeout[] = [];
  const later = (ms: number, fn: () => void): void => void timers.push(setTimeout(fn, ms));

  let finished = false;
  // Settles once the processes still running at the exit have been given their moment, counted
  // and killed; the run waits for it even when the pipes closed first.
  let afterExit: Promise<void> = Promise.resolve();
  const result = await new Promise<'closed' | 'cut'>((done) => {
    const finish = (how: 'closed' | 'cut'): void => {
      if (finished) return;
      finished = true;
      done(how);
    };
    const stopReading = (why: string): void => {
      if (finished) return;
      notes.push(why);
      child.stdout?.destroy();
      child.stderr?.destroy();
      finish('cut');
    };
    const onData = (cap: Capture) => (chunk: Buffer) => {
      if (!cap.add(chunk) && !overflow) {
        overflow = true;
        reaper.killAll(spec);
      }
    };
    child.stdout?.on('data', onData(out));
    child.stderr?.on('data', onData(err));
    child.on('error', (e) => {
      spawnError = e;
      if (child.pid === undefined) finish('closed');
    });
    child.on('close', () => finish('closed'));
    child.on('exit', (code, sig) => {
      exited = true;
      exitCode = code;
      signal = sig;
      afterExit = (async () => {
        // What is still running LEFTOVER_GRACE_MS after the exit was left behind by the test
        // (or, at a timeout, is being killed with it). Either way it goes; only the first case
        // is the test's fault.
        const found = timedOut ? [] : await stillRunning(reaper, spec);
        if (!timedOut) leftovers.push(...found.map((p) => `${p.pid} ${p.command}`));
        reaper.killAll(spec);
        if (finished) return;
        // Stop waiting for output shortly after the exit, or at the timeout, whichever is first:
        // a process outside the tracking could still hold the pipes.
        const untilTimeout = opts.timeoutMs - (performance.now() - started);
        later(Math.max(0, Math.min(DRAIN_MS, untilTimeout)), () =>
          stopReading(`stopped reading output ${Math.round(Math.min(DRAIN_MS, Math.max(0, untilTimeout)))} ms after the selftest exited: a process it started still held its stdout or stderr`),
        );
      })();
    });
    later(opts.timeoutMs, () => {
      if (exited) return;
      timedOut = true;
      reaper.signal(spec, 'SIGTERM');
      // A test may ignore SIGTERM (the hang fixture does): escalate like `timeout -k`.
      later(KILL_GRACE_MS, () => {
        reaper.killAll(spec);
        // Even a process that cannot be killed (uninterruptible sleep) must not hold the run.
        later(DRAIN_MS, () => stopReading('stopped reading output: the selftest did not end after SIGKILL'));
      });
    });
  });
  await afterExit;
  for (const t of timers) clearTimeout(t);
  // Anything started between the exit and the pipes closing goes too.
  const late = reaper.killAll(spec);
  if (!timedOut && late.length > 0) leftovers.push(...late.map((p) => `${p.pid} ${p.command}`).filter((l) => !leftovers.includes(l)));
  untrackTest(liveId);
  supervisor?.untrack(supervisorId);
  notes.push(...tracker.dispose());
  if (result === 'cut' && !exited) notes.push('the selftest process did not report its exit');
  const failedSpawn = spawnError as Error | null;
  if (child.pid === undefined || (failedSpawn !== null && !exited)) {
    return couldNotRun(started, failedSpawn?.message ?? 'spawn failed', notes);
  }
  return {
    exitCode,
    signal,
    timedOut,
    stdout: out.text(),
    stderr: err.text(),
    durationMs: performance.now() - started,
    error: overflow ? `output exceeded ${MAX_OUTPUT_BYTES} bytes; the selftest was stopped` : null,
    leftovers,
    notes,
  };
}

/** The tracked processes still running after LEFTOVER_GRACE_MS, or as soon as there are none. */
async function stillRunning(reaper: Reaper, spec: TrackSpec): Promise<TrackedProcess[]> {
  const until = performance.now() + LEFTOVER_GRACE_MS;
  for (;;) {
    const found = reaper.members(spec);
    if (found.length === 0 || performance.now() >= until) return found;
    await new Promise((wake) => setTimeout(wake, LEFTOVER_POLL_MS));
  }
}
