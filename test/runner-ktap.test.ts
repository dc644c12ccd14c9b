// End to end: `--format ktap` over every fixture selftest must be a KTAP document the
// independent grammar checker accepts, with each outcome on the right line.
import t from 'tap';
import { checkKtap, type KtapResult } from './ktap-grammar.ts';
import { FIXTURE_NAMES, FIXTURES, groupMembers, hangPids, processAlive, runCli } from './runner-helpers.ts';

t.setTimeout(60_000);

// The hang fixture times out after its own 3 s (a directive line); the others keep 45 s.
// Both runs start at once: each mostly waits on its children.
const [run, real] = await Promise.all([
  runCli(['--format', 'ktap', '--dir', FIXTURES, '--jobs', '4', '--seed', '99']),
  runCli(['--format', 'ktap', 'vgic_group_*']),
]);
const check = checkKtap(run.stdout);
const results = check.doc?.results ?? [];
const byName = (name: string): KtapResult => {
  const r = results.find((x) => x.description === name);
  if (r === undefined) throw new Error(`no result named ${name}`);
  return r;
};

t.test('the document follows the KTAP grammar', async (t) => {
  t.equal(run.exitCode, 1);
  t.same(check.errors, [], 'no grammar errors');
  t.ok(run.stdout.startsWith('TAP version 13\n1..10\n'), 'version line, then the plan');
  t.same(
    results.map((r) => [r.number, r.description]),
    FIXTURE_NAMES.map((n, i) => [i + 1, n]),
    'every selftest once, numbered in name order',
  );
  t.match(run.stdout, /^# vgic-harness: seed 99 \(replay with --seed 99\)$/m);
  t.match(run.stdout, /^# Totals: pass:2 fail:6 xfail:1 xpass:0 skip:1 error:0$/m);
  t.match(run.stdout, /^# 3 passed, 6 failed, 1 skipped$/m);
});

t.test('each outcome on its line', async (t) => {
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
  t.ok(run.stdout.includes('\nnot ok 5 hang # TIMEOUT 3 seconds\n'), 'kselftest-style TIMEOUT line');
  const hang = byName('hang');
  t.same(
    hang.children.map((c) => [c.description, c.ok, c.directive, c.reason]),
    [['waits forever', false, 'TIMEOUT', '3 seconds']],
    'the case that was running when the test was killed',
  );
  t.same(
    byName('fail_guest').children.map((c) => [c.description, c.ok]),
    [
      ['redist base', true],
      ['dist base alignment', false],
    ],
  );
  const failing = byName('fail_guest').children[1]?.children[0];
  t.equal(failing?.description, 'GIC dist base not aligned: expected 0x3, got 0x1');
  t.ok(failing?.diagnostics.some((d) => d.includes('guests/foo.ts:12')), 'guest location in the diagnostics before it');
  t.same(
    byName('todo_case').children.map((c) => [c.description, c.ok, c.directive]),
    [
      ['group bits', true, null],
      ['iidr revision 3', true, 'XFAIL'],
    ],
    'a TODO case becomes XFAIL (KTAP has no TODO)',
  );
  const crash = byName('crash');
  t.same(
    crash.children.map((c) => [c.description, c.ok]),
    [
      ['first case', true],
      ['TAP output', false],
    ],
    'a crash after passing cases gets a failing case, so child-judging parsers fail it too',
  );
  t.ok(crash.diagnostics.includes('| Segmentation fault (core dumped)'), "the test's stderr is kept as diagnostics");
  t.ok(byName('throws').diagnostics.some((d) => d.includes('Error: setup exploded')));
  t.ok(byName('garbage').diagnostics.some((d) => d.includes('| hello \\x01\\x1b[31mworld')), 'garbage shown, control characters escaped');
  t.match(byName('skip_all').reason, /Requirement not met: kvm_supports_vgic_v3\(\)/);
});

t.test('the hung selftest and its grandchild are gone', async (t) => {
  const [pid, grandchild] = hangPids(run.stdout);
  t.notOk(processAlive(pid as number));
  t.notOk(processAlive(grandchild as number));
  t.same(groupMembers(pid as number), []);
});

t.test('the real selftests in KTAP', async (t) => {
  const c = checkKtap(real.stdout);
  t.same(c.errors, [], 'grammar holds for the ported selftests');
  t.same(
    c.doc?.results.map((r) => r.description),
    ['vgic_group_iidr', 'vgic_group_v2'],
    'the glob selects the two group tests',
  );
  t.ok((c.doc?.results ?? []).every((r) => r.children.length > 0), 'their cases are nested');
});
