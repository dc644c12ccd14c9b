// GICD_IIDR revision rules on every host-kernel profile (lib/vgic/profiles.ts), for GICv3 and
// GICv2: the revision a VM gets, what a userspace IIDR write of revisions 0..4 (or of a value with
// other bits changed) returns and does, and what IGROUPR writes from the guest and from userspace
// then do, plus GICR_CTLR.{IR,CES}. Expected values are the table of reference §3.3, restated per
// profile below as literals; sources: vgic-mmio-v2.c / vgic-mmio-v3.c
// (vgic_mmio_uaccess_write_v{2,3}_misc, vgic_mmio_uaccess_write_v2_group, vgic_mmio_read_v3r_ctlr),
// vgic-mmio.c (vgic_mmio_write_group), vgic-init.c (kvm_vgic_create, vgic_init), commits
// 32f8777ed92d, 49a1a2c70a7f, a0e6ae45af17, ac6769c8f948 and the Woodhouse v3 series (patches 1, 3).

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  EBUSY,
  EINVAL,
  GICD_IGROUPR,
  GICD_IIDR,
  GICD_TYPER,
  GICR_CTLR,
  GICR_IGROUPR0,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  PROFILES,
  UCALL_DONE,
  UCALL_SYNC,
  getUcall,
  vcpuRun,
} from '../host/index.ts';
import {
  SGI_FRAME,
  V2_DIST_BASE,
  ctrlSet,
  V3_DIST_BASE,
  V3_RDIST_BASE,
  distGet,
  distSet,
  hex,
  rdGet,
  rdSet,
  readerGuest,
  runGuest,
  v2DistGet,
  v2DistSet,
  v2Vm,
  v3Vm,
} from '../../test/support/vgic.ts';

/** GICD_IIDR = ProductID 0x4B << 24 | Revision << 12 | Implementer 0x43B (ref §3.1). */
const iidr = (rev: number): number => (0x4b00043b | (rev << 12)) >>> 0;
const OK = 0;
const E = -EINVAL;
type Five<T> = [T, T, T, T, T];
type Sel = 'default' | 1 | 2 | 3;
/** Writability after a selection: v3 guest, v3 userspace, v2 guest, v2 userspace. */
type Groups = [boolean, boolean, boolean, boolean];

interface Row {
  profile: string;
  why: string;
  /** IIDR the guest and userspace read after INIT without any IIDR write. */
  defaultIidr: number;
  /** implementation_rev right after KVM_CREATE_DEVICE (revAtCreate: 3; else 0 until vgic_init). */
  revAtCreate: number;
  /** Whether v3 userspace may touch GICD_IIDR before INIT (reg_allowed_pre_init). */
  v3PreInit: boolean;
  /** Return of a userspace write of revision 0..4 (other bits unchanged), after INIT. */
  ret: Five<number>;
  /** Revision afterwards. */
  rev: Five<number>;
  /** GICv2 only: v2_groups_user_writable afterwards. */
  v2Flag: Five<boolean>;
  /** Return of a write that changes the implementer/product bits. */
  otherBits: number;
  /** GICR_CTLR (IR|CES = 0x6) per selection. */
  ctlr: Partial<Record<Sel, number>>;
  /** IGROUPR writability per selection. */
  groups: Partial<Record<Sel, Groups>>;
}

const T = true;
const F = false;

