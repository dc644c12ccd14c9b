// `vgic-harness conformance` options: argv in, validated options out (UsageError otherwise).
import { UsageError } from '../runner/usage-error.ts';
import { FORMATS, checkProfile, parseArgv } from '../runner/cli.ts';
import type { ReportFormat } from '../report/formats.ts';
import { KNOWN_KERNELS } from './kernels.ts';
import type { KvmMode } from './qemu.ts';
import type { ConformanceOptions } from './run.ts';

export const CONFORMANCE_USAGE = `usage: vgic-harness conformance [options] [SCENARIO|GLOB ...]

Boots real arm64 kernels under qemu-system-aarch64 (TCG, EL2), replays the scenarios on their
KVM and on the model (profile linux-<version>), and reports every step whose results differ.
Installs QEMU and the arm64 cross compiler if missing (apt, as root); exits 4 (skip) if it cannot.

options:
  --kernel VERSION|PATH   kernel to boot (repeatable; default: ${KNOWN_KERNELS.map((k) => k.version).join(', ')});
                          a PATH is your own arm64 Image
  --gic 2|3               host GIC version (repeatable; default: 3 and 2)
  --kvm-mode MODE         vhe (default), nvhe or protected (kvm-arm.mode=)
  --profile NAME          model profile for every kernel (default: linux-<version> where one exists)
  -f, --format FMT        tap (default), ktap, junit, human
      --junit FILE        also write JUnit XML to FILE
  -v, --verbose           print every step's two results, not only differences
      --record DIR        write real KVM's results to DIR/linux-<version>-gicv<N>.txt (what
                          make check replays against the model: scenarios/recorded/)
  -h, --help              this help

exit status: 0 no unexplained difference; 1 differences or a failed VM run; 2 usage; 4 skipped`;

const MODES: readonly KvmMode[] = ['vhe', 'nvhe', 'protected'];

export class ConformanceHelp extends Error {}

/** The options `conformance` and `run --target` share, checked the same way for both. */
export function gicOption(g: string): 2 | 3 {
  if (g !== '2' && g !== '3') throw new UsageError(`--gic must be 2 or 3, got '${g}'`);
  return Number(g) as 2 | 3;
}

export function kvmModeOption(mode: string): KvmMode {
  if (!MODES.includes(mode as KvmMode)) throw new UsageError(`--kvm-mode must be one of ${MODES.join(', ')}, got '${mode}'`);
  return mode as KvmMode;
}

export function formatOption(format: string): ReportFormat {
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`unknown format '${format}'; use one of ${FORMATS.join(', ')}`);
  return format as ReportFormat;
}

export function parseConformance(argv: readonly string[]): ConformanceOptions {
  const parsed = parseArgv(argv, {
    kernel: { type: 'string', multiple: true },
    gic: { type: 'string', multiple: true },
    'kvm-mode': { type: 'string' },
    profile: { type: 'string' },
    format: { type: 'string', short: 'f' },
    junit: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    record: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const v = parsed.values;
  if (v.help === true) throw new ConformanceHelp();
  const gics = (v.gic ?? ['3', '2']).map(gicOption);
  const kvmMode = kvmModeOption(v['kvm-mode'] ?? 'vhe');
  const format = formatOption(v.format ?? 'tap');
  if (v.junit === '') throw new UsageError('--junit needs a file name');
  return {
    kernels: v.kernel ?? KNOWN_KERNELS.map((k) => k.version),
    gics: [...new Set(gics)],
    kvmMode,
    profile: v.profile === undefined ? null : checkProfile(v.profile),
    format,
    junitFile: v.junit ?? null,
    patterns: parsed.positionals,
    verbose: v.verbose === true,
    recordDir: v.record ?? null,
  };
}
