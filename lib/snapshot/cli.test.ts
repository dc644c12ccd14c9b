// `vgic-harness snapshot save | restore | diff` (issue 9 item 9): the README's GICv2 IGROUPR-loss
// example from the command line alone, through the real program; then the CLI's answers to bad
// input (in process, through the same entry point main.ts calls).

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from '../../test/tap.ts';
import { USAGE, snapshotCli } from './cli.ts';
import { captureIo } from '../../test/support/snapshot.ts';
import { SnapshotError } from './schema.ts';
import { parseSnapshotYaml } from './yaml-io.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'vgic-harness.ts');

function vgicHarness(args: string[], cwd: string): { code: number | null; out: string; err: string } {
  const env = { ...process.env };
  delete env.VGIC_PROFILE;
  const r = spawnSync(process.execPath, ['--import=tsx', BIN, ...args], { cwd, encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const capture = captureIo;

t.test('the README example from the command line: save on series-p3, restore on v2-groups-flag, IGROUPR lost', (tt) => {
  const dir = tt.testdir({});
  const save = vgicHarness(['snapshot', 'save', '--vmm', 'qemu', '--gic', 'v2', '--iidr', 'none', '--profile', 'series-p3', '--workload', 'groups', '-o', 'a.yaml'], dir);
  tt.equal(save.code, 0, `save: ${save.err}`);
  tt.equal(save.out, 'saved a qemu GICv2 VM (2 vCPUs, 288 IRQs) on series-p3, workload groups, IIDR policy none, to a.yaml\n');
  tt.match(readFileSync(join(dir, 'a.yaml'), 'utf8'), /\n {2}GICD_IGROUPR1: "0x0000000c"\n/, 'the guest put SPIs 34 and 35 in group 1');

  const restore = vgicHarness(['snapshot', 'restore', 'a.yaml', '--profile', 'v2-groups-flag', '-o', 'b.yaml'], dir);
  tt.equal(restore.code, 1, `restore: something changed (${restore.err})`);
  tt.match(restore.out, /^restored a\.yaml \(qemu sequence, saved on series-p3, IIDR policy none\) into a fresh qemu GICv2 VM \(2 vCPUs, 288 IRQs\) on v2-groups-flag: \d+ writes\n/);
  tt.match(restore.out, /\nthe guest sees 1 changed register \(of 1 probed by workload groups; before: what the guest read on series-p3\):\n {2}GICD_IGROUPR1: 0x0000000c -> 0x00000000\nsaved the destination to b\.yaml\n$/);

  const diff = vgicHarness(['snapshot', 'diff', 'a.yaml', 'b.yaml'], dir);
  tt.equal(diff.code, 1, 'diff: different');
  tt.equal(diff.out, 'source.profile: series-p3 -> v2-groups-flag\ndistributor GICD_IGROUPR1: 0x0000000c -> 0x00000000\n');
  tt.equal(diff.err, '');
  tt.end();
});

t.test('restore on a kernel that keeps the groups: nothing changed, exit 0', async (tt) => {
  const dir = tt.testdir({});
  const io = capture();
  tt.equal(await snapshotCli(['save', '--gic', 'v2', '--profile', 'series-p3', '--workload', 'groups', '-o', join(dir, 'a.yaml')], io), 0);
  const r = capture();
  tt.equal(await snapshotCli(['restore', join(dir, 'a.yaml'), '--profile', 'series-p3'], r), 0, r.err);
  tt.match(r.out, /\nthe guest sees no changed register \(of 1 probed by workload groups\)\n$/);
  // A file no workload made: the VMM's view instead of the guest's.
  const text = readFileSync(join(dir, 'a.yaml'), 'utf8').replace('GICD_IGROUPR1: "0x0000000c"', 'GICD_IGROUPR1: "0x00000030"');
  writeFileSync(join(dir, 'edited.yaml'), text);
  const e = capture();
  tt.equal(await snapshotCli(['restore', join(dir, 'edited.yaml'), '--profile', 'v2-groups-flag'], e), 1);
  tt.match(e.out, /\nthe guest view is not available \(.*edited\.yaml is not what workload state or groups saves on series-p3\); the VMM's view:\n {2}distributor GICD_IGROUPR1: 0x00000030 -> 0x00000000\n$/);
  tt.end();
});

t.test('the usage names the real program; --help prints it whole', async (tt) => {
  for (const argv of [['--help'], ['help'], ['save', '--help'], ['restore', '-h']]) {
    const help = capture();
    tt.equal(await snapshotCli(argv, help), 0);
    tt.equal(help.out, `${USAGE}\n`);
  }
  tt.match(USAGE, /^usage: vgic-harness snapshot save \[options\] \[-o FILE\]\n {7}vgic-harness snapshot restore FILE/);
  tt.notMatch(USAGE, /vgic-snapshot/);
  tt.end();
});

t.test('usage errors: one line naming the problem and pointing at --help', async (tt) => {
  const cases: Array<[string[], string]> = [
    [['save', '--frobnicate'], "vgic-harness snapshot save: unknown option '--frobnicate' (vgic-harness snapshot --help for more)\n"],
    [['save', '--vmm'], 'vgic-harness snapshot save: option --vmm needs a value (vgic-harness snapshot --help for more)\n'],
    [['save', '--vmm', 'xen'], 'vgic-harness snapshot save: --vmm must be one of qemu, firecracker; not "xen" (vgic-harness snapshot --help for more)\n'],
    [['save', '--profile', 'nope'], 'vgic-harness snapshot save: --profile: unknown host-kernel profile "nope" (known: pre-groups, v2-groups-flag, iidr-noop, iidr-fix, series-p1, series-p3, linux-6.1.164, linux-6.12.43, linux-6.12.117, linux-7.2.13) (vgic-harness snapshot --help for more)\n'],
    [['save', '--nr-irqs', '100'], 'vgic-harness snapshot save: --nr-irqs must be a multiple of 32 (KVM_DEV_ARM_VGIC_GRP_NR_IRQS); not 100 (vgic-harness snapshot --help for more)\n'],
    [['save', '--gic', 'v2', '--vcpus', '9'], 'vgic-harness snapshot save: --vcpus must be an integer in 1..8 for GICv2; not "9" (vgic-harness snapshot --help for more)\n'],
    [['restore'], 'vgic-harness snapshot restore: restore needs the snapshot file to restore (vgic-harness snapshot --help for more)\n'],
    [['restore', 'a.yaml', '--workload', 'busy'], 'vgic-harness snapshot restore: --workload must be one of state, groups, none; not "busy" (vgic-harness snapshot --help for more)\n'],
    [['frob'], 'vgic-harness snapshot: unknown command "frob": save, restore or diff (vgic-harness snapshot --help for more)\n'],
  ];
  for (const [argv, err] of cases) {
    const io = capture();
    tt.equal(await snapshotCli(argv, io), 2, argv.join(' '));
    tt.equal(io.err, err);
    tt.equal(io.out, '');
  }
  tt.end();
});

t.test('a missing file says so once', async (tt) => {
  const dir = tt.testdir({});
  for (const argv of [['restore', join(dir, 'nope.yaml')], ['diff', join(dir, 'nope.yaml'), join(dir, 'nope.yaml')]]) {
    const io = capture();
    tt.equal(await snapshotCli(argv, io), 2);
    tt.equal(io.err, `vgic-harness snapshot ${argv[0]}: ${join(dir, 'nope.yaml')}: cannot read file (ENOENT): no such file or directory\n`);
  }
  tt.end();
});

t.test('the CLI and the API refuse the same files with the same message (BOMs, CR-only lines, nesting)', async (tt) => {
  const dir = tt.testdir({});
  const io = capture();
  tt.equal(await snapshotCli(['save', '--gic', 'v2', '--workload', 'none', '-o', join(dir, 'good.yaml')], io), 0);
  const good = readFileSync(join(dir, 'good.yaml'), 'utf8');
  const files: Array<[string, string]> = [
    ['two-boms.yaml', `\ufeff\ufeff${good}`],
    ['cr-only.yaml', good.replace(/\n/g, '\r')],
    ['nested.yaml', '['.repeat(1 << 20)],
  ];
  for (const [name, text] of files) {
    writeFileSync(join(dir, name), text);
    let api = '';
    try {
      parseSnapshotYaml(text);
    } catch (e) {
      if (e instanceof SnapshotError) api = e.message;
    }
    tt.not(api, '', `${name}: the API refuses it`);
    const cli = capture();
    tt.equal(await snapshotCli(['diff', join(dir, 'good.yaml'), join(dir, name)], cli), 2, `${name}: diff exits 2, not "identical"`);
    tt.equal(cli.err, `vgic-harness snapshot diff: ${join(dir, name)}: ${api}\n`, `${name}: the same message`);
  }
  // One BOM is accepted by both: the files are identical.
  writeFileSync(join(dir, 'one-bom.yaml'), `\ufeff${good}`);
  tt.equal(await snapshotCli(['diff', join(dir, 'good.yaml'), join(dir, 'one-bom.yaml')], capture()), 0);
  tt.end();
});
