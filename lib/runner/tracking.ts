// How a run keeps track of every process its selftests start (see reaper.ts for how they are
// found and killed). cgroup v2 when the runner may create cgroups below its own and move a
// process into one (root on most machines, or a delegated cgroup); otherwise a /proc sweep by
// environment token and process group. VGIC_HARNESS_TRACKING=proc|cgroup forces one.
//
// Leftovers of an earlier run whose runner died without cleaning up (SIGKILL, OOM killer, CI
// cancel, and its supervisor killed too) are found and killed when the next run of the same
// scope starts: its cgroups (named after the scope and the runner's pid and start time) and
// processes carrying its token. The scope is VGIC_HARNESS_SCOPE (default `default`), so that
// jobs sharing a machine can keep their cleanups apart.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { makeReaper, TRACK_ENV, type Reaper, type TrackedProcess, type TrackSpec } from './reaper.ts';
import { UsageError } from './usage-error.ts';

export interface TestTracker {
  spec: TrackSpec;
  /** The argv that starts `argv` inside the test's cgroup (unchanged without cgroups). */
  wrap(argv: string[]): string[];
  /** Variables to add to the test's environment. */
  env: Record<string, string>;
  /** Remove the test's cgroup (after its processes are gone); returns problems, if any. */
  dispose(): string[];
}

export interface RunTracking {
  mode: 'cgroup' | 'proc';
  /** For the report header. */
  description: string;
  reaper: Reaper;
  /** What was found and killed of earlier runs at the start of this one. */
  stale: string[];
  forTest(index: number, name: string): TestTracker;
  close(): void;
}

const PREFIX = 'vgic-harness.';

/** Runs started by this process so far: one process may run several at once (the tests do). */
let runsInThisProcess = 0;

