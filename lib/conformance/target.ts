// `vgic-harness run --target kvm:VERSION`: the kernel's own vgic selftests (C, from that
// version's linux-source or a tree the user names) run on real KVM in the QEMU VM, reported in
// the same formats as every run, next to the TypeScript ports run on the profile named after the
// kernel, with a verdict table (C on real KVM | port on the profile) per test.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReportFormat } from '../report/formats.ts';
import type { SelftestResult } from '../report/model.ts';
import { parseChildTap } from '../runner/child-tap.ts';
import { executeSelftest } from '../runner/execute.ts';
import { startTracking } from '../runner/tracking.ts';
import { PROJECT_ROOT, childEnv } from '../runner/run.ts';
import { verdict } from '../runner/verdict.ts';
import { cacheDir } from './cache.ts';
import { initramfs } from './cpio.ts';
import { BuildError, type SourceTree, buildKvmSelftests, debianSource, userSource } from './kernel-source.ts';
import { KernelError, type KernelImage, knownKernel, resolveKernel } from './kernels.ts';
import { buildNative } from './native-build.ts';
import { type KvmMode, bootVm } from './qemu.ts';
import { ReportSink, exitStatus } from './report-sink.ts';
import { profileForKernel } from './run.ts';
import { SetupError, ensureHostTools, ensureKernelSource } from './setup.ts';

export const DEFAULT_TARGET_TESTS = ['vgic_init', 'vgic_irq'] as const;
/** tools/testing/selftests/kvm/settings: timeout=120. */
export const KVM_SELFTEST_TIMEOUT_SEC = 120;

export interface TargetOptions {
  kernel: string;
  gic: 2 | 3;
  kvmMode: KvmMode;
  /** null: linux-source-<major.minor of the kernel>; "X.Y": that Debian source; else a tree path. */
  source: string | null;
  tests: string[];
  format: ReportFormat;
  junitFile: string | null;
  timeoutSec: number;
  profile: string | null;
}

export interface CTestRun {
  name: string;
  output: string;
  exit: number | null;
  signal: number | null;
  timedOut: boolean;
  seconds: number | null;
}

/** The console of native/run-tests.c, split per test. */
export function parseRunTestsOutput(output: string): { release: string | null; tests: CTestRun[]; ended: boolean } {
  const tests: CTestRun[] = [];
  let release: string | null = null;
  let ended = false;
  let cur: { name: string; lines: string[] } | null = null;
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.replace(/\r$/, '');
    const m = /^@@ (BEGIN|END|TEST) ?(.*)$/.exec(line);
    if (!m) {
      if (cur) cur.lines.push(line);
      continue;
    }
    if (m[1] === 'BEGIN') release = m[2]!.trim();
    else if (m[1] === 'END') ended = true;
    else {
      const w = m[2]!.split(/\s+/);
      if (w[1] === 'BEGIN') cur = { name: w[0]!, lines: [] };
      else if (cur && w[0] === cur.name) {
        const secs = Number(w[3]); // EXIT, SIGNAL and TIMEOUT lines all end in the seconds taken
        tests.push({
          name: cur.name,
          output: cur.lines.join('\n').replace(/\n+$/, ''),
          exit: w[1] === 'EXIT' ? Number(w[2]) : null,
          signal: w[1] === 'SIGNAL' ? Number(w[2]) : null,
          timedOut: w[1] === 'TIMEOUT',
          seconds: Number.isFinite(secs) ? secs : null,
        });
        cur = null;
      }
    }
  }
  if (cur) tests.push({ name: cur.name, output: cur.lines.join('\n'), exit: null, signal: null, timedOut: false, seconds: null });
  return { release, tests, ended };
}

