// One report for `conformance` and `run --target`: the chosen format on stdout, JUnit to a file
// with --junit (then stdout shows human lines, as the runner does), and closing lines after the
// summary: `# ` comments in TAP/KTAP, plain in human, on stderr when stdout is JUnit XML.
import { writeFile } from 'node:fs/promises';
import { reporterFor, type ReportFormat } from '../report/formats.ts';
import type { Reporter, RunInfo, SelftestResult, Summary } from '../report/model.ts';
import { summarize } from '../report/summary.ts';

export interface SinkIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export class ReportSink {
  private readonly stdoutFormat: ReportFormat;
  private readonly out: Reporter;
  private readonly junit: Reporter | null;
  readonly results: SelftestResult[] = [];
  private readonly started = Date.now();

  constructor(
    format: ReportFormat,
    private readonly junitFile: string | null,
    private readonly io: SinkIo,
  ) {
    this.stdoutFormat = format === 'junit' && junitFile !== null ? 'human' : format;
    this.out = reporterFor(this.stdoutFormat);
    this.junit = junitFile === null ? null : reporterFor('junit');
  }

  begin(info: Omit<RunInfo, 'startedAt' | 'shard' | 'timeoutOverrideSec'>): void {
    const full: RunInfo = { ...info, shard: null, timeoutOverrideSec: null, startedAt: new Date() };
    this.io.stdout(this.out.begin(full));
    this.junit?.begin(full);
  }

  emit(r: SelftestResult): void {
    this.results.push(r);
    this.io.stdout(this.out.result(r, this.results.length));
    this.junit?.result(r, this.results.length);
  }

  async end(closing: readonly string[]): Promise<Summary> {
    const summary = summarize(this.results, Date.now() - this.started);
    this.io.stdout(this.out.end(summary));
    if (this.stdoutFormat === 'junit') this.io.stderr(closing.map((l) => `${l}\n`).join(''));
    else this.io.stdout(closing.map((l) => (this.stdoutFormat === 'human' ? `${l}\n` : `# ${l}\n`)).join(''));
    if (this.junit !== null && this.junitFile !== null) await writeFile(this.junitFile, this.junit.end(summary));
    return summary;
  }
}

/** 1 if anything failed, 4 (skip) if nothing ran, else 0. */
export function exitStatus(s: Summary): number {
  if (s.failed > 0) return 1;
  if (s.passed === 0 && s.skipped > 0) return 4;
  return 0;
}
