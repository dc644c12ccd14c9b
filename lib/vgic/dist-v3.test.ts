// GICv3 distributor: reset values and guest-visible behaviour, read by the guest (MMIO) and by
// userspace (KVM_DEV_ARM_VGIC_GRP_DIST_REGS). Expected values: reference vgic-kvm-semantics.md §3.1
// and vgic-mmio-v3.c (vgic_v3_dist_registers and its handlers).

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  GICD_CTLR,
  GICD_ICACTIVER,
  GICD_ICENABLER,
  GICD_ICFGR,
  GICD_ICPENDR,
  GICD_IGROUPR,
  GICD_IGRPMODR,
  GICD_IIDR,
  GICD_IPRIORITYR,
  GICD_IROUTER,
  GICD_ISACTIVER,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GICD_ITARGETSR,
  GICD_PIDR2,
  GICD_SETSPI_NSR,
  GICD_SGIR,
  GICD_STATUSR,
  GICD_TYPER,
  GICD_TYPER2,
} from '../host/index.ts';
import { V3_DIST_BASE, distGet, distSet, hex, readerGuest, runGuest, v3Vm } from '../../test/support/vgic.ts';

const D = V3_DIST_BASE;

/**
 * Reset values of a 64-IRQ GICv3 at IIDR revision 3, offset → value. Each row cites its source.
 */
const RESET_64: ReadonlyArray<readonly [number, number, string]> = [
  [GICD_CTLR, 0x50, 'vgic_mmio_read_v3_misc: ARE_NS|DS, disabled (ref §3.1)'],
  [GICD_TYPER, 0x00480001, 'ref §3.1: "For 64 IRQs: 0x00480001"'],
  [GICD_IIDR, 0x4b00343b, 'ref §3.1: rev3 = 0x4B00343B'],
  [GICD_TYPER2, 0, 'kernel-facts #5: nASSGIcap only with direct vSGIs'],
  [GICD_STATUSR, 0xffffffff, 'kernel-facts #20: vgic_mmio_read_rao'],
  [GICD_SETSPI_NSR, 0, 'ref §3.1: SETSPI_NSR not implemented, RAZ'],
  [GICD_IGROUPR, 0, 'ref §3.1: IGROUPR word 0 (private) RAZ/WI'],
  [GICD_IGROUPR + 4, 0xffffffff, 'ref §3.1: SPIs reset to group 1'],
  [GICD_ISENABLER, 0, 'REGISTER_DESC_WITH_BITS_PER_IRQ_SHARED: private part RAZ'],
  [GICD_ISENABLER + 4, 0, 'ref §3.1: enables reset 0'],
  [GICD_ICENABLER + 4, 0, 'ref §3.1: enables reset 0'],
  [GICD_ISPENDR + 4, 0, 'ref §5.1: nothing pending at reset'],
  [GICD_ICPENDR + 4, 0, 'ref §5.1: nothing pending at reset'],
  [GICD_ISACTIVER + 4, 0, 'ref §5.1: nothing active at reset'],
  [GICD_ICACTIVER + 4, 0, 'ref §5.1: nothing active at reset'],
  [GICD_IPRIORITYR, 0, 'ref §3.1: 0x400-0x41F RAZ/WI'],
  [GICD_IPRIORITYR + 32, 0, 'ref §3.1: priorities reset 0'],
  [GICD_IPRIORITYR + 60, 0, 'ref §3.1: priorities reset 0'],
  [GICD_ITARGETSR + 32, 0, 'ref §3.1: ITARGETSR RAZ/WI with ARE=1'],
  [GICD_ICFGR, 0, 'ref §3.1: 0xC00-0xC07 RAZ/WI'],
  [GICD_ICFGR + 4, 0, 'ref §3.1: 0xC00-0xC07 RAZ/WI'],
  [GICD_ICFGR + 8, 0xaaaaaaaa, 'ref §3.1: SPIs reset edge, ICFGR reads 0xAAAAAAAA'],
  [GICD_ICFGR + 12, 0xaaaaaaaa, 'ref §3.1: SPIs reset edge, ICFGR reads 0xAAAAAAAA'],
  [GICD_IGRPMODR + 4, 0, 'ref §3.1: IGRPMODR RAZ/WI'],
  [0x0e00, 0, 'ref §3.1: NSACR not present, RAZ'],
  [GICD_SGIR, 0, 'ref §3.1: SGIR not present, RAZ'],
  [GICD_IROUTER + 8 * 32, 0, 'ref §3.1: IROUTER reset 0'],
  [GICD_IROUTER + 8 * 32 + 4, 0, 'ref §3.1: IROUTER upper word RAZ'],
  [GICD_IROUTER + 8 * 63, 0, 'ref §3.1: IROUTER reset 0'],
  [GICD_IROUTER, 0, 'ref §3.1: 0x6000-0x60FF RAZ/WI'],
  [GICD_PIDR2, 0x3b, 'vgic_mmio_read_v3_idregs: PIDR2 = 0x3B'],
  [GICD_ISENABLER + 8, 0, 'kernel-facts §1: INTID 64 >= nr_irqs, check_region fails, RAZ'],
];

