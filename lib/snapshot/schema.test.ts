import type { Test } from 'tap';
import t from '../../test/tap.ts';
import {
  SnapshotError,
  lookupRegister,
  sortRegisterMap,
  validateSnapshot,
  type VgicSnapshotV2,
  type VgicSnapshotV3,
} from './schema.ts';

type Doc = Record<string, any>;

function v3Doc(): Doc {
  return {
    vgicSnapshot: 1,
    source: { profile: 'series-p3', vmm: 'qemu', iidrPolicy: 'none' },
    model: 'v3',
    nrIrqs: 128,
    vcpus: [
      { id: 0, mpidr: '0x00000000' },
      { id: 1, mpidr: '0x00000001' },
    ],
    distributor: {
      GICD_CTLR: '0x00000052',
      GICD_STATUSR: '0xffffffff',
      GICD_IGROUPR1: '0xffffffff',
      GICD_ISENABLER3: '0x00000000',
      GICD_ICFGR7: '0xaaaaaaaa',
      GICD_IPRIORITYR31: '0xa0a0a0a0',
      GICD_IROUTER32: '0x0000000000000001',
      GICD_IROUTER127: '0x0000000000000000',
    },
    redistributors: {
      '0': { GICR_CTLR: '0x00000000', GICR_PROPBASER: '0x0000000000000000', GICR_IGROUPR0: '0xffffffff', GICR_IPRIORITYR7: '0x00000000' },
      '1': { GICR_CTLR: '0x00000000', GICR_ICFGR1: '0x00000000' },
    },
    cpuInterfaces: {
      '0': { ICC_SRE_EL1: '0x0000000000000007', ICC_PMR_EL1: '0x00000000000000f0', ICC_AP1R0_EL1: '0x0000000000000000' },
      '1': { ICC_SRE_EL1: '0x0000000000000007' },
    },
    levelInfo: {
      '0': { LEVEL_INFO0: '0x00000000' },
      spi: { LEVEL_INFO32: '0x00000004', LEVEL_INFO96: '0x00000000' },
    },
  };
}

function v2Doc(): Doc {
  return {
    vgicSnapshot: 1,
    source: { profile: 'v2-groups-flag', vmm: 'firecracker', iidrPolicy: 'keep' },
    model: 'v2',
    nrIrqs: 64,
    vcpus: [{ id: 0, mpidr: '0x00000000' }],
    distributor: { GICD_CTLR: '0x00000001', GICD_IGROUPR1: '0x5a5a5a5a', GICD_ITARGETSR8: '0x01010101' },
    bankedDistributor: { '0': { GICD_IGROUPR0: '0x00000000', GICD_CPENDSGIR3: '0x00000000', GICD_IPRIORITYR7: '0x00000000' } },
    cpuInterfaces: { '0': { GICC_CTLR: '0x00000001', GICC_PMR: '0x0000001f', GICC_APR3: '0x00000000' } },
  };
}

/** Assert that validation fails with a SnapshotError whose message matches `re`. */
function refuses(tt: Test, doc: unknown, re: RegExp, path?: string): void {
  let caught: unknown;
  try {
    validateSnapshot(doc);
  } catch (err) {
    caught = err;
  }
  tt.ok(caught instanceof SnapshotError, `SnapshotError thrown (${re})`);
  tt.match((caught as Error | undefined)?.message ?? '', re);
  if (path !== undefined) tt.equal((caught as SnapshotError | undefined)?.path, path);
}

