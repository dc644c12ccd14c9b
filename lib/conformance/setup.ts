// Installs what a conformance run needs, only when it is missing: QEMU, the arm64 cross compiler,
// the arm64 dpkg architecture (for `apt-get download ...:arm64`), and the Debian suites that
// carry the kernels (added pinned at priority 100 so nothing on the host upgrades from them).
// Kernel packages themselves are only ever downloaded, never installed.
import { execa } from 'execa';
import { existsSync, writeFileSync } from 'node:fs';
import type { KnownKernel } from './kernels.ts';
import { CROSS_CC } from './native-build.ts';
import { QEMU } from './qemu.ts';

export const HOST_PACKAGES = ['qemu-system-arm', 'gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross'];
const SOURCES_FILE = '/etc/apt/sources.list.d/vgic-harness-kernels.sources';
const PREFS_FILE = '/etc/apt/preferences.d/vgic-harness-kernels';
/** The suites beyond bookworm (+security) that carry the kernels (kernels.ts). */
const EXTRA_SUITES = ['bookworm-backports', 'trixie', 'sid'];

export class SetupError extends Error {}

async function has(cmd: string): Promise<boolean> {
  const r = await execa('sh', ['-c', `command -v "$1"`, 'sh', cmd], { reject: false });
  return r.exitCode === 0;
}

async function run(log: (m: string) => void, cmd: string, args: string[]): Promise<void> {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = await execa(cmd, args, { reject: false, all: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.exitCode !== 0) throw new SetupError(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}):\n${String(r.all ?? '').slice(-2000)}`);
}

function canInstall(): boolean {
  return process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
}

let updated = false;
async function aptUpdate(log: (m: string) => void): Promise<void> {
  if (updated) return;
  await run(log, 'apt-get', ['update', '-q']);
  updated = true;
}

/** QEMU and the cross compiler; throws SetupError (a skip) when they are missing and cannot be installed. */
export async function ensureHostTools(log: (m: string) => void): Promise<void> {
  const missing: string[] = [];
  if (!(await has(QEMU))) missing.push('qemu-system-arm');
  if (!(await has(CROSS_CC)) || !existsSync('/usr/aarch64-linux-gnu/include/linux/kvm.h')) {
    missing.push('gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross');
  }
  if (!(await has('dpkg-deb'))) throw new SetupError('dpkg-deb is missing: conformance needs a Debian-based host');
  if (missing.length === 0) return;
  if (!canInstall()) {
    throw new SetupError(`missing ${missing.join(', ')}; install them as root: apt-get install ${HOST_PACKAGES.join(' ')}`);
  }
  log(`installing ${missing.join(', ')} (apt-get)`);
  await aptUpdate(log);
  await run(log, 'apt-get', ['install', '-y', '-q', ...missing]);
}

async function madison(pkg: string): Promise<boolean> {
  const r = await execa('apt-cache', ['madison', `${pkg}:arm64`], { reject: false });
  return r.exitCode === 0 && String(r.stdout).trim() !== '';
}

/** Make `apt-get download <kernel>:arm64` possible: arm64 architecture and the kernel's suite. */
export async function ensureKernelSource(k: KnownKernel, log: (m: string) => void): Promise<void> {
  if (await madison(k.pkg)) return;
  if (!canInstall()) throw new SetupError(`${k.pkg}:arm64 is not downloadable here; as root: dpkg --add-architecture arm64, add Debian ${k.suite}, apt-get update`);
  const arches = String((await execa('dpkg', ['--print-foreign-architectures'], { reject: false })).stdout).split('\n');
  if (!arches.includes('arm64')) {
    log('adding the arm64 dpkg architecture (for apt-get download of arm64 kernels only)');
    await run(log, 'dpkg', ['--add-architecture', 'arm64']);
    updated = false;
  }
  await aptUpdate(log);
  if (await madison(k.pkg)) return;
  if (!existsSync(SOURCES_FILE)) {
    log(`adding Debian bookworm-backports, trixie and sid to apt, pinned at priority 100 (${SOURCES_FILE}, ${PREFS_FILE})`);
    writeFileSync(
      SOURCES_FILE,
      `Types: deb\nURIs: http://deb.debian.org/debian\nSuites: ${EXTRA_SUITES.join(' ')}\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
    );
    writeFileSync(PREFS_FILE, EXTRA_SUITES.map((n) => `Package: *\nPin: release n=${n}\nPin-Priority: 100\n`).join('\n'));
    updated = false;
    await aptUpdate(log);
  }
  if (!(await madison(k.pkg))) throw new SetupError(`${k.pkg}:arm64 (${k.suite}) is not downloadable from the configured Debian archives`);
}
