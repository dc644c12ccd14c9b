// Entry point of `vgic-harness` (make run_tests runs it with node --import=tsx; npm's bin is
// the vgic-harness.js wrapper next to it). All logic is in lib/runner/.
import { main } from '../lib/runner/main.ts';

// EPIPE (`vgic-harness --list | head -1`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

// exitCode rather than process.exit(): a piped stdout is flushed before Node exits.
process.exitCode = await main(process.argv.slice(2));
