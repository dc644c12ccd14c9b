// KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS: the GICv3 CPU interface registers as userspace saves and
// restores them. Expected values: reference §6, checked against arch/arm64/kvm/vgic-sys-reg-v3.c
// (gic_v3_icc_reg_descs, set/get_gic_ctlr, set/get_gic_ap{0,1}r, get/set_gic_bpr1, set_gic_sre,
// vgic_v3_has_cpu_sysregs_attr, vgic_v3_cpu_sysregs_uaccess), sys_regs.c
// (kvm_sys_reg_get_user / kvm_sys_reg_set_user: "if (!r || sysreg_hidden(vcpu, r)) return -ENOENT")
// and vgic-v3.c (vgic_v3_enable: VMCR = 0, SRE = SRE|DFB|DIB, num_pri_bits / num_id_bits from
// ICH_VTR_EL2).

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import {
  EBUSY,
  EFAULT,
  EINVAL,
  ENOENT,
  ENXIO,
  ICC_AP0R0_EL1,
  ICC_AP1R0_EL1,
  ICC_ASGI1R_EL1,
  ICC_BPR0_EL1,
  ICC_BPR1_EL1,
  ICC_CTLR_EL1,
  ICC_DIR_EL1,
  ICC_EOIR0_EL1,
  ICC_EOIR1_EL1,
  ICC_HPPIR0_EL1,
  ICC_HPPIR1_EL1,
  ICC_IAR0_EL1,
  ICC_IAR1_EL1,
  ICC_IGRPEN0_EL1,
  ICC_IGRPEN1_EL1,
  ICC_PMR_EL1,
  ICC_RPR_EL1,
  ICC_SGI0R_EL1,
  ICC_SGI1R_EL1,
  ICC_SRE_EL1,
  ICC_SRE_EL2,
  ICH_AP0R0_EL2,
  ICH_AP1R0_EL2,
  ICH_HCR_EL2,
  ICH_LR0_EL2,
  ICH_VMCR_EL2,
  ICH_VTR_EL2,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_SYSREG,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  u32,
  u64,
} from '../host/index.ts';
import { hex, rdAttr, runGuest, sysregGet, sysregSet, v3Vm } from '../../test/support/vgic.ts';

const AP0R = [0, 1, 2, 3].map((n) => ICC_AP0R0_EL1 + n);
const AP1R = [0, 1, 2, 3].map((n) => ICC_AP1R0_EL1 + n);
/** The 15 registers of gic_v3_icc_reg_descs (EL1). */
const EL1 = [ICC_PMR_EL1, ICC_BPR0_EL1, ...AP0R, ...AP1R, ICC_BPR1_EL1, ICC_CTLR_EL1, ICC_SRE_EL1, ICC_IGRPEN0_EL1, ICC_IGRPEN1_EL1];
/** EL2 registers in the table that are REG_HIDDEN without nested virt (el2_visibility). */
const EL2 = [ICH_AP0R0_EL2, ICH_AP1R0_EL2, ICC_SRE_EL2, ICH_HCR_EL2, ICH_VTR_EL2, ICH_VMCR_EL2, ICH_LR0_EL2];
/** Registers not in the table at all (trapped or hardware-only). */
const OTHERS = [ICC_IAR0_EL1, ICC_IAR1_EL1, ICC_EOIR0_EL1, ICC_EOIR1_EL1, ICC_HPPIR0_EL1, ICC_HPPIR1_EL1, ICC_DIR_EL1, ICC_RPR_EL1, ICC_SGI0R_EL1, ICC_SGI1R_EL1, ICC_ASGI1R_EL1, KVM_DEV_ARM_VGIC_SYSREG(3, 0, 0, 0, 0), 0xffff];
const name = (enc: number): string => `sysreg ${hex(enc)}`;

