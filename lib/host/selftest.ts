// A selftest file is a list of cases; each becomes one TAP 14 subtest. Cases run in order like
// the C main(); a TEST_REQUIRE skip ends the test as ksft_exit_skip() does, and a case can
// declare on which host-kernel profiles it is expected to fail.
//
// The TAP is written as the cases run, not afterwards: a case's `# Subtest:` line is printed
// before its body starts, so a selftest killed at its timeout (a guest spinning in plain
// JavaScript can only be stopped by killing the process) is reported with the case it was in.
// The verdict of an expected failure is only known at the end, and it goes on the case's result
// line, where TAP puts directives:
//   not ok 2 - name # TODO expected to fail on <profile>: <why> (got: <failure> at <file:line>)
//   ok 3 - name # TODO expected to fail on <profile>: <why>     (an unexpected pass, XPASS)
//
// Nothing here loads a test harness: importing lib/host from a plain program prints nothing and
// starts nothing. The TAP comes from the few lines below, and the harness's own unit tests
// (node-tap) are a separate world.

import { performance } from 'node:perf_hooks';
import { callerLocation } from '../kvm/location.ts';
import { KvmError } from '../uapi/errno.ts';
import { describeValue } from '../kvm/thrown.ts';
import { type HostProfile, resolveProfile } from '../vgic/profiles.ts';
import { arrayArg, fnArg, objectArg, readProps, stringArg } from './args.ts';
import { directive, tapComments, tapDescription, yamlLines } from './tap-writer.ts';
import { type CaseRecorder, TestAssertionFailure, TestSkip, setRecorder, testFail } from './test-util.ts';

export interface SelftestCase {
  name: string;
  run: () => void | Promise<void>;
  /** If this case is expected to fail on `profile`, the reason (XFAIL); else undefined. */
  expectFail?: (profile: HostProfile) => string | undefined;
}

export type SelftestCaseInput = SelftestCase | readonly [string, () => void | Promise<void>];

/** kselftest.h exit codes, which the runner reads (lib/runner/verdict.ts). */
export const SELFTEST_EXIT = { pass: 0, fail: 1, xpass: 3, skip: 4 } as const;

/** A selftest handed to a collector instead of being run (see collectSelftests). */
export interface CollectedSelftest {
  name: string;
  cases: readonly SelftestCase[];
  /** Run the cases exactly as the standalone selftest does, writing its TAP to `write`;
   * resolves to the exit status the process would have. */
  run(write: (text: string) => void): Promise<number>;
}

type Collector = (s: CollectedSelftest) => void;

/** Process-wide, so that a second copy of this module (a mutated model tree imported under
 * another path) hands its selftest to the collector the caller installed. */
const COLLECTOR = Symbol.for('vgic-harness.selftest-collector');
type CollectorSlot = { [COLLECTOR]?: Collector };

/**
 * Import a selftest module with `load` and return the selftests it declared, without running
 * them: each selftest() call during the import is collected. Used by the mutation tests, which
 * run many model variants in one process. Collections do not nest.
 */
export async function collectSelftests(load: () => Promise<unknown>): Promise<CollectedSelftest[]> {
  fnArg(load, 'collectSelftests', 'load', 'a function that imports selftest modules');
  const slot = globalThis as CollectorSlot;
  if (slot[COLLECTOR] !== undefined) testFail('collectSelftests: a collection is already running (collections do not nest)');
  const found: CollectedSelftest[] = [];
  slot[COLLECTOR] = (s) => found.push(s);
  try {
    await load();
  } finally {
    delete slot[COLLECTOR];
  }
  return found;
}

/** Describe any exception a case body raised. */
function describeFailure(e: unknown): { message: string; block: string; location: string | null } {
  if (e instanceof TestAssertionFailure) {
    return { message: e.detail || e.expr, block: e.message, location: e.file ? `${e.file}:${e.line}` : null };
  }
  try {
    const err = e instanceof Error ? e : new Error(String(e));
    const loc = callerLocation(err.stack);
    const kind = e instanceof KvmError ? '' : `${err.name}: `;
    return { message: `${kind}${err.message}`, block: err.stack ?? err.message, location: loc ? `${loc.file}:${loc.line}` : null };
  } catch {
    // a value with no string form, or an Error whose name/message/stack getter throws
    const text = `threw ${describeValue(e)}`;
    return { message: text, block: text, location: null };
  }
}

/** c.expectFail(profile): a reason string or undefined; anything else fails the case. */
function expectedFailure(c: SelftestCase, profile: HostProfile): { reason: string | undefined } | { error: unknown } {
  try {
    const r = c.expectFail?.(profile);
    if (r === undefined || typeof r === 'string') return { reason: r };
    return { error: new TypeError(`expectFail() returned ${describeValue(r)}, not a reason string or undefined`) };
  } catch (e) {
    return { error: e };
  }
}

const SUB = '    ';

function timeDirective(ms: number): string {
  return ` # time=${Math.round(ms * 1000) / 1000}ms`;
}

