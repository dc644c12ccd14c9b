// The runner's pure parts, without starting any process: argument parsing, selection,
// sharding, the timeout directive, the exit-status mapping and the progress line.
import t from './tap.ts';
import { parseCommand, UsageError, type RunOptions } from '../lib/runner/cli.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSettings, timeoutDirective } from '../lib/runner/discover.ts';
import { importProblem } from '../lib/runner/execute.ts';
import type { RawRun } from '../lib/runner/execute.ts';
import { parseChildTap } from '../lib/runner/child-tap.ts';
import { Progress } from '../lib/runner/progress.ts';
import { childEnv, timeoutOf } from '../lib/runner/run.ts';
import { globToRegExp, selectByName } from '../lib/runner/select.ts';
import { applyShard, parseShard } from '../lib/runner/shard.ts';
import { verdict } from '../lib/runner/verdict.ts';

function runOpts(argv: string[]): RunOptions {
  const cmd = parseCommand(argv);
  if (cmd.kind !== 'run') throw new Error(`expected a run command, got ${cmd.kind}`);
  return cmd.options;
}

t.test('command line: defaults and every option', async (t) => {
  const d = runOpts(['run']);
  t.same(
    { ...d },
    { format: 'tap', outputs: [], naming: 'plain', junitFile: null, list: false, jobs: null, shard: null, seed: null, profile: null, timeoutSec: null, dir: null, patterns: [] },
  );
  const o = runOpts(['run', '--format=ktap', '--junit', 'out.xml', '-o', 'tap13:a.tap', '--output=json:r.json', '--kselftest-names', '-j', '3', '--shard', '2/4', '--seed', '42', '--profile', 'iidr-fix', '-t', '2.5', '--dir', 'x', 'vgic_*', 'vgic_init']);
  t.same(
    { ...o },
    {
      format: 'ktap',
      outputs: [
        { format: 'tap13', file: 'a.tap' },
        { format: 'json', file: 'r.json' },
        { format: 'junit', file: 'out.xml' },
      ],
      naming: 'kselftest',
      junitFile: 'out.xml',
      list: false,
      jobs: 3,
      shard: { index: 2, count: 4 },
      seed: 42,
      profile: 'iidr-fix',
      timeoutSec: 2.5,
      dir: 'x',
      patterns: ['vgic_*', 'vgic_init'],
    },
  );
  t.equal(runOpts(['--list']).list, true, 'run is the default command');
  t.equal(runOpts(['list']).list, true);
  t.same(runOpts(['vgic_init']).patterns, ['vgic_init']);
  t.same(parseCommand(['snapshot', 'diff', 'a', 'b']), { kind: 'snapshot', argv: ['diff', 'a', 'b'] });
  t.same(parseCommand(['--help']), { kind: 'help' });
  t.same(parseCommand(['help']), { kind: 'help' });
  t.same(parseCommand(['merge', '-f', 'tap13', 'a.json', 'b.json']), {
    kind: 'merge',
    options: { format: 'tap13', outputs: [], naming: 'plain', files: ['a.json', 'b.json'] },
  });
  for (const f of ['tap', 'tap13', 'ktap', 'junit', 'human', 'json']) t.equal(runOpts(['-f', f]).format, f, `format ${f}`);
});

