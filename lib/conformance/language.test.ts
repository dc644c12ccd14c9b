// The scenario language, its compilation for the real-KVM driver, and the raw-result parsing
// and normalisation both back ends share. No QEMU here.
import t from '../../test/tap.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { driverLine } from './compile.ts';
import { ScenarioError, evalExpr, parseScenarios } from './language.ts';
import { GUEST_OPCODES, GUEST_RAM_BASE, GUEST_RAM_SIZE, PORT_BASE } from './port.ts';
import { normalise, parseRaw } from './results.ts';
import { GUEST_SYSREGS, NATIVE_DIR, guestSysreg } from './sysregs.ts';

const one = (text: string) => parseScenarios(`vm\n${text}\n`, 'x.scn', 'x')[0]!.steps[1]!;

t.test('expressions: numbers, uapi names, left-to-right operators', (t) => {
  t.equal(evalExpr('0x10'), 16n);
  t.equal(evalExpr('42'), 42n);
  t.equal(evalExpr('GICD_BASE_GPA+GICD_IIDR'), 0x8020008n);
  t.equal(evalExpr('1<<32|0x10080'), 0x100010080n);
  t.equal(evalExpr('GICD_IROUTER+8*33'), BigInt((0x6000 + 8) * 33), 'no precedence: (0x6000+8)*33');
  t.equal(evalExpr('0-1'), 0xffffffffffffffffn, 'wraps to u64');
  t.equal(evalExpr('NO_SUCH_NAME'), null);
  t.equal(evalExpr('0x10+'), null);
  t.end();
});

t.test('every step kind compiles to the driver line native/driver.c reads', (t) => {
  t.equal(driverLine(one('vcpu 3')), 'C 3');
  t.equal(driverLine(parseScenarios('vm 36', 'x', 'x')[0]!.steps[0]!), 'V 36');
  t.equal(driverLine(one('device v3')), 'D 7 0');
  t.equal(driverLine(one('device v2 test')), 'D 5 1');
  t.equal(driverLine(one('device its')), 'D 8 0');
  t.equal(driverLine(one('set addr KVM_VGIC_V3_ADDR_TYPE_DIST 0x8000000')), 'S 0 0 0x2 0x8000000');
  t.equal(driverLine(one('get redist 1<<32|GICR_TYPER')), 'G 0 5 0x100000008 0x0');
  t.equal(driverLine(one('get addr KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION 1')), 'G 0 0 0x5 0x1');
  t.equal(driverLine(one('set its:addr KVM_VGIC_ITS_ADDR_TYPE 0x10000')), 'S 1 0 0x4 0x10000');
  t.equal(driverLine(one('setnull nr_irqs 0')), 'N 0 3 0x0');
  t.equal(driverLine(one('has sysregs ICC_PMR_EL1')), 'H 0 6 0xc230');
  t.equal(driverLine(one('init')), 'S 0 4 0x0 0x0');
  t.equal(driverLine(one('irq_line spi 33 1')), 'L 0x1000021 1');
  t.equal(driverLine(one('irq_line ppi 257 20 1')), 'L 0x12010014 1', 'vCPU 257: low byte 1, VCPU2 field 1');
  t.equal(driverLine(one('irq_line raw 0x10000 0')), 'L 0x10000 0');
  t.equal(driverLine(one('run 1')), 'R 1');
  t.equal(driverLine(one('v1 r32 GICD_BASE_GPA')), `A 1 0x${GUEST_OPCODES.r32.toString(16)} 0x8020000 0x0`);
  t.equal(driverLine(one('v0 w64 0x8026108 0x1')), 'A 0 0x8 0x8026108 0x1');
  const pmr = guestSysreg('ICC_PMR_EL1')!;
  t.equal(driverLine(one('v0 msr ICC_PMR_EL1 0xf0')), `A 0 0x${(GUEST_OPCODES.msr | (pmr.index << 8)).toString(16)} 0x0 0xf0`);
  t.equal(driverLine(one('v2 unmask')), 'A 2 0xb 0x0 0x0');
  t.equal(driverLine(one('v2 wfi')), 'A 2 0xc 0x0 0x0');
  t.end();
});

