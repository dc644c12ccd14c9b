// The vCPU's one check of what a guest yielded. The guest API (lib/guest) passes values through
// as the guest gave them; here each yielded value is read once (a getter or Proxy trap runs at
// most once, and what is checked is what is used), checked against its kind, and converted the
// way C converts an integer to the access width. Anything else is a guest mistake, described for
// UCALL_ABORT. The common case (a well-formed request from lib/guest) allocates nothing.

import { sysregName } from '../vgic/cpuif-regs.ts';
import {
  ACCESS_REQUEST,
  type GuestRequest,
  ReqKind,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_NONE,
  UCALL_PRINTF,
  UCALL_SYNC,
  UCALL_UNHANDLED,
  type Ucall,
} from './guest-abi.ts';
import { describeValue } from './thrown.ts';

/**
 * A request as the vCPU took it: the same fields, read once and checked; written values are
 * converted to the width (a number for 1, 2 and 4 bytes, a bigint for 8 and for sysregs).
 */
export type TakenRequest = GuestRequest;

const PLAIN_YIELD = 'every access is `yield* g.<access>(...)`';

const UCALL_NAMES: Record<number, string> = {
  [UCALL_NONE]: 'UCALL_NONE',
  [UCALL_SYNC]: 'UCALL_SYNC',
  [UCALL_ABORT]: 'UCALL_ABORT',
  [UCALL_PRINTF]: 'UCALL_PRINTF',
  [UCALL_DONE]: 'UCALL_DONE',
  [UCALL_UNHANDLED]: 'UCALL_UNHANDLED',
};

/** An integer as the guest would read it in hex; anything else described. */
function show(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v)) return v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
  return describeValue(v);
}

const isInteger = (v: unknown): v is number | bigint => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));

function mmioError(write: boolean, addr: unknown, len: unknown): string | null {
  if (typeof addr !== 'number' || !Number.isSafeInteger(addr) || addr < 0) {
    return `MMIO address ${typeof addr === 'number' ? String(addr) : describeValue(addr)} is not a guest physical address (an integer >= 0)`;
  }
  if (len !== 4 && len !== 8 && len !== 1 && len !== 2) {
    return `MMIO ${write ? 'write' : 'read'} of ${typeof len === 'number' ? String(len) : describeValue(len)} bytes at ${show(addr)}: an access is 1, 2, 4 or 8 bytes`;
  }
  return null;
}

/** A ucall copied field by field into a fresh object the host can read without surprises. */
function takeUcall(uc: unknown, out: TakenRequest): string | null {
  if (typeof uc !== 'object' || uc === null) return `ucall request without a ucall (ucall: ${describeValue(uc)})`;
  const u = uc as Record<string, unknown>;
  const cmd = u.cmd;
  if (typeof cmd !== 'number' || !Number.isInteger(cmd) || cmd < 0) return `ucall with cmd ${show(cmd)}: not a UCALL_* number`;
  const args = u.args;
  if (!Array.isArray(args) || args.length > 64) return `ucall with args ${describeValue(args)}: not an array of at most 64 values`;
  const buffer = u.buffer;
  if (typeof buffer !== 'string') return `ucall with buffer ${describeValue(buffer)}: not a string`;
  const copy: Ucall = { cmd, args: Array.from(args as Ucall['args']), buffer };
  const expr = u.expr;
  const file = u.file;
  const line = u.line;
  if (typeof expr === 'string') copy.expr = expr;
  if (typeof file === 'string' && typeof line === 'number') {
    copy.file = file;
    copy.line = line;
  }
  out.ucall = copy;
  return null;
}

/** What a plain `yield` of an access iterator failed to do, e.g. "MMIO write of 0x7 to 0x40000000". */
export function describeAccess(r: GuestRequest): string {
  switch (r.kind) {
    case ReqKind.MmioRead:
      return `MMIO read of ${show(r.addr)} (${r.len} bytes)`;
    case ReqKind.MmioWrite:
      return `MMIO write of ${show(r.val)} to ${show(r.addr)} (${r.len} bytes)`;
    case ReqKind.SysregRead:
      return `read of ${typeof r.sysreg === 'number' ? sysregName(r.sysreg) : describeValue(r.sysreg)}`;
    case ReqKind.SysregWrite:
      return `write of ${show(r.val)} to ${typeof r.sysreg === 'number' ? sysregName(r.sysreg) : describeValue(r.sysreg)}`;
    case ReqKind.Wfi:
      return 'WFI';
    case ReqKind.Ucall: {
      const cmd = r.ucall?.cmd;
      return cmd === UCALL_ABORT ? 'ucall UCALL_ABORT (a failed guest assertion)' : `ucall ${UCALL_NAMES[cmd ?? -1] ?? show(cmd)}`;
    }
    case ReqKind.IrqMask:
      return r.val ? 'local_irq_disable()' : 'local_irq_enable()';
    default:
      return 'access';
  }
}

