// The parts around the two back ends that need no QEMU: the initramfs writer, the driver's and
// run-tests' console parsing, the known-differences file, the CLI, and the model back end over
// every scenario (it must answer every step; a runaway or a dead vCPU would show as "exit 0").
import t from '../../test/tap.ts';
import { cpioArchive, initramfs } from './cpio.ts';
import { parseConformance } from './cli.ts';
import { parseDriverOutput } from './kvm-backend.ts';
import { KNOWN_DIFFERENCES_FILE, loadScenarios } from './scenarios.ts';
import { loadKnownDifferences, parseKnownDifferences } from './known.ts';
import { parseScenarios } from './language.ts';
import { ModelBackend } from './model-backend.ts';
import { normalise } from './results.ts';
import { cTestResult, parseRunTestsOutput } from './target.ts';
import { EMULATED_CNTFRQ } from '../vgic/timer-regs.ts';

/** Walk a newc archive: [name, mode, size, rdevmajor, rdevminor, data]. */
function entries(buf: Buffer): [string, number, number, number, number, Buffer][] {
  const out: [string, number, number, number, number, Buffer][] = [];
  let o = 0;
  const pad = (n: number): number => (n + 3) & ~3;
  for (;;) {
    const h = buf.subarray(o, o + 110).toString('ascii');
    if (!h.startsWith('070701')) throw new Error(`bad magic at ${o}`);
    const f = (i: number): number => parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    const namesize = f(11);
    const name = buf.subarray(o + 110, o + 110 + namesize - 1).toString();
    const dataAt = pad(o + 110 + namesize);
    const size = f(6);
    if (name === 'TRAILER!!!') return out;
    out.push([name, f(1), size, f(9), f(10), buf.subarray(dataAt, dataAt + size)]);
    o = pad(dataAt + size);
  }
}

t.test('initramfs: newc entries the kernel unpacks', (t) => {
  const a = initramfs(Buffer.from('INIT'), { steps: Buffer.from('V 0\n'), 'tests/list': Buffer.from('x 1\n') }, { 'tests/x': Buffer.from([1, 2, 3]) });
  t.equal(a.length % 512, 0, 'padded to 512-byte blocks');
  t.same(
    entries(a).map(([n, m, s, ma, mi]) => [n, m.toString(8), s, ma, mi]),
    [
      ['dev', '40755', 0, 0, 0],
      ['dev/console', '20600', 0, 5, 1],
      ['init', '100755', 4, 0, 0],
      ['steps', '100644', 4, 0, 0],
      ['tests', '40755', 0, 0, 0],
      ['tests/list', '100644', 4, 0, 0],
      ['tests/x', '100755', 3, 0, 0],
    ],
  );
  t.same([...entries(a)[6]![5]], [1, 2, 3], 'data survives');
  t.equal(entries(cpioArchive([])).length, 0, 'an empty archive is just the trailer');
  t.end();
});

t.test('driver console: results by step number, problems named', (t) => {
  const vm = { bootMs: 1, runMs: 1, timedOut: false, exitCode: 0 };
  const ok = parseDriverOutput('[ 1.0] noise\r\n@@ BEGIN 7.2.13+deb14-arm64\n@@ 0 ok\n@@ 1 val 0x3\n@@ 2 err 16\n@@ END 3\n', 3, vm);
  t.equal(ok.release, '7.2.13+deb14-arm64');
  t.equal(ok.problem, null);
  t.same(ok.results, [{ k: 'ok' }, { k: 'val', v: 3n }, { k: 'err', errno: 16 }]);
  t.equal(parseDriverOutput('garbage', 1, vm).problem, 'the VM never reached /init');
  t.equal(parseDriverOutput('@@ BEGIN x\n@@ 0 ok\n', 2, { ...vm, timedOut: true }).problem, 'the driver did not finish before the timeout');
  t.equal(parseDriverOutput('@@ BEGIN x\n@@ FATAL no /dev/kvm: No such file\n', 1, vm).problem, 'driver: no /dev/kvm: No such file');
  t.equal(parseDriverOutput('@@ BEGIN x\n@@ 1 ok\n@@ END 2\n', 2, vm).problem, 'some steps printed no result');
  t.end();
});

t.test('run-tests console: one result per C selftest, kselftest exit codes', (t) => {
  const p = parseRunTestsOutput(
    '@@ BEGIN 6.12.117\n@@ TEST vgic_init BEGIN\nline 1\n==== Test Assertion Failure ====\n  include/kvm_util.h:899: !ret\n  pid=127 tid=127 errno=16 - Device or resource busy\n  KVM_GET_DEVICE_ATTR failed\n\n@@ TEST vgic_init EXIT 254 3.5\n' +
      '@@ TEST vgic_irq BEGIN\nnr-irqs=64\n\n@@ TEST vgic_irq TIMEOUT 120 120.020\n@@ TEST skip BEGIN\n\n@@ TEST skip EXIT 4 0.1\n@@ TEST cut BEGIN\npartial\n',
  );
  t.equal(p.release, '6.12.117');
  t.equal(p.ended, false);
  t.same(p.tests.map((x) => [x.name, x.exit, x.timedOut, x.seconds]), [
    ['vgic_init', 254, false, 3.5],
    ['vgic_irq', null, true, 120.02],
    ['skip', 4, false, 0.1],
    ['cut', null, false, null],
  ]);
  const r = p.tests.map((x) => cTestResult(x, 'real KVM', 120));
  t.same(r.map((x) => x.status), ['fail', 'timeout', 'skip', 'fail']);
  t.equal(r[0]!.reason, 'include/kvm_util.h:899: !ret; pid=127 tid=127 errno=16 - Device or resource busy; KVM_GET_DEVICE_ATTR failed');
  t.equal(r[3]!.reason, 'the VM stopped during this test');
  t.end();
});

