// Every process a selftest starts is tracked and none outlives the run: a process left behind in
// a new session (holding the test's stdout) is killed and reported, a runner killed with SIGKILL
// is cleaned up after by its supervisor, and when even the supervisor dies the next run cleans
// up. Each case runs with cgroup v2 tracking (where this machine allows it) and with the /proc
// sweep (VGIC_HARNESS_TRACKING=proc).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import t from 'tap';
import { ownCgroupDir } from '../lib/runner/tracking.ts';
import { BIN, ROOT, processAlive, runMain } from './runner-helpers.ts';

t.setTimeout(90_000);

const PROCS = join(ROOT, 'test', 'fixtures', 'processes');
const tmp = mkdtempSync(join(tmpdir(), 'vgic-runner-procs-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** Wait (up to 30 s: a loaded machine) for something to become true. */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (cond()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Children of `pid` (from /proc) whose command line contains `text`. */
function childrenOf(pid: number, text: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(text)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

// A scope of its own: other runs on this machine (make check runs several side by side) clean up
// after dead runs of their own scope only, so they cannot take this test's cleanups away.
const SCOPE = `test-${process.pid}`;
/** The runner (its own process group) running the stubborn fixture, once the fixture's two
 * processes run. */
async function startStubborn(label: string, env: Record<string, string>) {
  const pidsFile = join(tmp, label);
  const runner = execa(process.execPath, ['--import=tsx', BIN, '--dir', PROCS, 'stubborn'], {
    cwd: ROOT,
    detached: true,
    reject: false,
    env: { ...env, PIDS_FILE: pidsFile },
  });
  await until('the stubborn fixture to start', () => existsSync(pidsFile) && readFileSync(pidsFile, 'utf8').endsWith('\n'));
  const [test, child] = readFileSync(pidsFile, 'utf8').trim().split(' ').map(Number) as [number, number];
  return { runner, test, child };
}

const MODES = ['auto', 'proc'] as const;
const envFor = (mode: (typeof MODES)[number], what: string): Record<string, string> => ({ VGIC_HARNESS_TRACKING: mode, VGIC_HARNESS_SCOPE: `${SCOPE}-${what}-${mode}` });

t.test('tracking', async (t) => {
  // Every case mostly waits on processes: all of them at once. Each has a tracking scope of its
  // own, so that one case's next-run cleanup cannot take another case's leftovers.
  t.jobs = 6;
  for (const mode of MODES) {
    t.test(`${mode}: a leftover in a new session holding stdout is killed and reported, and the run does not wait for it`, async (t) => {
      const r = await runMain(['--dir', PROCS, 'leftover', '--format', 'ktap'], { env: envFor(mode, 'leftover') });
      const pid = Number(/# leftover pid (\d+)/.exec(r.stdout)?.[1]);
      t.ok(pid > 0, 'the fixture printed its leftover pid');
      t.equal(r.exitCode, 1, 'leaving a process behind fails the selftest');
      t.match(r.stdout, new RegExp(`^not ok 1 leftover # ERROR left 1 process running after it exited: ${pid} (setsid )?sleep 300$`, 'm'));
      t.match(r.stdout, /^# process tracking: (cgroup v2|\/proc sweep)/m);
      if (mode === 'proc') t.match(r.stdout, /^# process tracking: \/proc sweep by VGIC_HARNESS_TRACK/m);
      t.notOk(processAlive(pid), `the leftover (pid ${pid}) was killed`);
    });

    t.test(`${mode}: a helper that ends by itself just after the test (as tsx's esbuild service does) is not a leftover`, async (t) => {
      const r = await runMain(['--dir', PROCS, 'helper_ends', '--format', 'ktap'], { env: envFor(mode, 'helper') });
      const pid = Number(/# helper pid (\d+)/.exec(r.stdout)?.[1]);
      t.ok(pid > 0, 'the fixture printed its helper pid');
      t.equal(r.exitCode, 0, r.stdout);
      t.match(r.stdout, /^ok 1 helper_ends$/m);
      t.notMatch(r.stdout, /left \d+ process/);
      t.notOk(processAlive(pid), 'the helper is gone');
    });

    t.test(`${mode}: SIGKILL of the runner's process group: the supervisor kills what the test started`, async (t) => {
      const { runner, test, child } = await startStubborn(`pids-${mode}`, envFor(mode, 'supervisor'));
      t.ok(processAlive(test) && processAlive(child), 'the test and its child (new session, both ignore SIGTERM) run');
      process.kill(-(runner.pid as number), 'SIGKILL');
      const res = await runner;
      t.equal(res.signal, 'SIGKILL');
      await until('the supervisor to clean up', () => !processAlive(test) && !processAlive(child));
      t.pass('both are gone');
      t.match(String(res.stderr), new RegExp(`vgic-harness supervisor: the runner \\(pid ${runner.pid}\\) ended without finishing stubborn; killed [23] process\\(es\\): .*${test}.*`));
    });

    t.test(`${mode}: runner and supervisor both SIGKILLed: the next run cleans up`, async (t) => {
      const env = envFor(mode, 'stale');
      const { runner, test, child } = await startStubborn(`pids-stale-${mode}`, env);
      const supervisors = childrenOf(runner.pid as number, 'supervise');
      t.equal(supervisors.length, 1, 'the runner has one supervisor');
      for (const s of supervisors) process.kill(s, 'SIGKILL');
      process.kill(-(runner.pid as number), 'SIGKILL');
      await runner;
      t.ok(processAlive(test) && processAlive(child), 'with nobody left to clean up, the test and its child survive');
      const next = await runMain(['--dir', PROCS, 'quick'], { env });
      t.equal(next.exitCode, 0);
      t.match(next.stderr, new RegExp(`^vgic-harness: killed [23] process\\(es\\) left by (run ${runner.pid}|an earlier run that did not finish \\(VGIC_HARNESS_TRACK=${env.VGIC_HARNESS_SCOPE}\\.${runner.pid}-)`, 'm'));
      t.notOk(processAlive(test), 'the next run killed the test');
      t.notOk(processAlive(child), 'and its child');
    });
  }
});

t.test('cgroup tracking leaves no cgroup behind, even when the runner was killed', async (t) => {
  const base = ownCgroupDir();
  if (base === null) {
    t.comment('no cgroup v2 hierarchy here: nothing to check');
    return;
  }
  t.same(readdirSync(base).filter((e) => e.includes(`.${SCOPE}-`)), [], 'the runs of this test removed their cgroups');
});
