// Finding selftests: every `*.ts` file directly in the selftests directory is one selftest,
// named after the file (as kselftest names a test after its binary), sorted by name so that
// output order, --list and --shard are the same on every machine.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTimeoutValue } from './cli.ts';
import { UsageError } from './usage-error.ts';

export interface SelftestFile {
  /** File name without `.ts`: what --list prints and patterns match. */
  name: string;
  /** Absolute path. */
  path: string;
  /** From a `// vgic-harness: timeout=SEC` line in the file, or null. */
  timeoutSec: number | null;
  /** From the directory's kselftest-style `settings` file (`timeout=SEC`), or null. */
  settingsTimeoutSec: number | null;
}

/**
 * The directory's `settings` file, read the way kselftest's runner.sh run_one() reads
 * `$DIR/settings`: one `field=value` per line, lines starting with '#' skipped. runner.sh turns
 * any field into a shell variable; the only one it uses is `timeout`, and here any other field is
 * refused (a misspelt `timeout` must not silently fall back to the default).
 */
export function parseSettings(text: string, file: string): number | null {
  let timeout: number | null = null;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const field = eq < 0 ? line : line.slice(0, eq);
    if (field !== 'timeout' || eq < 0) {
      throw new UsageError(`${file}:${i + 1}: unknown setting '${line}' (expected timeout=SECONDS, as in kselftest's settings files)`);
    }
    // runner.sh takes the last assignment.
    timeout = parseTimeoutValue(line.slice(eq + 1), `${file}:${i + 1}: timeout`);
  }
  return timeout;
}

async function readSettings(dir: string): Promise<number | null> {
  const file = join(dir, 'settings');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseSettings(text, file);
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
    timeout = parseTimeoutValue(value, `${file}: timeout directive`);
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
  const settingsTimeoutSec = await readSettings(dir);
  const files: SelftestFile[] = [];
  for (const entry of entries) {
    // Type declarations and unit tests that happen to sit there are not selftests.
    if (!entry.endsWith('.ts') || entry.endsWith('.d.ts') || entry.endsWith('.test.ts')) continue;
    const path = join(dir, entry);
    const st = await stat(path).catch(() => null);
    if (st === null || !st.isFile()) continue;
    const source = await readFile(path, 'utf8');
    files.push({ name: entry.slice(0, -'.ts'.length), path, timeoutSec: timeoutDirective(source, path), settingsTimeoutSec });
  }
  return files.sort(byName);
}