function readText(path: string): string | null {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The start time of a process (clock ticks since boot), which tells a pid's reuse apart. */
export function processStartTime(pid: number | 'self'): string | null {
  const s = readText(`/proc/${pid}/stat`);
  if (s === null) return null;
  return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

/** The directory of this process's own cgroup in a mounted cgroup v2 hierarchy, if any. */
export function ownCgroupDir(): string | null {
  const own = (readText('/proc/self/cgroup') ?? '').split('\n').find((l) => l.startsWith('0::'));
  if (own === undefined) return null;
  const path = own.slice(3);
  for (const line of (readText('/proc/self/mountinfo') ?? '').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post === undefined || !post.startsWith('cgroup2 ')) continue;
    const f = (pre ?? '').split(' ');
    const root = f[3] ?? '/';
    const mountPoint = (f[4] ?? '').replace(/\\040/g, ' ');
    if (root !== '/' && path !== root && !path.startsWith(`${root}/`)) continue;
    const dir = join(mountPoint, root === '/' ? path : path.slice(root.length));
    if (fs.existsSync(join(dir, 'cgroup.procs'))) return dir;
  }
  return null;
}

function runnerAlive(pid: number, start: string): boolean {
  return processStartTime(pid) === start;
}

function describe(found: TrackedProcess[]): string {
  return found.map((p) => `${p.pid} ${p.command}`).join('; ');
}

/** Remove a cgroup directory and the cgroups under it, once they are empty. */
function removeCgroup(dir: string): string | null {
  const deadline = Date.now() + 1000;
  for (;;) {
    try {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(join(dir, e.name));
      fs.rmdirSync(dir);
      return null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      // EBUSY while the last killed processes are still exiting.
      if (Date.now() > deadline) return `could not remove cgroup ${dir}: ${(err as Error).message}`;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** Kill what earlier, dead runs of this scope left behind: their cgroups under `base`, and
 * their tokens. */
function cleanStale(reaper: Reaper, base: string | null, scope: string): string[] {
  const notes: string[] = [];
  if (base !== null) {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(base).filter((e) => e.startsWith(`${PREFIX}${scope}.`));
    } catch {
      entries = [];
    }
    for (const e of entries) {
      const m = /^vgic-harness\.[\w-]+\.(\d+)-(\d+)-\d+$/.exec(e);
      if (m === null || runnerAlive(Number(m[1]), m[2] as string)) continue;
      const dir = join(base, e);
      const found = reaper.killAll({ pgid: null, cgroup: dir, token: '' });
      if (found.length > 0) notes.push(`killed ${found.length} process(es) left by run ${m[1]}, which did not finish: ${describe(found)}`);
      const problem = removeCgroup(dir);
      if (problem !== null) notes.push(problem);
    }
  }
  // Tokens are `<scope>.<runner pid>-<runner start time>-<run>.<test index>`.
  const needle = Buffer.from(`${TRACK_ENV}=${scope}.`);
  const dead = new Set<string>();
  let pids: string[] = [];
  try {
    pids = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    pids = [];
  }
  for (const e of pids) {
    let env: Buffer;
    try {
      env = fs.readFileSync(`/proc/${e}/environ`);
    } catch {
      continue;
    }
    const at = env.indexOf(needle);
    if (at < 0 || (at > 0 && env[at - 1] !== 0)) continue;
    const end = env.indexOf(0, at);
    const token = env.subarray(at + TRACK_ENV.length + 1, end < 0 ? env.length : end).toString();
    const m = /^[\w-]+\.(\d+)-(\d+)-\d+\.\d+$/.exec(token);
    if (m === null || runnerAlive(Number(m[1]), m[2] as string)) continue;
    dead.add(token);
  }
  for (const token of dead) {
    const found = reaper.killAll({ pgid: null, cgroup: null, token });
    if (found.length > 0) notes.push(`killed ${found.length} process(es) left by an earlier run that did not finish (${TRACK_ENV}=${token}): ${describe(found)}`);
  }
  return notes;
}

/** Whether a process can be moved into a cgroup below `runDir` (delegation rules allow it). */
function canJoin(runDir: string): boolean {
  const probe = join(runDir, 'probe');
  try {
    fs.mkdirSync(probe);
    const r = spawnSync('/bin/sh', ['-c', 'echo $$ > "$0"', join(probe, 'cgroup.procs')], { stdio: 'ignore', timeout: 5000 });
    return r.status === 0;
  } catch {
    return false;
  } finally {
    removeCgroup(probe);
  }
}

export function startTracking(env: NodeJS.ProcessEnv): RunTracking {
  const reaper = makeReaper(fs, process);
  const wanted = env.VGIC_HARNESS_TRACKING ?? 'auto';
  if (wanted !== 'auto' && wanted !== 'cgroup' && wanted !== 'proc') {
    throw new UsageError(`VGIC_HARNESS_TRACKING=${wanted}: use auto, cgroup or proc`);
  }
  const scope = env.VGIC_HARNESS_SCOPE ?? 'default';
  if (!/^[\w-]{1,40}$/.test(scope)) throw new UsageError(`VGIC_HARNESS_SCOPE=${scope}: use 1 to 40 letters, digits, '_' or '-'`);
  const base = ownCgroupDir();
  const stale = cleanStale(reaper, base, scope);
  // Unique per run, and it names the runner (pid and start time) so a later run can tell
  // whether it is still alive.
  const runToken = `${scope}.${process.pid}-${processStartTime('self') ?? '0'}-${++runsInThisProcess}`;
  let runDir: string | null = null;
  let whyNot = wanted === 'proc' ? 'not used: VGIC_HARNESS_TRACKING=proc' : 'no cgroup v2 hierarchy is mounted';
  if (wanted !== 'proc' && base !== null) {
    const dir = join(base, `${PREFIX}${runToken}`);
    try {
      fs.mkdirSync(dir);
      if (canJoin(dir)) runDir = dir;
      else {
        whyNot = `a process cannot be moved into a cgroup under ${base}`;
        removeCgroup(dir);
      }
    } catch (err) {
      whyNot = `cannot create a cgroup under ${base}: ${(err as Error).message}`;
    }
  }
  if (wanted === 'cgroup' && runDir === null) throw new UsageError(`VGIC_HARNESS_TRACKING=cgroup, but ${whyNot}`);
  const mode = runDir === null ? 'proc' : 'cgroup';
  return {
    mode,
    description: runDir === null ? `/proc sweep by ${TRACK_ENV} and process group (cgroup v2: ${whyNot})` : `cgroup v2 (${runDir})`,
    reaper,
    stale,
    forTest(index: number, name: string): TestTracker {
      const token = `${runToken}.${index}`;
      let cgroup: string | null = null;
      const problems: string[] = [];
      if (runDir !== null) {
        const dir = join(runDir, `${index}-${name.replace(/[^\w.-]/g, '_').slice(0, 60)}`);
        try {
          fs.mkdirSync(dir);
          cgroup = dir;
        } catch (err) {
          problems.push(`no cgroup for this test (${(err as Error).message}); tracked by /proc sweep`);
        }
      }
      const procs = cgroup === null ? null : join(cgroup, 'cgroup.procs');
      return {
        spec: { pgid: null, cgroup, token },
        // The shell joins the cgroup and then becomes the test (exec keeps the pid), so not even
        // the test's first instruction runs outside it.
        wrap: (argv) => (procs === null ? argv : ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', procs, ...argv]),
        env: { [TRACK_ENV]: token },
        dispose(): string[] {
          if (cgroup === null) return problems;
          const p = removeCgroup(cgroup);
          return p === null ? problems : [...problems, p];
        },
      };
    },
    close(): void {
      if (runDir !== null) removeCgroup(runDir);
    },
  };
}