/** ID registers other than PIDR2 read 0 (vgic_mmio_read_v3_idregs). */
const OTHER_IDREGS: number[] = [];
for (let o = 0xffd0; o <= 0xfffc; o += 4) if (o !== GICD_PIDR2) OTHER_IDREGS.push(o);

t.test('reset values read by userspace (DIST_REGS)', (t) => {
  const { fd } = v3Vm({ nrIrqs: 64 });
  for (const [off, want, why] of RESET_64) {
    const r = distGet(fd, off);
    t.equal(r.ret, 0, `get 0x${off.toString(16)} succeeds`);
    t.equal(hex(r.value), hex(want), `0x${off.toString(16)} = ${hex(want)} (${why})`);
  }
  for (const off of OTHER_IDREGS) t.equal(distGet(fd, off).value, 0, `ID reg 0x${off.toString(16)} reads 0 (vgic_mmio_read_v3_idregs)`);
  t.end();
});

t.test('reset values read by the guest (MMIO)', (t) => {
  const offs = [...RESET_64.map((r) => r[0]), ...OTHER_IDREGS];
  const { vcpus } = v3Vm({ nrIrqs: 64, guest: readerGuest(offs.map((o) => D + o)) });
  const got = runGuest(vcpus[0]!);
  RESET_64.forEach(([off, want, why], i) => t.equal(hex(got[i]!), hex(want), `guest 0x${off.toString(16)} = ${hex(want)} (${why})`));
  for (let i = RESET_64.length; i < offs.length; i++) t.equal(got[i], 0, `guest ID reg 0x${offs[i]!.toString(16)} reads 0`);
  t.end();
});

t.test('GICD_TYPER for 64/128/992 IRQs, with and without an ITS', (t) => {
  // ITLinesNumber = nr_irqs/32 - 1; IDbits = 9 (0x48xxxx) or, with an ITS, 15 plus LPIS (0x7Axxxx)
  // (ref §3.1; vgic_mmio_read_v3_misc). NR_IRQS 992 is the largest accepted value (ref §1.4).
  const cases: Array<[number, boolean, number]> = [
    [64, false, 0x00480001],
    [128, false, 0x00480003],
    [992, false, 0x0048001e],
    [64, true, 0x007a0001],
    [128, true, 0x007a0003],
    [992, true, 0x007a001e],
  ];
  for (const [nrIrqs, its, want] of cases) {
    const { fd, vcpus } = v3Vm({ nrIrqs, its, guest: readerGuest([D + GICD_TYPER]) });
    t.equal(hex(distGet(fd, GICD_TYPER).value), hex(want), `userspace TYPER, ${nrIrqs} IRQs${its ? ' + ITS' : ''}`);
    t.equal(hex(runGuest(vcpus[0]!)[0]!), hex(want), `guest TYPER, ${nrIrqs} IRQs${its ? ' + ITS' : ''}`);
  }
  t.end();
});

t.test('992 IRQs: the last SPI word exists, the next one is RAZ', (t) => {
  const { fd } = v3Vm({ nrIrqs: 992 });
  // INTIDs 960-991 are SPIs (IGROUPR reset 1); INTID 992+ is beyond nr_irqs (check_region: RAZ)
  t.equal(hex(distGet(fd, GICD_IGROUPR + 4 * 30).value), hex(0xffffffff), 'IGROUPR30 all group 1 (ref §3.1)');
  t.equal(distGet(fd, GICD_IGROUPR + 4 * 31).value, 0, 'IGROUPR31 beyond nr_irqs reads 0 (kernel-facts §1)');
  t.equal(hex(distGet(fd, GICD_ICFGR + 4 * 61).value), hex(0xaaaaaaaa), 'ICFGR61 (INTIDs 976-991) edge');
  t.end();
});

t.test('GICD_IIDR follows the implementation revision userspace selects', (t) => {
  // 0x4B<<24 | rev<<12 | 0x43B (ref §3.1); revisions 1-3 selectable on the newest profile (ref §3.3)
  for (const [rev, want] of [
    [1, 0x4b00143b],
    [2, 0x4b00243b],
    [3, 0x4b00343b],
  ] as const) {
    const { fd, vcpus } = v3Vm({ guest: readerGuest([D + GICD_IIDR]) });
    t.equal(distSet(fd, GICD_IIDR, want), 0, `userspace selects revision ${rev}`);
    t.equal(hex(distGet(fd, GICD_IIDR).value), hex(want), `userspace reads revision ${rev}`);
    t.equal(hex(runGuest(vcpus[0]!)[0]!), hex(want), `guest reads revision ${rev}`);
  }
  t.end();
});