t.test('accepts a valid v3 document and returns a fresh deep copy', (tt) => {
  const doc = v3Doc();
  const s = validateSnapshot(doc) as VgicSnapshotV3;
  tt.equal(s.model, 'v3');
  tt.equal(s.nrIrqs, 128);
  tt.same(s.vcpus, doc.vcpus);
  tt.same({ ...s.distributor }, doc.distributor);
  tt.same({ ...s.redistributors['0'] }, doc.redistributors['0']);
  tt.same({ ...s.levelInfo?.spi }, doc.levelInfo.spi);
  tt.not(s, doc);
  tt.not(s.vcpus, doc.vcpus);
  tt.not(s.distributor, doc.distributor);
  tt.not(s.redistributors['0'], doc.redistributors['0']);
  // Mutating the input afterwards does not affect the validated copy.
  doc.distributor.GICD_CTLR = '0x00000000';
  doc.vcpus[0].id = 7;
  tt.equal(s.distributor.GICD_CTLR, '0x00000052');
  tt.equal(s.vcpus[0]?.id, 0);
  // Register maps keep the producer's order.
  tt.same(Object.keys(s.distributor), Object.keys(v3Doc().distributor));
  tt.same(Object.keys(s), ['vgicSnapshot', 'source', 'model', 'nrIrqs', 'vcpus', 'distributor', 'redistributors', 'cpuInterfaces', 'levelInfo']);
  tt.end();
});

t.test('accepts a valid v2 document; optional sections may be absent', (tt) => {
  const s = validateSnapshot(v2Doc()) as VgicSnapshotV2;
  tt.equal(s.model, 'v2');
  tt.equal(s.bankedDistributor?.['0']?.GICD_CPENDSGIR3, '0x00000000');
  tt.same(Object.keys(s), ['vgicSnapshot', 'source', 'model', 'nrIrqs', 'vcpus', 'distributor', 'bankedDistributor', 'cpuInterfaces']);
  const d = v2Doc();
  delete d.bankedDistributor;
  tt.equal(Object.hasOwn(validateSnapshot(d), 'bankedDistributor'), false);
  const d3 = v3Doc();
  delete d3.levelInfo;
  tt.equal(Object.hasOwn(validateSnapshot(d3), 'levelInfo'), false);
  tt.end();
});

t.test('refuses non-mapping and non-plain roots', (tt) => {
  refuses(tt, null, /expected a mapping, got null/, '');
  refuses(tt, [v3Doc()], /expected a mapping, got a list/);
  refuses(tt, 'vgicSnapshot: 1', /expected a mapping, got string/);
  refuses(tt, 42, /expected a mapping, got number 42/);
  class Fake {
    vgicSnapshot = 1;
  }
  refuses(tt, new Fake(), /plain mapping.*custom prototype/);
  refuses(tt, new Map([['vgicSnapshot', 1]]), /custom prototype/);
  tt.end();
});

t.test('refuses unknown or missing versions', (tt) => {
  for (const v of [2, 0, '1', 1.5, null]) {
    const d = v3Doc();
    d.vgicSnapshot = v;
    refuses(tt, d, /unsupported schema version/, 'vgicSnapshot');
  }
  const d = v3Doc();
  delete d.vgicSnapshot;
  refuses(tt, d, /vgicSnapshot: missing required field/);
  tt.end();
});

t.test('refuses missing fields', (tt) => {
  for (const key of ['source', 'model', 'nrIrqs', 'vcpus', 'distributor', 'cpuInterfaces', 'redistributors']) {
    const d = v3Doc();
    delete d[key];
    refuses(tt, d, new RegExp(`^${key}: missing required field`), key);
  }
  for (const key of ['profile', 'vmm', 'iidrPolicy']) {
    const d = v3Doc();
    delete d.source[key];
    refuses(tt, d, new RegExp(`^source\\.${key}: missing required field`));
  }
  const d = v3Doc();
  delete d.vcpus[1].mpidr;
  refuses(tt, d, /^vcpus\[1\]\.mpidr: missing required field/);
  tt.end();
});

