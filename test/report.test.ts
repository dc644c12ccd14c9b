// The report writers on results made up here (no process is started): escaping in YAML
// blocks, the raw output shown once, TAP 13 for prove, kselftest names, XPASS in every format,
// JUnit times that add up, and merging shard results.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from './tap.ts';
import { parse as parseYaml } from 'yaml';
import { yamlLines } from '../lib/host/tap-writer.ts';
import { reporterFor, type ReportFormat } from '../lib/report/formats.ts';
import type { RunInfo, SelftestResult } from '../lib/report/model.ts';
import { summarize } from '../lib/report/summary.ts';
import { parseChildTap } from '../lib/runner/child-tap.ts';
import type { RawRun } from '../lib/runner/execute.ts';
import { verdict } from '../lib/runner/verdict.ts';
import { checkKtap } from './ktap-grammar.ts';
import { parseTap, runMain } from './runner-helpers.ts';

const info: RunInfo = { seed: 7, total: 0, shard: null, profile: null, timeoutOverrideSec: null, startedAt: new Date(0) };

async function result(name: string, stdout: string, over: Partial<RawRun> = {}): Promise<SelftestResult> {
  const raw: RawRun = { exitCode: 0, signal: null, timedOut: false, stdout, stderr: '', durationMs: 1000, error: null, leftovers: [], notes: [], ...over };
  return verdict({ name, file: `selftests/${name}.ts`, timeoutSec: 120, raw, tap: await parseChildTap(stdout) });
}

function render(format: ReportFormat, results: SelftestResult[], naming: 'plain' | 'kselftest' = 'plain'): string {
  const rep = reporterFor(format, naming);
  let text = rep.begin({ ...info, total: results.length });
  results.forEach((r, i) => (text += rep.result(r, i + 1)));
  return text + rep.end(summarize(results, 1234));
}

const SEPARATORS = 'line\u2028separator\u2029paragraph\u0085next\rcr\u001b[31mesc\u0000nul\ufeffbom\ud800lone';

t.test('YAML blocks: line separators and control characters are escaped, values read back', async (t) => {
  const obj = { stdout: `${SEPARATORS}\nsecond line\n`, list: ['a\u2028b', 'plain'], nested: { n: 3, ok: true, nothing: null } };
  const lines = yamlLines(obj, '');
  for (const l of lines) t.notMatch(l, /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\ufeff]/, `no raw control or separator: ${JSON.stringify(l)}`);
  const back = parseYaml(lines.slice(1, -1).map((l) => l.slice(2)).join('\n')) as typeof obj;
  t.same(back, obj, 'YAML reads back the same values');
  const block = yamlLines({ stdout: 'one\ntwo\n' }, '');
  t.same(block, ['  ---', '  stdout: |', '    one', '    two', '  ...'], 'plain multi-line text stays a readable | block (no |2 or |- that prove cannot read)');
});

t.test('a selftest whose output has U+2028 does not hide the results after it', async (t) => {
  const bad = await result('bad', `not TAP ${SEPARATORS}\n`);
  const good = await result('good', 'TAP version 14\n1..1\nok 1 - fine\n');
  for (const format of ['tap', 'tap13'] as const) {
    const tap = await parseTap(render(format, [bad, good, good]));
    t.same(tap.errors, [], `${format}: strict tap-parser sees no error`);
    t.same(tap.extra, [], `${format}: and no stray line`);
    t.same(tap.top.map((r) => [r.id, r.name, r.ok]), [[1, 'bad', false], [2, 'good', true], [3, 'good', true]], `${format}: every result after it is read`);
  }
  t.same(checkKtap(render('ktap', [bad, good])).errors, [], 'KTAP too');
});