const ROWS: Row[] = [
  {
    profile: 'pre-groups',
    why: 'before d53c2c29ae0d: IIDR uaccess writes fall through to the WI guest handler; IGROUPR RAZ/WI (v2) / RAO/WI (v3)',
    defaultIidr: iidr(1),
    revAtCreate: 0,
    v3PreInit: false,
    ret: [OK, OK, OK, OK, OK],
    rev: [1, 1, 1, 1, 1],
    v2Flag: [F, F, F, F, F],
    otherBits: OK,
    ctlr: { default: 0 },
    groups: { default: [F, F, F, F], 2: [F, F, F, F] },
  },
  {
    profile: 'v2-groups-flag',
    why: '32f8777ed92d: the write must equal the current IIDR; for v2 it opts in to writable IGROUPR',
    defaultIidr: iidr(2),
    revAtCreate: 0,
    v3PreInit: false,
    ret: [E, E, OK, E, E],
    rev: [2, 2, 2, 2, 2],
    v2Flag: [F, F, T, F, F],
    otherBits: E,
    ctlr: { default: 0, 2: 0 },
    groups: { default: [T, T, T, F], 2: [T, T, T, T] },
  },
  {
    profile: 'iidr-noop',
    why: '49a1a2c70a7f..a0e6ae45af17: FIELD_GET on the current value, so every revision "succeeds" and changes nothing',
    defaultIidr: iidr(3),
    revAtCreate: 3,
    v3PreInit: true,
    ret: [OK, OK, OK, OK, OK],
    rev: [3, 3, 3, 3, 3],
    v2Flag: [T, T, T, T, T],
    otherBits: E,
    ctlr: { default: 0x6, 1: 0x6 },
    groups: { default: [T, T, T, F], 1: [T, T, T, T] },
  },
  {
    profile: 'iidr-fix',
    why: 'a0e6ae45af17: revisions 2 and 3 selectable; both set the v2 flag',
    defaultIidr: iidr(3),
    revAtCreate: 3,
    v3PreInit: true,
    ret: [E, E, OK, OK, E],
    rev: [3, 3, 2, 3, 3],
    v2Flag: [F, F, T, T, F],
    otherBits: E,
    ctlr: { default: 0x6, 2: 0, 3: 0x6 },
    groups: { default: [T, T, T, F], 2: [T, T, T, T], 3: [T, T, T, T] },
  },
  {
    profile: 'series-p1',
    why: 'Woodhouse v3 1/4: revision 1 selectable (no flag); vgic_mmio_write_group ignores writes below revision 2',
    defaultIidr: iidr(3),
    revAtCreate: 3,
    v3PreInit: true,
    ret: [E, OK, OK, OK, E],
    rev: [3, 1, 2, 3, 3],
    v2Flag: [F, F, T, T, F],
    otherBits: E,
    ctlr: { default: 0x6, 1: 0, 2: 0, 3: 0x6 },
    groups: { default: [T, T, T, F], 1: [F, F, F, F], 2: [T, T, T, T], 3: [T, T, T, T] },
  },
  {
    profile: 'series-p3',
    why: 'Woodhouse v3 3/4: v2_groups_user_writable removed; v2 userspace IGROUPR follows revision >= 2',
    defaultIidr: iidr(3),
    revAtCreate: 3,
    v3PreInit: true,
    ret: [E, OK, OK, OK, E],
    rev: [3, 1, 2, 3, 3],
    v2Flag: [F, F, F, F, F],
    otherBits: E,
    ctlr: { default: 0x6, 1: 0, 2: 0, 3: 0x6 },
    groups: { default: [T, T, T, T], 1: [F, F, F, F], 2: [T, T, T, T], 3: [T, T, T, T] },
  },
  // Profiles named after real kernels: the same rules, as `vgic-harness conformance` measured them
  // (scenarios/v3/iidr.scn, scenarios/v2/iidr.scn on Debian's 6.1.164, 6.12.43, 6.12.117 and 7.2.13).
  {
    profile: 'linux-6.1.164',
    why: 'measured: every revision "succeeds" and changes nothing; revision set by vgic_init; no pre-INIT v3 access',
    defaultIidr: iidr(3),
    revAtCreate: 0,
    v3PreInit: false,
    ret: [OK, OK, OK, OK, OK],
    rev: [3, 3, 3, 3, 3],
    v2Flag: [T, T, T, T, T],
    otherBits: E,
    ctlr: { default: 0x6, 1: 0x6 },
    groups: { default: [T, T, T, F], 1: [T, T, T, T] },
  },
  {
    profile: 'linux-6.12.43',
    why: 'measured: as 6.1.164 (the fix had not reached 6.12 stable yet)',
    defaultIidr: iidr(3),
    revAtCreate: 0,
    v3PreInit: false,
    ret: [OK, OK, OK, OK, OK],
    rev: [3, 3, 3, 3, 3],
    v2Flag: [T, T, T, T, T],
    otherBits: E,
    ctlr: { default: 0x6, 1: 0x6 },
    groups: { default: [T, T, T, F], 1: [T, T, T, T] },
  },
  {
    profile: 'linux-6.12.117',
    why: 'measured: revisions 2 and 3 selectable (fix backported to stable); revision set by vgic_init; no pre-INIT v3 access',
    defaultIidr: iidr(3),
    revAtCreate: 0,
    v3PreInit: false,
    ret: [E, E, OK, OK, E],
    rev: [3, 3, 2, 3, 3],
    v2Flag: [F, F, T, T, F],
    otherBits: E,
    ctlr: { default: 0x6, 2: 0, 3: 0x6 },
    groups: { default: [T, T, T, F], 2: [T, T, T, T], 3: [T, T, T, T] },
  },
  {
    profile: 'linux-7.2.13',
    why: 'measured: revisions 2 and 3 selectable; revision set at creation; IIDR/TYPER2 accessible before INIT',
    defaultIidr: iidr(3),
    revAtCreate: 3,
    v3PreInit: true,
    ret: [E, E, OK, OK, E],
    rev: [3, 3, 2, 3, 3],
    v2Flag: [F, F, T, T, F],
    otherBits: E,
    ctlr: { default: 0x6, 2: 0, 3: 0x6 },
    groups: { default: [T, T, T, F], 2: [T, T, T, T], 3: [T, T, T, T] },
  },
];

