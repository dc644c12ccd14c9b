// Every errno row of reference part A.3 (attribute groups) and A.4 (IST save/restore), one test
// each, on the final-contract host ('irs-final'); the row text is the reference's.

import t from '../../../test/tap.ts';
import type { Guest, GuestProgram } from '../../guest/index.ts';
import {
  E2BIG,
  EBUSY,
  EEXIST,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOENT,
  ENOMEM,
  ENXIO,
  ETIMEDOUT,
  GICV5_ARCH_PPI_CNTV,
  GICV5_ARCH_PPI_SW_PPI,
  GICV5_IRS_CONFIG_BASE_GVA,
  GICV5_IRS_CR0,
  GICV5_IRS_CR0_IRSEN,
  GICV5_IRS_IDR0,
  GICV5_IRS_IDR1,
  GICV5_IRS_IDR2,
  GICV5_IRS_IDR3,
  GICV5_IRS_IDR4,
  GICV5_IRS_IDR5,
  GICV5_IRS_IDR6,
  GICV5_IRS_IDR7,
  GICV5_IRS_IST_BASER,
  GICV5_IRS_IST_BASER_VALID,
  GICV5_IRS_IST_CFGR,
  GICV5_IRS_IST_STATUSR,
  GICV5_IRS_PE_STATUSR,
  GICV5_IRS_SPI_STATUSR,
  GICV5_IRS_SYNC_STATUSR,
  ICC_CR0_EL1,
  ICC_CTLR_EL1,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_IRS_REGS,
  KVM_DEV_ARM_VGIC_GRP_IST,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES,
  KVM_DEV_ARM_VGIC_USERSPACE_PPIS,
  KVM_DEV_TYPE_ARM_VGIC_V5,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V5_ADDR_TYPE_IRS,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  __vcpuRun,
  getUcall,
  kvmCreateDevice,
  u32,
  u64,
  u64Array,
  userBytes,
  userPtr,
  vgicV5IstAttr,
  vmCreateBarebones,
  UCALL_DONE,
} from '../../host/index.ts';
import { V5_USER_SYSREGS } from './cpu-interface.ts';
import { doneGuestV5, v5Vm } from '../../../test/support/v5.ts';

const IRS = KVM_DEV_ARM_VGIC_GRP_IRS_REGS;
const IST = KVM_DEV_ARM_VGIC_GRP_IST;
const ADDR = KVM_DEV_ARM_VGIC_GRP_ADDR;
const LPI_ID_BITS = 5;
const LPI_IST_BYTES = (1 << LPI_ID_BITS) * 4;
const CFGR = LPI_ID_BITS; // linear, 4-byte entries
const BASER = 0x8020000n | GICV5_IRS_IST_BASER_VALID;

/** A guest that enables the IRS and programs a linear LPI IST (the IRS series selftest's way). */
function* lpiIstGuest(g: Guest): GuestProgram {
  yield* g.writel(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_CR0, GICV5_IRS_CR0_IRSEN);
  yield* g.writel(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_IST_CFGR, CFGR);
  yield* g.writeq(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_IST_BASER, BASER);
  yield* g.done();
}

/** A VM whose guest has configured an LPI IST (the VM has run). */
function guestLpiVm(host = {}): ReturnType<typeof v5Vm> {
  const f = v5Vm({ host, guest: lpiIstGuest });
  if (__vcpuRun(f.vcpus[0]!) || getUcall(f.vcpus[0]!).cmd !== UCALL_DONE) throw new Error('LPI guest did not finish');
  return f;
}

/** A VM where userspace restored IST_CFGR and a valid IST_BASER (the LPI IST is pending allocation). */
function restoredLpiVm(host = {}): ReturnType<typeof v5Vm> {
  const f = v5Vm({ host });
  if (__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IST_CFGR, u64(CFGR))) throw new Error('CFGR');
  if (__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IST_BASER, u64(BASER))) throw new Error('BASER');
  return f;
}

const spiBuf = () => userBytes(32 * 4);
const goodIst = (lpi = false) => vgicV5IstAttr(spiBuf(), 32 * 4, lpi ? userBytes(LPI_IST_BYTES) : null, lpi ? LPI_IST_BYTES : 0);

