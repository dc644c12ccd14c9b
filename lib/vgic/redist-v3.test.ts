// GICv3 redistributor (RD_base + SGI_base frames): reset values, GICR_TYPER affinity / processor
// number / Last, PROPBASER/PENDBASER, read by the guest and through KVM_DEV_ARM_VGIC_GRP_REDIST_REGS.
// Expected values: reference §3.2 and kernel-facts §2.2/§3 (vgic-mmio-v3.c).

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  GICD_IIDR,
  GICR_CTLR,
  GICR_ICACTIVER0,
  GICR_ICENABLER0,
  GICR_ICFGR0,
  GICR_ICFGR1,
  GICR_ICPENDR0,
  GICR_IGROUPR0,
  GICR_IGRPMODR0,
  GICR_IIDR,
  GICR_IPRIORITYR0,
  GICR_ISACTIVER0,
  GICR_ISENABLER0,
  GICR_ISPENDR0,
  GICR_NSACR,
  GICR_PENDBASER,
  GICR_PIDR2,
  GICR_PROPBASER,
  GICR_SETLPIR,
  GICR_STATUSR,
  GICR_SYNCR,
  GICR_TYPER,
  GICR_WAKER,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
  REDIST_REGION_ATTR_ADDR,
  kvmCreateDevice,
  kvmDeviceAttrSet,
  u32,
  u64,
  vmCreateBarebones,
  vmVcpuAdd,
} from '../host/index.ts';
import {
  RDIST_STRIDE,
  SGI_FRAME,
  TEST_PROFILE,
  V3_DIST_BASE,
  V3_RDIST_BASE,
  distSet,
  hex,
  rdGet,
  rdSet,
  readerGuest,
  runGuest,
  v3Vm,
} from '../../test/support/vgic.ts';

const RD = V3_RDIST_BASE;
const SGI = RD + SGI_FRAME;

/** Reset values of vCPU 0's redistributor (1 vCPU, no ITS, revision 3), offset from RD_base. */
const RESET: ReadonlyArray<readonly [number, number, string]> = [
  [GICR_CTLR, 0x6, 'ref §3.2: IR|CES (0x6) at revision 3, LPIs off'],
  [GICR_IIDR, 0x4b00043b, 'ref §3.2: GICR_IIDR 0x4B00043B, no revision field'],
  [GICR_TYPER, 0x10, 'ref §3.2: vCPU 0, Processor_Number 0, Last (only redistributor)'],
  [GICR_TYPER + 4, 0, 'ref §3.2: affinity of vCPU 0 is 0'],
  [GICR_STATUSR, 0, 'ref §3.2: STATUSR RAZ/WI'],
  [GICR_WAKER, 0, 'ref §3.2: WAKER RAZ/WI (ChildrenAsleep 0)'],
  [GICR_SETLPIR, 0, 'ref §3.2: SETLPIR absent, RAZ'],
  [GICR_PROPBASER, 0, 'ref §3.2: PROPBASER reset 0'],
  [GICR_PROPBASER + 4, 0, 'ref §3.2: PROPBASER reset 0'],
  [GICR_PENDBASER, 0x580, 'ref §3.2 / vgic-v3.c vgic_v3_enable: INITIAL_PENDBASER_VALUE 0x580'],
  [GICR_PENDBASER + 4, 0, 'ref §3.2: PENDBASER upper half 0'],
  [GICR_SYNCR, 0, 'ref §3.2: SYNCR never busy'],
  [GICR_PIDR2, 0x3b, 'ref §3.2: PIDR2 0x3B'],
  [0xffd0, 0, 'vgic_mmio_read_v3_idregs: other ID regs 0'],
  [0xfffc, 0, 'vgic_mmio_read_v3_idregs: other ID regs 0'],
  [SGI_FRAME + GICR_IGROUPR0, 0xffffffff, 'ref §3.2: IGROUPR0 reset 0xFFFFFFFF'],
  [SGI_FRAME + GICR_ISENABLER0, 0x0000ffff, 'ref §3.2: SGIs enabled, PPIs disabled'],
  [SGI_FRAME + GICR_ICENABLER0, 0x0000ffff, 'ref §3.2: ICENABLER0 reads the enables'],
  [SGI_FRAME + GICR_ISPENDR0, 0, 'ref §5.1: nothing pending'],
  [SGI_FRAME + GICR_ICPENDR0, 0, 'ref §5.1: nothing pending'],
  [SGI_FRAME + GICR_ISACTIVER0, 0, 'ref §5.1: nothing active'],
  [SGI_FRAME + GICR_ICACTIVER0, 0, 'ref §5.1: nothing active'],
  [SGI_FRAME + GICR_IPRIORITYR0, 0, 'ref §5.1: priority 0'],
  [SGI_FRAME + GICR_IPRIORITYR0 + 28, 0, 'ref §5.1: priority 0'],
  [SGI_FRAME + GICR_ICFGR0, 0xaaaaaaaa, 'ref §3.2: ICFGR0 0xAAAAAAAA (SGIs edge)'],
  [SGI_FRAME + GICR_ICFGR1, 0, 'ref §3.2: ICFGR1 0 (PPIs level)'],
  [SGI_FRAME + GICR_IGRPMODR0, 0, 'ref §3.2: IGRPMODR0 RAZ/WI'],
  [SGI_FRAME + GICR_NSACR, 0, 'ref §3.2: NSACR RAZ/WI'],
];