t.test('command line: mistakes are UsageErrors with a clear message', async (t) => {
  const bad: [string[], RegExp][] = [
    [['--frobnicate'], /^unknown option '--frobnicate'$/],
    [['-Z'], /^unknown option '-Z'$/],
    [['--jobs'], /^option '--jobs' needs a value$/],
    [['--list=yes'], /^option '--list' takes no value$/],
    [['--jobs', '0'], /--jobs must be a positive integer/],
    [['--jobs', 'two'], /--jobs must be a positive integer/],
    [['-j', '1.5'], /--jobs must be a positive integer/],
    [['--shard', '3'], /--shard must look like I\/N/],
    [['--shard', '0/2'], /I must be between 1 and 2/],
    [['--shard', '3/2'], /I must be between 1 and 2/],
    [['--shard', '1/0'], /N must be at least 1/],
    [['--shard', '1/99999999999999999999'], /^--shard 1\/99999999999999999999: N is too large \(at most 9007199254740991\)$/],
    [['--shard', '99999999999999999999/2'], /I must be between 1 and 2/],
    [['--seed=-1'], /--seed must be an integer/],
    [['--seed', '0x10'], /--seed must be an integer/],
    [['--seed', '4294967296'], /--seed must be an integer/],
    [['--timeout', '0'], /--timeout must be a positive number/],
    [['--timeout', 'soon'], /--timeout must be a positive number/],
    // Node's timers overflow past 2^31-1 ms and then fire at once: refused, not a silent 1 ms.
    [['--timeout', '2147484'], /^--timeout 2147484 is too long: at most 2147483 seconds/],
    [['--timeout', '1e9'], /--timeout must be a positive number/],
    [['--format', 'xml'], /unknown format 'xml'; use one of tap, tap13, ktap, junit, human, json/],
    [['-o', 'junit'], /--output must look like FORMAT:FILE/],
    [['-o', 'yaml:x'], /--output: unknown format 'yaml'/],
    [['--profile', 'linux-2.6'], /unknown profile 'linux-2.6'; known profiles: pre-groups, .*series-p3/],
    [['--junit='], /--junit needs a file name/],
  ];
  for (const [argv, msg] of bad) {
    t.throws(() => parseCommand(['run', ...argv]), UsageError, argv.join(' '));
    t.throws(() => parseCommand(['run', ...argv]), { message: msg }, argv.join(' '));
  }
  t.equal(runOpts(['--timeout', '2147483']).timeoutSec, 2147483, 'the longest timeout Node can keep');
  t.throws(() => parseCommand(['merge']), { message: /merge needs at least one results file/ });
});

t.test('selection by name and glob', async (t) => {
  const all = ['vgic_group_iidr', 'vgic_group_v2', 'vgic_init', 'vgic_irq'].map((name) => ({ name }));
  const names = (p: string[]): string[] => selectByName(all, p).map((x) => x.name);
  t.same(names([]), ['vgic_group_iidr', 'vgic_group_v2', 'vgic_init', 'vgic_irq']);
  t.same(names(['vgic_group_*']), ['vgic_group_iidr', 'vgic_group_v2']);
  t.same(names(['vgic_i?it']), ['vgic_init']);
  t.same(names(['vgic_i[nr]*']), ['vgic_init', 'vgic_irq']);
  t.same(names(['vgic_i[!n]*']), ['vgic_irq']);
  t.same(names(['vgic_irq', 'vgic_init', 'vgic_i*']), ['vgic_init', 'vgic_irq'], 'sorted order, each once');
  t.same(names(['selftests/vgic_init.ts']), ['vgic_init'], 'a path works too');
  t.throws(() => names(['vgic_nope']), { name: 'UsageError', message: /no selftest matches 'vgic_nope'; known selftests: vgic_group_iidr/ });
  t.ok(globToRegExp('a.b').test('a.b'));
  t.notOk(globToRegExp('a.b').test('axb'), 'regex characters are literal');
  t.notOk(globToRegExp('vgic').test('vgic_init'), 'anchored');
});

t.test('--shard partitions the sorted list: every item exactly once', async (t) => {
  const list = Array.from({ length: 11 }, (_, i) => `t${String(i).padStart(2, '0')}`);
  for (let n = 1; n <= 5; n++) {
    const seen = new Map<string, number>();
    const sizes: number[] = [];
    for (let i = 1; i <= n; i++) {
      const part = applyShard(list, parseShard(`${i}/${n}`));
      sizes.push(part.length);
      t.same(part, [...part].sort(), `shard ${i}/${n} keeps the order`);
      for (const x of part) seen.set(x, (seen.get(x) ?? 0) + 1);
    }
    t.same([...seen.keys()].sort(), list, `N=${n}: union is everything`);
    t.ok([...seen.values()].every((c) => c === 1), `N=${n}: no item twice`);
    t.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `N=${n}: balanced (${sizes.join(', ')})`);
  }
  t.same(applyShard(['a', 'b'], parseShard('3/3')), [], 'more shards than items: an empty shard');
  t.same(applyShard(['a', 'b'], null), ['a', 'b']);
});