t.test('refuses extra fields at every level', (tt) => {
  let d = v3Doc();
  d.comment = 'hi';
  refuses(tt, d, /^comment: unknown field/);
  d = v3Doc();
  d.source.kernel = '6.6';
  refuses(tt, d, /^source\.kernel: unknown field/);
  d = v3Doc();
  d.vcpus[0].name = 'cpu0';
  refuses(tt, d, /^vcpus\[0\]\.name: unknown field/);
  d = v3Doc();
  d.bankedDistributor = {};
  refuses(tt, d, /^bankedDistributor: unknown field/);
  d = v2Doc();
  d.redistributors = { '0': {} };
  refuses(tt, d, /^redistributors: unknown field/);
  d = v2Doc();
  d.levelInfo = {};
  refuses(tt, d, /^levelInfo: unknown field/);
  tt.end();
});

t.test('refuses wrong types and enum values', (tt) => {
  let d = v3Doc();
  d.nrIrqs = '128';
  refuses(tt, d, /^nrIrqs: expected an integer, got string/);
  d = v3Doc();
  d.vcpus = { id: 0 };
  refuses(tt, d, /^vcpus: expected a list/);
  d = v3Doc();
  d.vcpus[0].id = 0.5;
  refuses(tt, d, /^vcpus\[0\]\.id: expected an integer/);
  d = v3Doc();
  d.distributor = [];
  refuses(tt, d, /^distributor: expected a mapping, got a list/);
  d = v3Doc();
  d.model = 'v4';
  refuses(tt, d, /^model: expected one of v2, v3/);
  d = v3Doc();
  d.source.vmm = 'crosvm';
  refuses(tt, d, /^source\.vmm: expected one of qemu, firecracker/);
  d = v3Doc();
  d.source.iidrPolicy = 'rev4';
  refuses(tt, d, /^source\.iidrPolicy: expected one of none, keep, rev1, rev2, rev3/);
  for (const p of ['Patch3', '', 'a'.repeat(41), 'p 3', 7]) {
    d = v3Doc();
    d.source.profile = p;
    refuses(tt, d, /^source\.profile: expected 1\.\.40 characters/);
  }
  tt.end();
});

t.test('refuses hex values of the wrong width or form', (tt) => {
  const bad32: unknown[] = ['0x52', '0x0000000000000052', '0x0000005G', '0X00000052', '0x000000AB', 82, '00000052'];
  for (const v of bad32) {
    const d = v3Doc();
    d.distributor.GICD_CTLR = v;
    refuses(tt, d, /^distributor\.GICD_CTLR: expected 0x \+ 8 hex digits/, 'distributor.GICD_CTLR');
  }
  let d = v3Doc();
  d.distributor.GICD_CTLR = 82;
  refuses(tt, d, /got number 82 \(quote hex values in YAML\)/);
  d = v3Doc();
  d.distributor.GICD_IROUTER32 = '0x00000001';
  refuses(tt, d, /^distributor\.GICD_IROUTER32: expected 0x \+ 16 hex digits/);
  d = v3Doc();
  d.cpuInterfaces['0'].ICC_PMR_EL1 = '0x000000f0';
  refuses(tt, d, /^cpuInterfaces\.0\.ICC_PMR_EL1: expected 0x \+ 16 hex digits/);
  d = v3Doc();
  d.redistributors['0'].GICR_PROPBASER = '0x00000000';
  refuses(tt, d, /^redistributors\.0\.GICR_PROPBASER: expected 0x \+ 16/);
  d = v3Doc();
  d.vcpus[0].mpidr = 0;
  refuses(tt, d, /^vcpus\[0\]\.mpidr: expected 0x \+ 8 hex digits/);
  d = v2Doc();
  d.cpuInterfaces['0'].GICC_PMR = '0x000000000000001f';
  refuses(tt, d, /^cpuInterfaces\.0\.GICC_PMR: expected 0x \+ 8 hex digits/);
  tt.end();
});

