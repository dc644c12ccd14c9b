// An independent KTAP checker, written from the kernel's Documentation/dev-tools/ktap.rst and
// the layout rules in shared/reference/tap-ecosystem.md §0 (what kunit.py, tappy and
// tap-parser all accept). It shares no code with lib/report/, so a writer bug cannot hide here.
//
// Checked:
//  - the document starts with a version line (`KTAP version 1`, `TAP version 13` or `14`),
//    followed directly by the plan `1..N`;
//  - nesting is by 4 spaces; a nested block is introduced by `# Subtest: <name>` at the parent's
//    indentation and its first line is its plan (a `KTAP version 1` line may come between);
//  - result lines are `<ok|not ok> <n> <description>[ # <directive> [<data>]]`, numbers 1..N
//    consecutive per level, description present and without '#', directive among SKIP,
//    XFAIL, XPASS, TIMEOUT and ERROR (TIMEOUT and ERROR only on `not ok`);
//  - the result that closes a nested block names the block (`# Subtest: x` ... `ok 3 x`);
//  - each level has as many results as its plan, and a parent that passed without a
//    directive has no failed child (ktap.rst: "a test fails if any of its subtests fail");
//  - every other line is a diagnostic (`#` or `# text`); unknown lines are refused, since this
//    project's writer never needs them (ktap.rst allows them for kernel consoles).

// XPASS is not in ktap.rst's list but kselftest.h's ksft_test_result_code() prints it (an unexpected pass).
export const KTAP_DIRECTIVES = ['SKIP', 'XFAIL', 'XPASS', 'TIMEOUT', 'ERROR'] as const;
export type KtapDirective = (typeof KTAP_DIRECTIVES)[number];

export interface KtapResult {
  ok: boolean;
  number: number;
  description: string;
  directive: KtapDirective | null;
  /** Text after the directive keyword ('' when none). */
  reason: string;
  /** Results of the nested block this result closes. */
  children: KtapResult[];
  /** Diagnostic lines (without '# ') at this result's level since the previous result. */
  diagnostics: string[];
  line: number;
}

export interface KtapDocument {
  version: string;
  plan: number;
  results: KtapResult[];
  /** Diagnostics after the last top-level result. */
  trailing: string[];
}

export interface KtapCheck {
  errors: string[];
  doc: KtapDocument | null;
}

const VERSION = /^(KTAP version 1|TAP version 1[34])$/;
const PLAN = /^1\.\.(\d+)$/;
const RESULT = /^(ok|not ok) (\d+)(?: (.*))?$/;
const SUBTEST = /^# Subtest: (.*)$/;
const DIAG = /^#(?: (.*))?$/;

interface Line {
  no: number;
  depth: number;
  text: string;
}

class Checker {
  readonly errors: string[] = [];
  #pos = 0;
  constructor(readonly lines: Line[]) {}

  err(line: Line | undefined, msg: string): void {
    this.errors.push(line === undefined ? `at end of document: ${msg}` : `line ${line.no}: ${msg}: ${JSON.stringify(line.text)}`);
  }

