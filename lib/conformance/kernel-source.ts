// The kernel's own KVM selftests (tools/testing/selftests/kvm) built for arm64, static, from a
// Debian linux-source-X.Y package (fetched with apt-get download, unpacked into the cache) or from
// a kernel tree the user names. `make ARCH=arm64 headers` gives the uapi headers the selftests
// include; the selftests' own Makefile does the rest with CROSS_COMPILE=aarch64-linux-gnu-.
import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KernelError } from './kernels.ts';

/** The selftests did not build: a failure of the run, not a skip. */
export class BuildError extends Error {}

export interface SourceTree {
  /** What the report names: "linux-source-7.2 7.2.13-1" or the tree's path. */
  readonly label: string;
  readonly dir: string;
}

async function sh(cmd: string, args: string[], cwd?: string): Promise<{ ok: boolean; out: string }> {
  const r = await execa(cmd, args, { cwd, reject: false, all: true });
  return { ok: r.exitCode === 0, out: String(r.all ?? '') };
}

/** `make ARCH=arm64 headers`: the uapi headers the selftests include, in DIR/usr/include. */
async function makeHeaders(dir: string, log: (m: string) => void): Promise<void> {
  log(`make ARCH=arm64 headers in ${dir}`);
  const h = await sh('make', ['-s', 'ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-', 'headers'], dir);
  if (!h.ok) throw new KernelError(`make headers failed in ${dir}:\n${h.out.slice(-3000)}`);
}

/**
 * linux-source-X.Y in the cache, unpacked (only what headers and the selftests need). `want`
 * prefers an exact upstream version (7.2.13) when Debian has it, else the newest X.Y.
 */
export async function debianSource(cache: string, majorMinor: string, want: string | null, log: (m: string) => void): Promise<SourceTree> {
  const pkg = `linux-source-${majorMinor}`;
  const r = await sh('apt-cache', ['madison', pkg]);
  const versions = r.out.split('\n').map((l) => l.split('|')[1]?.trim()).filter((v): v is string => !!v);
  const exact = want === null ? undefined : versions.find((v) => v.startsWith(`${want}-`));
  // madison lists the newest version first (e.g. linux-source-6.12 -> 6.12.118-1~deb12u1).
  const version = exact ?? versions[0] ?? null;
  if (version === null) throw new KernelError(`${pkg} is not downloadable here (apt-cache madison ${pkg} is empty)`);
  const dir = join(cache, 'src', `${pkg}_${version}`);
  const tree = join(dir, `linux-source-${majorMinor}`);
  const label = `${pkg} ${version}`;
  if (existsSync(join(tree, 'usr', 'include', 'linux', 'kvm.h'))) return { label, dir: tree };
  const debs = join(cache, 'debs');
  mkdirSync(debs, { recursive: true });
  const debName = (): string | undefined => readdirSync(debs).find((n) => n.startsWith(`${pkg}_${version.replace(/:/g, '%3a')}_`));
  if (debName() === undefined) {
    log(`fetching ${pkg}=${version} with apt-get download (about 150 MB)`);
    const d = await sh('apt-get', ['download', '-q', `${pkg}=${version}`], debs);
    if (debName() === undefined) throw new KernelError(`apt-get download ${pkg}=${version} failed:\n${d.out}`);
  }
  const deb = join(debs, debName()!);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`unpacking ${label} (headers, scripts, arch/arm64, tools)`);
  const top = `linux-source-${majorMinor}`;
  const parts = ['Makefile', 'Kbuild', 'Kconfig', 'scripts', 'include', 'arch/arm64', 'arch/Kconfig', 'tools', 'usr', 'init/Kconfig'].map((p) => `${top}/${p}`);
  // Members a version lacks (Kbuild, init/Kconfig) make tar complain; what exists is extracted.
  const x = await sh('sh', ['-c', `deb="$1"; shift; dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/${top}.tar.xz" | xz -dc | tar -x "$@"`, 'sh', deb, ...parts], dir);
  if (!x.ok && !existsSync(join(tree, 'Makefile'))) throw new KernelError(`could not unpack ${deb}:\n${x.out.slice(-2000)}`);
  await makeHeaders(tree, log);
  return { label, dir: tree };
}

/** A kernel tree the user names (it must have tools/testing/selftests/kvm; headers are made if missing). */
export async function userSource(path: string, log: (m: string) => void): Promise<SourceTree> {
  const dir = resolve(path);
  if (!existsSync(join(dir, 'tools', 'testing', 'selftests', 'kvm'))) throw new KernelError(`${dir} has no tools/testing/selftests/kvm`);
  if (!existsSync(join(dir, 'usr', 'include', 'linux', 'kvm.h'))) await makeHeaders(dir, log);
  return { label: dir, dir };
}

/** Build tools/testing/selftests/kvm/arm64/<test> statically; returns test name -> binary path. */
export async function buildKvmSelftests(cache: string, src: SourceTree, tests: readonly string[], log: (m: string) => void): Promise<Map<string, string>> {
  const kvmDir = join(src.dir, 'tools', 'testing', 'selftests', 'kvm');
  // The arm64 tests lived in aarch64/ until 6.13 renamed the directory.
  const sub = existsSync(join(kvmDir, 'arm64')) ? 'arm64' : 'aarch64';
  const out = join(cache, 'selftests', src.label.replace(/[^A-Za-z0-9._-]+/g, '_'));
  const bins = new Map(tests.map((t) => [t, join(out, sub, t)]));
  const missing = tests.filter((t) => !existsSync(bins.get(t)!));
  if (missing.length === 0) return bins;
  mkdirSync(out, { recursive: true });
  log(`building ${missing.join(', ')} from ${src.label} (static, aarch64-linux-gnu-gcc)`);
  const r = await sh(
    'make',
    ['-j2', 'ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-', 'LDFLAGS=-static', `OUTPUT=${out}`, ...missing.map((t) => bins.get(t)!)],
    kvmDir,
  );
  for (const t of missing) {
    if (!existsSync(bins.get(t)!)) throw new BuildError(`building ${t} from ${src.label} failed:\n${r.out.slice(-4000)}`);
  }
  return bins;
}
