// Result model shared by the runner (which fills it) and the reporters (which print it).

/** Outcome of one selftest process, as kselftest's runner would classify it. */
export type SelftestStatus = 'pass' | 'fail' | 'skip' | 'xfail' | 'timeout';

/** One test point from a selftest's own TAP (a case, or an assertion nested in one). */
export interface CaseResult {
  id: number;
  name: string;
  ok: boolean;
  /** SKIP reason ('' when none was given), or null when not skipped. */
  skip: string | null;
  /** TODO reason: an expected failure (XFAIL in KTAP), or null. */
  todo: string | null;
  /** Set when the case was still running when its selftest was killed at its timeout. */
  timeoutSec: number | null;
  timeMs: number | null;
  /** The YAML diagnostics block that followed the result line, if any. */
  diag: Record<string, unknown> | null;
  /** Comment lines (without the leading '# ') printed before this result. */
  comments: string[];
  /** Comment lines printed before this case's `# Subtest:` line (a selftest's header). */
  leading?: string[];
  children: CaseResult[];
  /** True when the runner made this case up (no result line from the child). */
  synthetic: boolean;
}

/** What the runner understood of a selftest's stdout. */
export interface ChildTap {
  /** Top-level test points, in order. */
  cases: CaseResult[];
  /** Top-level comments after the last test point (node-tap's totals, for example). */
  trailingComments: string[];
  /** Reason from a `1..0 # SKIP reason` plan, or null. */
  skipAll: string | null;
  /** A plan was seen, nothing bailed out and the parser reported no errors. */
  valid: boolean;
  /** Valid, and every line was TAP: safe to embed verbatim in the TAP report. */
  clean: boolean;
  /** Why the output is not valid or not clean. */
  problems: string[];
}

export interface SelftestResult {
  name: string;
  /** Path of the selftest file as given to node (relative to the project root when possible). */
  file: string;
  status: SelftestStatus;
  /** Skip or xfail reason, or a short explanation of a failure. */
  reason: string;
  exitCode: number | null;
  signal: string | null;
  /** The timeout the test ran under, in seconds; 0 means none. */
  timeoutSec: number;
  durationMs: number;
  stdout: string;
  stderr: string;
  tap: ChildTap;
  /** Processes the selftest left running after it exited (or was killed), which the runner
   * then killed: `pid command`. Empty when it cleaned up after itself. */
  leftovers: string[];
  /** The VGIC_SEED it ran with (results merged from shards may differ). */
  seed?: number;
  /** Facts about how the process was run that the reports should show (output cut off, a
   * pipe still held open after exit, how leftovers were found). */
  notes: string[];
}

/** Facts about the whole run that every format prints in its header. */
export interface RunInfo {
  seed: number;
  total: number;
  shard: string | null;
  profile: string | null;
  /** --timeout: the per-run override of every selftest's timeout, in seconds, or null. */
  timeoutOverrideSec: number | null;
  startedAt: Date;
  /** How the runner tracks the processes a selftest starts (cgroup v2, or a /proc sweep). */
  tracking?: string;
  /** Set when the report was merged from shard results: "1/2, 2/2". */
  mergedShards?: string;
}

/** Result names: the selftest's own name, or kselftest's `selftests: kvm: <name>`. */
export type Naming = 'plain' | 'kselftest';

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  /** Breakdown kept for reporters: xfail counts as passed, timeout as failed. */
  xfail: number;
  timeout: number;
  durationMs: number;
}

/** A streaming reporter: each call returns text to append to its document. */
export interface Reporter {
  begin(info: RunInfo): string;
  result(r: SelftestResult, index: number): string;
  end(summary: Summary): string;
}
