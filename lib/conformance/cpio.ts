// A newc ("070701") cpio writer for the initramfs: directories, regular files and device
// nodes, written in memory. The kernel unpacks this format (init/initramfs.c); no cpio binary
// is needed.

export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  name: string;
  /** st_mode, including the file type bits (0o040000 dir, 0o100000 file, 0o020000 char dev). */
  mode: number;
  data?: Uint8Array;
  /** Device number of a device node. */
  rdevMajor?: number;
  rdevMinor?: number;
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (e: CpioEntry): void => {
    const name = Buffer.from(`${e.name}\0`);
    const data = e.data ?? new Uint8Array(0);
    const header =
      '070701' +
      hex8(ino++) +
      hex8(e.mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(1) + // nlink
      hex8(0) + // mtime
      hex8(data.length) +
      hex8(0) + // devmajor
      hex8(0) + // devminor
      hex8(e.rdevMajor ?? 0) +
      hex8(e.rdevMinor ?? 0) +
      hex8(name.length) +
      hex8(0); // check
    const head = Buffer.concat([Buffer.from(header, 'ascii'), name]);
    parts.push(head, Buffer.alloc(pad4(head.length)), Buffer.from(data), Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) push(e);
  push({ name: 'TRAILER!!!', mode: 0 });
  const all = Buffer.concat(parts);
  // The kernel reads the archive in 512-byte blocks; pad like cpio does.
  return Buffer.concat([all, Buffer.alloc((512 - (all.length % 512)) % 512)]);
}

/** The initramfs every conformance VM boots: /dev, /dev/console, /init and extra files. */
export function initramfs(init: Uint8Array, files: Record<string, Uint8Array>, executables: Record<string, Uint8Array> = {}): Buffer {
  const entries: CpioEntry[] = [
    { name: 'dev', mode: 0o040755 },
    { name: 'dev/console', mode: 0o020600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'init', mode: 0o100755, data: init },
  ];
  const dirs = new Set<string>();
  const addDirs = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (d !== 'dev' && !dirs.has(d)) {
        dirs.add(d);
        entries.push({ name: d, mode: 0o040755 });
      }
    }
  };
  for (const [name, data] of Object.entries(files)) {
    addDirs(name);
    entries.push({ name, mode: 0o100644, data });
  }
  for (const [name, data] of Object.entries(executables)) {
    addDirs(name);
    entries.push({ name, mode: 0o100755, data });
  }
  return cpioArchive(entries);
}