t.test('per-test timeout directive', async (t) => {
  t.equal(timeoutDirective('// nothing here\n', 'x.ts'), null);
  t.equal(timeoutDirective('// SPDX\n// vgic-harness: timeout=120\nimport x;\n', 'x.ts'), 120);
  t.equal(timeoutDirective('  //vgic-harness:timeout = 2.5\n', 'x.ts'), 2.5);
  t.throws(() => timeoutDirective('// vgic-harness: timeout=0\n', 'x.ts'), { name: 'UsageError', message: /x\.ts: bad directive/ });
  t.throws(() => timeoutDirective('// vgic-harness: timout=5\n', 'x.ts'), { name: 'UsageError' });
  t.throws(() => timeoutDirective('// vgic-harness: timeout=5\n// vgic-harness: timeout=6\n', 'x.ts'), { name: 'UsageError', message: /more than one/ });
  t.throws(() => timeoutDirective('// vgic-harness: timeout=2147484\n', 'x.ts'), { name: 'UsageError', message: /x\.ts: timeout directive 2147484 is too long/ });
});

t.test('settings file, read as kselftest runner.sh reads $DIR/settings', async (t) => {
  t.equal(parseSettings('timeout=120\n', 's'), 120);
  t.equal(parseSettings('# comment\n\ntimeout=30\ntimeout=90\n', 's'), 90, 'comments and blank lines skipped, the last assignment wins');
  t.equal(parseSettings('', 's'), null);
  t.throws(() => parseSettings('tmeout=5\n', 'dir/settings'), { name: 'UsageError', message: /dir\/settings:1: unknown setting 'tmeout=5'/ });
  t.throws(() => parseSettings('timeout=never\n', 's'), { message: /s:1: timeout must be a positive number/ });
  t.throws(() => parseSettings('timeout=99999999\n', 's'), { message: /too long/ });
  const f = { name: 'x', path: '/x.ts', timeoutSec: null, settingsTimeoutSec: 120 };
  t.equal(timeoutOf(f, null), 120, 'settings over the 45 s default');
  t.equal(timeoutOf({ ...f, timeoutSec: 5 }, null), 5, 'a directive over the settings');
  t.equal(timeoutOf({ ...f, timeoutSec: 5 }, 2), 2, '--timeout over everything');
  t.equal(timeoutOf({ ...f, settingsTimeoutSec: null }, null), 45, "kselftest's default");
  t.equal(parseSettings(readFileSync(join(import.meta.dirname, '..', 'selftests', 'settings'), 'utf8'), 'selftests/settings'), 120, 'selftests/settings: 120 s as in tools/testing/selftests/kvm/settings');
});

function raw(over: Partial<RawRun>): RawRun {
  return { exitCode: 0, signal: null, timedOut: false, stdout: '', stderr: '', durationMs: 5, error: null, leftovers: [], notes: [], ...over };
}

async function judge(stdout: string, over: Partial<RawRun>): Promise<ReturnType<typeof verdict>> {
  return verdict({ name: 'x', file: 'selftests/x.ts', timeoutSec: 45, raw: raw({ stdout, ...over }), tap: await parseChildTap(stdout) });
}

const PASS_TAP = 'TAP version 14\nok 1 - a\n1..1\n';
const FAIL_TAP = 'TAP version 14\n# Subtest: case\n    not ok 1 - GUEST_ASSERT_EQ failed\n    1..1\nnot ok 1 - case\n1..1\n';

