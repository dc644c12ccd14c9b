// The real-KVM back end: compile the steps for native/driver.c, boot the kernel with the driver
// as /init, and read one raw result per step back from the console.
import { readFileSync } from 'node:fs';
import { driverProgram } from './compile.ts';
import { initramfs } from './cpio.ts';
import type { Step } from './language.ts';
import { buildDriver } from './native-build.ts';
import { type KvmMode, bootVm } from './qemu.ts';
import { type RawResult, parseRaw } from './results.ts';

export interface KvmRunResult {
  /** One entry per step; null where the driver printed nothing usable (it crashed or hung). */
  results: (RawResult | null)[];
  /** uname -r inside the VM. */
  release: string | null;
  bootMs: number | null;
  runMs: number | null;
  /** Why the run is incomplete, or null. */
  problem: string | null;
  output: string;
}

export interface KvmTarget {
  kernel: string;
  gic: 2 | 3;
  kvmMode: KvmMode;
}

/** Generous: a boot is 2-4 s and 1,000 steps take about a second under TCG on this machine kind. */
export function runTimeoutMs(steps: number): number {
  return 60_000 + steps * 20;
}

export async function runOnKvm(cache: string, target: KvmTarget, steps: readonly Step[]): Promise<KvmRunResult> {
  const driver = readFileSync(await buildDriver(cache));
  const program = Buffer.from(driverProgram(steps));
  const vm = await bootVm({
    kernel: target.kernel,
    gic: target.gic,
    kvmMode: target.kvmMode,
    initramfs: initramfs(driver, { steps: program }),
    timeoutMs: runTimeoutMs(steps.length),
  });
  return parseDriverOutput(vm.output, steps.length, vm);
}

export function parseDriverOutput(
  output: string,
  count: number,
  vm: { bootMs: number | null; runMs: number | null; timedOut: boolean; exitCode: number | null },
): KvmRunResult {
  const results: (RawResult | null)[] = new Array<RawResult | null>(count).fill(null);
  let release: string | null = null;
  let ended = false;
  let fatal: string | null = null;
  for (const line of output.split(/\r?\n/)) {
    const m = /@@ (\S+) ?(.*)$/.exec(line);
    if (!m) continue;
    const [, tag, rest] = m;
    if (tag === 'BEGIN') release = rest!.trim();
    else if (tag === 'END') ended = true;
    else if (tag === 'FATAL') fatal = rest!;
    else if (/^\d+$/.test(tag!) && Number(tag) < count) results[Number(tag)] = parseRaw(rest!);
  }
  let problem: string | null = null;
  if (fatal !== null) problem = `driver: ${fatal}`;
  else if (release === null) problem = vm.timedOut ? 'the VM never reached /init (timeout)' : 'the VM never reached /init';
  else if (!ended) problem = vm.timedOut ? 'the driver did not finish before the timeout' : 'the driver stopped before the last step';
  else if (results.some((r) => r === null)) problem = 'some steps printed no result';
  return { results, release, bootMs: vm.bootMs, runMs: vm.runMs, problem, output };
}
