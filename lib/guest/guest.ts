// What guest coroutines call: MMIO, system registers, WFI, interrupt masking and ucalls.
// Each access is one request yielded to the vCPU (`yield* g.readl(addr)`), served by a reusable
// iterator so an access costs no allocation (see bench/). Values are passed on as the guest gave
// them: the vCPU checks and converts every request in one place (lib/kvm/guest-request.ts), so a
// mistake there is a guest abort at the guest's line, not a JS exception here.

import {
  ACCESS_REQUEST,
  type GuestReply,
  type GuestRequest,
  ReqKind,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_PRINTF,
  UCALL_SYNC,
  type Ucall,
  type UcallValue,
  WhereProbe,
  newAccessRequest,
} from '../kvm/guest-abi.ts';
import { callerLocation } from '../kvm/location.ts';
import { type PrintfArg, formatPrintf } from '../kvm/printf.ts';

/** What `yield*` takes: the request, then the value the vCPU answered with. */
export type Access<R> = Iterable<GuestRequest, R, GuestReply>;

/** One in-flight access; reused for every access of the same Guest (only one is ever in flight). */
class AccessIterator implements Iterator<GuestRequest, GuestReply, GuestReply>, Iterable<GuestRequest, GuestReply, GuestReply> {
  readonly req: GuestRequest = newAccessRequest();
  readonly [ACCESS_REQUEST] = this.req;
  private stage = 0;
  private readonly yielded: IteratorYieldResult<GuestRequest> = { done: false, value: this.req };
  private readonly returned: IteratorReturnResult<GuestReply> = { done: true, value: undefined };
  arm(kind: ReqKind, addr: number, len: number, val: number | bigint): this {
    const r = this.req;
    r.kind = kind;
    r.addr = addr;
    r.len = len;
    r.val = val;
    this.stage = 0;
    return this;
  }
  [Symbol.iterator](): this {
    return this;
  }
  next(v?: GuestReply): IteratorResult<GuestRequest, GuestReply> {
    if (this.stage === 0) {
      this.stage = 1;
      return this.yielded;
    }
    this.returned.value = v;
    return this.returned;
  }
  /** Only the vCPU throws into a guest, to ask where it is (WhereProbe); the guest never sees it. */
  throw(e?: unknown): IteratorResult<GuestRequest, GuestReply> {
    if (e instanceof WhereProbe) {
      e.capture();
      return this.yielded;
    }
    throw e;
  }
}

/** An access that does not happen (a passing assertion). */
const NOTHING: Access<void> = {
  [Symbol.iterator]: () => ({ next: () => ({ done: true, value: undefined }) }),
};

/** A test global as the guest sees it: its own copy, synced by the host (sync_global_to_guest). */
export type GlobalsOf<T> = { [K in keyof T]: T[K] };

export class Guest {
  readonly vcpuId: number;
  private readonly it = new AccessIterator();
  private readonly globals: Map<string, unknown>;

  constructor(vcpuId: number, globals: Map<string, unknown>) {
    this.vcpuId = vcpuId;
    this.globals = globals;
  }

  // --- MMIO (readl/writel have barriers in C; ordering is total here) ----------------------------
  readl(addr: number): Access<number> {
    return this.it.arm(ReqKind.MmioRead, addr, 4, 0) as Access<number>;
  }
  writel(addr: number, val: number): Access<void> {
    return this.it.arm(ReqKind.MmioWrite, addr, 4, val) as Access<void>;
  }
  readb(addr: number): Access<number> {
    return this.it.arm(ReqKind.MmioRead, addr, 1, 0) as Access<number>;
  }
  writeb(addr: number, val: number): Access<void> {
    return this.it.arm(ReqKind.MmioWrite, addr, 1, val) as Access<void>;
  }
  readw(addr: number): Access<number> {
    return this.it.arm(ReqKind.MmioRead, addr, 2, 0) as Access<number>;
  }
  writew(addr: number, val: number): Access<void> {
    return this.it.arm(ReqKind.MmioWrite, addr, 2, val) as Access<void>;
  }
  readq(addr: number): Access<bigint> {
    return this.it.arm(ReqKind.MmioRead, addr, 8, 0) as Access<bigint>;
  }
  writeq(addr: number, val: bigint): Access<void> {
    return this.it.arm(ReqKind.MmioWrite, addr, 8, val) as Access<void>;
  }

  // --- system registers ---------------------------------------------------------------------------
  readSysreg(encoding: number): Access<bigint> {
    const a = this.it.arm(ReqKind.SysregRead, 0, 8, 0);
    a.req.sysreg = encoding;
    return a as Access<bigint>;
  }
  writeSysreg(encoding: number, val: number | bigint): Access<void> {
    const a = this.it.arm(ReqKind.SysregWrite, 0, 8, val);
    a.req.sysreg = encoding;
    return a as Access<void>;
  }

