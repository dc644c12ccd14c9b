// C struct layouts for ports (lib/kvm/c-struct.ts), with the argument checks of lib/host: a field
// spec that is not a C type, a field name the struct does not have, or a value C would not store
// in a field is a TestAssertionFailure naming the call; a number or bigint is stored as C stores
// it in the field's type. Valid layouts and values behave exactly as lib/kvm's.

import { types } from 'node:util';
import { type CField, CStruct as KvmCStruct, type CValues } from '../kvm/c-struct.ts';
import { badArg, isInstance, numberToU64, objectArg } from './args.ts';

export type { CField, CValues } from '../kvm/c-struct.ts';

const FIELD_TYPES: readonly CField[] = ['u8', 'bool', 'u16', 'u32', 'i32', 'u64'];

/** A struct layout argument: any CStruct (this module's or lib/kvm's, e.g. from lib/guest). */
export function structArg<F extends Record<string, CField>>(v: unknown, fn: string, param: string): KvmCStruct<F> {
  return isInstance(v, KvmCStruct) ? (v as KvmCStruct<F>) : badArg(fn, param, v, 'a struct layout (cStruct())');
}

/**
 * The values of a struct as C would store them: each field read once; a field left out is zero
 * (as in a C initializer); a number, bigint or boolean converts to the field's type (a fraction
 * truncates, integers wrap, a bool is whether the value is non-zero); anything else is a port bug.
 */
export function checkedStructValues<F extends Record<string, CField>>(layout: KvmCStruct<F>, v: unknown, fn: string, param: string): CValues<F> {
  const o = objectArg<Record<string, unknown>>(v, fn, param);
  const out: Record<string, number | bigint | boolean> = {};
  for (const f of layout.fields) {
    let x: unknown;
    try {
      x = o[f.name];
    } catch (e) {
      badArg(fn, `${param}.${f.name}`, e, 'a readable field (its getter threw)');
    }
    if (x === undefined) x = 0;
    if (typeof x === 'boolean') x = x ? 1 : 0;
    if (typeof x !== 'number' && typeof x !== 'bigint') badArg(fn, `${param}.${f.name}`, x, `a number or bigint (${f.type})`);
    if (f.type === 'bool') out[f.name] = typeof x === 'bigint' ? x !== 0n : x !== 0;
    else if (f.type === 'u64') out[f.name] = typeof x === 'bigint' ? BigInt.asUintN(64, x) : numberToU64(x);
    // The narrower fields are stored with ToUint32 and a mask: C's conversion for a number.
    else out[f.name] = typeof x === 'bigint' ? Number(BigInt.asUintN(32, x)) : x;
  }
  return out as CValues<F>;
}

/** The field spec of cStruct({ a: 'u32', ... }): each type one of CField, read once. */
function checkedSpec<F extends Record<string, CField>>(spec: unknown, fn: string): F {
  const o = objectArg<Record<string, unknown>>(spec, fn, 'spec');
  let entries: Array<[string, unknown]>;
  try {
    entries = Object.entries(o);
  } catch (e) {
    return badArg(fn, 'spec', e, 'an object whose fields can be read');
  }
  const out: Record<string, CField> = {};
  for (const [name, type] of entries) {
    if (!FIELD_TYPES.includes(type as CField)) badArg(fn, `spec.${name}`, type, `a C field type (${FIELD_TYPES.join(', ')})`);
    out[name] = type as CField;
  }
  return out as F;
}

/** A struct layout (lib/kvm/c-struct.ts) whose methods check their arguments. */
export class CStruct<F extends Record<string, CField>> extends KvmCStruct<F> {
  constructor(spec: F) {
    super(checkedSpec<F>(spec, 'CStruct'));
  }

  /** Every lib/kvm layout is one (`x instanceof CStruct` holds for layouts lib/guest made). */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return this === CStruct ? isInstance(v, KvmCStruct) : Function.prototype[Symbol.hasInstance].call(this, v);
  }

  override field(name: keyof F & string): ReturnType<KvmCStruct<F>['field']> {
    const f = this.fields.find((x) => x.name === name);
    return f ?? badArg('CStruct.field', 'name', name, `a field of the struct (${this.fields.map((x) => x.name).join(', ')})`);
  }

  override offsetOf(name: keyof F & string): number {
    return this.field(name).offset;
  }

  override encode(v: CValues<F>): Uint8Array {
    return super.encode(checkedStructValues(this, v, 'CStruct.encode', 'v'));
  }

  override decode(b: Uint8Array): CValues<F> {
    if (!types.isUint8Array(b) || b.length < this.size) badArg('CStruct.decode', 'b', b, `a Uint8Array of at least ${this.size} bytes`);
    return super.decode(b);
  }
}

/** struct { ... } with C layout. */
export function cStruct<F extends Record<string, CField>>(spec: F): CStruct<F> {
  return new CStruct(checkedSpec<F>(spec, 'cStruct'));
}
