// Counting selftest outcomes into the one summary line every format ends with.
import type { SelftestResult, Summary } from './model.ts';

export function summarize(results: readonly SelftestResult[], durationMs: number): Summary {
  const s: Summary = { passed: 0, failed: 0, skipped: 0, xfail: 0, timeout: 0, durationMs };
  for (const r of results) {
    switch (r.status) {
      case 'pass':
        s.passed++;
        break;
      case 'xfail':
        // An expected failure is a successful outcome, as in kselftest (`ok ... # XFAIL`).
        s.passed++;
        s.xfail++;
        break;
      case 'skip':
        s.skipped++;
        break;
      case 'timeout':
        s.failed++;
        s.timeout++;
        break;
      case 'fail':
        s.failed++;
        break;
    }
  }
  return s;
}

/** `N passed, N failed, N skipped`: the exact line CI scripts can grep for. */
export function summaryLine(s: Summary): string {
  return `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`;
}

export function runFailed(s: Summary): boolean {
  return s.failed > 0;
}
