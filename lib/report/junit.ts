// JUnit XML for CI test viewers: a flat <testsuites> of one <testsuite> per selftest and one
// <testcase> per top-level case (GitLab mishandles nested suites, reference §5).
import { failingLeaves, findGuestLocation, isFailing, processDetails, reportCases } from './cases.ts';
import { compact } from './diag.ts';
import type { CaseResult, Reporter, RunInfo, SelftestResult, Summary } from './model.ts';
import { summaryLine } from './summary.ts';
import { tapCaseLines } from './tap.ts';
import { element, xmlComment, xmlText } from './xml.ts';
import { headerComments } from './header.ts';

function seconds(ms: number | null): string | null {
  return ms === null ? null : (ms / 1000).toFixed(3);
}

interface CaseXml {
  xml: string;
  failure: boolean;
  error: boolean;
  skipped: boolean;
}

/**
 * Where the failed check is: the selftest library's `location` (a guest assertion's own
 * file:line, as REPORT_GUEST_ASSERT prints it), a `guest` field, else the first guest or
 * selftest source location mentioned in the failure text.
 */
function failureLocation(leaf: CaseResult, details: string): string | null {
  for (const key of ['location', 'guest']) {
    const v = leaf.diag?.[key];
    if (typeof v === 'string' && /:\d+/.test(v)) return v;
  }
  return findGuestLocation(details);
}

/** Assertion message for the failure's message attribute, with the guest location appended. */
function failureMessage(c: CaseResult, details: string): { message: string; location: string | null } {
  const leaves = failingLeaves(c);
  const first = leaves[0] ?? c;
  const message = first.synthetic ? (first.comments[0] ?? first.name) : first.name;
  const where = failureLocation(first, details);
  return { message: where !== null && !message.includes(where) ? `${message} (at ${where})` : message, location: where };
}

function caseXml(r: SelftestResult, c: CaseResult, name: string, inXfail: boolean): CaseXml {
  const attrs = { classname: r.name, name, file: r.file, time: seconds(c.timeMs) };
  let body = '';
  let failure = false;
  let error = false;
  let skipped = false;
  if (c.skip !== null) {
    skipped = true;
    body = element('skipped', { message: c.skip }, null);
  } else if (c.todo !== null || (inXfail && isFailing(c))) {
    // Documented choice: an expected failure is shown as skipped with an "xfail:" message.
    skipped = true;
    body = element('skipped', { message: `xfail: ${c.todo ?? r.reason}` }, null);
  } else if (c.synthetic) {
    // The process misbehaved (timeout, crash, bad TAP): a JUnit <error>, not an assertion.
    error = true;
    const timeout = c.timeoutSec !== null ? `TIMEOUT ${c.timeoutSec} seconds` : null;
    const details = [...(timeout === null ? [] : [timeout]), ...c.comments, ...processDetails(r)].filter((l, i, a) => a.indexOf(l) === i).join('\n');
    const message = timeout ?? c.comments[0] ?? c.name;
    body = element('error', { message, type: r.status === 'timeout' ? 'timeout' : 'process' }, xmlText(details));
  } else if (isFailing(c) || failingLeaves(c).length > 0) {
    failure = true;
    // The message and location first, then the failing subtest's own TAP: assertion names,
    // comments and YAML.
    const tapText = tapCaseLines(c, c.id, '').join('\n');
    const { message, location } = failureMessage(c, tapText);
    const details = [message, ...(location === null ? [] : [`location: ${location}`]), '', tapText].join('\n');
    body = element('failure', { message, type: 'assertion' }, xmlText(details));
  }
  return { xml: element('testcase', attrs, body === '' ? null : body), failure, error, skipped };
}

