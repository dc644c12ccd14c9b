// KVM_DEV_TYPE_ARM_VGIC_ITS: every register's reset value, what userspace and the guest may do
// with each (vgic-its.c: its_registers[], vgic_its_attr_regs_access, vgic_its_has_attr_regs),
// the ADDR and CTRL groups with their errnos (vgic_its_set_attr, vgic_its_ctrl, vgic_its_reset),
// the guest's MMIO widths and 32-bit halves, and several ITSes in one VM.

import t from '../../../test/tap.ts';
import type { Guest, GuestProgram } from '../../guest/index.ts';
import {
  E2BIG,
  EBUSY,
  EEXIST,
  EFAULT,
  EINVAL,
  ENODEV,
  ENXIO,
  GICD_TYPER,
  GICR_PROPBASER,
  GITS_BASE_GPA,
  GITS_BASER,
  GITS_CBASER,
  GITS_CIDR0,
  GITS_CIDR1,
  GITS_CIDR2,
  GITS_CIDR3,
  GITS_CREADR,
  GITS_CTLR,
  GITS_CWRITER,
  GITS_IIDR,
  GITS_PIDR0,
  GITS_PIDR1,
  GITS_PIDR2,
  GITS_PIDR4,
  GITS_TRANSLATER,
  GITS_TYPER,
  KVM_DEV_ARM_ITS_CTRL_RESET,
  KVM_DEV_ARM_ITS_RESTORE_TABLES,
  KVM_DEV_ARM_ITS_SAVE_TABLES,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_ITS_REGS,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES,
  KVM_DEV_TYPE_ARM_VGIC_ITS,
  KVM_VGIC_ITS_ADDR_TYPE,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  kvmCreateDevice,
  kvmMsi,
  __kvmSignalMsi,
  u32,
  u64,
  vcpuSetGuestCode,
} from '../../host/index.ts';
import { distGet, hex, rdGet, runGuest, v3Vm } from '../../../test/support/vgic.ts';
import { CMDQ, COLL_TABLE, DEV_TABLE, VALID, flatBaser, itsVm } from '../../../test/support/its.ts';

const ITS = KVM_DEV_ARM_VGIC_GRP_ITS_REGS;

function regGet(fd: number, offset: number | bigint): { ret: number; value: bigint } {
  const b = u64(0xdeadbeefn);
  const ret = __kvmDeviceAttrGet(fd, ITS, offset, b);
  return { ret, value: b.value };
}
const regSet = (fd: number, offset: number | bigint, v: bigint | number): number => __kvmDeviceAttrSet(fd, ITS, offset, u64(BigInt(v)));

t.test('reset values through ITS_REGS (vgic_its_create, vgic_its_commit_v0)', (t) => {
  const f = itsVm({ enable: false, lpis: false });
  const want: Array<[string, number, bigint]> = [
    ['GITS_CTLR: Quiescent, disabled', GITS_CTLR, 0x80000000n],
    ['GITS_IIDR: KVM, ARM, ABI revision 0', GITS_IIDR, 0x4b00043bn],
    ['GITS_TYPER: PLPIS, ITT entry 8, 16 EventID and DeviceID bits, PTA 0, CIL 0', GITS_TYPER, 0x1ef71n],
    ['GITS_CBASER', GITS_CBASER, 0n],
    ['GITS_CWRITER', GITS_CWRITER, 0n],
    ['GITS_CREADR', GITS_CREADR, 0n],
    ['GITS_BASER0: Device, 8-byte entries, inner RaWb, inner shareable, 64K pages', GITS_BASER, 0x1907000000000600n],
    ['GITS_BASER1: Collection, the same', GITS_BASER + 8, 0x1c07000000000600n],
    ['GITS_PIDR0', GITS_PIDR0, 0x92n],
    ['GITS_PIDR1', GITS_PIDR1, 0xb4n],
    ['GITS_PIDR2: GICv3 architecture', GITS_PIDR2, 0x3bn],
    ['GITS_PIDR4: a 64K page', GITS_PIDR4, 0x40n],
    ['GITS_CIDR0', GITS_CIDR0, 0x0dn],
    ['GITS_CIDR1', GITS_CIDR1, 0xf0n],
    ['GITS_CIDR2', GITS_CIDR2, 0x05n],
    ['GITS_CIDR3', GITS_CIDR3, 0xb1n],
    ['GITS_PIDR3 (0xffec) reads 0', 0xffec, 0n],
  ];
  for (const [name, off, v] of want) t.equal(hex(f.reg(off)), hex(v), name);
  for (let n = 2; n < 8; n++) t.equal(f.reg(GITS_BASER + 8 * n), 0n, `GITS_BASER${n}: 0`);
  t.end();
});

