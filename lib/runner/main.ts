// The `vgic-harness` command: parse, dispatch, and turn every expected error into a message
// and an exit status. Returns the status instead of exiting, so that stdout is flushed.
import { parseCommand, USAGE } from './cli.ts';
import { mergeCommand } from './merge.ts';
import { runCommand, type RunIo } from './run.ts';
import { UsageError } from './usage-error.ts';

export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

export interface MainIo extends RunIo {
  stderrText(text: string): void;
}

export function processIo(): MainIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: process.stderr,
    stderrText: (text) => void process.stderr.write(text),
    stdoutIsTTY: process.stdout.isTTY === true,
    env: process.env,
  };
}

export async function main(argv: readonly string[], io: MainIo = processIo(), cwd: string = process.cwd()): Promise<number> {
  try {
    const cmd = parseCommand(argv);
    switch (cmd.kind) {
      case 'help':
        io.stdout(`${USAGE}\n`);
        return 0;
      // The snapshot and conformance commands are loaded when asked for: they bring in the
      // snapshot engine and the conformance back ends, about a quarter of a second of module
      // loading that every `run` (and every test that starts the CLI) would otherwise pay.
      case 'snapshot': {
        const { snapshotCli } = await import('../snapshot/diff-cli.ts');
        return await snapshotCli(cmd.argv, { stdout: io.stdout, stderr: io.stderrText });
      }
      case 'conformance': {
        const { conformanceCli } = await import('../conformance/command.ts');
        return await conformanceCli(cmd.argv, { stdout: io.stdout, stderr: io.stderrText, env: io.env });
      }
      case 'target': {
        const { targetCli } = await import('../conformance/target-cli.ts');
        return await targetCli(cmd.argv, { stdout: io.stdout, stderr: io.stderrText, env: io.env });
      }
      case 'run':
        return await runCommand(cmd.options, io, cwd);
      case 'merge':
        return await mergeCommand(cmd.options, io, cwd);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      // One line naming the problem and where to look; the full usage only on --help.
      io.stderrText(`vgic-harness: ${err.message} (see 'vgic-harness --help')\n`);
      return EXIT_USAGE;
    }
    // A bug in the harness, not in a selftest: say so plainly, with the stack for the report.
    const e = err instanceof Error ? err : new Error(String(err));
    io.stderrText(`vgic-harness: internal error: ${e.message}\n${e.stack ?? ''}\n`);
    return EXIT_INTERNAL;
  }
}
