// Character-level checks of a snapshot's text, before any YAML parsing: one linear pass that
// names the first character a snapshot cannot contain, with its line and column, so that the
// API and the CLI refuse the same files with the same message.
//
// - One byte order mark is allowed, as the first character (YAML 1.2 §5.2; the CLI keeps it in
//   the decoded text so that this check, not the decoder, decides). Any other U+FEFF, including
//   a second BOM right after the first, is refused: YAML would read it as part of the first key.
// - A carriage return must be followed by a line feed (CRLF). YAML 1.2 does not treat a lone CR
//   as a line break, so a CR-only file would be read as one long line and fail with an unrelated
//   error.
// - Control characters (C0 other than TAB/LF/CR, DEL, C1 incl. NEL) and the Unicode line and
//   paragraph separators are refused: no snapshot field can hold them, and editors disagree on
//   whether LS/PS/NEL break lines.
// - Unpaired UTF-16 surrogates are refused (text that did not come from valid UTF-8).
// - More lines than the largest snapshot can have (limits.ts) are refused here, cheaply.

import { MAX_LINES } from './limits.ts';
import { SnapshotError } from './schema.ts';

/** Line and column (both from 1) of a UTF-16 offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

function at(text: string, offset: number): string {
  const { line, column } = lineColumn(text, offset);
  return `line ${line}, column ${column}`;
}

const hex4 = (c: number): string => c.toString(16).toUpperCase().padStart(4, '0');

/** Throws SnapshotError naming the first character no snapshot text may contain. */
export function checkSnapshotText(text: string, maxLines: number = MAX_LINES): void {
  let lines = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) continue; // printable ASCII: the common case
    if (c === 0x0a) {
      if (++lines > maxLines) throw new SnapshotError('', `more than ${maxLines} lines: far more than the largest snapshot has`);
      continue;
    }
    if (c === 0x09) continue;
    if (c === 0x0d) {
      if (text.charCodeAt(i + 1) === 0x0a) continue;
      throw new SnapshotError(
        '',
        `carriage return without a line feed at ${at(text, i)}: CR-only line endings are not line breaks in YAML; use LF or CRLF`,
      );
    }
    if (c === 0xfeff) {
      if (i === 0) continue;
      const second = i === 1 && text.charCodeAt(0) === 0xfeff;
      throw new SnapshotError(
        '',
        second
          ? 'two byte order marks (U+FEFF) at the start of the text: only one is allowed'
          : `byte order mark (U+FEFF) at ${at(text, i)}: only one is allowed, as the first character`,
      );
    }
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) {
      throw new SnapshotError('', `control character U+${hex4(c)} at ${at(text, i)} is not allowed in a snapshot`);
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      throw new SnapshotError('', `unpaired UTF-16 surrogate U+${hex4(c)} at ${at(text, i)}`);
    }
    if (c >= 0xdc00 && c <= 0xdfff) throw new SnapshotError('', `unpaired UTF-16 surrogate U+${hex4(c)} at ${at(text, i)}`);
  }
}
