// Plain per-test lines for stdout when the JUnit XML goes to a file.
import { resultName } from './cases.ts';
import type { Naming, Reporter, RunInfo, SelftestResult, Summary } from './model.ts';
import { summaryLine } from './summary.ts';
import { headerComments } from './header.ts';

const LABEL: Record<SelftestResult['status'], string> = {
  pass: 'PASS',
  fail: 'FAIL',
  skip: 'SKIP',
  xfail: 'XFAIL',
  timeout: 'TIMEOUT',
};

export class HumanReporter implements Reporter {
  constructor(readonly naming: Naming = 'plain') {}

  begin(info: RunInfo): string {
    return `${headerComments(info).join('\n')}\n`;
  }

  result(r: SelftestResult, index: number): string {
    const secs = (r.durationMs / 1000).toFixed(2);
    const why = r.status === 'pass' || r.reason === '' ? '' : `: ${r.reason.replace(/\s+/g, ' ')}`;
    return `${String(index).padStart(3)} ${LABEL[r.status].padEnd(7)} ${resultName(r, this.naming)} (${secs} s)${why}\n`;
  }

  end(s: Summary): string {
    return `${summaryLine(s)}\n`;
  }
}
