import t from '../../test/tap.ts';
import { join } from 'node:path';
import { USAGE } from './cli.ts';
import { snapshotCli } from './diff-cli.ts';
import { captureIo } from '../../test/support/snapshot.ts';
import { type VgicSnapshot } from './schema.ts';
import { stringifySnapshot } from './yaml-io.ts';
import { GICD_IGROUPR, UCALL_DONE, getUcall, vcpuRun } from '../host/index.ts';
import { createVmmMachine } from './vmm/machine.ts';
import { restoreVgic } from './vmm/restore.ts';
import { saveVgic } from './vmm/save.ts';

function snap(igroupr1: string): VgicSnapshot {
  return {
    vgicSnapshot: 1,
    source: { profile: 'series-p3', vmm: 'firecracker', iidrPolicy: 'none' },
    model: 'v3',
    nrIrqs: 64,
    vcpus: [{ id: 0, mpidr: '0x00000000' }],
    distributor: { GICD_CTLR: '0x00000052', GICD_IGROUPR1: igroupr1 },
    redistributors: { '0': { GICR_CTLR: '0x00000000' } },
    cpuInterfaces: { '0': { ICC_SRE_EL1: '0x0000000000000007' } },
  };
}

const capture = captureIo;

t.test('diff of identical files exits 0 and prints nothing', async (tt) => {
  const dir = tt.testdir({ 'a.yaml': stringifySnapshot(snap('0x5a5a5a5a')), 'b.yaml': stringifySnapshot(snap('0x5a5a5a5a')) });
  const io = capture();
  tt.equal(await snapshotCli(['diff', join(dir, 'a.yaml'), join(dir, 'b.yaml')], io), 0);
  tt.equal(io.out, '');
  tt.equal(io.err, '');
});

t.test('diff of different files exits 1 and prints one line per difference', async (tt) => {
  const dir = tt.testdir({ 'a.yaml': stringifySnapshot(snap('0x5a5a5a5a')), 'b.yaml': stringifySnapshot(snap('0x00000000')) });
  const io = capture();
  tt.equal(await snapshotCli(['diff', join(dir, 'a.yaml'), join(dir, 'b.yaml')], io), 1);
  tt.equal(io.out, 'distributor GICD_IGROUPR1: 0x5a5a5a5a -> 0x00000000\n');
  tt.equal(io.err, '');
});

t.test('an invalid file exits 2 with a message naming the file and the reason', async (tt) => {
  const good = stringifySnapshot(snap('0x5a5a5a5a'));
  const dir = tt.testdir({
    'good.yaml': good,
    'bad-hex.yaml': good.replace('GICD_IGROUPR1: "0x5a5a5a5a"', 'GICD_IGROUPR1: 0x5a5a5a5a'),
    'alias.yaml': good.replace('GICD_CTLR: "0x00000052"', 'GICD_CTLR: &x "0x00000052"'),
    'binary.yaml': Buffer.from([0x76, 0x67, 0xff, 0xfe, 0x0a]),
  });
  const cases: Array<[string, RegExp]> = [
    ['bad-hex.yaml', /bad-hex\.yaml: distributor\.GICD_IGROUPR1: expected 0x \+ 8 hex digits/],
    ['alias.yaml', /alias\.yaml: distributor\.GICD_CTLR: YAML anchors are not allowed/],
    ['binary.yaml', /binary\.yaml: not valid UTF-8 text/],
    ['absent.yaml', /absent\.yaml: cannot read file \(ENOENT\): no such file or directory\n$/],
  ];
  for (const [file, re] of cases) {
    const io = capture();
    const code = await snapshotCli(['diff', join(dir, 'good.yaml'), join(dir, file)], io);
    tt.equal(code, 2, `${file}: exit 2`);
    tt.match(io.err, re);
    tt.match(io.err, /^vgic-harness snapshot diff: /);
    tt.equal(io.err.split('\n').length, 2, `${file}: one line`);
    tt.equal(io.out, '', `${file}: nothing on stdout`);
  }
  // The first argument is checked too, and a directory is not a snapshot.
  const io = capture();
  tt.equal(await snapshotCli(['diff', dir, join(dir, 'good.yaml')], io), 2);
  tt.match(io.err, /: not a regular file/);
});

t.test('bad arguments give one line naming the problem and exit 2; help exits 0', async (tt) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^vgic-harness snapshot: missing command: save, restore or diff \(vgic-harness snapshot --help for more\)\n$/],
    [['diff'], /^vgic-harness snapshot diff: diff needs two files, not 0 \(vgic-harness snapshot --help for more\)\n$/],
    [['diff', 'a.yaml'], /^vgic-harness snapshot diff: diff needs two files, not 1 /],
    [['diff', 'a', 'b', 'c'], /^vgic-harness snapshot diff: diff needs two files, not 3 /],
    [['cmp', 'a', 'b'], /^vgic-harness snapshot: unknown command "cmp": save, restore or diff /],
    [['diff', '--frobnicate', 'a', 'b'], /^vgic-harness snapshot diff: unknown option '--frobnicate' \(vgic-harness snapshot --help for more\)\n$/],
  ];
  for (const [argv, re] of cases) {
    const io = capture();
    tt.equal(await snapshotCli(argv, io), 2, `argv ${JSON.stringify(argv)}`);
    tt.match(io.err, re);
    tt.equal(io.out, '');
  }
  const io = capture();
  tt.equal(await snapshotCli(['--help'], io), 0);
  tt.equal(io.out, `${USAGE}\n`);
  tt.equal(io.err, '');
});

t.test('diff of two snapshots the engine produced: the IGROUPR a GICv2 QEMU migration drops', async (tt) => {
  // A guest on series-p3 puts SPIs 34-35 in group 1; QEMU's sequence saves it, restores it on a
  // v2-groups-flag kernel (userspace IGROUPR writes ignored without an IIDR write), saves again.
  const src = createVmmMachine({
    vmm: 'qemu',
    model: 'v2',
    nrVcpus: 1,
    profile: 'series-p3',
    guestCode: function* (g) {
      yield* g.writel(0x08000000 + GICD_IGROUPR + 4, 0x0000000c); // QEMU virt GIC_DIST
      yield* g.done();
    },
  });
  vcpuRun(src.vcpus[0]!);
  tt.equal(getUcall(src.vcpus[0]!).cmd, UCALL_DONE);
  const a = saveVgic(src.handle, 'qemu');
  const dst = createVmmMachine({ vmm: 'qemu', model: 'v2', nrVcpus: 1, profile: 'v2-groups-flag' });
  if (!a.ok) throw new Error(a.failure.message);
  tt.ok(restoreVgic(dst.handle, 'qemu', a.snapshot).ok);
  const b = saveVgic(dst.handle, 'qemu');
  if (!b.ok) throw new Error(b.failure.message);
  const dir = tt.testdir({ 'a.yaml': stringifySnapshot(a.snapshot), 'b.yaml': stringifySnapshot(b.snapshot) });
  const io = capture();
  tt.equal(await snapshotCli(['diff', join(dir, 'a.yaml'), join(dir, 'b.yaml')], io), 1);
  tt.equal(io.out, 'source.profile: series-p3 -> v2-groups-flag\ndistributor GICD_IGROUPR1: 0x0000000c -> 0x00000000\n');
  const same = capture();
  tt.equal(await snapshotCli(['diff', join(dir, 'a.yaml'), join(dir, 'a.yaml')], same), 0);
  tt.equal(same.out, '');
});
