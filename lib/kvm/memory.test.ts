// Guest physical memory: memslot errnos, little-endian accesses, and the routing of guest
// accesses (RAM, then the in-kernel vGIC frames, else an exit to userspace).

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  EEXIST,
  EINVAL,
  GICD_BASE_GVA,
  GICD_TYPER,
  KVM_EXIT_MMIO,
  UCALL_DONE,
  UCALL_NONE,
  __vmSetUserMemoryRegion,
  getUcall,
  gpaRead,
  gpaWrite,
  vcpuRun,
  vmCreateBarebones,
  vmCreateWithOneVcpu,
  vmUserspaceMemRegionAdd,
} from '../host/index.ts';
import { GuestMemory } from './memory.ts';

t.test('KVM_SET_USER_MEMORY_REGION errnos', (t) => {
  const vm = vmCreateBarebones();
  t.equal(__vmSetUserMemoryRegion(vm, 1, 0x40000000, 0x10000), 0, 'aligned slot accepted');
  t.equal(__vmSetUserMemoryRegion(vm, 2, 0x40000800, 0x1000), -EINVAL, 'unaligned base');
  t.equal(__vmSetUserMemoryRegion(vm, 2, 0x50000000, 0x800), -EINVAL, 'unaligned size');
  t.equal(__vmSetUserMemoryRegion(vm, -1, 0x50000000, 0x1000), -EINVAL, 'negative slot id');
  t.equal(__vmSetUserMemoryRegion(vm, 2, 0x4000f000, 0x2000), -EEXIST, 'overlap with slot 1');
  t.equal(__vmSetUserMemoryRegion(vm, 1, 0x60000000, 0x1000), -EINVAL, 'moving a slot');
  t.equal(__vmSetUserMemoryRegion(vm, 1, 0x40000000, 0), 0, 'size 0 deletes');
  t.equal(__vmSetUserMemoryRegion(vm, 2, 0x4000f000, 0x2000), 0, 'the range is free again');
  t.end();
});

t.test('little-endian loads and stores; unwritten pages read zero', (t) => {
  const m = new GuestMemory();
  t.equal(m.setRegion(0, 0x1000, 0x3000), 0);
  t.equal(m.read(0x1ffc, 8), 0n, 'fresh memory is zero');
  m.write(0x1ffc, 8, 0x1122334455667788n); // crosses a page boundary
  t.equal(m.read(0x1ffc, 4), 0x55667788);
  t.equal(m.read(0x2000, 4), 0x11223344);
  t.equal(m.read(0x1ffc, 1), 0x88);
  t.equal(m.read(0x1ffe, 2), 0x5566);
  t.same([...m.readBytes(0x1ffc, 8)], [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
  t.ok(m.isRam(0x3ff8, 8));
  t.notOk(m.isRam(0x3ffc, 8), 'an access running past the slot end is not RAM');
  t.end();
});

const RAM = 0x40000000;

function* ramGuest(g: Guest): GuestProgram {
  const v = yield* g.readl(RAM);
  yield* g.writel(RAM + 4, v + 1);
  yield* g.writeq(RAM + 8, 0xdeadbeefcafef00dn);
  const typer = yield* g.readl(GICD_BASE_GVA + GICD_TYPER);
  yield* g.assertEq(typer & 0x1f, 1); // the vGIC frame still answers (64 IRQs)
  yield* g.readl(0x10000000); // unbacked: an MMIO exit to userspace
  yield* g.done();
}

t.test('guest accesses: RAM, then vGIC frames, else KVM_EXIT_MMIO', (t) => {
  const { vm, vcpu } = vmCreateWithOneVcpu(ramGuest);
  vmUserspaceMemRegionAdd(vm, RAM, 1, 1);
  gpaWrite(vm, RAM, new Uint8Array([0x41, 0, 0, 0]));
  vcpuRun(vcpu);
  t.equal(getUcall(vcpu).cmd, UCALL_NONE, 'the unbacked read is not a ucall');
  t.equal(vcpu.exit.reason, KVM_EXIT_MMIO);
  t.same(vcpu.exit.mmio, { addr: 0x10000000, len: 4, isWrite: false, data: 0 });
  t.same([...gpaRead(vm, RAM + 4, 4)], [0x42, 0, 0, 0], 'the guest store reached RAM');
  t.same([...gpaRead(vm, RAM + 8, 8)], [0x0d, 0xf0, 0xfe, 0xca, 0xef, 0xbe, 0xad, 0xde]);
  vcpuRun(vcpu);
  t.equal(getUcall(vcpu).cmd, UCALL_DONE);
  t.throws(() => gpaRead(vm, 0x10000000, 4), /No vm physical memory/, 'host access outside RAM is a test failure');
  t.end();
});
