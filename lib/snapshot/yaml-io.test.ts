import type { Test } from 'tap';
import t from '../../test/tap.ts';
import { SnapshotError, type VgicSnapshot } from './schema.ts';
import { MAX_SNAPSHOT_BYTES, parseSnapshotYaml, stringifySnapshot } from './yaml-io.ts';

function v3(): VgicSnapshot {
  return {
    vgicSnapshot: 1,
    source: { profile: 'series-p3', vmm: 'qemu', iidrPolicy: 'none' },
    model: 'v3',
    nrIrqs: 128,
    vcpus: [
      { id: 0, mpidr: '0x00000000' },
      { id: 1, mpidr: '0x00000100' },
    ],
    distributor: {
      GICD_CTLR: '0x00000052',
      GICD_STATUSR: '0xffffffff',
      GICD_IGROUPR1: '0x5a5a5a5a',
      GICD_ISENABLER1: '0x00000001',
      GICD_IROUTER32: '0x0000000000000100',
    },
    redistributors: {
      '0': { GICR_CTLR: '0x00000000', GICR_PROPBASER: '0x0000000040000f0f', GICR_IGROUPR0: '0xffffffff' },
      '1': { GICR_CTLR: '0x00000001', GICR_IGROUPR0: '0xffffffff' },
    },
    cpuInterfaces: {
      '0': { ICC_SRE_EL1: '0x0000000000000007', ICC_CTLR_EL1: '0x0000000000000400', ICC_PMR_EL1: '0x00000000000000f0' },
      '1': { ICC_SRE_EL1: '0x0000000000000007' },
    },
    levelInfo: { '0': { LEVEL_INFO0: '0x00000000' }, spi: { LEVEL_INFO32: '0x00000002' } },
  };
}

function v2(): VgicSnapshot {
  return {
    vgicSnapshot: 1,
    source: { profile: 'pre-groups', vmm: 'qemu', iidrPolicy: 'rev2' },
    model: 'v2',
    nrIrqs: 64,
    vcpus: [
      { id: 0, mpidr: '0x00000000' },
      { id: 1, mpidr: '0x00000001' },
    ],
    distributor: { GICD_CTLR: '0x00000001', GICD_IIDR: '0x0100243b', GICD_IGROUPR1: '0xffff0000' },
    bankedDistributor: {
      '0': { GICD_IGROUPR0: '0x0000ffff', GICD_ITARGETSR0: '0x01010101' },
      '1': { GICD_IGROUPR0: '0x00000000', GICD_ITARGETSR0: '0x02020202' },
    },
    cpuInterfaces: { '0': { GICC_CTLR: '0x00000003', GICC_PMR: '0x0000001f' }, '1': { GICC_CTLR: '0x00000000' } },
  };
}

const GOOD_TEXT = stringifySnapshot(v3());

function refuses(tt: Test, text: string, re: RegExp): void {
  let caught: unknown;
  try {
    parseSnapshotYaml(text);
  } catch (err) {
    caught = err;
  }
  tt.ok(caught instanceof SnapshotError, `SnapshotError thrown (${re})`);
  tt.match((caught as Error | undefined)?.message ?? '', re);
}

t.test('canonical output: fixed field order, every string double-quoted', (tt) => {
  const text = stringifySnapshot(v3());
  const lines = text.split('\n');
  tt.equal(lines[0], 'vgicSnapshot: 1');
  tt.same(
    lines.filter((l) => /^[a-zA-Z]/.test(l)).map((l) => l.split(':')[0]),
    ['vgicSnapshot', 'source', 'model', 'nrIrqs', 'vcpus', 'distributor', 'redistributors', 'cpuInterfaces', 'levelInfo'],
  );
  tt.match(text, /\n {2}GICD_CTLR: "0x00000052"\n/);
  tt.match(text, /\n {2}GICD_IROUTER32: "0x0000000000000100"\n/);
  tt.match(text, /\n {2}"0":\n {4}GICR_CTLR: "0x00000000"\n/);
  tt.match(text, /\n {4}mpidr: "0x00000100"\n/);
  tt.match(text, /\nmodel: "v3"\nnrIrqs: 128\n/);
  tt.notMatch(text, /: 0x/, 'no unquoted hex anywhere');
  tt.ok(text.endsWith('\n'));
  // Register order is the producer's order, not sorted.
  tt.ok(text.indexOf('GICD_STATUSR') < text.indexOf('GICD_IGROUPR1'));
  tt.ok(text.indexOf('ICC_SRE_EL1') < text.indexOf('ICC_CTLR_EL1'));
  tt.end();
});