t.test('refuses register names that do not belong to the section or are out of range', (tt) => {
  const cases: Array<[(d: Doc) => void, RegExp]> = [
    [(d) => (d.distributor.GICD_FOO = '0x00000000'), /^distributor\.GICD_FOO: unknown register/],
    [(d) => (d.distributor.GICR_CTLR = '0x00000000'), /^distributor\.GICR_CTLR: unknown register/],
    [(d) => (d.distributor.gicd_ctlr = '0x00000000'), /^distributor\.gicd_ctlr: not a register name/],
    [(d) => (d.distributor.GICD_ISENABLER4 = '0x00000000'), /index 4 out of range for GICD_ISENABLER with nrIrqs 128 \(valid: 1\.\.3\)/],
    [(d) => (d.distributor.GICD_IGROUPR0 = '0x00000000'), /index 0 out of range for GICD_IGROUPR/],
    [(d) => (d.distributor.GICD_IGROUPR01 = '0x00000000'), /unknown register/],
    [(d) => (d.distributor.GICD_IROUTER31 = '0x0000000000000000'), /index 31 out of range for GICD_IROUTER .*valid: 32\.\.127/],
    [(d) => (d.distributor.GICD_IROUTER128 = '0x0000000000000000'), /index 128 out of range/],
    [(d) => (d.distributor.GICD_ITARGETSR8 = '0x00000000'), /unknown register for distributor \(GIC v3\)/],
    [(d) => (d.redistributors['0'].GICR_IGROUPR1 = '0x00000000'), /index 1 out of range for GICR_IGROUPR/],
    [(d) => (d.redistributors['0'].GICR_IPRIORITYR8 = '0x00000000'), /index 8 out of range for GICR_IPRIORITYR/],
    [(d) => (d.cpuInterfaces['0'].ICC_AP0R4_EL1 = '0x0000000000000000'), /index 4 out of range for ICC_AP0R<n>_EL1/],
    [(d) => (d.cpuInterfaces['0'].GICC_PMR = '0x00000000'), /unknown register for cpuInterfaces \(GIC v3\)/],
    [(d) => (d.levelInfo['0'].LEVEL_INFO32 = '0x00000000'), /index 32 out of range/],
    [(d) => (d.levelInfo.spi.LEVEL_INFO33 = '0x00000000'), /index 33 out of range .*steps of 32/],
    [(d) => (d.levelInfo.spi.LEVEL_INFO128 = '0x00000000'), /index 128 out of range .*valid: 32\.\.96/],
  ];
  for (const [mutate, re] of cases) {
    const d = v3Doc();
    mutate(d);
    refuses(tt, d, re);
  }
  let d = v2Doc();
  d.distributor.GICD_IROUTER32 = '0x0000000000000000';
  refuses(tt, d, /^distributor\.GICD_IROUTER32: unknown register for distributor \(GIC v2\)/);
  d = v2Doc();
  d.bankedDistributor['0'].GICD_IGROUPR1 = '0x00000000';
  refuses(tt, d, /index 1 out of range for GICD_IGROUPR/);
  d = v2Doc();
  d.bankedDistributor['0'].GICD_SPENDSGIR4 = '0x00000000';
  refuses(tt, d, /index 4 out of range for GICD_SPENDSGIR/);
  tt.end();
});

t.test('nrIrqs follows the KVM rule (64..1023, multiple of 32 => max 992)', (tt) => {
  for (const nr of [32, 0, 96 + 1, 1000, 1024, -64]) {
    const d = v2Doc();
    d.nrIrqs = nr;
    refuses(tt, d, /^nrIrqs: .* is not accepted by KVM/, 'nrIrqs');
  }
  for (const nr of [64, 96, 992]) {
    const d = v2Doc();
    d.nrIrqs = nr;
    tt.equal(validateSnapshot(d).nrIrqs, nr, `nrIrqs ${nr} accepted`);
  }
  // Index ranges follow nrIrqs.
  const d = v3Doc();
  d.nrIrqs = 992;
  d.distributor.GICD_IROUTER991 = '0x0000000000000000';
  d.distributor.GICD_IPRIORITYR247 = '0x00000000';
  tt.equal(validateSnapshot(d).distributor.GICD_IROUTER991, '0x0000000000000000');
  const e = v3Doc();
  e.nrIrqs = 64;
  refuses(tt, e, /GICD_ISENABLER3: index 3 out of range .*nrIrqs 64 \(valid: 1\.\.1\)/);
  tt.end();
});

