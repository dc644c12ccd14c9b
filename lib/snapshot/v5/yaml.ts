// YAML text of a GICv5 snapshot, read by ../yaml-io.ts's bounded reader (one document, no
// aliases, anchors, tags or directives, string keys, no duplicate keys, and the work bounded by
// what the largest valid GICv5 snapshot holds, whatever the text says) and written as canonical
// output, so save -> restore -> save gives byte-identical files.

import { Document, LineCounter, isAlias, isMap, isScalar, isSeq } from 'yaml';
import { SnapshotError, isForbiddenKey, joinPath } from '../schema.ts';
import { type CstLimits, composeBounded } from '../yaml-io.ts';
import { V5_CPU_REGISTERS, V5_IRS_REGISTERS, V5_MAX_LPI_ID_BITS, V5_SNAPSHOT_FIELDS, type VgicSnapshotV5, validateSnapshotV5 } from './schema.ts';
import { VGIC_V5_MAX_NR_SPIS } from '../../uapi/gicv5.ts';

export const MAX_V5_SNAPSHOT_BYTES = 8 * 1024 * 1024;

/** The most vCPUs a GICv5 snapshot lists (schema.ts). */
const V5_MAX_VCPUS = 512;
/** The biggest collection: the LPI IST's `set`, one entry per LPI at LPI_ID_BITS 16. */
const V5_MAX_ENTRIES = 1 << V5_MAX_LPI_ID_BITS;
/** Keys of the largest valid GICv5 snapshot: both ISTs full, every vCPU's registers, the IRS. */
const V5_MAX_KEYS = V5_MAX_ENTRIES + VGIC_V5_MAX_NR_SPIS + V5_MAX_VCPUS * (V5_CPU_REGISTERS.length + 3) + V5_IRS_REGISTERS.length + 64;

/** Limits of the bounded reader, derived from the schema as ../limits.ts does for GICv2/v3. */
const V5_LIMITS: CstLimits = {
  lines: 2 * V5_MAX_KEYS + 1024,
  tokens: 8 * V5_MAX_KEYS,
  scalars: 2 * V5_MAX_KEYS + 1024,
  tokenChars: 256,
  // root > ist > lpi > set (and root > cpuInterfaces > vCPU, root > vcpus > vCPU)
  nesting: 4,
  nestingWhat: 'root, ist, lpi, set',
  entries: V5_MAX_ENTRIES,
};

function refuse(node: unknown, path: string, depth: number): void {
  if (node === null || node === undefined) return;
  if (isAlias(node)) throw new SnapshotError(path, 'YAML aliases are not allowed');
  const n = node as { anchor?: string; tag?: string };
  if (n.anchor !== undefined || n.tag !== undefined) throw new SnapshotError(path, 'YAML anchors and tags are not allowed');
  if ((isMap(node) || isSeq(node)) && depth >= V5_LIMITS.nesting) throw new SnapshotError(path, `nested deeper than a GICv5 snapshot (at most ${V5_LIMITS.nesting} collections)`);
  if (isMap(node)) {
    // Duplicates with one Set per mapping: the yaml library's own check is quadratic.
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key: unknown = pair.key;
      if (!isScalar(key) || typeof key.value !== 'string' || (key as { anchor?: string; tag?: string }).anchor !== undefined || (key as { tag?: string }).tag !== undefined) {
        throw new SnapshotError(path, 'mapping keys must be plain strings');
      }
      const p = joinPath(path, key.value);
      if (isForbiddenKey(key.value)) throw new SnapshotError(p, `forbidden key ${JSON.stringify(key.value)}`);
      if (seen.has(key.value)) throw new SnapshotError(p, 'duplicate key');
      seen.add(key.value);
      refuse(pair.value, p, depth + 1);
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
  const doc = composeBounded(text, new LineCounter(), V5_LIMITS);
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
