// The run facts printed at the top of every document, so a run can be replayed.
import type { RunInfo } from './model.ts';

export function headerComments(info: RunInfo): string[] {
  const lines = [`vgic-harness: seed ${info.seed} (replay with --seed ${info.seed})`];
  if (info.shard !== null) lines.push(`shard ${info.shard}`);
  if (info.profile !== null) lines.push(`profile ${info.profile}`);
  if (info.timeoutOverrideSec !== null) lines.push(`timeout ${info.timeoutOverrideSec} seconds for every selftest`);
  if (info.mergedShards !== undefined) lines.push(`merged from shards ${info.mergedShards}`);
  if (info.tracking !== undefined) lines.push(`process tracking: ${info.tracking}`);
  return lines;
}
