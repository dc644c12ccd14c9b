// Guest mistakes never escape KVM_RUN as JavaScript exceptions: each one ends the run with
// UCALL_ABORT, a message that names the mistake, and the guest's own file:line (this file's).
// A line is named by a `// @tag` comment on it, so the expected numbers follow edits.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import t from '../../test/tap.ts';
import { GIC_V3, type Guest, type GuestProgram, type GuestRequest, gicInit, gicIrqEnable, gicIrqSetPending } from '../guest/index.ts';
import {
  type GuestCode,
  ICC_PMR_EL1,
  type KvmVcpu,
  UCALL_ABORT,
  UCALL_DONE,
  type Ucall,
  getUcall,
  vcpuRun,
  vmCreateWithOneVcpu,
  vmInstallExceptionHandler,
  vmUserspaceMemRegionAdd,
} from '../host/index.ts';
import { ReqKind } from './guest-abi.ts';

const SELF = fileURLToPath(import.meta.url);
const FILE = relative(process.cwd(), SELF);
const SOURCE = readFileSync(SELF, 'utf8').split('\n');
/** The 1-based line carrying `// @tag`. */
function at(tag: string): number {
  const i = SOURCE.findIndex((l) => l.trimEnd().endsWith(`// @${tag}`));
  if (i < 0) throw new Error(`no line tagged @${tag}`);
  return i + 1;
}

const RAM = 0x40000000;

interface Case {
  guest: GuestCode;
  /** The buffer must match. */
  message: RegExp;
  /** The tag of the line the abort must name. */
  line: string;
  irqHandler?: GuestCode;
  accessBudget?: number;
}

/** Run the guest once: KVM_RUN returns normally, with UCALL_ABORT at this file's tagged line. */
function expectAbort(t: Test, c: Case): Ucall {
  const { vm, vcpu } = vmCreateWithOneVcpu(c.guest, c.accessBudget ? { accessBudget: c.accessBudget } : {});
  vmUserspaceMemRegionAdd(vm, RAM, 1, 1);
  if (c.irqHandler) vmInstallExceptionHandler(vm, 'irq-current', c.irqHandler);
  let uc: Ucall = { cmd: -1, args: [], buffer: '' };
  t.doesNotThrow(() => {
    vcpuRun(vcpu);
    uc = getUcall(vcpu);
  }, 'KVM_RUN returns: no JavaScript exception escapes');
  t.equal(uc.cmd, UCALL_ABORT, `UCALL_ABORT (got ${uc.cmd}: ${uc.buffer})`);
  t.match(uc.buffer, c.message, 'the message names the mistake');
  t.equal(uc.file, FILE, "the guest's own file");
  t.equal(uc.line, at(c.line), `the guest's own line (@${c.line})`);
  t.equal(typeof uc.expr, 'string', 'an expression text');
  t.notOk(vcpu.alive, 'the vCPU is dead after the abort');
  return uc;
}

const cast = (f: unknown): GuestCode => f as GuestCode;

// --- item 7: wrong guest shapes and bad requests ------------------------------------------------

async function* asyncGuest(g: Guest) { // @async
  yield* g.done();
}

function* yieldNull(_g: Guest): GuestProgram {
  yield null as unknown as GuestRequest; // @yield-null
}
function* yieldUndefined(_g: Guest): GuestProgram {
  yield undefined as unknown as GuestRequest; // @yield-undefined
}
function* yield42(_g: Guest): GuestProgram {
  yield 42 as unknown as GuestRequest; // @yield-42
}
function* yieldObject(_g: Guest): GuestProgram {
  yield {} as GuestRequest; // @yield-object
}
function* ucallNull(_g: Guest): GuestProgram {
  yield { kind: ReqKind.Ucall, addr: 0, len: 8, val: 0, sysreg: 0, ucall: null }; // @ucall-null
}
function* sysregFraction(g: Guest): GuestProgram {
  yield* g.writeSysreg(ICC_PMR_EL1, 1.5); // @sysreg-fraction
}
function* sysregString(g: Guest): GuestProgram {
  yield* g.writeSysreg(ICC_PMR_EL1, '0xf0' as unknown as number); // @sysreg-string
}
function* ramRead3(_g: Guest): GuestProgram {
  yield { kind: ReqKind.MmioRead, addr: RAM, len: 3, val: 0, sysreg: 0, ucall: null }; // @ram-read-3
}
function* ramWriteFraction(g: Guest): GuestProgram {
  yield* g.writel(RAM, 1.5); // @ram-write-fraction
}
function* ramWriteRawFraction(_g: Guest): GuestProgram {
  yield { kind: ReqKind.MmioWrite, addr: RAM, len: 8, val: 1.5, sysreg: 0, ucall: null }; // @ram-write-raw
}
function* getterThrows(_g: Guest): GuestProgram {
  const req = { get kind(): ReqKind { throw 7; } };
  yield req as unknown as GuestRequest; // @getter-throws
}
function* mmioAddrString(g: Guest): GuestProgram {
  yield* g.readl('0x8000000' as unknown as number); // @addr-string
}

