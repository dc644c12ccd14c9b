// Command-line parsing for `vgic-harness`: argv in, a validated command out. Nothing here
// touches the file system or starts processes, so every usage error is found before any
// selftest runs and is reported the same way (one line naming the problem, a hint, exit 2).
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Naming } from '../report/model.ts';
import { DEFAULT_PROFILE_NAME, PROFILES, findProfile } from '../vgic/profiles.ts';
import { parseShard, type Shard } from './shard.ts';
import { UsageError } from './usage-error.ts';

export { UsageError };

export const FORMATS = ['tap', 'tap13', 'ktap', 'junit', 'human', 'json'] as const;
export type Format = (typeof FORMATS)[number];

/** kselftest's runner.sh default (`kselftest_default_timeout`), used when a directory has no
 * `settings` file; selftests/settings sets 120 s, as tools/testing/selftests/kvm/settings does. */
export const DEFAULT_TIMEOUT_SEC = 45;

/** Node's timers hold at most 2^31-1 ms (24.8 days); a longer one fires at once. */
export const MAX_TIMEOUT_SEC = Math.floor((2 ** 31 - 1) / 1000);

export const USAGE = `usage: vgic-harness [run] [options] [NAME|GLOB ...]
       vgic-harness list [options] [NAME|GLOB ...]      (same as run --list)
       vgic-harness merge [report options] RESULTS.json ...
       vgic-harness snapshot diff A.yaml B.yaml
       vgic-harness conformance [options] [SCENARIO ...]  (model vs real KVM under QEMU; --help)
       vgic-harness run --target kvm:VERSION [options]    (the C selftests on real KVM; --help)
       vgic-harness help

Runs every selftest (selftests/*.ts) in its own process, kselftest-style, and prints one report.
NAME or GLOB selects selftests by name (vgic_init, "vgic_group_*"); default: all of them.

report options (run and merge):
  -f, --format FMT   report on stdout: tap (TAP 14, default), tap13 (TAP 13 for prove and other
                     TAP 13 readers), ktap, junit (JUnit XML), human, json (results, for merge)
  -o, --output FMT:FILE  also write a report in FMT to FILE (repeatable), e.g. -o junit:r.xml
      --junit FILE   same as -o junit:FILE; with --format junit, stdout shows human lines
      --kselftest-names  name results like kselftest's runner: "selftests: kvm: vgic_init"
run options:
  -l, --list         print the selected selftests' names (after --shard) and exit
  -j, --jobs N       run N selftests at once (default: number of CPUs); output order stays by name
      --shard I/N    run only part I of N (1-based) of the sorted selection, for CI matrices
      --seed N       vCPU scheduler seed passed as VGIC_SEED (default: $VGIC_SEED, else random)
      --profile NAME host-kernel profile passed as VGIC_PROFILE (default: $VGIC_PROFILE, else
                     ${DEFAULT_PROFILE_NAME}); one of ${PROFILES.map((p) => p.name).join(', ')}
  -t, --timeout SEC  per-test timeout for this run, overriding every other (a selftest's
                     \`// vgic-harness: timeout=SEC\` line, then the directory's \`settings\` file
                     \`timeout=SEC\`, then ${DEFAULT_TIMEOUT_SEC} s). At the timeout the test and everything it
                     started get SIGTERM, then SIGKILL 1 s later
      --dir DIR      directory of selftests (default: the project's selftests/)
  -h, --help         print this help

environment: VGIC_SEED, VGIC_PROFILE (defaults for --seed, --profile); VGIC_HARNESS_TRACKING=
  auto|cgroup|proc (how the processes a test starts are tracked); VGIC_HARNESS_SCOPE=NAME (runs
  clean up after dead runs of the same scope only)

exit status: 0 all passed, skipped or xfail; 1 a selftest failed or timed out; 2 usage error;
             3 internal error; 130/143 interrupted`;

export interface Output {
  format: Format;
  file: string;
}

export interface ReportSelection {
  format: Format;
  /** Extra reports written to files (--output, --junit). */
  outputs: Output[];
  naming: Naming;
}

export interface RunOptions extends ReportSelection {
  /** The --junit file, also listed in outputs (it changes what `--format junit` prints). */
  junitFile: string | null;
  list: boolean;
  /** null: one per CPU. */
  jobs: number | null;
  shard: Shard | null;
  /** null: $VGIC_SEED if set, else random (decided by the run, so parsing stays pure). */
  seed: number | null;
  profile: string | null;
  /** Per-run override of every selftest's timeout, in seconds. */
  timeoutSec: number | null;
  /** null: the project's selftests/ directory. */
  dir: string | null;
  patterns: string[];
}

export interface MergeOptions extends ReportSelection {
  files: string[];
}

export type Command =
  | { kind: 'run'; options: RunOptions }
  | { kind: 'merge'; options: MergeOptions }
  | { kind: 'snapshot'; argv: string[] }
  | { kind: 'conformance'; argv: string[] }
  | { kind: 'target'; argv: string[] }
  | { kind: 'help' };

function positiveInt(value: string, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${what} must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

export function parseSeed(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) {
    throw new UsageError(`--seed must be an integer from 0 to 4294967295, got '${value}'`);
  }
  return Number(value);
}

/** A timeout in seconds: positive, fractions allowed, at most MAX_TIMEOUT_SEC. `what` names
 * where it came from (an option, a directive line, a settings file). */
export function parseTimeoutValue(value: string, what: string): number {
  // 0 would mean "never", which could hang a run, so it is refused.
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0 || !Number.isFinite(Number(value))) {
    throw new UsageError(`${what} must be a positive number of seconds, got '${value}'`);
  }
  const sec = Number(value);
  if (sec > MAX_TIMEOUT_SEC) {
    throw new UsageError(`${what} ${value} is too long: at most ${MAX_TIMEOUT_SEC} seconds (24.8 days, the longest timer Node has)`);
  }
  return sec;
}

