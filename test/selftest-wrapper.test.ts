// lib/host/selftest.ts: one TAP subtest per case, its header printed before its body runs; a
// case declared to fail on the current profile reports `not ok ... # TODO` with how it failed
// and passing there is `ok ... # TODO` and exit 3 (KSFT_XPASS); a TEST_REQUIRE skip ends the
// selftest like ksft_exit_skip (exit 4 when nothing ran). Importing lib/host or lib/snapshot
// starts no test harness.
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import t from 'tap';
import { collectSelftests, type CollectedSelftest } from '../lib/host/selftest.ts';
import { checkKtap } from './ktap-grammar.ts';
import { runMain } from './runner-helpers.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURE = 'test/fixtures/wrapper/expected_failures.ts';

t.setTimeout(60_000);

// The checks that wait on processes start now and run side by side with the rest.
const realProcess = execa(process.execPath, ['--import=tsx', FIXTURE], { cwd: ROOT, reject: false, stripFinalNewline: false, env: { VGIC_PROFILE: 'iidr-fix' } });
const spinsRun = runMain(['--dir', join(ROOT, 'test', 'fixtures', 'wrapper'), 'spins', '--format', 'ktap']);
// A loader hook that fails any import of node-tap: if the library loaded it, the import fails.
const hook = `data:text/javascript,${encodeURIComponent("export async function resolve(s, c, next) { if (s === 'tap' || s.startsWith('@tapjs/')) throw new Error('test harness loaded: ' + s); return next(s, c); }")}`;
const register = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(hook)});`)}`;
const plainImport = execa(process.execPath, ['--import=tsx', `--import=${register}`, '--input-type=module', '-e', "await import('./lib/host/index.ts'); await import('./lib/snapshot/index.ts');"], { cwd: ROOT, reject: false });

// The fixture's cases, collected once and run in this process with each environment.
const [fixture] = (await collectSelftests(() => import(pathToFileURL(join(ROOT, FIXTURE)).href))) as [CollectedSelftest];

async function runIn(env: Record<string, string>): Promise<{ exitCode: number; stdout: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let stdout = '';
  try {
    const exitCode = await fixture.run((s) => (stdout += s));
    return { exitCode, stdout };
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

t.test('collectSelftests hands the cases over without running them', async (t) => {
  t.equal(fixture.name, 'expected_failures');
  t.same(fixture.cases.map((c) => c.name), ['passes', 'fails as declared', 'passes although declared', 'skips the rest', 'never runs when skipped']);
});

t.test('on a profile with no declared failures, the declared cases are plain cases', async (t) => {
  const r = await runIn({ VGIC_PROFILE: 'series-p3' });
  t.equal(r.exitCode, 1, 'the failing case fails the selftest');
  t.ok(r.stdout.startsWith('TAP version 14\n1..5\n# expected_failures: host-kernel profile series-p3'), 'version, plan first, then the header');
  t.match(r.stdout, /^not ok 2 - fails as declared # time=/m);
  t.match(r.stdout, /^ok 3 - passes although declared # time=/m);
});

t.test('on the declared profile: XFAIL is not ok # TODO with the failure, XPASS is ok # TODO and exit 3', async (t) => {
  // The real process once: stdout, streaming and the exit status as the runner sees them.
  const proc = await realProcess;
  const inProcess = await runIn({ VGIC_PROFILE: 'iidr-fix' });
  t.equal(proc.exitCode, 3, 'KSFT_XPASS');
  t.equal(inProcess.exitCode, 3, 'the collected run returns the same status');
  const strip = (s: string): string => s.replace(/ # time=[\d.]+ms/g, '').replace(/pid=\d+ tid=\d+/g, 'pid');
  t.equal(strip(inProcess.stdout), strip(proc.stdout), 'and the same TAP');
  t.match(proc.stdout, /^ok 1 - passes # time=/m);
  t.match(
    proc.stdout,
    /^not ok 2 - fails as declared # TODO expected to fail on iidr-fix: groups gated \(got: IGROUPR reads 0x0 at test\/fixtures\/wrapper\/expected_failures\.ts:\d+\)$/m,
    'not ok # TODO, with reason, message and location',
  );
  t.match(proc.stdout, /^ok 3 - passes although declared # TODO expected to fail on iidr-fix: should fail$/m, 'an unexpected pass: ok # TODO');
  t.match(proc.stdout, /^ {4}# unexpected pass \(XPASS\): expected to fail on iidr-fix: should fail$/m);
});

t.test('TEST_REQUIRE skips the remaining cases', async (t) => {
  const r = await runIn({ VGIC_PROFILE: 'series-p3', FIXTURE_SKIP: '1' });
  t.match(r.stdout, /^ok 4 - skips the rest # SKIP - Requirement not met: FIXTURE_SKIP unset$/m);
  t.match(r.stdout, /^ok 5 - never runs when skipped # SKIP not run: - Requirement not met: FIXTURE_SKIP unset$/m);
});

t.test('a case spinning forever: killed at the timeout, and the report names it', async (t) => {
  const r = await spinsRun;
  t.equal(r.exitCode, 1);
  t.same(checkKtap(r.stdout).errors, []);
  t.match(r.stdout, /^ {4}ok 1 finishes$/m, 'the case before it finished');
  t.match(r.stdout, /^ {4}not ok 2 spins forever # TIMEOUT 3 seconds$/m, 'the case it was in, by name');
  t.match(r.stdout, /^not ok 1 spins # TIMEOUT 3 seconds$/m);
  t.notMatch(r.stdout, /never reached/, 'nothing claims the next case ran');
});

t.test('importing lib/host (selftest() included) or lib/snapshot from a plain program starts no test harness', async (t) => {
  const r = await plainImport;
  t.equal(r.stderr, '', 'no error (node-tap was never imported)');
  t.equal(r.stdout, '', 'prints nothing');
  t.equal(r.exitCode, 0, 'and exits 0 by itself');
  // lib/host/index.ts includes selftest.ts, which imports nothing at run time: a selftest
  // process never loads node-tap either.
});