t.test('item 7: wrong guest shapes and malformed requests abort at the guest line', async (t) => {
  const cases: Array<[string, Case]> = [
    ['async function* guest', { guest: cast(asyncGuest), message: /async generator/, line: 'async' }],
    ['yield null', { guest: yieldNull, message: /yielded null.*yield\*/, line: 'yield-null' }],
    ['yield undefined', { guest: yieldUndefined, message: /yielded undefined/, line: 'yield-undefined' }],
    ['yield 42', { guest: yield42, message: /yielded 42 \(a number\)/, line: 'yield-42' }],
    ['yield {}', { guest: yieldObject, message: /not an access request/, line: 'yield-object' }],
    ['ucall request with ucall: null', { guest: ucallNull, message: /ucall request without a ucall/, line: 'ucall-null' }],
    ['sysreg write of 1.5', { guest: sysregFraction, message: /system register write of 1\.5: not an integer/, line: 'sysreg-fraction' }],
    ['sysreg write of a string', { guest: sysregString, message: /system register write of "0xf0" \(a string\)/, line: 'sysreg-string' }],
    ['3-byte RAM read', { guest: ramRead3, message: /MMIO read of 3 bytes/, line: 'ram-read-3' }],
    ['non-integer RAM write', { guest: ramWriteFraction, message: /MMIO write of 1\.5: not an integer/, line: 'ram-write-fraction' }],
    ['non-integer raw 8-byte RAM write', { guest: ramWriteRawFraction, message: /MMIO write of 1\.5/, line: 'ram-write-raw' }],
    ['a request whose getter throws', { guest: getterThrows, message: /guest threw 7 \(a number\), not an Error \(so it has no stack; the line is its last yield\)/, line: 'getter-throws' }],
    ['MMIO address given as a string', { guest: mmioAddrString, message: /MMIO address "0x8000000" \(a string\)/, line: 'addr-string' }],
  ];
  for (const [name, c] of cases) await t.test(name, async (t) => void expectAbort(t, c));
});

// --- item 7: throwing things that are hard to describe --------------------------------------------

function* throwNullProto(_g: Guest): GuestProgram { // @throw-null-proto
  throw Object.create(null);
}
function* throwBadToString(_g: Guest): GuestProgram { // @throw-bad-tostring
  throw { toString: () => { throw new Error('toString exploded'); } };
}
// V8 builds an Error's stack text from its message: neither can be read, so the line is the function's.
function* throwBadMessage(_g: Guest): GuestProgram { // @throw-bad-message
  const e = new Error('unused');
  Object.defineProperty(e, 'message', { get: () => { throw new TypeError('message exploded'); } });
  throw e;
}
function* throwBadStack(_g: Guest): GuestProgram { // @throw-bad-stack
  const e = new RangeError('with a broken stack');
  Object.defineProperty(e, 'stack', { get: () => { throw new Error('stack exploded'); } });
  throw e;
}
function* throwRevokedProxy(_g: Guest): GuestProgram { // @throw-revoked
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  throw proxy;
}
function* throwTypeError(_g: Guest): GuestProgram {
  const o = null as unknown as { x: number };
  yield* _g.sync(o.x); // @throw-typeerror
}