t.test('reset values after INIT (5 priority bits, 16 ID bits, A3V host)', (t) => {
  const { fd } = v3Vm();
  // vgic_v3_enable: VMCR = 0 -> PMR, BPR0, BPR1 (ABPR), IGRPEN0/1, CBPR, EOImode all 0; APRs 0;
  // SRE = SRE|DFB|DIB = 0x7; ICC_CTLR_EL1 = (PRIbits-1)<<8 | IDbits<<11 | A3V<<15 (ref §6)
  const want: Array<[number, bigint, string]> = [
    [ICC_PMR_EL1, 0n, 'ICC_PMR_EL1'],
    [ICC_BPR0_EL1, 0n, 'ICC_BPR0_EL1'],
    [ICC_AP0R0_EL1, 0n, 'ICC_AP0R0_EL1'],
    [ICC_AP1R0_EL1, 0n, 'ICC_AP1R0_EL1'],
    [ICC_BPR1_EL1, 0n, 'ICC_BPR1_EL1'],
    [ICC_CTLR_EL1, 0x8400n, 'ICC_CTLR_EL1: PRIbits 4 (5 bits), IDbits 0 (16), A3V'],
    [ICC_SRE_EL1, 0x7n, 'ICC_SRE_EL1: SRE|DFB|DIB'],
    [ICC_IGRPEN0_EL1, 0n, 'ICC_IGRPEN0_EL1'],
    [ICC_IGRPEN1_EL1, 0n, 'ICC_IGRPEN1_EL1'],
  ];
  for (const [enc, v, why] of want) {
    const r = sysregGet(fd, 0, enc);
    t.same([r.ret, hex(r.value)], [0, hex(v)], why);
  }
  t.end();
});

t.test('ICC_CTLR_EL1 reset value follows the host priority bits', (t) => {
  for (const [priBits, want] of [
    [5, 0x8400n],
    [6, 0x8500n],
    [7, 0x8600n],
  ] as const) {
    const { fd } = v3Vm({ vm: { priBits } });
    t.equal(hex(sysregGet(fd, 0, ICC_CTLR_EL1).value), hex(want), `${priBits} bits: ${hex(want)}`);
  }
  t.end();
});

t.test('get/set round trips and field masks', (t) => {
  const { fd } = v3Vm();
  const rt = (enc: number, w: bigint, r: bigint, why: string): void => {
    t.equal(sysregSet(fd, 0, enc, w), 0, `${why}: set ${hex(w)}`);
    t.equal(hex(sysregGet(fd, 0, enc).value), hex(r), `${why}: reads ${hex(r)}`);
  };
  // set_gic_pmr: FIELD_GET(ICC_PMR_EL1_MASK = 0xff); hardware masks to PRIbits only when loaded
  rt(ICC_PMR_EL1, 0xf0n, 0xf0n, 'PMR');
  rt(ICC_PMR_EL1, 0x1ffn, 0xffn, 'PMR keeps 8 bits');
  rt(ICC_PMR_EL1, 0x07n, 0x07n, 'PMR stores unimplemented low bits');
  // set_gic_bpr0: ICC_BPR0_EL1_MASK = 0x7
  rt(ICC_BPR0_EL1, 3n, 3n, 'BPR0');
  rt(ICC_BPR0_EL1, 0xfn, 7n, 'BPR0 keeps 3 bits');
  rt(ICC_BPR1_EL1, 0x9n, 1n, 'BPR1 keeps 3 bits (CBPR=0)');
  rt(ICC_IGRPEN0_EL1, 0x3n, 1n, 'IGRPEN0 bit 0');
  rt(ICC_IGRPEN1_EL1, 0xffn, 1n, 'IGRPEN1 bit 0');
  rt(ICC_IGRPEN1_EL1, 0x2n, 0n, 'IGRPEN1 bit 1 is not Enable');
  // set_apr_reg stores into a u32 (vgic_ap0r[]/vgic_ap1r[])
  rt(ICC_AP0R0_EL1, 0xdeadbeefn, 0xdeadbeefn, 'AP0R0');
  rt(ICC_AP1R0_EL1, 0x1_0000_0001n, 1n, 'AP1R0 is 32 bits');
  t.end();
});

