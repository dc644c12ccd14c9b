// Shared by the runner's tests: run the real CLI as a child process (as make run_tests does),
// and read its output with parsers that share no code with lib/report/.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { Parser, type FinalResults } from 'tap-parser';
import { main, type MainIo } from '../lib/runner/main.ts';

export const ROOT = resolve(import.meta.dirname, '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'selftests');
export const BIN = join(ROOT, 'bin', 'vgic-harness.ts');

/** Every fixture, in the order the runner must print them (sorted by name). */
export const FIXTURE_NAMES = ['crash', 'fail_guest', 'garbage', 'guest_assert', 'hang', 'pass_two', 'skip_all', 'throws', 'todo_case', 'xfail_exit'];

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The tap runner's own variables would reach the CLI too; the runner must cope, so keep them. */
export async function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  const res = await execa(process.execPath, ['--import=tsx', BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? {},
    reject: false,
    stripFinalNewline: false,
    timeout: 60_000,
  });
  return { exitCode: res.exitCode ?? -1, stdout: String(res.stdout), stderr: String(res.stderr) };
}

/**
 * The same CLI in this process: no tsx start-up per call, so option and listing checks stay
 * fast. stderr is not a terminal here, as in CI.
 */
export async function runMain(argv: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: MainIo = {
    stdout: (s) => void (stdout += s),
    stderr: { isTTY: false, write: (s: string) => void (stderr += s) },
    stderrText: (s) => void (stderr += s),
    stdoutIsTTY: false,
    env: { ...process.env, ...opts.env },
  };
  const exitCode = await main(argv, io, opts.cwd ?? ROOT);
  return { exitCode, stdout, stderr };
}

export interface TapCheck {
  results: FinalResults;
  /** Lines tap-parser could not read as TAP, at any depth. */
  extra: string[];
  /** Parse errors (tapError) reported by tap-parser at any depth. */
  errors: string[];
  /** Top-level test points as [ok, name, todo/skip]. */
  top: { ok: boolean; name: string; todo: string | boolean; skip: string | boolean; id: number }[];
  /** Top-level comment lines. */
  comments: string[];
}

/** Parse a TAP document with node-tap's tap-parser in strict mode (non-TAP lines are errors). */
export async function parseTap(text: string): Promise<TapCheck> {
  const parser = new Parser({ strict: true });
  const extra: string[] = [];
  const errors: string[] = [];
  const top: TapCheck['top'] = [];
  const comments: string[] = [];
  const watch = (p: Parser): void => {
    p.on('extra', (l: string) => extra.push(l));
    p.on('child', (c: Parser) => watch(c));
    p.on('complete', (r: FinalResults) => {
      for (const f of r.failures) if ('tapError' in f && f.tapError) errors.push(`${p.fullname || '(top)'}: ${f.tapError}`);
    });
  };
  watch(parser);
  parser.on('assert', (r) => top.push({ ok: r.ok, name: r.name, todo: r.todo, skip: r.skip, id: r.id }));
  parser.on('comment', (c: string) => comments.push(c.trim()));
  const results = await new Promise<FinalResults>((res) => {
    parser.on('complete', res);
    parser.end(text);
  });
  return { results, extra, errors, top, comments };
}

export interface JunitCounts {
  suites: { name: string; tests: number; failures: number; errors: number; skipped: number; cases: number; failureTexts: string[]; errorMessages: string[] }[];
  totals: { tests: number; failures: number; errors: number };
}

/** Python's xml.etree: an XML parser that has nothing to do with this project. */
const PY_JUNIT = `
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == 'testsuites', root.tag
out = {'totals': {k: int(root.get(k)) for k in ('tests', 'failures', 'errors')}, 'suites': []}
for s in root.findall('testsuite'):
    cases = s.findall('testcase')
    out['suites'].append({
        'name': s.get('name'),
        'tests': int(s.get('tests')), 'failures': int(s.get('failures')),
        'errors': int(s.get('errors')), 'skipped': int(s.get('skipped')),
        'cases': len(cases),
        'counted': {
            'failures': sum(1 for c in cases if c.find('failure') is not None),
            'errors': sum(1 for c in cases if c.find('error') is not None),
            'skipped': sum(1 for c in cases if c.find('skipped') is not None),
        },
        'failureTexts': [(f.get('message') or '') + '\\n' + (f.text or '') for c in cases for f in c.findall('failure')],
        'errorMessages': [e.get('message') or '' for c in cases for e in c.findall('error')],
    })
print(json.dumps(out))
`;

export async function parseJunit(file: string): Promise<JunitCounts & { raw: string }> {
  const res = await execa('python3', ['-c', PY_JUNIT, file], { reject: false });
  if (res.exitCode !== 0) throw new Error(`python3 could not parse ${file}: ${res.stderr}`);
  const parsed = JSON.parse(res.stdout) as JunitCounts & { suites: (JunitCounts['suites'][number] & { counted: { failures: number; errors: number; skipped: number } })[] };
  for (const s of parsed.suites) {
    // The counts in the attributes must agree with the elements, or viewers show nonsense.
    if (s.counted.failures !== s.failures || s.counted.errors !== s.errors || s.counted.skipped !== s.skipped || s.cases !== s.tests) {
      throw new Error(`suite ${s.name}: attributes ${JSON.stringify(s)} disagree with its testcases`);
    }
  }
  return { ...parsed, raw: readFileSync(file, 'utf8') };
}

/** The hang fixture prints `pid P grandchild pid G`. */
export function hangPids(text: string): number[] {
  const m = /pid (\d+) grandchild pid (\d+)/.exec(text);
  if (m === null) throw new Error('hang fixture pids not found in the output');
  return [Number(m[1]), Number(m[2])];
}

/** Running (a zombie waiting for its reaper does not count: it no longer runs anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Processes whose process group is `pgid` (Linux /proc). */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] = state, [1] = ppid, [2] = pgrp
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(e));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}