/** kselftest's reading of an exit status: 0 pass, 4 skip, 2 xfail, else fail; killed = timeout. */
export function cTestResult(t: CTestRun, label: string, timeoutSec: number): SelftestResult {
  let status: SelftestResult['status'];
  let reason = '';
  if (t.timedOut) {
    status = 'timeout';
    reason = `TIMEOUT ${timeoutSec} seconds`;
  } else if (t.exit === 0) status = 'pass';
  else if (t.exit === 4) {
    status = 'skip';
    reason = t.output.split('\n').reverse().find((l) => /skip/i.test(l)) ?? 'skipped (exit 4)';
  } else if (t.exit === 2) status = 'xfail';
  else {
    status = 'fail';
    // kselftest's TEST_ASSERT prints "==== Test Assertion Failure ====", the file:line and
    // expression, the errno, then the message: keep those three lines.
    const lines = t.output.split('\n');
    const at = lines.findIndex((l) => l.includes('Test Assertion Failure'));
    const assertion = at >= 0 ? lines.slice(at + 1, at + 4).map((l) => l.trim()).filter((l) => l !== '').join('; ') : null;
    reason = t.exit === null && t.signal === null ? 'the VM stopped during this test' : (assertion || `exit status ${t.exit ?? `signal ${t.signal}`}`);
  }
  const lines = t.output === '' ? [] : t.output.split('\n');
  return {
    name: `${t.name} (C, ${label})`,
    file: `tools/testing/selftests/kvm/arm64/${t.name}.c`,
    status,
    reason,
    exitCode: t.exit,
    signal: t.signal === null ? null : `signal ${t.signal}`,
    timeoutSec,
    durationMs: (t.seconds ?? 0) * 1000,
    stdout: t.output,
    stderr: '',
    // The C selftests run inside the VM: nothing of theirs can outlive its poweroff.
    leftovers: [],
    notes: [],
    tap: { cases: [], trailingComments: lines.slice(-60), skipAll: status === 'skip' ? reason : null, valid: true, clean: false, problems: [] },
  };
}

async function portResult(test: string, profile: string, env: NodeJS.ProcessEnv): Promise<SelftestResult | null> {
  const file = `selftests/${test}.ts`;
  if (!existsSync(join(PROJECT_ROOT, file))) return null;
  // Tracked like every selftest the runner starts (lib/runner/tracking.ts): leftovers are killed and reported.
  const tracking = startTracking(env);
  let raw: Awaited<ReturnType<typeof executeSelftest>>;
  try {
    raw = await executeSelftest(file, {
      cwd: PROJECT_ROOT,
      env: childEnv(env, 1, profile),
      timeoutMs: 120_000,
      tracker: tracking.forTest(1, test),
      reaper: tracking.reaper,
      supervisor: null,
      name: test,
    });
  } finally {
    tracking.close();
  }
  const r = verdict({ name: `${test} (port, profile ${profile})`, file, timeoutSec: 120, raw, tap: await parseChildTap(raw.stdout) });
  return r;
}

function countCases(r: SelftestResult): string {
  const n = r.tap.cases.length;
  if (!n) return '';
  // An expected failure of the port is where the original fails on this kernel: name it.
  const xfail = r.tap.cases.filter((c) => c.todo !== null).map((c) => c.name);
  return xfail.length ? ` (${n} cases; expected to fail here: ${xfail.join(', ')})` : ` (${n} cases)`;
}

export function verdictCell(r: SelftestResult | null): string {
  if (r === null) return 'no port on this branch';
  const t = r.durationMs ? ` ${(r.durationMs / 1000).toFixed(1)} s` : '';
  switch (r.status) {
    case 'pass':
      return `pass${t}${countCases(r)}`;
    case 'skip':
      return `skip: ${r.reason}`;
    case 'timeout':
      return `timeout (${r.timeoutSec} s)`;
    case 'xfail':
      return `xfail${t}`;
    case 'fail':
      return `FAIL${t}: ${r.reason}`;
  }
}

