// Guest memory through pointers, as the C guest code uses it: load and store C structs at a guest
// address (every field is one guest access, so another vCPU and the host see real memory), the
// arguments vcpu_args_set() passed in x0..x7, and a per-vCPU stack so a guest can pass a local
// struct by address in a ucall: GUEST_SYNC(&args) is `yield* guestSyncRef(g, LAYOUT, args)`.
//
// The stack and the arguments need the library's memslot (lib/kvm/guest-layout.ts), which the
// host creates with vcpuArgsSet / vmAllocPage / vmInitDescriptorTables as the C library does
// before any guest runs; without it a stack store is an MMIO exit to userspace.

import type { GuestReply, GuestRequest } from '../kvm/guest-abi.ts';
import { type CField, type CFieldLayout, type CStruct, type CValues, fieldFromRaw, fieldToRaw } from '../kvm/c-struct.ts';
import { guestStackTop, vcpuArgsKey, vcpuSpKey } from '../kvm/guest-layout.ts';
import type { Guest } from './guest.ts';

type Gen<R> = Generator<GuestRequest, R, GuestReply>;

/** The guest image's bookkeeping globals (keys from guest-layout.ts), read without an access. */
const LIB: Record<string, unknown> = {};

function* loadRaw(g: Guest, addr: number, size: 1 | 2 | 4 | 8): Gen<number | bigint> {
  switch (size) {
    case 1:
      return yield* g.readb(addr);
    case 2:
      return yield* g.readw(addr);
    case 4:
      return yield* g.readl(addr);
    case 8:
      return yield* g.readq(addr);
  }
}

function* storeRaw(g: Guest, addr: number, size: 1 | 2 | 4 | 8, v: number | bigint): Gen<void> {
  switch (size) {
    case 1:
      return yield* g.writeb(addr, Number(v));
    case 2:
      return yield* g.writew(addr, Number(v));
    case 4:
      return yield* g.writel(addr, Number(v));
    case 8:
      return yield* g.writeq(addr, BigInt(v));
  }
}

/** READ_ONCE(p->name): one load of the field's width. */
export function* loadField<F extends Record<string, CField>, K extends keyof F & string>(
  g: Guest,
  layout: CStruct<F>,
  gva: number,
  name: K,
): Gen<CValues<F>[K]> {
  const f: CFieldLayout = layout.field(name);
  return fieldFromRaw(f, yield* loadRaw(g, gva + f.offset, f.size)) as CValues<F>[K];
}

/** WRITE_ONCE(p->name, v): one store of the field's width. */
export function* storeField<F extends Record<string, CField>, K extends keyof F & string>(
  g: Guest,
  layout: CStruct<F>,
  gva: number,
  name: K,
  v: CValues<F>[K],
): Gen<void> {
  const f = layout.field(name);
  yield* storeRaw(g, gva + f.offset, f.size, fieldToRaw(f, v as number | bigint | boolean));
}

/** *p: every field loaded, in order. */
export function* loadStruct<F extends Record<string, CField>>(g: Guest, layout: CStruct<F>, gva: number): Gen<CValues<F>> {
  const out: Record<string, number | bigint | boolean> = {};
  for (const f of layout.fields) out[f.name] = fieldFromRaw(f, yield* loadRaw(g, gva + f.offset, f.size));
  return out as CValues<F>;
}

/** *p = v: every field stored, in order. */
export function* storeStruct<F extends Record<string, CField>>(g: Guest, layout: CStruct<F>, gva: number, v: CValues<F>): Gen<void> {
  for (const f of layout.fields) {
    yield* storeRaw(g, gva + f.offset, f.size, fieldToRaw(f, (v as Record<string, number | bigint | boolean>)[f.name]!));
  }
}

/** The arguments vcpu_args_set() left in x0..x7 (numbers; GVAs are identity-mapped GPAs). */
export function vcpuArgs(g: Guest): readonly number[] {
  return (g.readGlobal(LIB, vcpuArgsKey(g.vcpuId)) as number[] | undefined) ?? [];
}

/** The vCPU's stack pointer (shared by its main code and its IRQ handler, as SP_EL1 is). */
function sp(g: Guest): number {
  return (g.readGlobal(LIB, vcpuSpKey(g.vcpuId)) as number | undefined) ?? guestStackTop(g.vcpuId);
}

/** A struct pushed on the vCPU's stack: its address and the stack pointer to restore. */
export interface StackFrame {
  readonly addr: number;
  readonly savedSp: number;
}

/** A local struct on the vCPU's stack: store it below SP (16-byte aligned, as the AAPCS64 keeps SP). */
export function* pushStruct<F extends Record<string, CField>>(g: Guest, layout: CStruct<F>, v: CValues<F>): Gen<StackFrame> {
  const savedSp = sp(g);
  const addr = (savedSp - layout.size) & ~15;
  g.writeGlobal(LIB, vcpuSpKey(g.vcpuId), addr);
  yield* storeStruct(g, layout, addr, v);
  return { addr, savedSp };
}

/** Leave a frame pushStruct() opened. */
export function popStruct(g: Guest, frame: StackFrame): void {
  g.writeGlobal(LIB, vcpuSpKey(g.vcpuId), frame.savedSp);
}

/** GUEST_SYNC(&v) for a local struct v: the host finds its address in uc.args[1]. */
export function* guestSyncRef<F extends Record<string, CField>>(g: Guest, layout: CStruct<F>, v: CValues<F>): Gen<void> {
  const frame = yield* pushStruct(g, layout, v);
  yield* g.sync(frame.addr);
  popStruct(g, frame);
}
