// TAP 14 writer: one document, each selftest a subtest. A selftest whose own output was clean
// TAP is embedded verbatim (re-indented); otherwise its parsed cases are re-rendered, so the
// document stays valid whatever the child printed.
import { processDetails, reportCases } from './cases.ts';
import { compact, yamlBlock } from './diag.ts';
import { headerComments } from './header.ts';
import type { CaseResult, Reporter, RunInfo, SelftestResult, Summary } from './model.ts';
import { summaryLine } from './summary.ts';
import { commentLines, directiveText, splitLines, tapName } from './text.ts';

const INDENT = '    ';

function directive(keyword: string, reason: string): string {
  const r = directiveText(reason);
  return r === '' ? ` # ${keyword}` : ` # ${keyword} ${r}`;
}

function timeDirective(ms: number | null): string {
  return ms === null ? '' : ` # time=${Math.round(ms * 1000) / 1000}ms`;
}

/** Render one parsed case (and its children, with leading plans) as TAP 14. */
export function tapCaseLines(c: CaseResult, num: number, ind: string): string[] {
  const lines: string[] = [];
  const name = tapName(c.name);
  if (c.children.length > 0) {
    lines.push(`${ind}# Subtest: ${name}`, `${ind}${INDENT}1..${c.children.length}`);
    c.children.forEach((child, i) => lines.push(...tapCaseLines(child, i + 1, ind + INDENT)));
  }
  lines.push(...commentLines(c.comments.join('\n'), ind));
  // TAP has no TIMEOUT directive (tap-parser would keep it in the name), so it is a comment.
  if (c.timeoutSec !== null) lines.push(`${ind}# TIMEOUT ${c.timeoutSec} seconds`);
  let dir = '';
  if (c.skip !== null) dir = directive('SKIP', c.skip);
  else if (c.todo !== null) dir = directive('TODO', c.todo);
  else dir = timeDirective(c.timeMs);
  lines.push(`${ind}${c.ok ? 'ok' : 'not ok'} ${num} - ${name}${dir}`);
  if (c.diag !== null) lines.push(...yamlBlock(c.diag, ind));
  return lines;
}

/** The selftest's stdout minus its version line, indented as a child document. */
function embedded(stdout: string): string[] {
  return splitLines(stdout)
    .filter((l) => !/^TAP version \d+\s*$/.test(l))
    .map((l) => (l.trim() === '' ? '' : `${INDENT}${l}`));
}

function processYaml(r: SelftestResult): Record<string, unknown> | null {
  if (r.status === 'pass' && r.stderr === '') return null;
  return compact({
    status: r.status,
    reason: r.reason === '' ? null : r.reason,
    exitCode: r.exitCode,
    signal: r.signal,
    timeout: r.timeoutSec,
    durationMs: Math.round(r.durationMs),
    tapProblems: r.tap.problems.length > 0 ? r.tap.problems : null,
    stdout: r.tap.valid || r.stdout === '' ? null : r.stdout,
    stderr: r.stderr === '' ? null : r.stderr,
  });
}

export function tapSelftest(r: SelftestResult, num: number): string[] {
  const name = tapName(r.name);
  const lines: string[] = [];
  if (r.tap.clean) {
    lines.push(`# Subtest: ${name}`, ...embedded(r.stdout));
  } else {
    const cases = reportCases(r);
    if (cases.length > 0) {
      lines.push(`# Subtest: ${name}`, `${INDENT}1..${cases.length}`);
      cases.forEach((c, i) => lines.push(...tapCaseLines(c, i + 1, INDENT)));
      lines.push(...commentLines(r.tap.trailingComments.join('\n'), INDENT));
    } else {
      lines.push(...commentLines(r.tap.trailingComments.join('\n'), ''));
    }
  }
  if (r.status === 'timeout') lines.push(`# TIMEOUT ${r.timeoutSec} seconds`);
  else if (r.status === 'fail') lines.push(...commentLines(processDetails(r).join('\n'), ''));
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
  begin(info: RunInfo): string {
    return text(['TAP version 14', `1..${info.total}`, ...headerComments(info).map((l) => `# ${l}`)]);
  }

  result(r: SelftestResult, index: number): string {
    return text(tapSelftest(r, index));
  }

  end(s: Summary): string {
    return text([`# ${summaryLine(s)}`]);
  }
}