t.test('redistributor reset values, userspace (REDIST_REGS) and guest', (t) => {
  const { fd, vcpus } = v3Vm({ guest: readerGuest(RESET.map(([o]) => RD + o)) });
  for (const [off, want, why] of RESET) {
    const r = rdGet(fd, 0, off);
    t.equal(r.ret, 0, `get 0x${off.toString(16)}`);
    t.equal(hex(r.value), hex(want), `userspace 0x${off.toString(16)}: ${why}`);
  }
  const got = runGuest(vcpus[0]!);
  RESET.forEach(([off, want, why], i) => t.equal(hex(got[i]!), hex(want), `guest 0x${off.toString(16)}: ${why}`));
  t.end();
});

t.test('GICR_CTLR: IR|CES only at revision 3', (t) => {
  // ref §3.2 / kernel-facts §3: IR(bit2)|CES(bit1) iff implementation_rev >= 3
  for (const [iidr, want] of [
    [0x4b00343b, 0x6],
    [0x4b00243b, 0],
    [0x4b00143b, 0],
  ] as const) {
    const { fd, vcpus } = v3Vm({ guest: readerGuest([RD + GICR_CTLR]) });
    t.equal(distSet(fd, GICD_IIDR, iidr), 0, `select IIDR ${hex(iidr)}`);
    t.equal(hex(rdGet(fd, 0, GICR_CTLR).value), hex(want), `userspace GICR_CTLR for ${hex(iidr)}`);
    t.equal(hex(runGuest(vcpus[0]!)[0]!), hex(want), `guest GICR_CTLR for ${hex(iidr)}`);
  }
  t.end();
});

t.test('GICR_CTLR.EnableLPIs: ignored without an ITS, settable with one', (t) => {
  const noIts = v3Vm();
  t.equal(rdSet(noIts.fd, 0, GICR_CTLR, 1), 0, 'write accepted');
  t.equal(hex(rdGet(noIts.fd, 0, GICR_CTLR).value), hex(0x6), 'no ITS: write ignored (vgic_mmio_write_v3r_ctlr)');
  const its = v3Vm({ its: true });
  t.equal(hex(rdGet(its.fd, 0, GICR_TYPER).value), hex(0x11), 'PLPIS (bit 0) with an ITS (ref §3.2)');
  rdSet(its.fd, 0, GICR_CTLR, 1);
  t.equal(hex(rdGet(its.fd, 0, GICR_CTLR).value), hex(0x7), 'ITS: EnableLPIs set, IR|CES still shown');
  // PROPBASER / PENDBASER writes are ignored once LPIs are on (vgic_mmio_write_propbase/pendbase)
  rdSet(its.fd, 0, GICR_PROPBASER, 0x10000);
  rdSet(its.fd, 0, GICR_PENDBASER, 0x20000);
  // vgic-its.c: vgic_its_create sets propbaser = INITIAL_PROPBASER_VALUE (0x580), and it stays
  t.equal(hex(rdGet(its.fd, 0, GICR_PROPBASER).value), hex(0x580), 'PROPBASER frozen with LPIs on');
  t.equal(hex(rdGet(its.fd, 0, GICR_PENDBASER).value), hex(0x580), 'PENDBASER frozen with LPIs on');
  t.end();
});

