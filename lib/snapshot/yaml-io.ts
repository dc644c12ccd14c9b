// YAML reading and writing of vGIC snapshots.
//
// Reading is deliberately narrow: exactly one document, a mapping at the root, string keys,
// plain or quoted scalars, no anchors/aliases (no billion-laughs), no tags, no directives, no
// duplicate keys, no YAML errors or warnings, at most MAX_SNAPSHOT_BYTES of UTF-8 text; the
// result then goes through validateSnapshot. Writing is canonical: fixed top-level field order,
// register maps in the producer's order, every string double-quoted (so hex values can never be
// re-read as numbers), so stringify(parse(stringify(s))) === stringify(s).

import { Document, isAlias, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { DocumentOptions, ParseOptions, SchemaOptions, ToStringOptions } from 'yaml';
import {
  SNAPSHOT_FIELDS,
  SnapshotError,
  isForbiddenKey,
  joinPath,
  validateSnapshot,
  type RegisterMap,
  type VgicSnapshot,
} from './schema.ts';

export const MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024;
/** Deepest legitimate nesting is root > section > vCPU > register (4); allow a little slack. */
const MAX_DEPTH = 8;

// maxAliasCount: 0 is a toJS option; it is passed there (and aliases are refused before that).
const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.2',
  schema: 'core',
  strict: true,
  uniqueKeys: true,
  merge: false,
  prettyErrors: true,
  customTags: [],
  keepSourceTokens: false,
};

const STRINGIFY_OPTIONS: ToStringOptions = {
  defaultStringType: 'QUOTE_DOUBLE',
  defaultKeyType: 'PLAIN',
  lineWidth: 0,
  minContentWidth: 0,
  indent: 2,
  indentSeq: true,
};

function firstLine(message: string): string {
  return message.split('\n')[0]?.trim() ?? message;
}

interface NodeLike {
  anchor?: string;
  tag?: string;
}

/** Refuse aliases, anchors, explicit tags, non-string keys, forbidden keys and deep nesting. */
function walk(node: unknown, path: string, depth: number): void {
  if (node === null || node === undefined) return; // empty value, e.g. `key:`
  const where = path === '' ? 'document root' : path;
  if (depth > MAX_DEPTH) throw new SnapshotError(path, `nesting deeper than ${MAX_DEPTH} levels`);
  if (isAlias(node)) throw new SnapshotError(path, `YAML aliases are not allowed (*${node.source})`);
  const n = node as NodeLike;
  if (n.anchor !== undefined) throw new SnapshotError(path, `YAML anchors are not allowed (&${n.anchor})`);
  if (n.tag !== undefined) throw new SnapshotError(path, `explicit YAML tags are not allowed (${n.tag})`);
  if (isMap(node)) {
    for (const pair of node.items) {
      const key: unknown = pair.key;
      if (isAlias(key)) throw new SnapshotError(where, 'YAML aliases are not allowed as keys');
      if (!isScalar(key) || typeof key.value !== 'string') {
        throw new SnapshotError(where, 'mapping keys must be strings (quote numeric keys such as "0")');
      }
      const k = key as NodeLike;
      if (k.anchor !== undefined || k.tag !== undefined) {
        throw new SnapshotError(where, 'anchors and tags are not allowed on keys');
      }
      const name = key.value;
      if (isForbiddenKey(name)) throw new SnapshotError(joinPath(path, name), `forbidden key ${JSON.stringify(name)}`);
      walk(pair.value, joinPath(path, name), depth + 1);
    }
    return;
  }
  if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item, joinPath(path, i), depth + 1));
    return;
  }
  if (isScalar(node)) return;
  throw new SnapshotError(path, 'unsupported YAML node');
}

/** Parse and validate a snapshot; throws SnapshotError on anything unexpected. */
export function parseSnapshotYaml(text: string, maxBytes: number = MAX_SNAPSHOT_BYTES): VgicSnapshot {
  if (typeof text !== 'string') throw new SnapshotError('', 'expected YAML text');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    throw new SnapshotError('', `snapshot is ${bytes} bytes; the limit is ${maxBytes}`);
  }
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, PARSE_OPTIONS);
  } catch (err) {
    throw new SnapshotError('', `YAML could not be parsed: ${firstLine(String((err as Error)?.message ?? err))}`);
  }
  if (!Array.isArray(docs) || docs.length === 0) throw new SnapshotError('', 'no YAML document found');
  if (docs.length > 1) {
    throw new SnapshotError('', `expected exactly one YAML document, found ${docs.length}`);
  }
  const doc = docs[0]!;
  const error = doc.errors[0];
  if (error !== undefined) throw new SnapshotError('', `YAML error ${error.code}: ${firstLine(error.message)}`);
  const warning = doc.warnings[0];
  if (warning !== undefined) {
    throw new SnapshotError('', `YAML warning treated as error ${warning.code}: ${firstLine(warning.message)}`);
  }
  if (doc.directives?.yaml.explicit) throw new SnapshotError('', 'YAML directives (%YAML) are not allowed');
  if (doc.directives && Object.keys(doc.directives.tags).some((h) => h !== '!!')) {
    throw new SnapshotError('', 'YAML %TAG directives are not allowed');
  }
  if (!isMap(doc.contents)) throw new SnapshotError('', 'the document root must be a mapping');
  walk(doc.contents, '', 0);

  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: 0, mapAsMap: false });
  } catch (err) {
    throw new SnapshotError('', `YAML could not be converted: ${firstLine(String((err as Error)?.message ?? err))}`);
  }
  return validateSnapshot(js);
}

function plainMap(map: RegisterMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(map)) {
    Object.defineProperty(out, name, { value: map[name], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function plainPerKey(maps: Record<string, RegisterMap>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const key of Object.keys(maps)) {
    Object.defineProperty(out, key, { value: plainMap(maps[key]!), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Canonical YAML text for a snapshot (validated first; invalid input throws SnapshotError). */
export function stringifySnapshot(s: VgicSnapshot): string {
  const v = validateSnapshot(s);
  const src = v as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of SNAPSHOT_FIELDS) {
    const value = src[key];
    if (value === undefined) continue;
    switch (key) {
      case 'source':
        out[key] = { profile: v.source.profile, vmm: v.source.vmm, iidrPolicy: v.source.iidrPolicy };
        break;
      case 'vcpus':
        out[key] = v.vcpus.map((c) => ({ id: c.id, mpidr: c.mpidr }));
        break;
      case 'distributor':
        out[key] = plainMap(v.distributor);
        break;
      case 'redistributors':
      case 'bankedDistributor':
      case 'cpuInterfaces':
      case 'levelInfo':
        out[key] = plainPerKey(value as Record<string, RegisterMap>);
        break;
      default:
        out[key] = value;
    }
  }
  const doc = new Document(out, { version: '1.2', schema: 'core' });
  return doc.toString(STRINGIFY_OPTIONS);
}
