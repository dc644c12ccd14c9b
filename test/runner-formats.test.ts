// End to end: the CLI runs every fixture selftest (passing, failing, skipping, crashing,
// hanging, printing garbage) once, writing TAP 14 on stdout and TAP 13, KTAP and JUnit to
// files; each document must be valid for an independent reader and show each outcome.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { collectSelftests } from '../lib/host/selftest.ts';
import { reporterFor } from '../lib/report/formats.ts';
import type { SelftestResult } from '../lib/report/model.ts';
import { summarize } from '../lib/report/summary.ts';
import { parseChildTap } from '../lib/runner/child-tap.ts';
import type { RawRun } from '../lib/runner/execute.ts';
import { verdict } from '../lib/runner/verdict.ts';
import { checkKtap, type KtapResult } from './ktap-grammar.ts';
import { FIXTURE_NAMES, FIXTURES, ROOT, groupMembers, hangPids, parseJunit, parseTap, processAlive, runCli } from './runner-helpers.ts';

t.setTimeout(60_000);

const dir = mkdtempSync(join(tmpdir(), 'vgic-runner-formats-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const junitFile = join(dir, 'report.xml');
const ktapFile = join(dir, 'report.ktap');
const tap13File = join(dir, 'report13.tap');

// No --timeout: the hang fixture's own `// vgic-harness: timeout=3` line applies to it, and the
// others keep the 45 s default (the fixture directory has no settings file), so that a loaded
// machine does not time them out.
const running = runCli(['run', '--dir', FIXTURES, '--jobs', '4', '--seed', '1234', '--profile', 'iidr-fix', '--junit', junitFile, '-o', `ktap:${ktapFile}`, '-o', `tap13:${tap13File}`]);
// Meanwhile the real group selftests, run in this process (their TAP is what their processes
// print) and reported in KTAP.
const realResults: SelftestResult[] = [];
for (const name of ['vgic_group_iidr', 'vgic_group_v2']) {
  const [s] = await collectSelftests(() => import(pathToFileURL(join(ROOT, 'selftests', `${name}.ts`)).href));
  let stdout = '';
  const exitCode = await s!.run((text) => (stdout += text));
  const raw: RawRun = { exitCode, signal: null, timedOut: false, stdout, stderr: '', durationMs: 1, error: null, leftovers: [], notes: [] };
  realResults.push(verdict({ name, file: `selftests/${name}.ts`, timeoutSec: 120, raw, tap: await parseChildTap(stdout) }));
}
const ktapOfReal = reporterFor('ktap');
const real = {
  stdout: [ktapOfReal.begin({ seed: 1, total: 2, shard: null, profile: null, timeoutOverrideSec: null, startedAt: new Date() }), ...realResults.map((r, i) => ktapOfReal.result(r, i + 1)), ktapOfReal.end(summarize(realResults, 1))].join(''),
};
const run = await running;
const ktap = readFileSync(ktapFile, 'utf8');
const tap13 = readFileSync(tap13File, 'utf8');

t.test('exit status and summary', async (t) => {
  t.equal(run.exitCode, 1, 'failures make the run fail');
  t.match(run.stdout, /^# 3 passed, 6 failed, 1 skipped$/m);
  t.notMatch(run.stderr, /\bat \S+:\d+:\d+/, 'no stack trace from the runner');
});

for (const [what, text, version] of [
  ['TAP 14 on stdout', () => run.stdout, 14],
  ['TAP 13 file', () => tap13, 13],
] as const) {
  t.test(`${what}: valid for tap-parser in strict mode, every outcome counted`, async (t) => {
    const doc = text();
    const tap = await parseTap(doc);
    t.ok(doc.startsWith(`TAP version ${version}\n1..10\n`), 'version and plan first');
    t.same(tap.errors, [], 'no parse errors at any depth');
    t.same(tap.extra, [], 'no non-TAP lines (the U+2028 in the garbage output included)');
    t.same(tap.results.plan, { ...tap.results.plan, start: 1, end: 10 });
    t.equal(tap.results.count, 10);
    t.same(tap.top.map((r) => r.name), FIXTURE_NAMES, 'one subtest per selftest, in name order although they ran 4 at a time');
    t.same(tap.top.map((r) => r.id), FIXTURE_NAMES.map((_, i) => i + 1));
    const failed = tap.results.failures.map((f) => f.name).sort();
    t.same(failed, ['crash', 'fail_guest', 'garbage', 'guest_assert', 'hang', 'throws'], 'failures are visible as failures');
    t.equal(tap.results.fail, 7, 'tap-parser counts the TODO not-ok too');
    t.equal(tap.results.skip, 1, 'skip_all is a skip');
    t.same(tap.results.todos.map((r) => r.name), ['xfail_exit'], 'the expected failure is a not-ok TODO, not a failure');
    t.equal(tap.results.pass, 3, 'pass_two, skip_all and todo_case are ok');
  });
}

t.test('TAP: timeouts, seed, profile, expected failures and the tests’ own output', async (t) => {
  t.ok(run.stdout.includes('\n# TIMEOUT 3 seconds\nnot ok 5 - hang'), 'timeout as a comment before the result');
  const tap = await parseTap(run.stdout);
  t.ok(tap.comments.includes('# TIMEOUT 3 seconds'));
  t.ok(tap.comments.includes('# vgic-harness: seed 1234 (replay with --seed 1234)'), 'seed in the header');
  t.ok(tap.comments.includes('# profile iidr-fix'));
  t.match(run.stdout, /# env VGIC_SEED=1234 VGIC_PROFILE=iidr-fix/, 'the selftest got the seed and profile');
  t.match(run.stdout, /^ {4}not ok 2 - iidr revision 3 # TODO KVM does not implement revision 3 yet$/m, 'a case expected to fail: not ok # TODO');
  t.match(run.stdout, /^not ok 10 - xfail_exit # TODO xfail: irq storm: pending bit lost$/m, 'exit 2 (KSFT_XFAIL): not ok # TODO');
  t.match(run.stdout, /GIC dist base not aligned: expected 0x3, got 0x1/, 'assertion kept');
  t.match(run.stdout, /Segmentation fault \(core dumped\)/, 'stderr kept as diagnostics');
  t.match(run.stdout, /Error: setup exploded/, 'an exception before any TAP is kept');
  t.match(run.stdout, /hello \\x01\\x1b\[31mworld.*line\\u2028separator\\u2029paragraph/, 'garbage output kept once, escaped');
  t.equal(run.stdout.split('ok 7 wrong indent').length - 1, 1, 'output that is not TAP appears once');
});

t.test('JUnit XML: parsed by python3 xml.etree', async (t) => {
  const j = await parseJunit(junitFile);
  t.same(j.suites.map((s) => s.name), FIXTURE_NAMES, 'one testsuite per selftest, in order');
  const suite = (name: string): (typeof j.suites)[number] => {
    const s = j.suites.find((x) => x.name === name);
    if (s === undefined) throw new Error(`no suite ${name}`);
    return s;
  };
  t.same(j.totals, { tests: j.suites.reduce((a, s) => a + s.tests, 0), failures: 2, errors: 4 });
  t.match(suite('pass_two'), { tests: 2, failures: 0, errors: 0, skipped: 0 }, 'a testcase per subtest');
  t.match(suite('fail_guest'), { tests: 2, failures: 1, errors: 0 });
  const fg = suite('fail_guest').failureTexts.join('\n');
  t.match(fg, /GIC dist base not aligned: expected 0x3, got 0x1/, 'failure text has the assertion message');
  t.match(fg, /guests\/foo\.ts:12/, 'and the guest location');
  t.match(suite('guest_assert'), { tests: 1, failures: 1 });
  const ga = suite('guest_assert').failureTexts.join('\n');
  t.match(ga, /0x[0-9a-f]+ != 0x12345678 \(typer != 0x12345678\)/, 'a real guest assertion message');
  t.match(ga, /\(at test\/fixtures\/selftests\/guest_assert\.ts:11\)/, 'with the guest file:line in the message');
  t.match(suite('hang'), { errors: 1, failures: 0 });
  t.same(suite('hang').errorMessages, ['TIMEOUT 3 seconds']);
  for (const n of ['crash', 'throws', 'garbage']) t.match(suite(n), { errors: 1 }, `${n} is an error`);
  t.match(suite('skip_all'), { tests: 1, skipped: 1 });
  t.match(suite('xfail_exit'), { skipped: 1, failures: 0, errors: 0 }, 'xfail is shown as skipped');
  t.match(suite('todo_case'), { tests: 2, skipped: 1, failures: 0 });
  t.match(j.raw, /<!-- vgic-harness: seed 1234 \(replay with - -seed 1234\); profile iidr-fix; process tracking: /);
  t.match(j.raw, /<property name="file" value="test\/fixtures\/selftests\/hang\.ts"\/>/, 'the file as a property');
});

const results = checkKtap(ktap).doc?.results ?? [];
const byName = (name: string): KtapResult => {
  const r = results.find((x) => x.description === name);
  if (r === undefined) throw new Error(`no result named ${name}`);
  return r;
};

t.test('KTAP file: follows the KTAP grammar', async (t) => {
  t.same(checkKtap(ktap).errors, [], 'no grammar errors');
  t.ok(ktap.startsWith('TAP version 13\n1..10\n'), 'version line, then the plan');
  t.same(results.map((r) => [r.number, r.description]), FIXTURE_NAMES.map((n, i) => [i + 1, n]), 'every selftest once, numbered in name order');
  t.match(ktap, /^# vgic-harness: seed 1234 \(replay with --seed 1234\)$/m);
  t.match(ktap, /^# Totals: pass:2 fail:6 xfail:1 xpass:0 skip:1 error:0$/m);
  t.match(ktap, /^# 3 passed, 6 failed, 1 skipped$/m);
});

t.test('KTAP file: each outcome on its line', async (t) => {
  const outcome = (r: KtapResult): string => `${r.ok ? 'ok' : 'not ok'}${r.directive === null ? '' : ` ${r.directive}`}`;
  t.same(Object.fromEntries(results.map((r) => [r.description, outcome(r)])), {
    crash: 'not ok ERROR',
    fail_guest: 'not ok',
    garbage: 'not ok ERROR',
    guest_assert: 'not ok',
    hang: 'not ok TIMEOUT',
    pass_two: 'ok',
    skip_all: 'ok SKIP',
    throws: 'not ok ERROR',
    todo_case: 'ok',
    xfail_exit: 'ok XFAIL',
  });
  t.ok(ktap.includes('\nnot ok 5 hang # TIMEOUT 3 seconds\n'), 'kselftest-style TIMEOUT line');
  t.same(byName('hang').children.map((c) => [c.description, c.ok, c.directive, c.reason]), [['waits forever', false, 'TIMEOUT', '3 seconds']], 'the case that was running when the test was killed');
  t.same(byName('fail_guest').children.map((c) => [c.description, c.ok]), [['redist base', true], ['dist base alignment', false]]);
  const failing = byName('fail_guest').children[1]?.children[0];
  t.equal(failing?.description, 'GIC dist base not aligned: expected 0x3, got 0x1');
  t.ok(failing?.diagnostics.some((d) => d.includes('guests/foo.ts:12')), 'guest location in the diagnostics before it');
  t.same(
    byName('todo_case').children.map((c) => [c.description, c.ok, c.directive]),
    [['group bits', true, null], ['iidr revision 3', true, 'XFAIL']],
    'a not-ok TODO case becomes ok # XFAIL (KTAP has no TODO; kselftest.h prints XFAIL as ok)',
  );
  const crash = byName('crash');
  t.same(crash.children.map((c) => [c.description, c.ok]), [['first case', true], ['TAP output', false]], 'a crash after passing cases gets a failing case, so child-judging parsers fail it too');
  t.ok(crash.diagnostics.includes('| Segmentation fault (core dumped)'), "the test's stderr is kept as diagnostics");
  t.ok(byName('throws').diagnostics.some((d) => d.includes('Error: setup exploded')));
  t.ok(byName('garbage').diagnostics.some((d) => d.includes('| hello \\x01\\x1b[31mworld')), 'garbage shown, control characters escaped');
  t.match(byName('skip_all').reason, /Requirement not met: kvm_supports_vgic_v3\(\)/);
});

t.test('the real selftests in KTAP', async (t) => {
  const c = checkKtap(real.stdout);
  t.same(c.errors, [], 'grammar holds for the ported selftests');
  t.same(c.doc?.results.map((r) => r.description), ['vgic_group_iidr', 'vgic_group_v2'], 'the glob selects the two group tests');
  t.ok((c.doc?.results ?? []).every((r) => r.children.length > 0), 'their cases are nested');
  t.match(real.stdout, /^ {4}# vgic_group_iidr: host-kernel profile series-p3/m, "the selftest's header comes before its first case");
});

t.test('the hung selftest and its grandchild are gone', async (t) => {
  const [pid, grandchild] = hangPids(run.stdout);
  t.notOk(processAlive(pid as number), `hang (pid ${pid}) was killed`);
  t.notOk(processAlive(grandchild as number), `its grandchild (pid ${grandchild}) was killed`);
  t.same(groupMembers(pid as number), [], 'nothing is left in its process group');
});
