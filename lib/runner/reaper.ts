// Finding and killing every process a selftest started, however it tried to get away: a new
// process group or session (setsid), a double fork, a parent that exited. Two ways to find them:
//  - cgroup v2: the test was started inside its own cgroup, and everything it starts stays there
//    (leaving needs write access to another cgroup's cgroup.procs). cgroup.kill (Linux 5.14)
//    kills the whole cgroup at once, forks in flight included;
//  - a /proc sweep: every process whose environment carries the test's VGIC_HARNESS_TRACK token
//    (inherited through fork, exec and setsid; lost only if a process clears its environment),
//    plus every process still in the test's process group.
//
// makeReaper() is self-contained (no imports, no outer names) because the supervisor runs the
// same code in a plain `node -e` process (see supervisor.ts): everything it needs comes in as
// parameters.

export interface TrackSpec {
  /** The test's process group (its pid: the runner starts it with setsid). */
  pgid: number | null;
  /** The test's cgroup directory, when cgroup tracking is on. */
  cgroup: string | null;
  /** The VGIC_HARNESS_TRACK value in the test's environment. */
  token: string;
}

export interface TrackedProcess {
  pid: number;
  /** The command line, shortened. */
  command: string;
}

export interface Reaper {
  /** Live processes belonging to the test (zombies excluded: they run nothing). */
  members(spec: TrackSpec): TrackedProcess[];
  /** Send `signal` to every member; returns how many there were. */
  signal(spec: TrackSpec, signal: 'SIGTERM' | 'SIGKILL'): number;
  /** SIGKILL every member until none is left (bounded: about 1 s); returns the ones seen. */
  killAll(spec: TrackSpec): TrackedProcess[];
  /** Remove the test's cgroup and, once it is empty, the run's cgroup above it (best effort:
   * the supervisor's last act, when the runner could not do it). */
  removeCgroups(spec: TrackSpec): void;
}

export const TRACK_ENV = 'VGIC_HARNESS_TRACK';

export function makeReaper(fs: typeof import('node:fs'), proc: NodeJS.Process): Reaper {
  const envName = 'VGIC_HARNESS_TRACK';
  const sleepCell = new Int32Array(new SharedArrayBuffer(4));
  const sleep = (ms: number): void => {
    Atomics.wait(sleepCell, 0, 0, ms);
  };
  const read = (path: string): string | null => {
    try {
      return fs.readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  };
  /** State and process group from /proc/PID/stat (the command name may contain spaces). */
  const stat = (pid: number): { state: string; pgrp: number } | null => {
    const s = read(`/proc/${pid}/stat`);
    if (s === null) return null;
    const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', pgrp: Number(fields[2]) };
  };
  const command = (pid: number): string => {
    const c = (read(`/proc/${pid}/cmdline`) ?? '').replace(/\0+$/, '').replace(/\0/g, ' ');
    return c.length > 120 ? `${c.slice(0, 117)}...` : c || '?';
  };
  const running = (pid: number): boolean => {
    const st = stat(pid);
    return st !== null && st.state !== 'Z' && st.state !== 'X';
  };
  const hasToken = (pid: number, needle: Buffer): boolean => {
    let env: Buffer;
    try {
      env = fs.readFileSync(`/proc/${pid}/environ`);
    } catch {
      return false;
    }
    const at = env.indexOf(needle);
    return at === 0 || (at > 0 && env[at - 1] === 0);
  };
  const cgroupPids = (dir: string): number[] => {
    const out: number[] = [];
    const procs = read(`${dir}/cgroup.procs`);
    if (procs === null) return out;
    for (const l of procs.split('\n')) if (/^\d+$/.test(l)) out.push(Number(l));
    let entries: import('node:fs').Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return out;
    }
    for (const e of entries) if (e.isDirectory()) out.push(...cgroupPids(`${dir}/${e.name}`));
    return out;
  };
  const members = (spec: TrackSpec): TrackedProcess[] => {
    const pids = new Set<number>();
    if (spec.cgroup !== null) {
      for (const pid of cgroupPids(spec.cgroup)) pids.add(pid);
    } else {
      const needle = Buffer.from(`${envName}=${spec.token}\0`);
      let entries: string[] = [];
      try {
        entries = fs.readdirSync('/proc');
      } catch {
        entries = [];
      }
      for (const e of entries) {
        if (!/^\d+$/.test(e)) continue;
        const pid = Number(e);
        if (pid === proc.pid) continue;
        const st = stat(pid);
        if (st === null) continue;
        if ((spec.pgid !== null && st.pgrp === spec.pgid) || hasToken(pid, needle)) pids.add(pid);
      }
    }
    const out: TrackedProcess[] = [];
    for (const pid of [...pids].sort((a, b) => a - b)) {
      if (pid !== proc.pid && running(pid)) out.push({ pid, command: command(pid) });
    }
    return out;
  };
  const kill = (pid: number, sig: 'SIGTERM' | 'SIGKILL'): void => {
    try {
      proc.kill(pid, sig);
    } catch {
      // Gone already (ESRCH), or no longer ours.
    }
  };
  const signal = (spec: TrackSpec, sig: 'SIGTERM' | 'SIGKILL'): number => {
    if (spec.pgid !== null) kill(-spec.pgid, sig);
    const found = members(spec);
    for (const p of found) kill(p.pid, sig);
    return found.length;
  };
  const killAll = (spec: TrackSpec): TrackedProcess[] => {
    const seen = new Map<number, TrackedProcess>();
    for (let round = 0; round < 100; round++) {
      const left = members(spec);
      if (left.length === 0) break;
      for (const p of left) if (!seen.has(p.pid)) seen.set(p.pid, p);
      if (spec.cgroup !== null) {
        try {
          // Kills every process in the cgroup and its children, including ones forking right now.
          fs.writeFileSync(`${spec.cgroup}/cgroup.kill`, '1');
        } catch {
          // Before Linux 5.14 there is no cgroup.kill: kill them one by one.
        }
      }
      if (spec.pgid !== null) kill(-spec.pgid, 'SIGKILL');
      for (const p of left) kill(p.pid, 'SIGKILL');
      sleep(round < 10 ? 2 : 10);
    }
    return [...seen.values()];
  };
  const removeCgroups = (spec: TrackSpec): void => {
    if (spec.cgroup === null) return;
    const run = spec.cgroup.slice(0, spec.cgroup.lastIndexOf('/'));
    for (const dir of [spec.cgroup, run]) {
      // EBUSY while the last killed processes are still exiting.
      for (let i = 0; i < 50; i++) {
        try {
          fs.rmdirSync(dir);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EBUSY') break;
          sleep(10);
        }
      }
    }
  };
  return { members, signal, killAll, removeCgroups };
}