t.test('ICC_CTLR_EL1 writes: only lower PRIbits/IDbits, SEIS/A3V must match, CBPR/EOImode stored', (t) => {
  const { fd } = v3Vm({ vm: { priBits: 7 } });
  // set_gic_ctlr: PRIbits+1 > num_pri_bits -> EINVAL; IDbits > num_id_bits -> EINVAL;
  // SEIS/A3V != host -> EINVAL; else lower num_pri_bits/num_id_bits, store CBPR and EOImode
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0x8600n), 0, 'same value: 0');
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0x8603n), 0, 'CBPR|EOImode: 0');
  t.equal(hex(sysregGet(fd, 0, ICC_CTLR_EL1).value), hex(0x8603n), 'reads back CBPR|EOImode');
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0x8700n), -EINVAL, 'PRIbits 8 > 7: EINVAL');
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0x8e00n), -EINVAL, 'IDbits 24 > 16: EINVAL');
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0xc600n), -EINVAL, 'SEIS set, host has none: EINVAL');
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0x0600n), -EINVAL, 'A3V clear, host has it: EINVAL');
  t.equal(hex(sysregGet(fd, 0, ICC_CTLR_EL1).value), hex(0x8603n), 'refusals changed nothing here');
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0x8500n), 0, 'lower to 6 priority bits');
  t.equal(hex(sysregGet(fd, 0, ICC_CTLR_EL1).value), hex(0x8500n), 'reads 6 bits; CBPR/EOImode cleared by that write');
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0x8600n), -EINVAL, 'raising back to 7: EINVAL');
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0x8000n), 0, 'lower to 1 priority bit (the kernel only bounds it above)');
  t.equal(hex(sysregGet(fd, 0, ICC_CTLR_EL1).value), hex(0x8000n), 'reads PRIbits 0');
  t.end();
});

t.test('ICC_CTLR_EL1: a refused write may already have lowered PRIbits (kernel check order)', (t) => {
  const { fd } = v3Vm({ vm: { priBits: 7 } });
  // set_gic_ctlr assigns num_pri_bits before it checks IDbits, SEIS and A3V, so a write that
  // fails on SEIS still lowers the priority bits
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0xc400n), -EINVAL, 'PRIbits 5 + SEIS: EINVAL');
  t.equal(hex(sysregGet(fd, 0, ICC_CTLR_EL1).value), hex(0x8400n), '...but PRIbits is now 5');
  t.equal(sysregGet(fd, 0, ICC_AP0R0_EL1 + 1).ret, -EINVAL, 'and AP0R1 became unusable');
  t.end();
});

t.test('ICC_AP{0,1}Rn availability at 5, 6 and 7 priority bits', (t) => {
  // get/set_gic_ap{0,1}r: idx > vgic_v3_max_apr_idx (5 bits: 0, 6: 1, 7: 3) -> EINVAL;
  // vgic_v3_has_cpu_sysregs_attr still lists all of them (selftest: "the API is braindead")
  for (const [priBits, usable] of [
    [5, 1],
    [6, 2],
    [7, 4],
  ] as const) {
    const { fd } = v3Vm({ vm: { priBits } });
    for (const [bank, regs] of [
      ['AP0R', AP0R],
      ['AP1R', AP1R],
    ] as const) {
      regs.forEach((enc, n) => {
        t.equal(__kvmHasDeviceAttr(fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, rdAttr(0, enc)), 0, `${priBits} bits: has ${bank}${n}`);
        if (n < usable) {
          t.equal(sysregSet(fd, 0, enc, 0x80000000n | BigInt(n)), 0, `${priBits} bits: set ${bank}${n}`);
          t.equal(hex(sysregGet(fd, 0, enc).value), hex(0x80000000n | BigInt(n)), `${priBits} bits: get ${bank}${n}`);
        } else {
          t.equal(sysregSet(fd, 0, enc, 1n), -EINVAL, `${priBits} bits: set ${bank}${n} EINVAL`);
          const r = sysregGet(fd, 0, enc);
          t.same([r.ret, hex(r.value)], [-EINVAL, hex(0xdeadbeefn)], `${priBits} bits: get ${bank}${n} EINVAL, buffer untouched`);
        }
      });
    }
  }
  t.end();
});

