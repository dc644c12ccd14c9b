// Putting a destination back after a restore failed part-way: read its state again with the
// backup sequence, write back every register that differs from the backup taken before the
// restore (in the backup sequence's restore order, going on past a refused write), then save once
// more and compare. See backup.ts for how each kind of register is written back and for what
// KVM offers no way to undo.

import { diffSnapshots, formatDiffLine } from '../diff.ts';
import { type VgicSnapshot, describeThrown } from '../schema.ts';
import type { VgicHandle } from './device.ts';
import { VmmAbort } from './failure.ts';
import { type Op, PlanError, Planner } from './plan.ts';
import { SequenceRun } from './run.ts';
import { saveWith } from './save.ts';
import type { VmmSequence } from './types.ts';

export interface RollbackReport {
  /** KVM_SET_DEVICE_ATTR calls the rollback made. */
  readonly writes: number;
  /** A save of the destination after the rollback equals the backup taken before the restore. */
  readonly unchanged: boolean;
  /** What still differs from the backup (one diff line each), when not unchanged. */
  readonly differences: readonly string[];
  /** Rollback writes that failed, or why the rollback could not run. */
  readonly errors: readonly string[];
  /** One line for messages: "rolled back: the destination is as it was (12 writes)". */
  readonly summary: string;
}

function report(writes: number, differences: readonly string[], errors: readonly string[]): RollbackReport {
  const unchanged = differences.length === 0 && errors.length === 0;
  const summary = unchanged
    ? `rolled back: the destination is as it was (${writes} writes)`
    : `rollback incomplete after ${writes} writes: ${[...errors, ...differences].slice(0, 3).join('; ')}${errors.length + differences.length > 3 ? '; ...' : ''}`;
  return { writes, unchanged, differences, errors, summary };
}

/** Execute every op, recording failures instead of stopping (a partial rollback beats none). */
function executeAll(run: SequenceRun, ops: readonly Op[], errors: string[]): void {
  for (const op of ops) {
    try {
      switch (op.k) {
        case 'set32': {
          run.write32(op.group, op.attr, op.value, op.label);
          break;
        }
        case 'set64':
          run.writeSysreg(op.attr, op.value, op.label);
          break;
        case 'probePlpis':
          run.probePlpis();
          break;
        case 'ifPlpis':
          if (run.plpis) executeAll(run, op.ops, errors);
          break;
        default:
          // the backup sequences hold register writes only
          errors.push(`unexpected '${op.k}' step in ${run.seq.name}`);
      }
    } catch (e) {
      errors.push(e instanceof VmmAbort ? `${e.failure.step}: ${e.failure.detail}` : describeThrown(e));
    }
  }
}

const compare = (backup: VgicSnapshot, now: VgicSnapshot): string[] =>
  diffSnapshots(backup, now).map(formatDiffLine);

export function rollback(h: VgicHandle, seq: VmmSequence, backup: VgicSnapshot): RollbackReport {
  const before = saveWith(h, seq, 'none');
  if (!before.ok) return report(0, [], [`the destination could not be read again: ${before.failure.detail}`]);
  const errors: string[] = [];
  const run = new SequenceRun(seq, h, 'restore', backup.nrIrqs);
  try {
    const ops = new Planner(seq, h, backup, run, { current: before.snapshot }).plan(seq.restore, null, []);
    executeAll(run, ops, errors);
  } catch (e) {
    errors.push(e instanceof PlanError ? e.message : describeThrown(e));
  }
  const after = saveWith(h, seq, 'none');
  if (!after.ok) return report(run.writes, [], [...errors, `the destination could not be read after the rollback: ${after.failure.detail}`]);
  return report(run.writes, compare(backup, after.snapshot), errors);
}
