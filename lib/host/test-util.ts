// test_util.h for ports: TEST_ASSERT, TEST_FAIL, TEST_REQUIRE, pr_info, print_skip,
// REPORT_GUEST_ASSERT. Failures are exceptions that end the current case, as exit(254) ends a
// C selftest; the selftest() wrapper turns them into TAP.

import { UCALL_ABORT, UCALL_UNHANDLED, type Ucall } from '../kvm/guest-abi.ts';
import { callerLocation } from '../kvm/location.ts';
import { type PrintfArg, formatPrintf } from '../kvm/printf.ts';
import { describeValue } from '../kvm/thrown.ts';
import { strerror } from '../uapi/errno.ts';

/** errno as libc would have it after the last failed ioctl made through lib/host. */
let lastErrno = 0;
export function setErrno(e: number): void {
  // errno is an int; anything else leaves it unchanged rather than poisoning later reports.
  if (typeof e === 'number' && Number.isInteger(e)) lastErrno = Math.abs(e);
}
export function errno(): number {
  return lastErrno;
}

/** A failed TEST_ASSERT / guest assertion: ends the current case. */
export class TestAssertionFailure extends Error {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly expr: string;
  readonly detail: string;
  readonly guest: boolean;
  constructor(opts: { file?: string; line?: number; expr: string; detail: string; guest: boolean }) {
    // Total: built from whatever it is given (it is what every bad argument ends in).
    let o: Partial<typeof opts> = {};
    try {
      if (typeof opts === 'object' && opts !== null) o = { file: opts.file, line: opts.line, expr: opts.expr, detail: opts.detail, guest: opts.guest };
    } catch {
      // unreadable options (a revoked Proxy): an assertion with no detail
    }
    opts = {
      ...(typeof o.file === 'string' ? { file: o.file, line: typeof o.line === 'number' ? o.line : 0 } : {}),
      expr: typeof o.expr === 'string' ? o.expr : '(unknown)',
      detail: typeof o.detail === 'string' ? o.detail : describeValue(o.detail),
      guest: o.guest === true,
    };
    const where = opts.file ? `${opts.file}:${opts.line}: ` : '';
    super(
      [
        '==== Test Assertion Failure ====',
        `  ${where}${opts.expr}`,
        `  pid=${process.pid} tid=${process.pid} errno=${lastErrno} - ${strerror(lastErrno)}`,
        `  ${opts.detail}`,
      ].join('\n'),
    );
    this.name = 'TestAssertionFailure';
    this.file = opts.file;
    this.line = opts.line;
    this.expr = opts.expr;
    this.detail = opts.detail;
    this.guest = opts.guest;
  }
}

/** TEST_REQUIRE / ksft_exit_skip: the rest of the test is skipped. */
export class TestSkip extends Error {
  readonly reason: string;
  constructor(reason: string) {
    const text = typeof reason === 'string' ? reason : formatPrintf('%s', [reason as PrintfArg]);
    super(text);
    this.reason = text;
    this.name = 'TestSkip';
  }
}

/** Hooks the selftest() wrapper installs to record output and passing checks. */
export interface CaseRecorder {
  comment(text: string): void;
  pass(message: string): void;
}
let recorder: CaseRecorder | null = null;
export function setRecorder(r: CaseRecorder | null): void {
  let ok = r === null;
  try {
    ok ||= typeof r === 'object' && r !== null && typeof r.comment === 'function' && typeof r.pass === 'function';
  } catch {
    // a Proxy whose traps throw is no recorder
  }
  if (!ok) argFailure('setRecorder', 'r', r, 'a CaseRecorder or null');
  recorder = r;
}

/** args.ts's badArg (which imports this module, so it is not imported here). */
function argFailure(fn: string, param: string, v: unknown, want: string): never {
  const loc = callerLocation(new Error().stack);
  throw new TestAssertionFailure({
    ...(loc ? { file: loc.file, line: loc.line } : {}),
    expr: loc?.text ?? `${fn}()`,
    detail: `${fn}(): ${param} is ${describeValue(v)}, not ${want}`,
    guest: false,
  });
}

/**
 * A passing check named by the port itself, for tests whose checks carry their own messages
 * (kvm-unit-tests' report(pass, "msg")): counted like a passing testAssert.
 */
export function recordPass(name: string): void {
  if (typeof name !== 'string') argFailure('recordPass', 'name', name, 'a string');
  if (recorder) recorder.pass(name);
}

