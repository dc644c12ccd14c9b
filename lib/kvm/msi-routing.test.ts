// MSIs through GSI routing and irqfd, with an ITS (issue 12 item 3): KVM_IRQ_ROUTING_MSI entries
// through KVM_SET_GSI_ROUTING (virt/kvm/irqchip.c: kvm_set_irq_routing, setup_routing_entry;
// vgic-irqfd.c: kvm_set_routing_entry), kvm_set_irq on an MSI GSI and kvm_set_msi (vgic-irqfd.c),
// and a signalled irqfd (virt/kvm/eventfd.c: irqfd_wakeup, irqfd_inject) with its atomic fast path
// (vgic-irqfd.c: kvm_arch_set_irq_inatomic -> vgic-its.c: vgic_its_inject_cached_translation).

import t from '../../test/tap.ts';
import {
  EBUSY,
  EINVAL,
  GITS_BASE_GPA,
  GITS_CMD_CLEAR,
  GITS_CMD_DISCARD,
  GITS_CTLR,
  GITS_TRANSLATER,
  ICC_EOIR1_EL1,
  ICC_IAR1_EL1,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_MSI_VALID_DEVID,
  type KvmIrqRoutingEntry,
  __kvmIrqfd,
  __kvmSignalMsi,
  _kvmGsiRoutingWrite,
  kvmMsi,
  kvmNewEventfd,
  u64,
  vcpuSetGuestCode,
  write,
} from '../host/index.ts';
import { GIC_V3, type Guest, type GuestProgram, gicInit } from '../guest/index.ts';
import { type ItsFix, cmds, itsVm } from '../../test/support/its.ts';
import { runUntilSync } from '../../test/support/vgic.ts';
import { EWOULDBLOCK, archSetIrqInatomic, kvmIrqMapGsi, kvmSetIrq, kvmSetMsi } from './irq-routing.ts';

const DB = GITS_BASE_GPA + GITS_TRANSLATER;

/** struct kvm_irq_routing_entry of type MSI: the doorbell, DeviceID and EventID (data). */
function msiEntry(gsi: number, devid: number, data: number, flags = KVM_MSI_VALID_DEVID, db = DB): KvmIrqRoutingEntry {
  return { gsi, type: KVM_IRQ_ROUTING_MSI, flags, u: { msi: { address_lo: db % 2 ** 32, address_hi: Math.floor(db / 2 ** 32), data, devid } } };
}
const irqchipEntry = (gsi: number, pin: number): KvmIrqRoutingEntry => ({ gsi, type: KVM_IRQ_ROUTING_IRQCHIP, flags: 0, u: { irqchip: { irqchip: 0, pin } } });
const setRouting = (f: ItsFix, entries: KvmIrqRoutingEntry[]): number => _kvmGsiRoutingWrite(f.vm, { nr: entries.length, flags: 0, entries });

/** Collections 0/1 on vCPUs 0/1; device 1: event 0 -> LPI 8192 (vCPU 0), event 1 -> LPI 8193 (vCPU 1). */
function mapped(): ItsFix {
  const f = itsVm({ nrVcpus: 2 });
  f.setProp(8192, 0xa1);
  f.setProp(8193, 0xa1);
  const r = [f.cmd(cmds.mapc(0, 0)), f.cmd(cmds.mapc(1, 1)), f.cmd(cmds.mapd(1)), f.cmd(cmds.mapti(1, 0, 8192, 0)), f.cmd(cmds.mapti(1, 1, 8193, 1))];
  if (r.some((x) => x !== 0)) throw new Error(`setup: ${r}`);
  return f;
}
const pending = (f: ItsFix, intid: number): boolean => f.vm.dist.lpis.get(intid)!.pendingLatch;
const clear = (f: ItsFix, ev: number): number => f.cmd(cmds.devEv(GITS_CMD_CLEAR, 1, ev));
const route = (f: ItsFix, gsi: number) => {
  const es = kvmIrqMapGsi(f.vm, gsi);
  if (es.length !== 1) throw new Error(`gsi ${gsi}: ${es.length} entries`);
  return es[0]!;
};

