// Command-line parsing for `vgic-harness`: argv in, a validated command out. Nothing here
// touches the file system or starts processes, so every usage error is found before any
// selftest runs and is reported the same way (message, usage, exit 2).
import { parseArgs } from 'node:util';
import { DEFAULT_PROFILE_NAME, PROFILES, findProfile } from '../vgic/profiles.ts';
import { parseShard, type Shard } from './shard.ts';
import { UsageError } from './usage-error.ts';

export { UsageError };

export const FORMATS = ['tap', 'ktap', 'junit', 'human'] as const;
export type Format = (typeof FORMATS)[number];

/** kselftest's runner.sh default (`kselftest_default_timeout`). */
export const DEFAULT_TIMEOUT_SEC = 45;

export const USAGE = `usage: vgic-harness [run] [options] [NAME|GLOB ...]
       vgic-harness list [options] [NAME|GLOB ...]      (same as run --list)
       vgic-harness snapshot diff A.yaml B.yaml
       vgic-harness conformance [options] [SCENARIO ...]  (model vs real KVM under QEMU; --help)
       vgic-harness run --target kvm:VERSION [options]    (the C selftests on real KVM; --help)
       vgic-harness help

Runs every selftest (selftests/*.ts) in its own process, kselftest-style, and prints one report.
NAME or GLOB selects selftests by name (vgic_init, "vgic_group_*"); default: all of them.

options:
  -f, --format FMT   report on stdout: tap (TAP 14, default), ktap, junit (JUnit XML), human
      --junit FILE   also write JUnit XML to FILE; with --format junit, stdout shows human lines
  -l, --list         print the selected selftests' names (after --shard) and exit
  -j, --jobs N       run N selftests at once (default: number of CPUs); output order stays by name
      --shard I/N    run only part I of N (1-based) of the sorted selection, for CI matrices
      --seed N       vCPU scheduler seed passed as VGIC_SEED (default: $VGIC_SEED, else random)
      --profile NAME host-kernel profile passed as VGIC_PROFILE (default: $VGIC_PROFILE, else
                     ${DEFAULT_PROFILE_NAME}); one of ${PROFILES.map((p) => p.name).join(', ')}
  -t, --timeout SEC  per-test timeout for this run, overriding every test's own (default ${DEFAULT_TIMEOUT_SEC};
                     a selftest sets its own with a line \`// vgic-harness: timeout=SEC\`). At the
                     timeout the test's process group gets SIGTERM, then SIGKILL 1 s later
      --dir DIR      directory of selftests (default: the project's selftests/)
  -h, --help         print this help

exit status: 0 all passed, skipped or xfail; 1 a selftest failed or timed out; 2 usage error;
             3 internal error; 130/143 interrupted`;

export interface RunOptions {
  format: Format;
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

export type Command =
  | { kind: 'run'; options: RunOptions }
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

export function parseTimeout(value: string): number {
  // Fractions are allowed (tests of the runner use short timeouts); 0 would mean "never", which
  // could hang a run, so it is refused.
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0 || !Number.isFinite(Number(value))) {
    throw new UsageError(`--timeout must be a positive number of seconds, got '${value}'`);
  }
  return Number(value);
}

export function checkProfile(name: string): string {
  if (findProfile(name) === undefined) {
    throw new UsageError(`unknown profile '${name}'; known profiles: ${PROFILES.map((p) => p.name).join(', ')}`);
  }
  return name;
}

function parseFormat(value: string): Format {
  const f = FORMATS.find((x) => x === value);
  if (f === undefined) throw new UsageError(`unknown format '${value}'; use one of ${FORMATS.join(', ')}`);
  return f;
}

function parseRun(argv: string[], forceList: boolean): RunOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string', short: 'f' },
        junit: { type: 'string' },
        list: { type: 'boolean', short: 'l' },
        jobs: { type: 'string', short: 'j' },
        shard: { type: 'string' },
        seed: { type: 'string' },
        profile: { type: 'string' },
        timeout: { type: 'string', short: 't' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown options and
    // missing values; those are the user's mistakes, not ours.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message);
    throw err;
  }
  const v = parsed.values;
  if (v.help === true) throw new HelpRequested();
  if (v.junit !== undefined && v.junit === '') throw new UsageError('--junit needs a file name');
  if (v.dir !== undefined && v.dir === '') throw new UsageError('--dir needs a directory');
  return {
    format: v.format === undefined ? 'tap' : parseFormat(v.format),
    junitFile: v.junit ?? null,
    list: forceList || v.list === true,
    jobs: v.jobs === undefined ? null : positiveInt(v.jobs, '--jobs'),
    shard: v.shard === undefined ? null : parseShard(v.shard),
    seed: v.seed === undefined ? null : parseSeed(v.seed),
    profile: v.profile === undefined ? null : checkProfile(v.profile),
    timeoutSec: v.timeout === undefined ? null : parseTimeout(v.timeout),
    dir: v.dir ?? null,
    patterns: parsed.positionals,
  };
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
