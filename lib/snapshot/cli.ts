// `vgic-harness snapshot save | restore | diff`: the snapshot workflow from the command line.
//   save     build a VM the way a VMM does, run a guest workload, save its vGIC to YAML
//   restore  restore a file into a fresh VM on another host-kernel profile and report what the
//            guest sees changed
//   diff     compare two snapshot files, like diff(1)
// lib/runner/main.ts dispatches `vgic-harness snapshot ...` here (snapshotCli); nothing here
// exits the process. Every usage error is one line naming the problem and pointing at --help.

import { readFile, stat, writeFile } from 'node:fs/promises';
import { DEFAULT_PROFILE_NAME, PROFILES, findProfile } from '../host/index.ts';
import { diffSnapshots, formatDiff, formatDiffLine } from './diff.ts';
import { MAX_SNAPSHOT_BYTES } from './limits.ts';
import {
  GIC_MODELS,
  IIDR_POLICIES,
  MAX_VCPUS,
  NR_IRQS_MAX,
  NR_IRQS_MIN,
  SnapshotError,
  VMM_STYLES,
  type GicModel,
  type IidrPolicy,
  type VgicSnapshot,
  type VmmStyle,
  describeThrown,
} from './schema.ts';
import { QEMU_VIRT_NR_IRQS } from './vmm/machine.ts';
import { FC_IRQ_MAX } from './vmm/firecracker-v3.ts';
import { saveVgic } from './vmm/save.ts';
import { WORKLOADS, type WorkloadChoice, WorkloadError, restoreInto, saveSource } from './workload.ts';
import { parseSnapshotYaml, stringifySnapshot } from './yaml-io.ts';

const PROG = 'vgic-harness snapshot';

export const USAGE = `usage: ${PROG} save [options] [-o FILE]
       ${PROG} restore FILE [options] [-o FILE]
       ${PROG} diff A.yaml B.yaml

save: build a VM the way the VMM does (vCPUs, then the vGIC with its addresses and nr_irqs),
run a guest workload on it, and save its vGIC with the VMM's sequence.
  --vmm qemu|firecracker    VMM whose machine and save/restore sequence to use (default qemu)
  --gic v2|v3               GIC model (default v3)
  --profile NAME            host-kernel profile (default $VGIC_PROFILE, else ${DEFAULT_PROFILE_NAME});
                            one of ${PROFILES.map((p) => p.name).join(', ')}
  --iidr POLICY             what the VMM does with GICD_IIDR on restore: none (QEMU and
                            Firecracker today), keep (save it, write it back first), rev1|rev2|rev3
                            (pin the revision); default none
  --vcpus N                 vCPUs (default 2)
  --nr-irqs N               interrupts (default: QEMU virt ${QEMU_VIRT_NR_IRQS}, Firecracker ${FC_IRQ_MAX})
  --workload NAME           state: groups, priorities, enables, pending, active, trigger, routing
                            and CPU interfaces (guests/vgic_state_workload.ts, default); groups:
                            SPIs 34 and 35 change group (the README's example); none: reset state
  -o, --output FILE         write the snapshot to FILE (default: stdout)

restore: build a fresh VM the way the snapshot's VMM does (same GIC model, vCPUs, nr_irqs) on
another profile, restore FILE into it, and report what changed. When FILE is what a workload
saves on the snapshot's profile (tried: state, groups), a guest on the new VM reads every
register the workload probed and names those that differ from what the source guest read;
otherwise the VMM's view is reported (a save after the restore, compared with FILE).
  --profile NAME            destination profile (default $VGIC_PROFILE, else ${DEFAULT_PROFILE_NAME})
  --workload NAME           the workload that made FILE, instead of trying each
  -o, --output FILE         also save the destination after the restore to FILE (for diff)

diff: compare two snapshots (header fields, vCPUs, every saved register), one line per
difference, e.g. \`distributor GICD_IGROUPR1: 0x0000000c -> 0x00000000\`.

exit status: save: 0 saved, 1 the save failed; restore: 0 restored and nothing changed, 1 something
changed or a write failed (the destination is rolled back); diff: 0 identical, 1 different;
all: 2 trouble (bad arguments, an unreadable or invalid file, a snapshot refused before restoring).
Files: at most ${MAX_SNAPSHOT_BYTES} bytes of UTF-8 YAML; see the README for every limit.`;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const defaultIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** A usage error: one line, then a pointer to --help; exit 2. */
class UsageError extends Error {}
/** A file that cannot be read or written, or is not a snapshot; exit 2. */
class FileError extends Error {}