t.test('every profile in profiles.ts has a row here', (t) => {
  t.same(PROFILES.map((p) => p.name).sort(), ROWS.map((r) => r.profile).sort(), 'same profile names');
  t.end();
});

const D3 = V3_DIST_BASE;
const RD = V3_RDIST_BASE;
const D2 = V2_DIST_BASE;

for (const row of ROWS) {
  const vm = { profile: row.profile };

  t.test(`${row.profile}: the default revision (${row.why})`, (t) => {
    const pre = v3Vm({ vm, init: false, guest: readerGuest([D3 + GICD_IIDR]) });
    // vgic-init.c: kvm_vgic_create sets implementation_rev = LATEST since ac6769c8; before,
    // vgic_init() set it when still 0
    t.equal(pre.vm.dist.implementationRev, row.revAtCreate, `implementation_rev after create: ${row.revAtCreate}`);
    const r = distGet(pre.fd, GICD_IIDR);
    if (row.v3PreInit) t.same([r.ret, hex(r.value)], [0, hex(row.defaultIidr)], 'v3 userspace reads it before INIT');
    else t.equal(r.ret, -EBUSY, 'v3 userspace cannot read GICD_IIDR before INIT: EBUSY');
    t.equal(pre.vm.dist.implementationRev, row.revAtCreate, 'the pre-INIT access changed nothing');
    t.equal(distGet(pre.fd, GICD_TYPER).ret, -EBUSY, 'GICD_TYPER before INIT is EBUSY on every profile');
    // INIT, then guest and userspace agree
    const post = v3Vm({ vm, guest: readerGuest([D3 + GICD_IIDR]) });
    t.equal(hex(distGet(post.fd, GICD_IIDR).value), hex(row.defaultIidr), 'v3 userspace after INIT');
    t.same(runGuest(post.vcpus[0]!).map(hex), [hex(row.defaultIidr)], 'v3 guest');
    const v2 = v2Vm({ vm, init: false, guest: readerGuest([D2 + GICD_IIDR]) });
    t.equal(hex(v2DistGet(v2.fd, 0, GICD_IIDR).value), hex(row.defaultIidr), 'v2 userspace (the access initialises)');
    t.same(runGuest(v2.vcpus[0]!).map(hex), [hex(row.defaultIidr)], 'v2 guest');
    t.end();
  });

  t.test(`${row.profile}: userspace IIDR writes of revisions 0..4 after INIT`, (t) => {
    for (let r = 0; r <= 4; r++) {
      const v3 = v3Vm({ vm, guest: readerGuest([D3 + GICD_IIDR]) });
      t.equal(distSet(v3.fd, GICD_IIDR, iidr(r)), row.ret[r], `v3 rev ${r}: returns ${row.ret[r]}`);
      t.equal(v3.vm.dist.implementationRev, row.rev[r], `v3 rev ${r}: revision ${row.rev[r]} afterwards`);
      t.equal(hex(distGet(v3.fd, GICD_IIDR).value), hex(iidr(row.rev[r])), `v3 rev ${r}: userspace reads it`);
      t.same(runGuest(v3.vcpus[0]!).map(hex), [hex(iidr(row.rev[r]))], `v3 rev ${r}: the guest reads it`);
      t.equal(v3.vm.dist.v2GroupsUserWritable, false, `v3 rev ${r}: the v2 flag is never set by a v3 device`);
      const v2 = v2Vm({ vm });
      t.equal(v2DistSet(v2.fd, 0, GICD_IIDR, iidr(r)), row.ret[r], `v2 rev ${r}: returns ${row.ret[r]}`);
      t.equal(v2.vm.dist.implementationRev, row.rev[r], `v2 rev ${r}: revision ${row.rev[r]}`);
      t.equal(v2.vm.dist.v2GroupsUserWritable, row.v2Flag[r], `v2 rev ${r}: v2_groups_user_writable ${row.v2Flag[r]}`);
    }
    t.end();
  });

  t.test(`${row.profile}: an IIDR write changing other bits`, (t) => {
    for (const other of [iidr(row.rev[3]) ^ 0x1, iidr(row.rev[3]) ^ (1 << 16), (iidr(row.rev[3]) & 0x00ffffff) | (0x4c << 24)]) {
      const v3 = v3Vm({ vm });
      const before = v3.vm.dist.implementationRev;
      // (reg ^ val) & ~GICD_IIDR_REVISION_MASK -> EINVAL (val != reg on v2-groups-flag); WI on pre-groups
      t.equal(distSet(v3.fd, GICD_IIDR, other), row.otherBits, `v3 ${hex(other)}: ${row.otherBits}`);
      t.equal(v3.vm.dist.implementationRev, before, 'revision unchanged');
      const v2 = v2Vm({ vm });
      t.equal(v2DistSet(v2.fd, 0, GICD_IIDR, other), row.otherBits, `v2 ${hex(other)}: ${row.otherBits}`);
      t.equal(v2.vm.dist.v2GroupsUserWritable, false, 'v2 flag not set');
    }
    t.end();
  });

  t.test(`${row.profile}: IIDR writes before INIT (v3)`, (t) => {
    for (let r = 0; r <= 4; r++) {
      const v3 = v3Vm({ vm, init: false });
      const ret = distSet(v3.fd, GICD_IIDR, iidr(r));
      if (!row.v3PreInit) {
        t.equal(ret, -EBUSY, `rev ${r}: EBUSY before INIT`);
        continue;
      }
      // reg_allowed_pre_init; the revision at create time is 3 on these profiles, so the
      // acceptance is the same as after INIT, and vgic_init keeps a non-zero revision
      t.equal(ret, row.ret[r], `rev ${r}: returns ${row.ret[r]}`);
      t.equal(v3.vm.dist.implementationRev, row.rev[r], `rev ${r}: revision ${row.rev[r]} before INIT`);
      t.equal(ctrlSet(v3.fd, KVM_DEV_ARM_VGIC_CTRL_INIT), 0, 'INIT');
      t.equal(hex(distGet(v3.fd, GICD_IIDR).value), hex(iidr(row.rev[r])), `rev ${r}: INIT kept revision ${row.rev[r]}`);
    }
    t.end();
  });

  t.test(`${row.profile}: GICR_CTLR.{IR,CES} per selected revision`, (t) => {
    for (const [sel, want] of Object.entries(row.ctlr) as Array<[string, number]>) {
      const v3 = v3Vm({ vm, guest: readerGuest([RD + GICR_CTLR]) });
      if (sel !== 'default') t.equal(distSet(v3.fd, GICD_IIDR, iidr(Number(sel))), 0, `select revision ${sel}`);
      // vgic_mmio_read_v3r_ctlr: IR|CES when implementation_rev >= 3 (49a1a2c70a7f)
      t.equal(hex(rdGet(v3.fd, 0, GICR_CTLR).value), hex(want), `${sel}: userspace GICR_CTLR ${hex(want)}`);
      t.same(runGuest(v3.vcpus[0]!).map(hex), [hex(want)], `${sel}: guest GICR_CTLR ${hex(want)}`);
    }
    t.end();
  });

  t.test(`${row.profile}: IGROUPR writes from the guest and from userspace per selected revision`, (t) => {
    for (const [sel, [v3g, v3u, v2g, v2u]] of Object.entries(row.groups) as Array<[string, Groups]>) {
      const select = (set: (v: number) => number): void => {
        if (sel !== 'default') t.equal(set(iidr(Number(sel))), 0, `select revision ${sel}`);
      };
      // v3 guest: SPI word and the redistributor's IGROUPR0 (vgic_mmio_write_group)
      const v3guest = function* (g: Guest): GuestProgram {
        yield* g.writel(D3 + GICD_IGROUPR + 4, 0x0f0f0f0f);
        yield* g.writel(RD + SGI_FRAME + GICR_IGROUPR0, 0x0000ffff);
        yield* g.sync(yield* g.readl(D3 + GICD_IGROUPR + 4));
        yield* g.sync(yield* g.readl(RD + SGI_FRAME + GICR_IGROUPR0));
        yield* g.done();
      };
      const a = v3Vm({ vm, guest: v3guest });
      select((v) => distSet(a.fd, GICD_IIDR, v));
      // reset: v3 groups are all 1 (ref §3.3 "v3 SPI IGROUPR and GICR_IGROUPR0 read all-ones")
      t.same(runGuest(a.vcpus[0]!).map(hex), (v3g ? [0x0f0f0f0f, 0x0000ffff] : [0xffffffff, 0xffffffff]).map(hex),
        `${sel}: v3 guest IGROUPR ${v3g ? 'writable' : 'ignored'}`);
      // v3 userspace: no uaccess override, the same vgic_mmio_write_group
      const b = v3Vm({ vm });
      select((v) => distSet(b.fd, GICD_IIDR, v));
      t.equal(distSet(b.fd, GICD_IGROUPR + 4, 0x33333333), 0, `${sel}: v3 userspace write returns 0`);
      t.equal(rdSet(b.fd, 0, SGI_FRAME + GICR_IGROUPR0, 0x12345678), 0, `${sel}: v3 userspace GICR write returns 0`);
      t.same([hex(distGet(b.fd, GICD_IGROUPR + 4).value), hex(rdGet(b.fd, 0, SGI_FRAME + GICR_IGROUPR0).value)],
        (v3u ? [0x33333333, 0x12345678] : [0xffffffff, 0xffffffff]).map(hex), `${sel}: v3 userspace IGROUPR ${v3u ? 'writable' : 'ignored'}`);
      // v2 guest: private (banked) and SPI words; reset group 0
      const v2guest = function* (g: Guest): GuestProgram {
        yield* g.writel(D2 + GICD_IGROUPR, 0xffff0001);
        yield* g.writel(D2 + GICD_IGROUPR + 4, 0x0f0f0f0f);
        yield* g.sync(yield* g.readl(D2 + GICD_IGROUPR));
        yield* g.sync(yield* g.readl(D2 + GICD_IGROUPR + 4));
        yield* g.done();
      };
      const c = v2Vm({ vm, guest: v2guest });
      select((v) => v2DistSet(c.fd, 0, GICD_IIDR, v));
      t.same(runGuest(c.vcpus[0]!).map(hex), (v2g ? [0xffff0001, 0x0f0f0f0f] : [0, 0]).map(hex),
        `${sel}: v2 guest IGROUPR ${v2g ? 'writable' : 'ignored'}`);
      // v2 userspace: vgic_mmio_uaccess_write_v2_group
      const d = v2Vm({ vm });
      select((v) => v2DistSet(d.fd, 0, GICD_IIDR, v));
      t.equal(v2DistSet(d.fd, 0, GICD_IGROUPR + 4, 0x0f0f0f0f), 0, `${sel}: v2 userspace write returns 0`);
      t.equal(hex(v2DistGet(d.fd, 0, GICD_IGROUPR + 4).value), hex(v2u ? 0x0f0f0f0f : 0),
        `${sel}: v2 userspace IGROUPR ${v2u ? 'writable' : 'ignored'}`);
    }
    t.end();
  });
}