t.test('GICR_TYPER: affinity, processor number and Last for 4 vCPUs', (t) => {
  const { fd, vcpus } = v3Vm({ nrVcpus: 4, guest: readerGuest([0, 1, 2, 3].flatMap((i) => [RD + i * RDIST_STRIDE + GICR_TYPER, RD + i * RDIST_STRIDE + GICR_TYPER + 4])) });
  // Aff0 = vcpu_id & 0xf (ref §6); Processor_Number = vcpu_id in [23:8]; Last on vCPU 3 only:
  // "low word 0x310 for vCPU 3 when last" (ref §3.2)
  const want = [
    [0x000, 0],
    [0x100, 1],
    [0x200, 2],
    [0x310, 3],
  ];
  want.forEach(([lo, hi], i) => {
    t.equal(hex(rdGet(fd, i, GICR_TYPER).value), hex(lo!), `userspace vCPU ${i} TYPER low`);
    t.equal(hex(rdGet(fd, i, GICR_TYPER + 4).value), hex(hi!), `userspace vCPU ${i} TYPER high`);
  });
  // vCPU 0's guest reads every redistributor: each frame shows its owner (redist_vcpu)
  const got = runGuest(vcpus[0]!);
  t.same(got.map(hex), want.flat().map(hex), 'guest view of all four redistributors');
  t.end();
});

t.test('GICR_TYPER for a vCPU id with Aff1 (id 0x1ab)', (t) => {
  const vm = vmCreateBarebones({ profile: TEST_PROFILE });
  const v0 = vmVcpuAdd(vm, 0);
  const v1 = vmVcpuAdd(vm, 0x1ab, readerGuest([RD + RDIST_STRIDE + GICR_TYPER, RD + RDIST_STRIDE + GICR_TYPER + 4]));
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, u64(V3_DIST_BASE));
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, u64(REDIST_REGION_ATTR_ADDR(2, RD, 0, 0)));
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
  // MPIDR: Aff0 = 0x1ab & 0xf = 0xb, Aff1 = (0x1ab >> 4) & 0xff = 0x1a (ref §6, kernel-facts §7);
  // attr MPIDR field = Aff1 << 8 | Aff0; TYPER low = Processor_Number 0x1ab << 8 | Last
  const mpidr = 0x1a0b;
  t.equal(hex(rdGet(fd, mpidr, GICR_TYPER).value), hex(0x1ab10), 'TYPER low: processor number and Last');
  t.equal(hex(rdGet(fd, mpidr, GICR_TYPER + 4).value), hex(0x1a0b), 'TYPER high: Aff1:Aff0');
  t.same(runGuest(v1).map(hex), [0x1ab10, 0x1a0b].map(hex), 'guest on vCPU 0x1ab reads the same');
  t.equal(rdGet(fd, 0x1ab, GICR_TYPER).ret, -22, 'attr MPIDR 0x1ab (not an affinity) names no vCPU: EINVAL');
  void v0;
  t.end();
});