t.test('round trip: stringify -> parse -> stringify is byte-identical', (tt) => {
  for (const [name, snap] of [['v3', v3()], ['v2', v2()]] as const) {
    const first = stringifySnapshot(snap);
    const parsed = parseSnapshotYaml(first);
    tt.same(JSON.parse(JSON.stringify(parsed)), JSON.parse(JSON.stringify(snap)), `${name}: parse gives back the data`);
    const second = stringifySnapshot(parsed);
    tt.equal(second, first, `${name}: byte-identical`);
    tt.equal(stringifySnapshot(parseSnapshotYaml(second)), first, `${name}: stable on a third pass`);
  }
  tt.end();
});

t.test('parse accepts comments, document start marker and hand-written quoting', (tt) => {
  const text = `# saved by a test\n---\n${GOOD_TEXT.replace('GICD_CTLR: "0x00000052"', "GICD_CTLR: '0x00000052' # single quotes")}`;
  const s = parseSnapshotYaml(text);
  tt.equal(s.distributor.GICD_CTLR, '0x00000052');
  tt.end();
});

t.test('stringify refuses an invalid snapshot', (tt) => {
  const bad = v3() as unknown as Record<string, any>;
  bad.distributor.GICD_CTLR = '0x52';
  tt.throws(() => stringifySnapshot(bad as VgicSnapshot), { name: 'SnapshotError', message: /distributor\.GICD_CTLR: expected 0x \+ 8 hex digits/ });
  tt.end();
});

t.test('refuses aliases and anchors (billion laughs)', (tt) => {
  const bomb = [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
    'vgicSnapshot: 1',
  ].join('\n');
  refuses(tt, bomb, /anchors are not allowed \(&a\)/);
  // An alias of a register value inside an otherwise valid document.
  const alias = GOOD_TEXT.replace('GICD_CTLR: "0x00000052"', 'GICD_CTLR: &v "0x00000052"').replace(
    'GICD_STATUSR: "0xffffffff"',
    'GICD_STATUSR: *v',
  );
  refuses(tt, alias, /^distributor\.GICD_CTLR: YAML anchors are not allowed \(&v\)/);
  const aliasOnly = GOOD_TEXT.replace('GICD_STATUSR: "0xffffffff"', 'GICD_STATUSR: *v');
  refuses(tt, aliasOnly, /^distributor\.GICD_STATUSR: YAML aliases are not allowed \(\*v\)/);
  tt.end();
});

t.test('refuses duplicate keys at any level', (tt) => {
  refuses(tt, `${GOOD_TEXT}vgicSnapshot: 1\n`, /^vgicSnapshot: duplicate key \(line 39, column 1\)$/);
  const dupReg = GOOD_TEXT.replace('GICD_CTLR: "0x00000052"\n', 'GICD_CTLR: "0x00000052"\n  GICD_CTLR: "0x00000000"\n');
  refuses(tt, dupReg, /^distributor\.GICD_CTLR: duplicate key \(line 15, column 3\)$/);
  const dupQuoted = GOOD_TEXT.replace('GICD_CTLR: "0x00000052"\n', 'GICD_CTLR: "0x00000052"\n  "GICD_CTLR": "0x00000052"\n');
  refuses(tt, dupQuoted, /^distributor\.GICD_CTLR: duplicate key \(line 15, column 3\)$/);
  tt.end();
});

t.test('refuses multiple documents and empty input', (tt) => {
  refuses(tt, `${GOOD_TEXT}---\n${GOOD_TEXT}`, /expected exactly one YAML document, found 2/);
  refuses(tt, '', /no YAML document found/);
  refuses(tt, '# only a comment\n', /no YAML document found/);
  tt.end();
});

t.test('refuses tags and directives', (tt) => {
  refuses(tt, GOOD_TEXT.replace('GICD_CTLR: "0x00000052"', 'GICD_CTLR: !reg "0x00000052"'), /YAML warning treated as error TAG_RESOLVE_FAILED \(line 14, column 14\): Unresolved tag: !reg/);
  refuses(tt, GOOD_TEXT.replace('GICD_CTLR: "0x00000052"', 'GICD_CTLR: !!str 0x00000052'), /^distributor\.GICD_CTLR: explicit YAML tags are not allowed/);
  refuses(tt, GOOD_TEXT.replace('nrIrqs: 128', 'nrIrqs: !!int "128"'), /^nrIrqs: explicit YAML tags are not allowed/);
  refuses(tt, `%YAML 1.2\n---\n${GOOD_TEXT}`, /%YAML\) are not allowed/);
  refuses(tt, `%TAG !e! tag:example.com,2000:\n---\n${GOOD_TEXT}`, /%TAG directives are not allowed/);
  tt.end();
});

