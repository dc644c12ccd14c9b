// GICv2 distributor: reset values and behaviour, read by the guest (MMIO at the v2 dist frame) and
// by userspace (DIST_REGS, vCPU named in attr bits [39:32]). Expected values: reference §4.1 and
// kernel-facts §2.3/§3 (vgic-mmio-v2.c).

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  GICD_CPENDSGIR,
  GICD_CTLR,
  GICD_ICACTIVER,
  GICD_ICENABLER,
  GICD_ICFGR,
  GICD_ICPENDR,
  GICD_IGROUPR,
  GICD_IIDR,
  GICD_IPRIORITYR,
  GICD_ISACTIVER,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GICD_ITARGETSR,
  GICD_SGIR,
  GICD_SPENDSGIR,
  GICD_TYPER,
} from '../host/index.ts';
import { V2_DIST_BASE, hex, readerGuest, runGuest, v2DistGet, v2DistSet, v2Vm } from '../../test/support/vgic.ts';

const D = V2_DIST_BASE;

/** Reset values of a 64-IRQ, 1-vCPU GICv2 at revision 3, as vCPU 0 sees them. */
const RESET: ReadonlyArray<readonly [number, number, string]> = [
  [GICD_CTLR, 0, 'ref §4.1: Enable clear at reset'],
  [GICD_TYPER, 0x1, 'ref §4.1: ITLinesNumber 1 | (1 vCPU - 1) << 5'],
  [GICD_IIDR, 0x4b00343b, 'ref §4.1: same layout as v3, rev 3'],
  [0x00c, 0, 'kernel-facts §2.3: misc region is 12 bytes, 0x00C RAZ'],
  [GICD_IGROUPR, 0, 'ref §4.1: IGROUPR reset 0 (private word banked)'],
  [GICD_IGROUPR + 4, 0, 'ref §4.1: IGROUPR reset 0'],
  [GICD_ISENABLER, 0x0000ffff, 'ref §4.1: SGIs reset enabled'],
  [GICD_ICENABLER, 0x0000ffff, 'ref §4.1: ICENABLER reads the enables'],
  [GICD_ISENABLER + 4, 0, 'ref §5.1: SPIs disabled'],
  [GICD_ISPENDR, 0, 'ref §5.1: nothing pending'],
  [GICD_ICPENDR + 4, 0, 'ref §5.1: nothing pending'],
  [GICD_ISACTIVER, 0, 'ref §5.1: nothing active'],
  [GICD_ICACTIVER + 4, 0, 'ref §5.1: nothing active'],
  [GICD_IPRIORITYR, 0, 'ref §5.1: priority 0'],
  [GICD_IPRIORITYR + 32, 0, 'ref §5.1: priority 0'],
  [GICD_ITARGETSR, 0x01010101, 'ref §4.1: private ITARGETSR bytes = 1 << reader vCPU index'],
  [GICD_ITARGETSR + 28, 0x01010101, 'ref §4.1: private ITARGETSR bytes = 1 << reader vCPU index'],
  [GICD_ITARGETSR + 32, 0, 'kernel-facts §3: SPI targets reset 0'],
  [GICD_ICFGR, 0xaaaaaaaa, 'ref §4.1: SGIs edge (as v3)'],
  [GICD_ICFGR + 4, 0, 'ref §4.1: PPIs level (as v3)'],
  [GICD_ICFGR + 8, 0xaaaaaaaa, 'ref §5.1: SPIs reset edge'],
  [GICD_SGIR, 0, 'ref §4.1: SGIR write-only, RAZ'],
  [GICD_CPENDSGIR, 0, 'ref §4.1: no SGI sources'],
  [GICD_SPENDSGIR + 12, 0, 'ref §4.1: no SGI sources'],
  [0xfe8, 0, 'ref §4.1: ICPIDR2 / ID regs not implemented, RAZ'],
  [0xfd0, 0, 'ref §4.1: ID regs not implemented, RAZ'],
  [GICD_ISENABLER + 8, 0, 'kernel-facts §1: INTID 64 >= nr_irqs, RAZ'],
];

t.test('v2 distributor reset values, userspace and guest', (t) => {
  const { fd, vcpus } = v2Vm({ guest: readerGuest(RESET.map(([o]) => D + o)) });
  for (const [off, want, why] of RESET) {
    const r = v2DistGet(fd, 0, off);
    t.equal(r.ret, 0, `get 0x${off.toString(16)}`);
    t.equal(hex(r.value), hex(want), `userspace 0x${off.toString(16)}: ${why}`);
  }
  const got = runGuest(vcpus[0]!);
  RESET.forEach(([off, want, why], i) => t.equal(hex(got[i]!), hex(want), `guest 0x${off.toString(16)}: ${why}`));
  t.end();
});

