// KTAP writer in the one layout every consumer in the reference accepted (tap-ecosystem §0):
// `TAP version 13`, leading plans at every level, `# Subtest:` before each 4-space child block,
// names before directives, diagnostics as `#` lines just before the result they describe.
import { isXpass, processDetails, processError, reportCases, resultName } from './cases.ts';
import { diagComments } from './diag.ts';
import type { CaseResult, Naming, Reporter, RunInfo, SelftestResult, Summary } from './model.ts';
import { summaryLine } from './summary.ts';
import { commentLines, directive as withReason, ktapName } from './text.ts';
import { headerComments } from './header.ts';

const INDENT = '    ';

/** kunit_parser ends a block early at a child result named like its parent, so avoid that. */
function childName(name: string, parentName: string): string {
  const n = ktapName(name);
  return n === parentName ? `${n} (case)` : n;
}

/**
 * The parts of node-tap's YAML worth keeping as KTAP diagnostics. `source` and `stack` are code
 * excerpts, `at` is only the call site of a subtest (or of the harness's own reporting code
 * when the selftest gave a `location`), and a
 * `failure` block the test already printed as comments would appear twice.
 */
export function ktapDiag(diag: Record<string, unknown>, comments: readonly string[], hasChildren: boolean): Record<string, unknown> | null {
  const printed = new Set(comments.map((l) => l.trim()));
  const kept = Object.entries(diag).filter(([k, v]) => {
    if (k === 'source' || k === 'stack') return false;
    if (k === 'at' && (typeof diag.location === 'string' || hasChildren)) return false;
    if (k === 'failure' && typeof v === 'string') return !v.split('\n').every((l) => l.trim() === '' || printed.has(l.trim()));
    return true;
  });
  return kept.length === 0 ? null : Object.fromEntries(kept);
}

function caseLines(c: CaseResult, num: number, name: string, ind: string, inXfail: boolean, withComments: boolean): string[] {
  const lines: string[] = [];
  const xfail = inXfail || (c.todo !== null && !c.ok);
  if (withComments) lines.push(...commentLines((c.leading ?? []).join('\n'), ind));
  if (c.children.length > 0) {
    lines.push(`${ind}# Subtest: ${name}`, `${ind}${INDENT}1..${c.children.length}`);
    c.children.forEach((child, i) => {
      lines.push(...caseLines(child, i + 1, childName(child.name, name), ind + INDENT, xfail, withComments));
    });
  }
  if (withComments || c.synthetic) lines.push(...commentLines(c.comments.join('\n'), ind));
  const diag = c.diag === null ? null : ktapDiag(c.diag, c.comments, c.children.length > 0);
  if (diag !== null) lines.push(...diagComments(diag, ind));
  let result: string;
  if (c.timeoutSec !== null) result = `not ok ${num} ${name} # TIMEOUT ${c.timeoutSec} seconds`;
  else if (c.skip !== null) result = `${c.ok ? 'ok' : 'not ok'} ${num} ${name}${withReason('SKIP', c.skip)}`;
  // kselftest.h (ksft_test_result_code) prints an unexpected pass as `ok N name # XPASS`.
  else if (isXpass(c)) result = `ok ${num} ${name}${withReason('XPASS', c.todo ?? '')}`;
  else if (c.todo !== null) result = `ok ${num} ${name}${withReason('XFAIL', c.todo)}`;
  // kselftest prints an expected failure as `ok N name # XFAIL`; kunit.py would count `not ok`.
  else if (xfail && !c.ok) result = `ok ${num} ${name}${withReason('XFAIL', 'expected failure')}`;
  else result = `${c.ok ? 'ok' : 'not ok'} ${num} ${name}`;
  lines.push(`${ind}${result}`);
  return lines;
}

function selftestDirective(r: SelftestResult): string {
  switch (r.status) {
    case 'pass':
      return '';
    case 'skip':
      return withReason('SKIP', r.reason);
    case 'xfail':
      return withReason('XFAIL', r.reason);
    case 'timeout':
      return ` # TIMEOUT ${r.timeoutSec} seconds`;
    case 'fail':
      // ktap.rst: ERROR is for a test whose execution failed (crash, signal, unusable output),
      // as opposed to a test that ran and reported a failing check.
      return processError(r) ? withReason('ERROR', r.reason) : '';
  }
}

/** Diagnostics printed at the selftest's own level, before its result line. */
export function processDiagnostics(r: SelftestResult, indent: string, synthetic = false): string[] {
  const lines: string[] = [];
  // A case the runner added already carries the process details.
  if (r.status !== 'pass' && r.status !== 'skip' && !synthetic) {
    lines.push(...commentLines(processDetails(r).join('\n'), indent));
  }
  // The raw stdout only when it is not valid TAP; the cases then show no comments, so each
  // line of output appears once.
  if (!r.tap.valid && r.stdout !== '') {
    lines.push(`${indent}# stdout (not valid TAP):`, ...commentLines(r.stdout, indent, '| '));
  }
  if (r.stderr !== '') {
    lines.push(`${indent}# stderr:`, ...commentLines(r.stderr, indent, '| '));
  }
  return lines;
}

export function ktapSelftest(r: SelftestResult, num: number, naming: Naming = 'plain'): string[] {
  const name = ktapName(resultName(r, naming));
  const cases = reportCases(r);
  const lines: string[] = [];
  // runner.sh's run_one() prints these two lines before each test.
  if (naming === 'kselftest') lines.push(`# timeout set to ${r.timeoutSec}`, `# ${name}`);
  if (cases.length > 0) {
    lines.push(`# Subtest: ${name}`, `${INDENT}1..${cases.length}`);
    cases.forEach((c, i) => {
      lines.push(...caseLines(c, i + 1, childName(c.name, name), INDENT, r.status === 'xfail', r.tap.valid));
    });
    if (r.tap.valid) lines.push(...commentLines(r.tap.trailingComments.join('\n'), INDENT));
  } else if (r.tap.valid) {
    lines.push(...commentLines(r.tap.trailingComments.join('\n'), ''));
  }
  lines.push(...processDiagnostics(r, '', cases.length > r.tap.cases.length));
  lines.push(`${r.status === 'pass' || r.status === 'skip' || r.status === 'xfail' ? 'ok' : 'not ok'} ${num} ${name}${selftestDirective(r)}`);
  return lines;
}

function text(lines: string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export class KtapReporter implements Reporter {
  constructor(readonly naming: Naming = 'plain') {}

  begin(info: RunInfo): string {
    // The plan must follow the version line directly: kunit_parser only looks there.
    return text(['TAP version 13', `1..${info.total}`, ...headerComments(info).map((l) => `# ${l}`)]);
  }

  result(r: SelftestResult, index: number): string {
    return text(ktapSelftest(r, index, this.naming));
  }

  end(s: Summary): string {
    return text([`# Totals: pass:${s.passed - s.xfail} fail:${s.failed} xfail:${s.xfail} xpass:0 skip:${s.skipped} error:0`, `# ${summaryLine(s)}`]);
  }
}