// --- options --------------------------------------------------------------------------------------

interface OptionSpec {
  readonly name: string;
  readonly short?: string;
}

interface Parsed {
  readonly values: Map<string, string>;
  readonly positionals: string[];
}

function parseOptions(argv: readonly string[], specs: readonly OptionSpec[]): Parsed {
  const values = new Map<string, string>();
  const positionals: string[] = [];
  const byName = new Map(specs.map((s) => [`--${s.name}`, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [`-${s.short}`, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = byName.get(flag) ?? byShort.get(flag);
    if (!spec) throw new UsageError(`unknown option '${flag}'`);
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    if (value === undefined) throw new UsageError(`option --${spec.name} needs a value`);
    if (values.has(spec.name)) throw new UsageError(`option --${spec.name} given twice`);
    values.set(spec.name, value);
  }
  return { values, positionals };
}

function choice<T extends string>(p: Parsed, name: string, allowed: readonly T[], fallback: T): T {
  const v = p.values.get(name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}; not ${JSON.stringify(v)}`);
  return v as T;
}

function integer(p: Parsed, name: string, lo: number, hi: number, fallback: number, rule = ''): number {
  const v = p.values.get(name);
  if (v === undefined) return fallback;
  const n = /^[0-9]{1,6}$/.test(v) ? Number(v) : NaN;
  if (!(n >= lo && n <= hi)) throw new UsageError(`--${name} must be an integer in ${lo}..${hi}${rule}; not ${JSON.stringify(v)}`);
  return n;
}

/** --profile, else $VGIC_PROFILE, else the newest; an unknown name is a usage error. */
function profileOption(p: Parsed): string {
  const fromEnv = process.env.VGIC_PROFILE;
  const name = p.values.get('profile') ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_PROFILE_NAME);
  if (!findProfile(name)) {
    const where = p.values.has('profile') ? '--profile' : '$VGIC_PROFILE';
    throw new UsageError(`${where}: unknown host-kernel profile ${JSON.stringify(name)} (known: ${PROFILES.map((x) => x.name).join(', ')})`);
  }
  return name;
}

// --- files ----------------------------------------------------------------------------------------

/** "cannot read file (ENOENT): no such file or directory" from a Node fs error. */
function fsReason(verb: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  let text = String((err as Error | null)?.message ?? err);
  if (code && text.startsWith(`${code}: `)) text = text.slice(code.length + 2);
  text = text.replace(/, [a-z]+ '.*'$/, ''); // the syscall and path: the path is printed already
  return `cannot ${verb} file${code ? ` (${code})` : ''}: ${text}`;
}

async function loadSnapshot(file: string): Promise<VgicSnapshot> {
  let bytes: Uint8Array;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new FileError('not a regular file');
    if (st.size > MAX_SNAPSHOT_BYTES) throw new FileError(`file is ${st.size} bytes; the limit is ${MAX_SNAPSHOT_BYTES}`);
    bytes = await readFile(file);
  } catch (err) {
    if (err instanceof FileError) throw err;
    throw new FileError(fsReason('read', err));
  }
  let text: string;
  try {
    // ignoreBOM: keep a byte order mark in the text, so that the reader (not the decoder)
    // decides about it and the API and the CLI refuse the same files the same way.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new FileError('not valid UTF-8 text');
  }
  try {
    return parseSnapshotYaml(text);
  } catch (err) {
    if (err instanceof SnapshotError) throw new FileError(err.message);
    throw err;
  }
}

async function writeText(file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text);
  } catch (err) {
    throw new FileError(fsReason('write', err));
  }
}

// --- commands -------------------------------------------------------------------------------------

const SAVE_OPTIONS: readonly OptionSpec[] = [
  { name: 'vmm' },
  { name: 'gic' },
  { name: 'profile' },
  { name: 'iidr' },
  { name: 'vcpus' },
  { name: 'nr-irqs' },
  { name: 'workload' },
  { name: 'output', short: 'o' },
];
const RESTORE_OPTIONS: readonly OptionSpec[] = [{ name: 'profile' }, { name: 'workload' }, { name: 'output', short: 'o' }];

const describeVm = (vmm: VmmStyle, model: GicModel, vcpus: number, nrIrqs: number): string =>
  `${vmm} GIC${model} VM (${vcpus} vCPU${vcpus === 1 ? '' : 's'}, ${nrIrqs} IRQs)`;

async function save(argv: readonly string[], io: CliIo): Promise<number> {
  const p = parseOptions(argv, SAVE_OPTIONS);
  if (p.positionals.length) throw new UsageError(`save takes no file argument (${JSON.stringify(p.positionals[0])}); use -o FILE`);
  const vmm = choice(p, 'vmm', VMM_STYLES, 'qemu');
  const model = choice(p, 'gic', GIC_MODELS, 'v3');
  const profile = profileOption(p);
  const iidrPolicy = choice<IidrPolicy>(p, 'iidr', IIDR_POLICIES, 'none');
  const nrVcpus = integer(p, 'vcpus', 1, MAX_VCPUS[model], 2, ` for GIC${model}`);
  const nrIrqs = integer(p, 'nr-irqs', NR_IRQS_MIN, NR_IRQS_MAX, vmm === 'qemu' ? QEMU_VIRT_NR_IRQS : FC_IRQ_MAX, ', a multiple of 32 (KVM_DEV_ARM_VGIC_GRP_NR_IRQS)');
  if (nrIrqs % 32) throw new UsageError(`--nr-irqs must be a multiple of 32 (KVM_DEV_ARM_VGIC_GRP_NR_IRQS); not ${nrIrqs}`);
  const workload = choice<WorkloadChoice>(p, 'workload', WORKLOADS, 'state');
  const output = p.values.get('output');

  let result: ReturnType<typeof saveSource>;
  try {
    result = saveSource({ vmm, model, profile, nrVcpus, nrIrqs, workload }, iidrPolicy);
  } catch (e) {
    io.stderr(`${PROG} save: ${e instanceof WorkloadError ? 'the guest workload failed' : 'the VM could not be built'}: ${describeThrown(e)}\n`);
    return 1;
  }
  if (!result.saved.ok) {
    io.stderr(`${PROG} save: ${result.saved.failure.message}\n`);
    return 1;
  }
  const text = stringifySnapshot(result.saved.snapshot);
  if (output === undefined) {
    io.stdout(text);
    return 0;
  }
  await writeText(output, text);
  io.stdout(`saved a ${describeVm(vmm, model, nrVcpus, nrIrqs)} on ${profile}, workload ${workload}, IIDR policy ${iidrPolicy}, to ${output}\n`);
  return 0;
}

/** Re-run `workload` on the snapshot's own profile; its observations count only if it saves the same file. */
function observationsFor(snap: VgicSnapshot, workload: WorkloadChoice): Readonly<Record<string, string>> | null {
  if (!findProfile(snap.source.profile)) return null;
  const vcpusAsBuilt = snap.vcpus.every((v, i) => v.id === i);
  if (!vcpusAsBuilt) return null;
  try {
    const { observed, saved } = saveSource(
      { vmm: snap.source.vmm, model: snap.model, profile: snap.source.profile, nrVcpus: snap.vcpus.length, nrIrqs: snap.nrIrqs, workload },
      snap.source.iidrPolicy,
    );
    return saved.ok && stringifySnapshot(saved.snapshot) === stringifySnapshot(snap) ? observed : null;
  } catch {
    return null;
  }
}

async function restore(argv: readonly string[], io: CliIo): Promise<number> {
  const p = parseOptions(argv, RESTORE_OPTIONS);
  if (p.positionals.length !== 1) throw new UsageError(p.positionals.length ? `restore takes one file, not ${p.positionals.length}` : 'restore needs the snapshot file to restore');
  const file = p.positionals[0]!;
  const profile = profileOption(p);
  const given = p.values.has('workload') ? choice<WorkloadChoice>(p, 'workload', WORKLOADS, 'state') : null;
  const output = p.values.get('output');
  const snap = await loadSnapshot(file).catch((e: unknown) => {
    throw e instanceof FileError ? new FileError(`${file}: ${e.message}`) : e;
  });

  // Which workload made the file: the one that, re-run on the file's profile, saves the same file.
  let workload: WorkloadChoice = 'none';
  let observed: Readonly<Record<string, string>> = {};
  for (const w of given ? [given] : (['state', 'groups'] as const)) {
    if (w === 'none') break;
    const seen = observationsFor(snap, w);
    if (seen) {
      workload = w;
      observed = seen;
      break;
    }
  }

  let d: ReturnType<typeof restoreInto>;
  try {
    d = restoreInto(snap, profile, workload, observed);
  } catch (e) {
    io.stderr(`${PROG} restore: ${e instanceof WorkloadError ? 'the checking guest failed' : 'the VM could not be built'}: ${describeThrown(e)}\n`);
    return 1;
  }
  try {
    const what = `${file} (${snap.source.vmm} sequence, saved on ${snap.source.profile}, IIDR policy ${snap.source.iidrPolicy})`;
    const vm = describeVm(snap.source.vmm, snap.model, snap.vcpus.length, snap.nrIrqs);
    if (!d.restore.ok) {
      const f = d.restore.failure;
      io.stderr(`${PROG} restore: ${f.reaction === 'refused' ? `${file} cannot be restored into a fresh ${vm} on ${profile}: ${f.step}: ${f.detail}` : f.message}\n`);
      return f.reaction === 'refused' ? 2 : 1;
    }
    io.stdout(`restored ${what} into a fresh ${vm} on ${profile}: ${d.restore.writes} writes\n`);
    const after = saveVgic(d.machine.handle, snap.source.vmm, { iidrPolicy: snap.source.iidrPolicy });
    if (!after.ok) {
      io.stderr(`${PROG} restore: the destination could not be saved again: ${after.failure.message}\n`);
      return 1;
    }
    let changed: boolean;
    if (workload !== 'none') {
      const lost = d.lost ?? [];
      const probed = Object.keys(observed).length;
      changed = lost.length > 0;
      const of = `of ${probed} probed by workload ${workload}`;
      io.stdout(
        changed
          ? `the guest sees ${lost.length} changed register${lost.length === 1 ? '' : 's'} (${of}; before: what the guest read on ${snap.source.profile}):\n${lost.map((n) => `  ${n}: ${observed[n]} -> ${d.now?.[n] ?? '?'}`).join('\n')}\n`
          : `the guest sees no changed register (${of})\n`,
      );
    } else {
      // No guest view: what the VMM reads back, against the file (the profile is expected to differ).
      const diffs = diffSnapshots(snap, after.snapshot).filter((x) => !(x.section === 'header' && x.register === 'source.profile'));
      changed = diffs.length > 0;
      const why = given === 'none' ? 'not asked for: --workload none' : `${file} is not what ${given ? `workload ${given}` : 'workload state or groups'} saves on ${snap.source.profile}`;
      io.stdout(
        `the guest view is not available (${why}); the VMM's view:\n` +
          (changed ? `${diffs.map((x) => `  ${formatDiffLine(x)}`).join('\n')}\n` : `  a save after the restore equals ${file}\n`),
      );
    }
    if (output !== undefined) {
      await writeText(output, stringifySnapshot(after.snapshot));
      io.stdout(`saved the destination to ${output}\n`);
    }
    return changed ? 1 : 0;
  } finally {
    d.machine.dispose();
  }
}