t.test('ITS creation resets the VM-wide PROPBASER and advertises LPIs', (t) => {
  const g = v3Vm({ nrVcpus: 1 });
  t.equal(distGet(g.fd, GICD_TYPER).value & (1 << 17), 0, 'no ITS: GICD_TYPER.LPIS clear');
  g.vm.dist.propbaser = 0x1234000n;
  const its = kvmCreateDevice(g.vm, KVM_DEV_TYPE_ARM_VGIC_ITS);
  t.ok(its > 0, 'ITS created');
  t.equal(hex(rdGet(g.fd, 0, GICR_PROPBASER).value), hex(0x580), 'PROPBASER = INITIAL_PROPBASER_VALUE (vgic_its_create)');
  t.equal(distGet(g.fd, GICD_TYPER).value & (1 << 17), 1 << 17, 'GICD_TYPER.LPIS');
  t.equal(hex((distGet(g.fd, GICD_TYPER).value >>> 19) & 0x1f), hex(15), 'IDbits: 16 (INTERRUPT_ID_BITS_ITS)');
  t.end();
});

t.test('userspace writes: read-only registers ignored, IIDR revision, CBASER and BASER sanitised', (t) => {
  const f = itsVm({ enable: false, lpis: false });
  t.equal(f.setReg(GITS_TYPER, 0), 0, 'TYPER write: 0');
  t.equal(hex(f.reg(GITS_TYPER)), hex(0x1ef71n), 'TYPER unchanged');
  t.equal(f.setReg(GITS_PIDR2, 0), 0, 'PIDR2 write: 0');
  t.equal(f.reg(GITS_PIDR2), 0x3bn, 'PIDR2 unchanged');
  // vgic_mmio_uaccess_write_its_iidr: revision >= NR_ITS_ABIS (1) -> EINVAL; other fields ignored
  t.equal(f.setReg(GITS_IIDR, 0x1000), -EINVAL, 'IIDR revision 1: EINVAL');
  t.equal(f.setReg(GITS_IIDR, 0xffff0fff), 0, 'IIDR revision 0 with junk elsewhere: 0');
  t.equal(hex(f.reg(GITS_IIDR)), hex(0x4b00043bn), 'IIDR unchanged');
  // CBASER: OuterShareable -> Inner, inner nC -> RaWb, outer RaWb -> SameAsInner, PA bits 15:12 cleared
  t.equal(f.setReg(GITS_CBASER, VALID | (2n << 10n) | (1n << 59n) | (3n << 53n) | 0x4000f000n | 3n), 0, 'CBASER write');
  t.equal(hex(f.reg(GITS_CBASER)), hex(VALID | (1n << 10n) | (3n << 59n) | 0x40000000n | 3n), 'CBASER sanitised (vgic_sanitise_its_cbaser)');
  // BASER: Type and Entry_Size read-only, page size forced to 64K, Indirect kept for the device table
  t.equal(f.setReg(GITS_BASER, VALID | (1n << 62n) | (7n << 56n) | (0x1fn << 48n) | BigInt(DEV_TABLE) | (0n << 8n) | 0xffn), 0, 'BASER0 write');
  t.equal(hex(f.reg(GITS_BASER)), hex(VALID | (1n << 62n) | (1n << 56n) | (7n << 48n) | (3n << 59n) | BigInt(DEV_TABLE) | (2n << 8n) | 0xffn), 'BASER0: Type 1, Entry_Size 7, 64K, inner RaWb');
  t.equal(f.setReg(GITS_BASER + 8, VALID | (1n << 62n) | BigInt(COLL_TABLE)), 0, 'BASER1 write with Indirect');
  t.equal(f.reg(GITS_BASER + 8) & (1n << 62n), 0n, 'the collection table is never indirect');
  t.equal(f.setReg(GITS_BASER + 16, -1n), 0, 'BASER2 write: 0');
  t.equal(f.reg(GITS_BASER + 16), 0n, 'BASER2 stays 0');
  t.end();
});

