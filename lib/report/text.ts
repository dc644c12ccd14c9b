// Making arbitrary child output safe to place on TAP/KTAP lines. The character rules are shared
// with the selftests' own TAP writer (lib/host/tap-writer.ts).
import { oneLine, splitLines, visible } from '../host/tap-writer.ts';

export { directive, tapDescription as tapName } from '../host/tap-writer.ts';

/**
 * A KTAP (or TAP 13) description: one line, no '#' (ktap.rst forbids it and has no escape; TAP 13
 * readers take `# SKIP` in a name for a directive), no leading "- " (kunit_parser would take it
 * for the separator and then fail to match `# Subtest:`).
 */
export function ktapName(name: string): string {
  const s = oneLine(name).replace(/#/g, '').replace(/^(- )+/, '').replace(/ {2,}/g, ' ').trim();
  return s === '' ? 'unnamed' : s;
}

/**
 * Turn free text into `# ` comment lines, each optionally marked with a prefix such as '| '.
 * A line reading "Subtest: x" would become a subtest header for kunit_parser and tap-parser,
 * so it is bracketed.
 */
export function commentLines(text: string, indent: string, prefix = ''): string[] {
  return splitLines(text).map((line) => {
    const v = visible(line).replace(/\s+$/, '');
    const safe = prefix === '' && /^\s*Subtest:/i.test(v) ? `[${v.trim()}]` : v;
    const body = `${prefix}${safe}`.replace(/\s+$/, '');
    return body === '' ? `${indent}#` : `${indent}# ${body}`;
  });
}