t.test('exit status mapping (kselftest 7.2 runner.sh: 0 pass, 4 skip, 2 xfail, else fail; killed = timeout)', async (t) => {
  t.equal((await judge(PASS_TAP, { exitCode: 0 })).status, 'pass');
  t.equal((await judge(PASS_TAP, { exitCode: 1 })).status, 'fail', 'nonzero exit fails even with clean TAP');
  t.equal((await judge(PASS_TAP, { exitCode: 1 })).reason, 'exit status 1');
  const xpass = await judge(PASS_TAP, { exitCode: 3 });
  t.same([xpass.status, xpass.reason], ['fail', 'exit status 3 (KSFT_XPASS: a case passed that was expected to fail)'], 'XPASS (3) is a failure, as in runner.sh');
  t.equal((await judge(PASS_TAP, { exitCode: 254 })).status, 'fail', 'TEST_ASSERT exit');
  const skip = await judge('TAP version 14\n1..0 # SKIP - Requirement not met: kvm_supports_vgic_v3()\n', { exitCode: 4 });
  t.same([skip.status, skip.reason], ['skip', '- Requirement not met: kvm_supports_vgic_v3()']);
  // Broken TAP makes any exit status a failure: a skip or an expected failure must be a TAP
  // document that says so, not a crash that happened to exit 2 or 4.
  const broken: [string, string][] = [
    ['plain text', 'No GICv2 nor GICv3 support, skipping test\n'],
    ['no output', ''],
    ['a bail-out', 'TAP version 14\n1..2\nBail out! lost the device\n'],
    ['a crash trace', 'TAP version 14\n# Subtest: case\n    ok 1 - a\nTypeError: x is undefined\n    at f (selftests/x.ts:3:1)\n'],
  ];
  for (const [what, out] of broken) {
    for (const code of [0, 2, 4]) {
      const r = await judge(out, { exitCode: code });
      t.equal(r.status, 'fail', `${what}, exit ${code}: a failure`);
      t.match(r.reason, new RegExp(`^TAP output not valid \\(.*\\), exit status ${code}$`));
    }
  }
  const xpassTap = 'TAP version 14\n1..1\n# Subtest: c\n    ok 1 - fine\n    1..1\nok 1 - c # TODO expected to fail on p: why\n';
  const xp = await judge(xpassTap, { exitCode: 3 });
  t.same([xp.status, xp.reason], ['fail', 'c: unexpected pass (XPASS)'], 'an unexpected pass names its case');
  t.equal((await judge(xpassTap, { exitCode: 0 })).status, 'fail', 'an `ok # TODO` case fails the selftest even under exit 0');
  const left = await judge(PASS_TAP, { exitCode: 0, leftovers: ['4242 sleep 100'] });
  t.same([left.status, left.reason], ['fail', 'left 1 process running after it exited: 4242 sleep 100'], 'leftover processes fail a passing selftest');
  t.equal((await judge(PASS_TAP, { exitCode: null, signal: 'SIGKILL', timedOut: true, leftovers: [] })).status, 'timeout');
  t.equal((await judge(FAIL_TAP, { exitCode: 4 })).status, 'fail', 'exit 4 after a failed check is not a skip');
  const xfail = await judge(FAIL_TAP, { exitCode: 2 });
  t.same([xfail.status, xfail.reason], ['xfail', 'case: GUEST_ASSERT_EQ failed']);
  const f = await judge(FAIL_TAP, { exitCode: 1 });
  t.same([f.status, f.reason], ['fail', 'case: GUEST_ASSERT_EQ failed'], 'the reason names the failed check');
  t.equal((await judge(FAIL_TAP, { exitCode: 0 })).status, 'fail', 'exit 0 cannot hide a failed check');
  const garbage = await judge('hello world\n', { exitCode: 0 });
  t.equal(garbage.status, 'fail', 'exit 0 with output that is not TAP fails');
  t.match(garbage.reason, /TAP output not valid \(no plan\)/);
  t.equal((await judge('', { exitCode: 0 })).status, 'fail', 'no output at all fails');
  const sig = await judge('TAP version 14\n', { exitCode: null, signal: 'SIGSEGV' });
  t.same([sig.status, sig.reason], ['fail', 'terminated by SIGSEGV']);
  const spawn = await judge('', { exitCode: null, error: 'could not run the selftest: ENOENT' });
  t.same([spawn.status, spawn.reason], ['fail', 'could not run the selftest: ENOENT']);
});

