// Heap over many build/save/restore/free cycles: does a freed VM stay reachable?
//   node --expose-gc --import=tsx bench/snapshot-heap.ts [CYCLES] [--no-free]
// Each cycle builds a QEMU GICv3 source VM (2 vCPUs, 64 IRQs), saves it, builds a destination,
// restores into it, and frees both (VmmMachine.dispose -> kvm_vm_free). After a warm-up, the
// heap is measured after a full GC before and after CYCLES cycles. Prints one JSON line:
// { cycles, freed, heapGrowthBytes, bytesPerCycle, openFds, cpuMs }.
// lib/snapshot/lifetime.test.ts runs it with 1,000 cycles; the README quotes 10,000.

import { openFdCount } from '../lib/kvm/fd-table.ts';
import { createVmmMachine } from '../lib/snapshot/vmm/machine.ts';
import { restoreVgic } from '../lib/snapshot/vmm/restore.ts';
import { saveVgic } from '../lib/snapshot/vmm/save.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}
const cycles = Number(process.argv[2] ?? 10_000);
const free = !process.argv.includes('--no-free');
const WARMUP = 200;

function cycle(): void {
  const src = createVmmMachine({ vmm: 'qemu', model: 'v3', nrVcpus: 2, nrIrqs: 64, profile: 'series-p3' });
  const saved = saveVgic(src.handle, 'qemu');
  if (!saved.ok) throw new Error(saved.failure.message);
  const dst = createVmmMachine({ vmm: 'qemu', model: 'v3', nrVcpus: 2, nrIrqs: 64, profile: 'iidr-fix' });
  const r = restoreVgic(dst.handle, 'qemu', saved.snapshot);
  if (!r.ok) throw new Error(r.failure.message);
  if (free) {
    src.dispose();
    dst.dispose();
  }
}

for (let i = 0; i < WARMUP; i++) cycle();
gc();
const before = process.memoryUsage().heapUsed;
const fds = openFdCount();
const c0 = process.cpuUsage();
for (let i = 0; i < cycles; i++) cycle();
const c = process.cpuUsage(c0);
gc();
const growth = process.memoryUsage().heapUsed - before;
process.stdout.write(
  `${JSON.stringify({ cycles, freed: free, heapGrowthBytes: growth, bytesPerCycle: Math.round(growth / cycles), openFds: openFdCount() - fds, cpuMs: Math.round((c.user + c.system) / 1000) })}\n`,
);