export async function targetCommand(opts: TargetOptions, io: { stdout(t: string): void; stderr(t: string): void; env: NodeJS.ProcessEnv }): Promise<number> {
  const cache = cacheDir(io.env);
  const log = (m: string): void => io.stderr(`run --target: ${m}\n`);
  let kernel: KernelImage | null = null;
  let src: SourceTree | null = null;
  let bins: Map<string, string> | null = null;
  let problem: string | null = null;
  let buildFailure: string | null = null;
  try {
    await ensureHostTools(log);
    const k = knownKernel(opts.kernel);
    if (k) await ensureKernelSource(k, log);
    kernel = await resolveKernel(opts.kernel, cache, log);
    if (opts.source !== null && !/^\d+\.\d+$/.test(opts.source)) src = await userSource(opts.source, log);
    else {
      const mm = opts.source ?? /^(\d+\.\d+)/.exec(kernel.version)?.[1];
      if (mm === undefined) throw new KernelError(`cannot tell which linux-source to build for ${kernel.version}: use --source X.Y or --source DIR`);
      src = await debianSource(cache, mm, opts.source === null ? kernel.version : null, log);
    }
    bins = await buildKvmSelftests(cache, src, opts.tests, log);
  } catch (e) {
    if (e instanceof BuildError) {
      buildFailure = e.message;
      log(e.message);
    } else {
      if (!(e instanceof SetupError) && !(e instanceof KernelError)) throw e;
      problem = e.message;
      log(`skipping: ${e.message}`);
    }
  }
  const sink = new ReportSink(opts.format, opts.junitFile, io);
  const hasPort = (t: string): boolean => existsSync(join(PROJECT_ROOT, `selftests/${t}.ts`));
  const ran = problem === null && buildFailure === null;
  sink.begin({ seed: 1, total: opts.tests.length + (ran ? opts.tests.filter(hasPort).length : 0), profile: opts.profile });
  const emit = (r: SelftestResult): void => sink.emit(r);
  const profile = profileForKernel(kernel?.version ?? opts.kernel, opts.profile);
  const rows: { test: string; c: SelftestResult; port: SelftestResult | null }[] = [];
  let release: string | null = null;
  let bootMs: number | null = null;
  if (problem === null && kernel !== null && bins !== null && src !== null) {
    const runner = readFileSync(await buildNative(cache, 'run-tests', ['run-tests.c'], []));
    const list = opts.tests.map((t) => `${t} ${opts.timeoutSec}\n`).join('');
    const exes: Record<string, Uint8Array> = {};
    for (const [t, p] of bins) exes[`tests/${t}`] = readFileSync(p);
    log(`booting ${kernel.version} (GICv${opts.gic}, kvm-arm.mode=${opts.kvmMode}) to run ${opts.tests.join(', ')}`);
    const vm = await bootVm({
      kernel: kernel.path,
      gic: opts.gic,
      kvmMode: opts.kvmMode,
      initramfs: initramfs(runner, { 'tests/list': Buffer.from(list) }, exes),
      timeoutMs: (opts.timeoutSec * opts.tests.length + 90) * 1000,
    });
    bootMs = vm.bootMs;
    const parsed = parseRunTestsOutput(vm.output);
    release = parsed.release;
    const label = `real KVM ${release ?? kernel.version}, GICv${opts.gic}, built from ${src.label}`;
    for (const test of opts.tests) {
      const run = parsed.tests.find((t) => t.name === test) ?? { name: test, output: vm.output.slice(-4000), exit: null, signal: null, timedOut: false, seconds: null };
      const c = cTestResult(run, label, opts.timeoutSec);
      emit(c);
      const port = await portResult(test, profile, io.env);
      if (port) emit(port);
      rows.push({ test, c, port });
    }
  } else {
    for (const test of opts.tests) {
      // Setup that cannot be done here is a skip; selftests that do not build are a failure.
      const r = cTestResult({ name: test, output: buildFailure ?? '', exit: buildFailure === null ? 4 : 1, signal: null, timedOut: false, seconds: null }, 'real KVM', opts.timeoutSec);
      r.reason = buildFailure === null ? (problem ?? 'not run') : `the selftests did not build from the kernel source`;
      if (buildFailure === null) r.tap.skipAll = r.reason;
      emit(r);
    }
  }
  const table = [
    `verdict, kernel ${release ?? opts.kernel}${bootMs !== null ? ` (boot ${(bootMs / 1000).toFixed(1)} s)` : ''}: the C selftest on real KVM | the port on profile ${profile}`,
    ...rows.map((r) => `  ${r.test.padEnd(10)} C: ${verdictCell(r.c)} | port: ${verdictCell(r.port)}`),
  ];
  return exitStatus(await sink.end(table));
}