  peek(): Line | undefined {
    return this.lines[this.#pos];
  }

  next(): Line | undefined {
    return this.lines[this.#pos++];
  }

  /** Parse the results of one block at `depth` until a shallower line; the plan is already read. */
  block(depth: number, plan: number, context: string): { results: KtapResult[]; trailing: string[] } {
    const results: KtapResult[] = [];
    let diagnostics: string[] = [];
    for (let line = this.peek(); line !== undefined && line.depth >= depth; line = this.peek()) {
      if (line.depth > depth) {
        this.err(line, `indented ${line.depth * 4} spaces without a "# Subtest:" header at ${depth * 4} (${context})`);
        this.next();
        continue;
      }
      const sub = SUBTEST.exec(line.text);
      if (sub !== null) {
        this.next();
        const name = sub[1] ?? '';
        if (name.trim() === '') this.err(line, 'subtest header without a name');
        const child = this.nested(depth + 1, line, name);
        // Diagnostics about the subtest may sit between its block and its result line.
        for (let d = this.peek(); d !== undefined && d.depth === depth && DIAG.test(d.text) && !SUBTEST.test(d.text); d = this.peek()) {
          diagnostics.push(DIAG.exec(d.text)?.[1] ?? '');
          this.next();
        }
        const closing = this.peek();
        if (closing === undefined || closing.depth !== depth || !RESULT.test(closing.text)) {
          this.err(closing, `no result line for subtest "${name}" at indentation ${depth * 4}`);
          continue;
        }
        const r = this.result(this.next() as Line, results.length + 1, diagnostics);
        diagnostics = [];
        if (r === null) continue;
        if (r.description !== name) this.err(closing, `result closing subtest "${name}" is named "${r.description}"`);
        r.children = child;
        if (r.ok && r.directive === null) {
          const bad = child.find((c) => !c.ok && c.directive !== 'SKIP');
          if (bad !== undefined) this.err(closing, `parent is ok but its subtest ${bad.number} "${bad.description}" is not ok`);
        }
        results.push(r);
        continue;
      }
      if (RESULT.test(line.text)) {
        const r = this.result(this.next() as Line, results.length + 1, diagnostics);
        diagnostics = [];
        if (r !== null) results.push(r);
        continue;
      }
      const d = DIAG.exec(line.text);
      if (d !== null) {
        diagnostics.push(d[1] ?? '');
        this.next();
        continue;
      }
      if (PLAN.test(line.text)) this.err(line, `second plan or plan after results (${context})`);
      else if (VERSION.test(line.text)) this.err(line, `version line in the middle of a block (${context})`);
      else this.err(line, `not a KTAP line (${context})`);
      this.next();
    }
    if (results.length !== plan) this.err(this.peek(), `${context}: plan 1..${plan} but ${results.length} results`);
    return { results, trailing: diagnostics };
  }

  /** A nested block: optional `KTAP version 1`, then the plan, first thing after the header. */
  nested(depth: number, header: Line, name: string): KtapResult[] {
    let first = this.peek();
    if (first !== undefined && first.depth === depth && first.text === 'KTAP version 1') {
      this.next();
      first = this.peek();
    }
    const plan = first === undefined || first.depth !== depth ? null : PLAN.exec(first.text);
    if (plan === null) {
      this.err(first ?? header, `subtest "${name}" does not start with its plan at indentation ${depth * 4}`);
      return this.block(depth, -1, `subtest "${name}"`).results;
    }
    this.next();
    const n = Number(plan[1]);
    if (n === 0) this.err(first, `subtest "${name}" plans no tests`);
    return this.block(depth, n, `subtest "${name}"`).results;
  }

  result(line: Line, expected: number, diagnostics: string[]): KtapResult | null {
    const m = RESULT.exec(line.text);
    if (m === null) return null;
    const ok = m[1] === 'ok';
    const number = Number(m[2]);
    if (number !== expected) this.err(line, `test number ${number}, expected ${expected}`);
    // Padded so that a directive with no description (`ok 1 # SKIP x`) is still found.
    const rest = ` ${m[3] ?? ''}`;
    const hash = rest.indexOf(' # ');
    const description = (hash === -1 ? rest : rest.slice(0, hash)).trim();
    let directive: KtapDirective | null = null;
    let reason = '';
    if (description === '') this.err(line, 'result without a description');
    if (description.includes('#')) this.err(line, "description contains '#'");
    if (hash !== -1) {
      const tail = rest.slice(hash + 3);
      const dm = /^(\S+)(?: (.*))?$/.exec(tail);
      const word = dm?.[1] ?? '';
      const known = KTAP_DIRECTIVES.find((d) => d === word);
      if (known === undefined) this.err(line, `unknown directive "${word}" (expected ${KTAP_DIRECTIVES.join(', ')})`);
      else {
        directive = known;
        reason = dm?.[2] ?? '';
        if ((known === 'TIMEOUT' || known === 'ERROR') && ok) this.err(line, `${known} on an ok result`);
      }
    }
    return { ok, number, description, directive, reason, children: [], diagnostics, line: line.no };
  }
}

function splitLines(text: string): Line[] | string {
  const raw = text.split('\n');
  if (raw[raw.length - 1] === '') raw.pop();
  const out: Line[] = [];
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i] as string;
    if (/[\r\t]/.test(t)) return `line ${i + 1}: carriage return or tab`;
    const lead = /^ */.exec(t)?.[0].length ?? 0;
    if (lead % 4 !== 0) return `line ${i + 1}: indentation of ${lead} spaces is not a multiple of 4: ${JSON.stringify(t)}`;
    if (t.trim() === '') return `line ${i + 1}: blank line`;
    out.push({ no: i + 1, depth: lead / 4, text: t.slice(lead) });
  }
  return out;
}

/** Check a whole KTAP document; `errors` is empty when it conforms. */
export function checkKtap(text: string): KtapCheck {
  const lines = splitLines(text);
  if (typeof lines === 'string') return { errors: [lines], doc: null };
  const c = new Checker(lines);
  const version = c.next();
  if (version === undefined || version.depth !== 0 || !VERSION.test(version.text)) {
    c.err(version, 'the first line must be a version line (KTAP version 1, TAP version 13 or 14)');
    return { errors: c.errors, doc: null };
  }
  const planLine = c.next();
  const plan = planLine === undefined || planLine.depth !== 0 ? null : PLAN.exec(planLine.text);
  if (plan === null) {
    c.err(planLine, 'the plan must come right after the version line');
    return { errors: c.errors, doc: null };
  }
  const { results, trailing } = c.block(0, Number(plan[1]), 'top level');
  const leftover = c.peek();
  if (leftover !== undefined) c.err(leftover, 'unexpected line after the document');
  return { errors: c.errors, doc: { version: version.text, plan: Number(plan[1]), results, trailing } };
}
