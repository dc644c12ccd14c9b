// YAML reading and writing of vGIC snapshots.
//
// Reading is deliberately narrow: exactly one document, a mapping at the root, string keys,
// plain or quoted scalars, no anchors/aliases (no billion-laughs), no tags, no directives, no
// duplicate keys, no YAML errors or warnings, at most MAX_SNAPSHOT_BYTES of UTF-8 text; the
// result then goes through validateSnapshot. Writing is canonical: fixed top-level field order,
// register maps in the producer's order, every string double-quoted (so hex values can never be
// re-read as numbers), so stringify(parse(stringify(s))) === stringify(s).
//
// Reading is bounded in time and memory by what a valid snapshot can hold (limits.ts), not by
// what the text says. The `yaml` library builds whatever structure the text describes (1 M `[`
// become a million nested collections: about 1 GB and 5 s; 8 MiB of them exhaust the heap) and
// its duplicate-key check (`uniqueKeys`) compares each key with every earlier key of its mapping
// (util-map-includes.js: `items.some(...)`), quadratic in the keys of one mapping. So:
// 1. checkSnapshotText: one pass over the characters (BOMs, CR-only line ends, controls);
// 2. the library's Lexer and Parser are driven one token at a time, and the read stops as soon
//    as the parser's stack (the open collections) is deeper than a snapshot can be, or the
//    tokens or scalars exceed what the largest valid snapshot needs;
// 3. the Composer builds the document with `uniqueKeys: false`; our walk then refuses duplicate
//    keys with one Set per mapping (linear), mappings with more keys than the schema allows,
//    aliases, anchors, tags and anything nested deeper than a snapshot.

import { CST, Composer, Document, Lexer, LineCounter, Parser, isAlias, isMap, isScalar, isSeq } from 'yaml';
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
import {
  MAX_COLLECTION_ENTRIES,
  MAX_LINES,
  MAX_NESTING,
  MAX_SCALARS,
  MAX_SNAPSHOT_BYTES,
  MAX_TOKEN_CHARS,
  MAX_TOKENS,
  maxKeysAt,
} from './limits.ts';
import { checkSnapshotText } from './yaml-text.ts';

export { MAX_SNAPSHOT_BYTES };

const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.2',
  schema: 'core',
  strict: true,
  // Our walk checks duplicates in linear time; the library's check is quadratic (see above).
  uniqueKeys: false,
  merge: false,
  prettyErrors: false,
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
  range?: readonly number[];
}