t.test('item 7: a throw of anything is described without throwing again', async (t) => {
  const cases: Array<[string, Case]> = [
    ['Object.create(null)', { guest: throwNullProto, message: /guest threw \[object Object\] \(an object\), not an Error \(so it has no stack/, line: 'throw-null-proto' }],
    ['an object whose toString throws', { guest: throwBadToString, message: /guest threw \[object Object\] \(an object\), not an Error \(so it has no stack/, line: 'throw-bad-tostring' }],
    ['an Error whose message getter throws', { guest: throwBadMessage, message: /guest threw Error \(its message could not be read\) \(its stack could not be read; the line is where the guest function that threw begins\)/, line: 'throw-bad-message' }],
    ['an Error whose stack getter throws', { guest: throwBadStack, message: /guest threw RangeError: with a broken stack \(its stack could not be read/, line: 'throw-bad-stack' }],
    ['a revoked Proxy', { guest: throwRevokedProxy, message: /guest threw a revoked Proxy/, line: 'throw-revoked' }],
    ['a TypeError from guest code', { guest: throwTypeError, message: /guest threw TypeError: Cannot read properties of null/, line: 'throw-typeerror' }],
  ];
  for (const [name, c] of cases) await t.test(name, async (t) => void expectAbort(t, c));
});

// --- item 8: yield instead of yield* ---------------------------------------------------------------

function* yieldWrite(g: Guest): GuestProgram {
  yield g.writel(RAM, 7) as unknown as GuestRequest; // @yield-write
  yield* g.done();
}
function* yieldRead(g: Guest): GuestProgram {
  const v = (yield g.readl(RAM) as unknown as GuestRequest) as unknown as number; // @yield-read
  yield* g.sync(v);
}
function* yieldAssert(g: Guest): GuestProgram {
  yield g.assert(false, 'never reported') as unknown as GuestRequest; // @yield-assert
  yield* g.done();
}

t.test('item 8: `yield` of an access (not `yield*`) aborts and says to use yield*', async (t) => {
  await t.test('yield g.writel(addr, v)', async (t) => {
    const uc = expectAbort(t, { guest: yieldWrite, message: /use `yield\*`/, line: 'yield-write' });
    t.match(uc.buffer, /MMIO write of 0x7 to 0x40000000/, 'names the access that was not performed');
  });
  await t.test('const v = yield g.readl(addr)', async (t) => void expectAbort(t, { guest: yieldRead, message: /use `yield\*`.*MMIO read of 0x40000000/, line: 'yield-read' }));
  await t.test('yield g.assert(false)', async (t) => void expectAbort(t, { guest: yieldAssert, message: /use `yield\*` \(the ucall UCALL_ABORT \(a failed guest assertion\) was not performed\)/, line: 'yield-assert' }));
});

// --- item 9: throws without a stack, runaways, stuck WFI, falling off the end ----------------------

function* throw42(_g: Guest): GuestProgram { // @throw-42
  yield* _g.isb();
  throw 42;
}
function* throwString(g: Guest): GuestProgram { // @throw-string
  yield* g.isb();
  throw 'boom';
}
function* throwNull(g: Guest): GuestProgram { // @throw-null
  yield* g.isb();
  throw null;
}
function* throwEmpty(g: Guest): GuestProgram { // @throw-empty
  yield* g.isb();
  throw {};
}
function* throwError(g: Guest): GuestProgram {
  yield* g.isb();
  throw new Error('guest failure'); // @throw-error
}
function* runaway(g: Guest): GuestProgram {
  for (;;) {
    yield* g.isb(); // @runaway
  }
}
function* stuckWfi(g: Guest): GuestProgram {
  yield* g.readl(RAM);
  yield* g.wfi(); // @wfi
}
function* noDone(g: Guest): GuestProgram { // @no-done
  yield* g.readl(RAM);
}

/** Takes SPI 32 right after unmasking: the interrupted access is the localIrqEnable line. */
function* irqGuest(g: Guest): GuestProgram {
  yield* gicInit(g, GIC_V3, 1);
  yield* gicIrqEnable(g, 32);
  yield* gicIrqSetPending(g, 32);
  yield* g.localIrqEnable(); // @irq-interrupted
  for (;;) yield* g.wfi();
}
function* irqThrow42(_g: Guest): GuestProgram { // @irq-throw-42
  throw 42;
}
function* irqThrowError(g: Guest): GuestProgram {
  yield* g.isb();
  throw new TypeError('handler failure'); // @irq-throw-error
}

t.test('item 9: every guest failure names a guest line', async (t) => {
  const cases: Array<[string, Case]> = [
    ['throw 42', { guest: throw42, message: /guest threw 42 \(a number\), not an Error \(so it has no stack; the line is where the guest function that threw begins\)/, line: 'throw-42' }],
    ['throw a string', { guest: throwString, message: /guest threw "boom" \(a string/, line: 'throw-string' }],
    ['throw null', { guest: throwNull, message: /guest threw null/, line: 'throw-null' }],
    ['throw {}', { guest: throwEmpty, message: /guest threw \[object Object\]/, line: 'throw-empty' }],
    ['throw an Error', { guest: throwError, message: /^guest threw Error: guest failure$/, line: 'throw-error' }],
    ['runaway guest', { guest: runaway, message: /did not exit within 1000 accesses/, line: 'runaway', accessBudget: 1000 }],
    ['stuck in WFI', { guest: stuckWfi, message: /blocked in WFI/, line: 'wfi' }],
    ['returned without GUEST_DONE', { guest: noDone, message: /returned without GUEST_DONE/, line: 'no-done' }],
    ['throw 42 in the IRQ handler', { guest: irqGuest, irqHandler: irqThrow42, message: new RegExp(`guest threw 42 .*in the IRQ handler, which interrupted the guest at ${FILE}:${at('irq-interrupted')}`), line: 'irq-throw-42' }],
    ['an Error thrown in the IRQ handler', { guest: irqGuest, irqHandler: irqThrowError, message: /guest threw TypeError: handler failure/, line: 'irq-throw-error' }],
  ];
  for (const [name, c] of cases) await t.test(name, async (t) => void expectAbort(t, c));
});

// --- what still works ---------------------------------------------------------------------------------

function* goodGuest(g: Guest): GuestProgram {
  yield* g.writel(RAM, -1); // C's conversion: the low 32 bits
  yield* g.writeb(RAM + 4, 0x1ff);
  yield* g.writeq(RAM + 8, -2n);
  yield* g.writeSysreg(ICC_PMR_EL1, 0xf0);
  yield* g.sync(yield* g.readl(RAM));
  yield* g.sync(yield* g.readb(RAM + 4));
  yield* g.sync(yield* g.readq(RAM + 8));
  yield* g.sync(yield* g.readSysreg(ICC_PMR_EL1));
  yield* g.done();
}

t.test('well-formed accesses still run, with C conversions of integer values', (t) => {
  const { vm, vcpu } = vmCreateWithOneVcpu(goodGuest);
  vmUserspaceMemRegionAdd(vm, RAM, 1, 1);
  const seen: Array<number | bigint | string | boolean> = [];
  for (;;) {
    vcpuRun(vcpu);
    const uc = getUcall(vcpu);
    if (uc.cmd !== 1) {
      t.equal(uc.cmd, UCALL_DONE, `GUEST_DONE (${uc.buffer})`);
      break;
    }
    seen.push(uc.args[1]!);
  }
  t.same(seen, [0xffffffff, 0xff, 0xfffffffffffffffen, 0xf0n]);
  t.end();
});

/** A dead vCPU stays dead: running it again reports that, without throwing. */
t.test('a second KVM_RUN after an abort', (t) => {
  const { vcpu } = vmCreateWithOneVcpu(yield42);
  vcpuRun(vcpu);
  t.equal(getUcall(vcpu).cmd, UCALL_ABORT);
  t.doesNotThrow(() => vcpuRun(vcpu as KvmVcpu));
  t.match(getUcall(vcpu).buffer, /already finished/);
  t.end();
});

// --- anything at all, yielded or thrown -----------------------------------------------------------

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}
const ANYTHING: ReadonlyArray<[string, () => unknown]> = [
  ['undefined', () => undefined], ['null', () => null], ['true', () => true], ['NaN', () => Number.NaN], ['-0', () => -0],
  ['2n ** 70n', () => 2n ** 70n], ["''", () => ''], ['a long string', () => 'x'.repeat(100_000)], ['a symbol', () => Symbol('s')],
  ['a function', () => () => 1], ['a generator function', () => function* () {}], ['a generator object', () => (function* () {})()],
  ['an array', () => [1, 2]], ['a Map', () => new Map()], ['a Promise', () => Promise.resolve(1)],
  ['a Proxy with throwing traps', () => new Proxy({}, { get: () => { throw new Error('trap'); }, getPrototypeOf: () => { throw new Error('trap'); } })],
  ['a revoked Proxy', revoked], ['an object with a throwing Symbol.toPrimitive', () => ({ [Symbol.toPrimitive]: () => { throw new Error('prim'); } })],
  ['an Error subclass with a throwing name', () => Object.defineProperty(new TypeError('x'), 'name', { get: () => { throw new Error('name'); } })],
  ['a request-shaped object with kind 99', () => ({ kind: 99, addr: 0, len: 4, val: 0, sysreg: 0, ucall: null })],
  ['a request with a bigint address', () => ({ kind: ReqKind.MmioRead, addr: 5n, len: 4, val: 0, sysreg: 0, ucall: null })],
  ['a ucall whose args are not an array', () => ({ kind: ReqKind.Ucall, addr: 0, len: 8, val: 0, sysreg: 0, ucall: { cmd: 4, args: 5, buffer: '' } })],
  ['a sysreg read with a string encoding', () => ({ kind: ReqKind.SysregRead, addr: 0, len: 8, val: 0, sysreg: 'ICC_PMR_EL1', ucall: null })],
];

t.test('anything a guest yields or throws ends in UCALL_ABORT at a line of this file', (t) => {
  for (const [name, make] of ANYTHING) {
    for (const how of ['yield', 'throw'] as const) {
      const guest = function* (g: Guest): GuestProgram {
        yield* g.isb();
        if (how === 'throw') throw make();
        yield make() as GuestRequest;
      };
      const { vcpu } = vmCreateWithOneVcpu(guest);
      let uc: Ucall | undefined;
      t.doesNotThrow(() => {
        vcpuRun(vcpu);
        uc = getUcall(vcpu);
      }, `${how} ${name}: KVM_RUN returns`);
      t.ok(uc?.cmd === UCALL_ABORT && uc.file === FILE && typeof uc.line === 'number' && uc.buffer.length < 2000, `${how} ${name}: UCALL_ABORT at ${FILE}:${uc?.line} (${uc?.buffer.slice(0, 120)})`);
    }
  }
  t.end();
});