t.test('A.3 GRP_ADDR', async (t) => {
  t.test('misaligned -> EINVAL; beyond IPA or half-outside -> E2BIG', async (t) => {
    const f = v5Vm({ addr: false, init: false });
    const max = f.vm.maxPhysSize();
    t.equal(__kvmDeviceAttrSet(f.fd, ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(0x1000)), -EINVAL, '4K-aligned');
    t.equal(__kvmDeviceAttrSet(f.fd, ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(max)), -E2BIG, 'at the IPA limit');
    t.equal(__kvmDeviceAttrSet(f.fd, ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(max - 0x10000n)), -E2BIG, 'half outside');
  });
  t.test('get before set returns all-ones; second set -> EEXIST', async (t) => {
    const f = v5Vm({ addr: false, init: false });
    const a = u64(0);
    t.equal(__kvmDeviceAttrGet(f.fd, ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, a), 0);
    t.equal(a.value, 0xffffffffffffffffn, 'VGIC_ADDR_UNDEF');
    t.equal(__kvmDeviceAttrSet(f.fd, ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(0x20000)), 0);
    t.equal(__kvmDeviceAttrSet(f.fd, ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(0x20000)), -EEXIST, 'same address again');
    t.equal(__kvmDeviceAttrSet(f.fd, ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(0x40000)), -EEXIST, 'another address');
  });
  t.test('unknown attr -> ENXIO (get, set, has); a bad buffer -> EFAULT', async (t) => {
    const f = v5Vm({ addr: false, init: false });
    for (const attr of [KVM_VGIC_V3_ADDR_TYPE_DIST, 7, -1]) {
      t.equal(__kvmDeviceAttrSet(f.fd, ADDR, attr, u64(0)), -ENXIO, `set ${attr}`);
      t.equal(__kvmDeviceAttrGet(f.fd, ADDR, attr, u64()), -ENXIO, `get ${attr}`);
      t.equal(__kvmHasDeviceAttr(f.fd, ADDR, attr), -ENXIO, `has ${attr}`);
    }
    t.equal(__kvmDeviceAttrSet(f.fd, ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, null), -EFAULT, 'set NULL');
    t.equal(__kvmDeviceAttrGet(f.fd, ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u32()), -EFAULT, 'get into a u32');
  });
  t.test('running a vCPU without ever setting it -> KVM_RUN fails ENXIO', async (t) => {
    const f = v5Vm({ addr: false, guest: doneGuestV5 });
    t.equal(__vcpuRun(f.vcpus[0]!), -ENXIO);
    t.equal(__vcpuRun(f.vcpus[0]!), -5, 'the VM is dead after a failed first run (EIO)');
  });
});

t.test('A.3 GRP_NR_IRQS (SPIs only: 32..1024, multiple of 32)', async (t) => {
  t.test('EINVAL outside the rule; 32 and 1024 accepted', async (t) => {
    for (const v of [0, 1, 16, 31, 33, 48, 1000, 1025, 1056, 0xffffffff]) {
      const f = v5Vm({ addr: false, init: false });
      t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(v)), -EINVAL, `${v}`);
    }
    for (const v of [32, 64, 992, 1024]) {
      const f = v5Vm({ addr: false, init: false });
      t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(v)), 0, `${v}`);
      const got = u32(0xbad);
      t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, got), 0);
      t.equal(got.value, v, 'get returns the SPI count');
    }
  });
  t.test('get before any set/init returns 0; after CTRL_INIT with nothing set returns 32', async (t) => {
    const f = v5Vm({ init: false });
    const got = u32(0xbad);
    t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, got), 0);
    t.equal(got.value, 0);
    t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), 0);
    t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, got), 0);
    t.equal(got.value, 32);
  });
  t.test('second set -> EBUSY; set after init -> EBUSY', async (t) => {
    const f = v5Vm({ init: false });
    t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(64)), 0);
    t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(64)), -EBUSY, 'second set');
    const g = v5Vm();
    t.equal(__kvmDeviceAttrSet(g.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(64)), -EBUSY, 'after init');
    t.equal(__kvmDeviceAttrSet(g.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(65)), -EINVAL, 'a bad value is EINVAL first');
    t.equal(__kvmDeviceAttrSet(g.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, null), -EFAULT, 'NULL');
  });
});

