// Boots a real arm64 kernel under qemu-system-aarch64 (TCG, EL2 emulated so the guest kernel
// runs KVM) with our initramfs, and collects the console. Facts measured on this machine kind:
// -cpu max,pauth-impdef=on reaches /init in 2-4 s (plain -cpu max spends 10 s in QARMA5
// pointer authentication); one boot-run-poweroff is 3-6 s.
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const QEMU = 'qemu-system-aarch64';
export type KvmMode = 'vhe' | 'nvhe' | 'protected';

export interface VmRun {
  /** Console output (kernel messages are silenced with loglevel=1). */
  output: string;
  /** Milliseconds from QEMU's start to the first line our /init printed ("@@ BEGIN"). */
  bootMs: number | null;
  /** Milliseconds from "@@ BEGIN" to QEMU's exit. */
  runMs: number | null;
  exitCode: number | null;
  timedOut: boolean;
}

export interface VmConfig {
  kernel: string;
  gic: 2 | 3;
  kvmMode: KvmMode;
  initramfs: Buffer;
  timeoutMs: number;
  /** Extra kernel command line. */
  append?: string;
}

export function qemuArgs(cfg: VmConfig, initrd: string): string[] {
  const cmdline = ['console=ttyAMA0', 'quiet', 'loglevel=1', 'rdinit=/init', 'panic=-1', `kvm-arm.mode=${cfg.kvmMode}`];
  if (cfg.append) cmdline.push(cfg.append);
  return [
    '-M', `virt,virtualization=on,gic-version=${cfg.gic}`,
    '-cpu', 'max,pauth-impdef=on',
    '-smp', '1',
    '-m', '1024',
    '-display', 'none',
    '-serial', 'stdio',
    '-monitor', 'none',
    '-no-reboot',
    '-kernel', cfg.kernel,
    '-initrd', initrd,
    '-append', cmdline.join(' '),
  ];
}

export async function bootVm(cfg: VmConfig): Promise<VmRun> {
  const dir = mkdtempSync(join(tmpdir(), 'vgic-conf-'));
  try {
    const initrd = join(dir, 'initramfs.cpio');
    writeFileSync(initrd, cfg.initramfs);
    const started = Date.now();
    let begin: number | null = null;
    const child = execa(QEMU, qemuArgs(cfg, initrd), {
      reject: false,
      stdin: 'ignore',
      timeout: cfg.timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 256 * 1024 * 1024,
      buffer: true,
      all: true,
    });
    let text = '';
    child.all?.on('data', (d: Buffer) => {
      if (begin === null) {
        text += d.toString('latin1');
        if (text.includes('@@ BEGIN')) begin = Date.now();
      }
    });
    const r = await child;
    const end = Date.now();
    return {
      output: String(r.all ?? ''),
      bootMs: begin === null ? null : begin - started,
      runMs: begin === null ? null : end - begin,
      exitCode: r.exitCode ?? null,
      timedOut: r.timedOut === true,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
