// Real arm64 kernels for the conformance VM: Debian's packages, fetched with `apt-get download`
// (never installed on the host) and unpacked into the cache; or a user's own Image.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, renameSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** A kernel Debian ships, by upstream version. */
export interface KnownKernel {
  readonly version: string;
  /** The arm64 binary package holding the Image. */
  readonly pkg: string;
  /** Path of the Image inside the package. */
  readonly imagePath: string;
  /** Debian suite the package comes from (for the setup step and the README). */
  readonly suite: string;
  /** The linux-source package with this version's tools/testing/selftests (for --target kvm). */
  readonly sourcePkg: string;
}

/**
 * The kernels the README lists, checked downloadable on this machine kind (apt-cache madison):
 * Debian's arm64 Image is an uncompressed EFI-stub Image, which QEMU boots directly.
 */
export const KNOWN_KERNELS: readonly KnownKernel[] = [
  {
    version: '6.1.164',
    pkg: 'linux-image-6.1.0-44-arm64',
    imagePath: 'boot/vmlinuz-6.1.0-44-arm64',
    suite: 'bookworm-security',
    sourcePkg: 'linux-source-6.1',
  },
  {
    version: '6.12.43',
    pkg: 'linux-image-6.12.43+deb12-arm64',
    imagePath: 'boot/vmlinuz-6.12.43+deb12-arm64',
    suite: 'bookworm-backports',
    sourcePkg: 'linux-source-6.12',
  },
  {
    version: '6.12.117',
    pkg: 'linux-image-6.12.117+deb13-arm64',
    imagePath: 'boot/vmlinuz-6.12.117+deb13-arm64',
    suite: 'trixie',
    sourcePkg: 'linux-source-6.12',
  },
  {
    version: '7.2.13',
    pkg: 'linux-binary-7.2.13+deb14-arm64',
    imagePath: 'usr/lib/modules/7.2.13+deb14-arm64/vmlinuz',
    suite: 'sid',
    sourcePkg: 'linux-source-7.2',
  },
];

export function knownKernel(version: string): KnownKernel | undefined {
  return KNOWN_KERNELS.find((k) => k.version === version);
}

export interface KernelImage {
  /** Upstream version ("6.12.117"), or the file name of a user's Image. */
  readonly version: string;
  readonly path: string;
  /** True for a user's own Image (--kernel PATH). */
  readonly custom: boolean;
}

export class KernelError extends Error {}

/** --kernel VERSION|PATH: a path (contains a slash or exists) is used as is. */
export async function resolveKernel(spec: string, cache: string, log: (msg: string) => void): Promise<KernelImage> {
  if (spec.includes('/') || (existsSync(spec) && statSync(spec).isFile())) {
    const path = isAbsolute(spec) ? spec : resolve(spec);
    if (!existsSync(path)) throw new KernelError(`kernel image ${path} does not exist`);
    return { version: spec.split('/').pop() ?? spec, path, custom: true };
  }
  const k = knownKernel(spec);
  if (!k) {
    throw new KernelError(`unknown kernel version '${spec}'; known: ${KNOWN_KERNELS.map((x) => x.version).join(', ')} (or give the path of an Image)`);
  }
  const dir = join(cache, 'kernels', k.version);
  const image = join(dir, 'Image');
  if (existsSync(image)) return { version: k.version, path: image, custom: false };
  mkdirSync(dir, { recursive: true });
  const debs = join(cache, 'debs');
  mkdirSync(debs, { recursive: true });
  let deb = findDeb(debs, k.pkg);
  if (deb === null) {
    log(`fetching ${k.pkg}:arm64 (${k.suite}) with apt-get download`);
    const r = await execa('apt-get', ['download', '-q', `${k.pkg}:arm64`], { cwd: debs, reject: false, all: true });
    deb = findDeb(debs, k.pkg);
    if (deb === null) throw new KernelError(`apt-get download ${k.pkg}:arm64 failed:\n${r.all ?? ''}`);
  }
  const tmp = `${image}.tmp`;
  const r = await execa('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -xO "./$2" > "$3"`, 'sh', deb, k.imagePath, tmp], { reject: false, all: true });
  if (r.exitCode !== 0 || statSync(tmp).size < 1 << 20) throw new KernelError(`could not unpack ${k.imagePath} from ${deb}: ${r.all ?? ''}`);
  // An arm64 Image has "ARM\x64" at offset 0x38.
  if (readFileSync(tmp).subarray(0x38, 0x3c).toString('latin1') !== 'ARMd') throw new KernelError(`${k.imagePath} in ${deb} is not an arm64 Image`);
  renameSync(tmp, image);
  return { version: k.version, path: image, custom: false };
}

function findDeb(dir: string, pkg: string): string | null {
  const f = readdirSync(dir).find((n) => n.startsWith(`${pkg.replace(/\+/g, '%2b')}_`) || n.startsWith(`${pkg}_`));
  return f === undefined ? null : join(dir, f);
}