t.test('refuses non-mapping roots', (tt) => {
  refuses(tt, '- 1\n- 2\n', /the document root must be a mapping/);
  refuses(tt, '"vgicSnapshot"\n', /the document root must be a mapping/);
  refuses(tt, '42\n', /the document root must be a mapping/);
  tt.end();
});

t.test('refuses numbers where hex strings are expected', (tt) => {
  refuses(tt, GOOD_TEXT.replace('GICD_CTLR: "0x00000052"', 'GICD_CTLR: 0x00000052'), /^distributor\.GICD_CTLR: expected 0x \+ 8 hex digits.*got number 82 \(quote hex values in YAML\)/);
  refuses(tt, GOOD_TEXT.replace('mpidr: "0x00000000"', 'mpidr: 0x0'), /^vcpus\[0\]\.mpidr: expected 0x \+ 8 hex digits.*number 0/);
  refuses(tt, GOOD_TEXT.replace('GICD_CTLR: "0x00000052"', 'GICD_CTLR: 00000052'), /got number 52/);
  tt.end();
});

t.test('refuses non-string keys, complex keys and forbidden keys', (tt) => {
  refuses(tt, GOOD_TEXT.replace('\n  "0":\n    GICR_CTLR', '\n  0:\n    GICR_CTLR'), /^redistributors: mapping keys must be strings/);
  refuses(tt, `? [a, b]\n: 1\n${GOOD_TEXT}`, /mapping keys must be strings/);
  refuses(tt, `__proto__: {polluted: "yes"}\n${GOOD_TEXT}`, /^__proto__: forbidden key "__proto__"/);
  refuses(tt, GOOD_TEXT.replace('GICD_CTLR: "0x00000052"', 'constructor: "0x00000052"'), /^distributor\.constructor: forbidden key/);
  refuses(tt, GOOD_TEXT.replace('GICD_CTLR: "0x00000052"', '<<: {GICD_CTLR: "0x00000052"}'), /^distributor\[\"<<\"\]: not a register name/);
  tt.equal(({} as Record<string, unknown>).polluted, undefined);
  tt.end();
});

t.test('refuses YAML syntax errors and deep nesting', (tt) => {
  refuses(tt, 'vgicSnapshot: [1, 2\n', /YAML error/);
  refuses(tt, 'a:\n\tb: 1\n', /YAML error TAB_AS_INDENT/);
  refuses(tt, `x: ${'['.repeat(20)}${']'.repeat(20)}\n${GOOD_TEXT}`, /^YAML nested deeper than a snapshot at line 1, column 7 \(a snapshot nests at most 3 collections/);
  tt.end();
});

t.test('refuses oversized input before parsing', (tt) => {
  const padding = `# ${'x'.repeat(1022)}\n`.repeat(Math.ceil(MAX_SNAPSHOT_BYTES / 1024) + 1);
  refuses(tt, padding + GOOD_TEXT, new RegExp(`snapshot is \\d+ bytes; the limit is ${MAX_SNAPSHOT_BYTES}`));
  tt.throws(() => parseSnapshotYaml(GOOD_TEXT, 100), { name: 'SnapshotError', message: /the limit is 100$/ });
  tt.end();
});

t.test('validation errors from the schema surface unchanged', (tt) => {
  refuses(tt, GOOD_TEXT.replace('vgicSnapshot: 1', 'vgicSnapshot: 2'), /^vgicSnapshot: unsupported schema version number 2/);
  refuses(tt, GOOD_TEXT.replace('nrIrqs: 128', 'nrIrqs: 1024'), /^nrIrqs: 1024 is not accepted by KVM/);
  refuses(tt, GOOD_TEXT.replace('nrIrqs: 128', 'nrIrqs: 100'), /^nrIrqs: 100 is not accepted by KVM/);
  refuses(tt, GOOD_TEXT.replace('model: "v3"\n', 'model: "v3"\nextra: 1\n'), /^extra: unknown field/);
  refuses(tt, GOOD_TEXT.replace('  iidrPolicy: "none"\n', ''), /^source\.iidrPolicy: missing required field/);
  tt.end();
});
