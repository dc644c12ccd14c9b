// `vgic-harness merge`: one report from the results of several shards (`--output json:FILE` on
// each). Every selftest runs in exactly one shard, so the results are put back in name order and
// numbered once; a name that appears twice means the same shard was given twice (or shards of
// different selections) and is refused.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RESULTS_VERSION, type ResultsDocument } from '../report/json.ts';
import type { RunInfo, SelftestResult } from '../report/model.ts';
import { runFailed, summarize } from '../report/summary.ts';
import type { MergeOptions } from './cli.ts';
import { byName } from './discover.ts';
import { makeSinks, writeReports, type RunIo } from './run.ts';
import { UsageError } from './usage-error.ts';

async function load(file: string, cwd: string): Promise<ResultsDocument> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(resolve(cwd, file), 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: cannot read results (${(err as Error).message})`);
  }
  const d = doc as Partial<ResultsDocument> | null;
  if (d === null || typeof d !== 'object' || d.vgicHarnessResults !== RESULTS_VERSION || !Array.isArray(d.results) || typeof d.info !== 'object' || d.info === null) {
    throw new UsageError(`${file}: not a vgic-harness results file (version ${RESULTS_VERSION}; write one with --output json:FILE)`);
  }
  return d as ResultsDocument;
}

export async function mergeCommand(opts: MergeOptions, io: RunIo, cwd: string = process.cwd()): Promise<number> {
  const docs = await Promise.all(opts.files.map((f) => load(f, cwd)));
  const seenIn = new Map<string, string>();
  const results: SelftestResult[] = [];
  docs.forEach((d, i) => {
    const file = opts.files[i] as string;
    for (const r of d.results) {
      const other = seenIn.get(r.name);
      if (other !== undefined) throw new UsageError(`${r.name} is in both ${other} and ${file}: give each shard's results once`);
      seenIn.set(r.name, file);
      results.push({ ...r, seed: r.seed ?? d.info.seed });
    }
  });
  results.sort(byName);
  const first = docs[0] as ResultsDocument;
  const profiles = new Set(docs.map((d) => d.info.profile));
  const info: RunInfo = {
    seed: first.info.seed,
    total: results.length,
    shard: null,
    profile: profiles.size === 1 ? first.info.profile : null,
    timeoutOverrideSec: first.info.timeoutOverrideSec,
    startedAt: new Date(Math.min(...docs.map((d) => Date.parse(d.info.startedAt)))),
    mergedShards: docs.map((d, i) => `${d.info.shard ?? opts.files[i]} (seed ${d.info.seed}${profiles.size > 1 ? `, profile ${d.info.profile ?? 'default'}` : ''})`).join(', '),
  };
  // The shards ran side by side: the merged run took as long as the longest one.
  const summary = summarize(results, Math.max(...docs.map((d) => d.summary.durationMs)));
  const out = await makeSinks(opts, null, cwd);
  await writeReports(out, info, results, summary, io.stdout);
  return runFailed(summary) ? 1 : 0;
}
