// What a step returned, before and after normalisation. Both back ends produce a RawResult;
// normalise() turns it into the one line a report compares, so the two can only differ in
// what KVM or the model actually did.
import { errnoName } from '../uapi/errno.ts';
import type { Step } from './language.ts';

export type RawResult =
  | { k: 'ok' }
  | { k: 'val'; v: bigint }
  | { k: 'err'; errno: number }
  /** status: 0, 1 << 32 | ESR_EL1 of a synchronous exception, or 2 << 32 | vector << 24. */
  | { k: 'guest'; status: bigint; result: bigint; blocked: boolean }
  | { k: 'mmio'; addr: bigint }
  | { k: 'exit'; reason: number }
  | { k: 'dead' };

const hex = (v: bigint): string => `0x${v.toString(16)}`;

const WIDTH: Record<string, bigint> = { r8: 0xffn, r16: 0xffffn, r32: 0xffffffffn, r64: 0xffffffffffffffffn };

/** The normalised result line of one step. */
export function normalise(step: Step, r: RawResult): string {
  switch (r.k) {
    case 'ok':
      return 'ok';
    case 'val':
      return hex(r.v);
    case 'err':
      return errnoName(r.errno);
    case 'mmio':
      return 'mmio-exit';
    case 'exit':
      return `exit ${r.reason}`;
    case 'dead':
      return 'dead';
    case 'guest':
      break;
  }
  const a = step.action;
  if (a.kind !== 'guest') return 'ok';
  const tag = r.status >> 32n;
  if (tag === 1n) {
    const ec = (r.status >> 26n) & 0x3fn;
    return ec === 0n ? 'undef' : `exception ec=${hex(ec)}`;
  }
  if (tag !== 0n) return `exception vector ${(r.status >> 24n) & 0xffn}`;
  switch (a.op) {
    case 'r8':
    case 'r16':
    case 'r32':
    case 'r64':
      return hex(r.result & WIDTH[a.op]!);
    case 'mrs':
      return hex(r.result);
    case 'unmask':
      return r.result !== 0n ? 'irq' : 'none';
    case 'wfi':
      return r.blocked ? 'blocked' : 'wake';
    default:
      return 'ok';
  }
}

/** Parse one raw line of the driver ("ok", "val 0x..", "err 22", "guest 0x0 0x..", ...). */
export function parseRaw(text: string): RawResult | null {
  const w = text.trim().split(/\s+/);
  const big = (s: string | undefined): bigint | null => (s !== undefined && /^0x[0-9a-f]+$/i.test(s) ? BigInt(s) : null);
  switch (w[0]) {
    case 'ok':
      return { k: 'ok' };
    case 'val': {
      const v = big(w[1]);
      return v === null ? null : { k: 'val', v };
    }
    case 'err':
      return /^\d+$/.test(w[1] ?? '') ? { k: 'err', errno: Number(w[1]) } : null;
    case 'guest':
    case 'blocked': {
      const status = big(w[1]);
      const result = big(w[2]);
      return status === null || result === null ? null : { k: 'guest', status, result, blocked: w[0] === 'blocked' };
    }
    case 'mmio': {
      const addr = big(w[1]);
      return addr === null ? null : { k: 'mmio', addr };
    }
    case 'exit':
      return /^\d+$/.test(w[1] ?? '') ? { k: 'exit', reason: Number(w[1]) } : null;
    case 'dead':
      return { k: 'dead' };
  }
  return null;
}
