// C struct layouts for values that guest and host exchange through guest memory (a struct the
// guest passes by address in a ucall, a test_args page): natural alignment of each field, size
// rounded up to the largest alignment, little-endian, as GCC lays them out on arm64.

export type CField = 'u8' | 'bool' | 'u16' | 'u32' | 'i32' | 'u64';
type FieldValue<T extends CField> = T extends 'bool' ? boolean : T extends 'u64' ? bigint : number;
export type CValues<F extends Record<string, CField>> = { [K in keyof F]: FieldValue<F[K]> };

const SIZE: Record<CField, 1 | 2 | 4 | 8> = { u8: 1, bool: 1, u16: 2, u32: 4, i32: 4, u64: 8 };

export interface CFieldLayout {
  readonly name: string;
  readonly type: CField;
  readonly offset: number;
  readonly size: 1 | 2 | 4 | 8;
}

export class CStruct<F extends Record<string, CField>> {
  readonly fields: readonly CFieldLayout[];
  readonly size: number;
  private readonly byName: Map<string, CFieldLayout>;

  constructor(spec: F) {
    let off = 0;
    let align = 1;
    const fields: CFieldLayout[] = [];
    for (const [name, type] of Object.entries(spec) as Array<[string, CField]>) {
      const size = SIZE[type];
      off = Math.ceil(off / size) * size;
      fields.push({ name, type, offset: off, size });
      off += size;
      align = Math.max(align, size);
    }
    this.fields = fields;
    this.size = Math.ceil(off / align) * align;
    this.byName = new Map(fields.map((f) => [f.name, f]));
  }

  /** offsetof(struct, name) */
  offsetOf(name: keyof F & string): number {
    return this.field(name).offset;
  }

  field(name: keyof F & string): CFieldLayout {
    const f = this.byName.get(name);
    if (!f) throw new RangeError(`no field ${name}`);
    return f;
  }

  /** The struct's bytes (padding zero). */
  encode(v: CValues<F>): Uint8Array {
    const b = new Uint8Array(this.size);
    const d = new DataView(b.buffer);
    for (const f of this.fields) writeField(d, f, (v as Record<string, unknown>)[f.name] as number | bigint | boolean);
    return b;
  }

  decode(b: Uint8Array): CValues<F> {
    const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const out: Record<string, number | bigint | boolean> = {};
    for (const f of this.fields) out[f.name] = readField(d, f);
    return out as CValues<F>;
  }
}

/** struct { ... } with C layout. */
export function cStruct<F extends Record<string, CField>>(spec: F): CStruct<F> {
  return new CStruct(spec);
}

/** A field's value from its raw little-endian bits (as a guest load returns them). */
export function fieldFromRaw(f: CFieldLayout, raw: number | bigint): number | bigint | boolean {
  switch (f.type) {
    case 'bool':
      return (Number(raw) & 0xff) !== 0;
    case 'i32':
      return Number(raw) | 0;
    case 'u64':
      return BigInt.asUintN(64, BigInt(raw));
    default:
      return Number(raw) >>> 0;
  }
}

/** A field's raw bits for a store of its width. */
export function fieldToRaw(f: CFieldLayout, v: number | bigint | boolean): number | bigint {
  if (f.type === 'u64') return BigInt.asUintN(64, BigInt(v as number | bigint));
  if (f.type === 'bool') return v ? 1 : 0;
  return Number(v) >>> 0;
}

function writeField(d: DataView, f: CFieldLayout, v: number | bigint | boolean): void {
  const raw = fieldToRaw(f, v);
  switch (f.size) {
    case 1:
      d.setUint8(f.offset, Number(raw) & 0xff);
      break;
    case 2:
      d.setUint16(f.offset, Number(raw) & 0xffff, true);
      break;
    case 4:
      d.setUint32(f.offset, Number(raw) >>> 0, true);
      break;
    case 8:
      d.setBigUint64(f.offset, BigInt(raw), true);
  }
}

function readField(d: DataView, f: CFieldLayout): number | bigint | boolean {
  switch (f.size) {
    case 1:
      return fieldFromRaw(f, d.getUint8(f.offset));
    case 2:
      return fieldFromRaw(f, d.getUint16(f.offset, true));
    case 4:
      return fieldFromRaw(f, d.getUint32(f.offset, true));
    case 8:
      return fieldFromRaw(f, d.getBigUint64(f.offset, true));
  }
}