export function parseTimeout(value: string): number {
  return parseTimeoutValue(value, '--timeout');
}

export function checkProfile(name: string): string {
  if (findProfile(name) === undefined) {
    throw new UsageError(`unknown profile '${name}'; known profiles: ${PROFILES.map((p) => p.name).join(', ')}`);
  }
  return name;
}

function parseFormat(value: string, what = '--format'): Format {
  const f = FORMATS.find((x) => x === value);
  if (f === undefined) throw new UsageError(`${what}: unknown format '${value}'; use one of ${FORMATS.join(', ')}`);
  return f;
}

function parseOutput(value: string): Output {
  const m = /^([a-z0-9]+):(.+)$/.exec(value);
  if (m === null) throw new UsageError(`--output must look like FORMAT:FILE (for example junit:report.xml), got '${value}'`);
  return { format: parseFormat(m[1] as string, '--output'), file: m[2] as string };
}

/** Node's parseArgs messages, reworded: one line, the option named, no advice about `--`. */
function parseArgsMessage(err: Error & { code?: string }): string {
  const opt = /'(-[^' ,]+)(?:, (--[^' ]+))?/.exec(err.message);
  const name = opt?.[2] ?? opt?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${name}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(err.message) ? `option '${name}' needs a value` : `option '${name}' takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument: ${err.message}`;
    default:
      return err.message;
  }
}

const REPORT_OPTIONS = {
  format: { type: 'string', short: 'f' },
  output: { type: 'string', short: 'o', multiple: true },
  junit: { type: 'string' },
  'kselftest-names': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const RUN_OPTIONS = {
  ...REPORT_OPTIONS,
  list: { type: 'boolean', short: 'l' },
  jobs: { type: 'string', short: 'j' },
  shard: { type: 'string' },
  seed: { type: 'string' },
  profile: { type: 'string' },
  timeout: { type: 'string', short: 't' },
  dir: { type: 'string' },
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

/** util.parseArgs (strict, positionals allowed) with its argument errors turned into one-line
 * UsageErrors; `conformance` and `run --target` parse with it too. */
export function parseArgv<O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown options and missing
    // values; those are the user's mistakes, not ours.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(parseArgsMessage(err as Error & { code: string }));
    throw err;
  }
}

function parse(argv: string[], options: typeof RUN_OPTIONS | typeof REPORT_OPTIONS): { values: Values; positionals: string[] } {
  const r = parseArgv(argv, options);
  return { values: r.values as Values, positionals: r.positionals };
}

function reportSelection(v: Values): ReportSelection & { junitFile: string | null } {
  const junit = typeof v.junit === 'string' ? v.junit : undefined;
  if (junit === '') throw new UsageError('--junit needs a file name');
  const outputs = (Array.isArray(v.output) ? v.output : []).map(parseOutput);
  if (junit !== undefined) outputs.push({ format: 'junit', file: junit });
  return {
    format: typeof v.format === 'string' ? parseFormat(v.format) : 'tap',
    outputs,
    naming: v['kselftest-names'] === true ? 'kselftest' : 'plain',
    junitFile: junit ?? null,
  };
}

function parseRun(argv: string[], forceList: boolean): RunOptions {
  const parsed = parse(argv, RUN_OPTIONS);
  const v = parsed.values;
  if (v.help === true) throw new HelpRequested();
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (str('dir') === '') throw new UsageError('--dir needs a directory');
  const report = reportSelection(v);
  return {
    ...report,
    list: forceList || v.list === true,
    jobs: str('jobs') === undefined ? null : positiveInt(str('jobs') as string, '--jobs'),
    shard: str('shard') === undefined ? null : parseShard(str('shard') as string),
    seed: str('seed') === undefined ? null : parseSeed(str('seed') as string),
    profile: str('profile') === undefined ? null : checkProfile(str('profile') as string),
    timeoutSec: str('timeout') === undefined ? null : parseTimeout(str('timeout') as string),
    dir: str('dir') ?? null,
    patterns: parsed.positionals,
  };
}

function parseMerge(argv: string[]): MergeOptions {
  const parsed = parse(argv, REPORT_OPTIONS);
  if (parsed.values.help === true) throw new HelpRequested();
  const report = reportSelection(parsed.values);
  if (parsed.positionals.length === 0) throw new UsageError('merge needs at least one results file (written with --output json:FILE)');
  return { format: report.format, outputs: report.outputs, naming: report.naming, files: parsed.positionals };
}

class HelpRequested extends Error {}

/**
 * `run` is the default command, so `vgic-harness --list` and `vgic-harness vgic_init` work
 * without it. Throws UsageError on any mistake.
 */
export function parseCommand(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  try {
    switch (first) {
      case 'help':
        return { kind: 'help' };
      case 'snapshot':
        return { kind: 'snapshot', argv: rest };
      case 'merge':
        return { kind: 'merge', options: parseMerge(rest) };
      case 'conformance': // lib/conformance parses its own options
        return { kind: 'conformance', argv: rest };
      case 'run':
        // run --target kvm:VERSION: the C selftests on real KVM (lib/conformance parses it)
        if (rest.some((a) => a === '--target' || a.startsWith('--target='))) return { kind: 'target', argv: rest };
        return { kind: 'run', options: parseRun(rest, false) };
      case 'list':
        return { kind: 'run', options: parseRun(rest, true) };
      default:
        return { kind: 'run', options: parseRun([...argv], false) };
    }
  } catch (err) {
    if (err instanceof HelpRequested) return { kind: 'help' };
    throw err;
  }
}
