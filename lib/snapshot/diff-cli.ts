// The entry point lib/runner/main.ts imports for `vgic-harness snapshot ...` (kept at this path);
// the commands live in cli.ts. Run directly: node --import=tsx lib/snapshot/diff-cli.ts diff a.yaml b.yaml
//
// cli.ts is loaded only when a snapshot command runs: it reaches lib/host/index.ts, whose
// selftest() module imports node-tap, and node-tap's root test times out after 30 s and then
// SIGALRMs the process. Loaded statically, every `vgic-harness` command (run, conformance) that
// lasts over 40 s would die of that alarm.

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
