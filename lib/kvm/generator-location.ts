// Where a guest generator stands, for a guest mistake that left no stack: a plain `yield` of
// something that is not a request (the generator is suspended at that yield, but no code of ours
// ran there), or a `throw 42` / a return (the generator is closed). V8 keeps each generator's
// position and shows it to debuggers as the internal property [[GeneratorLocation]]: the
// suspended yield, or for a closed generator the start of its function. We read it through an
// in-process inspector session (node:inspector; its replies arrive synchronously) and map it to
// the TypeScript source with the module's source map (tsx registers one). Only the abort path
// comes here: the first call costs ~30 ms (Debugger.enable lists every script once), later ones
// a few ms. Without an inspector (a Node built without it) the answer is undefined.

import { createRequire, findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type SourceLocation, locationAt } from './location.ts';

interface InspectorSession {
  connect(): void;
  post(method: string, params: object, cb: (err: Error | null, res?: unknown) => void): void;
  on(event: string, listener: (msg: { params: Record<string, unknown> }) => void): void;
  off(event: string, listener: (msg: { params: Record<string, unknown> }) => void): void;
}

/** undefined: not tried yet; null: no inspector in this Node. */
let session: InspectorSession | null | undefined;
const scriptUrls = new Map<string, string>();
const GLOBAL_KEY = '__vgicHarnessGeneratorLocation';

function connect(): InspectorSession | null {
  if (session === undefined) {
    try {
      // Loaded on first use, synchronously (the abort path cannot await), and only then.
      const { Session } = createRequire(import.meta.url)('node:inspector') as { Session: new () => InspectorSession };
      const s = new Session();
      s.connect();
      session = s;
    } catch {
      session = null;
    }
  }
  return session;
}

/** One synchronous inspector call: its result, or undefined on any error. */
function post<T>(method: string, params: object = {}): T | undefined {
  if (!session) return undefined;
  let out: T | undefined;
  try {
    session.post(method, params, (err, res) => {
      if (!err) out = res as T;
    });
  } catch {
    return undefined;
  }
  return out;
}

/** The URL of a script id, listing the scripts again (Debugger.enable) when it is new. */
function scriptUrl(scriptId: string): string | undefined {
  if (!scriptUrls.has(scriptId) && session) {
    const onScript = (m: { params: Record<string, unknown> }): void => {
      if (typeof m.params.scriptId === 'string' && typeof m.params.url === 'string') scriptUrls.set(m.params.scriptId, m.params.url);
    };
    session.on('Debugger.scriptParsed', onScript);
    post('Debugger.enable');
    post('Debugger.disable');
    session.off('Debugger.scriptParsed', onScript);
  }
  return scriptUrls.get(scriptId);
}

interface RemoteLocation {
  scriptId: string;
  lineNumber: number;
  columnNumber: number;
}

/** A generated position (0-based) mapped through the script's source map, as a source location. */
function mapped(url: string, line: number, column: number): SourceLocation | undefined {
  let file = url;
  let line1 = line + 1;
  try {
    const map = findSourceMap(url) ?? (url.startsWith('file:') ? findSourceMap(fileURLToPath(url)) : undefined);
    const e = map?.findEntry(line, column) as { originalSource?: string; originalLine?: number } | undefined;
    if (e && typeof e.originalSource === 'string' && typeof e.originalLine === 'number') {
      file = e.originalSource;
      line1 = e.originalLine + 1;
    }
  } catch {
    // no map: the generated position is the source position (plain JavaScript)
  }
  if (!file) return undefined;
  return locationAt(file.startsWith('file:') ? fileURLToPath(file) : file, line1);
}

/** Where the generator is suspended, or (closed) where its function begins; undefined if unknown. */
export function generatorLocation(gen: object): SourceLocation | undefined {
  if (!connect()) return undefined;
  const g = globalThis as Record<string, unknown>;
  g[GLOBAL_KEY] = gen;
  try {
    const ev = post<{ result?: { objectId?: string } }>('Runtime.evaluate', { expression: `globalThis.${GLOBAL_KEY}`, silent: true });
    const objectId = ev?.result?.objectId;
    if (!objectId) return undefined;
    const props = post<{ internalProperties?: Array<{ name: string; value?: { value?: RemoteLocation } }> }>('Runtime.getProperties', {
      objectId,
      ownProperties: true,
    });
    post('Runtime.releaseObject', { objectId });
    const loc = props?.internalProperties?.find((p) => p.name === '[[GeneratorLocation]]')?.value?.value;
    if (!loc || typeof loc.scriptId !== 'string') return undefined;
    const url = scriptUrl(loc.scriptId);
    return url ? mapped(url, loc.lineNumber, loc.columnNumber) : undefined;
  } finally {
    delete g[GLOBAL_KEY];
  }
}
