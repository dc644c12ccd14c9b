// A selftest file is a list of cases; each becomes one node-tap subtest (TAP 14). Cases run
// in order like the C main(); a TEST_REQUIRE skip ends the test as ksft_exit_skip() does, and
// a case can declare on which host-kernel profiles it is expected to fail (reported as TODO).

import t, { type Test } from 'tap';
import { callerLocation } from '../kvm/location.ts';
import { KvmError } from '../uapi/errno.ts';
import { type HostProfile, resolveProfile } from '../vgic/profiles.ts';
import { type CaseRecorder, TestAssertionFailure, TestSkip, setRecorder } from './test-util.ts';

export interface SelftestCase {
  name: string;
  run: () => void | Promise<void>;
  /** If this case is expected to fail on `profile`, the reason (XFAIL); else undefined. */
  expectFail?: (profile: HostProfile) => string | undefined;
}

type Event = { kind: 'comment'; text: string } | { kind: 'pass'; text: string };

interface CaseResult {
  events: Event[];
  checks: number;
  outcome: 'pass' | 'fail' | 'skip';
  failure?: { message: string; block: string; location?: string };
  skipReason?: string;
}

/** Describe any exception a case body raised as a TAP failure. */
function describeFailure(e: unknown): NonNullable<CaseResult['failure']> {
  if (e instanceof TestAssertionFailure) {
    const location = e.file ? `${e.file}:${e.line}` : undefined;
    return { message: e.detail || e.expr, block: e.message, ...(location ? { location } : {}) };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const loc = callerLocation(err.stack);
  const location = loc ? `${loc.file}:${loc.line}` : undefined;
  const kind = e instanceof KvmError ? '' : `${err.name}: `;
  return { message: `${kind}${err.message}`, block: err.stack ?? err.message, ...(location ? { location } : {}) };
}

async function runCase(c: SelftestCase): Promise<CaseResult> {
  const res: CaseResult = { events: [], checks: 0, outcome: 'pass' };
  const rec: CaseRecorder = {
    comment: (text) => res.events.push({ kind: 'comment', text }),
    pass: (text) => {
      res.checks++;
      res.events.push({ kind: 'pass', text });
    },
  };
  setRecorder(rec);
  try {
    await c.run();
  } catch (e) {
    if (e instanceof TestSkip) {
      res.outcome = 'skip';
      res.skipReason = e.reason;
    } else {
      res.outcome = 'fail';
      res.failure = describeFailure(e);
    }
  } finally {
    setRecorder(null);
  }
  return res;
}

function replay(tt: Test, r: CaseResult): void {
  for (const ev of r.events) {
    if (ev.kind === 'comment') tt.comment(ev.text);
    else tt.pass(ev.text);
  }
}

/** Run the cases and print TAP 14: one top-level subtest per case, in order. Exit status: 0 pass,
 * 1 failure, 4 when every case was skipped (ksft_exit_skip). A case expected to fail on the
 * current profile reports `# TODO XFAIL ...`; one that passes there is a failure (XPASS). */
export function selftest(name: string, cases: ReadonlyArray<SelftestCase | readonly [string, () => void | Promise<void>]>): void {
  const list: SelftestCase[] = cases.map((c) => (Array.isArray(c) ? { name: c[0], run: c[1] } : (c as SelftestCase)));
  void runAll(name, list);
}

async function runAll(name: string, list: SelftestCase[]): Promise<void> {
  const profile = resolveProfile();
  const header = `${name}: host-kernel profile ${profile.name} (${profile.kernelRef})`;
  let skipAll: string | null = null;
  let ran = 0;
  for (const c of list) {
    if (skipAll !== null) {
      await t.test(c.name, { skip: `not run: ${skipAll}` }, () => {});
      continue;
    }
    // Run the body first, so the verdict (and an XFAIL's TODO) is known when the subtest opens.
    const r = await runCase(c);
    if (c === list[0]) r.events.unshift({ kind: 'comment', text: header });
    const expected = c.expectFail?.(profile);
    if (r.outcome === 'skip') skipAll = r.skipReason ?? 'skipped';
    else ran++;
    // node-tap does not run the body of a todo subtest, so the directive also says how the case
    // failed: the reader can check it failed for the expected reason.
    const xfail =
      expected !== undefined && r.outcome === 'fail'
        ? { todo: `expected to fail on ${profile.name}: ${expected} (got: ${r.failure!.message}${r.failure!.location ? ` at ${r.failure!.location}` : ''})` }
        : {};
    await t.test(c.name, xfail, (tt) => {
      replay(tt, r);
      if (r.outcome === 'skip') {
        const reason = r.skipReason ?? 'skipped';
        if (r.checks === 0) tt.plan(0, reason);
        else tt.pass(reason, { skip: reason });
      } else if (r.outcome === 'fail') {
        for (const line of r.failure!.block.split('\n')) tt.comment(line);
        tt.fail(r.failure!.message, { location: r.failure!.location ?? '(unknown)', failure: r.failure!.block });
      } else if (expected) {
        tt.fail(`unexpected pass (XPASS): expected to fail on profile ${profile.name}: ${expected}`);
      } else {
        tt.comment(`${c.name}: ${r.checks} checks`);
        if (r.checks === 0) tt.pass('completed');
      }
      tt.end();
    });
  }
  if (ran === 0 && skipAll !== null) process.exitCode = 4;
}
