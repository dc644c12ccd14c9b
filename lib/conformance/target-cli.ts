// `vgic-harness run --target kvm:VERSION ...`: its options (lib/runner/main.ts dispatches here
// when --target is given, so the selftest runner's own options stay as they are).
import { UsageError } from '../runner/usage-error.ts';
import { checkProfile, parseArgv, parseTimeout } from '../runner/cli.ts';
import { formatOption, gicOption, kvmModeOption } from './cli.ts';
import { DEFAULT_TARGET_TESTS, KVM_SELFTEST_TIMEOUT_SEC, type TargetOptions, targetCommand } from './target.ts';

export const TARGET_USAGE = `usage: vgic-harness run --target kvm:VERSION|kvm:PATH [options] [vgic_init|vgic_irq ...]

Builds the kernel's own arm64 KVM selftests (default: vgic_init vgic_irq) statically from that
kernel's Debian linux-source (or --source), runs them on real KVM in a QEMU VM booting VERSION,
and reports them beside the TypeScript ports run on the profile named after the kernel.

options:
  --source X.Y|DIR        selftests from linux-source-X.Y (e.g. 7.2 for upstream's on an older
                          kernel) or from a kernel tree DIR (default: the kernel's own X.Y)
  --gic 2|3               host GIC version (default 3)
  --kvm-mode MODE         vhe (default), nvhe or protected
  --profile NAME          the ports' profile (default: linux-<version> where one exists)
  -t, --timeout SEC       per C selftest (default ${KVM_SELFTEST_TIMEOUT_SEC}, kselftest's kvm/settings)
  -f, --format FMT        tap (default), ktap, junit, human
      --junit FILE        also write JUnit XML to FILE`;

export async function targetCli(argv: readonly string[], io: { stdout(t: string): void; stderr(t: string): void; env: NodeJS.ProcessEnv }): Promise<number> {
  let opts: TargetOptions;
  try {
    const parsed = parseArgv(argv, {
      target: { type: 'string' },
      source: { type: 'string' },
      gic: { type: 'string' },
      'kvm-mode': { type: 'string' },
      profile: { type: 'string' },
      timeout: { type: 'string', short: 't' },
      format: { type: 'string', short: 'f' },
      junit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    const v = parsed.values;
    if (v.help === true) {
      io.stdout(`${TARGET_USAGE}\n`);
      return 0;
    }
    const m = /^kvm:(.+)$/.exec(v.target ?? '');
    if (!m) throw new UsageError(`--target must be kvm:VERSION or kvm:PATH, got '${v.target ?? ''}'`);
    const gic = gicOption(v.gic ?? '3');
    const kvmMode = kvmModeOption(v['kvm-mode'] ?? 'vhe');
    const format = formatOption(v.format ?? 'tap');
    const tests = parsed.positionals.length ? parsed.positionals : [...DEFAULT_TARGET_TESTS];
    for (const t of tests) if (!/^[a-z0-9_]+$/.test(t)) throw new UsageError(`not a selftest name: '${t}'`);
    opts = {
      kernel: m[1]!,
      gic,
      kvmMode,
      source: v.source ?? null,
      tests,
      format,
      junitFile: v.junit ?? null,
      timeoutSec: v.timeout === undefined ? KVM_SELFTEST_TIMEOUT_SEC : parseTimeout(v.timeout),
      profile: v.profile === undefined ? null : checkProfile(v.profile),
    };
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`vgic-harness run --target: ${e.message}\n\n${TARGET_USAGE}\n`);
      return 2;
    }
    throw e;
  }
  return targetCommand(opts, io);
}
