// The reports as their real consumers read them. Runs the runner once over
// test/fixtures/consumers (a pass with a case-level expected failure, an exit-2 expected failure,
// a skip, a timeout and a crash) and once over the real selftests, writing every format, then
// feeds them to:
//   tap-parser --strict  (node-tap's parser)        TAP 14, TAP 13, KTAP
//   prove / TAP::Parser  (perl, Debian `perl`)       TAP 14 (refused: see below), TAP 13, KTAP
//   tappy                (Debian `python3-tap`)      TAP 14, TAP 13, KTAP
//   kunit.py parse       (the kernel's tools/testing/kunit; Debian `linux-source-*`)  KTAP
//   xmllint --schema test/schemas/junit-10.xsd (Debian `libxml2-utils`)              JUnit
// and requires that each accepts its input and counts each selftest the same way.
//
// Usage: node --import=tsx test/consumers.ts
// A consumer that is not installed is skipped with a message, unless CI is set (CI=true), where
// every consumer is required. KUNIT_PY=/path/to/tools/testing/kunit/kunit.py picks kunit.py.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { Parser, type FinalResults, type Result } from 'tap-parser';
import { runMain } from './runner-helpers.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const tmp = mkdtempSync(join(tmpdir(), 'vgic-consumers-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

type Verdict = 'pass' | 'xfail' | 'skip' | 'fail';
type Verdicts = Record<string, Verdict>;

let failures = 0;
const problem = (msg: string): void => {
  failures++;
  process.stdout.write(`FAIL ${msg}\n`);
};
const ok = (msg: string): void => void process.stdout.write(`ok   ${msg}\n`);
const skipped = (msg: string): void => {
  if (CI) problem(`${msg} (required in CI)`);
  else process.stdout.write(`SKIP ${msg}\n`);
};