t.test('A.3 GRP_CTRL CTRL_INIT: no vCPUs -> ENODEV; freezes nr_spis (default 32)', async (t) => {
  const vm = vmCreateBarebones({ gicv5: {} });
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V5);
  t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), -ENODEV);
  const f = v5Vm();
  const idr5 = u64();
  t.equal(__kvmDeviceAttrGet(f.fd, IRS, GICV5_IRS_IDR5, idr5), 0);
  t.equal(idr5.value, 32n, 'IRS_IDR5.SPI_RANGE = nr_spis');
  t.equal(f.v5.spis.length, 32, 'the SPI IST has 32 entries');
  t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), 0, 'init again is a no-op');
});

t.test('A.3 GRP_CTRL USERSPACE_PPIS (read-only u64[2])', async (t) => {
  t.test('word 0 = BIT(SW_PPI) & host implemented PPIs, word 1 = 0', async (t) => {
    for (const [what, impl, want] of [
      ['default host', undefined, 1n << BigInt(GICV5_ARCH_PPI_SW_PPI)],
      ['every PPI implemented', (1n << 64n) - 1n, 1n << BigInt(GICV5_ARCH_PPI_SW_PPI)],
      ['no SW_PPI on the host', 1n << BigInt(GICV5_ARCH_PPI_CNTV), 0n],
    ] as const) {
      const f = v5Vm({ host: impl === undefined ? {} : { implementedPpis: impl } });
      const b = u64Array(2);
      b.setU64(1, 0xbadn);
      t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, b), 0, what);
      t.equal(b.u64(0), want, `${what}: word 0`);
      t.equal(b.u64(1), 0n, `${what}: word 1`);
      t.ok(b.guardsIntact(), 'nothing written outside the 16 bytes');
    }
  });
  t.test('set -> ENXIO; NULL or bad pointer -> EFAULT; a short buffer -> EFAULT after word 0', async (t) => {
    const f = v5Vm();
    t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, u64Array(2)), -ENXIO);
    t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, null), -EFAULT);
    t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, userPtr(1)), -EFAULT);
    const short = userBytes(12, { fill: 0x77 });
    t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, short), -EFAULT);
    t.equal(short.u64(0), 8n, 'the first put_user() landed');
    t.same([...short.bytes().slice(8)], [0x77, 0x77, 0x77, 0x77], 'the second faulted without writing');
    t.ok(short.guardsIntact());
  });
  t.test('has CTRL_INIT and USERSPACE_PPIS; SAVE_PENDING_TABLES -> ENXIO', async (t) => {
    const f = v5Vm();
    t.equal(__kvmHasDeviceAttr(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT), 0);
    t.equal(__kvmHasDeviceAttr(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS), 0);
    t.equal(__kvmHasDeviceAttr(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES), -ENXIO);
    t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES, null), -ENXIO);
  });
});