/** Why a yielded value that is not a request cannot be one (cold path). */
function notARequest(v: unknown, kind: unknown): string {
  if (typeof v === 'object' && v !== null) {
    const inner = (v as { [ACCESS_REQUEST]?: GuestRequest })[ACCESS_REQUEST];
    if (inner !== undefined) return `\`yield\` of an access performs nothing: use \`yield*\` (the ${describeAccess(inner)} was not performed)`;
    if (typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') {
      return `guest yielded an iterable instead of delegating to it: use \`yield*\`, not \`yield\``;
    }
    return `guest yielded ${describeValue(v)}, not an access request (kind ${describeValue(kind)}): ${PLAIN_YIELD}`;
  }
  return `guest yielded ${describeValue(v)}, not an access request: ${PLAIN_YIELD}`;
}

/**
 * Take the value a guest yielded into `out`: null when it is a request the vCPU can perform, else
 * why not. Getters on a hand-built request may throw; the caller treats that as a guest throw.
 * MMIO, nearly every access, is checked first in a few inlinable lines (bench/mmio.bench.ts).
 */
export function takeRequest(v: unknown, out: TakenRequest): string | null {
  if (typeof v === 'object' && v !== null) {
    const r = v as GuestRequest;
    const kind = r.kind;
    if (kind === ReqKind.MmioRead || kind === ReqKind.MmioWrite) {
      const addr = r.addr;
      const len = r.len;
      if (typeof addr === 'number' && addr >= 0 && addr <= Number.MAX_SAFE_INTEGER && Math.floor(addr) === addr && (len === 4 || len === 8 || len === 1 || len === 2)) {
        out.kind = kind;
        out.addr = addr;
        out.len = len;
        if (kind === ReqKind.MmioRead) return null;
        // C's conversion of an integer to the access width (writel(~0) writes 0xffffffff).
        const val = r.val;
        if (typeof val === 'number' && len !== 8 && (val | 0) === val) {
          out.val = len === 4 ? val >>> 0 : len === 1 ? val & 0xff : val & 0xffff;
          return null;
        }
        return takeWriteValue(val, len, out);
      }
      return mmioError(kind === ReqKind.MmioWrite, addr, len);
    }
    return takeOther(r, kind, out);
  }
  return notARequest(v, undefined);
}

/** An MMIO write value off the int32 fast path: wide numbers, bigints, or not an integer. */
function takeWriteValue(val: unknown, len: number, out: TakenRequest): string | null {
  if (typeof val === 'number' && Number.isInteger(val)) {
    out.val = len === 8 ? BigInt.asUintN(64, BigInt(val)) : len === 4 ? val >>> 0 : len === 1 ? val & 0xff : val & 0xffff;
  } else if (typeof val === 'bigint') {
    out.val = len === 8 ? BigInt.asUintN(64, val) : Number(BigInt.asUintN(len * 8, val));
  } else {
    return `MMIO write of ${show(val)}: not an integer`;
  }
  return null;
}

/** Every kind but MMIO. */
function takeOther(r: GuestRequest, kind: unknown, out: TakenRequest): string | null {
  switch (kind) {
    case ReqKind.SysregRead:
    case ReqKind.SysregWrite: {
      const enc = r.sysreg;
      if (typeof enc !== 'number' || !Number.isInteger(enc) || enc < 0 || enc > 0xffff) {
        return `system register encoding ${show(enc)} is not one (Op0:Op1:CRn:CRm:Op2, 16 bits)`;
      }
      out.sysreg = enc;
      if (kind === ReqKind.SysregWrite) {
        const val = r.val;
        if (!isInteger(val)) return `system register write of ${show(val)}: not an integer`;
        // A u32 stays a number (no BigInt on the EOIR/DIR hot path); anything else is a u64 bigint.
        out.val = typeof val === 'number' && val >>> 0 === val ? val : BigInt.asUintN(64, typeof val === 'bigint' ? val : BigInt(val));
      }
      break;
    }
    case ReqKind.IrqMask: {
      const val = r.val;
      if (typeof val !== 'number' && typeof val !== 'bigint') return `PSTATE.I value ${show(val)}: not a number`;
      out.val = val;
      break;
    }
    case ReqKind.Ucall: {
      const bad = takeUcall(r.ucall, out);
      if (bad !== null) return bad;
      break;
    }
    case ReqKind.Wfi:
    case ReqKind.Sync:
      break;
    default:
      return notARequest(r, kind);
  }
  out.kind = kind;
  return null;
}