t.test('GICR_TYPER.Last across regions', (t) => {
  function build(gap: boolean, nrVcpus: number) {
    const vm = vmCreateBarebones({ profile: TEST_PROFILE });
    for (let i = 0; i < nrVcpus; i++) vmVcpuAdd(vm, i);
    const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
    kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, u64(0x1000000));
    kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, u64(REDIST_REGION_ATTR_ADDR(2, 0x2000000, 0, 0)));
    const second = 0x2000000 + 2 * RDIST_STRIDE + (gap ? RDIST_STRIDE : 0);
    kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, u64(REDIST_REGION_ATTR_ADDR(2, second, 0, 1)));
    kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
    return fd;
  }
  const last = (fd: number, i: number): number => rdGet(fd, i, GICR_TYPER).value & 0x10;
  // vgic_mmio_vcpu_rdist_is_last (kernel-facts §3): the last slot of a full counted region is not
  // Last when another region starts exactly at its end and has redistributors in use.
  let fd = build(false, 3);
  t.same([0, 1, 2].map((i) => last(fd, i)), [0, 0, 0x10], 'contiguous regions: only vCPU 2 (in region 1) is Last');
  fd = build(true, 3);
  t.same([0, 1, 2].map((i) => last(fd, i)), [0, 0x10, 0x10], 'gap between regions: vCPU 1 ends region 0, Last');
  fd = build(false, 2);
  t.same([0, 1].map((i) => last(fd, i)), [0, 0x10], 'contiguous but empty second region: vCPU 1 is Last');
  t.end();
});

t.test('a vCPU without a redistributor: TYPER = vcpu_id << 8, never Last', (t) => {
  const vm = vmCreateBarebones({ profile: TEST_PROFILE });
  vmVcpuAdd(vm, 0);
  vmVcpuAdd(vm, 1);
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(64));
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, u64(REDIST_REGION_ATTR_ADDR(1, RD, 0, 0)));
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
  // ref §3.2: "false if the vCPU has no region yet (then TYPER low word = vcpu_id<<8)"
  t.equal(hex(rdGet(fd, 1, GICR_TYPER).value), hex(0x100), 'vCPU 1 (no slot) TYPER low');
  t.equal(hex(rdGet(fd, 0, GICR_TYPER).value), hex(0x10), 'vCPU 0 owns the only slot: Last');
  t.end();
});

t.test('redistributor writes: RO/WI registers and the SGI frame', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(SGI + GICR_ICFGR0, 0);
    yield* g.writel(SGI + GICR_ICFGR1, 0xffffffff);
    yield* g.sync(yield* g.readl(SGI + GICR_ICFGR0));
    yield* g.sync(yield* g.readl(SGI + GICR_ICFGR1));
    yield* g.writel(SGI + GICR_ICENABLER0, 0x0000000f);
    yield* g.writel(SGI + GICR_ISENABLER0, 0x00010000);
    yield* g.sync(yield* g.readl(SGI + GICR_ISENABLER0));
    yield* g.writel(SGI + GICR_IPRIORITYR0 + 16, 0xffffffff);
    yield* g.sync(yield* g.readl(SGI + GICR_IPRIORITYR0 + 16));
    yield* g.writel(SGI + GICR_IGROUPR0, 0x0000ffff);
    yield* g.sync(yield* g.readl(SGI + GICR_IGROUPR0));
    yield* g.writel(RD + GICR_TYPER, 0);
    yield* g.sync(yield* g.readl(RD + GICR_TYPER));
    yield* g.writel(RD + GICR_IIDR, 0);
    yield* g.sync(yield* g.readl(RD + GICR_IIDR));
    yield* g.writel(RD + GICR_WAKER, 0x2); // ProcessorSleep
    yield* g.sync(yield* g.readl(RD + GICR_WAKER));
    yield* g.done();
  };
  const { vcpus, fd } = v3Vm({ guest });
  const got = runGuest(vcpus[0]!).map(hex);
  t.equal(got[0], hex(0xaaaaaaaa), 'ICFGR0 writes ignored (ref §3.2)');
  t.equal(got[1], hex(0), 'ICFGR1 writes ignored (ref §3.2)');
  t.equal(got[2], hex(0x0001fff0), 'SGI enables writable, PPI 16 enabled (ref §3.2)');
  t.equal(got[3], hex(0xf8f8f8f8), 'PPI priority masked to 0xF8 (ref §3.2)');
  t.equal(got[4], hex(0x0000ffff), 'IGROUPR0 writable at revision 3 (ref §3.3)');
  t.equal(got[5], hex(0x10), 'GICR_TYPER RO (ref §3.2)');
  t.equal(got[6], hex(0x4b00043b), 'GICR_IIDR WI (ref §3.2)');
  t.equal(got[7], hex(0), 'GICR_WAKER RAZ/WI (ref §3.2)');
  // userspace: GICR_TYPER has a uaccess_write_wi handler (ref §5.3), STATUSR WI
  t.equal(rdSet(fd, 0, GICR_TYPER, 0xffffffff), 0, 'userspace TYPER write accepted');
  t.equal(hex(rdGet(fd, 0, GICR_TYPER).value), hex(0x10), 'userspace TYPER write ignored');
  t.equal(rdSet(fd, 0, GICR_STATUSR, 0xffffffff), 0, 'userspace STATUSR write accepted');
  t.equal(rdGet(fd, 0, GICR_STATUSR).value, 0, 'userspace STATUSR write ignored');
  t.end();
});

