// TAP writers: one document, each selftest a subtest holding its parsed cases, re-rendered so
// the document stays valid whatever the child printed. Two dialects:
//  - TAP 14 (the default): `TAP version 14`, `\#` and `\\` escapes in descriptions;
//  - TAP 13 (`--format tap13`), for readers that refuse version 14 (Perl's TAP::Harness 3.44,
//    i.e. prove): `TAP version 13`, descriptions without '#' (TAP 13 has no escapes), the same
//    4-space subtests, which TAP 13 readers skip as indented lines.
// Both put every plan first (kunit.py hangs on trailing plans) and write YAML blocks in the
// subset prove's YAMLish reader accepts (lib/host/tap-writer.ts).
import { processDetails, reportCases, resultName } from './cases.ts';
import { compact, yamlBlock } from './diag.ts';
import { headerComments } from './header.ts';
import type { CaseResult, Naming, Reporter, RunInfo, SelftestResult, Summary } from './model.ts';
import { summaryLine } from './summary.ts';
import { commentLines, directive, ktapName, tapName } from './text.ts';

const INDENT = '    ';

export type TapVersion = 13 | 14;

function timeDirective(ms: number | null): string {
  return ms === null ? '' : ` # time=${Math.round(ms * 1000) / 1000}ms`;
}

function describe(name: string, version: TapVersion): string {
  return version === 14 ? tapName(name) : ktapName(name);
}

/** Render one parsed case (and its children, with leading plans) as TAP. With `withComments`
 * false its comment lines are left out (the raw output is shown once elsewhere). */
export function tapCaseLines(c: CaseResult, num: number, ind: string, version: TapVersion = 14, withComments = true): string[] {
  const lines: string[] = [];
  const name = describe(c.name, version);
  if (withComments) lines.push(...commentLines((c.leading ?? []).join('\n'), ind));
  if (c.children.length > 0) {
    lines.push(`${ind}# Subtest: ${name}`, `${ind}${INDENT}1..${c.children.length}`);
    c.children.forEach((child, i) => lines.push(...tapCaseLines(child, i + 1, ind + INDENT, version, withComments)));
  }
  if (withComments || c.synthetic) lines.push(...commentLines(c.comments.join('\n'), ind));
  // TAP has no TIMEOUT directive (tap-parser would keep it in the name), so it is a comment.
  if (c.timeoutSec !== null) lines.push(`${ind}# TIMEOUT ${c.timeoutSec} seconds`);
  let dir = '';
  if (c.skip !== null) dir = directive('SKIP', c.skip);
  else if (c.todo !== null) dir = directive('TODO', c.todo);
  else dir = timeDirective(c.timeMs);
  lines.push(`${ind}${c.ok ? 'ok' : 'not ok'} ${num} - ${name}${dir}`);
  if (c.diag !== null && Object.keys(c.diag).length > 0) lines.push(...yamlBlock(c.diag, ind));
  return lines;
}

/** The process facts for the YAML block under a selftest's result line. The raw stdout is
 * there only when it is not valid TAP, and then the cases above show no comments: each line of
 * output appears once in the report. */
function processYaml(r: SelftestResult): Record<string, unknown> | null {
  if (r.status === 'pass' && r.stderr === '' && r.notes.length === 0) return null;
  return compact({
    status: r.status,
    reason: r.reason === '' ? null : r.reason,
    exitCode: r.exitCode,
    signal: r.signal,
    timeout: r.timeoutSec,
    durationMs: Math.round(r.durationMs),
    leftovers: r.leftovers.length > 0 ? r.leftovers : null,
    notes: r.notes.length > 0 ? r.notes : null,
    tapProblems: r.tap.problems.length > 0 ? r.tap.problems : null,
    stdout: r.tap.valid || r.stdout === '' ? null : r.stdout,
    stderr: r.stderr === '' ? null : r.stderr,
  });
}

export function tapSelftest(r: SelftestResult, num: number, version: TapVersion = 14, naming: Naming = 'plain'): string[] {
  const name = describe(resultName(r, naming), version);
  const lines: string[] = [];
  const cases = reportCases(r);
  if (naming === 'kselftest') lines.push(`# timeout set to ${r.timeoutSec}`, `# ${name}`);
  if (cases.length > 0) {
    lines.push(`# Subtest: ${name}`, `${INDENT}1..${cases.length}`);
    cases.forEach((c, i) => lines.push(...tapCaseLines(c, i + 1, INDENT, version, r.tap.valid)));
    if (r.tap.valid) lines.push(...commentLines(r.tap.trailingComments.join('\n'), INDENT));
  } else if (r.tap.valid) {
    lines.push(...commentLines(r.tap.trailingComments.join('\n'), ''));
  }
  if (r.status === 'timeout') lines.push(`# TIMEOUT ${r.timeoutSec} seconds`);
  // A case the runner added already carries these details.
  else if (r.status === 'fail' && cases.length <= r.tap.cases.length) lines.push(...commentLines(processDetails(r).join('\n'), ''));
  let result: string;
  switch (r.status) {
    case 'pass':
      result = `ok ${num} - ${name}${timeDirective(r.durationMs)}`;
      break;
    case 'skip':
      result = `ok ${num} - ${name}${directive('SKIP', r.reason)}`;
      break;
    case 'xfail':
      // TAP's expected failure is a `not ok` marked TODO.
      result = `not ok ${num} - ${name}${directive('TODO', `xfail: ${r.reason}`)}`;
      break;
    case 'fail':
    case 'timeout':
      result = `not ok ${num} - ${name}${timeDirective(r.durationMs)}`;
      break;
  }
  lines.push(result);
  const yaml = processYaml(r);
  if (yaml !== null) lines.push(...yamlBlock(yaml, ''));
  return lines;
}

function text(lines: string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export class TapReporter implements Reporter {
  constructor(
    readonly version: TapVersion = 14,
    readonly naming: Naming = 'plain',
  ) {}

  begin(info: RunInfo): string {
    return text([`TAP version ${this.version}`, `1..${info.total}`, ...headerComments(info).flatMap((l) => commentLines(l, ''))]);
  }

  result(r: SelftestResult, index: number): string {
    return text(tapSelftest(r, index, this.version, this.naming));
  }

  end(s: Summary): string {
    return text([`# ${summaryLine(s)}`]);
  }
}
