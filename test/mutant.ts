// Mutation testing helpers: break one KVM rule in a copy of the model and run a selftest against
// it. A mutation whose `from` text does not match the source exactly once fails loudly, so the
// mutation lists are kept in step with the code.
//
// API for mutation lists (test/mutation*.test.ts): `runMutants(mutations)` resolves to one
// { exitCode, output } per mutation, in order: the exit status the selftest process would have
// had (0 pass, 1 a case failed, 3 XPASS, 4 all skipped) and its TAP.
//
// Mutants run in-process: one worker process per core (test/mutant-worker.ts) imports, for each
// mutant, the selftest again with the mutated file and everything that imports it as new module
// instances (test/mutant-hooks.mjs) and runs the selftest's cases as functions through
// lib/host/selftest.ts's collectSelftests(). That replaces a node+tsx start per mutant. The
// selftest must declare its cases with selftest().
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = resolve(import.meta.dirname, '..');

export interface Mutation {
  /** The KVM rule the mutation breaks, and the kernel function that has it. */
  name: string;
  file: string;
  from: string;
  to: string;
  /** Selftest that must fail once the rule is broken. */
  selftest: string;
  env?: Record<string, string>;
}

export interface MutantResult {
  exitCode: number;
  output: string;
}

/** Messages between runMutants and test/mutant-worker.ts. */
export type ToWorker = { index: number; mutation: Mutation } | { done: true };
export type FromWorker = { index: number; result: MutantResult } | { error: string };

/** The longest a single mutant may take (a mutation can make a loop endless). */
const MUTANT_TIMEOUT_MS = 60_000;

/** A worker costs about as much to start as a few mutants take to run: one per 8 mutants. */
function defaultWorkers(n: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(n / 8)));
}

/** Run every mutation, `workers` at a time (default: one per core, one per 8 mutants at
 * most); results in input order. */
export async function runMutants(mutations: readonly Mutation[], workers = defaultWorkers(mutations.length)): Promise<MutantResult[]> {
  const results: MutantResult[] = new Array(mutations.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    let child: ChildProcess | null = null;
    // The mutant hooks first, so that tsx compiles the source they give it.
    const execArgv = [`--import=${pathToFileURL(resolve(ROOT, 'test', 'mutant-hooks.mjs')).href}`, '--import=tsx'];
    const start = (): ChildProcess => fork(resolve(ROOT, 'test', 'mutant-worker.ts'), [], { execArgv, cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      while (next < mutations.length) {
        const index = next++;
        child ??= start();
        const worker = child;
        results[index] = await new Promise<MutantResult>((done) => {
          const timer = setTimeout(() => {
            worker.kill('SIGKILL');
            done({ exitCode: -1, output: `mutant timed out after ${MUTANT_TIMEOUT_MS} ms` });
          }, MUTANT_TIMEOUT_MS);
          const finish = (r: MutantResult): void => {
            clearTimeout(timer);
            worker.off('message', onMessage);
            worker.off('exit', onExit);
            done(r);
          };
          const onMessage = (m: FromWorker): void => {
            if ('error' in m) throw new Error(`mutant worker: ${m.error}`);
            if (m.index === index) finish(m.result);
          };
          const onExit = (code: number | null, sig: string | null): void => finish({ exitCode: -1, output: `mutant worker died (exit ${code}, ${sig})` });
          worker.on('message', onMessage);
          worker.on('exit', onExit);
          worker.send({ index, mutation: mutations[index] } satisfies ToWorker);
        });
        if (results[index]?.exitCode === -1) child = null;
      }
    } finally {
      if (child !== null && child.connected) child.send({ done: true } satisfies ToWorker);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, mutations.length)) }, lane));
  return results;
}