t.test('PROPBASER / PENDBASER are sanitised; PROPBASER is VM-wide', (t) => {
  const { fd, vcpus } = v3Vm({
    nrVcpus: 2,
    guest: function* (g: Guest): GuestProgram {
      yield* g.writeq(RD + GICR_PENDBASER, 0xffffffff_ffffffffn);
      yield* g.sync(yield* g.readq(RD + GICR_PENDBASER));
      yield* g.done();
    },
  });
  // vgic_sanitise_propbaser (vgic-mmio-v3.c): OuterShareable -> InnerShareable, inner nC -> RaWb,
  // outer RaWb -> SameAsInner, PROPBASER_RES0_MASK [63:59] [55:52] [6:5] cleared.
  // Written: addr 0x1234000 | Shareability 2<<10 | InnerCache 1<<7 | RES0 bits 6:5 | IDbits 0x13;
  // upper: bit 63 | [55:52] | OuterCache 3<<56 | addr bit 32.
  rdSet(fd, 0, GICR_PROPBASER, 0x012348f3);
  rdSet(fd, 0, GICR_PROPBASER + 4, 0x83f00001);
  t.equal(hex(rdGet(fd, 0, GICR_PROPBASER).value), hex(0x01234593), 'PROPBASER low: InnerShareable, RaWb, RES0 cleared');
  t.equal(hex(rdGet(fd, 0, GICR_PROPBASER + 4).value), hex(0x00000001), 'PROPBASER high: outer SameAsInner, RES0 cleared');
  // ref §3.2: "one value shared by the whole VM"
  t.equal(hex(rdGet(fd, 1, GICR_PROPBASER).value), hex(0x01234593), 'vCPU 1 redistributor shows the same PROPBASER');
  // vgic_sanitise_pendbaser: PENDBASER_RES0_MASK 63, [61:59], [55:52], [15:12], [6:0]; outer 7 ->
  // SameAsInner; PTZ (62) is stored but reads 0 (vgic_mmio_read_pendbase)
  rdSet(fd, 1, GICR_PENDBASER, 0xffffffff);
  rdSet(fd, 1, GICR_PENDBASER + 4, 0xffffffff);
  t.equal(hex(rdGet(fd, 1, GICR_PENDBASER).value), hex(0xffff0f80), 'PENDBASER low sanitised');
  t.equal(hex(rdGet(fd, 1, GICR_PENDBASER + 4).value), hex(0x000fffff), 'PENDBASER high sanitised, PTZ reads 0');
  t.equal(hex(rdGet(fd, 0, GICR_PENDBASER).value), hex(0x580), 'PENDBASER is per vCPU');
  t.same(runGuest(vcpus[0]!).map(hex), [hex(0x000fffff_ffff0f80n)], 'guest 64-bit PENDBASER write/read');
  t.end();
});
