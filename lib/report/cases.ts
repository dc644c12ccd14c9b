// The case list every format prints for a selftest, including the cases the runner adds so
// that a process-level failure (timeout, crash, bad TAP, leftover processes) is visible as a
// failing case.
import type { CaseResult, Naming, SelftestResult } from './model.ts';

/** A case that counts as a failure: not ok, and neither skipped nor expected to fail. */
export function isFailing(c: CaseResult): boolean {
  return !c.ok && c.skip === null && c.todo === null;
}

/** An unexpected pass: `ok ... # TODO` (TAP), XPASS (kselftest). A failure of the selftest. */
export function isXpass(c: CaseResult): boolean {
  return c.ok && c.todo !== null && c.skip === null;
}

/** The name a selftest's result line carries: its own, or kselftest's `selftests: kvm: <name>`
 * (runner.sh's TEST_HDR_MSG, which KernelCI and LAVA parsers key on). */
export function resultName(r: { name: string }, naming: Naming): string {
  return naming === 'kselftest' ? `selftests: kvm: ${r.name}` : r.name;
}

export function syntheticCase(id: number, name: string, comments: string[], timeoutSec: number | null, children: CaseResult[] = []): CaseResult {
  return {
    id,
    name,
    ok: false,
    skip: null,
    todo: null,
    timeoutSec,
    timeMs: null,
    diag: null,
    comments,
    children,
    synthetic: true,
  };
}

/** Human-readable details of why the process itself failed, for diagnostics. */
export function processDetails(r: SelftestResult): string[] {
  const lines: string[] = [];
  if (r.status === 'timeout') lines.push(`killed after the ${r.timeoutSec} s timeout`);
  if (r.exitCode !== null) lines.push(`exit status ${r.exitCode}`);
  if (r.signal !== null) lines.push(`terminated by ${r.signal}`);
  if (!r.tap.valid) lines.push(...r.tap.problems.map((p) => `TAP problem: ${p}`));
  if (r.leftovers.length > 0) lines.push(`left running, then killed by the runner: ${r.leftovers.join('; ')}`);
  lines.push(...r.notes);
  return lines;
}

/** Name of the case the runner adds for a failure no reported case shows. */
function syntheticName(r: SelftestResult): string {
  if (r.status === 'timeout') return 'timeout';
  if (!r.tap.valid) return 'TAP output';
  if (r.tap.cases.some(isXpass)) return 'unexpected pass';
  if (r.leftovers.length > 0) return 'leftover processes';
  return 'process exit';
}

/**
 * Cases to report under a selftest. Parsers such as kunit.py (before 6.x bubbled a parent's own
 * status up) judge a parent by its children, so a failed selftest whose children all passed gets
 * one extra failing case. An empty list means the selftest is reported as a single leaf.
 */
export function reportCases(r: SelftestResult): CaseResult[] {
  const cases = r.tap.cases;
  if (cases.length === 0) return [];
  if ((r.status === 'fail' || r.status === 'timeout') && !cases.some(isFailing)) {
    const id = cases.length + 1;
    return [...cases, syntheticCase(id, syntheticName(r), processDetails(r), r.status === 'timeout' ? r.timeoutSec : null)];
  }
  return cases;
}

/** True for a failed selftest none of whose own test points failed: it crashed, was killed, or
 * printed output that is not TAP. Reported as an error rather than a failed check. */
export function processError(r: SelftestResult): boolean {
  if (r.status !== 'fail') return false;
  const failedCheck = (c: CaseResult): boolean => (!c.synthetic && (isFailing(c) || isXpass(c))) || c.children.some(failedCheck);
  return !r.tap.cases.some(failedCheck);
}

const GUEST_LOCATION = /\bguests\/[\w.\/-]+\.ts:\d+(?::\d+)?/;
/** Guest code may also live in the selftest file itself (as in the kernel's C tests). */
const SELFTEST_LOCATION = /(?<![\w\/.-])(?:[\w.-]+\/)*selftests\/[\w.-]+\.ts:\d+(?::\d+)?/;

/** The first guest source location (guests/<file>.ts:<line>, else a selftest file's) in some text. */
export function findGuestLocation(text: string): string | null {
  const m = GUEST_LOCATION.exec(text) ?? SELFTEST_LOCATION.exec(text);
  return m ? m[0] : null;
}

/** Depth-first list of the failing leaves under (and including) a case. */
export function failingLeaves(c: CaseResult): CaseResult[] {
  if (c.children.length === 0) return isFailing(c) ? [c] : [];
  const leaves = c.children.flatMap(failingLeaves);
  return leaves.length > 0 ? leaves : isFailing(c) ? [c] : [];
}
