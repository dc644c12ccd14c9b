// Entry of `vgic-harness conformance` (lib/runner/main.ts dispatches here).
import { UsageError } from '../runner/usage-error.ts';
import { CONFORMANCE_USAGE, ConformanceHelp, parseConformance } from './cli.ts';
import { ScenarioError } from './language.ts';
import { conformanceCommand } from './run.ts';

export async function conformanceCli(argv: readonly string[], io: { stdout(t: string): void; stderr(t: string): void; env: NodeJS.ProcessEnv }): Promise<number> {
  let opts;
  try {
    opts = parseConformance(argv);
  } catch (e) {
    if (e instanceof ConformanceHelp) {
      io.stdout(`${CONFORMANCE_USAGE}\n`);
      return 0;
    }
    if (e instanceof UsageError) {
      io.stderr(`vgic-harness conformance: ${e.message}\n\n${CONFORMANCE_USAGE}\n`);
      return 2;
    }
    throw e;
  }
  try {
    return await conformanceCommand(opts, io);
  } catch (e) {
    if (e instanceof ScenarioError) {
      io.stderr(`vgic-harness conformance: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
