// YAML diagnostics: as a TAP YAML block, or as plain `# ` lines for KTAP. Both use the YAML
// subset of lib/host/tap-writer.ts, which prove's YAMLish reader, tappy (PyYAML) and tap-parser
// all read, and in which no line separator or control character appears raw.
import { yamlLines } from '../host/tap-writer.ts';
import { commentLines } from './text.ts';

/** Drop null and undefined fields: tap-junit crashes on a YAML null (reference §4.1). */
export function compact(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== null && v !== undefined));
}

/** A TAP YAML block indented two spaces past its test point. */
export function yamlBlock(obj: Record<string, unknown>, testPointIndent: string): string[] {
  return yamlLines(obj, testPointIndent);
}

/** The same data as KTAP diagnostic lines (ktap.rst: YAML blocks "not recommended"). */
export function diagComments(obj: Record<string, unknown>, indent: string): string[] {
  const body = yamlLines(obj, '').slice(1, -1).map((l) => l.slice(2));
  return commentLines(body.join('\n'), indent);
}