t.test('GITS_CTLR: enabling needs valid BASERs and CBASER; CBASER/BASER are frozen while enabled', (t) => {
  const f = itsVm({ enable: false, lpis: false });
  t.equal(f.setReg(GITS_CTLR, 1), 0, 'enable with nothing valid: 0');
  t.equal(f.reg(GITS_CTLR), 0x80000000n, 'still disabled (UNPREDICTABLE: KVM ignores the write)');
  f.setReg(GITS_BASER, flatBaser(DEV_TABLE));
  f.setReg(GITS_BASER + 8, flatBaser(COLL_TABLE));
  f.setReg(GITS_CTLR, 1);
  t.equal(f.reg(GITS_CTLR), 0x80000000n, 'without a valid CBASER: still disabled');
  f.setReg(GITS_CBASER, VALID | BigInt(CMDQ) | 15n);
  f.setReg(GITS_CTLR, 1);
  t.equal(f.reg(GITS_CTLR), 0x80000001n, 'enabled and quiescent');
  const cbaser = f.reg(GITS_CBASER);
  const baser = f.reg(GITS_BASER);
  f.setReg(GITS_CBASER, VALID | 0x50000000n);
  f.setReg(GITS_BASER, flatBaser(0x50000000));
  t.equal(f.reg(GITS_CBASER), cbaser, 'CBASER read-only while enabled');
  t.equal(f.reg(GITS_BASER), baser, 'BASER ignored while enabled');
  t.end();
});

t.test('CBASER write resets CREADR and CWRITER; CREADR is restorable only while disabled and inside the queue', (t) => {
  const f = itsVm({ enable: false, lpis: false });
  f.setReg(GITS_CBASER, VALID | BigInt(CMDQ) | 1n); // 8K queue
  t.equal(f.setReg(GITS_CWRITER, 0x100), 0, 'CWRITER 0x100 (disabled: nothing runs)');
  t.equal(f.setReg(GITS_CREADR, 0x60), 0, 'CREADR 0x60 restored');
  t.equal(f.reg(GITS_CREADR), 0x60n, 'CREADR 0x60');
  t.equal(f.setReg(GITS_CREADR, 0x2000), -EINVAL, 'CREADR at the queue size: EINVAL');
  t.equal(f.setReg(GITS_CREADR, 0x1fff), 0, 'CREADR 0x1fff: masked to 0x1fe0');
  t.equal(f.reg(GITS_CREADR), 0x1fe0n, 'ITS_CMD_OFFSET');
  f.setReg(GITS_CBASER, VALID | BigInt(CMDQ) | 1n);
  t.same([f.reg(GITS_CREADR), f.reg(GITS_CWRITER)], [0n, 0n], 'CBASER write: CREADR = CWRITER = 0');
  t.end();
});

t.test('a BASER value that changes drops every device (or collection); an unchanged one does not', (t) => {
  const f = itsVm({ enable: false, lpis: false });
  const its = f.its;
  its.devices.set(1, { deviceId: 1, ittAddr: 0, numEventIdBits: 1, ites: new Map() });
  its.collections.set(2, { collectionId: 2, targetAddr: 0 });
  f.setReg(GITS_BASER, f.reg(GITS_BASER));
  t.equal(its.devices.size, 1, 'rewriting the same BASER0 keeps the devices ("rewrites an unchanged GITS_BASER<n> on resume")');
  f.setReg(GITS_BASER, flatBaser(DEV_TABLE));
  t.equal(its.devices.size, 0, 'a new BASER0 frees the device list');
  t.equal(its.collections.size, 1, 'collections kept');
  f.setReg(GITS_BASER + 8, flatBaser(COLL_TABLE));
  t.equal(its.collections.size, 0, 'a new BASER1 frees the collection list');
  t.end();
});