  // --- CPU ----------------------------------------------------------------------------------------
  wfi(): Access<void> {
    return this.it.arm(ReqKind.Wfi, 0, 0, 0) as Access<void>;
  }
  /** local_irq_enable(): clear PSTATE.I. */
  localIrqEnable(): Access<void> {
    return this.it.arm(ReqKind.IrqMask, 0, 0, 0) as Access<void>;
  }
  /** local_irq_disable(): set PSTATE.I. */
  localIrqDisable(): Access<void> {
    return this.it.arm(ReqKind.IrqMask, 0, 0, 1) as Access<void>;
  }
  /** isb(): a context synchronisation point, where a pending interrupt may be taken. */
  isb(): Access<void> {
    return this.it.arm(ReqKind.Sync, 0, 0, 0) as Access<void>;
  }
  cpuRelax(): Access<void> {
    return this.isb();
  }
  /** dsb(opt): orders memory accesses; here an access point like isb (ordering is total). */
  dsb(_opt?: 'sy' | 'ish' | 'ishld' | 'ishst'): Access<void> {
    return this.isb();
  }

  // --- guest globals --------------------------------------------------------------------------------
  readGlobal<T extends object, K extends keyof T & string>(_globals: T, name: K): T[K] {
    return this.globals.get(name) as T[K];
  }
  writeGlobal<T extends object, K extends keyof T & string>(_globals: T, name: K, value: T[K]): void {
    this.globals.set(name, value);
  }

  // --- ucalls ---------------------------------------------------------------------------------------
  private ucall(uc: Ucall): Access<void> {
    const a = this.it.arm(ReqKind.Ucall, 0, 8, 0);
    a.req.ucall = uc;
    return a as Access<void>;
  }
  /** GUEST_SYNC(arg): args[0] = "hello", args[1] = arg. */
  sync(arg: UcallValue = 0): Access<void> {
    return this.ucall({ cmd: UCALL_SYNC, args: ['hello', arg], buffer: '' });
  }
  /** GUEST_DONE() */
  done(): Access<void> {
    return this.ucall({ cmd: UCALL_DONE, args: [], buffer: '' });
  }
  /** GUEST_PRINTF() */
  printf(fmt: string, ...args: PrintfArg[]): Access<void> {
    return this.ucall({ cmd: UCALL_PRINTF, args: [], buffer: formatPrintf(fmt, args) });
  }
  /** GUEST_ASSERT(cond) / __GUEST_ASSERT(cond, fmt, ...) */
  assert(cond: boolean, fmt = '', ...args: PrintfArg[]): Access<void> {
    if (cond) return NOTHING;
    return this.abort(new Error().stack, 'assert', formatPrintf(fmt, args));
  }
  /** GUEST_ASSERT_EQ(a, b): buffer "%#lx != %#lx (a != b)". */
  assertEq(a: number | bigint, b: number | bigint, fmt = '', ...args: PrintfArg[]): Access<void> {
    if (BigInt(a) === BigInt(b)) return NOTHING;
    return this.abortCompare(new Error().stack, 'assertEq', '!=', a, b, fmt, args);
  }
  /** GUEST_ASSERT_NE(a, b) */
  assertNe(a: number | bigint, b: number | bigint, fmt = '', ...args: PrintfArg[]): Access<void> {
    if (BigInt(a) !== BigInt(b)) return NOTHING;
    return this.abortCompare(new Error().stack, 'assertNe', '==', a, b, fmt, args);
  }
  /** GUEST_FAIL(fmt, ...) */
  fail(fmt: string, ...args: PrintfArg[]): Access<void> {
    return this.abort(new Error().stack, 'fail', formatPrintf(fmt, args));
  }

  private abortCompare(
    stack: string | undefined,
    fn: string,
    op: string,
    a: number | bigint,
    b: number | bigint,
    fmt: string,
    args: PrintfArg[],
  ): Access<void> {
    const loc = callerLocation(stack);
    const [ea, eb] = loc ? splitArgs(loc.text, fn) : ['a', 'b'];
    const hex = (v: number | bigint): string => formatPrintf('%#lx', [BigInt.asUintN(64, BigInt(v))]);
    const extra = fmt ? ` ${formatPrintf(fmt, args)}` : '';
    return this.abort(stack, fn, `${hex(a)} ${op} ${hex(b)} (${ea} ${op} ${eb})${extra}`);
  }

  private abort(stack: string | undefined, _fn: string, buffer: string): Access<void> {
    const loc = callerLocation(stack);
    return this.ucall({
      cmd: UCALL_ABORT,
      args: [],
      buffer,
      expr: loc?.text ?? '(unknown expression)',
      ...(loc ? { file: loc.file, line: loc.line } : {}),
    });
  }
}

/** The two argument texts of `fn(a, b, ...)` on a source line, split at top-level commas. */
function splitArgs(line: string, fn: string): [string, string] {
  const start = line.indexOf(`${fn}(`);
  if (start < 0) return ['a', 'b'];
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of line.slice(start + fn.length + 1)) {
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    if (ch === ')' || ch === ']' || ch === '}') {
      if (depth === 0) break;
      depth--;
    }
    if (ch === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  parts.push(cur.trim());
  return [parts[0] ?? 'a', parts[1] ?? 'b'];
}
