// The arguments a port passes to lib/host, taken the way a C caller's would be. A number or bigint
// for an integer parameter is converted as C converts it to the parameter's type (a fraction is
// truncated, integers wrap, NaN and +-Infinity, undefined behaviour in C, become 0), so no number
// is ever a JavaScript error. A value C would not have compiled (a string, an object, a symbol
// where an integer or a VM goes) is a port bug: a TestAssertionFailure naming the call, the
// parameter and the value, which selftest() reports like a failed TEST_ASSERT at the port's line.

import { types } from 'node:util';
import { KvmVcpu } from '../kvm/vcpu.ts';
import { KvmVm } from '../kvm/vm.ts';
import { callerLocation } from '../kvm/location.ts';
import { describeValue } from '../kvm/thrown.ts';
import { TestAssertionFailure } from './test-util.ts';

/** A wrongly typed argument: fails like TEST_ASSERT at the caller's line. */
export function badArg(fn: string, param: string, v: unknown, want: string): never {
  const loc = callerLocation(new Error().stack);
  throw new TestAssertionFailure({
    ...(loc ? { file: loc.file, line: loc.line } : {}),
    expr: loc?.text ?? `${fn}()`,
    detail: `${fn}(): ${param} is ${describeValue(v)}, not ${want}`,
    guest: false,
  });
}

/** `v instanceof C`, false for a value whose prototype cannot be read (a revoked Proxy). */
export function isInstance<T>(v: unknown, C: abstract new (...a: never[]) => T): v is T {
  try {
    return v instanceof C;
  } catch {
    return false;
  }
}

/** C's conversion of a number to a 64-bit unsigned integer (truncate, wrap; NaN, +-Inf -> 0). */
export function numberToU64(v: number): bigint {
  return Number.isFinite(v) ? BigInt.asUintN(64, BigInt(Math.trunc(v))) : 0n;
}

/** A u64 parameter (__u64 attr, u64 val). */
export function cU64(v: unknown, fn: string, param: string): bigint {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v === 'number') return numberToU64(v);
  return badArg(fn, param, v, 'a number or bigint');
}

/** A u32 parameter (u32 intid, __u32 group); JS's ToUint32 is C's conversion for in-range values. */
export function cU32(v: unknown, fn: string, param: string): number {
  if (typeof v === 'number') return v >>> 0;
  if (typeof v === 'bigint') return Number(BigInt.asUintN(32, v));
  if (typeof v === 'boolean') return v ? 1 : 0;
  return badArg(fn, param, v, 'a number or bigint');
}

/** An int parameter (int fd, int level). */
export function cInt(v: unknown, fn: string, param: string): number {
  if (typeof v === 'number') return v | 0;
  if (typeof v === 'bigint') return Number(BigInt.asIntN(32, v));
  if (typeof v === 'boolean') return v ? 1 : 0;
  return badArg(fn, param, v, 'a number or bigint');
}

/** A long parameter (KVM_CHECK_EXTENSION's `long arg`): C's conversion to a signed 64-bit integer. */
export function cLong(v: unknown, fn: string, param: string): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  return Number(BigInt.asIntN(64, cU64(v, fn, param)));
}

/**
 * A size_t or a u64 address kept as a JS number (vm_paddr_t, size_t): C's conversion to u64, so
 * -1 is 2^64-1; beyond 2^53 the number is the nearest double, which no memory lies at anyway.
 */
export function cU64Number(v: unknown, fn: string, param: string): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  return Number(cU64(v, fn, param));
}

/**
 * An operand of a C macro (INTID_IS_SGI(x), a shift in an encoder): a number or bigint goes in as
 * it is, since the macro's arithmetic is done on the argument's own type; a boolean is 0 or 1.
 */
export function cArith(v: unknown, fn: string, param: string): number | bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return badArg(fn, param, v, 'a number or bigint');
}

/** A function parameter (a callback the port passes). */
export function fnArg<T>(v: unknown, fn: string, param: string, want = 'a function'): T {
  return typeof v === 'function' ? (v as T) : badArg(fn, param, v, want);
}

/** An array parameter, copied once (a revoked Proxy or a throwing getter is a bad argument). */
export function arrayArg(v: unknown, fn: string, param: string, want = 'an array'): unknown[] {
  let ok = false;
  try {
    ok = Array.isArray(v) && !types.isProxy(v);
  } catch {
    // Array.isArray() of a revoked Proxy throws
  }
  if (!ok) return badArg(fn, param, v, want);
  try {
    return [...(v as unknown[])];
  } catch (e) {
    return badArg(fn, param, e, `${want} whose elements can be read`);
  }
}

/** A number parameter kept as a JS number (a GPA or a size): bigints are converted when exact. */
export function cNumber(v: unknown, fn: string, param: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : Number.NaN;
  return badArg(fn, param, v, 'a number or bigint');
}

export function vmArg(v: unknown, fn: string): KvmVm {
  return isInstance(v, KvmVm) ? v : badArg(fn, 'vm', v, 'a VM (vmCreate*)');
}

export function vcpuArg(v: unknown, fn: string): KvmVcpu {
  return isInstance(v, KvmVcpu) ? v : badArg(fn, 'vcpu', v, 'a vCPU (vmVcpuAdd, vmCreateWith*)');
}

/** An object parameter (test globals, VM options); a Proxy is refused (its traps run our reads). */
export function objectArg<T extends object>(v: unknown, fn: string, param: string): T {
  const ok = ((typeof v === 'object' && v !== null) || typeof v === 'function') && !types.isProxy(v);
  return ok ? (v as T) : badArg(fn, param, v, 'a plain object');
}

/** Read an object parameter's properties once; a getter that throws is a bad argument too. */
export function readProps<K extends string>(o: object, keys: readonly K[], fn: string, param: string): Partial<Record<K, unknown>> {
  const out: Partial<Record<K, unknown>> = {};
  for (const k of keys) {
    try {
      out[k] = (o as Record<K, unknown>)[k];
    } catch (e) {
      badArg(fn, `${param}.${k}`, e, 'a readable property (its getter threw)');
    }
  }
  return out;
}

export function stringArg(v: unknown, fn: string, param: string): string {
  return typeof v === 'string' ? v : badArg(fn, param, v, 'a string');
}

/** A guest entry point (function* (g) {...}) or null. */
export function codeArg<T>(v: unknown, fn: string, param: string): T | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'function' ? (v as T) : badArg(fn, param, v, 'a guest function (function* (g) { ... }) or null');
}