t.test('ITS_REGS errnos: EFAULT, EINVAL alignment, ENXIO without a base or a register, EBUSY', (t) => {
  const g = v3Vm({ nrVcpus: 1, its: true });
  const fd = g.itsFd;
  t.equal(regGet(fd, GITS_CTLR).ret, -ENXIO, 'no ITS base yet: ENXIO (vgic_its_attr_regs_access)');
  t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, u64(GITS_BASE_GPA)), 0, 'base set');
  t.equal(__kvmDeviceAttrSet(fd, ITS, GITS_CTLR, null), -EFAULT, 'set with NULL: EFAULT');
  t.equal(__kvmDeviceAttrSet(fd, ITS, GITS_CTLR, u32(0)), -EFAULT, 'set with a 32-bit buffer: EFAULT (the value is a __u64)');
  t.equal(__kvmDeviceAttrGet(fd, ITS, GITS_CTLR, null), -EFAULT, 'get with NULL: EFAULT');
  // 32-bit registers (below GITS_TYPER, from GITS_PIDR4 up) need 4-byte alignment, the rest 8
  t.equal(regGet(fd, 0x2).ret, -EINVAL, 'CTLR+2: EINVAL');
  t.equal(regGet(fd, GITS_TYPER + 4).ret, -EINVAL, 'TYPER+4 (a 32-bit half): EINVAL');
  t.equal(regGet(fd, GITS_CWRITER + 4).ret, -EINVAL, 'CWRITER+4: EINVAL');
  t.equal(regGet(fd, GITS_PIDR2 + 2).ret, -EINVAL, 'PIDR2+2: EINVAL');
  t.equal(regGet(fd, 0xffd4).ret, 0, 'an ID register at 0xffd4: 0');
  t.equal(regGet(fd, 0x10).ret, -ENXIO, '0x10 (hole): ENXIO');
  t.equal(regGet(fd, GITS_TRANSLATER).ret, -ENXIO, 'GITS_TRANSLATER has no register: ENXIO');
  t.equal(regGet(fd, 1n << 40n).ret, -ENXIO, 'offset 2^40: ENXIO');
  t.equal(regGet(fd, (1n << 40n) + 2n).ret, -EINVAL, 'offset 2^40 + 2: EINVAL');
  g.vcpus[0]!.running = true;
  t.equal(regGet(fd, GITS_CTLR).ret, -EBUSY, 'a vCPU in KVM_RUN: EBUSY (kvm_trylock_all_vcpus)');
  t.equal(regGet(fd, 0x2).ret, -EINVAL, 'alignment is checked before the locks');
  g.vcpus[0]!.running = false;
  t.end();
});

t.test('has_attr for every group', (t) => {
  const g = v3Vm({ nrVcpus: 1, its: true });
  const has = (grp: number, a: number | bigint): number => __kvmHasDeviceAttr(g.itsFd, grp, a);
  t.equal(has(KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE), 0, 'ADDR ITS type: 0');
  t.equal(has(KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST), -ENXIO, 'ADDR other type: ENXIO');
  for (const a of [KVM_DEV_ARM_VGIC_CTRL_INIT, KVM_DEV_ARM_ITS_SAVE_TABLES, KVM_DEV_ARM_ITS_RESTORE_TABLES, KVM_DEV_ARM_ITS_CTRL_RESET]) {
    t.equal(has(KVM_DEV_ARM_VGIC_GRP_CTRL, a), 0, `CTRL ${a}: 0`);
  }
  t.equal(has(KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES), -ENXIO, 'CTRL SAVE_PENDING_TABLES: ENXIO');
  // vgic_its_has_attr_regs: no base needed
  for (const off of [GITS_CTLR, GITS_IIDR, GITS_TYPER, GITS_CBASER, GITS_CWRITER, GITS_CREADR, GITS_BASER, GITS_BASER + 0x38, 0xffd0, GITS_PIDR2, GITS_CIDR3]) {
    t.equal(has(ITS, off), 0, `ITS_REGS 0x${off.toString(16)}: 0`);
  }
  t.equal(has(ITS, GITS_TYPER + 4), -EINVAL, 'ITS_REGS TYPER+4: EINVAL');
  t.equal(has(ITS, 0x1), -EINVAL, 'ITS_REGS 0x1: EINVAL');
  t.equal(has(ITS, 0x18), -ENXIO, 'ITS_REGS 0x18 (GITS_MPIDR, not emulated): ENXIO');
  t.equal(has(ITS, GITS_TRANSLATER), -ENXIO, 'ITS_REGS GITS_TRANSLATER: ENXIO');
  t.equal(has(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0), -ENXIO, 'NR_IRQS: ENXIO');
  t.equal(has(99, 0), -ENXIO, 'unknown group: ENXIO');
  t.end();
});