t.test('GICD_TYPER carries the vCPU count', (t) => {
  // ref §4.1 / kernel-facts §3: (nr_irqs/32 - 1) | (online_vcpus - 1) << 5
  for (const [nrVcpus, nrIrqs, want] of [
    [1, 64, 0x01],
    [2, 128, 0x23],
    [4, 64, 0x61],
    [8, 992, 0xfe],
  ] as const) {
    const { fd, vcpus } = v2Vm({ nrVcpus, nrIrqs, guest: readerGuest([D + GICD_TYPER]) });
    t.equal(hex(v2DistGet(fd, 0, GICD_TYPER).value), hex(want), `userspace TYPER, ${nrVcpus} vCPUs, ${nrIrqs} IRQs`);
    t.equal(hex(runGuest(vcpus[nrVcpus - 1]!)[0]!), hex(want), `guest TYPER, ${nrVcpus} vCPUs, ${nrIrqs} IRQs`);
  }
  t.end();
});

t.test('private ITARGETSR bytes name the reading vCPU', (t) => {
  const { fd, vcpus } = v2Vm({ nrVcpus: 3, guest: readerGuest([D + GICD_ITARGETSR, D + GICD_ITARGETSR + 16]) });
  // ref §4.1: words 0-7 RO, each byte = 1 << vcpu_index of the reader
  for (const [i, want] of [
    [0, 0x01010101],
    [1, 0x02020202],
    [2, 0x04040404],
  ] as const) {
    t.equal(hex(v2DistGet(fd, i, GICD_ITARGETSR).value), hex(want), `userspace via vCPU ${i}`);
    t.same(runGuest(vcpus[i]!).map(hex), [want, want].map(hex), `guest on vCPU ${i}`);
  }
  t.end();
});

t.test('ITARGETSR writes: SPIs masked to online vCPUs, private words RO', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(D + GICD_ITARGETSR + 32, 0xff02fd04);
    yield* g.sync(yield* g.readl(D + GICD_ITARGETSR + 32));
    yield* g.writeb(D + GICD_ITARGETSR + 36, 0x80);
    yield* g.sync(yield* g.readb(D + GICD_ITARGETSR + 36));
    yield* g.writel(D + GICD_ITARGETSR, 0);
    yield* g.sync(yield* g.readl(D + GICD_ITARGETSR));
    yield* g.done();
  };
  const { vcpus } = v2Vm({ nrVcpus: 2, guest });
  // ref §4.1: SPI byte & online-vCPU mask (2 vCPUs: 0x3); private words RO
  t.same(runGuest(vcpus[0]!).map(hex), [0x03020100, 0, 0x01010101].map(hex));
  t.end();
});

t.test('guest per-IRQ behaviour on v2', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(D + GICD_CTLR, 0x3);
    yield* g.sync(yield* g.readl(D + GICD_CTLR)); // 0
    yield* g.writel(D + GICD_ISPENDR, 0xffffffff);
    yield* g.sync(yield* g.readl(D + GICD_ISPENDR)); // 1
    yield* g.writel(D + GICD_ICPENDR, 0xffffffff);
    yield* g.sync(yield* g.readl(D + GICD_ISPENDR)); // 2
    yield* g.writel(D + GICD_IPRIORITYR + 32, 0xffffffff);
    yield* g.sync(yield* g.readl(D + GICD_IPRIORITYR + 32)); // 3
    yield* g.writel(D + GICD_ICFGR, 0);
    yield* g.writel(D + GICD_ICFGR + 4, 0xffffffff);
    yield* g.writel(D + GICD_ICFGR + 8, 0);
    yield* g.sync(yield* g.readl(D + GICD_ICFGR)); // 4
    yield* g.sync(yield* g.readl(D + GICD_ICFGR + 4)); // 5
    yield* g.sync(yield* g.readl(D + GICD_ICFGR + 8)); // 6
    yield* g.writel(D + GICD_IGROUPR + 4, 0x12345678);
    yield* g.sync(yield* g.readl(D + GICD_IGROUPR + 4)); // 7
    yield* g.writel(D + GICD_IIDR, 0);
    yield* g.sync(yield* g.readl(D + GICD_IIDR)); // 8
    yield* g.writel(D + GICD_TYPER, 0);
    yield* g.sync(yield* g.readl(D + GICD_TYPER)); // 9
    yield* g.done();
  };
  const { vcpus } = v2Vm({ guest });
  const got = runGuest(vcpus[0]!).map(hex);
  t.equal(got[0], hex(1), 'CTLR keeps only bit0 Enable (ref §4.1)');
  // ...except the vtimer's PPI 27: mapped to the hardware timer on the first run, its pending bit
  // as the guest reads it is the timer's line, low here (vgic-mmio.c __read_pending ->
  // vgic_get_phys_line_level -> kvm_arch_timer_get_input_level).
  t.equal(got[1], hex(0xf7ff0000), 'guest ISPENDR SGI bits WI (ref §4.1); PPIs latch, the vtimer PPI shows its timer');
  t.equal(got[2], hex(0), 'guest ICPENDR clears the PPI latches (SGIs untouched)');
  t.equal(got[3], hex(0xf8f8f8f8), 'priority mask 0xF8 (ref §4.1)');
  t.equal(got[4], hex(0xaaaaaaaa), 'SGI ICFGR RO (ref §4.1)');
  t.equal(got[5], hex(0), 'PPI ICFGR RO (ref §4.1)');
  t.equal(got[6], hex(0), 'SPI ICFGR writable: level');
  t.equal(got[7], hex(0x12345678), 'IGROUPR guest-writable at revision 3 (ref §3.3)');
  t.equal(got[8], hex(0x4b00343b), 'IIDR WI from the guest');
  t.equal(got[9], hex(0x1), 'TYPER WI from the guest');
  t.end();
});