t.test('known differences: the data file, its checks and matching', (t) => {
  const k = loadKnownDifferences(KNOWN_DIFFERENCES_FILE);
  t.ok(k.entries.length > 0 && k.entries.every((e) => e.reason.length > 40), 'every entry says why');
  const d = parseKnownDifferences('- scenario: "gen-*"\n  step: "v0 r32 0x80"\n  gic: 3\n  kernels: ["6.*"]\n  reason: because\n', 'k.yaml');
  t.not(d.explain('gen-x', 'v0 r32 0x80', 3, '6.1.164'), null);
  t.equal(d.explain('gen-x', 'v0 r32 0x80', 2, '6.1.164'), null, 'other GIC');
  t.equal(d.explain('gen-x', 'v0 r32 0x80', 3, '7.2.13'), null, 'other kernel');
  t.equal(d.explain('gen-x', 'v0 r32 0x800', 3, '6.1.164'), null, 'the step pattern is anchored');
  t.equal(d.explain('other', 'v0 r32 0x80', 3, '6.1.164'), null);
  for (const [text, re] of [
    ['{}', /expected a list/],
    ['- scenario: x\n  step: y', /'reason' must be a non-empty string/],
    ['- scenario: x\n  step: y\n  reason: z\n  extra: 1', /unknown field 'extra'/],
    ['- scenario: x\n  step: "("\n  reason: z', /bad step pattern/],
    ['- scenario: x\n  step: y\n  reason: z\n  gic: 4', /gic must be 2 or 3/],
  ] as const) {
    t.throws(() => parseKnownDifferences(text, 'k.yaml'), re);
  }
  t.end();
});

t.test('conformance options', (t) => {
  const d = parseConformance([]);
  t.same([d.gics, d.kvmMode, d.profile, d.format, d.verbose, d.recordDir], [[3, 2], 'vhe', null, 'tap', false, null]);
  const o = parseConformance(['--kernel', '7.2.13', '--kernel', '/x/Image', '--gic', '2', '--kvm-mode', 'nvhe', '--profile', 'iidr-fix', '-f', 'ktap', 'v3-*']);
  t.same([o.kernels, o.gics, o.kvmMode, o.profile, o.format, o.patterns], [['7.2.13', '/x/Image'], [2], 'nvhe', 'iidr-fix', 'ktap', ['v3-*']]);
  t.throws(() => parseConformance(['--gic', '4']), /--gic must be 2 or 3/);
  t.throws(() => parseConformance(['--kvm-mode', 'hvhe']), /--kvm-mode must be one of/);
  t.throws(() => parseConformance(['--profile', 'nope']), /unknown profile 'nope'/);
  t.throws(() => parseConformance(['--bogus']), /^unknown option '--bogus'$/);
  t.end();
});

t.test('the model answers every step of every scenario', (t) => {
  for (const gic of [2, 3] as const) {
    const all = loadScenarios(gic);
    const steps = all.reduce((n, s) => n + s.steps.length, 0);
    t.ok(steps >= 1000, `GICv${gic}: ${steps} steps (at least 1,000 per GIC version)`);
    const m = new ModelBackend({ profile: 'linux-7.2.13', hostGic: gic, vhe: true });
    const exits: string[] = [];
    for (const s of all) for (const st of s.steps) {
      const r = normalise(st, m.exec(st));
      if (r.startsWith('exit')) exits.push(`${s.name}: ${st.text}: ${r}`);
    }
    m.close();
    t.same(exits, [], `GICv${gic}: no step left the guest in an unexpected way`);
  }
  t.end();
});

t.test('model back end: the guest loop, UNDEF, the IRQ window and WFI', (t) => {
  const [s] = parseScenarios(
    'vm\nvcpu 0\ndevice v3\nset addr KVM_VGIC_V3_ADDR_TYPE_DIST GICD_BASE_GPA\nset addr KVM_VGIC_V3_ADDR_TYPE_REDIST GICR_BASE_GPA\n' +
      'init\nv0 r32 GICD_BASE_GPA+GICD_IIDR\nv0 r32 0x9000000\nv0 wfi\nv0 w32 GICD_BASE_GPA+GICD_CTLR 0x12\n' +
      'v0 msr ICC_PMR_EL1 0xf0\nv0 msr ICC_IGRPEN1_EL1 1\nv0 w32 GICD_BASE_GPA+GICD_ISENABLER+4 1\nirq_line spi 32 1\nv0 unmask\nv0 wfi\n' +
      'v0 mrs ICC_IAR1_EL1\nv0 mrs CNTFRQ_EL0\nv0 msr CNTVCT_EL0 0\nv0 r32 GICD_BASE_GPA\n',
    'm.scn',
    'm',
  );
  const m = new ModelBackend({ profile: 'linux-7.2.13', hostGic: 3, vhe: true });
  const out = s!.steps.map((st) => normalise(st, m.exec(st)));
  t.same(out, [
    'ok', 'ok', 'ok', 'ok', 'ok',
    'ok', '0x4b00343b', // the access starts the vCPU (first KVM_RUN), then reads
    'mmio-exit', // no device there: the access leaves the kernel
    'blocked', 'ok', 'ok', 'ok', 'ok', 'ok',
    'irq', 'wake', '0x20',
    `0x${EMULATED_CNTFRQ.toString(16)}`, // the arch timer (lib/vgic/arch-timer.ts)
    'undef', // CNTVCT_EL0 has no write encoding
    'dead', // and the vCPU is gone after an UNDEF in the model (the real guest carries on)
  ]);
  m.close();
  t.end();
});