t.test('a timeout marks the case that was running', async (t) => {
  const r = await judge('TAP version 14\n# Subtest: waits\n    ok 1 - started\n', { exitCode: null, signal: 'SIGKILL', timedOut: true });
  t.equal(r.status, 'timeout');
  t.equal(r.reason, 'TIMEOUT 45 seconds');
  t.equal(r.tap.cases[0]?.name, 'waits');
  t.equal(r.tap.cases[0]?.timeoutSec, 45, 'the unfinished case carries the timeout');
  t.equal(r.tap.cases[0]?.children[0]?.timeoutSec, null, 'a finished check does not');
  const bare = await judge('TAP version 14\n# Subtest: waits forever\n', { exitCode: null, signal: 'SIGKILL', timedOut: true });
  t.equal(bare.tap.cases[0]?.name, 'waits forever', 'a header with nothing after it still names the case');
});

t.test('the selftests get the seed and profile, and not node-tap runner variables', async (t) => {
  const env = childEnv({ PATH: '/bin', TAP: '1', TAP_CHILD_ID: '3', _TAPJS_PROCESSINFO_FILE: 'x', TAPE: 'kept' }, 7, 'iidr-fix');
  t.same(env, { PATH: '/bin', TAPE: 'kept', VGIC_SEED: '7', VGIC_PROFILE: 'iidr-fix' });
  t.same(childEnv({ VGIC_HARNESS_TRACK: '1-2.3' }, 1, null), { VGIC_SEED: '1' }, "an outer run's tracking token is not inherited");
  t.same(childEnv({ VGIC_PROFILE: 'series-p1' }, 1, null), { VGIC_PROFILE: 'series-p1', VGIC_SEED: '1' }, 'an inherited profile is kept');
});

t.test('progress line: drawn on a terminal, silent otherwise', async (t) => {
  const tty = { isTTY: true, columns: 60, text: '', write(s: string) { this.text += s; } };
  const p = new Progress(tty, 2);
  p.started('vgic_init');
  t.match(tty.text, /\r\x1b\[K\[0\/2\] \d+\.\d s {2}running: vgic_init/);
  p.finished('vgic_init');
  t.match(tty.text, /\[1\/2\]/);
  p.stop();
  t.ok(tty.text.endsWith('\r\x1b[K'), 'the line is erased at the end');
  const pipe = { isTTY: false, text: '', write(s: string) { this.text += s; } };
  const q = new Progress(pipe, 2);
  q.started('vgic_init');
  q.finished('vgic_init');
  q.stop();
  t.equal(pipe.text, '', 'nothing when stderr is not a terminal');
  const narrow = { isTTY: true, columns: 30, text: '', write(s: string) { this.text += s; } };
  const n = new Progress(narrow, 1);
  n.started('a_very_long_selftest_name_that_does_not_fit');
  n.stop();
  t.ok(narrow.text.split('\r\x1b[K').every((l) => l.length <= 29), 'fits the terminal width');
});

t.test('a file Node cannot import is found before it is run', async (t) => {
  t.match(importProblem('selftests/a\\b.ts', '/p'), /Node cannot import "selftests\/a\\\\b\.ts": a '\\' in a file name makes an invalid module URL \(ERR_INVALID_MODULE_SPECIFIER\)/);
  t.equal(importProblem('selftests/vgic_init.ts', '/p'), null);
  t.equal(importProblem('selftests/odd name #1 %.ts', '/p'), null, 'spaces, # and % are fine');
});

t.test('U+2028 in a selftest’s output does not hide the lines after it from the runner', async (t) => {
  const tap = await parseChildTap('TAP version 14\n1..2\n# a\u2028b\u2029c\nok 1 - first\nnot ok 2 - second\n');
  t.ok(tap.valid, tap.problems.join('; '));
  t.same(tap.cases.map((c) => [c.name, c.ok]), [['first', true], ['second', false]]);
  t.same(tap.cases[0]?.comments, ['a\\u2028b\\u2029c']);
});