t.test('vCPU count, ids and MPIDRs are checked per model', (tt) => {
  let d = v3Doc();
  d.vcpus = [];
  refuses(tt, d, /^vcpus: GIC v3 needs 1\.\.512 vCPUs, got 0/);
  d = v2Doc();
  d.vcpus = Array.from({ length: 9 }, (_, i) => ({ id: i, mpidr: `0x0000000${i}` }));
  refuses(tt, d, /^vcpus: GIC v2 needs 1\.\.8 vCPUs, got 9/);
  d = v3Doc();
  d.vcpus = Array.from({ length: 513 }, (_, i) => ({ id: i, mpidr: `0x${i.toString(16).padStart(8, '0')}` }));
  refuses(tt, d, /^vcpus: GIC v3 needs 1\.\.512 vCPUs, got 513/);
  d = v3Doc();
  d.vcpus[1].id = 0;
  refuses(tt, d, /^vcpus\[1\]\.id: duplicate vCPU id 0/);
  d = v3Doc();
  d.vcpus[1].mpidr = '0x00000000';
  refuses(tt, d, /^vcpus\[1\]\.mpidr: duplicate MPIDR 0x00000000 \(also vCPU 0\)/);
  d = v2Doc();
  d.vcpus[0].id = 8;
  refuses(tt, d, /^vcpus\[0\]\.id: vCPU id 8 out of range 0\.\.7 for GIC v2/);
  d = v3Doc();
  d.vcpus[0].id = -1;
  refuses(tt, d, /out of range 0\.\.511/);
  tt.end();
});

t.test('per-vCPU sections must be keyed by listed vCPU ids', (tt) => {
  let d = v3Doc();
  d.redistributors['2'] = {};
  refuses(tt, d, /^redistributors\.2: vCPU 2 is not listed in vcpus/);
  d = v3Doc();
  delete d.redistributors['1'];
  refuses(tt, d, /^redistributors\.1: missing register map for this vCPU/);
  d = v3Doc();
  delete d.cpuInterfaces['0'];
  refuses(tt, d, /^cpuInterfaces\.0: missing register map/);
  d = v3Doc();
  d.redistributors['00'] = {};
  refuses(tt, d, /^redistributors\.00: key must be a vCPU id in decimal/);
  d = v3Doc();
  d.redistributors.spi = {};
  refuses(tt, d, /^redistributors\.spi: key must be a vCPU id in decimal$/);
  d = v3Doc();
  d.levelInfo.cpu0 = {};
  refuses(tt, d, /^levelInfo\.cpu0: key must be a vCPU id in decimal or "spi"/);
  d = v2Doc();
  d.bankedDistributor['3'] = {};
  refuses(tt, d, /^bankedDistributor\.3: vCPU 3 is not listed/);
  tt.end();
});

t.test('refuses prototype-polluting keys anywhere', (tt) => {
  const root = JSON.parse(JSON.stringify(v3Doc()).replace('"vgicSnapshot":1', '"__proto__":{"polluted":true},"vgicSnapshot":1'));
  refuses(tt, root, /^__proto__: forbidden key "__proto__"/);
  const inMap = JSON.parse(JSON.stringify(v3Doc()).replace('"GICD_CTLR"', '"__proto__"'));
  refuses(tt, inMap, /^distributor\.__proto__: forbidden key "__proto__"/);
  let d = v3Doc();
  d.source.constructor = 'x';
  refuses(tt, d, /^source\.constructor: forbidden key "constructor"/);
  d = v3Doc();
  d.redistributors['0'].prototype = '0x00000000';
  refuses(tt, d, /^redistributors\.0\.prototype: forbidden key "prototype"/);
  tt.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  tt.end();
});

