// YAML diagnostics: as a TAP 14 YAML block, or as plain `# ` lines for KTAP.
import { stringify } from 'yaml';
import { commentLines } from './text.ts';

/** Drop null and undefined fields: tap-junit crashes on a YAML null (reference §4.1). */
export function compact(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== null && v !== undefined));
}

function yamlText(obj: Record<string, unknown>): string {
  // lineWidth 0: never fold long lines, so messages stay greppable.
  return stringify(obj, { lineWidth: 0 });
}

/** A TAP YAML block indented two spaces past its test point. */
export function yamlBlock(obj: Record<string, unknown>, testPointIndent: string): string[] {
  const pad = `${testPointIndent}  `;
  const body = yamlText(obj).replace(/\n$/, '').split('\n');
  return [`${pad}---`, ...body.map((l) => `${pad}${l}`), `${pad}...`];
}

/** The same data as KTAP diagnostic lines (ktap.rst: YAML blocks "not recommended"). */
export function diagComments(obj: Record<string, unknown>, indent: string): string[] {
  return commentLines(yamlText(obj), indent);
}
