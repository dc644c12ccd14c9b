// Finding selftests: every `*.ts` file directly in the selftests directory is one selftest,
// named after the file (as kselftest names a test after its binary), sorted by name so that
// output order, --list and --shard are the same on every machine.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './usage-error.ts';

export interface SelftestFile {
  /** File name without `.ts`: what --list prints and patterns match. */
  name: string;
  /** Absolute path. */
  path: string;
  /** From a `// vgic-harness: timeout=SEC` line in the file, or null. */
  timeoutSec: number | null;
}

/**
 * The per-test timeout directive, the counterpart of kselftest's per-directory `settings` file
 * (`timeout=N`). A line in the test itself keeps the setting next to the code that needs it.
 */
const DIRECTIVE = /^\s*\/\/\s*vgic-harness:\s*(.*)$/gm;

export function timeoutDirective(source: string, file: string): number | null {
  let timeout: number | null = null;
  for (const m of source.matchAll(DIRECTIVE)) {
    const body = (m[1] ?? '').trim();
    const t = /^timeout\s*=\s*(\S+)$/.exec(body);
    const value = t?.[1];
    if (value === undefined || !/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0) {
      throw new UsageError(`${file}: bad directive '// vgic-harness: ${body}' (expected timeout=SECONDS, SECONDS > 0)`);
    }
    if (timeout !== null) throw new UsageError(`${file}: more than one '// vgic-harness: timeout=' line`);
    timeout = Number(value);
  }
  return timeout;
}

/** Plain code-unit order, not locale order, so every machine sorts alike. */
export function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export async function discoverSelftests(dir: string): Promise<SelftestFile[]> {
  let entries: string[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new UsageError(`--dir ${dir}: not a directory`);
    entries = await readdir(dir);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read selftest directory ${dir}: ${(err as Error).message}`);
  }
  const files: SelftestFile[] = [];
  for (const entry of entries) {
    // Type declarations and unit tests that happen to sit there are not selftests.
    if (!entry.endsWith('.ts') || entry.endsWith('.d.ts') || entry.endsWith('.test.ts')) continue;
    const path = join(dir, entry);
    const st = await stat(path).catch(() => null);
    if (st === null || !st.isFile()) continue;
    const source = await readFile(path, 'utf8');
    files.push({ name: entry.slice(0, -'.ts'.length), path, timeoutSec: timeoutDirective(source, path) });
  }
  return files.sort(byName);
}
