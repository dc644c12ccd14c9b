// getopt(3) and test_util's number parsers for ports whose main() takes options.

import { arrayArg, fnArg, stringArg } from './args.ts';
import { testAssert } from './test-util.ts';

/** One option getopt() returned: its letter ('?' for an error) and its argument. */
export interface GetoptResult {
  opt: string;
  optarg: string | null;
}

/**
 * getopt(argc, argv, optstring) over the whole argument list: "n:" takes an argument (attached,
 * -n64, or the next word), -- ends the options, the first non-option ends them (POSIX order).
 * An unknown option or a missing argument gives '?' after glibc's message on stderr.
 */
export function getopt(
  argv: readonly string[],
  optstring: string,
  prog = 'test',
  warn: (msg: string) => void = (m) => process.stderr.write(m),
): GetoptResult[] {
  // char *argv[], const char *optstring: anything but strings would not compile.
  const args = arrayArg(argv, 'getopt', 'argv', 'an array of strings (argv)');
  args.forEach((a, i) => stringArg(a, 'getopt', `argv[${i}]`));
  stringArg(optstring, 'getopt', 'optstring');
  stringArg(prog, 'getopt', 'prog');
  fnArg(warn, 'getopt', 'warn', 'a function taking the message');
  return parse(args as string[], optstring, prog, warn);
}

function parse(args: readonly string[], optstring: string, prog: string, warn: (msg: string) => void): GetoptResult[] {
  const out: GetoptResult[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const k = optstring.indexOf(c);
      if (k < 0 || c === ':') {
        warn(`${prog}: invalid option -- '${c}'\n`);
        out.push({ opt: '?', optarg: null });
        continue;
      }
      if (optstring[k + 1] !== ':') {
        out.push({ opt: c, optarg: null });
        continue;
      }
      const rest = a.slice(j + 1);
      if (rest) {
        out.push({ opt: c, optarg: rest });
      } else if (i + 1 < args.length) {
        out.push({ opt: c, optarg: args[++i]! });
      } else {
        warn(`${prog}: option requires an argument -- '${c}'\n`);
        out.push({ opt: '?', optarg: null });
      }
      break;
    }
  }
  return out;
}

/** strtol(s, &end, 0): base from the prefix (0x hex, 0 octal), optional sign and leading blanks. */
function strtol(s: string): { value: number; end: number } {
  const m = /^[\t\n\v\f\r ]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return { value: 0, end: 0 };
  const digits = m[2]!;
  const v = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits[0] === '0' ? parseInt(digits, 8) : parseInt(digits, 10);
  return { value: m[1] === '-' ? -v : v, end: m[0].length };
}

/** atoi_paranoid(): the whole string must be one integer in int range. */
export function atoiParanoid(numStr: string): number {
  return paranoid(stringArg(numStr, 'atoiParanoid', 'numStr'));
}

function paranoid(numStr: string): number {
  const { value, end } = strtol(numStr);
  testAssert(end !== 0, 'strtol("%s") didn\'t find a valid integer.', numStr);
  testAssert(end === numStr.length, 'strtol("%s") failed to parse trailing characters "%s".', numStr, numStr.slice(end));
  testAssert(value >= -2147483648 && value <= 2147483647, '%ld not in range of [%d, %d]', value, -2147483648, 2147483647);
  return value;
}

/** atoi_non_negative(name, str) */
export function atoiNonNegative(name: string, numStr: string): number {
  stringArg(name, 'atoiNonNegative', 'name');
  const num = paranoid(stringArg(numStr, 'atoiNonNegative', 'numStr'));
  testAssert(num >= 0, "%s must be non-negative, got '%s'", name, numStr);
  return num;
}

/** atoi_positive(name, str) */
export function atoiPositive(name: string, numStr: string): number {
  stringArg(name, 'atoiPositive', 'name');
  const num = paranoid(stringArg(numStr, 'atoiPositive', 'numStr'));
  testAssert(num > 0, "%s must be greater than 0, got '%s'", name, numStr);
  return num;
}