async function harness(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runMain(argv);
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

interface Run {
  files: Record<'tap14' | 'tap13' | 'ktap' | 'ktapKselftest' | 'junit', string>;
  names: string[];
}

/** One run writing every format; the kselftest-named KTAP comes from its results by `merge`. */
async function runAll(label: string, args: string[]): Promise<Run> {
  const f = (ext: string): string => join(tmp, `${label}.${ext}`);
  const files = { tap14: f('tap'), tap13: f('13.tap'), ktap: f('ktap'), ktapKselftest: f('kselftest.ktap'), junit: f('xml') };
  const json = f('json');
  const run = await harness(['run', ...args, '-o', `tap13:${files.tap13}`, '-o', `ktap:${files.ktap}`, '-o', `junit:${files.junit}`, '-o', `json:${json}`]);
  if (run.code > 1) throw new Error(`${label}: the runner failed (${run.code}): ${run.stderr}`);
  writeFileSync(files.tap14, run.stdout);
  const merged = await harness(['merge', '--format', 'ktap', '--kselftest-names', json]);
  writeFileSync(files.ktapKselftest, merged.stdout);
  const names = (JSON.parse(readFileSync(json, 'utf8')) as { results: { name: string }[] }).results.map((r) => r.name);
  return { files, names };
}

/** The selftest name in a consumer's description: kselftest names made plain, and what a
 * consumer keeps of an unknown directive (`# TIMEOUT ...`, `# time=...`) dropped. */
function plain(name: string): string {
  return name.replace(/^- /, '').replace(/\s+#\s.*$/, '').replace(/^selftests: kvm: /, '');
}

function tapVerdict(ok: boolean, todo: boolean, skip: boolean): Verdict {
  if (skip) return 'skip';
  if (todo) return ok ? 'pass' : 'xfail';
  return ok ? 'pass' : 'fail';
}

async function viaTapParser(file: string): Promise<{ verdicts: Verdicts; errors: string[] }> {
  const parser = new Parser({ strict: true });
  const errors: string[] = [];
  const verdicts: Verdicts = {};
  const watch = (p: Parser): void => {
    p.on('extra', (l: string) => errors.push(`non-TAP line: ${JSON.stringify(l)}`));
    p.on('child', (c: Parser) => watch(c));
    p.on('complete', (r: FinalResults) => {
      for (const x of r.failures) if ('tapError' in x && x.tapError) errors.push(x.tapError);
    });
  };
  watch(parser);
  parser.on('assert', (r: Result) => {
    verdicts[plain(r.name)] = tapVerdict(r.ok, r.todo !== false, r.skip !== false);
  });
  await new Promise<void>((res) => {
    parser.on('complete', () => res());
    parser.end(readFileSync(file, 'utf8'));
  });
  return { verdicts, errors };
}

const PERL_TAP = `
use strict; use warnings; use TAP::Parser;
open(my $fh, '<:raw', $ARGV[0]) or die; local $/; my $tap = <$fh>;
my $p = TAP::Parser->new({ tap => $tap });
while (my $r = $p->next) {
  next unless $r->is_test;
  my $d = $r->description; $d =~ s/^-\\s*//;
  printf "T\\t%d\\t%d\\t%d\\t%s\\n", $r->is_actual_ok ? 1 : 0, $r->has_todo ? 1 : 0, $r->has_skip ? 1 : 0, $d;
}
print "E\\t$_\\n" for $p->parse_errors;
`;

async function viaPerl(file: string): Promise<{ verdicts: Verdicts; errors: string[]; prove: { code: number; out: string } }> {
  const r = await execa('perl', ['-e', PERL_TAP, file], { reject: false });
  const verdicts: Verdicts = {};
  const errors: string[] = [];
  for (const line of String(r.stdout).split('\n')) {
    const [kind, ...f] = line.split('\t');
    if (kind === 'T') verdicts[plain(f[3] ?? '')] = tapVerdict(f[0] === '1', f[1] === '1', f[2] === '1');
    else if (kind === 'E') errors.push(f.join('\t'));
  }
  if (r.exitCode !== 0) errors.push(`perl: ${r.stderr}`);
  const prove = await execa('prove', ['-e', 'cat', file], { reject: false, all: true });
  return { verdicts, errors, prove: { code: prove.exitCode ?? -1, out: String(prove.all) } };
}

const PY_TAPPY = `
import json, sys, unittest
from tap.parser import Parser
from tap.loader import Loader
verdicts = {}
for line in Parser().parse_file(sys.argv[1]):
    if line.category == 'test':
        d = line.description[2:] if line.description.startswith('- ') else line.description
        verdicts[d] = [bool(line.ok), bool(line.todo), bool(line.skip)]
result = unittest.TestResult()
Loader().load([sys.argv[1]]).run(result)
errors = [str(t) + ': ' + m.strip().splitlines()[-1] for t, m in result.errors]
print(json.dumps({'verdicts': verdicts, 'errors': errors, 'run': result.testsRun, 'failures': len(result.failures), 'skipped': len(result.skipped), 'expected': len(result.expectedFailures)}))
`;

async function viaTappy(file: string): Promise<{ verdicts: Verdicts; errors: string[]; summary: string }> {
  const r = await execa('/usr/bin/python3', ['-c', PY_TAPPY, file], { reject: false });
  if (r.exitCode !== 0) return { verdicts: {}, errors: [`python3: ${r.stderr}`], summary: '' };
  const d = JSON.parse(String(r.stdout)) as { verdicts: Record<string, [boolean, boolean, boolean]>; errors: string[]; run: number; failures: number; skipped: number; expected: number };
  const verdicts: Verdicts = {};
  for (const [name, [okv, todo, skip]] of Object.entries(d.verdicts)) verdicts[plain(name)] = tapVerdict(okv, todo, skip);
  return { verdicts, errors: d.errors, summary: `ran ${d.run}, failures ${d.failures}, skipped ${d.skipped}, expected failures ${d.expected}` };
}

function findKunit(): string | null {
  const fromEnv = process.env.KUNIT_PY;
  if (fromEnv !== undefined && fromEnv !== '') return existsSync(fromEnv) ? fromEnv : null;
  for (const base of ['/usr/src', '/work/src']) {
    let entries: string[] = [];
    try {
      entries = readdirSync(base).filter((e) => e.startsWith('linux-source-')).sort().reverse();
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = join(base, e, 'tools', 'testing', 'kunit', 'kunit.py');
      if (existsSync(p)) return p;
    }
  }
  return null;
}

interface KunitGroup {
  name: string;
  sub_groups: KunitGroup[];
  test_cases: { name: string; status: string }[];
  misc?: { tests: number; passed: number; failed: number; crashed: number; skipped: number; errors: number };
}

async function viaKunit(kunit: string, file: string): Promise<{ verdicts: Verdicts; errors: string[]; summary: string }> {
  const json = `${file}.kunit.json`;
  // kunit.py changes to the kernel tree it sits in; absolute paths keep the files found.
  const r = await execa('python3', [kunit, 'parse', `--json=${json}`, file], { reject: false, all: true, timeout: 60_000 });
  const summary = /Testing complete\. .*/.exec(String(r.all))?.[0] ?? '';
  const errors: string[] = [];
  if (!existsSync(json)) return { verdicts: {}, errors: [`kunit.py wrote no JSON (exit ${r.exitCode}): ${String(r.all).slice(-500)}`], summary };
  for (const l of String(r.all).split('\n')) if (/\[ERROR\]|missing expected subtest|could not find|ValueError|Traceback/.test(l)) errors.push(l.trim());
  const top = JSON.parse(readFileSync(json, 'utf8')) as KunitGroup;
  const verdicts: Verdicts = {};
  for (const g of top.sub_groups) {
    const m = g.misc;
    verdicts[plain(g.name)] = m === undefined ? 'fail' : m.failed + m.crashed + m.errors > 0 ? 'fail' : m.skipped === m.tests ? 'skip' : 'pass';
  }
  for (const c of top.test_cases) verdicts[plain(c.name)] = c.status === 'PASS' ? 'pass' : c.status === 'SKIP' ? 'skip' : 'fail';
  return { verdicts, errors, summary };
}

const PY_JUNIT = `
import json, sys, xml.etree.ElementTree as ET
out = {}
for s in ET.parse(sys.argv[1]).getroot().findall('testsuite'):
    cases = s.findall('testcase')
    bad = int(s.get('failures')) + int(s.get('errors'))
    sk = [c.find('skipped') for c in cases if c.find('skipped') is not None]
    if bad: v = 'fail'
    elif sk and len(sk) == len(cases) and all((e.get('message') or '').startswith('xfail:') for e in sk): v = 'xfail'
    elif sk and len(sk) == len(cases): v = 'skip'
    else: v = 'pass'
    out[s.get('name')] = v
print(json.dumps(out))
`;

async function viaXmllint(file: string): Promise<{ verdicts: Verdicts; errors: string[] }> {
  const lint = await execa('xmllint', ['--noout', '--schema', join(ROOT, 'test', 'schemas', 'junit-10.xsd'), file], { reject: false, all: true });
  const errors = lint.exitCode === 0 ? [] : [String(lint.all)];
  const r = await execa('python3', ['-c', PY_JUNIT, file], { reject: false });
  return { verdicts: r.exitCode === 0 ? (JSON.parse(String(r.stdout)) as Verdicts) : {}, errors };
}

/** Whether `cmd args` runs and exits 0 (a missing program is simply false). */
async function have(cmd: string, args: string[]): Promise<boolean> {
  const r = await execa(cmd, args, { reject: false });
  return r.exitCode === 0;
}

function compare(label: string, consumer: string, got: Verdicts, want: Verdicts, errors: string[], extra = ''): void {
  const diffs = Object.keys({ ...want, ...got }).filter((k) => got[k] !== want[k]).map((k) => `${k}: ${got[k] ?? 'missing'} (expected ${want[k] ?? 'nothing'})`);
  const what = `${label}: ${consumer}`;
  if (errors.length > 0) problem(`${what}: refused: ${errors.slice(0, 3).join(' | ')}`);
  else if (diffs.length > 0) problem(`${what}: counts differ: ${diffs.join('; ')}`);
  else {
    const c = (v: Verdict): number => Object.values(got).filter((x) => x === v).length;
    ok(`${what}: accepted; pass ${c('pass')}, xfail ${c('xfail')}, skip ${c('skip')}, fail ${c('fail')}${extra === '' ? '' : ` (${extra})`}`);
  }
}

/** KTAP's XFAIL is not a TAP directive: TAP readers and kunit.py count it as a plain pass. */
function xfailAsPass(v: Verdicts): Verdicts {
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === 'xfail' ? 'pass' : x]));
}

