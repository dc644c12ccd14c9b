// Save plus restore of a GICv3 VM with 992 interrupts and 8 vCPUs through QEMU's sequence
// (lib/snapshot/vmm): the engine's cost per migration, device-attribute ioctls included.
// The VM first runs a seeded random guest workload so the state is not the reset one. Each run
// saves the source and restores into a fresh VM built the way QEMU builds it (built outside the
// timing). Also reported: save and restore alone (a restore includes its preflight reads and the
// backup of the destination: captureVgicState, also timed alone), writing + reading the YAML
// file, and reading the largest valid snapshot (512 vCPUs, 992 IRQs, every register).

import { layoutGlobals } from '../guests/vgic_actions.ts';
import { randomGuestActions, randomStateGlobals, vgicRandomStateGuest } from '../guests/vgic_random_state.ts';
import { UCALL_DONE } from '../lib/kvm/guest-abi.ts';
import { getUcall, syncGlobalToGuest, vcpuRun } from '../lib/host/kvm-util.ts';
import { seededRandom } from '../lib/host/threads.ts';
import { type VmmMachine, createVmmMachine } from '../lib/snapshot/vmm/machine.ts';
import { restoreVgic } from '../lib/snapshot/vmm/restore.ts';
import { captureVgicState } from '../lib/snapshot/vmm/backup.ts';
import { largestSnapshot } from '../test/support/snapshot.ts';
import { saveVgic } from '../lib/snapshot/vmm/save.ts';
import { parseSnapshotYaml, stringifySnapshot } from '../lib/snapshot/yaml-io.ts';
import { median, round } from './stats.ts';

const NR_IRQS = 992;
const NR_VCPUS = 8;
const WARMUP = 3;

export interface SnapshotBench {
  name: string;
  /** Per-run milliseconds: save + restore, save alone, restore alone, YAML write + parse (not in `total`). */
  totalMs: number[];
  saveMs: number[];
  restoreMs: number[];
  yamlRoundTripMs: number[];
  snapshotBytes: number;
  deviceAttrWritesPerRestore: number;
  /** captureVgicState of the destination alone: what the transactional restore adds (reads only). */
  captureMedianMs: number;
  /** restore / save, both measured in this process (the ratio does not depend on the machine's speed). */
  restoreOverSave: number;
  /** parseSnapshotYaml of the largest valid snapshot. */
  largestParseMedianMs: number;
  largestSnapshotBytes: number;
}

function machine(guest: boolean): VmmMachine {
  return createVmmMachine({ vmm: 'qemu', model: 'v3', nrVcpus: NR_VCPUS, nrIrqs: NR_IRQS, profile: 'series-p3', guestCode: guest ? vgicRandomStateGuest : null });
}

/** A source VM whose guests made 20..40 random GIC accesses each. */
function busySource(): VmmMachine {
  const m = machine(true);
  layoutGlobals.vgic_layout = { model: 'v3', ...m.layout };
  randomStateGlobals.vgic_actions = randomGuestActions(seededRandom(992), 'v3', NR_IRQS, NR_VCPUS, 20, 40);
  syncGlobalToGuest(m.vm, layoutGlobals, 'vgic_layout');
  syncGlobalToGuest(m.vm, randomStateGlobals, 'vgic_actions');
  for (const v of m.vcpus) {
    vcpuRun(v);
    if (getUcall(v).cmd !== UCALL_DONE) throw new Error(`bench guest failed: ${getUcall(v).buffer}`);
  }
  return m;
}

export async function benchSnapshot(runs = 11): Promise<SnapshotBench> {
  const src = busySource();
  const total: number[] = [];
  const saves: number[] = [];
  const restores: number[] = [];
  const yaml: number[] = [];
  const captures: number[] = [];
  let bytes = 0;
  let writes = 0;
  for (let i = 0; i < WARMUP + runs; i++) {
    const dst = machine(false);
    const t0 = performance.now();
    const s = saveVgic(src.handle, 'qemu');
    const t1 = performance.now();
    if (!s.ok) throw new Error(s.failure.message);
    const r = restoreVgic(dst.handle, 'qemu', s.snapshot);
    const t2 = performance.now();
    if (!r.ok) throw new Error(r.failure.message);
    const text = stringifySnapshot(s.snapshot);
    parseSnapshotYaml(text);
    const t3 = performance.now();
    captureVgicState(dst.handle);
    const t4 = performance.now();
    dst.dispose();
    if (i < WARMUP) continue;
    saves.push(t1 - t0);
    restores.push(t2 - t1);
    total.push(t2 - t0);
    yaml.push(t3 - t2);
    captures.push(t4 - t3);
    bytes = Buffer.byteLength(text);
    writes = r.writes;
  }
  src.dispose();
  const largest = stringifySnapshot(largestSnapshot());
  const parses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    parseSnapshotYaml(largest);
    parses.push(performance.now() - t0);
  }
  return {
    name: `snapshot save+restore, GICv3 ${NR_IRQS} IRQs ${NR_VCPUS} vCPUs, QEMU sequence`,
    totalMs: total,
    saveMs: saves,
    restoreMs: restores,
    yamlRoundTripMs: yaml,
    snapshotBytes: bytes,
    deviceAttrWritesPerRestore: writes,
    captureMedianMs: round(median(captures)),
    restoreOverSave: round(median(restores) / median(saves)),
    largestParseMedianMs: round(median(parses)),
    largestSnapshotBytes: Buffer.byteLength(largest),
  };
}

// Run alone: node --import=tsx bench/snapshot.bench.ts
if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchSnapshot(), null, 2));
