// From what a selftest process did (exit status, signal, timeout, stdout) to the outcome the
// reports print. The exit status decides, as in kselftest's runner.sh (0 pass, 4 skip, 2 xfail,
// anything else fail, killed at the timeout = TIMEOUT); the TAP output can only make it worse:
// exit 0 with malformed TAP or a failing case is a failure, because a test that crashed the
// TAP stream or hid a failure must not pass.
import { isFailing } from '../report/cases.ts';
import type { CaseResult, ChildTap, SelftestResult, SelftestStatus } from '../report/model.ts';
import type { RawRun } from './execute.ts';

/** kselftest.h exit codes. */
export const KSFT_PASS = 0;
export const KSFT_FAIL = 1;
export const KSFT_XFAIL = 2;
export const KSFT_SKIP = 4;

/** "case: assertion" for the first failed check. Synthetic cases (a subtest cut off by a crash
 * or a timeout) are not checks: the process outcome explains those. */
function firstFailure(cases: readonly CaseResult[], path: string[] = []): string | null {
  for (const c of cases) {
    if (c.synthetic) continue;
    if (c.children.length > 0) {
      const inner = firstFailure(c.children, [...path, c.name]);
      if (inner !== null && isFailing(c)) return inner;
    }
    if (isFailing(c)) return [...path, c.name].join(': ');
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
  } else if (raw.exitCode === KSFT_SKIP && failing === null) {
    status = 'skip';
    reason = tap.skipAll ?? firstSkipReason(tap.cases) ?? '';
  } else if (raw.exitCode === KSFT_XFAIL) {
    status = 'xfail';
    reason = failing ?? 'exit status 2 (KSFT_XFAIL)';
  } else if (raw.exitCode === KSFT_PASS && tap.valid && failing === null) {
    // node-tap exits 0 for a `1..0 # SKIP` plan; report what the TAP says.
    status = tap.skipAll !== null ? 'skip' : 'pass';
    reason = tap.skipAll ?? '';
  } else {
    status = 'fail';
    if (failing !== null) reason = failing;
    else if (!tap.valid) reason = `TAP output not valid (${tap.problems[0] ?? 'unknown problem'}), exit status ${raw.exitCode}`;
    else reason = `exit status ${raw.exitCode}`;
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
  };
}