t.test('KVM_SET_GSI_ROUTING: MSI entries and their flags', (tt) => {
  const f = mapped();
  tt.equal(setRouting(f, [msiEntry(5, 1, 0)]), 0, 'KVM_MSI_VALID_DEVID: accepted');
  tt.equal(setRouting(f, [msiEntry(5, 1, 0, 0)]), 0, 'no flag: accepted (the ITS checks it at injection)');
  tt.equal(setRouting(f, [msiEntry(5, 1, 0, 2)]), -EINVAL, 'any other flag bit: EINVAL (kvm_set_irq_routing)');
  tt.equal(setRouting(f, [msiEntry(5, 1, 0, 0x80000001)]), -EINVAL, 'KVM_MSI_VALID_DEVID with another bit: EINVAL');
  tt.equal(setRouting(f, [msiEntry(5, 1, 0), msiEntry(5, 1, 1)]), -EINVAL, 'two MSIs on one GSI: EINVAL (setup_routing_entry: one to one)');
  tt.equal(setRouting(f, [irqchipEntry(5, 1), msiEntry(5, 1, 0)]), -EINVAL, 'an irqchip pin then an MSI on one GSI: EINVAL');
  tt.equal(setRouting(f, [msiEntry(5, 1, 0), irqchipEntry(5, 1)]), -EINVAL, 'an MSI then an irqchip pin on one GSI: EINVAL');
  tt.equal(setRouting(f, [msiEntry(4096, 1, 0)]), -EINVAL, 'gsi >= KVM_MAX_IRQ_ROUTES: EINVAL');
  tt.equal(setRouting(f, [msiEntry(4095, 1, 1), irqchipEntry(6, 2)]), 0, 'an MSI and an irqchip pin on different GSIs');
  const e = route(f, 4095);
  tt.same(
    { type: e.type, msi: e.msi },
    { type: KVM_IRQ_ROUTING_MSI, msi: { address_lo: DB, address_hi: 0, data: 1, devid: 1, flags: KVM_MSI_VALID_DEVID } },
    'kvm_set_routing_entry copies address, data, devid and the entry flags into the MSI',
  );
  tt.equal(kvmIrqMapGsi(f.vm, 5).length, 0, 'the last good table is in force: gsi 5 has no entry');
  tt.equal(setRouting(f, [msiEntry(5, 1, 0, 4)]), -EINVAL, 'a refused table...');
  tt.equal(kvmIrqMapGsi(f.vm, 4095).length, 1, '...changes nothing');
  tt.end();
});

t.test('kvm_set_irq / kvm_set_msi on an MSI GSI: 1 delivered, 0 blocked by the guest, -1 otherwise', (tt) => {
  const f = mapped();
  tt.equal(setRouting(f, [msiEntry(1, 1, 0), msiEntry(2, 1, 7), msiEntry(3, 1, 0, 0), msiEntry(4, 1, 0, KVM_MSI_VALID_DEVID, 0x10000000)]), 0);
  tt.equal(kvmSetIrq(f.vm, 1, false), -1, 'level 0: kvm_set_msi returns -1');
  tt.equal(pending(f, 8192), false, 'nothing injected');
  tt.equal(kvmSetIrq(f.vm, 1, true), 1, 'mapped event: delivered (1)');
  tt.equal(pending(f, 8192), true, 'LPI 8192 pending');
  tt.equal(kvmSetIrq(f.vm, 2, true), 0, 'unmapped event: blocked (0, E_ITS_INT_UNMAPPED_INTERRUPT)');
  tt.equal(kvmSetIrq(f.vm, 4, true), -1, 'doorbell outside the ITS: -EINVAL, so kvm_set_irq returns -1');
  tt.equal(kvmSetMsi(f.vm, route(f, 4).msi!, true), -EINVAL, 'kvm_set_msi itself: -EINVAL');
  tt.equal(kvmSetMsi(f.vm, route(f, 3).msi!, true), 1, 'no KVM_MSI_VALID_DEVID, but (1, 0) is cached: delivered from the cache');
  f.setReg(GITS_CTLR, 0); // disabling the ITS invalidates its cache
  tt.equal(kvmSetMsi(f.vm, route(f, 3).msi!, true), -EINVAL, 'not cached: no KVM_MSI_VALID_DEVID is -EINVAL (vgic_msi_to_its)');
  tt.equal(kvmSetMsi(f.vm, route(f, 1).msi!, true), -EBUSY, 'ITS disabled: -EBUSY');
  tt.equal(kvmSetIrq(f.vm, 1, true), -1, 'and kvm_set_irq returns -1');
  tt.equal(kvmSetIrq(f.vm, 99, true), -1, 'a GSI with no route: -1');
  tt.end();
});

