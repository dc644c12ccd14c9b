// test_util.h for ports: TEST_ASSERT, TEST_FAIL, TEST_REQUIRE, pr_info, print_skip,
// REPORT_GUEST_ASSERT. Failures are exceptions that end the current case, as exit(254) ends a
// C selftest; the selftest() wrapper turns them into TAP.

import { UCALL_ABORT, UCALL_UNHANDLED, type Ucall } from '../kvm/guest-abi.ts';
import { callerLocation } from '../kvm/location.ts';
import { type PrintfArg, formatPrintf } from '../kvm/printf.ts';
import { strerror } from '../uapi/errno.ts';

/** errno as libc would have it after the last failed ioctl made through lib/host. */
let lastErrno = 0;
export function setErrno(e: number): void {
  lastErrno = Math.abs(e);
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
  constructor(readonly reason: string) {
    super(reason);
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
  recorder = r;
}

/**
 * A passing check named by the port itself, for tests whose checks carry their own messages
 * (kvm-unit-tests' report(pass, "msg")): counted like a passing testAssert.
 */
export function recordPass(name: string): void {
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
  const same = BigInt(a) === BigInt(b);
  const hex = (v: number | bigint): string => formatPrintf('%#lx', [BigInt.asUintN(64, BigInt(v))]);
  testAssert(same, '%s', `${hex(a)} != ${hex(b)}${fmt ? ' ' + formatPrintf(fmt, args) : ''}`);
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
  if (!cond) throw new TestSkip(`- Requirement not met: ${what}`);
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
  throw new TestAssertionFailure({
    ...(uc.file ? { file: uc.file, line: uc.line ?? 0 } : {}),
    expr: uc.expr ?? '(guest)',
    detail: uc.buffer,
    guest: true,
  });
}

/** True for the ucalls that mean the guest died. */
export function isGuestFailure(uc: Ucall): boolean {
  return uc.cmd === UCALL_ABORT || uc.cmd === UCALL_UNHANDLED;
}