async function diff(argv: readonly string[], io: CliIo): Promise<number> {
  const p = parseOptions(argv, []);
  if (p.positionals.length !== 2) throw new UsageError(`diff needs two files, not ${p.positionals.length}`);
  const snaps: VgicSnapshot[] = [];
  for (const file of p.positionals) {
    try {
      snaps.push(await loadSnapshot(file));
    } catch (e) {
      if (e instanceof FileError) throw new FileError(`${file}: ${e.message}`);
      throw e;
    }
  }
  const diffs = diffSnapshots(snaps[0]!, snaps[1]!);
  if (diffs.length === 0) return 0;
  io.stdout(`${formatDiff(diffs)}\n`);
  return 1;
}

const COMMANDS: Readonly<Partial<Record<string, (argv: readonly string[], io: CliIo) => Promise<number>>>> = { save, restore, diff };

/** `vgic-harness snapshot ARGS`: the exit status; messages go to `io`. Never throws. */
export async function snapshotCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help' || rest.includes('--help') || rest.includes('-h')) {
    if (command === undefined) {
      io.stderr(`${PROG}: missing command: save, restore or diff (${PROG} --help for more)\n`);
      return 2;
    }
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  const where = run ? `${PROG} ${command}` : PROG;
  try {
    if (!run) throw new UsageError(`unknown command ${JSON.stringify(command)}: save, restore or diff`);
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`${where}: ${e.message} (${PROG} --help for more)\n`);
      return 2;
    }
    if (e instanceof FileError) {
      io.stderr(`${where}: ${e.message}\n`);
      return 2;
    }
    io.stderr(`${where}: internal error: ${describeThrown(e)}\n${String((e as Error | null)?.stack ?? '')}\n`);
    return 2;
  }
}