t.test('ADDR: ENODEV, EFAULT, EINVAL, E2BIG, EEXIST; get before and after', (t) => {
  const g = v3Vm({ nrVcpus: 1, its: true, vm: { ipaBits: 36 } });
  const fd = g.itsFd;
  const get = (type: number): { ret: number; value: bigint } => {
    const b = u64(0n);
    return { ret: __kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, type, b), value: b.value };
  };
  t.same(get(KVM_VGIC_ITS_ADDR_TYPE), { ret: 0, value: 0xffffffffffffffffn }, 'unset: VGIC_ADDR_UNDEF');
  t.equal(get(KVM_VGIC_V3_ADDR_TYPE_DIST).ret, -ENODEV, 'get another type: ENODEV');
  const set = (type: number, v: bigint | number): number => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, type, u64(v));
  t.equal(set(KVM_VGIC_V3_ADDR_TYPE_DIST, 0x10000), -ENODEV, 'set another type: ENODEV');
  t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, null), -EFAULT, 'NULL: EFAULT');
  t.equal(set(KVM_VGIC_ITS_ADDR_TYPE, 0x1001000), -EINVAL, 'not 64K aligned: EINVAL');
  t.equal(set(KVM_VGIC_ITS_ADDR_TYPE, (1n << 36n) - 0x10000n), -E2BIG, 'the 128K frame pair crosses 2^36: E2BIG');
  t.equal(set(KVM_VGIC_ITS_ADDR_TYPE, (1n << 36n) - 0x20000n), 0, 'the last 128K of the IPA space');
  t.equal(set(KVM_VGIC_ITS_ADDR_TYPE, 0x1000000), -EEXIST, 'again: EEXIST');
  t.same(get(KVM_VGIC_ITS_ADDR_TYPE), { ret: 0, value: (1n << 36n) - 0x20000n }, 'get returns it');
  t.end();
});

t.test('CTRL: INIT does nothing, RESET empties the ITS, EBUSY with a running vCPU, ENXIO otherwise', (t) => {
  const f = itsVm();
  f.cmd([8n | (1n << 32n), 7n, (1n << 63n) | 0x40200000n, 0n]); // MAPD device 1
  t.equal(f.its.devices.size, 1, 'a device is mapped');
  f.vcpus[0]!.running = true;
  t.equal(__kvmDeviceAttrSet(f.itsFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), 0, 'INIT while running: 0 (returns before locking)');
  t.equal(__kvmDeviceAttrSet(f.itsFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_ITS_CTRL_RESET, null), -EBUSY, 'RESET while running: EBUSY');
  t.equal(__kvmDeviceAttrSet(f.itsFd, KVM_DEV_ARM_VGIC_GRP_CTRL, 5, null), -EBUSY, 'unknown while running: EBUSY (lock first)');
  f.vcpus[0]!.running = false;
  t.equal(__kvmDeviceAttrSet(f.itsFd, KVM_DEV_ARM_VGIC_GRP_CTRL, 5, null), -ENXIO, 'unknown: ENXIO');
  t.equal(__kvmDeviceAttrGet(f.itsFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_ITS_CTRL_RESET, u64()), -ENXIO, 'get CTRL: ENXIO');
  const baser0 = f.reg(GITS_BASER);
  t.equal(__kvmDeviceAttrSet(f.itsFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_ITS_CTRL_RESET, null), 0, 'RESET');
  t.equal(f.reg(GITS_BASER), baser0 & ~VALID, 'BASER0 keeps everything but Valid');
  t.equal(f.reg(GITS_CTLR), 0x80000000n, 'disabled');
  t.same([f.reg(GITS_CBASER), f.reg(GITS_CREADR), f.reg(GITS_CWRITER)], [0n, 0n, 0n], 'CBASER, CREADR, CWRITER 0');
  t.equal(f.its.devices.size + f.its.collections.size, 0, 'devices and collections freed');
  t.end();
});

// --- the guest's view -----------------------------------------------------------------------------------

const B = GITS_BASE_GPA;

