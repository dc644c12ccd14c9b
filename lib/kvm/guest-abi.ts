// The contract between a guest coroutine and the vCPU that runs it: every architectural
// access is one request yielded to the vCPU loop, answered with the value read (if any).

export const enum ReqKind {
  MmioRead = 0,
  MmioWrite = 1,
  SysregRead = 2,
  SysregWrite = 3,
  Wfi = 4,
  Ucall = 5,
  /** Set PSTATE.I (val 1 = masked) — local_irq_disable/enable. */
  IrqMask = 6,
  /** A point where pending interrupts may be taken (isb, cpu_relax). */
  Sync = 7,
}

export const UCALL_NONE = 0;
export const UCALL_SYNC = 1;
export const UCALL_ABORT = 2;
export const UCALL_PRINTF = 3;
export const UCALL_DONE = 4;
export const UCALL_UNHANDLED = 5;

export type UcallValue = number | bigint | string | boolean;

/** struct ucall, plus where a guest assertion fired. */
export interface Ucall {
  cmd: number;
  args: UcallValue[];
  buffer: string;
  /** For UCALL_ABORT: the failed expression (guest source text), file and line. */
  expr?: string;
  file?: string;
  line?: number;
}

/** One request. Reused objects are fine: the vCPU consumes it before the guest resumes. */
export interface GuestRequest {
  kind: ReqKind;
  addr: number;
  /** Access width in bytes for MMIO (1, 2, 4 or 8). */
  len: number;
  /** Value to write (MMIO or sysreg) or the new PSTATE.I. */
  val: number | bigint;
  /** Sysreg encoding (Op0<<14 | Op1<<11 | CRn<<7 | CRm<<3 | Op2). */
  sysreg: number;
  ucall: Ucall | null;
}

export type GuestReply = number | bigint | undefined;
export type GuestProgram = Generator<GuestRequest, void, GuestReply>;

/** Something the vCPU can start: the guest entry point, or the IRQ vector's handler. */
export type GuestEntry = () => GuestProgram;

export function newRequest(): GuestRequest {
  return { kind: ReqKind.Sync, addr: 0, len: 0, val: 0, sysreg: 0, ucall: null };
}

/** Requests owned by lib/guest's access iterators (one per Guest, reused for every access). */
const accessRequests = new WeakSet<GuestRequest>();

/** The request of one access iterator: a guest that yielded it is suspended inside `yield*`. */
export function newAccessRequest(): GuestRequest {
  const r = newRequest();
  accessRequests.add(r);
  return r;
}

/** True for a request that can only reach the vCPU through `yield*` of an access iterator. */
export function isAccessRequest(r: unknown): boolean {
  return typeof r === 'object' && r !== null && accessRequests.has(r as GuestRequest);
}

/** On an access iterator: the request it carries (so a mistaken plain `yield` can be named). */
export const ACCESS_REQUEST: unique symbol = Symbol('vgic-harness access request');

/**
 * Where is a suspended guest? The vCPU throws a probe into the guest generator; while the guest
 * is inside `yield* g.readl(...)` the generator forwards it to the access iterator (every
 * generator frame of the guest is then on the JS stack), which records the stack and yields the
 * same request again, so the guest never sees the probe. Costs nothing until asked.
 */
export class WhereProbe {
  stack: string | undefined = undefined;
  capture(): void {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 64;
    try {
      this.stack = new Error('where').stack;
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}
