// The text rules every TAP line this project writes follows, shared by a selftest's own output
// (lib/host/selftest.ts) and the runner's reports (lib/report/). It sits here, below the runner,
// because a selftest process must be able to print TAP without loading the runner.
//
// Two consumers set the limits. Line splitting: tap-parser and Python's universal newlines also
// break lines at \r, U+2028, U+2029, U+0085 and friends, so none of them may reach a line raw.
// YAML: Perl's TAP::Parser (prove) reads YAML blocks with its YAMLish reader, which knows only
// plain scalars, double-quoted one-line strings with \t \n \r \\ \" \xNN escapes, `|` and `>`
// blocks (no chomping or indentation indicators: node-tap's `|2` and `|-` choke it), lists and
// nested mappings. yamlLines() writes only that subset, which is also plain YAML 1.2.

/** Characters that may not appear raw on a TAP line: C0/C1 controls except \t, DEL, line and
 * paragraph separators, the BOM and lone surrogates. */
const UNSAFE_SOURCE = '[\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f\\u2028\\u2029\\ufeff]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const UNSAFE_ALL = new RegExp(UNSAFE_SOURCE, 'g');
const UNSAFE = new RegExp(UNSAFE_SOURCE);

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Show unsafe characters as \xNN / \uNNNN escapes (terminals act on escape sequences too). */
export function visible(text: string): string {
  return text.replace(UNSAFE_ALL, escapeChar);
}

/**
 * Free text as one line: line breaks and tabs become spaces, the rest is made visible. Runs of
 * spaces are kept: a ported check's name is compared with the original's output to the byte
 * (kvm-unit-tests prints "eventid=20  -> lpi= 8195").
 */
export function oneLine(text: string): string {
  return visible(text.replace(/[\r\n\t\u2028\u2029\u0085]+/g, ' ')).trim();
}

/** A TAP 14 description: one line, with '#' and '\' escaped as TAP 14 allows. */
export function tapDescription(name: string): string {
  const s = oneLine(name).replace(/\\/g, '\\\\').replace(/#/g, '\\#');
  return s === '' ? 'unnamed' : s;
}

/** Directive text (after SKIP/TODO): one line, and no '#' that could start another directive. */
export function directiveText(reason: string): string {
  return oneLine(reason).replace(/#/g, '');
}

/** ` # KEYWORD reason`, or ` # KEYWORD` when there is no reason. */
export function directive(keyword: string, reason: string): string {
  const r = directiveText(reason);
  return r === '' ? ` # ${keyword}` : ` # ${keyword} ${r}`;
}

/** Split output into lines at \n, \r\n or a lone \r; a final newline adds no empty line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** `# text` lines at an indentation; an empty line becomes a bare `#`. A line reading
 * "Subtest: x" would open a subtest for tap-parser and kunit_parser, so it is bracketed. */
export function tapComments(text: string, indent: string): string[] {
  return splitLines(text).map((line) => {
    const v = visible(line).replace(/\s+$/, '');
    const safe = /^\s*Subtest:/i.test(v) ? `[${v.trim()}]` : v;
    return safe === '' ? `${indent}#` : `${indent}# ${safe}`;
  });
}

/** A YAML double-quoted scalar using only escapes both YAML 1.2 and YAMLish read. Characters
 * above U+00FF that must not appear raw become \uNNNN (YAML reads it; YAMLish keeps the text). */
export function yamlQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch.length === 1 && UNSAFE.test(ch)) out += escapeChar(ch);
    else out += ch;
  }
  return `${out}"`;
}

/** Text that reads back unchanged from a `|` block: printable lines, a final newline, no
 * first-line indentation (that would need an indentation indicator). */
function literalBlockSafe(s: string): boolean {
  if (!s.endsWith('\n') || /^[ \t]/.test(s)) return false;
  const body = s.slice(0, -1);
  // No blank lines, trailing blanks or lines that read as YAML markers: line-based readers
  // (YAMLish, tap-parser's block scanner) would cut the block there.
  if (/\n\n|^\n|[ \t]\n|[ \t]$|(^|\n)\s*(\.\.\.|---)\s*(\n|$)/.test(body) || /[\t\r]/.test(body)) return false;
  return !UNSAFE.test(body.replace(/\n/g, ' '));
}

const PLAIN_KEY = /^[A-Za-z_][\w.-]*$/;

function yamlKey(k: string): string {
  return PLAIN_KEY.test(k) ? k : yamlQuoted(k);
}

function scalar(v: unknown): string | null {
  if (v === null || v === undefined) return '~';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : yamlQuoted(String(v));
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return v.includes('\n') && literalBlockSafe(v) ? null : yamlQuoted(v);
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (typeof v === 'object' && Object.keys(v as object).length === 0) return '{}';
  if (typeof v === 'object') return null;
  return yamlQuoted(String(v));
}

function valueLines(v: unknown, pad: string, head: string, depth: number): string[] {
  const s = depth > 16 ? yamlQuoted('(nested too deep)') : scalar(v);
  if (s !== null) return [`${head} ${s}`];
  if (typeof v === 'string') return [`${head} |`, ...v.slice(0, -1).split('\n').map((l) => (l === '' ? '' : `${pad}  ${l}`))];
  if (Array.isArray(v)) return [head, ...v.flatMap((item) => valueLines(item, `${pad}  `, `${pad}  -`, depth + 1))];
  return [head, ...mappingLines(v as Record<string, unknown>, `${pad}  `, depth + 1)];
}

function mappingLines(obj: Record<string, unknown>, pad: string, depth: number): string[] {
  return Object.entries(obj)
    .filter(([, v]) => v !== undefined)
    .flatMap(([k, v]) => valueLines(v, pad, `${pad}${yamlKey(k)}:`, depth));
}

/** A TAP YAML block (`---` ... `...`) two spaces past a test point at `testPointIndent`. */
export function yamlLines(obj: Record<string, unknown>, testPointIndent: string): string[] {
  const pad = `${testPointIndent}  `;
  return [`${pad}---`, ...mappingLines(obj, pad, 0), `${pad}...`];
}