t.test('A.3 GRP_CPU_SYSREGS', async (t) => {
  const CR0 = BigInt(ICC_CR0_EL1);
  t.test('only after init (EBUSY before)', async (t) => {
    const f = v5Vm({ init: false });
    t.equal(__kvmHasDeviceAttr(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, CR0), 0, 'has works before init');
    t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, CR0, u64()), -EBUSY);
    t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, CR0, u64()), -EBUSY);
  });
  t.test('writes after a vCPU ran -> EBUSY (reads still work)', async (t) => {
    const f = v5Vm({ guest: doneGuestV5 });
    t.equal(__vcpuRun(f.vcpus[0]!), 0);
    t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, CR0, u64()), 0);
    t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, CR0, u64()), -EBUSY);
  });
  t.test('unknown reg: has -> ENXIO, get/set -> ENOENT; bad MPIDR -> EINVAL; every listed register exists', async (t) => {
    const f = v5Vm();
    const ctlr = BigInt(ICC_CTLR_EL1);
    t.equal(__kvmHasDeviceAttr(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, ctlr), -ENXIO);
    t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, ctlr, u64()), -ENOENT);
    t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, ctlr, null), -ENOENT, 'ENOENT before the buffer is read');
    const bad = CR0 | (1n << 32n);
    t.equal(__kvmHasDeviceAttr(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, bad), -EINVAL);
    t.equal(__kvmDeviceAttrGet(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, bad, u64()), -EINVAL);
    t.equal(__kvmDeviceAttrSet(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, bad, u64()), -EINVAL);
    t.equal(V5_USER_SYSREGS.length, 26, 'ICSR, PPI_ENABLER0/1, SACTIVER0/1, SPENDR0/1, PRIORITYR0..15, APR, CR0, PCR');
    for (const r of V5_USER_SYSREGS) t.equal(__kvmHasDeviceAttr(f.fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, r.enc), 0, r.name);
  });
});

