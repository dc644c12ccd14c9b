// Runs a suite (test/suites/index.ts): its test files one after another in this process, each
// imported inside a subtest named after the file, with that subtest as the file's `t`
// (test/tap.ts). Between files, what a file may have changed for the whole process is put back:
// the environment, the working directory, the case recorder and the ITS command observer. The
// default vGIC cannot be turned back on (testDisableDefaultVgic() is for good, as in kvm_util):
// before each file that needs it, the suite checks that it is still on.
import { readdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import root from 'tap';
import { kvmVmFree, setRecorder, vmCreate, vmGicFd } from '../../lib/host/index.ts';
import { observeCommands } from '../../lib/vgic/its/commands.ts';
import { setFileTest } from '../tap.ts';
import { DEFAULT_VGIC_NOT_NEEDED, OWN_PROCESS, SUITES } from './index.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** Every node-tap test file of the project (node-tap's default exclusions: fixtures, dist). */
export function allTestFiles(): string[] {
  const out: string[] = [];
  for (const dir of ['lib', 'test']) {
    for (const e of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (!e.isFile() || !e.name.endsWith('.test.ts')) continue;
      const file = relative(ROOT, join(e.parentPath, e.name)).split(sep).join('/');
      if (/(^|\/)(fixture[^/]*|dist)\//.test(file) || file.startsWith('test/suites/')) continue;
      out.push(file);
    }
  }
  return out.sort();
}

const matches = (entry: string, file: string): boolean => (entry.endsWith('/') ? file.startsWith(entry) : file === entry);

/** The suite entry a file belongs to (the longest that matches it), or null: OWN_PROCESS files
 * and files no entry matches. */
export function ownerOf(file: string): { suite: string; entry: string; index: number } | null {
  if (OWN_PROCESS.includes(file)) return null;
  let best: { suite: string; entry: string; index: number } | null = null;
  for (const [suite, entries] of Object.entries(SUITES)) {
    entries.forEach((entry, index) => {
      if (matches(entry, file) && (best === null || entry.length > best.entry.length)) best = { suite, entry, index };
    });
  }
  return best;
}

/** A suite's files, in the order they run. */
export function suiteFiles(name: string, files: readonly string[] = allTestFiles()): string[] {
  const mine: Array<{ file: string; index: number }> = [];
  for (const file of files) {
    const o = ownerOf(file);
    if (o?.suite === name) mine.push({ file, index: o.index });
  }
  return mine.sort((a, b) => a.index - b.index || a.file.localeCompare(b.file, 'en')).map((m) => m.file);
}

/** node-tap's per-file limit (package.json tap.timeout, in TAP_TIMEOUT), for each file. */
function fileTimeoutMs(): number {
  const s = Number(process.env.TAP_TIMEOUT ?? 120);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 120_000;
}

function defaultVgicOn(): boolean {
  const vm = vmCreate(1);
  try {
    return vmGicFd(vm) >= 0;
  } finally {
    kvmVmFree(vm);
  }
}

function restoreEnv(saved: NodeJS.ProcessEnv): void {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
}

export async function runSuite(name: string): Promise<void> {
  const files = suiteFiles(name);
  if (files.length === 0) {
    root.fail(`suite ${name}: no test files (test/suites/index.ts)`);
    return;
  }
  const perFile = fileTimeoutMs();
  // Each file keeps the limit it had in a process of its own; the process gets their sum.
  if (perFile > 0) root.setTimeout(perFile * files.length);
  for (const [i, file] of files.entries()) {
    if (i > 0 && !DEFAULT_VGIC_NOT_NEEDED.includes(file) && !defaultVgicOn()) {
      root.fail(`a file before ${file} turned the default vGIC off (testDisableDefaultVgic), and ${file} may need it: move that file after it, or list ${file} in DEFAULT_VGIC_NOT_NEEDED (test/suites/index.ts)`);
    }
    const env = { ...process.env };
    const cwd = process.cwd();
    await root.test(file, async (sub) => {
      if (perFile > 0) sub.setTimeout(perFile);
      setFileTest(sub);
      await import(pathToFileURL(join(ROOT, file)).href);
    });
    setFileTest(null);
    restoreEnv(env);
    if (process.cwd() !== cwd) process.chdir(cwd);
    setRecorder(null);
    observeCommands(null);
  }
}
