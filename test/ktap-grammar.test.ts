// The KTAP checker must accept what the spec allows in this project's layout and reject each
// kind of mistake a writer could make; otherwise the runner's KTAP tests would prove nothing.
import t from './tap.ts';
import { checkKtap } from './ktap-grammar.ts';

const doc = (...lines: string[]): string => `${lines.join('\n')}\n`;

const GOOD = doc(
  'TAP version 13',
  '1..3',
  '# vgic-harness: seed 1',
  '# Subtest: kvm_basic',
  '    1..3',
  '    ok 1 vcpu_create',
  '    ok 2 set_regs # SKIP KVM_CAP_SYNC_REGS unavailable',
  '    # get_msr: expected 0x1, got 0x0',
  '    not ok 3 get_msr',
  '# exit status 1',
  'not ok 1 kvm_basic',
  'ok 2 skipped_test # SKIP - Requirement not met',
  'not ok 3 slow_test # TIMEOUT 45 seconds',
  '# 0 passed, 2 failed, 1 skipped',
);

t.test('accepts the recommended layout and reads its tree', async (t) => {
  const r = checkKtap(GOOD);
  t.same(r.errors, []);
  t.equal(r.doc?.plan, 3);
  t.equal(r.doc?.results.length, 3);
  const first = r.doc?.results[0];
  t.equal(first?.description, 'kvm_basic');
  t.equal(first?.ok, false);
  t.same(first?.children.map((c) => [c.ok, c.description, c.directive]), [
    [true, 'vcpu_create', null],
    [true, 'set_regs', 'SKIP'],
    [false, 'get_msr', null],
  ]);
  t.same(first?.diagnostics, ['vgic-harness: seed 1', 'exit status 1'], 'diagnostics since the previous result');
  t.equal(r.doc?.results[2]?.directive, 'TIMEOUT');
  t.equal(r.doc?.results[2]?.reason, '45 seconds');
  t.same(r.doc?.trailing, ['0 passed, 2 failed, 1 skipped']);
});

t.test('accepts KTAP version lines, nested KTAP headers and deeper nesting', async (t) => {
  const r = checkKtap(
    doc(
      'KTAP version 1',
      '1..1',
      '# Subtest: main_test',
      '    KTAP version 1',
      '    1..2',
      '    # Subtest: example_test_1',
      '        1..1',
      '        # test_1: initializing test_1',
      '        ok 1 test_1',
      '    ok 1 example_test_1',
      '    ok 2 example_test_2 # XFAIL known bug',
      'ok 1 main_test',
    ),
  );
  t.same(r.errors, []);
  t.equal(r.doc?.results[0]?.children[0]?.children[0]?.description, 'test_1');
});

t.test('accepts an empty run', async (t) => {
  t.same(checkKtap(doc('TAP version 13', '1..0')).errors, []);
});

/** Each bad document and a fragment of the error it must produce. */
const BAD: [string, string, RegExp][] = [
  ['no version line', doc('1..1', 'ok 1 a'), /first line must be a version line/],
  ['TAP version 12', doc('TAP version 12', '1..1', 'ok 1 a'), /first line must be a version line/],
  ['plan not right after the version', doc('TAP version 13', '# hello', '1..1', 'ok 1 a'), /plan must come right after the version/],
  ['plan after the results (node-tap default, hangs kunit.py)', doc('TAP version 13', 'ok 1 a', '1..1'), /plan must come right after the version/],
  [
    'nested plan after the nested results',
    doc('TAP version 13', '1..1', '# Subtest: a', '    ok 1 b', '    1..1', 'ok 1 a'),
    /does not start with its plan/,
  ],
  ['directive before any name', doc('TAP version 13', '1..1', 'ok 1 # SKIP why'), /without a description/],
  ['no description at all', doc('TAP version 13', '1..1', 'ok 1'), /without a description/],
  ["'#' in a description", doc('TAP version 13', '1..1', 'ok 1 region #0'), /description contains '#'/],
  ['TODO directive (not KTAP)', doc('TAP version 13', '1..1', 'not ok 1 a # TODO later'), /unknown directive "TODO"/],
  ['free text after #', doc('TAP version 13', '1..1', 'not ok 1 a # exit=1'), /unknown directive "exit=1"/],
  ['TIMEOUT on ok', doc('TAP version 13', '1..1', 'ok 1 a # TIMEOUT 2 seconds'), /TIMEOUT on an ok result/],
  ['ERROR on ok', doc('TAP version 13', '1..1', 'ok 1 a # ERROR crashed'), /ERROR on an ok result/],
  ['numbers not starting at 1', doc('TAP version 13', '1..2', 'ok 2 a', 'ok 3 b'), /test number 2, expected 1/],
  ['numbers skipping', doc('TAP version 13', '1..2', 'ok 1 a', 'ok 3 b'), /test number 3, expected 2/],
  ['fewer results than planned', doc('TAP version 13', '1..3', 'ok 1 a', 'ok 2 b'), /plan 1\.\.3 but 2 results/],
  ['more results than planned', doc('TAP version 13', '1..1', 'ok 1 a', 'ok 2 b'), /plan 1\.\.1 but 2 results/],
  ['nested count differs from nested plan', doc('TAP version 13', '1..1', '# Subtest: a', '    1..2', '    ok 1 b', 'ok 1 a'), /subtest "a": plan 1\.\.2 but 1 results/],
  ['2-space nesting (the spec text, rejected by TAP 14 parsers)', doc('TAP version 13', '1..1', '# Subtest: a', '  1..1', '  ok 1 b', 'ok 1 a'), /not a multiple of 4/],
  ['nested block without a Subtest header', doc('TAP version 13', '1..1', '    1..1', '    ok 1 b', 'ok 1 a'), /without a "# Subtest:" header/],
  ['closing result named differently', doc('TAP version 13', '1..1', '# Subtest: a', '    1..1', '    ok 1 b', 'ok 1 c'), /closing subtest "a" is named "c"/],
  ['parent ok while a child failed', doc('TAP version 13', '1..1', '# Subtest: a', '    1..1', '    not ok 1 b', 'ok 1 a'), /parent is ok but its subtest 1 "b" is not ok/],
  ['subtest header with no result', doc('TAP version 13', '1..1', '# Subtest: a', '    1..1', '    ok 1 b'), /no result line for subtest "a"/],
  ['a non-KTAP line', doc('TAP version 13', '1..1', 'hello world', 'ok 1 a'), /not a KTAP line/],
  ['a blank line', doc('TAP version 13', '1..1', '', 'ok 1 a'), /blank line/],
  ['a tab', doc('TAP version 13', '1..1', '\tok 1 a'), /tab/],
  ['a YAML block', doc('TAP version 13', '1..1', 'not ok 1 a', '  ---', '  message: x', '  ...'), /not a multiple of 4/],
];

for (const [what, text, expected] of BAD) {
  t.test(`rejects: ${what}`, async (t) => {
    const r = checkKtap(text);
    t.ok(r.errors.length > 0, 'has errors');
    t.match(r.errors.join('\n'), expected);
  });
}
