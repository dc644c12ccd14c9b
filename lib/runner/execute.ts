// Running one selftest as a child process, as kselftest's run_one does under
// `timeout`: node --import=tsx FILE, stdout and stderr captured, a time limit, and nothing
// left running afterwards.
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { signalGroup, trackGroup, untrackGroup } from './process-group.ts';

export interface ExecOptions {
  /** Working directory: the project root, where `--import=tsx` resolves and paths are relative to. */
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL at a timeout (GNU timeout's -k). */
  killGraceMs: number;
  /** Output beyond this many bytes per stream ends the test (a runaway loop printing forever). */
  maxBuffer: number;
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
}

export const KILL_GRACE_MS = 1000;
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export async function executeSelftest(file: string, opts: ExecOptions): Promise<RawRun> {
  const started = performance.now();
  const sub = execa(process.execPath, ['--import=tsx', file], {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: false,
    // A new process group (setsid-like): the timeout kills the test's children too, and an
    // interrupt typed at the terminal reaches only the runner, which then cleans up.
    detached: true,
    stdin: 'ignore',
    reject: false,
    stripFinalNewline: false,
    maxBuffer: opts.maxBuffer,
    encoding: 'utf8',
  });
  const pgid = sub.pid;
  let timedOut = false;
  let grace: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (pgid !== undefined) {
    trackGroup(pgid);
    timer = setTimeout(() => {
      timedOut = true;
      signalGroup(pgid, 'SIGTERM');
      // A test may ignore SIGTERM (the hang fixture does): escalate like `timeout -k`.
      grace = setTimeout(() => signalGroup(pgid, 'SIGKILL'), opts.killGraceMs);
    }, opts.timeoutMs);
    // When the test itself exits, whatever it left behind in its group goes too; otherwise a
    // grandchild holding the stdout pipe would keep the run waiting until the timeout.
    sub.once('exit', () => {
      clearTimeout(timer);
      clearTimeout(grace);
      signalGroup(pgid, 'SIGKILL');
    });
  }
  const res = await sub;
  clearTimeout(timer);
  clearTimeout(grace);
  if (pgid !== undefined) {
    signalGroup(pgid, 'SIGKILL');
    untrackGroup(pgid);
  }
  let error: string | null = null;
  if (pgid === undefined || (res.failed && res.exitCode === undefined && res.signal === undefined && !timedOut)) {
    // spawn itself failed (missing cwd, no such executable): there is no exit status.
    error = `could not run the selftest: ${res.shortMessage}`;
  } else if (res.isMaxBuffer) {
    error = `output exceeded ${opts.maxBuffer} bytes; the selftest was stopped`;
  }
  return {
    exitCode: res.exitCode ?? null,
    signal: res.signal ?? null,
    timedOut,
    stdout: text(res.stdout),
    stderr: text(res.stderr),
    durationMs: performance.now() - started,
    error,
  };
}