t.test('A.3 GRP_IRS_REGS', async (t) => {
  t.test('ENXIO for an unknown offset (has, get, set)', async (t) => {
    const f = v5Vm();
    for (const off of [0x10000, 0x20, 0x3fc, 0x400, 0xffbc]) {
      t.equal(__kvmHasDeviceAttr(f.fd, IRS, off), -ENXIO, `has 0x${off.toString(16)}`);
      t.equal(__kvmDeviceAttrGet(f.fd, IRS, off, u64()), -ENXIO, `get 0x${off.toString(16)}`);
      t.equal(__kvmDeviceAttrSet(f.fd, IRS, off, u64()), -ENXIO, `set 0x${off.toString(16)}`);
    }
  });
  t.test('EINVAL if misaligned for the register width (no half access of 64-bit registers)', async (t) => {
    const f = v5Vm();
    for (const off of [GICV5_IRS_IDR0 + 2, GICV5_IRS_IDR0 + 1, GICV5_IRS_IST_BASER + 4, GICV5_IRS_IST_BASER + 2]) {
      t.equal(__kvmHasDeviceAttr(f.fd, IRS, off), -EINVAL, `has 0x${off.toString(16)}`);
      t.equal(__kvmDeviceAttrGet(f.fd, IRS, off, u64()), -EINVAL, `get 0x${off.toString(16)}`);
    }
  });
  t.test('EBUSY before init; ENXIO without an IRS address; writes after run -> EBUSY', async (t) => {
    const f = v5Vm({ init: false });
    t.equal(__kvmDeviceAttrGet(f.fd, IRS, GICV5_IRS_IDR0, u64()), -EBUSY);
    t.equal(__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IDR0, u64()), -EBUSY);
    const g = v5Vm({ addr: false });
    t.equal(__kvmDeviceAttrGet(g.fd, IRS, GICV5_IRS_IDR0, u64()), -ENXIO, 'vgic_v5_irs_attr_regs_access: base undefined');
    const h = v5Vm({ guest: doneGuestV5 });
    t.equal(__vcpuRun(h.vcpus[0]!), 0);
    const v = u64();
    t.equal(__kvmDeviceAttrGet(h.fd, IRS, GICV5_IRS_IDR0, v), 0, 'reads after run');
    t.equal(__kvmDeviceAttrSet(h.fd, IRS, GICV5_IRS_IDR0, v), -EBUSY, 'writes after run');
  });
  t.test('ID registers IDR0-2/5-7 validated on write (bad value -> EINVAL), IDR3/4 RAZ/WI', async (t) => {
    const f = v5Vm();
    const get = (off: number): bigint => {
      const v = u64();
      if (__kvmDeviceAttrGet(f.fd, IRS, off, v)) throw new Error('get');
      return v.value;
    };
    const set = (off: number, v: bigint): number => __kvmDeviceAttrSet(f.fd, IRS, off, u64(v));
    for (const off of [GICV5_IRS_IDR0, GICV5_IRS_IDR1, GICV5_IRS_IDR2, GICV5_IRS_IDR5, GICV5_IRS_IDR6, GICV5_IRS_IDR7]) t.equal(set(off, get(off)), 0, `0x${off.toString(16)} round trip`);
    t.equal(set(GICV5_IRS_IDR0, get(GICV5_IRS_IDR0) & ~3n), -EINVAL, 'IDR0 secure domain');
    for (const bit of [6, 7, 8, 9, 10, 11, 12]) t.equal(set(GICV5_IRS_IDR0, get(GICV5_IRS_IDR0) | (1n << BigInt(bit))), -EINVAL, `IDR0 bit ${bit}`);
    t.equal(set(GICV5_IRS_IDR1, get(GICV5_IRS_IDR1) ^ (1n << 16n)), -EINVAL, 'IDR1 IAFFID_BITS');
    t.equal(set(GICV5_IRS_IDR1, get(GICV5_IRS_IDR1) | (7n << 20n)), -EINVAL, 'IDR1 PRIORITY_BITS above the host');
    t.equal(set(GICV5_IRS_IDR1, (get(GICV5_IRS_IDR1) & ~(7n << 20n)) | (2n << 20n)), 0, 'IDR1 fewer priority bits');
    const idr2 = get(GICV5_IRS_IDR2);
    t.equal(set(GICV5_IRS_IDR2, idr2 & ~(1n << 5n)), -EINVAL, 'IDR2 without LPI');
    t.equal(set(GICV5_IRS_IDR2, idr2 | (1n << 10n)), -EINVAL, 'IDR2 IST_LEVELS');
    t.equal(set(GICV5_IRS_IDR2, idr2 | (1n << 14n)), -EINVAL, 'IDR2 ISTMD');
    t.equal(set(GICV5_IRS_IDR2, idr2 | (1n << 15n)), -EINVAL, 'IDR2 ISTMD_SZ');
    t.equal(set(GICV5_IRS_IDR2, (idr2 & ~0x1fn) | 25n), -EINVAL, 'IDR2 ID_BITS above the host');
    t.equal(set(GICV5_IRS_IDR2, idr2 & ~(0xfn << 6n)), -EINVAL, 'IDR2 MIN_LPI_ID_BITS below the host');
    t.equal(set(GICV5_IRS_IDR2, (idr2 & ~0x1fn) | 4n), -EINVAL, 'IDR2 MIN_LPI_ID_BITS above ID_BITS');
    for (const off of [GICV5_IRS_IDR5, GICV5_IRS_IDR6, GICV5_IRS_IDR7]) t.equal(set(off, get(off) + 1n), -EINVAL, `0x${off.toString(16)} + 1`);
    for (const off of [GICV5_IRS_IDR3, GICV5_IRS_IDR4]) {
      t.equal(set(off, 0xffffffffn), 0, `0x${off.toString(16)} WI`);
      t.equal(get(off), 0n, `0x${off.toString(16)} RAZ`);
    }
  });
  t.test('*_STATUSR read as idle', async (t) => {
    const f = v5Vm();
    for (const off of [GICV5_IRS_SYNC_STATUSR, GICV5_IRS_SPI_STATUSR, GICV5_IRS_PE_STATUSR, GICV5_IRS_IST_STATUSR]) {
      const v = u64(0xbad);
      t.equal(__kvmDeviceAttrGet(f.fd, IRS, off, v), 0);
      t.equal(v.value, 1n, `0x${off.toString(16)} = IDLE`);
    }
  });
  t.test('IST_CFGR/IST_BASER frozen once an LPI IST exists (same value OK, different -> EINVAL)', async (t) => {
    const f = restoredLpiVm();
    t.equal(__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IST_BASER, u64(BASER ^ 0x40n)), 0, 'before the IST exists: changed BASER accepted');
    t.equal(__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IST_BASER, u64(BASER)), 0);
    t.equal(__kvmDeviceAttrSet(f.fd, IST, 0, goodIst(true)), 0, 'the IST restore allocates the host LPI IST');
    t.equal(__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IST_BASER, u64(BASER)), 0, 'same BASER');
    t.equal(__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IST_BASER, u64(BASER ^ 0x40n)), -EINVAL, 'other address');
    t.equal(__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IST_BASER, u64(BASER & ~1n)), -EINVAL, 'VALID cleared');
    t.equal(__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IST_CFGR, u64(CFGR)), 0, 'same CFGR');
    t.equal(__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IST_CFGR, u64(CFGR + 1)), -EINVAL, 'other LPI_ID_BITS');
    t.equal(__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IST_CFGR, u64(CFGR | (1 << 16))), -EINVAL, 'two-level');
  });
  t.test('get NULL / set NULL -> EFAULT', async (t) => {
    const f = v5Vm();
    t.equal(__kvmDeviceAttrGet(f.fd, IRS, GICV5_IRS_IDR0, null), -EFAULT);
    t.equal(__kvmDeviceAttrSet(f.fd, IRS, GICV5_IRS_IDR0, null), -EFAULT);
  });
});

