// JUnit XML for CI test viewers: a flat <testsuites> of one <testsuite> per selftest and one
// <testcase> per top-level case (GitLab mishandles nested suites, reference §5).
import { failingLeaves, findGuestLocation, isFailing, isXpass, processDetails, reportCases } from './cases.ts';
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
  timeMs: number;
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

/** Milliseconds, rounded to whole ms so that sums of the printed values add up exactly. */
function ms(v: number | null): number {
  return v === null || !Number.isFinite(v) || v < 0 ? 0 : Math.round(v);
}

function caseXml(r: SelftestResult, c: CaseResult, name: string, inXfail: boolean, timeMs: number): CaseXml {
  const attrs = { classname: r.name, name, time: seconds(timeMs) };
  let body = '';
  let failure = false;
  let error = false;
  let skipped = false;
  if (c.skip !== null) {
    skipped = true;
    body = element('skipped', { message: c.skip }, null);
  } else if (isXpass(c)) {
    // `ok ... # TODO`: a case expected to fail passed, which fails the selftest (KSFT_XPASS).
    failure = true;
    const message = `unexpected pass (XPASS): ${c.todo ?? ''}`;
    body = element('failure', { message, type: 'xpass' }, xmlText(tapCaseLines(c, c.id, '').join('\n')));
  } else if (c.todo !== null || (inXfail && isFailing(c))) {
    // Documented choice: an expected failure is shown as skipped with an "xfail:" message
    // (junit-10.xsd has no expected-failure element).
    skipped = true;
    body = element('skipped', { message: `xfail: ${c.todo ?? r.reason}` }, null);
  } else if (c.synthetic) {
    // The process misbehaved (timeout, crash, bad TAP, leftovers): a JUnit <error>, not an assertion.
    error = true;
    const timeout = c.timeoutSec !== null ? `TIMEOUT ${c.timeoutSec} seconds` : null;
    const details = [...(timeout === null ? [] : [timeout]), ...c.comments, ...processDetails(r)].filter((l, i, a) => a.indexOf(l) === i).join('\n');
    const message = timeout ?? (r.status === 'fail' ? r.reason : null) ?? c.comments[0] ?? c.name;
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
  return { xml: element('testcase', attrs, body === '' ? null : body), failure, error, skipped, timeMs };
}

/** The selftest itself as a single testcase, when it printed no cases. */
function leafXml(r: SelftestResult): CaseXml {
  const timeMs = ms(r.durationMs);
  const attrs = { classname: r.name, name: r.name, time: seconds(timeMs) };
  const details = processDetails(r).join('\n');
  const plain = (body: string | null, k: Partial<CaseXml> = {}): CaseXml => ({
    xml: element('testcase', attrs, body),
    failure: false,
    error: false,
    skipped: false,
    timeMs,
    ...k,
  });
  switch (r.status) {
    case 'pass':
      return plain(null);
    case 'skip':
      return plain(element('skipped', { message: r.reason }, null), { skipped: true });
    case 'xfail':
      return plain(element('skipped', { message: `xfail: ${r.reason}` }, null), { skipped: true });
    case 'timeout':
    case 'fail': {
      const type = r.status === 'timeout' ? 'timeout' : 'process';
      return plain(element('error', { message: r.reason, type }, xmlText(details)), { error: true });
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
  timeMs: number;
}

/**
 * Case times: each case's own `time=` from its TAP; a case the runner added (timeout, crash)
 * gets the rest of the process's wall time. The suite's time is the sum of its cases, so the
 * numbers add up; the process's wall time (Node start-up and module loading included) is the
 * `wall_time` property.
 */
function caseTimes(r: SelftestResult, cases: CaseResult[]): number[] {
  const own = cases.map((c) => (c.synthetic ? 0 : ms(c.timeMs)));
  const used = own.reduce((a, b) => a + b, 0);
  return cases.map((c, i) => (c.synthetic ? Math.max(0, ms(r.durationMs) - used) : (own[i] as number)));
}

export function junitSuite(r: SelftestResult, info: RunInfo): SuiteXml {
  // An unexpected pass is a <failure> here already; the case the other formats add for parsers
  // that judge a parent by its children would count it twice.
  const xpass = r.tap.cases.some(isXpass);
  const cases = reportCases(r).filter((c, i) => !(xpass && c.synthetic && i >= r.tap.cases.length));
  const names = uniqueNames(cases);
  const times = caseTimes(r, cases);
  const parts = cases.length === 0 ? [leafXml(r)] : cases.map((c, i) => caseXml(r, c, names[i] ?? c.name, r.status === 'xfail', times[i] ?? 0));
  // junit-10.xsd allows no `file` on a testcase and nothing but name/value pairs in properties:
  // everything else a viewer might want is here.
  const props = compact({
    file: r.file,
    seed: r.seed ?? info.seed,
    profile: info.profile,
    status: r.status,
    reason: r.reason === '' ? null : r.reason,
    exit_status: r.exitCode,
    signal: r.signal,
    timeout: r.timeoutSec,
    wall_time: seconds(r.durationMs),
    leftovers: r.leftovers.length > 0 ? r.leftovers.join('; ') : null,
    notes: r.notes.length > 0 ? r.notes.join('; ') : null,
  });
  const propXml = element(
    'properties',
    {},
    Object.entries(props)
      .map(([k, v]) => element('property', { name: k, value: String(v) }, null))
      .join(''),
  );
  const timeMs = parts.reduce((a, p) => a + p.timeMs, 0);
  const s: SuiteXml = {
    xml: '',
    tests: parts.length,
    failures: parts.filter((p) => p.failure).length,
    errors: parts.filter((p) => p.error).length,
    skipped: parts.filter((p) => p.skipped).length,
    timeMs,
  };
  const attrs = {
    name: r.name,
    tests: s.tests,
    failures: s.failures,
    errors: s.errors,
    skipped: s.skipped,
    time: seconds(timeMs),
    timestamp: info.startedAt.toISOString().replace(/\.\d+Z$/, ''),
    file: r.file,
  };
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
    const sum = (k: 'tests' | 'failures' | 'errors' | 'timeMs'): number => this.#suites.reduce((a, x) => a + x[k], 0);
    // junit-10.xsd allows only name, time, tests, failures and errors here. time is the sum of
    // the suites (they may have run side by side); the run's wall time is in the last comment.
    const attrs = {
      name: 'vgic-harness',
      tests: sum('tests'),
      failures: sum('failures'),
      errors: sum('errors'),
      time: seconds(sum('timeMs')),
    };
    const body = this.#suites.length === 0 ? '' : `\n${this.#suites.map((x) => `  ${x.xml}\n`).join('')}`;
    const header = info === null ? '' : `${xmlComment(headerComments(info).join('; '))}\n`;
    const skipped = this.#suites.reduce((a, x) => a + x.skipped, 0);
    const footer = xmlComment(`${summaryLine(s)}; ${skipped} testcases skipped; wall time ${seconds(s.durationMs)} s`);
    return `<?xml version="1.0" encoding="UTF-8"?>\n${header}${element('testsuites', attrs, body)}\n${footer}\n`;
  }
}
