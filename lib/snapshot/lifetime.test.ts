// VM lifetime (issue 8 item 5): a freed VM closes its fds (later use is EBADF) and nothing
// process-wide keeps it reachable, so build/save/restore/free cycles hold the heap flat.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from '../../test/tap.ts';
import {
  EBADF,
  GICD_CTLR,
  type KvmVm,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  __kvmCreateDevice,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  __vmVcpuAdd,
  _kvmIrqLine,
  kvmVmFree,
  testDisableDefaultVgic,
  u32,
  vmCreateWithVcpus,
  vmGicFd,
} from '../host/index.ts';
import { openFdCount } from '../kvm/fd-table.ts';
import { createVmmMachine } from './vmm/machine.ts';
import { collectGarbage } from '../../test/support/snapshot.ts';

t.test('a disposed machine: its device fd is EBADF, the VM refuses ioctls', (t) => {
  const m = createVmmMachine({ vmm: 'qemu', model: 'v3', nrVcpus: 2, nrIrqs: 64 });
  const open = openFdCount();
  const b = u32();
  t.equal(__kvmDeviceAttrGet(m.gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_CTLR, b), 0, 'usable before');
  m.dispose();
  t.equal(openFdCount(), open - 1, 'its fd left the table');
  t.equal(__kvmDeviceAttrGet(m.gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_CTLR, b), -EBADF, 'get: EBADF');
  t.equal(__kvmDeviceAttrSet(m.gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_CTLR, b), -EBADF, 'set: EBADF');
  t.equal(__kvmHasDeviceAttr(m.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, 0), -EBADF, 'has: EBADF');
  t.equal(__kvmCreateDevice(m.vm, KVM_DEV_TYPE_ARM_VGIC_V3), -EBADF, 'KVM_CREATE_DEVICE on the freed VM: EBADF');
  t.equal(__vmVcpuAdd(m.vm, 5), -EBADF, 'KVM_CREATE_VCPU: EBADF');
  t.equal(_kvmIrqLine(m.vm, (1 << 24) | 40, 1), -EBADF, 'KVM_IRQ_LINE: EBADF');
  m.dispose();
  t.pass('dispose is idempotent');
  t.end();
});

t.test("kvmVmFree (kvm_vm_free) closes the default vGIC's fd and every other device fd", (t) => {
  testDisableDefaultVgic();
  const { vm } = vmCreateWithVcpus(1, null);
  const extra = __kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  t.ok(extra >= 0, 'a device created by the test');
  kvmVmFree(vm);
  t.equal(vmGicFd(vm), -1);
  t.equal(__kvmDeviceAttrGet(extra, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_CTLR, u32()), -EBADF, 'the test-created device fd is closed too');
  t.end();
});

t.test('a freed VM can be collected: nothing process-wide refers to it', async (t) => {
  const refs = ((): Array<WeakRef<object>> => {
    const freed = createVmmMachine({ vmm: 'firecracker', model: 'v2', nrVcpus: 2 });
    const kept = createVmmMachine({ vmm: 'firecracker', model: 'v2', nrVcpus: 2 });
    freed.dispose();
    return [new WeakRef(freed.vm), new WeakRef(kept.vm)];
  })();
  // A WeakRef keeps its target alive until the current job ends (ECMA-262 AddToKeptObjects).
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  t.equal(refs[0]!.deref(), undefined, 'the freed VM was garbage-collected');
  const kept = refs[1]!.deref() as KvmVm | undefined;
  t.not(kept, undefined, 'a VM that was not freed stays reachable through its open fd');
  kept?.free();
});

t.test('1,000 build/save/restore/free cycles hold the heap flat (bench/snapshot-heap.ts)', (t) => {
  const script = fileURLToPath(new URL('../../bench/snapshot-heap.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--expose-gc', '--import=tsx', script, '1000'], { encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, `the script ran (${r.stderr.trim()})`);
  const out = JSON.parse(r.stdout.trim()) as { cycles: number; heapGrowthBytes: number; bytesPerCycle: number; openFds: number; cpuMs: number };
  t.comment(`1000 cycles: heap ${out.heapGrowthBytes} bytes (${out.bytesPerCycle} per cycle), ${out.cpuMs} ms CPU`);
  // Without freeing, each cycle keeps two VMs (about 39 KB) reachable: 39 MB for 1,000 cycles.
  t.ok(out.heapGrowthBytes < 4 * 1024 * 1024, 'heap growth under 4 MB (JIT and caches, not VMs)');
  t.equal(out.openFds, 0, 'no fd left open');
  t.end();
});
