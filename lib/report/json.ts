// The results of a run as JSON (`--format json`, `--output json:FILE`): everything the other
// formats are printed from, so that shard results can be merged into one report of any format
// (`vgic-harness merge`).
import type { Reporter, RunInfo, SelftestResult, Summary } from './model.ts';

export const RESULTS_VERSION = 1;

export interface ResultsDocument {
  vgicHarnessResults: typeof RESULTS_VERSION;
  info: Omit<RunInfo, 'startedAt'> & { startedAt: string };
  results: SelftestResult[];
  summary: Summary;
}

export class JsonReporter implements Reporter {
  #info: RunInfo | null = null;
  readonly #results: SelftestResult[] = [];

  begin(info: RunInfo): string {
    this.#info = info;
    return '';
  }

  result(r: SelftestResult): string {
    this.#results.push(r);
    return '';
  }

  end(summary: Summary): string {
    if (this.#info === null) throw new Error('JsonReporter.end before begin');
    const doc: ResultsDocument = {
      vgicHarnessResults: RESULTS_VERSION,
      info: { ...this.#info, startedAt: this.#info.startedAt.toISOString() },
      results: this.#results,
      summary,
    };
    return `${JSON.stringify(doc, null, 1)}\n`;
  }
}
