// A small printf for pr_info/GUEST_PRINTF/assert messages: %d %i %u %x %X %o %c %s %p %%,
// with flags (#, 0, -, space, +), width, and the l/ll/h/z length modifiers ignored. Total: any
// format or argument gives text (a non-finite number prints as NaN/Infinity, an object whose
// toString throws by what it is), never an exception.

import { describeValue } from './thrown.ts';

export type PrintfArg = number | bigint | string | boolean | null | undefined;

const SPEC = /%([#0\- +]*)(\d+)?(?:\.(\d+))?(hh|h|ll|l|z|j|t)?([diuxXocsp%])/g;

function toBig(v: PrintfArg): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return 0n;
}

/** A %s argument as text, whatever it is. */
function text(v: unknown): string {
  if (v === null || v === undefined) return '(null)';
  if (typeof v === 'string') return v;
  if (typeof v === 'object' || typeof v === 'function') {
    try {
      const s = String(v);
      if (typeof s === 'string') return s;
    } catch {
      // fall through: described by what it is
    }
    return describeValue(v);
  }
  return typeof v === 'symbol' ? v.toString() : String(v);
}

export function formatPrintf(fmt: string, args: readonly PrintfArg[]): string {
  let i = 0;
  let list: readonly unknown[] = [];
  try {
    if (Array.isArray(args)) list = args;
  } catch {
    // a revoked Proxy: no arguments
  }
  return text(fmt).replace(SPEC, (_m, flags: string, width: string | undefined, prec: string | undefined, _len, conv: string) => {
    if (conv === '%') return '%';
    let arg: PrintfArg;
    try {
      arg = list[i++] as PrintfArg;
    } catch {
      arg = '(unreadable)';
    }
    let body: string;
    let prefix = '';
    if (typeof arg === 'number' && !Number.isFinite(arg) && conv !== 's' && conv !== 'c') return String(arg);
    switch (conv) {
      case 'd':
      case 'i': {
        const n = toBig(arg);
        body = (n < 0n ? -n : n).toString();
        prefix = n < 0n ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
        break;
      }
      case 'u':
        body = BigInt.asUintN(64, toBig(arg)).toString();
        break;
      case 'x':
      case 'X':
      case 'p': {
        const n = BigInt.asUintN(64, toBig(arg));
        body = n.toString(16);
        if (conv === 'X') body = body.toUpperCase();
        if ((flags.includes('#') && n !== 0n) || conv === 'p') prefix = conv === 'X' ? '0X' : '0x';
        break;
      }
      case 'o':
        body = BigInt.asUintN(64, toBig(arg)).toString(8);
        if (flags.includes('#')) prefix = '0';
        break;
      case 'c':
        body = typeof arg === 'number' ? String.fromCharCode(arg) : arg === null || arg === undefined ? '' : text(arg);
        break;
      default:
        body = text(arg);
        if (prec !== undefined) body = body.slice(0, Number(prec));
    }
    const w = width ? Number(width) : 0;
    const len = prefix.length + body.length;
    if (len >= w) return prefix + body;
    if (flags.includes('-')) return prefix + body + ' '.repeat(w - len);
    if (flags.includes('0') && conv !== 's' && conv !== 'c') return prefix + '0'.repeat(w - len) + body;
    return ' '.repeat(w - len) + prefix + body;
  });
}
