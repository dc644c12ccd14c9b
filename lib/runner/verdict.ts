// From what a selftest process did (exit status, signal, timeout, stdout, leftovers) to the
// outcome the reports print.
//
// The exit status decides as in kselftest's runner.sh (Linux 7.2, kselftest/runner.sh run_one):
// 0 pass, 4 (KSFT_SKIP) skip, 2 (KSFT_XFAIL) xfail, killed at the timeout TIMEOUT, anything else
// (3 = KSFT_XPASS included) a failure. Where this runner is stricter than runner.sh:
//  - the TAP can only make it worse: output that is not valid TAP (a Bail out!, a crash trace,
//    garbage, nothing at all) is a failure whatever the exit status, 2 and 4 included; so is a
//    failed check under exit 0 or 4, and a case that passed although declared to fail (XPASS);
//  - a selftest that leaves processes running after it exits fails (they are killed).
import { isFailing, isXpass } from '../report/cases.ts';
import type { CaseResult, ChildTap, SelftestResult, SelftestStatus } from '../report/model.ts';
import type { RawRun } from './execute.ts';

/** kselftest.h exit codes. */
export const KSFT_PASS = 0;
export const KSFT_FAIL = 1;
export const KSFT_XFAIL = 2;
export const KSFT_XPASS = 3;
export const KSFT_SKIP = 4;

/** "case: assertion" for the first failed check (or unexpected pass). Synthetic cases (a subtest
 * cut off by a crash or a timeout) are not checks: the process outcome explains those. */
function firstFailure(cases: readonly CaseResult[], path: string[] = []): string | null {
  for (const c of cases) {
    if (c.synthetic) continue;
    if (c.children.length > 0) {
      const inner = firstFailure(c.children, [...path, c.name]);
      if (inner !== null && isFailing(c)) return inner;
    }
    if (isFailing(c)) return [...path, c.name].join(': ');
    if (isXpass(c)) return `${[...path, c.name].join(': ')}: unexpected pass (XPASS)`;
  }
  return null;
}

function firstSkipReason(cases: readonly CaseResult[]): string | null {
  for (const c of cases) if (c.skip !== null && c.skip !== '') return c.skip;
  return null;
}

/** Cases still open when the test was killed get the TIMEOUT directive. */
function markTimedOut(cases: readonly CaseResult[], sec: number): CaseResult[] {
  return cases.map((c) => ({
    ...c,
    timeoutSec: c.synthetic ? sec : c.timeoutSec,
    children: markTimedOut(c.children, sec),
  }));
}

export interface VerdictInput {
  name: string;
  file: string;
  timeoutSec: number;
  raw: RawRun;
  tap: ChildTap;
}

function invalidTap(tap: ChildTap, raw: RawRun): string {
  return `TAP output not valid (${tap.problems[0] ?? 'unknown problem'}), exit status ${raw.exitCode}`;
}

export function verdict({ name, file, timeoutSec, raw, tap }: VerdictInput): SelftestResult {
  const failing = firstFailure(tap.cases);
  let status: SelftestStatus;
  let reason: string;
  let cases = tap.cases;
  if (raw.timedOut) {
    status = 'timeout';
    reason = `TIMEOUT ${timeoutSec} seconds`;
    cases = markTimedOut(cases, timeoutSec);
  } else if (raw.error !== null) {
    status = 'fail';
    reason = raw.error;
  } else if (raw.signal !== null) {
    status = 'fail';
    reason = `terminated by ${raw.signal}`;
  } else if (!tap.valid) {
    status = 'fail';
    reason = invalidTap(tap, raw);
  } else if (raw.exitCode === KSFT_SKIP && failing === null) {
    status = 'skip';
    reason = tap.skipAll ?? firstSkipReason(tap.cases) ?? '';
  } else if (raw.exitCode === KSFT_XFAIL) {
    status = 'xfail';
    reason = failing ?? 'exit status 2 (KSFT_XFAIL)';
  } else if (raw.exitCode === KSFT_PASS && failing === null) {
    // A `1..0 # SKIP` plan with exit 0 is reported as what the TAP says.
    status = tap.skipAll !== null ? 'skip' : 'pass';
    reason = tap.skipAll ?? '';
  } else {
    status = 'fail';
    if (failing !== null) reason = failing;
    else if (raw.exitCode === KSFT_XPASS) reason = 'exit status 3 (KSFT_XPASS: a case passed that was expected to fail)';
    else reason = `exit status ${raw.exitCode}`;
  }
  if (raw.leftovers.length > 0 && (status === 'pass' || status === 'skip' || status === 'xfail')) {
    status = 'fail';
    reason = `left ${raw.leftovers.length} process${raw.leftovers.length === 1 ? '' : 'es'} running after it exited: ${raw.leftovers.join('; ')}`;
  }
  return {
    name,
    file,
    status,
    reason,
    exitCode: raw.exitCode,
    signal: raw.signal,
    timeoutSec,
    durationMs: raw.durationMs,
    stdout: raw.stdout,
    stderr: raw.stderr,
    tap: cases === tap.cases ? tap : { ...tap, cases },
    leftovers: raw.leftovers,
    notes: raw.notes,
  };
}