t.test('guest MMIO: widths, 32-bit halves of 64-bit registers, GITS_TRANSLATER, the frame edges', (t) => {
  const f = itsVm({ enable: false, lpis: false, nrVcpus: 1 });
  vcpuSetGuestCode(f.vcpus[0]!, function* (g: Guest): GuestProgram {
    yield* g.sync(yield* g.readl(B + GITS_CTLR)); // 32-bit
    yield* g.sync(yield* g.readq(B + GITS_CTLR)); // 64-bit: CTLR allows 32 only -> RAZ
    yield* g.sync(yield* g.readb(B + GITS_IIDR)); // 8-bit: RAZ
    yield* g.sync(yield* g.readl(B + GITS_TYPER)); // low half
    yield* g.sync(yield* g.readl(B + GITS_TYPER + 4)); // high half
    yield* g.sync(yield* g.readq(B + GITS_TYPER));
    yield* g.sync(yield* g.readq(B + GITS_CBASER + 4)); // misaligned 64-bit: RAZ
    // CBASER in two 32-bit halves (update_64bit_reg), each write sanitised
    yield* g.writel(B + GITS_CBASER, 0x40020003);
    yield* g.writel(B + GITS_CBASER + 4, 0x80000000);
    yield* g.sync(yield* g.readq(B + GITS_CBASER));
    yield* g.writel(B + GITS_IIDR, 0x1000); // WI for the guest (the revision is a uaccess write)
    yield* g.sync(yield* g.readl(B + GITS_IIDR));
    yield* g.writel(B + GITS_TRANSLATER, 3); // no register: ignored
    yield* g.sync(yield* g.readl(B + GITS_TRANSLATER));
    yield* g.sync(yield* g.readl(B + GITS_PIDR2));
    yield* g.done();
  });
  const got = runGuest(f.vcpus[0]!);
  t.same(
    got.map((v) => hex(v)),
    [0x80000000, 0n, 0, 0x1ef71, 0, 0x1ef71n, 0n, VALID | (3n << 59n) | 0x40020003n, 0x4b00043b, 0, 0x3b].map((v) => hex(v)),
    'CTLR, CTLR as 64 (RAZ), IIDR as 8 (RAZ), TYPER low/high/64, misaligned (RAZ), merged CBASER, IIDR, TRANSLATER, PIDR2',
  );
  t.equal(__kvmSignalMsi(f.vm, kvmMsi(B + GITS_TRANSLATER, 0, 3)), -EBUSY, 'the guest write did not enable or trigger anything');
  t.end();
});

t.test('several ITSes: separate registers, tables and doorbells', (t) => {
  const f = itsVm();
  const second = kvmCreateDevice(f.vm, KVM_DEV_TYPE_ARM_VGIC_ITS);
  t.equal(__kvmDeviceAttrSet(second, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, u64(0x9000000)), 0, 'second ITS at 0x9000000');
  t.equal(regGet(second, GITS_CTLR).value, 0x80000000n, 'second ITS: disabled');
  t.equal(f.reg(GITS_CTLR), 0x80000001n, 'first ITS: enabled');
  t.equal(regSet(second, GITS_BASER, flatBaser(0x40300000)), 0, 'second ITS: its own device table');
  t.equal(hex(f.reg(GITS_BASER) & 0xffffffff0000n), hex(BigInt(DEV_TABLE)), 'first ITS BASER0 unchanged');
  t.equal(__kvmSignalMsi(f.vm, kvmMsi(0x9000000 + GITS_TRANSLATER, 0, 0)), -EBUSY, 'MSI to the second (disabled) ITS: -EBUSY');
  t.equal(__kvmSignalMsi(f.vm, kvmMsi(B + GITS_TRANSLATER, 0, 0)), 0, 'MSI to the first (enabled, nothing mapped): 0');
  t.end();
});

t.test('guest 32-bit halves of CWRITER and BASER<n> (update_64bit_reg)', (t) => {
  const f = itsVm({ nrVcpus: 1 });
  vcpuSetGuestCode(f.vcpus[0]!, function* (g: Guest): GuestProgram {
    yield* g.writel(B + GITS_CWRITER, 0x40); // low half: two (zeroed, -ENODEV) slots run
    yield* g.sync(yield* g.readl(B + GITS_CREADR));
    yield* g.writel(B + GITS_CWRITER + 4, 0xffffffff); // high half: outside [19:5], CWRITER stays
    yield* g.sync(yield* g.readl(B + GITS_CWRITER));
    yield* g.sync(yield* g.readl(B + GITS_CWRITER + 4));
    yield* g.writel(B + GITS_CTLR, 0); // disable, so BASER is writable
    yield* g.writel(B + GITS_BASER + 8 + 4, 0x80000000); // BASER1 high half: Valid only
    yield* g.writel(B + GITS_BASER + 8, 0x40010000); // low half: the address
    yield* g.sync(yield* g.readq(B + GITS_BASER + 8));
    yield* g.done();
  });
  const got = runGuest(f.vcpus[0]!);
  t.same(
    got.map((v) => hex(v)),
    [0x40, 0x40, 0, VALID | (3n << 59n) | (4n << 56n) | (7n << 48n) | 0x40010000n | (2n << 8n)].map((v) => hex(v)),
    'CREADR 0x40 after the low-half write; the high half changes nothing; BASER1 merged from two halves (inner nCnB sanitised to RaWb, Type, Entry_Size, 64K forced)',
  );
  t.end();
});
