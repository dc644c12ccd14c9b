// One mutation worker (see test/mutant.ts): for each mutation it is sent, build a fresh tree of
// the model, apply the mutation, import the selftest from there and run its cases as functions.
// In that tree the mutated file and every file that imports it, directly or not, are copies
// under a new path, so their modules are new instances; every other file is a symlink to the
// original, and Node (which keys modules by real path) reuses the one instance this worker
// already loaded. So nothing of one mutant's model reaches the next, and only the part of the
// model the mutation can affect is compiled and loaded again.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { collectSelftests } from '../lib/host/selftest.ts';
import { type FromWorker, type Mutation, type MutantResult, ROOT, type ToWorker } from './mutant.ts';

const base = mkdtempSync(join(tmpdir(), 'vgic-mutants-'));
symlinkSync(join(ROOT, 'node_modules'), join(base, 'node_modules'));
process.on('exit', () => rmSync(base, { recursive: true, force: true }));

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

function buildTree(index: number, mutated: string): string {
  const dir = join(base, `m${index}`);
  const copies = affected(mutated);
  for (const file of FILES) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    if (copies.has(file)) copyFileSync(join(ROOT, file), join(dir, file));
    else symlinkSync(join(ROOT, file), join(dir, file));
  }
  for (const f of ['package.json', 'tsconfig.json']) symlinkSync(join(ROOT, f), join(dir, f));
  return dir;
}

function applyMutation(dir: string, m: Mutation): void {
  const path = join(dir, m.file);
  const original = readFileSync(path, 'utf8');
  const hits = original.split(m.from).length - 1;
  if (hits !== 1) {
    throw new Error(`mutation '${m.name}': expected exactly one match of ${JSON.stringify(m.from)} in ${m.file}, found ${hits}`);
  }
  writeFileSync(path, original.replace(m.from, m.to));
}

async function runMutant(index: number, m: Mutation): Promise<MutantResult> {
  const dir = buildTree(index, m.file);
  applyMutation(dir, m);
  const env: Record<string, string> = { VGIC_PROFILE: 'series-p3', ...m.env };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const cwd = process.cwd();
  Object.assign(process.env, env);
  // Source locations in failure messages are relative to the working directory, as in a run.
  process.chdir(dir);
  try {
    const file = join(dir, 'selftests', `${m.selftest}.ts`);
    let output = '';
    let collected;
    try {
      collected = await collectSelftests(() => import(pathToFileURL(file).href));
    } catch (err) {
      return { exitCode: 1, output: `import failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` };
    }
    const selftest = collected[0];
    if (selftest === undefined) {
      // Not written with selftest(): run it as the runner would.
      const r = await execa(process.execPath, ['--import=tsx', file], { cwd: dir, reject: false, all: true, timeout: 60_000, env });
      return { exitCode: r.exitCode ?? -1, output: r.all ?? '' };
    }
    const exitCode = await selftest.run((text) => {
      output += text;
    });
    return { exitCode, output };
  } finally {
    process.chdir(cwd);
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
  runMutant(msg.index, msg.mutation).then(
    (result) => process.send?.({ index: msg.index, result } satisfies FromWorker),
    (err: unknown) => process.send?.({ error: err instanceof Error ? err.message : String(err) } satisfies FromWorker),
  );
});