t.test('output that is not valid TAP appears once in each report', async (t) => {
  const marker = 'MARKER-LINE-4711';
  const r = await result('capped', `TAP version 14\n1..3\n# ${marker}\n# Subtest: runaway\n    # ${marker}\n`, { error: 'output exceeded 64 bytes; the selftest was stopped' });
  t.equal(r.status, 'fail');
  for (const format of ['tap', 'tap13', 'ktap', 'junit'] as const) {
    t.equal(render(format, [r]).split(marker).length - 1, 2, `${format}: the two marker lines once each`);
  }
});

t.test('TAP 13 for prove: version 13, no # in names, the same structure', async (t) => {
  const r = await result('hash', 'TAP version 14\n1..1\n# Subtest: region \\#0\n    ok 1 - base \\# 1\n    1..1\nok 1 - region \\#0\n');
  const text = render('tap13', [r]);
  t.ok(text.startsWith('TAP version 13\n1..1\n'));
  t.notMatch(text, /\\#/, 'no TAP 14 escapes');
  t.match(text, /^ {4}ok 1 - region 0$/m);
  t.match(render("tap", [r]), /^ {4}ok 1 - region \\#0$/m, "TAP 14 keeps the escaped #");
});

t.test('kselftest names: selftests: kvm: NAME, with runner.sh header lines', async (t) => {
  const r = await result('vgic_init', 'TAP version 14\n1..1\nok 1 - a\n');
  const ktap = render('ktap', [r], 'kselftest');
  t.match(ktap, /^# timeout set to 120\n# selftests: kvm: vgic_init\n# Subtest: selftests: kvm: vgic_init\n/m);
  t.match(ktap, /^ok 1 selftests: kvm: vgic_init$/m);
  t.same(checkKtap(ktap).errors, []);
  t.match(render('tap', [r], 'kselftest'), /^ok 1 - selftests: kvm: vgic_init # time=/m);
  t.match(render('ktap', [r]), /^ok 1 vgic_init$/m, 'plain names by default');
});

t.test('polarity: expected failure and unexpected pass agree across formats', async (t) => {
  const stdout = [
    'TAP version 14',
    '1..2',
    '# Subtest: declared and failed',
    '    not ok 1 - IGROUPR reads 0x0',
    '    1..1',
    'not ok 1 - declared and failed # TODO expected to fail on iidr-fix: gated',
    '# Subtest: declared but passed',
    '    ok 1 - fine',
    '    1..1',
    'ok 2 - declared but passed # TODO expected to fail on iidr-fix: gated',
    '',
  ].join('\n');
  const r = await result('polar', stdout, { exitCode: 3 });
  t.equal(r.status, 'fail', 'the XPASS fails the selftest');
  t.equal(r.reason, 'declared but passed: unexpected pass (XPASS)');
  const tap = render('tap', [r]);
  t.match(tap, /^ {4}not ok 1 - declared and failed # TODO expected to fail/m, 'TAP: expected failure is not ok # TODO');
  t.match(tap, /^ {4}ok 2 - declared but passed # TODO expected to fail/m, 'TAP: unexpected pass is ok # TODO');
  t.match(tap, /^not ok 1 - polar/m);
  const ktap = render('ktap', [r]);
  t.same(checkKtap(ktap).errors, []);
  t.match(ktap, /^ {4}ok 1 declared and failed # XFAIL expected to fail/m, 'KTAP: ok # XFAIL, as kselftest.h prints it');
  t.match(ktap, /^ {4}ok 2 declared but passed # XPASS expected to fail/m, 'KTAP: ok # XPASS, as kselftest.h prints it');
  t.match(ktap, /^ {4}not ok 3 unexpected pass$/m, 'and a failing case for parsers that judge a parent by its children');
  const junit = render('junit', [r]);
  t.match(junit, /<testcase classname="polar" name="declared and failed" time="[\d.]+"><skipped message="xfail: expected to fail on iidr-fix: gated"\/><\/testcase>/);
  t.match(junit, /name="declared but passed" time="[\d.]+"><failure message="unexpected pass \(XPASS\): expected to fail on iidr-fix: gated" type="xpass">/);
  t.match(junit, /<testsuite name="polar" tests="2" failures="1" errors="0" skipped="1"/, 'JUnit: one failure, no extra error for the same XPASS');
});

t.test('JUnit: what junit-10.xsd allows, extra facts as properties, times that add up', async (t) => {
  const r = await result('timing', 'TAP version 14\n1..2\nok 1 - a # time=12.4ms\n# Subtest: b\n    ok 1 - c\n', { timedOut: true, exitCode: null, signal: 'SIGKILL', durationMs: 3000.4 });
  const xml = render('junit', [r]);
  t.notMatch(xml, /<testsuites[^>]*(skipped|timestamp)=/, 'testsuites: only name, time, tests, failures, errors');
  t.notMatch(xml, /<testcase[^>]*\bfile=/, 'no file on a testcase');
  t.match(xml, /<testsuite name="timing" [^>]*file="selftests\/timing\.ts"/, 'the file is on the testsuite, where the schema allows it');
  t.match(xml, /<property name="wall_time" value="3\.000"\/>/);
  t.match(xml, /<property name="seed" value="7"\/>/);
  const times = [...xml.matchAll(/<testcase [^>]*time="([\d.]+)"/g)].map((m) => Number(m[1]));
  const suite = Number(/<testsuite [^>]*time="([\d.]+)"/.exec(xml)?.[1]);
  t.same(times, [0.012, 2.988], 'the case cut off by the timeout gets the rest of the wall time');
  t.equal(Math.round(times.reduce((a, b) => a + b, 0) * 1000), Math.round(suite * 1000), 'case times add up to the suite time');
});

t.test('merge: shard results become one report, numbered once, in name order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vgic-merge-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const shard = async (name: string, shardText: string, seed: number, names: string[]): Promise<string> => {
    const rs = await Promise.all(names.map((n) => result(n, 'TAP version 14\n1..1\nok 1 - a\n')));
    const rep = reporterFor('json');
    let text = rep.begin({ ...info, seed, shard: shardText, total: rs.length });
    rs.forEach((r, i) => (text += rep.result({ ...r, seed }, i + 1)));
    text += rep.end(summarize(rs, 10));
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const a = await shard('a.json', '1/2', 11, ['vgic_init', 'vgic_migration']);
  const b = await shard('b.json', '2/2', 22, ['vgic_group_iidr', 'vgic_group_v2']);
  const merged = await runMain(['merge', '--format', 'ktap', '--kselftest-names', a, b]);
  t.equal(merged.exitCode, 0, merged.stderr);
  t.same(checkKtap(merged.stdout).errors, []);
  t.same(
    [...merged.stdout.matchAll(/^ok (\d+) (.*)$/gm)].map((m) => `${m[1]} ${m[2]}`),
    ['1 selftests: kvm: vgic_group_iidr', '2 selftests: kvm: vgic_group_v2', '3 selftests: kvm: vgic_init', '4 selftests: kvm: vgic_migration'],
  );
  t.match(merged.stdout, /^# merged from shards 1\/2 \(seed 11\), 2\/2 \(seed 22\)$/m);
  const again = await runMain(['merge', a, a]);
  t.equal(again.exitCode, 2, 'the same shard twice is refused');
  t.match(again.stderr, /^vgic-harness: vgic_init is in both .*a\.json and .*a\.json: give each shard's results once/);
  const notJson = join(dir, 'x.json');
  writeFileSync(notJson, '{"hello": 1}');
  t.match((await runMain(['merge', notJson])).stderr, /not a vgic-harness results file/);
});

t.test('selftest() output: a printed "Subtest:" line or a line separator cannot break the TAP', async (t) => {
  const { tapComments } = await import('../lib/host/tap-writer.ts');
  t.same(tapComments('Subtest: fake\nline\u2028two', '    '), ['    # [Subtest: fake]', '    # line\\u2028two']);
});
