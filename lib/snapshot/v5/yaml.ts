// YAML text of a GICv5 snapshot, with the same refusals as ../yaml-io.ts (one document, no
// aliases, anchors, tags or directives, string keys, bounded size) and canonical output, so
// save -> restore -> save gives byte-identical files.

import { Document, isAlias, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import { SnapshotError, joinPath } from '../schema.ts';
import { V5_SNAPSHOT_FIELDS, type VgicSnapshotV5, validateSnapshotV5 } from './schema.ts';

export const MAX_V5_SNAPSHOT_BYTES = 8 * 1024 * 1024;
const MAX_DEPTH = 6;

function refuse(node: unknown, path: string, depth: number): void {
  if (node === null || node === undefined) return;
  if (depth > MAX_DEPTH) throw new SnapshotError(path, `nesting deeper than ${MAX_DEPTH} levels`);
  if (isAlias(node)) throw new SnapshotError(path, 'YAML aliases are not allowed');
  const n = node as { anchor?: string; tag?: string };
  if (n.anchor !== undefined || n.tag !== undefined) throw new SnapshotError(path, 'YAML anchors and tags are not allowed');
  if (isMap(node)) {
    for (const pair of node.items) {
      const key: unknown = pair.key;
      if (!isScalar(key) || typeof key.value !== 'string' || (key as { anchor?: string; tag?: string }).anchor !== undefined || (key as { tag?: string }).tag !== undefined) {
        throw new SnapshotError(path, 'mapping keys must be plain strings');
      }
      refuse(pair.value, joinPath(path, key.value), depth + 1);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => refuse(item, joinPath(path, i), depth + 1));
  } else if (!isScalar(node)) {
    throw new SnapshotError(path, 'unsupported YAML node');
  }
}

/** Parse and validate a GICv5 snapshot; throws SnapshotError on anything unexpected. */
export function parseSnapshotV5Yaml(text: string, maxBytes = MAX_V5_SNAPSHOT_BYTES): VgicSnapshotV5 {
  if (typeof text !== 'string') throw new SnapshotError('', 'expected YAML text');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw new SnapshotError('', `snapshot is ${bytes} bytes; the limit is ${maxBytes}`);
  const docs = parseAllDocuments(text, { version: '1.2', schema: 'core', strict: true, uniqueKeys: true, merge: false, customTags: [] });
  if (!Array.isArray(docs) || docs.length !== 1) throw new SnapshotError('', 'expected exactly one YAML document');
  const doc = docs[0]!;
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new SnapshotError('', `YAML ${problem.code}: ${problem.message.split('\n')[0]}`);
  if (doc.directives?.yaml.explicit || (doc.directives && Object.keys(doc.directives.tags).some((h) => h !== '!!'))) {
    throw new SnapshotError('', 'YAML directives are not allowed');
  }
  if (!isMap(doc.contents)) throw new SnapshotError('', 'the document root must be a mapping');
  refuse(doc.contents, '', 0);
  return validateSnapshotV5(doc.toJS({ maxAliasCount: 0, mapAsMap: false }));
}

/** Canonical YAML of a (validated) GICv5 snapshot. */
export function stringifySnapshotV5(s: VgicSnapshotV5): string {
  const v = validateSnapshotV5(JSON.parse(JSON.stringify(s)));
  const out: Record<string, unknown> = {};
  for (const k of V5_SNAPSHOT_FIELDS) out[k] = v[k];
  return new Document(out, { version: '1.2', schema: 'core' }).toString({ defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0, minContentWidth: 0, indent: 2, indentSeq: true });
}