t.test('ICC_BPR1_EL1 with CBPR: reads BPR0+1 (saturating at 7), writes ignored', (t) => {
  const { fd } = v3Vm();
  t.equal(sysregSet(fd, 0, ICC_BPR1_EL1, 4n), 0, 'BPR1 = 4 with CBPR clear');
  t.equal(sysregSet(fd, 0, ICC_BPR0_EL1, 2n), 0, 'BPR0 = 2');
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0x8401n), 0, 'CBPR on');
  // get_gic_bpr1: cbpr ? min(bpr + 1, 7) : abpr; set_gic_bpr1 stores only when !cbpr
  t.equal(sysregGet(fd, 0, ICC_BPR1_EL1).value, 3n, 'BPR1 reads BPR0 + 1 = 3');
  t.equal(sysregSet(fd, 0, ICC_BPR1_EL1, 6n), 0, 'write BPR1 = 6: returns 0');
  t.equal(sysregGet(fd, 0, ICC_BPR1_EL1).value, 3n, '...and is ignored');
  t.equal(sysregSet(fd, 0, ICC_BPR0_EL1, 7n), 0, 'BPR0 = 7');
  t.equal(sysregGet(fd, 0, ICC_BPR1_EL1).value, 7n, 'BPR1 saturates at 7');
  t.equal(sysregSet(fd, 0, ICC_CTLR_EL1, 0x8400n), 0, 'CBPR off');
  t.equal(sysregGet(fd, 0, ICC_BPR1_EL1).value, 4n, 'BPR1 shows its own (ABPR) value again');
  t.end();
});

t.test('ICC_SRE_EL1: writes need SRE set and change nothing', (t) => {
  const { fd } = v3Vm();
  // set_gic_sre: !(val & ICC_SRE_EL1_SRE) -> EINVAL; otherwise ignored
  t.equal(sysregSet(fd, 0, ICC_SRE_EL1, 0x7n), 0, '0x7: 0');
  t.equal(sysregSet(fd, 0, ICC_SRE_EL1, 0x1n), 0, '0x1: 0');
  t.equal(sysregSet(fd, 0, ICC_SRE_EL1, 0n), -EINVAL, '0: EINVAL');
  t.equal(sysregSet(fd, 0, ICC_SRE_EL1, 0x6n), -EINVAL, '0x6 (DFB|DIB without SRE): EINVAL');
  t.equal(sysregGet(fd, 0, ICC_SRE_EL1).value, 0x7n, 'still 0x7');
  t.end();
});

t.test('has_attr: the 15 EL1 registers are 0; EL2 (hidden without NV) and others are ENXIO', (t) => {
  const { fd } = v3Vm();
  const has = (enc: number): number => __kvmHasDeviceAttr(fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, rdAttr(0, enc));
  // vgic_v3_has_cpu_sysregs_attr: get_reg_by_id && !sysreg_hidden -> 0, else ENXIO
  for (const enc of EL1) t.equal(has(enc), 0, `${name(enc)}: 0`);
  for (const enc of EL2) t.equal(has(enc), -ENXIO, `${name(enc)} (EL2, REG_HIDDEN): ENXIO`);
  for (const enc of OTHERS) t.equal(has(enc), -ENXIO, `${name(enc)}: ENXIO`);
  t.equal(__kvmHasDeviceAttr(fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, rdAttr(1, ICC_PMR_EL1)), -EINVAL, 'MPIDR of no vCPU: EINVAL');
  t.end();
});