t.test('mistakes are refused with file:line', (t) => {
  const bad: [string, RegExp][] = [
    ['vm\nfrobnicate', /x\.scn:2: unknown step/],
    ['vm\nset bogus 0 0', /x\.scn:2: unknown group 'bogus'/],
    ['vm\nv0 r33 0', /unknown guest access 'r33'/],
    ['vm\nv0 mrs ICC_NOPE_EL1', /unknown system register/],
    ['vm\nv0 r32', /wrong number of arguments/],
    ['vm\nvcpu NOPE', /bad vCPU id 'NOPE'/],
    ['vcpu 0', /must start with 'vm'/],
    ['scenario a\nvm\nscenario a\nvm', /duplicate scenario name/],
    ['vm\nirq_line sgi 1 1', /irq_line takes spi, ppi or raw/],
    ['vm\ndevice v3 later', /expected 'test'/],
  ];
  for (const [text, re] of bad) t.throws(() => parseScenarios(text, 'x.scn', 'x'), re, text.replace(/\n/g, ' | '));
  t.ok(new ScenarioError('f', 1, 'm') instanceof Error);
  t.end();
});

t.test('comments, blank lines and several scenarios per file', (t) => {
  const s = parseScenarios('# head\n\nscenario a\nvm   # trailing\nvcpu 0\n\nscenario b\nvm\n', 'f.scn', 'f');
  t.same(s.map((x) => [x.name, x.steps.map((st) => `${st.line}:${st.text}`)]), [
    ['a', ['4:vm', '5:vcpu 0']],
    ['b', ['8:vm']],
  ]);
  t.equal(parseScenarios('vm\n', 'g.scn', 'g')[0]!.name, 'g', 'a file without `scenario` is one scenario named after it');
  t.end();
});

t.test('raw results: parsing the driver and normalising', (t) => {
  const r32 = one('v0 r32 0x8020008');
  const r8 = one('v0 r8 0x8020008');
  const w = one('v0 w32 0x8020008 1');
  t.equal(normalise(r32, parseRaw('guest 0x0 0x4b00343b')!), '0x4b00343b');
  t.equal(normalise(r8, parseRaw('guest 0x0 0x1ff')!), '0xff', 'a byte load shows its byte');
  t.equal(normalise(w, parseRaw('guest 0x0 0x0')!), 'ok');
  t.equal(normalise(r32, parseRaw('guest 0x102000000 0x0')!), 'undef', 'ESR EC 0 (unknown reason) is an UNDEF');
  t.equal(normalise(r32, parseRaw('guest 0x192000046 0x0')!), 'exception ec=0x24', 'a data abort names its EC');
  t.equal(normalise(r32, parseRaw('guest 0x206000000 0x0')!), 'exception vector 6');
  t.equal(normalise(one('v0 unmask'), parseRaw('guest 0x0 0x1')!), 'irq');
  t.equal(normalise(one('v0 unmask'), parseRaw('guest 0x0 0x0')!), 'none');
  t.equal(normalise(one('v0 wfi'), parseRaw('blocked 0x0 0x0')!), 'blocked');
  t.equal(normalise(one('v0 wfi'), parseRaw('guest 0x0 0x0')!), 'wake');
  t.equal(normalise(one('vcpu 1'), parseRaw('err 22')!), 'EINVAL');
  t.equal(normalise(one('vcpu 1'), parseRaw('err 200')!), 'E200');
  t.equal(normalise(one('get dist 0'), parseRaw('val 0x4b00343b')!), '0x4b00343b');
  t.equal(normalise(r32, parseRaw('mmio 0x9000000')!), 'mmio-exit');
  t.equal(normalise(r32, parseRaw('exit 17')!), 'exit 17');
  t.equal(normalise(r32, parseRaw('dead')!), 'dead');
  for (const junk of ['', 'val', 'val 12', 'err x', 'guest 0x0', 'bogus', 'mmio nope']) t.equal(parseRaw(junk), null, `'${junk}' is refused`);
  t.end();
});

t.test('the port and opcodes agree with native/conformance.h; sysregs.def with the model', (t) => {
  const h = readFileSync(join(NATIVE_DIR, 'conformance.h'), 'utf8');
  const def = (name: string): number => Number(new RegExp(`#define ${name}\\s+(0x[0-9a-f]+|\\d+)`, 'i').exec(h)![1]);
  t.equal(def('PORT_BASE'), PORT_BASE);
  t.equal(def('GUEST_RAM_BASE'), GUEST_RAM_BASE);
  t.equal(def('GUEST_RAM_SIZE'), GUEST_RAM_SIZE);
  for (const [op, code] of Object.entries(GUEST_OPCODES)) t.equal(def(`OP_${op.toUpperCase()}`), code, `OP_${op.toUpperCase()}`);
  t.equal(def('NR_SYSREGS'), GUEST_SYSREGS.length, 'NR_SYSREGS matches sysregs.def');
  t.equal(guestSysreg('icc_iar1_el1')?.encoding, (3 << 14) | (12 << 7) | (12 << 3), 'names are case-insensitive');
  t.end();
});