async function checkRun(label: string, run: Run, want: Verdicts): Promise<void> {
  const wantKtap = xfailAsPass(want);
  // tap-parser --strict
  for (const [fmt, file, w] of [['TAP 14', run.files.tap14, want], ['TAP 13', run.files.tap13, want], ['KTAP', run.files.ktap, wantKtap]] as const) {
    const r = await viaTapParser(file);
    compare(label, `tap-parser --strict < ${fmt}`, r.verdicts, w, r.errors);
  }
  // prove (TAP::Parser)
  if (await have('perl', ['-MTAP::Parser', '-e', '1'])) {
    const v14 = await viaPerl(run.files.tap14);
    // TAP::Parser 3.44 knows versions up to 13 only: TAP 14 is refused by design, with exactly
    // this error and no other. --format tap13 is the format for prove.
    const only = v14.errors.length === 1 && /TAP specified version 14 but we don't know about versions later than 13/.test(v14.errors[0] ?? '');
    if (only) ok(`${label}: prove < TAP 14: refused as expected (TAP::Parser 3.44 does not know version 14; use --format tap13)`);
    else problem(`${label}: prove < TAP 14: expected only the version-14 refusal, got ${JSON.stringify(v14.errors)}`);
    for (const [fmt, file, w] of [['TAP 13', run.files.tap13, want], ['KTAP', run.files.ktap, wantKtap]] as const) {
      const r = await viaPerl(file);
      const proveOk = /Result: (PASS|FAIL)/.test(r.prove.out) && !/Parse errors/.test(r.prove.out);
      compare(label, `prove < ${fmt}`, r.verdicts, w, proveOk ? r.errors : [...r.errors, `prove: ${r.prove.out.slice(-300)}`], `prove exit ${r.prove.code}`);
    }
  } else skipped(`${label}: prove: perl's TAP::Parser is not installed`);
  // tappy
  if (await have('/usr/bin/python3', ['-c', 'import tap.loader'])) {
    for (const [fmt, file, w] of [['TAP 14', run.files.tap14, want], ['TAP 13', run.files.tap13, want], ['KTAP', run.files.ktap, wantKtap]] as const) {
      const r = await viaTappy(file);
      compare(label, `tappy < ${fmt}`, r.verdicts, w, r.errors, r.summary);
    }
  } else skipped(`${label}: tappy: not installed (apt-get install python3-tap python3-yaml python3-more-itertools)`);
  // kunit.py
  const kunit = findKunit();
  if (kunit !== null) {
    for (const [fmt, file] of [['KTAP', run.files.ktap], ['KTAP, kselftest names', run.files.ktapKselftest]] as const) {
      const r = await viaKunit(kunit, file);
      compare(label, `kunit.py parse < ${fmt}`, r.verdicts, wantKtap, r.errors, r.summary);
    }
  } else skipped(`${label}: kunit.py: not found (set KUNIT_PY, or install a linux-source package and unpack tools/testing/kunit)`);
  // xmllint with the Jenkins xUnit schema
  if (await have('xmllint', ['--version'])) {
    const r = await viaXmllint(run.files.junit);
    compare(label, 'xmllint --schema junit-10.xsd < JUnit', r.verdicts, want, r.errors);
  } else skipped(`${label}: xmllint: not installed (apt-get install libxml2-utils)`);
}

const fixtures = await runAll('fixtures', ['--dir', join(ROOT, 'test', 'fixtures', 'consumers'), '--jobs', '5', '--seed', '1']);
await checkRun('fixtures', fixtures, { a_pass: 'pass', b_xfail: 'xfail', c_skip: 'skip', d_timeout: 'fail', e_crash: 'fail' });
const real = await runAll('selftests', []);
await checkRun('selftests', real, Object.fromEntries(real.names.map((n) => [n, 'pass' as Verdict])));
process.stdout.write(failures === 0 ? 'consumers: every present consumer accepted every report and counted it the same\n' : `consumers: ${failures} problem(s)\n`);
process.exitCode = failures === 0 ? 0 : 1;
