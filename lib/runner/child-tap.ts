// Parse a selftest's stdout with node-tap's tap-parser into the case tree the reporters print,
// and judge whether the output was usable TAP at all.
import { Parser, type FinalResults, type Result } from 'tap-parser';
import { syntheticCase } from '../report/cases.ts';
import type { CaseResult, ChildTap } from '../report/model.ts';

/** Collects one nesting level's test points. */
interface Level {
  cases: CaseResult[];
  /** Comments since the last test point at this level. */
  pending: string[];
  /** A subtest opened at this level and not yet closed by a test point, with the comments
   * printed before its `# Subtest:` line. */
  open: { name: string; level: Level | null; leading: string[] } | null;
}

function newLevel(): Level {
  return { cases: [], pending: [], open: null };
}

function commentText(line: string): string {
  return line.replace(/\n$/, '').replace(/^\s*# ?/, '');
}

function reason(v: string | boolean): string | null {
  if (v === false) return null;
  return v === true ? '' : v;
}

function toDiag(d: unknown): Record<string, unknown> | null {
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return null;
  return d as Record<string, unknown>;
}

/** Close a subtest that never got its result line (the output stopped inside it). Its comment
 * lines are not copied: output that stops inside a subtest is never valid TAP, so the reports
 * show the raw output anyway, once. */
function incomplete(name: string, level: Level | null, id: number): CaseResult {
  const children = level === null ? [] : [...level.cases];
  if (level?.open) children.push(incomplete(level.open.name, level.open.level, children.length + 1));
  return syntheticCase(id, name, ['no result line: the output ended inside this subtest'], null, children);
}

function watch(p: Parser, level: Level, problems: string[], depth: number): void {
  p.on('comment', (line: string) => {
    const text = commentText(line);
    const sub = /^Subtest: (.*)$/.exec(text);
    if (sub) {
      // tap-parser only starts a child parser once indented lines follow; remember the header
      // anyway so a stream that stops right after it still names the unfinished case.
      if (level.open === null) {
        level.open = { name: sub[1] ?? '', level: null, leading: level.pending };
        level.pending = [];
      }
      return;
    }
    level.pending.push(text);
  });
  p.on('child', (child: Parser) => {
    const childLevel = newLevel();
    const name = child.name !== '' ? child.name : (level.open?.name ?? '');
    const leading = level.open?.leading ?? level.pending;
    if (level.open === null) level.pending = [];
    level.open = { name, level: childLevel, leading };
    watch(child, childLevel, problems, depth + 1);
  });
  p.on('assert', (r: Result) => {
    const sub = level.open?.level ?? null;
    const children = sub === null ? [] : sub.cases;
    const comments = sub === null ? level.pending : [...level.pending, ...sub.pending];
    const leading = level.open?.leading ?? [];
    level.cases.push({
      ...(leading.length > 0 ? { leading } : {}),
      id: r.id,
      name: r.name,
      ok: r.ok,
      skip: reason(r.skip),
      todo: reason(r.todo),
      timeoutSec: null,
      timeMs: r.time,
      diag: toDiag(r.diag),
      comments,
      children,
      synthetic: false,
    });
    level.pending = [];
    level.open = null;
  });
  p.on('extra', (data: string) => {
    const line = data.replace(/\n$/, '');
    if (line.trim() !== '') problems.push(`non-TAP line${depth > 0 ? ` at depth ${depth}` : ''}: ${JSON.stringify(line.slice(0, 200))}`);
  });
  if (depth > 0) {
    p.on('complete', (res: FinalResults) => {
      for (const f of res.failures) if ('tapError' in f && f.tapError) problems.push(`${p.fullname}: ${f.tapError}`);
    });
  }
}

/** The name in the last top-level `# Subtest: name` line if no top-level test point follows it. */
function unclosedSubtest(stdout: string): string | null {
  let open: string | null = null;
  for (const line of stdout.split(/\r?\n/)) {
    const sub = /^# Subtest: (.*)$/.exec(line);
    if (sub) open = sub[1] ?? '';
    else if (/^(not )?ok\b/.test(line)) open = null;
  }
  return open;
}

/**
 * tap-parser's line patterns use `.` and `$`, which stop at U+2028 and U+2029 (JavaScript line
 * terminators): one such character in a selftest's output made it silently ignore every line
 * after it. They are written as escapes before parsing (the reports show them that way anyway).
 */
function parserSafe(text: string): string {
  return text.replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

export async function parseChildTap(raw: string): Promise<ChildTap> {
  const stdout = parserSafe(raw);
  const problems: string[] = [];
  const root = newLevel();
  const parser = new Parser({ bail: false });
  watch(parser, root, problems, 0);
  const results = await new Promise<FinalResults>((resolve) => {
    parser.on('complete', resolve);
    parser.end(stdout);
  });
  const fatal: string[] = [];
  if (results.bailout !== false) fatal.push(`Bail out! ${String(results.bailout)}`);
  // tap-parser invents `1..0 # no tests found` for a stream with neither plan nor test points
  // (empty output, a crash before the first line): for a selftest that is a missing plan.
  const noPlan = (results.plan.start === null && results.plan.end === null) || parser.syntheticPlan;
  if (noPlan) fatal.push('no plan');
  // A `# Subtest:` header with nothing after it (a test killed right after printing it) is
  // held back by tap-parser and never reported; find it in the text so the case is named.
  if (root.open === null) {
    const open = unclosedSubtest(stdout);
    if (open !== null) root.open = { name: open, level: null, leading: [] };
  }
  for (const f of results.failures) {
    if ('tapError' in f && f.tapError && f.tapError !== 'no plan') fatal.push(f.tapError);
  }
  const cases = [...root.cases];
  if (root.open !== null) {
    cases.push(incomplete(root.open.name, root.open.level, cases.length + 1));
    fatal.push(`output ended inside subtest ${JSON.stringify(root.open.name)}`);
  }
  const skipAll = results.plan.skipAll && !parser.syntheticPlan ? results.plan.skipReason.replace(/^SKIP\s*/i, '') : null;
  // Errors inside children (from `problems`) that are not just non-TAP lines also make it invalid.
  const childErrors = problems.filter((p) => !p.startsWith('non-TAP line'));
  const valid = fatal.length === 0 && childErrors.length === 0;
  return {
    cases,
    trailingComments: root.pending,
    skipAll,
    valid,
    clean: valid && problems.length === 0,
    problems: [...fatal, ...problems],
  };
}