t.test('refuses accessors, symbols and holes', (tt) => {
  let d = v3Doc();
  Object.defineProperty(d.distributor, 'GICD_TYPER', { get: () => '0x00000000', enumerable: true });
  refuses(tt, d, /^distributor\.GICD_TYPER: only plain enumerable data properties/);
  d = v3Doc();
  d.source[Symbol('x')] = 1;
  refuses(tt, d, /^source: symbol-keyed properties are not allowed/);
  d = v3Doc();
  Object.defineProperty(d, 'hidden', { value: 1, enumerable: false });
  refuses(tt, d, /^hidden: only plain enumerable data properties/);
  d = v3Doc();
  d.vcpus = [d.vcpus[0], , d.vcpus[1]];
  refuses(tt, d, /^vcpus\[1\]: missing list element/);
  tt.end();
});

t.test('SnapshotError carries path and reason', (tt) => {
  const d = v3Doc();
  d.distributor.GICD_CTLR = '0x1';
  try {
    validateSnapshot(d);
    tt.fail('should have thrown');
  } catch (err) {
    tt.ok(err instanceof SnapshotError);
    const e = err as SnapshotError;
    tt.equal(e.name, 'SnapshotError');
    tt.equal(e.path, 'distributor.GICD_CTLR');
    tt.match(e.reason, /^expected 0x \+ 8 hex digits/);
    tt.equal(e.message, `${e.path}: ${e.reason}`);
  }
  tt.end();
});

t.test('lookupRegister and sortRegisterMap give attribute offsets', (tt) => {
  tt.same(lookupRegister('distributor', 'v3', 128, 'GICD_ISENABLER1'), { name: 'GICD_ISENABLER1', offset: 0x104, width: 32 });
  tt.same(lookupRegister('distributor', 'v3', 128, 'GICD_IROUTER33'), { name: 'GICD_IROUTER33', offset: 0x6108, width: 64 });
  tt.same(lookupRegister('distributor', 'v3', 128, 'GICD_TYPER2'), { name: 'GICD_TYPER2', offset: 0xc, width: 32 });
  tt.same(lookupRegister('redistributors', 'v3', 128, 'GICR_IPRIORITYR7'), { name: 'GICR_IPRIORITYR7', offset: 0x1041c, width: 32 });
  // ICC_AP1R1_EL1 = KVM_DEV_ARM_VGIC_SYSREG(3, 0, 12, 9, 1) = 0xc649
  tt.same(lookupRegister('cpuInterfaces', 'v3', 128, 'ICC_AP1R1_EL1'), { name: 'ICC_AP1R1_EL1', offset: 0xc649, width: 64 });
  tt.same(lookupRegister('cpuInterfaces', 'v2', 128, 'GICC_APR2'), { name: 'GICC_APR2', offset: 0xd8, width: 32 });
  tt.same(lookupRegister('bankedDistributor', 'v2', 64, 'GICD_SPENDSGIR1'), { name: 'GICD_SPENDSGIR1', offset: 0xf24, width: 32 });
  const sorted = sortRegisterMap('distributor', 'v3', 128, {
    GICD_IROUTER32: '0x0000000000000000',
    GICD_ISENABLER1: '0x00000000',
    GICD_CTLR: '0x00000000',
    GICD_IGROUPR2: '0x00000000',
  });
  tt.same(Object.keys(sorted), ['GICD_CTLR', 'GICD_IGROUPR2', 'GICD_ISENABLER1', 'GICD_IROUTER32']);
  tt.throws(() => sortRegisterMap('distributor', 'v3', 128, { GICD_NOPE: '0x00000000' }), SnapshotError);
  tt.end();
});
