// `--shard I/N`: split the sorted selection across N CI machines so each selftest runs on
// exactly one of them. Round-robin over the sorted list (rather than contiguous blocks) keeps
// the shards balanced when neighbouring names are similar, slow families (vgic_lpi_*) for example.
import { UsageError } from './usage-error.ts';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** Parse "I/N" with 1 <= I <= N. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (m === null) throw new UsageError(`--shard must look like I/N (for example 2/4), got '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  // Digits beyond 2^53 would be rounded: say so rather than compare rounded numbers.
  if (!Number.isSafeInteger(count)) throw new UsageError(`--shard ${text}: N is too large (at most ${Number.MAX_SAFE_INTEGER})`);
  if (count < 1) throw new UsageError(`--shard ${text}: N must be at least 1`);
  if (!Number.isSafeInteger(index) || index < 1 || index > count) throw new UsageError(`--shard ${text}: I must be between 1 and ${count}`);
  return { index, count };
}

/** The items of `sorted` that belong to `shard` (all of them when shard is null). */
export function applyShard<T>(sorted: readonly T[], shard: Shard | null): T[] {
  if (shard === null) return [...sorted];
  return sorted.filter((_, i) => i % shard.count === shard.index - 1);
}

export function shardText(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
