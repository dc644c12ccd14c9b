// Module hooks for the mutation workers (test/mutant-worker.ts). Plain JavaScript: it is
// registered before tsx (`--import` of this file, then `--import=tsx`), so that tsx calls these
// hooks for the source of a file and compiles what they return.
//
// A mutant is a set of module URLs that get a `?mutant=N` query: the mutated file and every file
// that imports it, directly or not. A query makes a new module instance of the same file, and a
// relative import from such a module resolves to the plain URL again, so resolve() puts the query
// back on the files of the mutant's set only; everything else is the one instance the worker has
// already loaded. load() gives the mutated file's text instead of the file's. Nothing is copied,
// so tsx's transform cache (keyed by source and file path, not by query) serves every file but
// the mutated one.
//
// On the main thread, importing this file registers it as hooks and leaves the main thread's
// end of the port at globalThis[Symbol.for('vgic-harness.mutant-hooks')].
import { register } from 'node:module';
import { MessageChannel, isMainThread } from 'node:worker_threads';

const PORT = Symbol.for('vgic-harness.mutant-hooks');

if (isMainThread && globalThis[PORT] === undefined) {
  const { port1, port2 } = new MessageChannel();
  register(import.meta.url, { data: { port: port2 }, transferList: [port2] });
  port1.unref();
  globalThis[PORT] = port1;
}

/** mutant id -> { mutated: URL, source: string, affected: Set<URL> } */
const mutants = new Map();

/** Called in the hooks thread with the port: each message declares a mutant, and is answered
 * once the hooks know it. */
export function initialize(data) {
  data.port.on('message', (m) => {
    mutants.set(m.id, { mutated: m.mutated, source: m.source, affected: new Set(m.affected) });
    data.port.postMessage({ ready: m.id });
  });
  data.port.unref();
}

const QUERY = /\?mutant=(\d+)$/;

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const id = QUERY.exec(context.parentURL ?? '')?.[1];
  if (id !== undefined && mutants.get(Number(id))?.affected.has(r.url)) return { ...r, url: `${r.url}?mutant=${id}` };
  return r;
}

export async function load(url, context, next) {
  const m = QUERY.exec(url);
  const mutant = m === null ? undefined : mutants.get(Number(m[1]));
  if (mutant !== undefined && url.slice(0, m.index) === mutant.mutated) {
    return { format: context.format ?? 'module', source: mutant.source, shortCircuit: true };
  }
  return next(url, context);
}
