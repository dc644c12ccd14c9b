// End to end: the CLI runs every fixture selftest (passing, failing, skipping, crashing,
// hanging, printing garbage) and the TAP 14 on stdout and the JUnit XML file must both be
// valid for independent parsers and show each outcome. One run feeds both checks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FIXTURE_NAMES, FIXTURES, groupMembers, hangPids, parseJunit, parseTap, processAlive, runCli } from './runner-helpers.ts';

t.setTimeout(60_000);

const dir = mkdtempSync(join(tmpdir(), 'vgic-runner-tap-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const junitFile = join(dir, 'report.xml');

// No --timeout: the hang fixture's own `// vgic-harness: timeout=3` line applies to it, and the
// others keep the 45 s default so that a loaded machine does not time them out.
const run = await runCli(['run', '--dir', FIXTURES, '--jobs', '4', '--seed', '1234', '--profile', 'iidr-fix', '--junit', junitFile]);

t.test('exit status and summary', async (t) => {
  t.equal(run.exitCode, 1, 'failures make the run fail');
  t.match(run.stdout, /^# 3 passed, 6 failed, 1 skipped$/m);
  t.notMatch(run.stderr, /\bat \S+:\d+:\d+/, 'no stack trace from the runner');
});

t.test('TAP 14 document: valid for tap-parser in strict mode', async (t) => {
  const tap = await parseTap(run.stdout);
  t.ok(run.stdout.startsWith('TAP version 14\n1..10\n'), 'version and plan first');
  t.same(tap.errors, [], 'no parse errors at any depth');
  t.same(tap.extra, [], 'no non-TAP lines');
  t.same(tap.results.plan, { ...tap.results.plan, start: 1, end: 10 });
  t.equal(tap.results.count, 10);
  t.same(
    tap.top.map((r) => r.name),
    FIXTURE_NAMES,
    'one subtest per selftest, in name order although they ran 4 at a time',
  );
  t.same(
    tap.top.map((r) => r.id),
    FIXTURE_NAMES.map((_, i) => i + 1),
  );
  const failed = tap.results.failures.map((f) => f.name).sort();
  t.same(failed, ['crash', 'fail_guest', 'garbage', 'guest_assert', 'hang', 'throws'], 'failures are visible as failures');
  t.equal(tap.results.fail, 7, 'tap-parser counts the TODO not-ok too');
  t.equal(tap.results.failures.length, 6);
  t.equal(tap.results.skip, 1, 'skip_all is a skip');
  t.same(
    tap.results.todos.map((r) => r.name),
    ['xfail_exit'],
    'the expected failure is a TODO, not a failure',
  );
  t.equal(tap.results.pass, 3, 'pass_two, skip_all and todo_case are ok');
  t.equal(tap.results.ok, false);
});

t.test('TAP: timeouts, seed, profile and the tests’ own output', async (t) => {
  t.ok(run.stdout.includes('\n# TIMEOUT 3 seconds\nnot ok 5 - hang'), 'timeout as a comment before the result');
  const tap = await parseTap(run.stdout);
  t.ok(tap.comments.includes('# TIMEOUT 3 seconds'));
  t.ok(tap.comments.includes('# vgic-harness: seed 1234 (replay with --seed 1234)'), 'seed in the header');
  t.ok(tap.comments.includes('# profile iidr-fix'));
  t.match(run.stdout, /# env VGIC_SEED=1234 VGIC_PROFILE=iidr-fix/, 'the selftest got the seed and profile');
  t.match(run.stdout, /GIC dist base not aligned: expected 0x3, got 0x1/, 'assertion kept');
  t.match(run.stdout, /Segmentation fault \(core dumped\)/, 'stderr kept as diagnostics');
  t.match(run.stdout, /Error: setup exploded/, 'an exception before any TAP is kept');
  t.match(run.stdout, /hello \\x01\\e\[31mworld/, 'garbage output kept, escaped');
});

t.test('JUnit XML: parsed by python3 xml.etree', async (t) => {
  const j = await parseJunit(junitFile);
  t.same(
    j.suites.map((s) => s.name),
    FIXTURE_NAMES,
    'one testsuite per selftest, in order',
  );
  const suite = (name: string): (typeof j.suites)[number] => {
    const s = j.suites.find((x) => x.name === name);
    if (s === undefined) throw new Error(`no suite ${name}`);
    return s;
  };
  t.same(j.totals, {
    tests: j.suites.reduce((a, s) => a + s.tests, 0),
    failures: 2,
    errors: 4,
    skipped: 3,
  });
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
  t.match(j.raw, /<!-- vgic-harness: seed 1234 \(replay with - -seed 1234\); profile iidr-fix -->/);
});

t.test('the hung selftest and its grandchild are gone', async (t) => {
  const [pid, grandchild] = hangPids(run.stdout);
  t.notOk(processAlive(pid as number), `hang (pid ${pid}) was killed`);
  t.notOk(processAlive(grandchild as number), `its grandchild (pid ${grandchild}) was killed`);
  t.same(groupMembers(pid as number), [], 'nothing is left in its process group');
});
