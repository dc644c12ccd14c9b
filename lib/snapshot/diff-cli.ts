// `vgic-snapshot diff A B`: compare two snapshot files like diff(1).
// Exit status: 0 identical, 1 different, 2 trouble (bad arguments, unreadable or invalid file).
// Run directly: node --import=tsx lib/snapshot/diff-cli.ts diff a.yaml b.yaml

import { readFile, stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { diffSnapshots, formatDiff } from './diff.ts';
import { SnapshotError, type VgicSnapshot } from './schema.ts';
import { MAX_SNAPSHOT_BYTES, parseSnapshotYaml } from './yaml-io.ts';

export const USAGE = [
  'usage: vgic-snapshot diff <a.yaml> <b.yaml>',
  '',
  'Compare two vGIC snapshots (header fields, vCPUs and every saved register).',
  'Prints one line per difference, e.g.',
  '  distributor GICD_IGROUPR1: 0x5a5a5a5a -> 0x00000000',
  'Exit status: 0 identical, 1 different, 2 trouble (bad arguments or an unreadable/invalid file).',
].join('\n');

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const defaultIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

class FileError extends Error {}

async function loadSnapshot(file: string): Promise<VgicSnapshot> {
  let bytes: Uint8Array;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new FileError('not a regular file');
    if (st.size > MAX_SNAPSHOT_BYTES) throw new FileError(`file is ${st.size} bytes; the limit is ${MAX_SNAPSHOT_BYTES}`);
    bytes = await readFile(file);
  } catch (err) {
    if (err instanceof FileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileError(`cannot read file${code ? ` (${code})` : ''}: ${(err as Error).message}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FileError('not valid UTF-8 text');
  }
  return parseSnapshotYaml(text);
}

export async function snapshotCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  if (argv.length === 1 && ['-h', '--help', 'help'].includes(argv[0] as string)) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (argv.length !== 3 || argv[0] !== 'diff') {
    io.stderr(`vgic-snapshot: bad arguments\n${USAGE}\n`);
    return 2;
  }
  const files = [argv[1] as string, argv[2] as string];
  const snaps: VgicSnapshot[] = [];
  for (const file of files) {
    try {
      snaps.push(await loadSnapshot(file));
    } catch (err) {
      if (err instanceof SnapshotError || err instanceof FileError) {
        io.stderr(`vgic-snapshot: ${file}: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
  }
  const diffs = diffSnapshots(snaps[0]!, snaps[1]!);
  if (diffs.length === 0) return 0;
  io.stdout(`${formatDiff(diffs)}\n`);
  return 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  snapshotCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`vgic-snapshot: internal error: ${String((err as Error)?.stack ?? err)}\n`);
      process.exitCode = 2;
    },
  );
}