/** The selftest itself as a single testcase, when it printed no cases. */
function leafXml(r: SelftestResult): CaseXml {
  const attrs = { classname: r.name, name: r.name, file: r.file, time: seconds(r.durationMs) };
  const details = processDetails(r).join('\n');
  switch (r.status) {
    case 'pass':
      return { xml: element('testcase', attrs, null), failure: false, error: false, skipped: false };
    case 'skip':
      return { xml: element('testcase', attrs, element('skipped', { message: r.reason }, null)), failure: false, error: false, skipped: true };
    case 'xfail':
      return { xml: element('testcase', attrs, element('skipped', { message: `xfail: ${r.reason}` }, null)), failure: false, error: false, skipped: true };
    case 'timeout':
    case 'fail': {
      const type = r.status === 'timeout' ? 'timeout' : 'process';
      const body = element('error', { message: r.reason, type }, xmlText(details));
      return { xml: element('testcase', attrs, body), failure: false, error: true, skipped: false };
    }
  }
}

/** GitLab keeps only the first of several testcases with one name, so repeats get a suffix. */
function uniqueNames(cases: CaseResult[]): string[] {
  const seen = new Map<string, number>();
  return cases.map((c) => {
    const n = (seen.get(c.name) ?? 0) + 1;
    seen.set(c.name, n);
    return n === 1 ? c.name : `${c.name} [${n}]`;
  });
}

export interface SuiteXml {
  xml: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

export function junitSuite(r: SelftestResult, info: RunInfo): SuiteXml {
  const cases = reportCases(r);
  const names = uniqueNames(cases);
  const parts = cases.length === 0 ? [leafXml(r)] : cases.map((c, i) => caseXml(r, c, names[i] ?? c.name, r.status === 'xfail'));
  const props = compact({ seed: info.seed, profile: info.profile, status: r.status, exit_status: r.exitCode, signal: r.signal, timeout: r.timeoutSec });
  const propXml = element(
    'properties',
    {},
    Object.entries(props)
      .map(([k, v]) => element('property', { name: k, value: String(v) }, null))
      .join(''),
  );
  const s: SuiteXml = {
    xml: '',
    tests: parts.length,
    failures: parts.filter((p) => p.failure).length,
    errors: parts.filter((p) => p.error).length,
    skipped: parts.filter((p) => p.skipped).length,
  };
  const attrs = { name: r.name, tests: s.tests, failures: s.failures, errors: s.errors, skipped: s.skipped, time: seconds(r.durationMs) };
  const inner = [propXml, ...parts.map((p) => p.xml)];
  if (r.stdout !== '') inner.push(element('system-out', {}, xmlText(r.stdout)));
  if (r.stderr !== '') inner.push(element('system-err', {}, xmlText(r.stderr)));
  const body = `\n${inner.map((x) => `    ${x}\n`).join('')}  `;
  s.xml = element('testsuite', attrs, body);
  return s;
}

/** Collects suites and prints the document at the end (XML has no useful streaming form here). */
export class JunitReporter implements Reporter {
  #info: RunInfo | null = null;
  #suites: SuiteXml[] = [];

  begin(info: RunInfo): string {
    this.#info = info;
    return '';
  }

  result(r: SelftestResult): string {
    if (this.#info === null) throw new Error('JunitReporter.result before begin');
    this.#suites.push(junitSuite(r, this.#info));
    return '';
  }

  end(s: Summary): string {
    const info = this.#info;
    const sum = (k: 'tests' | 'failures' | 'errors' | 'skipped'): number => this.#suites.reduce((a, x) => a + x[k], 0);
    const attrs = {
      name: 'vgic-harness',
      tests: sum('tests'),
      failures: sum('failures'),
      errors: sum('errors'),
      skipped: sum('skipped'),
      time: seconds(s.durationMs),
      timestamp: info === null ? null : info.startedAt.toISOString().replace(/\.\d+Z$/, ''),
    };
    const body = this.#suites.length === 0 ? '' : `\n${this.#suites.map((x) => `  ${x.xml}\n`).join('')}`;
    const header = info === null ? '' : `${xmlComment(headerComments(info).join('; '))}\n`;
    return `<?xml version="1.0" encoding="UTF-8"?>\n${header}${element('testsuites', attrs, body)}\n${xmlComment(summaryLine(s))}\n`;
  }
}
