// Mutation testing helpers: break one KVM rule in a copy of the project and run a selftest
// against it. A mutation whose `from` text no longer matches the source exactly once fails
// loudly, so the mutation lists are kept in step with the code.

import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

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

/** One copy of the project (node_modules linked, not copied); mutations are applied one at a time. */
export class MutantTree {
  readonly dir: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'vgic-mutant-'));
    cpSync(ROOT, this.dir, {
      recursive: true,
      filter: (src) => !/\/(node_modules|\.git|\.tap)(\/|$)/.test(src.slice(ROOT.length)),
    });
    symlinkSync(join(ROOT, 'node_modules'), join(this.dir, 'node_modules'));
  }

  /** Apply `m`, run its selftest, restore the file. */
  async run(m: Mutation): Promise<MutantResult> {
    const path = join(this.dir, m.file);
    const original = readFileSync(path, 'utf8');
    const hits = original.split(m.from).length - 1;
    if (hits !== 1) {
      throw new Error(`mutation '${m.name}': expected exactly one match of ${JSON.stringify(m.from)} in ${m.file}, found ${hits}`);
    }
    writeFileSync(path, original.replace(m.from, m.to));
    try {
      const r = await execa('node', ['--import=tsx', `selftests/${m.selftest}.ts`], {
        cwd: this.dir,
        reject: false,
        all: true,
        timeout: 60_000,
        env: { VGIC_PROFILE: 'series-p3', ...m.env },
      });
      return { exitCode: r.exitCode ?? -1, output: r.all ?? '' };
    } finally {
      writeFileSync(path, original);
    }
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Run every mutation over `trees` parallel copies; results in input order. */
export async function runMutants(mutations: readonly Mutation[], trees = 2): Promise<MutantResult[]> {
  const copies = Array.from({ length: Math.max(1, Math.min(trees, mutations.length)) }, () => new MutantTree());
  const results: MutantResult[] = new Array(mutations.length);
  let next = 0;
  try {
    await Promise.all(
      copies.map(async (tree) => {
        while (next < mutations.length) {
          const i = next++;
          results[i] = await tree.run(mutations[i]!);
        }
      }),
    );
  } finally {
    for (const c of copies) c.dispose();
  }
  return results;
}