t.test('get/set of unknown or hidden encodings is ENOENT (kvm_sys_reg_{get,set}_user)', (t) => {
  const { fd } = v3Vm();
  // kvm_sys_reg_get_user / kvm_sys_reg_set_user: "if (!r || sysreg_hidden(vcpu, r)) return -ENOENT"
  // (set_user does get_user first, so a NULL buffer is EFAULT before the lookup)
  for (const enc of [...EL2, ...OTHERS]) {
    const r = sysregGet(fd, 0, enc);
    t.same([r.ret, hex(r.value)], [-ENOENT, hex(0xdeadbeefn)], `${name(enc)}: get ENOENT, buffer untouched`);
    t.equal(sysregSet(fd, 0, enc, 0n), -ENOENT, `${name(enc)}: set ENOENT`);
    t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, rdAttr(0, enc), null), -EFAULT, `${name(enc)}: set NULL EFAULT`);
  }
  t.end();
});

t.test('CPU_SYSREGS: stage, vCPU, buffers and attr bits', (t) => {
  const pre = v3Vm({ init: false });
  t.equal(sysregGet(pre.fd, 0, ICC_PMR_EL1).ret, -EBUSY, 'before INIT: get EBUSY');
  t.equal(sysregSet(pre.fd, 0, ICC_PMR_EL1, 0xf0n), -EBUSY, 'before INIT: set EBUSY');
  const { fd } = v3Vm({ nrVcpus: 2 });
  // per vCPU: the attribute's MPIDR picks the vCPU (vgic_v3_parse_attr)
  t.equal(sysregSet(fd, 1, ICC_PMR_EL1, 0x80n), 0, 'vCPU 1 PMR = 0x80');
  t.equal(sysregGet(fd, 1, ICC_PMR_EL1).value, 0x80n, 'vCPU 1 reads 0x80');
  t.equal(sysregGet(fd, 0, ICC_PMR_EL1).value, 0n, 'vCPU 0 still 0');
  t.equal(sysregGet(fd, 2, ICC_PMR_EL1).ret, -EINVAL, 'MPIDR 2 (no vCPU): EINVAL');
  t.equal(__kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, rdAttr(0, ICC_PMR_EL1), null), -EFAULT, 'get NULL: EFAULT');
  t.equal(__kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, rdAttr(0, ICC_PMR_EL1), u32()), -EFAULT, 'get into a u32: EFAULT (the value is a u64)');
  t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, rdAttr(0, ICC_PMR_EL1), u32(0x40)), -EFAULT, 'set from a u32: EFAULT');
  t.equal(sysregGet(fd, 0, ICC_PMR_EL1).value, 0n, 'nothing written');
  // only the 16 encoding bits below the MPIDR are looked at (KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK)
  const b = u64(0n);
  const junk = (1n << 32n) | 0xffff0000n | BigInt(ICC_PMR_EL1);
  t.equal(__kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, junk, b), 0, 'attr with bits 16-31 set: 0');
  t.equal(b.value, 0x80n, 'bits 16-31 of the attr are ignored (vCPU 1 PMR read)');
  t.end();
});

t.test('the guest sees the PMR and group enables userspace restored', (t) => {
  const guest = function* (g: Guest): GuestProgram {
    yield* g.sync(yield* g.readSysreg(ICC_PMR_EL1));
    yield* g.sync(yield* g.readSysreg(ICC_IGRPEN1_EL1));
    yield* g.sync(yield* g.readSysreg(ICC_CTLR_EL1));
    yield* g.done();
  };
  const { fd, vcpus } = v3Vm({ guest });
  sysregSet(fd, 0, ICC_PMR_EL1, 0xffn);
  sysregSet(fd, 0, ICC_IGRPEN1_EL1, 1n);
  sysregSet(fd, 0, ICC_CTLR_EL1, 0x8402n);
  // the ICV interface implements 5 priority bits: PMR reads 0xF8 (ref §6: "hardware will mask")
  t.same(runGuest(vcpus[0]!).map(hex), [0xf8n, 1n, 0x8402n].map(hex), 'PMR 0xF8, IGRPEN1 1, CTLR with EOImode');
  t.end();
});
