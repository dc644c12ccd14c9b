// One mutation worker (see test/mutant.ts): for each mutation it is sent, it loads the selftest
// again with the mutation applied and runs its cases as functions. The mutated file and every
// file that imports it, directly or not, are loaded as new module instances (a `?mutant=N` query
// on their URLs, test/mutant-hooks.mjs, which also serves the mutated text); every other module
// is the one instance this worker already loaded. So nothing of one mutant's model reaches the
// next, and only the part of the model the mutation can affect is loaded again. The selftest
// file itself is always a new instance, so that its selftest() call happens again.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { collectSelftests } from '../lib/host/selftest.ts';
import { type FromWorker, type Mutation, type MutantResult, ROOT, type ToWorker } from './mutant.ts';

/** The port to test/mutant-hooks.mjs, which the worker was started with (test/mutant.ts). */
const hooks = (globalThis as { [k: symbol]: MessagePort | undefined })[Symbol.for('vgic-harness.mutant-hooks')];
if (hooks === undefined) throw new Error('test/mutant-worker.ts runs with --import=./test/mutant-hooks.mjs before --import=tsx');

/** The source directories a selftest's import graph lives in. */
const SOURCES = ['lib', 'guests', 'selftests'];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const FILES = SOURCES.flatMap(sourceFiles);

/** file -> the files that import it (relative `.ts` imports and re-exports). */
const importedBy = new Map<string, Set<string>>();
for (const file of FILES) {
  const text = readFileSync(join(ROOT, file), 'utf8');
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+\.ts)['"]/g)) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), m[1] as string));
    if (!importedBy.has(target)) importedBy.set(target, new Set());
    importedBy.get(target)?.add(file);
  }
}

/** The mutated file and everything that depends on it. */
function affected(file: string): Set<string> {
  const out = new Set<string>([file]);
  const todo = [file];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    for (const by of importedBy.get(f) ?? []) {
      if (!out.has(by)) {
        out.add(by);
        todo.push(by);
      }
    }
  }
  return out;
}

const url = (file: string): string => pathToFileURL(join(ROOT, file)).href;

function mutatedSource(m: Mutation): string {
  const original = readFileSync(join(ROOT, m.file), 'utf8');
  const hits = original.split(m.from).length - 1;
  if (hits !== 1) {
    throw new Error(`mutation '${m.name}': expected exactly one match of ${JSON.stringify(m.from)} in ${m.file}, found ${hits}`);
  }
  return original.replace(m.from, m.to);
}

let nextId = 1;

/** Tell the hooks about a mutant; resolves to its id once they know it. */
function declareMutant(m: Mutation): Promise<number> {
  const id = nextId++;
  const message = { id, mutated: url(m.file), source: mutatedSource(m), affected: [...affected(m.file)].map(url) };
  return new Promise((done) => {
    const onReady = (r: { ready: number }): void => {
      if (r.ready !== id) return;
      hooks!.off('message', onReady);
      done(id);
    };
    hooks!.on('message', onReady);
    hooks!.postMessage(message);
  });
}

async function runMutant(m: Mutation): Promise<MutantResult> {
  const id = await declareMutant(m);
  const env: Record<string, string> = { VGIC_PROFILE: 'series-p3', ...m.env };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const file = `selftests/${m.selftest}.ts`;
    let output = '';
    let collected;
    try {
      collected = await collectSelftests(() => import(`${url(file)}?mutant=${id}`));
    } catch (err) {
      return { exitCode: 1, output: `import failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` };
    }
    const selftest = collected[0];
    if (selftest === undefined) return { exitCode: -1, output: `${file} declares no cases with selftest(): a mutant needs them` };
    const exitCode = await selftest.run((text) => {
      output += text;
    });
    return { exitCode, output };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

process.on('message', (msg: ToWorker) => {
  if ('done' in msg) {
    process.disconnect();
    return;
  }
  runMutant(msg.mutation).then(
    (result) => process.send?.({ index: msg.index, result } satisfies FromWorker),
    (err: unknown) => process.send?.({ error: err instanceof Error ? err.message : String(err) } satisfies FromWorker),
  );
});
