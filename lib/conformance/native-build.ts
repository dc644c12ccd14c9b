// Cross-compiles the static arm64 programs in native/ (Debian's gcc-aarch64-linux-gnu), cached
// by the hash of their sources so a run after setup builds nothing.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { NATIVE_DIR } from './sysregs.ts';

export const CROSS_CC = 'aarch64-linux-gnu-gcc';

/** Build native/<sources> into one static binary in the cache; returns its path. */
export async function buildNative(cache: string, name: string, sources: readonly string[], headers: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of [...sources, ...headers]) h.update(f).update(readFileSync(join(NATIVE_DIR, f)));
  const dir = join(cache, 'native');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name}-${h.digest('hex').slice(0, 16)}`);
  if (existsSync(out)) return out;
  const tmp = `${out}.tmp${process.pid}`;
  const r = await execa(CROSS_CC, ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, ...sources.map((s) => join(NATIVE_DIR, s))], {
    reject: false,
    all: true,
  });
  if (r.exitCode !== 0) throw new Error(`${CROSS_CC} failed for native/${sources.join(' ')}:\n${r.all ?? ''}`);
  renameSync(tmp, out);
  return out;
}

/** The conformance driver and its guest (native/driver.c, native/guest.S). */
export function buildDriver(cache: string): Promise<string> {
  return buildNative(cache, 'driver', ['driver.c', 'guest.S'], ['conformance.h', 'sysregs.def']);
}