t.test('kvm_arch_set_irq_inatomic on an MSI route: the translation cache only', (tt) => {
  const f = mapped();
  tt.equal(setRouting(f, [msiEntry(1, 1, 0), msiEntry(3, 1, 0, 0)]), 0);
  const e = route(f, 1);
  tt.equal(archSetIrqInatomic(f.vm, e, true), -EWOULDBLOCK, 'not cached yet: -EWOULDBLOCK (irqfd_inject takes over)');
  tt.equal(pending(f, 8192), false, 'nothing injected');
  tt.equal(__kvmSignalMsi(f.vm, kvmMsi(DB, 1, 0)), 1, 'a translated MSI fills the cache');
  tt.equal(clear(f, 0), 0, 'CLEAR (the cache stays)');
  tt.equal(archSetIrqInatomic(f.vm, e, false), -EWOULDBLOCK, 'level 0: -EWOULDBLOCK');
  tt.equal(archSetIrqInatomic(f.vm, e, true), 0, 'cached: injected in atomic context (0)');
  tt.equal(pending(f, 8192), true, 'LPI 8192 pending');
  tt.equal(clear(f, 0), 0, 'CLEAR');
  tt.equal(archSetIrqInatomic(f.vm, route(f, 3), true), 0, 'the cache ignores the flags: a route without KVM_MSI_VALID_DEVID hits it too');
  tt.equal(pending(f, 8192), true, 'LPI 8192 pending');
  tt.equal(f.cmd(cmds.devEv(GITS_CMD_DISCARD, 1, 0)), 0, 'DISCARD invalidates the cache');
  tt.equal(archSetIrqInatomic(f.vm, e, true), -EWOULDBLOCK, 'so the fast path misses');
  tt.end();
});

t.test('an irqfd on an MSI route: slow path first, then the cache; KVM_SET_GSI_ROUTING re-resolves it', (tt) => {
  const f = mapped();
  const efd = kvmNewEventfd();
  tt.equal(setRouting(f, [msiEntry(5, 1, 0)]), 0, 'gsi 5 -> MSI device 1 event 0');
  tt.equal(__kvmIrqfd(f.vm, 5, efd, 0), 0, 'irqfd on gsi 5');
  tt.equal(f.its.translationCache.size, 0, 'nothing cached');
  tt.equal(write(efd, u64(1), 8), 8, 'signal');
  tt.equal(pending(f, 8192), true, 'irqfd_inject -> kvm_set_irq -> kvm_set_msi: LPI 8192 pending');
  tt.equal(f.its.translationCache.size, 1, 'and its translation cached');
  tt.equal(clear(f, 0), 0, 'CLEAR');
  tt.equal(write(efd, u64(1), 8), 8, 'signal again');
  tt.equal(pending(f, 8192), true, 'pending again (the atomic path)');
  tt.equal(setRouting(f, [msiEntry(5, 1, 1)]), 0, 'gsi 5 -> event 1');
  tt.equal(write(efd, u64(1), 8), 8, 'signal');
  tt.equal(pending(f, 8193), true, 'LPI 8193 (vCPU 1) pending: the irqfd follows the new route');
  tt.equal(setRouting(f, [msiEntry(5, 1, 7)]), 0, 'gsi 5 -> an unmapped event');
  tt.equal(clear(f, 0) + clear(f, 1), 0, 'CLEAR 8192 and 8193');
  tt.equal(write(efd, u64(1), 8), 8, 'the write succeeds even though the MSI is blocked');
  tt.equal(pending(f, 8192) || pending(f, 8193), false, 'nothing pending');
  tt.end();
});

t.test('an irqfd MSI reaches the guest: it acknowledges the LPI', (tt) => {
  const f = mapped();
  vcpuSetGuestCode(f.vcpus[0]!, function* (g: Guest): GuestProgram {
    yield* gicInit(g, GIC_V3, 2);
    yield* g.sync(0);
    for (let i = 0; i < 3; i++) {
      const intid = Number(yield* g.readSysreg(ICC_IAR1_EL1));
      if (intid !== 1023) yield* g.writeSysreg(ICC_EOIR1_EL1, intid);
      yield* g.sync(intid);
    }
    yield* g.done();
  });
  const efd = kvmNewEventfd();
  tt.equal(setRouting(f, [msiEntry(9, 1, 0)]), 0);
  tt.equal(__kvmIrqfd(f.vm, 9, efd, 0), 0);
  tt.equal(runUntilSync(f.vcpus[0]!), 0, 'guest GIC initialised');
  tt.equal(write(efd, u64(1), 8), 8, 'signal (translated)');
  tt.equal(runUntilSync(f.vcpus[0]!), 8192, 'the guest takes LPI 8192');
  tt.equal(write(efd, u64(1), 8), 8, 'signal (cached)');
  tt.equal(runUntilSync(f.vcpus[0]!), 8192, 'and again');
  tt.equal(runUntilSync(f.vcpus[0]!), 1023, 'once per signal');
  tt.end();
});