t.test('GICD_CTLR guest writes: only EnableGrp1 is kept, ARE|DS always read as set', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(D + GICD_CTLR, 0x1); // EnableGrp0 is RAZ/WI
    yield* g.sync(yield* g.readl(D + GICD_CTLR));
    yield* g.writel(D + GICD_CTLR, 0x3);
    yield* g.sync(yield* g.readl(D + GICD_CTLR));
    yield* g.writel(D + GICD_CTLR, 0);
    yield* g.sync(yield* g.readl(D + GICD_CTLR));
    yield* g.done();
  };
  const { vcpus } = v3Vm({ guest });
  // ref §3.1: read = (enabled ? 0x2 : 0) | 0x10 | 0x40; bit0 RAZ/WI
  t.same(runGuest(vcpus[0]!).map(hex), [0x50, 0x52, 0x50].map(hex));
  t.end();
});

t.test('guest per-IRQ register behaviour', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(D + GICD_IPRIORITYR + 32, 0xffffffff);
    yield* g.sync(yield* g.readl(D + GICD_IPRIORITYR + 32)); // 0
    yield* g.writeb(D + GICD_IPRIORITYR + 37, 0x5f);
    yield* g.sync(yield* g.readb(D + GICD_IPRIORITYR + 37)); // 1
    yield* g.writel(D + GICD_IPRIORITYR + 0, 0xffffffff);
    yield* g.sync(yield* g.readl(D + GICD_IPRIORITYR + 0)); // 2
    yield* g.writel(D + GICD_ICFGR + 8, 0);
    yield* g.sync(yield* g.readl(D + GICD_ICFGR + 8)); // 3
    yield* g.writel(D + GICD_ICFGR + 4, 0);
    yield* g.sync(yield* g.readl(D + GICD_ICFGR + 4)); // 4
    yield* g.writel(D + GICD_ISENABLER + 4, 0x80000001);
    yield* g.sync(yield* g.readl(D + GICD_ICENABLER + 4)); // 5
    yield* g.writel(D + GICD_ICENABLER + 4, 0x1);
    yield* g.sync(yield* g.readl(D + GICD_ISENABLER + 4)); // 6
    yield* g.writel(D + GICD_ISENABLER + 0, 0xffffffff);
    yield* g.sync(yield* g.readl(D + GICD_ISENABLER + 0)); // 7
    yield* g.writel(D + GICD_ISENABLER + 8, 0xffffffff);
    yield* g.sync(yield* g.readl(D + GICD_ISENABLER + 8)); // 8
    yield* g.writel(D + GICD_ISPENDR + 4, 0x6);
    yield* g.sync(yield* g.readl(D + GICD_ISPENDR + 4)); // 9
    yield* g.writel(D + GICD_ICPENDR + 4, 0x2);
    yield* g.sync(yield* g.readl(D + GICD_ICPENDR + 4)); // 10
    yield* g.writel(D + GICD_ISACTIVER + 4, 0x10);
    yield* g.sync(yield* g.readl(D + GICD_ISACTIVER + 4)); // 11
    yield* g.writel(D + GICD_ICACTIVER + 4, 0x10);
    yield* g.sync(yield* g.readl(D + GICD_ISACTIVER + 4)); // 12
    yield* g.writel(D + GICD_IGROUPR + 4, 0x0f0f0f0f);
    yield* g.sync(yield* g.readl(D + GICD_IGROUPR + 4)); // 13
    yield* g.writel(D + GICD_IGROUPR, 0xffffffff);
    yield* g.sync(yield* g.readl(D + GICD_IGROUPR)); // 14
    yield* g.writel(D + GICD_ITARGETSR + 32, 0x01010101);
    yield* g.sync(yield* g.readl(D + GICD_ITARGETSR + 32)); // 15
    yield* g.writel(D + GICD_IGRPMODR + 4, 0xffffffff);
    yield* g.sync(yield* g.readl(D + GICD_IGRPMODR + 4)); // 16
    yield* g.writel(D + GICD_STATUSR, 0);
    yield* g.sync(yield* g.readl(D + GICD_STATUSR)); // 17
    yield* g.done();
  };
  const { vcpus } = v3Vm({ guest });
  const got = runGuest(vcpus[0]!).map(hex);
  const want: Array<[number, string]> = [
    [0xf8f8f8f8, 'priority masked to 0xF8 (ref §3.1, VGIC_PRI_BITS 5)'],
    [0x58, 'byte priority write masked to 0xF8 (vgic_mmio_write_priority)'],
    [0, 'private IPRIORITYR 0x400-0x41F RAZ/WI (ref §3.1)'],
    [0, 'SPI ICFGR writable: all level (ref §5.1, config can change for SPIs)'],
    [0, 'ICFGR 0xC04 RAZ/WI (ref §3.1)'],
    [0x80000001, 'ISENABLER sets, ICENABLER reads the enables'],
    [0x80000000, 'ICENABLER clears'],
    [0, 'ISENABLER word 0 RAZ/WI on the distributor (ref §3.1)'],
    [0, 'ISENABLER2 beyond 64 IRQs RAZ/WI (kernel-facts §1)'],
    [0x6, 'ISPENDR write sets the latch (ref §3.1)'],
    [0x4, 'ICPENDR clears the latch; read = pending (ref §3.1)'],
    [0x10, 'ISACTIVER sets active'],
    [0, 'ICACTIVER clears active'],
    [0x0f0f0f0f, 'IGROUPR writable at revision 3 (ref §3.3)'],
    [0, 'IGROUPR word 0 RAZ/WI (ref §3.1)'],
    [0, 'ITARGETSR RAZ/WI (ref §3.1)'],
    [0, 'IGRPMODR RAZ/WI (ref §3.1)'],
    [0xffffffff, 'STATUSR RAO/WI (kernel-facts #20)'],
  ];
  want.forEach(([v, why], i) => t.equal(got[i], hex(v), why));
  t.end();
});

