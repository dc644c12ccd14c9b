// The ap_list rules of ap-list.ts as a guest and userspace meet them, one case each (vgic.c:
// vgic_queue_irq_unlock, vgic_prune_ap_list, vgic_target_oracle; vgic-mmio-v3.c:
// vgic_mmio_write_v3_misc). The random cross-check is cpuif-candidates.test.ts; the real-KVM
// evidence is scenarios/v3/flows.scn and scenarios/v2/flows.scn (v3-flow-level-spi,
// v3-flow-dist-reenable and their GICv2 twins).

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import { GICD_CTLR, GICD_IPRIORITYR, GICD_IROUTER, GICD_ISENABLER, GICD_ISPENDR, ICC_IAR1_EL1, ICC_IGRPEN1_EL1, ICC_PMR_EL1, vcpuSetGuestCode } from '../host/index.ts';
import { pruneApList } from './ap-list.ts';
import { V3_DIST_BASE, distSet, hex, runUntilSync, v3Vm } from '../../test/support/vgic.ts';

const SPI = 40;
const bit = 1 << (SPI - 32);

/** The guest's CPU interface and SPI 40 (priority 0x80), then IAR1 after each command userspace syncs. */
function* setup(g: Guest, dist = true): GuestProgram {
  if (dist) yield* g.writel(V3_DIST_BASE + GICD_CTLR, 0x12); // ARE | EnableGrp1A
  yield* g.writeb(V3_DIST_BASE + GICD_IPRIORITYR + SPI, 0x80);
  yield* g.writeSysreg(ICC_PMR_EL1, 0xf0);
  yield* g.writeSysreg(ICC_IGRPEN1_EL1, 1);
}

t.test('pruned while the distributor was off: enabling it again delivers nothing; ISENABLER requeues', (t) => {
  const { vcpus } = v3Vm({
    guest: function* (g: Guest): GuestProgram {
      yield* setup(g);
      yield* g.writel(V3_DIST_BASE + GICD_ISENABLER + 4, bit);
      yield* g.writel(V3_DIST_BASE + GICD_ISPENDR + 4, bit); // pending: queued on vCPU 0
      yield* g.writel(V3_DIST_BASE + GICD_CTLR, 0x10); // off (the write's exit pruned before it)
      yield* g.writel(V3_DIST_BASE + GICD_CTLR, 0x12); // on: this exit pruned SPI 40 first
      yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1)));
      yield* g.writel(V3_DIST_BASE + GICD_ISENABLER + 4, bit); // queues it again
      yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1)));
      yield* g.done();
    },
  });
  t.equal(runUntilSync(vcpus[0]!), 1023, 'GICD_CTLR 0 -> 1 around an exit: SPI 40 was pruned, IAR spurious');
  t.equal(runUntilSync(vcpus[0]!), SPI, 'a write to ISENABLER queues it: IAR 40');
  t.end();
});

t.test('no exit between GICD_CTLR off and on (userspace): nothing was pruned, the SPI is delivered', (t) => {
  const { fd, vcpus } = v3Vm({
    guest: function* (g: Guest): GuestProgram {
      yield* setup(g);
      yield* g.writel(V3_DIST_BASE + GICD_ISENABLER + 4, bit);
      yield* g.writel(V3_DIST_BASE + GICD_ISPENDR + 4, bit);
      yield* g.sync(0);
      yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1)));
      yield* g.done();
    },
  });
  t.equal(runUntilSync(vcpus[0]!), 0, 'SPI 40 pending and queued');
  t.equal(vcpus[0]!.vgic.apList.items.map((i) => i.intid).join(), String(SPI), 'on vCPU 0 list');
  t.equal(distSet(fd, GICD_CTLR, 0x10), 0, 'userspace: distributor off');
  t.equal(distSet(fd, GICD_CTLR, 0x12), 0, 'and on again, the vCPU never having run');
  t.equal(runUntilSync(vcpus[0]!), SPI, 'still on the list: delivered');
  t.end();
});

t.test('pending while the distributor is off: never queued, and enabling it queues nothing', (t) => {
  const { vcpus } = v3Vm({
    guest: function* (g: Guest): GuestProgram {
      yield* setup(g, false);
      yield* g.writel(V3_DIST_BASE + GICD_ISENABLER + 4, bit);
      yield* g.writel(V3_DIST_BASE + GICD_ISPENDR + 4, bit); // oracle: no vCPU (distributor off)
      yield* g.writel(V3_DIST_BASE + GICD_CTLR, 0x12);
      yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1)));
      yield* g.sync(yield* g.readl(V3_DIST_BASE + GICD_ISPENDR + 4));
      yield* g.writel(V3_DIST_BASE + GICD_ISPENDR + 4, bit); // queued now
      yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1)));
      yield* g.done();
    },
  });
  t.equal(runUntilSync(vcpus[0]!), 1023, 'IAR spurious');
  t.equal(hex(runUntilSync(vcpus[0]!)), hex(bit), 'yet GICD_ISPENDR shows it pending');
  t.equal(runUntilSync(vcpus[0]!), SPI, 'ISPENDR again: delivered');
  t.end();
});

t.test('a retarget moves a queued SPI only when the old vCPU prunes its list', (t) => {
  const { fd, vm, vcpus } = v3Vm({
    nrVcpus: 2,
    guest: function* (g: Guest): GuestProgram {
      yield* setup(g);
      yield* g.writel(V3_DIST_BASE + GICD_ISENABLER + 4, bit);
      yield* g.sync(0);
      yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1)));
      yield* g.done();
    },
  });
  t.equal(runUntilSync(vcpus[0]!), 0, 'vCPU 0 set up');
  // vCPU 1 only reads IAR1 after its own setup
  vcpuSetGuestCode(vcpus[1]!, function* (g: Guest): GuestProgram {
    yield* g.writeSysreg(ICC_PMR_EL1, 0xf0);
    yield* g.writeSysreg(ICC_IGRPEN1_EL1, 1);
    yield* g.sync(0);
    yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1)));
    yield* g.sync(Number(yield* g.readSysreg(ICC_IAR1_EL1)));
    yield* g.done();
  });
  t.equal(runUntilSync(vcpus[1]!), 0, 'vCPU 1 set up');
  t.equal(distSet(fd, GICD_ISPENDR + 4, bit), 0, 'userspace: SPI 40 pending, queued on vCPU 0');
  t.equal(distSet(fd, GICD_IROUTER + SPI * 8, 1), 0, 'IROUTER: to vCPU 1 (queues nothing)');
  t.equal(vcpus[0]!.vgic.apList.length, 1, 'still on vCPU 0 list');
  t.equal(runUntilSync(vcpus[1]!), 1023, 'vCPU 1: not on its list yet');
  pruneApList(vm.dist, vcpus[0]!.vgic); // vCPU 0 exits (a host tick, a trap)
  t.equal(vcpus[1]!.vgic.apList.length, 1, 'migrated to vCPU 1 list');
  t.equal(runUntilSync(vcpus[1]!), SPI, 'vCPU 1 takes it');
  t.end();
});
