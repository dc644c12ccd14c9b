import t from '../../test/tap.ts';
import { MISSING, diffSnapshots, formatDiff, formatDiffLine, type SnapshotDiff } from './diff.ts';
import { validateSnapshot, type VgicSnapshot } from './schema.ts';

function base(): VgicSnapshot {
  return validateSnapshot({
    vgicSnapshot: 1,
    source: { profile: 'series-p3', vmm: 'qemu', iidrPolicy: 'none' },
    model: 'v3',
    nrIrqs: 128,
    vcpus: [
      { id: 0, mpidr: '0x00000000' },
      { id: 1, mpidr: '0x00000001' },
    ],
    distributor: { GICD_CTLR: '0x00000052', GICD_IGROUPR1: '0x5a5a5a5a', GICD_IGROUPR2: '0xffffffff' },
    redistributors: { '0': { GICR_CTLR: '0x00000000' }, '1': { GICR_CTLR: '0x00000000' } },
    cpuInterfaces: { '0': { ICC_PMR_EL1: '0x00000000000000f0' }, '1': { ICC_PMR_EL1: '0x00000000000000f0' } },
    levelInfo: { spi: { LEVEL_INFO32: '0x00000000' } },
  });
}

/** A validated copy of base() after `edit` was applied to a plain clone. */
function edited(edit: (d: any) => void): VgicSnapshot {
  const d = JSON.parse(JSON.stringify(base()));
  edit(d);
  return validateSnapshot(d);
}

t.test('identical snapshots have no differences', (tt) => {
  tt.same(diffSnapshots(base(), base()), []);
  tt.equal(formatDiff([]), '');
  tt.end();
});

t.test('a changed distributor register', (tt) => {
  const b = edited((d) => (d.distributor.GICD_IGROUPR1 = '0x00000000'));
  const diffs = diffSnapshots(base(), b);
  tt.same(diffs, [{ section: 'distributor', register: 'GICD_IGROUPR1', a: '0x5a5a5a5a', b: '0x00000000' }]);
  tt.equal(formatDiff(diffs), 'distributor GICD_IGROUPR1: 0x5a5a5a5a -> 0x00000000');
  tt.end();
});

t.test('registers present on one side only are reported as missing', (tt) => {
  const b = edited((d) => {
    delete d.distributor.GICD_IGROUPR2;
    d.distributor.GICD_ISENABLER1 = '0x00000001';
  });
  const diffs = diffSnapshots(base(), b);
  tt.same(diffs, [
    { section: 'distributor', register: 'GICD_IGROUPR2', a: '0xffffffff', b: MISSING },
    { section: 'distributor', register: 'GICD_ISENABLER1', a: MISSING, b: '0x00000001' },
  ]);
  tt.equal(
    formatDiff(diffs),
    ['distributor GICD_IGROUPR2: 0xffffffff -> missing', 'distributor GICD_ISENABLER1: missing -> 0x00000001'].join('\n'),
  );
  tt.end();
});

t.test('header fields, vCPUs and per-vCPU sections, in a fixed order', (tt) => {
  const b = edited((d) => {
    d.source.profile = 'pre-groups';
    d.source.iidrPolicy = 'rev2';
    d.nrIrqs = 96;
    d.vcpus.pop();
    delete d.redistributors['1'];
    delete d.cpuInterfaces['1'];
    d.redistributors['0'].GICR_CTLR = '0x00000006';
    d.cpuInterfaces['0'].ICC_PMR_EL1 = '0x0000000000000000';
    d.levelInfo.spi.LEVEL_INFO32 = '0x00000001';
  });
  const diffs = diffSnapshots(base(), b);
  const lines = formatDiff(diffs).split('\n');
  tt.same(lines, [
    'source.profile: series-p3 -> pre-groups',
    'source.iidrPolicy: none -> rev2',
    'nrIrqs: 128 -> 96',
    'vcpus[1] mpidr: 0x00000001 -> missing',
    'redistributors[0] GICR_CTLR: 0x00000000 -> 0x00000006',
    'redistributors[1] GICR_CTLR: 0x00000000 -> missing',
    'cpuInterfaces[0] ICC_PMR_EL1: 0x00000000000000f0 -> 0x0000000000000000',
    'cpuInterfaces[1] ICC_PMR_EL1: 0x00000000000000f0 -> missing',
    'levelInfo[spi] LEVEL_INFO32: 0x00000000 -> 0x00000001',
  ]);
  tt.equal(diffs.length, lines.length, 'one line per difference');
  tt.same(diffs[4], { section: 'redistributors', vcpu: '0', register: 'GICR_CTLR', a: '0x00000000', b: '0x00000006' });
  tt.end();
});

t.test('a v2 against a v3 snapshot lists model and every section register', (tt) => {
  const v2 = validateSnapshot({
    vgicSnapshot: 1,
    source: { profile: 'series-p3', vmm: 'qemu', iidrPolicy: 'none' },
    model: 'v2',
    nrIrqs: 128,
    vcpus: [{ id: 0, mpidr: '0x00000000' }],
    distributor: { GICD_CTLR: '0x00000001' },
    bankedDistributor: { '0': { GICD_IGROUPR0: '0x00000000' } },
    cpuInterfaces: { '0': { GICC_PMR: '0x0000001f' } },
  });
  const lines = formatDiff(diffSnapshots(base(), v2)).split('\n');
  tt.ok(lines.includes('model: v3 -> v2'));
  tt.ok(lines.includes('distributor GICD_CTLR: 0x00000052 -> 0x00000001'));
  tt.ok(lines.includes('redistributors[0] GICR_CTLR: 0x00000000 -> missing'));
  tt.ok(lines.includes('bankedDistributor[0] GICD_IGROUPR0: missing -> 0x00000000'));
  tt.ok(lines.includes('cpuInterfaces[0] GICC_PMR: missing -> 0x0000001f'));
  tt.ok(lines.includes('levelInfo[spi] LEVEL_INFO32: 0x00000000 -> missing'));
  tt.end();
});

t.test('formatDiffLine formats each section kind', (tt) => {
  const d: SnapshotDiff = { section: 'header', register: 'source.vmm', a: 'qemu', b: 'firecracker' };
  tt.equal(formatDiffLine(d), 'source.vmm: qemu -> firecracker');
  tt.equal(
    formatDiffLine({ section: 'bankedDistributor', vcpu: '3', register: 'GICD_ITARGETSR0', a: '0x08080808', b: '0x01010101' }),
    'bankedDistributor[3] GICD_ITARGETSR0: 0x08080808 -> 0x01010101',
  );
  tt.end();
});