t.test('GICD_IROUTER keeps Aff2:Aff1:Aff0 only', (t) => {
  const R = D + GICD_IROUTER + 8 * 40;
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writeq(R, 0xff000000_ffffffffn); // Aff3 and IRM set
    yield* g.sync(yield* g.readq(R));
    yield* g.writel(R, 0x80000102); // IRM | Aff1=1 | Aff0=2
    yield* g.sync(yield* g.readl(R));
    yield* g.writel(R + 4, 0xff);
    yield* g.sync(yield* g.readl(R + 4));
    yield* g.done();
  };
  const { vcpus, fd } = v3Vm({ guest });
  const got = runGuest(vcpus[0]!);
  // ref §3.1 / vgic_mmio_write_irouter: mpidr = val & GENMASK(23, 0); upper word RAZ/WI
  t.equal(hex(got[0]!), hex(0x00ffffffn), '64-bit write: IRM and Aff3 dropped');
  t.equal(hex(got[1]!), hex(0x102), '32-bit write: IRM dropped');
  t.equal(got[2], 0, 'upper word RAZ/WI');
  t.equal(hex(distGet(fd, GICD_IROUTER + 8 * 40).value), hex(0x102), 'userspace sees the same routing');
  t.end();
});

t.test('access width and alignment rules (check_region)', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.sync(yield* g.readw(D + GICD_CTLR)); // 16-bit: always RAZ
    yield* g.sync(yield* g.readb(D + GICD_CTLR)); // CTLR is 32-bit only
    yield* g.sync(yield* g.readl(D + GICD_CTLR + 2)); // unaligned
    yield* g.sync(yield* g.readq(D + GICD_CTLR)); // 64-bit not allowed on CTLR
    yield* g.sync(yield* g.readl(D + GICD_STATUSR + 1)); // unaligned RAO register
    yield* g.writew(D + GICD_IPRIORITYR + 32, 0xffff); // 16-bit write ignored
    yield* g.sync(yield* g.readl(D + GICD_IPRIORITYR + 32));
    yield* g.sync(yield* g.readq(D + GICD_IROUTER + 8 * 33)); // 64-bit allowed on IROUTER
    yield* g.done();
  };
  const { vcpus } = v3Vm({ guest });
  const got = runGuest(vcpus[0]!);
  // kernel-facts §1 check_region: len must be 1, 4 or 8, allowed by the row, naturally aligned;
  // anything else reads zero and writes are ignored (dispatch_mmio_read/write)
  t.equal(got[0], 0, '16-bit read RAZ');
  t.equal(got[1], 0, '8-bit read of a 32-bit-only register RAZ');
  t.equal(got[2], 0, 'unaligned 32-bit read RAZ');
  t.equal(got[3], 0n, '64-bit read of a 32-bit-only register RAZ');
  t.equal(got[4], 0, 'unaligned read of STATUSR RAZ (not RAO)');
  t.equal(got[5], 0, '16-bit write ignored');
  t.equal(got[6], 0n, '64-bit IROUTER read works (reset 0)');
  t.end();
});