t.test('A.3/A.4 GRP_IST: attr != 0 -> ENXIO (get, set, has)', async (t) => {
  const f = v5Vm();
  for (const attr of [1, 2, 0x100000000n]) {
    t.equal(__kvmHasDeviceAttr(f.fd, IST, attr), -ENXIO, `has ${attr}`);
    t.equal(__kvmDeviceAttrGet(f.fd, IST, attr, goodIst()), -ENXIO, `get ${attr}`);
    t.equal(__kvmDeviceAttrSet(f.fd, IST, attr, goodIst()), -ENXIO, `set ${attr}`);
  }
  t.equal(__kvmHasDeviceAttr(f.fd, IST, 0), 0);
});

t.test('A.4 IST save/restore errors', async (t) => {
  t.test('before CTRL_INIT -> EBUSY', async (t) => {
    const f = v5Vm({ init: false });
    t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, goodIst()), -EBUSY);
    t.equal(__kvmDeviceAttrSet(f.fd, IST, 0, goodIst()), -EBUSY);
  });
  t.test('restore after any vCPU has run -> EBUSY (save still works)', async (t) => {
    const f = v5Vm({ vcpus: 2, guest: doneGuestV5 });
    t.equal(__vcpuRun(f.vcpus[1]!), 0);
    t.equal(__kvmDeviceAttrSet(f.fd, IST, 0, goodIst()), -EBUSY);
    t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, goodIst()), 0);
  });
  t.test('attr->addr NULL -> EINVAL; unreadable (1) -> EFAULT; a struct cut short -> EFAULT', async (t) => {
    const f = v5Vm();
    for (const [name, op] of [['get', __kvmDeviceAttrGet], ['set', __kvmDeviceAttrSet]] as const) {
      t.equal(op(f.fd, IST, 0, null), -EINVAL, `${name} NULL`);
      t.equal(op(f.fd, IST, 0, userPtr(1)), -EFAULT, `${name} (void *)1`);
      t.equal(op(f.fd, IST, 0, userBytes(24)), -EFAULT, `${name} 24-byte struct`);
      t.equal(op(f.fd, IST, 0, u64()), -EFAULT, `${name} a u64`);
    }
  });
  t.test('SPI addr 0 / size 0, or size != nr_spis * 4 (one entry short or long) -> EINVAL, buffer untouched', async (t) => {
    const f = v5Vm({ nrSpis: 64 });
    const buf = userBytes(64 * 4 + 4, { fill: 0x5a });
    for (const [what, addr, size] of [
      ['addr 0', null, 64 * 4],
      ['size 0', buf, 0],
      ['one entry short', buf, 63 * 4],
      ['one entry long', buf, 65 * 4],
      ['the default 32 entries', buf, 32 * 4],
    ] as const) {
      const s = vgicV5IstAttr(addr, size, null, 0);
      t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, s), -EINVAL, `save: ${what}`);
      t.equal(__kvmDeviceAttrSet(f.fd, IST, 0, s), -EINVAL, `restore: ${what}`);
    }
    t.ok(buf.bytes().every((b) => b === 0x5a), 'no byte copied');
    t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, vgicV5IstAttr(buf, 64 * 4, null, 0)), 0, 'exact size');
  });
  t.test('LPI buffer supplied while no LPI IST configured -> EINVAL', async (t) => {
    const f = v5Vm();
    const s = vgicV5IstAttr(spiBuf(), 128, userBytes(LPI_IST_BYTES), LPI_IST_BYTES);
    t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, s), -EINVAL);
    t.equal(__kvmDeviceAttrSet(f.fd, IST, 0, s), -EINVAL);
    t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, vgicV5IstAttr(spiBuf(), 128, null, 4)), -EINVAL, 'a size without an address');
  });
  t.test('LPI IST configured but LPI buffer missing or wrong size -> EINVAL', async (t) => {
    const f = guestLpiVm();
    for (const [what, lpi, size] of [
      ['missing', null, 0],
      ['size without address', null, LPI_IST_BYTES],
      ['one entry short', userBytes(LPI_IST_BYTES), LPI_IST_BYTES - 4],
      ['one entry long', userBytes(LPI_IST_BYTES + 4), LPI_IST_BYTES + 4],
    ] as const) {
      t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, vgicV5IstAttr(spiBuf(), 128, lpi, size)), -EINVAL, `save: ${what}`);
    }
    t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, goodIst(true)), 0, 'save with both buffers');
    const r = restoredLpiVm();
    t.equal(__kvmDeviceAttrSet(r.fd, IST, 0, goodIst(false)), -EINVAL, 'restore: missing');
    t.equal(__kvmDeviceAttrSet(r.fd, IST, 0, vgicV5IstAttr(spiBuf(), 128, userBytes(LPI_IST_BYTES), 64)), -EINVAL, 'restore: wrong size');
    t.equal(r.v5.lpis, null, 'nothing allocated by a refused restore');
  });
  t.test('IST restore before IRS_REGS restore (so no LPI IST known) with an LPI buffer -> EINVAL', async (t) => {
    const f = v5Vm({ vcpus: 2 });
    t.equal(__kvmDeviceAttrSet(f.fd, IST, 0, goodIst(true)), -EINVAL);
  });
  t.test('save: VM left quiescence during copy -> EBUSY', async (t) => {
    const f = v5Vm({ host: { faults: { quiesceLost: true } } });
    t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, goodIst()), -EBUSY);
  });
  t.test('LPI IST already allocated on restore -> EBUSY', async (t) => {
    const f = restoredLpiVm();
    // The first restore allocates the host LPI IST, then faults copying from an unmapped LPI buffer.
    t.equal(__kvmDeviceAttrSet(f.fd, IST, 0, vgicV5IstAttr(spiBuf(), 128, userPtr(0x1000), LPI_IST_BYTES)), -EFAULT);
    t.not(f.v5.lpis, null, 'the host LPI IST was allocated');
    t.equal(__kvmDeviceAttrSet(f.fd, IST, 0, goodIst(true)), -EBUSY, 'a second allocation is refused');
  });
  t.test('inconsistent host IST state -> ENXIO', async (t) => {
    // IST_BASER restored valid (the guest-visible IST exists) but the host LPI IST is not allocated
    // until GRP_IST is restored: a save in between finds the two disagreeing.
    const f = restoredLpiVm();
    t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, goodIst(true)), -ENXIO);
  });
  t.test('allocation failure on restore -> ENOMEM', async (t) => {
    const f = restoredLpiVm({ faults: { lpiIstAllocFail: true } });
    t.equal(__kvmDeviceAttrSet(f.fd, IST, 0, goodIst(true)), -ENOMEM);
    const vm = vmCreateBarebones({ gicv5: { faults: { spiIstAllocFail: true } } });
    const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V5);
    vm.createVcpu(0);
    t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), -ENOMEM, 'CTRL_INIT: the SPI IST');
  });
  t.test('IRS save/VM op timeout -> ETIMEDOUT', async (t) => {
    const f = v5Vm({ host: { faults: { irsTimeout: true } } });
    t.equal(__kvmDeviceAttrGet(f.fd, IST, 0, goodIst()), -ETIMEDOUT, 'save');
    t.equal(__kvmDeviceAttrSet(f.fd, IST, 0, goodIst()), -ETIMEDOUT, 'restore');
  });
});
