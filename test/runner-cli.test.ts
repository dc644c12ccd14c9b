// The CLI as a user meets it: --list, --shard, selection, exit statuses, usage errors, the
// junit stdout choice, the snapshot subcommand and the npm bin wrapper. Most checks call the
// CLI's main() in this process (runMain); a few go through bin/ as a child process (runCli) to
// cover the entry points themselves.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { stringifySnapshot } from '../lib/snapshot/yaml-io.ts';
import type { VgicSnapshot } from '../lib/snapshot/schema.ts';
import { FIXTURE_NAMES, FIXTURES, ROOT, groupMembers, hangPids, parseJunit, processAlive, runCli, runMain } from './runner-helpers.ts';

t.setTimeout(90_000);
// The slow checks mostly wait (timeouts, kill grace, child start-up): run them side by side.
t.jobs = 8;

const tmp = mkdtempSync(join(tmpdir(), 'vgic-runner-cli-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

t.test('--list prints the selection, sorted', async (t) => {
  const fx = await runMain(['--list', '--dir', FIXTURES]);
  t.equal(fx.exitCode, 0);
  t.same(lines(fx.stdout), FIXTURE_NAMES);
  const real = await runMain(['--list']);
  t.equal(real.exitCode, 0);
  const names = lines(real.stdout);
  t.same(names, [...names].sort(), 'sorted');
  for (const n of ['vgic_group_iidr', 'vgic_group_v2', 'vgic_init']) t.ok(names.includes(n), `${n} is discovered`);
  const group = await runMain(['list', 'vgic_group_*']);
  t.same(lines(group.stdout), ['vgic_group_iidr', 'vgic_group_v2'], 'a glob selects the group tests only');
});

t.test('--shard I/N: each selftest in exactly one shard (N = 1..4), with --list', async (t) => {
  for (let n = 1; n <= 4; n++) {
    const parts = await Promise.all(
      Array.from({ length: n }, (_, i) => runMain(['--list', '--dir', FIXTURES, '--shard', `${i + 1}/${n}`])),
    );
    const all = parts.flatMap((p) => lines(p.stdout));
    t.ok(parts.every((p) => p.exitCode === 0));
    t.same([...all].sort(), FIXTURE_NAMES, `N=${n}: every fixture once, none twice`);
  }
  const sel = await Promise.all([1, 2].map((i) => runMain(['--list', '--dir', FIXTURES, '--shard', `${i}/2`, 't*', 'x*'])));
  t.same(sel.flatMap((p) => lines(p.stdout)).sort(), ['throws', 'todo_case', 'xfail_exit'], 'sharding applies to the selection');
});

t.test('exit status 1 on a timeout, with nothing left running', async (t) => {
  // --timeout overrides the fixture's own 3 s, as run_kselftest.sh -o overrides settings files.
  // Longer, not shorter: on a loaded machine node and tsx may take seconds to start, and the
  // fixture must print its pids before the timeout for the checks below.
  const r = await runCli(['--dir', FIXTURES, 'hang', '--timeout', '4.5']);
  t.equal(r.exitCode, 1);
  t.match(r.stdout, /# TIMEOUT 4.5 seconds\nnot ok 1 - hang/);
  t.match(r.stdout, /^# 0 passed, 1 failed, 0 skipped$/m);
  const [pid, grandchild] = hangPids(r.stdout);
  t.notOk(processAlive(pid as number), 'the selftest is gone');
  t.notOk(processAlive(grandchild as number), 'so is its grandchild');
  t.same(groupMembers(pid as number), [], 'and its process group is empty');
});

t.test('timeouts: a directory settings file, then a selftest\'s own directive line', async (t) => {
  const dir = join(tmp, 'directive');
  const hang = readFileSync(join(FIXTURES, 'hang.ts'), 'utf8').replace(/^\/\/ vgic-harness:.*\n/m, '');
  mkdirSync(dir);
  writeFileSync(join(dir, 'settings'), '# as in tools/testing/selftests/kvm/settings\ntimeout=0.4\n');
  writeFileSync(join(dir, 'slow.ts'), `// vgic-harness: timeout=0.5\n${hang}`);
  writeFileSync(join(dir, 'slower.ts'), hang);
  const r = await runMain(['--dir', dir, '-j', '2']);
  t.equal(r.exitCode, 1);
  t.match(r.stdout, /# TIMEOUT 0.5 seconds\nnot ok 1 - slow /, 'the directive replaced the settings file');
  t.match(r.stdout, /# TIMEOUT 0.4 seconds\nnot ok 2 - slower /, 'the settings file replaced the 45 s default');
  writeFileSync(join(dir, 'slow.ts'), `// vgic-harness: timeout=never\n${hang}`);
  const bad = await runMain(['--dir', dir]);
  t.equal(bad.exitCode, 2, 'a bad directive is a usage error');
  t.match(bad.stderr, /slow\.ts: bad directive/);
  writeFileSync(join(dir, 'settings'), 'timout=5\n');
  t.match((await runMain(['--dir', dir, '--list'])).stderr, /settings:1: unknown setting 'timout=5'/, 'so is a bad settings line');
});

t.test('a selftest file Node cannot import is reported as "could not run"', async (t) => {
  const dir = join(tmp, 'backslash');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a\\b.ts'), "process.stdout.write('TAP version 14\\n1..0 # SKIP never runs\\n');\n");
  const r = await runMain(['--dir', dir, '--format', 'ktap']);
  t.equal(r.exitCode, 1);
  t.match(r.stdout, /^not ok 1 a\\b # ERROR could not run the selftest: Node cannot import .*a\\\\b\.ts.*ERR_INVALID_MODULE_SPECIFIER/m);
  t.notMatch(r.stdout, /TAP output not valid/, 'not reported as bad TAP');
});

t.test('make run_tests: TESTS and RUN_FLAGS are words for the runner, never shell text', async (t) => {
  const marker = join(tmp, 'pwned');
  const inject = await execa('make', ['-s', 'run_tests', `TESTS=x; touch ${marker}-1 $(touch ${marker}-2) \`touch ${marker}-3\``], { cwd: ROOT, reject: false });
  t.equal(inject.exitCode, 2, 'make fails with the runner\'s usage error');
  t.match(inject.stderr, /vgic-harness: no selftest matches 'x;'/);
  for (const n of [1, 2, 3]) t.notOk(existsSync(`${marker}-${n}`), `no command ran (${n})`);
  const glob = await execa('make', ['-s', 'run_tests', 'TESTS=vgic_group_* vgic_init', 'RUN_FLAGS=--list --shard 1/1'], { cwd: ROOT, reject: false });
  t.equal(glob.exitCode, 0, glob.stderr);
  t.same(lines(glob.stdout), ['vgic_group_iidr', 'vgic_group_v2', 'vgic_init'], 'globs reach the runner unexpanded, several words split');
});

t.test('usage errors: one line naming the problem and a hint, exit 2, nothing run', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--bogus'], /^unknown option '--bogus'$/],
    [['--shard', '5/4'], /^--shard 5\/4: I must be between 1 and 4$/],
    [['--shard', 'half'], /^--shard must look like I\/N/],
    [['--shard', '1/99999999999999999999'], /^--shard 1\/99999999999999999999: N is too large \(at most 9007199254740991\)$/],
    [['--jobs', '0'], /^--jobs must be a positive integer/],
    [['--jobs', 'many'], /^--jobs must be a positive integer/],
    [['--jobs'], /^option '--jobs' needs a value$/],
    [['--timeout', '2147484'], /^--timeout 2147484 is too long: at most 2147483 seconds/],
    [['--format', 'yaml'], /^--format: unknown format 'yaml'/],
    [['--profile', 'linux-4.19'], /^unknown profile 'linux-4\.19'; known profiles: pre-groups, v2-groups-flag, iidr-noop, iidr-fix, series-p1, series-p3, linux-6\.1\.164, linux-6\.12\.43, linux-6\.12\.117, linux-7\.2\.13$/],
    [['no_such_test'], /^no selftest matches 'no_such_test'; known selftests: .*vgic_init/],
    [['--dir', join(tmp, 'missing')], /^cannot read selftest directory/],
    [['--junit', join(tmp, 'missing', 'x.xml')], /^--junit .*: directory .* does not exist$/],
    [['-o', `ktap:${join(tmp, 'missing', 'x.ktap')}`], /^--output .*: directory .* does not exist$/],
  ];
  for (const [argv, msg] of cases) {
    const r = await runMain(argv);
    const what = argv.join(' ');
    t.equal(r.exitCode, 2, `${what}: exit 2`);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    t.equal(lines.length, 1, `${what}: one line`);
    const m = /^vgic-harness: (.*) \(see 'vgic-harness --help'\)$/.exec(lines[0] ?? '');
    t.ok(m, `${what}: names the problem and points to --help: ${lines[0]}`);
    t.match(m?.[1] ?? '', msg, `${what}: message`);
    t.equal(r.stdout, '', `${what}: no report`);
  }
  // Through the real entry point once: the exit status reaches the shell, still one line.
  const viaBin = await runCli(['--jobs', '0', '--bogus']);
  t.equal(viaBin.exitCode, 2);
  t.equal(viaBin.stderr, "vgic-harness: unknown option '--bogus' (see 'vgic-harness --help')\n");
  const env = await runMain(['vgic_init'], { env: { VGIC_PROFILE: 'bogus' } });
  t.equal(env.exitCode, 2, 'an unknown VGIC_PROFILE in the environment is refused up front too');
  t.match(env.stderr, /VGIC_PROFILE in the environment: unknown profile 'bogus'/);
  const help = await runMain(['--help']);
  t.equal(help.exitCode, 0);
  t.match(help.stdout, /^usage: vgic-harness/, 'the full usage only on --help');
});

t.test('--format junit: XML on stdout, or human lines on stdout with --junit FILE', async (t) => {
  const onStdout = await runMain(['--format', 'junit', '--dir', FIXTURES, 'pass_two', 'fail_guest']);
  t.equal(onStdout.exitCode, 1, 'exit status 1 when a selftest fails');
  t.ok(onStdout.stdout.startsWith('<?xml version="1.0" encoding="UTF-8"?>'), 'stdout is the XML document');
  const file = join(tmp, 'stdout.xml');
  writeFileSync(file, onStdout.stdout);
  const j = await parseJunit(file);
  t.same(
    j.suites.map((s) => [s.name, s.failures]),
    [
      ['fail_guest', 1],
      ['pass_two', 0],
    ],
  );
  const junit = join(tmp, 'file.xml');
  const toFile = await runMain(['--format', 'junit', '--junit', junit, '--dir', FIXTURES, '-j', '4', 'pass_two', 'skip_all', 'todo_case', 'xfail_exit']);
  t.equal(toFile.exitCode, 0, 'exit status 0 when everything passes, skips or is an expected failure');
  t.match(toFile.stdout, /^ {2}1 PASS +pass_two \(\d+\.\d\d s\)$/m, 'stdout shows one human line per selftest');
  t.match(toFile.stdout, /^ {2}2 SKIP +skip_all .*Requirement not met/m);
  t.match(toFile.stdout, /^ {2}4 XFAIL +xfail_exit .*irq storm: pending bit lost/m);
  t.match(toFile.stdout, /^3 passed, 0 failed, 1 skipped$/m);
  const k = await parseJunit(junit);
  t.same(k.totals, { tests: 6, failures: 0, errors: 0 });
});

t.test('a run with nothing selected in its shard is still a valid document', async (t) => {
  const r = await runMain(['--dir', FIXTURES, '--shard', '2/2', 'pass_two', '--format', 'ktap']);
  t.equal(r.exitCode, 0);
  t.match(r.stdout, /^TAP version 13\n1\.\.0\n/);
  t.match(r.stdout, /^# 0 passed, 0 failed, 0 skipped$/m);
});

function snapshot(igroupr1: string): VgicSnapshot {
  return {
    vgicSnapshot: 1,
    source: { profile: 'series-p3', vmm: 'firecracker', iidrPolicy: 'none' },
    model: 'v3',
    nrIrqs: 64,
    vcpus: [{ id: 0, mpidr: '0x00000000' }],
    distributor: { GICD_CTLR: '0x00000052', GICD_IGROUPR1: igroupr1 },
    redistributors: { '0': { GICR_CTLR: '0x00000000' } },
    cpuInterfaces: { '0': { ICC_SRE_EL1: '0x0000000000000007' } },
  };
}

t.test('snapshot diff is dispatched to the snapshot CLI', async (t) => {
  const a = join(tmp, 'a.yaml');
  const b = join(tmp, 'b.yaml');
  writeFileSync(a, stringifySnapshot(snapshot('0x5a5a5a5a')));
  writeFileSync(b, stringifySnapshot(snapshot('0x00000000')));
  const same = await runMain(['snapshot', 'diff', a, a]);
  t.same([same.exitCode, same.stdout], [0, ''], 'identical: exit 0');
  const diff = await runMain(['snapshot', 'diff', a, b]);
  t.equal(diff.exitCode, 1, 'different: exit 1');
  t.match(diff.stdout, /GICD_IGROUPR1: 0x5a5a5a5a -> 0x00000000/);
  const bad = await runMain(['snapshot', 'diff', a]);
  t.equal(bad.exitCode, 2, 'bad arguments: exit 2');
  t.match(bad.stderr, /^vgic-harness snapshot diff: diff needs two files, not 1 \(vgic-harness snapshot --help for more\)\n$/);
});

t.test('the npm bin: node bin/vgic-harness.js from anywhere (what npx vgic-harness runs)', async (t) => {
  const wrapper = await execa(process.execPath, [join(ROOT, 'bin', 'vgic-harness.js'), '--list'], { cwd: tmp, reject: false });
  t.equal(wrapper.exitCode, 0);
  t.ok(lines(String(wrapper.stdout)).includes('vgic_init'), 'finds the project selftests from another directory');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  t.equal(pkg.bin?.['vgic-harness'], 'bin/vgic-harness.js');
});
