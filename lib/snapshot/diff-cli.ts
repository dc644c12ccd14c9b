// The entry point lib/runner/main.ts imports for `vgic-harness snapshot ...` (kept at this path);
// the commands live in cli.ts. Run directly: node --import=tsx lib/snapshot/diff-cli.ts diff a.yaml b.yaml
//
// cli.ts is loaded only when a snapshot command runs, so that other commands do not load the
// model and the snapshot engine for nothing. (Library code never loads node-tap: see
// test/selftest-wrapper.test.ts, which fails the import of lib/host or lib/snapshot if it does.)

import { pathToFileURL } from 'node:url';
import type { CliIo } from './cli.ts';

export type { CliIo } from './cli.ts';

/** `vgic-harness snapshot ARGS` (cli.ts: snapshotCli). */
export async function snapshotCli(argv: string[], io?: CliIo): Promise<number> {
  const cli = await import('./cli.ts');
  return io ? cli.snapshotCli(argv, io) : cli.snapshotCli(argv);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  snapshotCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