async function runSelftest(name: string, list: readonly SelftestCase[], write: (text: string) => void): Promise<number> {
  const out = (lines: string[]): void => {
    if (lines.length > 0) write(`${lines.join('\n')}\n`);
  };
  const profile = resolveProfile();
  out(['TAP version 14', `1..${list.length}`, ...tapComments(`${name}: host-kernel profile ${profile.name} (${profile.kernelRef})`, '')]);
  let skipAll: string | null = null;
  let ran = 0;
  let failed = 0;
  let xpassed = 0;
  for (const [i, c] of list.entries()) {
    const num = i + 1;
    const desc = tapDescription(c.name);
    if (skipAll !== null) {
      out([`ok ${num} - ${desc}${directive('SKIP', `not run: ${skipAll}`)}`]);
      continue;
    }
    out([`# Subtest: ${desc}`]);
    let checks = 0;
    const rec: CaseRecorder = {
      comment: (text) => out(tapComments(text, SUB)),
      pass: (text) => out([`${SUB}ok ${++checks} - ${tapDescription(text)}`]),
    };
    const started = performance.now();
    let outcome: 'pass' | 'fail' | 'skip' = 'pass';
    let failure: ReturnType<typeof describeFailure> | null = null;
    let skipReason = '';
    setRecorder(rec);
    try {
      await c.run();
    } catch (e) {
      if (e instanceof TestSkip) {
        outcome = 'skip';
        skipReason = e.reason;
      } else {
        outcome = 'fail';
        failure = describeFailure(e);
      }
    } finally {
      setRecorder(null);
    }
    const time = timeDirective(performance.now() - started);
    const xf = expectedFailure(c, profile);
    if ('error' in xf && outcome !== 'fail') {
      outcome = 'fail';
      failure = describeFailure(xf.error);
    }
    const expected = 'reason' in xf ? xf.reason : undefined;
    if (outcome === 'skip') {
      // ksft_exit_skip(): the rest of the selftest does not run.
      skipAll = skipReason || 'skipped';
      out([checks === 0 ? `${SUB}1..0${directive('SKIP', skipReason)}` : `${SUB}1..${checks}`, `ok ${num} - ${desc}${directive('SKIP', skipReason)}`]);
      continue;
    }
    ran++;
    if (outcome === 'fail' && failure !== null) {
      const f = failure;
      out([
        ...tapComments(f.block, SUB),
        `${SUB}not ok ${++checks} - ${tapDescription(f.message)}`,
        ...(f.location === null ? [] : yamlLines({ location: f.location }, SUB)),
        `${SUB}1..${checks}`,
      ]);
      if (expected !== undefined) {
        // TAP's expected failure: not ok, marked TODO. The directive also says how the case
        // failed, so a reader can check it failed for the expected reason.
        const got = `${f.message}${f.location === null ? '' : ` at ${f.location}`}`;
        out([`not ok ${num} - ${desc}${directive('TODO', `expected to fail on ${profile.name}: ${expected} (got: ${got})`)}`]);
      } else {
        failed++;
        out([`not ok ${num} - ${desc}${time}`]);
      }
      continue;
    }
    if (checks === 0) out([`${SUB}ok ${++checks} - completed`]);
    out(tapComments(`${c.name}: ${checks} checks`, SUB));
    if (expected !== undefined) {
      // An unexpected pass: TAP's `ok ... # TODO`. The selftest exits KSFT_XPASS (3), which the
      // runner counts as a failure, as kselftest's runner.sh does.
      xpassed++;
      out([
        ...tapComments(`unexpected pass (XPASS): expected to fail on ${profile.name}: ${expected}`, SUB),
        `${SUB}1..${checks}`,
        `ok ${num} - ${desc}${directive('TODO', `expected to fail on ${profile.name}: ${expected}`)}`,
      ]);
      continue;
    }
    out([`${SUB}1..${checks}`, `ok ${num} - ${desc}${time}`]);
  }
  if (failed > 0) return SELFTEST_EXIT.fail;
  if (xpassed > 0) return SELFTEST_EXIT.xpass;
  if (ran === 0 && skipAll !== null) return SELFTEST_EXIT.skip;
  return SELFTEST_EXIT.pass;
}

/** The cases, each read once: `[name, body]` or `{ name, run, expectFail? }`. */
function selftestCases(cases: unknown): SelftestCase[] {
  const fn = 'selftest';
  const want = "a case: ['name', () => { ... }] or { name, run, expectFail? }";
  return arrayArg(cases, fn, 'cases', 'an array of cases').map((c, i) => {
    const param = `cases[${i}]`;
    if (Array.isArray(c)) {
      const [name, run] = arrayArg(c, fn, param, want);
      return { name: stringArg(name, fn, `${param}[0]`), run: fnArg<SelftestCase['run']>(run, fn, `${param}[1]`, 'the case body (a function)') };
    }
    const o = readProps(objectArg<object>(c, fn, param), ['name', 'run', 'expectFail'], fn, param);
    const run = fnArg<SelftestCase['run']>(o.run, fn, `${param}.run`, 'the case body (a function)');
    const out: SelftestCase = { name: stringArg(o.name, fn, `${param}.name`), run: () => Reflect.apply(run, c, []) };
    if (o.expectFail !== undefined) {
      const xf = fnArg<NonNullable<SelftestCase['expectFail']>>(o.expectFail, fn, `${param}.expectFail`);
      out.expectFail = (p) => Reflect.apply(xf, c, [p]);
    }
    return out;
  });
}

/**
 * Run the cases and print TAP 14 on stdout: the plan first, then one subtest per case, in
 * order. Exit status (kselftest.h): 0 pass (expected failures included), 1 a case failed,
 * 3 (KSFT_XPASS) a case expected to fail passed, 4 (KSFT_SKIP) every case was skipped.
 */
export function selftest(name: string, cases: ReadonlyArray<SelftestCaseInput>): void {
  stringArg(name, 'selftest', 'name');
  const list = selftestCases(cases);
  const collector = (globalThis as CollectorSlot)[COLLECTOR];
  if (collector !== undefined) {
    collector({ name, cases: list, run: (write) => runSelftest(name, list, write) });
    return;
  }
  runSelftest(name, list, (text) => void process.stdout.write(text)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // A bug in this file, not in a case (every case's exceptions are caught above).
      process.stderr.write(`selftest ${name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = SELFTEST_EXIT.fail;
    },
  );
}
