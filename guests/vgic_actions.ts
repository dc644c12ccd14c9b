// Guest-side building blocks shared by the vGIC state guests: where the GIC frames are (as the
// guest's firmware tables would say), register accesses described as data, and the generator
// functions that perform them. `yield* act(g, layout, a)` / `yield* probe(g, layout, p)`.

import type { Guest, GuestProgram, GuestReply, GuestRequest } from '../lib/guest/index.ts';
import { SZ_64K } from '../lib/guest/index.ts';
import { guestGlobals } from '../lib/host/index.ts';

export type GicModel = 'v2' | 'v3';

/** Frame bases (-1: not present). */
export interface GicLayout {
  model: GicModel;
  dist: number;
  /** GICv3: first redistributor; vCPU n's is at redist + n * 128 KiB (creation order). */
  redist: number;
  /** GICv2: CPU interface. */
  cpu: number;
}

/** The distributor, the running vCPU's SGI frame (v3), or the GICv2 CPU interface. */
export type Frame = 'dist' | 'sgi' | 'cpu';

export type Action =
  | { readonly op: 'write'; readonly frame: Frame; readonly offset: number; readonly width: 1 | 4 | 8; readonly value: number | bigint }
  | { readonly op: 'setBits' | 'clearBits'; readonly frame: Frame; readonly offset: number; readonly bits: number }
  /** A read for its side effect (GICC_IAR acknowledges). */
  | { readonly op: 'read'; readonly frame: Frame; readonly offset: number }
  | { readonly op: 'sysreg'; readonly encoding: number; readonly value: bigint }
  /** A system-register read for its side effect (ICC_IAR1_EL1 acknowledges). */
  | { readonly op: 'readSysreg'; readonly encoding: number };

export type Probe =
  | { readonly name: string; readonly frame: Frame; readonly offset: number; readonly width: 4 | 8 }
  | { readonly name: string; readonly sysreg: number };

/** The GIC layout every vGIC state guest reads first (sync it before running them). */
export const layoutGlobals = guestGlobals({
  vgic_layout: { model: 'v3', dist: -1, redist: -1, cpu: -1 } as GicLayout,
});

const RDIST_STRIDE = 0x20000;

export function address(g: Guest, layout: GicLayout, frame: Frame, offset: number): number {
  switch (frame) {
    case 'dist':
      return layout.dist + offset;
    case 'cpu':
      return layout.cpu + offset;
    case 'sgi':
      return layout.redist + g.vcpuId * RDIST_STRIDE + SZ_64K + offset;
  }
}

export function* act(g: Guest, layout: GicLayout, a: Action): GuestProgram {
  switch (a.op) {
    case 'sysreg':
      yield* g.writeSysreg(a.encoding, a.value);
      return;
    case 'readSysreg':
      yield* g.readSysreg(a.encoding);
      return;
    case 'read':
      yield* g.readl(address(g, layout, a.frame, a.offset));
      return;
    case 'write': {
      const addr = address(g, layout, a.frame, a.offset);
      if (a.width === 1) yield* g.writeb(addr, Number(a.value));
      else if (a.width === 8) yield* g.writeq(addr, BigInt(a.value));
      else yield* g.writel(addr, Number(a.value));
      return;
    }
    case 'setBits':
    case 'clearBits': {
      const addr = address(g, layout, a.frame, a.offset);
      const v = yield* g.readl(addr);
      yield* g.writel(addr, a.op === 'setBits' ? v | a.bits : v & ~a.bits);
    }
  }
}

/** A probe's value as "0x" + 8 (32-bit) or 16 (64-bit) hex digits. */
export function* probe(g: Guest, layout: GicLayout, p: Probe): Generator<GuestRequest, string, GuestReply> {
  if ('sysreg' in p) return `0x${(yield* g.readSysreg(p.sysreg)).toString(16).padStart(16, '0')}`;
  const addr = address(g, layout, p.frame, p.offset);
  if (p.width === 8) return `0x${(yield* g.readq(addr)).toString(16).padStart(16, '0')}`;
  return `0x${((yield* g.readl(addr)) >>> 0).toString(16).padStart(8, '0')}`;
}

/** nr_irqs from GICD_TYPER.ITLinesNumber, as a driver sizes its loops. */
export function* readNrIrqs(g: Guest, layout: GicLayout): Generator<GuestRequest, number, GuestReply> {
  const typer = yield* g.readl(layout.dist + 0x4);
  return ((typer & 0x1f) + 1) * 32;
}
