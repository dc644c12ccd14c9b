// Describe any JavaScript value a guest threw or yielded, without ever throwing: the value may be
// a revoked Proxy, an object with no prototype, or an Error whose name, message or stack getter
// throws. Only brand checks (node:util types) and guarded reads touch it.

import { types } from 'node:util';

const MAX_TEXT = 200;

function clip(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}...` : s;
}

/** Run `f`; undefined if it throws (whatever it throws). */
function guarded<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** A string for a value read off a thrown object (its name or message), or undefined. */
function readText(read: () => unknown): string | undefined {
  return guarded(() => {
    const v = read();
    return typeof v === 'string' ? v : typeof v === 'symbol' ? v.toString() : v === undefined ? undefined : String(v);
  });
}

/** A short description of any value: `42 (a number)`, `"boom" (a string)`, `null`, ... */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'undefined':
      return 'undefined';
    case 'number':
      return `${v} (a number)`;
    case 'bigint':
      return `${v}n (a bigint)`;
    case 'boolean':
      return `${v} (a boolean)`;
    case 'string':
      return `${clip(JSON.stringify(v))} (a string)`;
    case 'symbol':
      return `${clip(v.toString())} (a symbol)`;
    case 'function':
      return `a function ${readText(() => (v as { name?: unknown }).name) || '(anonymous)'}`;
  }
  if (v === null) return 'null';
  if (types.isProxy(v)) return isRevoked(v as object) ? 'a revoked Proxy' : 'a Proxy';
  const tag = guarded(() => Object.prototype.toString.call(v)) ?? '[object]';
  const text = guarded(() => String(v));
  return text !== undefined && text !== tag ? `${clip(text)} (${tag})` : `${tag} (an object)`;
}

function isRevoked(p: object): boolean {
  try {
    Reflect.getPrototypeOf(p);
    return false;
  } catch {
    return true;
  }
}

export interface ThrownDescription {
  /** "TypeError: x is not a function" for an Error, else describeValue(): "42 (a number)". */
  text: string;
  /** A native Error (any subclass), which normally carries a stack. */
  isError: boolean;
  /** The Error's stack, when it has one that could be read. */
  stack: string | undefined;
}

/** Describe a thrown value: Errors by name and message, anything else by what it is. */
export function describeThrown(e: unknown): ThrownDescription {
  if (!types.isNativeError(e)) return { text: describeValue(e), isError: false, stack: undefined };
  const err = e as Error;
  const name = readText(() => err.name) ?? 'Error';
  const message = readText(() => err.message);
  const stack = guarded(() => {
    const s = err.stack;
    return typeof s === 'string' ? s : undefined;
  });
  const text = message === undefined ? `${name} (its message could not be read)` : message ? `${name}: ${clip(message)}` : name;
  return { text, isError: true, stack };
}
