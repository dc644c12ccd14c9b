// How a save or restore ends when it cannot complete: which step, which errno, and what the VMM
// would do about it. QEMU passes &error_abort to kvm_device_access(), so the process aborts;
// Firecracker maps the ioctl error to GicError::DeviceAttribute and returns it; a snapshot the
// harness refuses before touching the VM is 'refused'.

import { errnoName, strerror } from '../../host/index.ts';
import type { SequenceName } from './types.ts';

export type FailurePhase = 'validate' | 'save' | 'restore';
export type FailureReaction = 'abort' | 'error' | 'refused';

/** 'unknown': the arguments were refused before a sequence could be chosen. */
export type FailureSequence = SequenceName | 'unknown';

export interface VmmFailure {
  readonly phase: FailurePhase;
  readonly sequence: FailureSequence;
  /** The register or step, e.g. "GICD_IIDR", "GICR_ISENABLER0 (vCPU 1)", "GICD_TYPER check". */
  readonly step: string;
  /** What went wrong, short: the errno name, or the failed check's condition. */
  readonly detail: string;
  /** Set when a KVM_{GET,SET}_DEVICE_ATTR failed. */
  readonly errno?: string;
  readonly code?: number;
  readonly group?: number;
  readonly attr?: bigint;
  readonly reaction: FailureReaction;
  readonly message: string;
}

const REACTION: Readonly<Record<FailureReaction, string>> = {
  abort: 'QEMU aborts (error_abort)',
  error: 'Firecracker returns the error',
  refused: 'nothing was written',
};

/** Thrown inside the engine, turned into a result at its API boundary. */
export class VmmAbort extends Error {
  constructor(readonly failure: VmmFailure) {
    super(failure.message);
    this.name = 'VmmAbort';
  }
}

/** A failed device-attribute ioctl. */
export function ioctlFailure(
  phase: FailurePhase,
  sequence: FailureSequence,
  reaction: FailureReaction,
  step: string,
  write: boolean,
  group: number,
  attr: bigint,
  ret: number,
): VmmFailure {
  const code = -ret;
  const errno = errnoName(code);
  const ioctl = write ? 'KVM_SET_DEVICE_ATTR' : 'KVM_GET_DEVICE_ATTR';
  const message =
    `${sequence} ${phase}: ${ioctl} ${step} (group ${group}, attr 0x${attr.toString(16)}) failed: ` +
    `${errno} (${strerror(code)}); ${REACTION[reaction]}`;
  return { phase, sequence, step, detail: errno, errno, code, group, attr, reaction, message };
}

/** A check the VMM makes (or the harness makes before restoring) that did not hold. */
export function checkFailure(phase: FailurePhase, sequence: FailureSequence, reaction: FailureReaction, step: string, detail: string): VmmFailure {
  return { phase, sequence, step, detail, reaction, message: `${sequence} ${phase}: ${step}: ${detail}; ${REACTION[reaction]}` };
}

/** One short line for tables: "GICD_IIDR: EINVAL" or "GICD_TYPER check: <detail>". */
export function failureSummary(f: VmmFailure): string {
  return `${f.step}: ${f.detail}`;
}
