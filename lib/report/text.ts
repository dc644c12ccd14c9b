// Making arbitrary child output safe to place on TAP/KTAP lines.

/**
 * Show control characters as escapes. Consumers split lines on more than '\n' (Python's
 * universal newlines treat a lone '\r' as a line end), and terminals act on escape sequences.
 */
export function visible(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Split output into lines; a final newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function oneLine(text: string): string {
  return visible(text.replace(/[\r\n\t]+/g, ' ')).replace(/ {2,}/g, ' ').trim();
}

/**
 * A KTAP description: one line, no '#' (ktap.rst forbids it and has no escape), no leading
 * "- " (kunit_parser would take it for the separator and then fail to match `# Subtest:`).
 */
export function ktapName(name: string): string {
  const s = oneLine(name).replace(/#/g, '').replace(/^(- )+/, '').replace(/ {2,}/g, ' ').trim();
  return s === '' ? 'unnamed' : s;
}

/** A TAP 14 description: one line, with '#' and '\' escaped as the TAP 14 spec allows. */
export function tapName(name: string): string {
  const s = oneLine(name).replace(/\\/g, '\\\\').replace(/#/g, '\\#');
  return s === '' ? 'unnamed' : s;
}

/** The text after a directive keyword: one line, no ` # ` that could start another directive. */
export function directiveText(reason: string): string {
  return oneLine(reason).replace(/#/g, '');
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
