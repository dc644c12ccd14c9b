// The watchdog that cleans up when the runner itself dies without a chance to (SIGKILL of the
// runner's process group on a CI cancel, the OOM killer). It is a small plain-Node process in
// its own session, so a signal to the runner's process group does not reach it. The runner
// tells it over a pipe which tests are running; the pipe closing without a goodbye means the
// runner is gone, and the supervisor then kills every process of every test still listed and
// says so on the runner's stderr.
//
// What this cannot cover: SIGKILL of the supervisor itself at the same moment (`kill -9 -1`, a
// killed container or cgroup, where everything dies anyway). Then the next run cleans up (see
// tracking.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { makeReaper, type Reaper, type TrackSpec } from './reaper.ts';

type Message = { op: 'track'; id: string; name: string; spec: TrackSpec } | { op: 'untrack'; id: string } | { op: 'bye' };

/** The supervisor's main loop. Self-contained, like makeReaper: it runs in `node -e`. */
export function supervise(reaper: Reaper, proc: NodeJS.Process, runnerPid: number): void {
  const tracked = new Map<string, { name: string; spec: TrackSpec }>();
  let pending = '';
  let bye = false;
  const handle = (line: string): void => {
    if (line === '') return;
    let m: Message;
    try {
      m = JSON.parse(line) as Message;
    } catch {
      return;
    }
    if (m.op === 'track') tracked.set(m.id, { name: m.name, spec: m.spec });
    else if (m.op === 'untrack') tracked.delete(m.id);
    else bye = true;
  };
  // A signal aimed at the supervisor (not the runner) is not a reason to kill running tests.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) proc.on(sig, () => proc.exit(0));
  proc.stdin.setEncoding('utf8');
  proc.stdin.on('data', (chunk: string) => {
    pending += chunk;
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      handle(pending.slice(0, i));
      pending = pending.slice(i + 1);
    }
  });
  proc.stdin.on('error', () => {});
  proc.stdin.on('end', () => {
    handle(pending);
    if (!bye) {
      for (const { name, spec } of tracked.values()) {
        const killed = reaper.killAll(spec);
        reaper.removeCgroups(spec);
        if (killed.length === 0) continue;
        const list = killed.map((p) => `${p.pid} ${p.command}`).join('; ');
        try {
          proc.stderr.write(`vgic-harness supervisor: the runner (pid ${runnerPid}) ended without finishing ${name}; killed ${killed.length} process(es): ${list}\n`);
        } catch {
          // Nobody is reading stderr any more.
        }
      }
    }
    proc.exit(0);
  });
}

export class Supervisor {
  readonly #child: ChildProcess;
  #open = true;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /** Start the supervisor, or return null when it cannot be started (the run goes on). */
  static start(): Supervisor | null {
    // tsx compiles with keepNames, which wraps functions in a __name() helper; the plain
    // process gets an identity stand-in for it.
    const source = [
      'const __name = (f) => f;',
      `const reaper = (${makeReaper.toString()})(require('node:fs'), process);`,
      `(${supervise.toString()})(reaper, process, ${process.pid});`,
    ].join('\n');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ['-e', source], { detached: true, stdio: ['pipe', 'ignore', 'inherit'], env: {} });
    } catch {
      return null;
    }
    child.on('error', () => {});
    child.stdin?.on('error', () => {});
    // Neither the process nor the pipe may keep the runner alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return new Supervisor(child);
  }

  #send(m: Message): void {
    if (!this.#open) return;
    this.#child.stdin?.write(`${JSON.stringify(m)}\n`);
  }

  track(id: string, name: string, spec: TrackSpec): void {
    this.#send({ op: 'track', id, name, spec });
  }

  untrack(id: string): void {
    this.#send({ op: 'untrack', id });
  }

  /** Normal end of the run: nothing is left to clean up. */
  stop(): void {
    this.#send({ op: 'bye' });
    this.#open = false;
    this.#child.stdin?.end();
  }
}