const SCALAR_TOKENS: ReadonlySet<string> = new Set(['scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'block-scalar-header']);
/** Tokens that may be long: they become no key or value. */
const LONG_TOKENS: ReadonlySet<string> = new Set(['comment', 'space', 'newline']);

/** Entries of the collections the parser has open (block or flow mappings and lists). */
function openEntries(stack: readonly CST.Token[]): number {
  let most = 0;
  for (const t of stack) {
    if (t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection') most = Math.max(most, t.items.length);
  }
  return most;
}

/**
 * What a bounded read allows: the most tokens and scalars of a whole document, the longest key or
 * value, the deepest nesting of collections and the most entries of one collection. Each reader
 * derives its own from its schema (this file: limits.ts; a GICv5 snapshot: v5/yaml.ts).
 */
export interface CstLimits {
  lines: number;
  tokens: number;
  scalars: number;
  tokenChars: number;
  nesting: number;
  /** What the nesting is in a valid document, for the message, e.g. "root, section, vCPU". */
  nestingWhat: string;
  entries: number;
}

const V3_LIMITS: CstLimits = {
  lines: MAX_LINES,
  tokens: MAX_TOKENS,
  scalars: MAX_SCALARS,
  tokenChars: MAX_TOKEN_CHARS,
  nesting: MAX_NESTING,
  nestingWhat: 'root, section, vCPU',
  entries: MAX_COLLECTION_ENTRIES,
};

/** Lex and parse with hard limits; returns the CST documents. */
function boundedCst(text: string, lines: LineCounter, limits: CstLimits): CST.Token[] {
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0); // what Parser.parse() does first; we feed Parser.next() ourselves
  const out: CST.Token[] = [];
  // The parser's stack in a valid document: the document, the open collections and the scalar
  // being read. One more is refused while reading.
  const maxStack = limits.nesting + 2;
  let tokens = 0;
  let scalars = 0;
  let start = 0;
  const where = (): string => {
    const { line, col } = lines.linePos(start);
    return `line ${line}, column ${col}`;
  };
  for (const lexeme of new Lexer().lex(text)) {
    start = parser.offset;
    if (++tokens > limits.tokens) {
      throw new SnapshotError('', `more than ${limits.tokens} YAML tokens by ${where()}: far more than the largest snapshot needs`);
    }
    const type = CST.tokenType(lexeme) ?? '';
    if (SCALAR_TOKENS.has(type) && ++scalars > limits.scalars) {
      throw new SnapshotError('', `more than ${limits.scalars} YAML scalars by ${where()}: more keys and values than the largest snapshot can hold`);
    }
    if (lexeme.length > limits.tokenChars && !LONG_TOKENS.has(type)) {
      throw new SnapshotError('', `a key or value of ${lexeme.length} characters at ${where()}: no snapshot has one longer than ${limits.tokenChars}`);
    }
    for (const token of parser.next(lexeme)) out.push(token);
    if (parser.stack.length > maxStack) {
      throw new SnapshotError('', `YAML nested deeper than a snapshot at ${where()} (a snapshot nests at most ${limits.nesting} collections: ${limits.nestingWhat})`);
    }
    if (openEntries(parser.stack) > limits.entries) {
      throw new SnapshotError('', `a mapping or list with more than ${limits.entries} entries by ${where()}: no snapshot has one that big`);
    }
  }
  for (const token of parser.end()) out.push(token);
  return out;
}

/**
 * Steps 1 and 2 above, then the Composer (without the library's quadratic duplicate-key check):
 * the one YAML document of `text`, its errors and warnings refused, or a SnapshotError. The
 * caller walks the document (duplicate keys, aliases, anchors, tags, its own key counts).
 */
export function composeBounded(text: string, lines: LineCounter, limits: CstLimits): Document.Parsed {
  checkSnapshotText(text, limits.lines);
  const at = (pos: readonly [number, number]): string => {
    const { line, col } = lines.linePos(pos[0]);
    return ` (line ${line}, column ${col})`;
  };
  let docs: Document.Parsed[];
  try {
    docs = Array.from(new Composer(PARSE_OPTIONS).compose(boundedCst(text, lines, limits)));
  } catch (err) {
    if (err instanceof SnapshotError) throw err;
    throw new SnapshotError('', `YAML could not be parsed: ${firstLine(String((err as Error)?.message ?? err))}`);
  }
  if (docs.length === 0) throw new SnapshotError('', 'no YAML document found');
  if (docs.length > 1) {
    throw new SnapshotError('', `expected exactly one YAML document, found ${docs.length}`);
  }
  const doc = docs[0]!;
  const error = doc.errors[0];
  if (error !== undefined) throw new SnapshotError('', `YAML error ${error.code}${at(error.pos)}: ${firstLine(error.message)}`);
  const warning = doc.warnings[0];
  if (warning !== undefined) {
    throw new SnapshotError('', `YAML warning treated as error ${warning.code}${at(warning.pos)}: ${firstLine(warning.message)}`);
  }
  if (doc.directives?.yaml.explicit) throw new SnapshotError('', 'YAML directives (%YAML) are not allowed');
  if (doc.directives && Object.keys(doc.directives.tags).some((h) => h !== '!!')) {
    throw new SnapshotError('', 'YAML %TAG directives are not allowed');
  }
  if (!isMap(doc.contents)) throw new SnapshotError('', 'the document root must be a mapping');
  return doc;
}

class YamlWalk {
  constructor(
    readonly text: string,
    readonly lines: LineCounter,
  ) {}

  at(node: unknown): string {
    const start = (node as NodeLike | null)?.range?.[0];
    if (typeof start !== 'number') return '';
    const { line, col } = this.lines.linePos(start);
    return ` (line ${line}, column ${col})`;
  }

  /** Refuse aliases, anchors, explicit tags, non-string, duplicate and forbidden keys, oversize and deep nesting. */
  node(node: unknown, path: string, keys: readonly string[]): void {
    if (node === null || node === undefined) return; // empty value, e.g. `key:`
    const where = path === '' ? 'document root' : path;
    if (isAlias(node)) throw new SnapshotError(path, `YAML aliases are not allowed (*${node.source})`);
    const n = node as NodeLike;
    if (n.anchor !== undefined) throw new SnapshotError(path, `YAML anchors are not allowed (&${n.anchor})`);
    if (n.tag !== undefined) throw new SnapshotError(path, `explicit YAML tags are not allowed (${n.tag})`);
    if (isScalar(node)) return;
    if (!isMap(node) && !isSeq(node)) throw new SnapshotError(path, 'unsupported YAML node');
    if (keys.length >= MAX_NESTING) {
      throw new SnapshotError(path, `nested deeper than a snapshot${this.at(node)}: a snapshot nests at most ${MAX_NESTING} collections (root, section, vCPU)`);
    }
    const max = maxKeysAt(keys);
    if (node.items.length > max) {
      throw new SnapshotError(where, `${node.items.length} entries${this.at(node)}: no snapshot has more than ${max} here`);
    }
    if (isSeq(node)) {
      node.items.forEach((item, i) => this.node(item, joinPath(path, i), [...keys, String(i)]));
      return;
    }
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key: unknown = pair.key;
      if (isAlias(key)) throw new SnapshotError(where, 'YAML aliases are not allowed as keys');
      if (!isScalar(key) || typeof key.value !== 'string') {
        throw new SnapshotError(where, `mapping keys must be strings (quote numeric keys such as "0")${this.at(key)}`);
      }
      const k = key as NodeLike;
      if (k.anchor !== undefined || k.tag !== undefined) {
        throw new SnapshotError(where, 'anchors and tags are not allowed on keys');
      }
      const name = key.value;
      const p = joinPath(path, name);
      if (isForbiddenKey(name)) throw new SnapshotError(p, `forbidden key ${JSON.stringify(name)}`);
      if (seen.has(name)) throw new SnapshotError(p, `duplicate key${this.at(key)}`);
      seen.add(name);
      this.node(pair.value, p, [...keys, name]);
    }
  }
}

/** Parse and validate a snapshot; throws SnapshotError (and nothing else) on anything unexpected. */
export function parseSnapshotYaml(text: string, maxBytes: number = MAX_SNAPSHOT_BYTES): VgicSnapshot {
  if (typeof text !== 'string') throw new SnapshotError('', 'expected YAML text');
  if (typeof maxBytes !== 'number' || !(maxBytes >= 0)) throw new SnapshotError('', 'the size limit must be a number of bytes');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    throw new SnapshotError('', `snapshot is ${bytes} bytes; the limit is ${maxBytes}`);
  }
  const lines = new LineCounter();
  const walk = new YamlWalk(text, lines);
  const doc = composeBounded(text, lines, V3_LIMITS);
  walk.node(doc.contents, '', []);

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
