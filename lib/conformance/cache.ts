// Where conformance keeps what it downloads and builds: outside the repository, never committed.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $VGIC_HARNESS_CACHE, else $XDG_CACHE_HOME/vgic-harness, else ~/.cache/vgic-harness. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VGIC_HARNESS_CACHE) return env.VGIC_HARNESS_CACHE;
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'vgic-harness');
}