t.test('series-p3: downgrading to revision 1 freezes the groups the guest already changed', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.writel(D3 + GICD_IGROUPR + 4, 0x000000ff); // at revision 3: writable
    yield* g.sync(yield* g.readl(D3 + GICD_IGROUPR + 4));
    yield* g.writel(D3 + GICD_IGROUPR + 4, 0xffffffff); // after the downgrade: ignored
    yield* g.sync(yield* g.readl(D3 + GICD_IGROUPR + 4));
    yield* g.done();
  };
  const { fd, vcpus } = v3Vm({ guest });
  const vcpu = vcpus[0]!;
  vcpuRun(vcpu);
  t.same([getUcall(vcpu).cmd, hex(getUcall(vcpu).args[1] as number)], [UCALL_SYNC, hex(0xff)], 'guest changed SPIs 40-63 to group 0');
  t.equal(distSet(fd, GICD_IIDR, iidr(1)), 0, 'userspace selects revision 1');
  vcpuRun(vcpu);
  // ref §3.3 "Odd case": vgic_mmio_write_group is gated, the reset values are not restored
  t.same([getUcall(vcpu).cmd, hex(getUcall(vcpu).args[1] as number)], [UCALL_SYNC, hex(0xff)], 'the write is ignored and the changed groups stay');
  t.equal(hex(distGet(fd, GICD_IGROUPR + 4).value), hex(0xff), 'userspace sees the same frozen value');
  vcpuRun(vcpu);
  t.equal(getUcall(vcpu).cmd, UCALL_DONE, 'guest done');
  t.end();
});
