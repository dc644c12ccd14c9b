// The entry point lib/runner/main.ts imports for `vgic-harness snapshot ...` (kept at this path);
// the commands live in cli.ts. Run directly: node --import=tsx lib/snapshot/diff-cli.ts diff a.yaml b.yaml

import { pathToFileURL } from 'node:url';
import { snapshotCli } from './cli.ts';

export { type CliIo, USAGE, snapshotCli } from './cli.ts';

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  snapshotCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
