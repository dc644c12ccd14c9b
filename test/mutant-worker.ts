// One mutation worker (see test/mutant.ts): for each mutation it is sent, copy the model into a
// fresh directory, apply the mutation, import the selftest from there and run its cases as
// functions. Each copy lives under its own path, so its modules are new instances: nothing of
// one mutant's model reaches the next.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { collectSelftests } from '../lib/host/selftest.ts';
import { type FromWorker, type Mutation, type MutantResult, ROOT, type ToWorker } from './mutant.ts';

const base = mkdtempSync(join(tmpdir(), 'vgic-mutants-'));
symlinkSync(join(ROOT, 'node_modules'), join(base, 'node_modules'));
process.on('exit', () => rmSync(base, { recursive: true, force: true }));

/** What the selftests import, and what tsx needs to load them as the project does. */
const COPIED = ['lib', 'guests', 'selftests', 'package.json', 'tsconfig.json'];

function copyTree(index: number): string {
  const dir = join(base, `m${index}`);
  for (const entry of COPIED) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
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
  const dir = copyTree(index);
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
