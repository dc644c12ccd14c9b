// The guest's CPU interface (cpuif.ts) as userspace then sees it: a GICv2 guest's acknowledge on
// a GICv3 host records its active priority in ICH_AP1Rn for either group, which is what the
// CPU_REGS GICC_APRn view reads (vgic-mmio-v2.c: vgic_mmio_read_apr on a GICv3 host).

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  GICC_APR0,
  GICD_CTLR,
  GICD_IPRIORITYR,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GIC_CPU_CTRL,
  GIC_CPU_INTACK,
  GIC_CPU_PRIMASK,
} from '../host/index.ts';
import { V2_CPU_BASE, V2_DIST_BASE, cpuGet, hex, runGuest, v2Vm } from '../../test/support/vgic.ts';

const SPI = 40;

/** Enable SPI 40 (group 0, priority 0x80), make it pending, enable group 0 and acknowledge it. */
function* ackGroup0(g: Guest): GuestProgram {
  yield* g.writel(V2_DIST_BASE + GICD_CTLR, 1);
  yield* g.writeb(V2_DIST_BASE + GICD_IPRIORITYR + SPI, 0x80);
  yield* g.writel(V2_DIST_BASE + GICD_ISENABLER + 4, 1 << (SPI - 32));
  yield* g.writel(V2_DIST_BASE + GICD_ISPENDR + 4, 1 << (SPI - 32));
  yield* g.writel(V2_CPU_BASE + GIC_CPU_PRIMASK, 0xf0);
  yield* g.writel(V2_CPU_BASE + GIC_CPU_CTRL, 1); // EnableGrp0
  yield* g.sync(yield* g.readl(V2_CPU_BASE + GIC_CPU_INTACK));
  yield* g.done();
}

t.test('GICv2 guest: a group 0 acknowledge shows in GICC_APR0 through CPU_REGS', (t) => {
  const { fd, vcpus } = v2Vm({ guest: ackGroup0 });
  t.same(runGuest(vcpus[0]!), [SPI], 'GICC_IAR returned SPI 40');
  // Priority 0x80 with 5 priority bits is active-priority bit 0x80 >> 3 = 16.
  const apr = cpuGet(fd, 0, GICC_APR0);
  t.equal(apr.ret, 0);
  t.equal(hex(apr.value), hex(1 << 16), 'GICC_APR0 (ICH_AP1R0) has the active priority');
  t.end();
});