t.test('GICD_SGIR and the SGI source bytes', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    if (g.vcpuId === 0) {
      yield* g.writel(D + GICD_SGIR, (0 << 24) | (0x2 << 16) | 5); // list: vCPU 1, SGI 5
      yield* g.writel(D + GICD_SGIR, (1 << 24) | 6); // all but self, SGI 6
      yield* g.writel(D + GICD_SGIR, (2 << 24) | (0x4 << 16) | 7); // self only (list ignored), SGI 7
      yield* g.writel(D + GICD_SGIR, (3 << 24) | (0x7 << 16) | 8); // filter 3: ignored
    }
    yield* g.done();
  };
  const { fd, vcpus } = v2Vm({ nrVcpus: 3, guest });
  runGuest(vcpus[0]!);
  // ref §4.1: sets pending and the sender's source bit; C/SPENDSGIR one source byte per SGI
  t.equal(hex(v2DistGet(fd, 1, GICD_SPENDSGIR + 4).value), hex(0x00010100), 'vCPU 1: SGI5 and SGI6 from vCPU 0');
  t.equal(hex(v2DistGet(fd, 2, GICD_SPENDSGIR + 4).value), hex(0x00010000), 'vCPU 2: SGI6 from vCPU 0 only');
  t.equal(hex(v2DistGet(fd, 0, GICD_SPENDSGIR + 4).value), hex(0x01000000), 'vCPU 0: SGI7 to self only');
  t.equal(v2DistGet(fd, 0, GICD_SPENDSGIR + 8).value | v2DistGet(fd, 1, GICD_SPENDSGIR + 8).value, 0, 'filter 3 ignored: no SGI8');
  t.equal(hex(v2DistGet(fd, 1, GICD_ISPENDR).value), hex(0x60), 'vCPU 1: SGIs 5 and 6 pending');
  t.equal(hex(v2DistGet(fd, 1, GICD_CPENDSGIR + 4).value), hex(0x00010100), 'CPENDSGIR reads the same sources');
  t.end();
});

t.test('C/SPENDSGIR writes drop and add sources', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writeb(D + GICD_SPENDSGIR + 1, 0x6); // SGI1 sources vCPU 1 and 2
    yield* g.sync(yield* g.readl(D + GICD_ISPENDR));
    yield* g.writeb(D + GICD_CPENDSGIR + 1, 0x2); // drop source 1
    yield* g.sync(yield* g.readl(D + GICD_SPENDSGIR));
    yield* g.sync(yield* g.readl(D + GICD_ISPENDR));
    yield* g.writel(D + GICD_CPENDSGIR, 0x0400); // drop the last source
    yield* g.sync(yield* g.readl(D + GICD_SPENDSGIR));
    yield* g.sync(yield* g.readl(D + GICD_ISPENDR));
    yield* g.done();
  };
  const { vcpus } = v2Vm({ nrVcpus: 3, guest });
  // ref §4.1: clear: source &= ~v, pending cleared when no source is left; set: source |= v
  t.same(runGuest(vcpus[0]!).map(hex), [0x2, 0x0400, 0x2, 0, 0].map(hex));
  t.end();
});

t.test('userspace v2 writes go through the same rows (CTLR, priorities)', (t) => {
  const { fd, vcpus } = v2Vm({ guest: readerGuest([D + GICD_CTLR, D + GICD_IPRIORITYR + 32]) });
  // kernel-facts §3: v2 misc uaccess write to CTLR falls through to the guest write
  t.equal(v2DistSet(fd, 0, GICD_CTLR, 1), 0, 'CTLR set');
  t.equal(v2DistSet(fd, 0, GICD_TYPER, 0), 0, 'TYPER write accepted and ignored');
  t.equal(v2DistSet(fd, 0, GICD_IPRIORITYR + 32, 0x0f1f2f3f), 0, 'priority set');
  t.equal(hex(v2DistGet(fd, 0, GICD_TYPER).value), hex(1), 'TYPER unchanged');
  t.same(runGuest(vcpus[0]!).map(hex), [1, 0x08182838].map(hex), 'guest sees Enable, and 0x0f1f2f3f masked with 0xF8 per byte');
  t.end();
});