/** TEST_ASSERT(cond, fmt, ...): a failing check ends the case with the C-style failure block. */
export function testAssert(cond: unknown, fmt = '', ...args: PrintfArg[]): asserts cond {
  if (cond) {
    if (recorder) recorder.pass(checkName(new Error().stack, fmt, args));
    return;
  }
  const msg = formatPrintf(fmt, args);
  const loc = callerLocation(new Error().stack);
  throw new TestAssertionFailure({
    ...(loc ? { file: loc.file, line: loc.line } : {}),
    expr: loc?.text ?? '(unknown)',
    detail: msg,
    guest: false,
  });
}

/** A passing check is named by its condition as written at the call site. */
function checkName(stack: string | undefined, fmt: string, args: PrintfArg[]): string {
  const loc = callerLocation(stack);
  const m = loc ? /testAssert\((.*?),\s*['"`]/.exec(loc.text) ?? /testAssert\((.*)\);?$/.exec(loc.text) : null;
  return m ? m[1]!.trim() : formatPrintf(fmt, args) || 'check';
}

/** ASSERT_EQ(a, b) */
export function assertEq(a: number | bigint, b: number | bigint, fmt = '', ...args: PrintfArg[]): void {
  const same = isIntegral(a) && isIntegral(b) ? BigInt(a) === BigInt(b) : Object.is(a, b);
  const hex = (v: unknown): string => (isIntegral(v) ? formatPrintf('%#lx', [BigInt.asUintN(64, BigInt(v))]) : describeValue(v));
  testAssert(same, '%s', `${hex(a)} != ${hex(b)}${fmt ? ' ' + formatPrintf(fmt, args) : ''}`);
}

function isIntegral(v: unknown): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}

/** TEST_FAIL(fmt, ...) */
export function testFail(fmt: string, ...args: PrintfArg[]): never {
  const loc = callerLocation(new Error().stack);
  throw new TestAssertionFailure({
    ...(loc ? { file: loc.file, line: loc.line } : {}),
    expr: 'false',
    detail: formatPrintf(fmt, args),
    guest: false,
  });
}

/** TEST_REQUIRE(cond): ksft_exit_skip("- Requirement not met: <what>"). */
export function testRequire(cond: unknown, what: string): asserts cond {
  if (!cond) throw new TestSkip(`- Requirement not met: ${formatPrintf('%s', [what as PrintfArg])}`);
}

/** pr_info(fmt, ...) */
export function printInfo(fmt: string, ...args: PrintfArg[]): void {
  const text = formatPrintf(fmt, args).replace(/\n$/, '');
  if (recorder) recorder.comment(text);
  else process.stdout.write(`# ${text}\n`);
}

/** print_skip(fmt, ...): "<msg>, skipping test" without exiting. */
export function printSkip(fmt: string, ...args: PrintfArg[]): void {
  printInfo('%s, skipping test', formatPrintf(fmt, args));
}

/** REPORT_GUEST_ASSERT(uc): the guest's expression, file:line and message. */
export function reportGuestAssert(uc: Ucall): never {
  const u = readUcall(uc);
  if (!u) throw new TestAssertionFailure({ expr: 'REPORT_GUEST_ASSERT(uc)', detail: `reportGuestAssert(): uc is ${describeValue(uc)}, not a ucall (getUcall)`, guest: false });
  throw new TestAssertionFailure({
    ...(typeof u.file === 'string' && u.file ? { file: u.file, line: typeof u.line === 'number' ? u.line : 0 } : {}),
    expr: typeof u.expr === 'string' ? u.expr : '(guest)',
    detail: typeof u.buffer === 'string' ? u.buffer : describeValue(u.buffer),
    guest: true,
  });
}

/** The fields of a ucall, read once; undefined for something that is not an object or cannot be read. */
function readUcall(uc: unknown): Partial<Record<keyof Ucall, unknown>> | undefined {
  if (typeof uc !== 'object' || uc === null) return undefined;
  try {
    const u = uc as Ucall;
    return { cmd: u.cmd, buffer: u.buffer, expr: u.expr, file: u.file, line: u.line };
  } catch {
    return undefined;
  }
}

/** True for the ucalls that mean the guest died. */
export function isGuestFailure(uc: Ucall): boolean {
  const cmd = readUcall(uc)?.cmd;
  return cmd === UCALL_ABORT || cmd === UCALL_UNHANDLED;
}
