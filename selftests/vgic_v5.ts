// SPDX-License-Identifier: GPL-2.0
//
// TypeScript port of tools/testing/selftests/kvm/arm64/vgic_v5.c.
//
// Two versions of the C file exist and both are ported:
//  - the IRS series' selftest ("KVM: arm64: Add GICv5 IRS support" v5, Aug 2026), read in the
//    intel-lab-lkp/linux copy (63,332 bytes): every case below without a "7.2:" prefix, run on the
//    final-contract host ('irs-final');
//  - Debian linux-source 7.2's selftest (the PPI-only device, 224 lines): the two "7.2:" cases,
//    run on the 7.2 host profile ('ppi').
// Each kernel test function is one TAP case, in run_tests() order, and prints its check count
// ("<function>: N checks"): the TEST_ASSERTs that ran (GUEST_ASSERTs fail the run instead).
// Checks per function, as they run here and in C (every TEST_ASSERT, including the
// TEST_ASSERT(vcpu, "Failed to create vCPU") ones; counted by hand from the C source):
//   test_kvm_device 2, test_vgic_v5_addr_attrs 9, _nr_irqs_attrs 11, _irs_regs_attrs 184
//   (3 per register x 52 + 28), _ist_attrs 18, _userspace_ppis_attrs 6, _cpu_sysreg_attrs 87
//   (3 x 26 + 9), _sparse_vcpu_ids 10, _ppis 66 (63 of them: one per PPI that is not
//   userspace-drivable at the default implemented-PPI mask), _spis 25, _lpis 12,
//   _ist_save_restore 144 (52 IRS registers saved and restored, 2 checks each, + 40) = 574.
// 7.2's file: test_kvm_device 2, test_vgic_v5_ppis 2 = 4.
//
// Differences from C, all forced by the harness:
//  - The host is a GICv5 by VM option (VmOptions.gicv5); `u64 user_ppis[2]`, `u32 spi_ist[32]`
//    and `struct kvm_vgic_v5_ist` live in user memory (userBytes / vgicV5IstAttr) so the kernel
//    model can copy to and from them by address; `(void *)1` is userPtr(1).
//  - __kvm_* calls return 0 / -errno; C's "ret && errno == X" is ret && errno() === X.
//  - A guest's static/global variables are guest globals (g.readGlobal / g.writeGlobal);
//    READ_ONCE/WRITE_ONCE need nothing more since vCPUs interleave only at exits.
//  - `while (1);` and `for (;;) cpu_relax();` spin on cpuRelax() so pending interrupts are taken.
//  - virt_map() of the IRS and the LPI IST is not needed (guest VA == IPA).

import {
  gicInsn,
  gicrInsn,
  gicv5CpuEnableInterrupts,
  gsbAck,
  GICV5_GICR_CDIA_INTID_OF,
  GICV5_GICR_CDIA_VALID_OF,
} from '../lib/guest/gicv5.ts';
import type { Guest, GuestProgram } from '../lib/guest/index.ts';
import {
  type KvmVcpu,
  type KvmVm,
  type VmOptions,
  E2BIG,
  EBUSY,
  EEXIST,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOENT,
  ENXIO,
  GICV5_ARCH_PPI_SW_PPI,
  GICV5_GIC_CDAFF_IAFFID_SHIFT,
  GICV5_GIC_CDPEND_PENDING,
  GICV5_GIC_CDPRI_PRIORITY_SHIFT,
  GICV5_HWIRQ_TYPE_LPI,
  GICV5_HWIRQ_TYPE_SPI,
  GICV5_IRQ_DEFAULT_PRI,
  GICV5_IRS_AIDR,
  GICV5_IRS_ALIGN,
  GICV5_IRS_CONFIG_BASE_GPA,
  GICV5_IRS_CONFIG_BASE_GVA,
  GICV5_IRS_CR0,
  GICV5_IRS_CR0_IDLE,
  GICV5_IRS_CR0_IRSEN,
  GICV5_IRS_CR1,
  GICV5_IRS_IDR0,
  GICV5_IRS_IDR0_INT_DOM_MASK,
  GICV5_IRS_IDR0_INT_DOM_SECURE,
  GICV5_IRS_IDR0_SETLPI,
  GICV5_IRS_IDR1,
  GICV5_IRS_IDR1_PRIORITY_BITS_SHIFT,
  GICV5_IRS_IDR2,
  GICV5_IRS_IDR2_ID_BITS_MASK,
  GICV5_IRS_IDR2_ISTMD,
  GICV5_IRS_IDR2_ISTMD_SZ_SHIFT,
  GICV5_IRS_IDR2_LPI,
  GICV5_IRS_IDR2_MIN_LPI_ID_BITS_SHIFT,
  GICV5_IRS_IDR3,
  GICV5_IRS_IDR4,
  GICV5_IRS_IDR5,
  GICV5_IRS_IDR6,
  GICV5_IRS_IDR7,
  GICV5_IRS_IIDR,
  GICV5_IRS_IST_BASER,
  GICV5_IRS_IST_BASER_ADDR_SHIFT,
  GICV5_IRS_IST_BASER_VALID,
  GICV5_IRS_IST_CFGR,
  GICV5_IRS_IST_CFGR_ISTSZ_16,
  GICV5_IRS_IST_CFGR_ISTSZ_4,
  GICV5_IRS_IST_CFGR_ISTSZ_8,
  GICV5_IRS_IST_CFGR_ISTSZ_SHIFT,
  GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK,
  GICV5_IRS_IST_STATUSR,
  GICV5_IRS_IST_STATUSR_IDLE,
  GICV5_IRS_MAP_L2_ISTR,
  GICV5_IRS_MEC_IDR,
  GICV5_IRS_MEC_MECID_R,
  GICV5_IRS_MPAM_IDR,
  GICV5_IRS_MPAM_PARTID_R,
  GICV5_IRS_PE_CR0,
  GICV5_IRS_PE_SELR,
  GICV5_IRS_PE_STATUSR,
  GICV5_IRS_PE_STATUSR_IDLE,
  GICV5_IRS_SAVE_VMR,
  GICV5_IRS_SAVE_VM_STATUSR,
  GICV5_IRS_SIZE,
  GICV5_IRS_SPI_CFGR,
  GICV5_IRS_SPI_CFGR_TM,
  GICV5_IRS_SPI_DOMAINR,
  GICV5_IRS_SPI_RESAMPLER,
  GICV5_IRS_SPI_SELR,
  GICV5_IRS_SPI_STATUSR,
  GICV5_IRS_SPI_STATUSR_IDLE,
  GICV5_IRS_SPI_VMR,
  GICV5_IRS_SWERR_STATUSR,
  GICV5_IRS_SWERR_SYNDROMER0,
  GICV5_IRS_SWERR_SYNDROMER1,
  GICV5_IRS_SYNC_STATUSR,
  GICV5_IRS_SYNC_STATUSR_IDLE,
  GICV5_IRS_SYNCR,
  GICV5_IRS_VM_DBR,
  GICV5_IRS_VM_SELR,
  GICV5_IRS_VM_STATUSR,
  GICV5_IRS_VMAP_L2_VISTR,
  GICV5_IRS_VMAP_L2_VMTR,
  GICV5_IRS_VMAP_VISTR,
  GICV5_IRS_VMAP_VMR,
  GICV5_IRS_VMAP_VPER,
  GICV5_IRS_VMT_BASER,
  GICV5_IRS_VMT_CFGR,
  GICV5_IRS_VMT_STATUSR,
  GICV5_IRS_VPE_CR0,
  GICV5_IRS_VPE_DBR,
  GICV5_IRS_VPE_HPPIR,
  GICV5_IRS_VPE_SELR,
  GICV5_IRS_VPE_STATUSR,
  ICC_APR_EL1,
  ICC_CR0_EL1,
  ICC_CTLR_EL1,
  ICC_IAFFIDR_EL1,
  ICC_IAFFIDR_EL1_IAFFID_MASK,
  ICC_ICSR_EL1,
  ICC_PCR_EL1,
  ICC_PCR_EL1_PRIORITY_MASK,
  ICC_PPI_ENABLER0_EL1,
  ICC_PPI_ENABLER1_EL1,
  ICC_PPI_PRIORITYR_EL1,
  ICC_PPI_SACTIVER0_EL1,
  ICC_PPI_SACTIVER1_EL1,
  ICC_PPI_SPENDR0_EL1,
  ICC_PPI_SPENDR1_EL1,
  KVM_ARM_IRQ_NUM_MASK,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SHIFT,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_IRS_REGS,
  KVM_DEV_ARM_VGIC_GRP_IST,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_USERSPACE_PPIS,
  KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT,
  KVM_DEV_TYPE_ARM_VGIC_V5,
  KVM_VGIC_V5_ADDR_TYPE_IRS,
  TestAssertionFailure,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  UserBytes,
  __kvmCreateDevice,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  __kvmTestCreateDevice,
  __vcpuRun,
  _kvmIrqLine,
  close,
  errno,
  formatPrintf,
  getUcall,
  guestGlobals,
  kvmCreateDevice,
  kvmDeviceAttrGet,
  kvmDeviceAttrSet,
  kvmHasDeviceAttr,
  kvmIrqLine,
  kvmVmFree,
  printInfo,
  reportGuestAssert,
  selftest,
  syncGlobalToGuest,
  testAssert,
  testDisableDefaultVgic,
  testFail,
  testRequire,
  u32,
  u64,
  u64Array,
  userBytes,
  userPtr,
  vgicV5IstAttr,
  vmCreate,
  vmCreateWithVcpus,
  vmInstallExceptionHandler,
  vmUserspaceMemRegionAdd,
  vmVcpuAdd,
} from '../lib/host/index.ts';

/** The GICv5 host these tests run on: the IRS series' final contract. */
const HOST: VmOptions = { gicv5: { uapi: 'irs-final' } };
/** Debian 7.2's host: the PPI-only device. */
const HOST_7_2: VmOptions = { gicv5: { uapi: 'ppi' } };

const NR_VCPUS = 1;
const VGIC_V5_LPI_NR_VCPUS = 2;
const VGIC_V5_SPARSE_NR_VCPUS = 2;
const VGIC_V5_SPARSE_VCPU0_ID = 17;
const VGIC_V5_SPARSE_VCPU1_ID = 3;
const VGIC_V5_LPI_MEMSLOT = 1;
const VGIC_V5_NR_PRIVATE_IRQS = 64;
const VGIC_V5_DEFAULT_NR_SPIS = 32;
const VGIC_V5_MAX_NR_SPIS = 1 << 10;
const VGIC_V5_IRS_SIZE = 0x20000;
const VGIC_V5_IRS_WAIT_RETRIES = 1000000;
const VGIC_V5_LPI_IST_BASE_GPA = GICV5_IRS_CONFIG_BASE_GPA + VGIC_V5_IRS_SIZE;
const VGIC_V5_LPI_IST_SIZE = 0x10000;
const LPI_TEST_TO_VPE1 = 0;
const LPI_TEST_TO_VPE0 = 1;
const RESTORE_TEST_LPI_PENDING = 0;
const RESTORE_TEST_LPI_ENABLED = 1;
const RESTORE_TEST_SPI_PRIO_HIGH = 0;
const RESTORE_TEST_SPI_PRIO_LOW = 1;
const RESTORE_TEST_SPI_PENDING_DISABLED = 2;
const RESTORE_TEST_SPI_ENABLED = 3;
const VGIC_V5_IST_PRIO_HIGH = 0x08;
const VGIC_V5_IST_PRIO_LOW = 0x10;
const VGIC_V5_TEST_IST_BASER_GPA = 0x10000000n;
const GUEST_PAGE_SIZE = 4096;

/* C: 1ULL << vm_guest_mode_params[VM_MODE_DEFAULT].pa_bits; set in main(). */
let maxPhysSize = 0n;

interface VmGic {
  vm: KvmVm;
  gicFd: number;
  gicDevType: number;
}

const GUEST_CMD_IRQ_CDIA = 10;
const GUEST_CMD_IRQ_DIEOI = 11;
const GUEST_CMD_IS_AWAKE = 12;
const GUEST_CMD_IS_READY = 13;
const GUEST_CMD_LPI_SENT = 14;
const GUEST_CMD_LPI_REPLIED = 15;
const GUEST_CMD_IST_SOURCE_READY = 16;
const GUEST_CMD_IST_SPI_INJECT_READY = 17;
const GUEST_CMD_IST_LPI_INJECT_READY = 18;

/*
 * Check counting, as in the vgic_init port: every TEST_ASSERT of the C file goes through
 * check(), and a failure is re-reported at the caller's line.
 */
type PrintfArg = Parameters<typeof formatPrintf>[1][number];
let nrChecks = 0;
function check(cond: unknown, fmt: string, ...args: PrintfArg[]): asserts cond {
  nrChecks++;
  try {
    testAssert(cond, fmt, ...args);
  } catch (e) {
    if (!(e instanceof TestAssertionFailure)) throw e;
    const frame = (new Error().stack ?? '').split('\n')[2] ?? '';
    const m = /([^\s(]+\.ts):(\d+):\d+\)?$/.exec(frame.trim());
    throw new TestAssertionFailure({ ...(m ? { file: m[1]!.replace(/^.*\/(selftests\/)/, '$1'), line: Number(m[2]) } : {}), expr: e.expr, detail: e.detail, guest: false });
  }
}

/* static struct kvm_vgic_v5_ist vgic_v5_ist_attr(...) */
const vgic_v5_ist_attr = vgicV5IstAttr;

/* Guest globals (the C file's statics that the guest reads or writes). */
const globals = guestGlobals({
  spi_line_expected: 0,
  spi_line_level_sensitive: false,
  lpi_ist_ready: false,
  ist_restore_irq_count: [0, 0] as number[],
  ppi_irq_count: 0,
});

const gicv5Hwirq = (type: number, intid: number): bigint => BigInt((((type & 7) << 29) | (intid & 0xffffff)) >>> 0);
const gicv5LpiHwirq = (lpi: number): bigint => gicv5Hwirq(GICV5_HWIRQ_TYPE_LPI, lpi);
const gicv5SpiHwirq = (spi: number): bigint => gicv5Hwirq(GICV5_HWIRQ_TYPE_SPI, spi);
const BIT_ULL = (n: number): bigint => 1n << BigInt(n);

function* gicv5SetupAndEnableHwirq(g: Guest, hwirq: bigint, targetVpe: number): GuestProgram {
  let val = hwirq | (BigInt(GICV5_IRQ_DEFAULT_PRI) << GICV5_GIC_CDPRI_PRIORITY_SHIFT);
  yield* gicInsn(g, val, 'CDPRI');
  val = hwirq | (BigInt(targetVpe) << GICV5_GIC_CDAFF_IAFFID_SHIFT);
  yield* gicInsn(g, val, 'CDAFF');
  yield* gicInsn(g, hwirq, 'CDEN');
}

function* gicv5SetHwirqPriority(g: Guest, hwirq: bigint, priority: number): GuestProgram {
  yield* gicInsn(g, hwirq | (BigInt(priority) << GICV5_GIC_CDPRI_PRIORITY_SHIFT), 'CDPRI');
}

function* gicv5SetHwirqAffinity(g: Guest, hwirq: bigint, targetVpe: number): GuestProgram {
  yield* gicInsn(g, hwirq | (BigInt(targetVpe) << GICV5_GIC_CDAFF_IAFFID_SHIFT), 'CDAFF');
}

function* gicv5EnableHwirq(g: Guest, hwirq: bigint): GuestProgram {
  yield* gicInsn(g, hwirq, 'CDEN');
}

const gicv5EnableSpi = (g: Guest, spi: number, targetVpe: number): GuestProgram => gicv5SetupAndEnableHwirq(g, gicv5SpiHwirq(spi), targetVpe);
const gicv5EnableLpi = (g: Guest, lpi: number, targetVpe: number): GuestProgram => gicv5SetupAndEnableHwirq(g, gicv5LpiHwirq(lpi), targetVpe);

function* gicv5SendLpi(g: Guest, lpi: number): GuestProgram {
  yield* gicInsn(g, gicv5LpiHwirq(lpi) | GICV5_GIC_CDPEND_PENDING, 'CDPEND');
}

function* gicv5WaitForIrsIdle(g: Guest, reg: number, idle: number): GuestProgram {
  for (let i = 0; i < VGIC_V5_IRS_WAIT_RETRIES; i++) {
    if ((yield* g.readl(GICV5_IRS_CONFIG_BASE_GVA + reg)) & idle) return;
    yield* g.cpuRelax();
  }
  yield* g.fail('IRS operation did not become idle');
}

function* gicv5ConfigureSpi(g: Guest, spi: number, level: boolean): GuestProgram {
  yield* g.writel(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_SPI_SELR, spi & 0xffffff);
  yield* gicv5WaitForIrsIdle(g, GICV5_IRS_SPI_STATUSR, GICV5_IRS_SPI_STATUSR_IDLE);
  yield* g.writel(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_SPI_CFGR, level ? GICV5_IRS_SPI_CFGR_TM : 0);
  yield* gicv5WaitForIrsIdle(g, GICV5_IRS_SPI_STATUSR, GICV5_IRS_SPI_STATUSR_IDLE);
}

function gicv5LpiIstsz(idr2: number, lpiIdBits: number): number {
  if (!(idr2 & GICV5_IRS_IDR2_ISTMD)) return GICV5_IRS_IST_CFGR_ISTSZ_4;
  if (lpiIdBits >= ((idr2 >>> GICV5_IRS_IDR2_ISTMD_SZ_SHIFT) & 0x1f)) return GICV5_IRS_IST_CFGR_ISTSZ_16;
  return GICV5_IRS_IST_CFGR_ISTSZ_8;
}

function* gicv5ConfigureLpiIst(g: Guest): GuestProgram {
  const idr2 = yield* g.readl(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_IDR2);
  yield* g.assert((idr2 & GICV5_IRS_IDR2_LPI) !== 0);

  const minLpiIdBits = (idr2 >>> GICV5_IRS_IDR2_MIN_LPI_ID_BITS_SHIFT) & 0xf;
  const idBits = idr2 & GICV5_IRS_IDR2_ID_BITS_MASK;
  /* Default to 32 LPIs, unless the min requirement is higher */
  const lpiIdBits = Math.max(5, minLpiIdBits);
  yield* g.assert(lpiIdBits <= idBits);

  const istsz = gicv5LpiIstsz(idr2, lpiIdBits);
  /*
   * We allocate a fixed-size IST buffer on the host to avoid dynamic
   * allocation from the guest. Make sure it fits the linear IST described
   * by IDR2 before programming IRS_IST_BASER.
   */
  yield* g.assert(BIT_ULL(lpiIdBits) << BigInt(istsz + 2) <= BigInt(VGIC_V5_LPI_IST_SIZE));

  yield* g.writel(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_IST_CFGR, (lpiIdBits & GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK) | (istsz << GICV5_IRS_IST_CFGR_ISTSZ_SHIFT));

  let val = BigInt(VGIC_V5_LPI_IST_BASE_GPA);
  val |= GICV5_IRS_IST_BASER_VALID;
  yield* g.writeq(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_IST_BASER, val);

  yield* g.assertEq(yield* g.readl(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_IST_STATUSR), GICV5_IRS_IST_STATUSR_IDLE);

  /* The address is immutable while the BASER is valid. */
  yield* g.writeq(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_IST_BASER, val ^ (1n << GICV5_IRS_IST_BASER_ADDR_SHIFT));
  yield* g.assertEq(yield* g.readq(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_IST_BASER), val);
}

function* gicv5EnableIrs(g: Guest): GuestProgram {
  yield* g.writel(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_CR0, GICV5_IRS_CR0_IRSEN);
  yield* gicv5WaitForIrsIdle(g, GICV5_IRS_CR0, GICV5_IRS_CR0_IDLE);
}

function* gicv5ConfigureTestLpis(g: Guest): GuestProgram {
  yield* gicv5EnableLpi(g, LPI_TEST_TO_VPE1, 1);
  yield* gicv5EnableLpi(g, LPI_TEST_TO_VPE0, 0);
}

function* gicv5SetPcr(g: Guest, priority: number): GuestProgram {
  yield* g.writeSysreg(ICC_PCR_EL1, BigInt(priority) & ICC_PCR_EL1_PRIORITY_MASK);
  yield* g.isb();
}

function* guestPpiIrqHandler(g: Guest): GuestProgram {
  /*
   * We have pending interrupts. Should never actually enter WFI
   * here!
   */
  yield* g.wfi();
  yield* g.sync(GUEST_CMD_IS_AWAKE);

  const ia = yield* gicrInsn(g, 'CDIA');
  const valid = GICV5_GICR_CDIA_VALID_OF(ia);

  yield* g.sync(GUEST_CMD_IRQ_CDIA);

  if (!valid) return;

  yield* gsbAck(g);
  yield* g.isb();

  const hwirq = GICV5_GICR_CDIA_INTID_OF(ia);

  yield* gicInsn(g, hwirq, 'CDDI');
  yield* gicInsn(g, 0, 'CDEOI');

  yield* g.sync(GUEST_CMD_IRQ_DIEOI);

  const count = g.readGlobal(globals, 'ppi_irq_count') + 1; /* static int count; ++count */
  g.writeGlobal(globals, 'ppi_irq_count', count);
  if (count >= 2) yield* g.done();

  /* Ask for the next interrupt to be injected */
  yield* g.sync(GUEST_CMD_IS_READY);
}

function* guestCode(g: Guest): GuestProgram {
  yield* g.localIrqDisable();

  yield* gicv5CpuEnableInterrupts(g);
  yield* g.localIrqEnable();

  /* Enable the SW_PPI (3) */
  yield* g.writeSysreg(ICC_PPI_ENABLER0_EL1, BIT_ULL(3));

  /* Ask for the first interrupt to be injected */
  yield* g.sync(GUEST_CMD_IS_READY);

  /* Loop forever waiting for interrupts */
  for (;;) yield* g.cpuRelax();
}

function* guestIaffidCode(g: Guest): GuestProgram {
  yield* g.sync((yield* g.readSysreg(ICC_IAFFIDR_EL1)) & ICC_IAFFIDR_EL1_IAFFID_MASK);
  yield* g.done();
}

function* guestSpiIrqHandler(g: Guest): GuestProgram {
  const ia = yield* gicrInsn(g, 'CDIA');
  const valid = GICV5_GICR_CDIA_VALID_OF(ia);

  if (!valid) return;

  yield* gsbAck(g);
  yield* g.isb();

  const hwirq = GICV5_GICR_CDIA_INTID_OF(ia);

  yield* g.assertEq(hwirq, gicv5SpiHwirq(g.readGlobal(globals, 'spi_line_expected')));

  yield* gicInsn(g, hwirq, 'CDDI');
  yield* gicInsn(g, 0, 'CDEOI');

  yield* g.done();
}

function* guestSpiLineCode(g: Guest): GuestProgram {
  yield* g.localIrqDisable();

  yield* gicv5EnableIrs(g);
  yield* gicv5CpuEnableInterrupts(g);
  yield* gicv5ConfigureSpi(g, g.readGlobal(globals, 'spi_line_expected'), g.readGlobal(globals, 'spi_line_level_sensitive'));
  yield* gicv5EnableSpi(g, g.readGlobal(globals, 'spi_line_expected'), 0);

  yield* g.localIrqEnable();

  yield* g.sync(GUEST_CMD_IS_READY);

  for (;;) yield* g.wfi();
}

function* guestLpiIrqHandler(g: Guest): GuestProgram {
  const vcpuId = g.vcpuId; /* guest_get_vcpuid() */
  const expectedLpi = vcpuId ? LPI_TEST_TO_VPE1 : LPI_TEST_TO_VPE0;
  const expectedHwirq = gicv5LpiHwirq(expectedLpi);

  const ia = yield* gicrInsn(g, 'CDIA');
  if (!GICV5_GICR_CDIA_VALID_OF(ia)) return;

  yield* gsbAck(g);
  yield* g.isb();

  const hwirq = GICV5_GICR_CDIA_INTID_OF(ia);
  yield* g.assertEq(hwirq, expectedHwirq);

  yield* gicInsn(g, hwirq, 'CDDI');
  yield* gicInsn(g, 0, 'CDEOI');

  if (vcpuId) {
    yield* gicv5SendLpi(g, LPI_TEST_TO_VPE0);
    yield* g.sync(GUEST_CMD_LPI_REPLIED);
    for (;;) yield* g.wfi();
  }

  yield* g.done();
}

function* guestUnexpectedIrqHandler(g: Guest): GuestProgram {
  yield* g.fail('Unexpected IRQ');
}

function* guestLpiCode(g: Guest): GuestProgram {
  const vcpuId = g.vcpuId;

  yield* g.localIrqDisable();

  if (!vcpuId) {
    yield* gicv5EnableIrs(g);
    yield* gicv5ConfigureLpiIst(g);
    yield* gicv5ConfigureTestLpis(g);
    g.writeGlobal(globals, 'lpi_ist_ready', true);
  }

  /* Go bang if we run VCPU1 before VCPU0 */
  yield* g.assert(g.readGlobal(globals, 'lpi_ist_ready'));

  yield* gicv5CpuEnableInterrupts(g);
  yield* g.localIrqEnable();

  yield* g.sync(GUEST_CMD_IS_READY);

  if (!vcpuId) {
    yield* gicv5SendLpi(g, LPI_TEST_TO_VPE1);
    yield* g.sync(GUEST_CMD_LPI_SENT);
  }

  for (;;) yield* g.wfi();
}

function* restoreTestSetupHwirq(g: Guest, hwirq: bigint, targetVpe: number, priority: number, enable: boolean): GuestProgram {
  yield* gicv5SetHwirqPriority(g, hwirq, priority);
  yield* gicv5SetHwirqAffinity(g, hwirq, targetVpe);

  if (enable) yield* gicv5EnableHwirq(g, hwirq);
}

/*
 * The source VM configures SPI and LPI state for the IST save/restore test.
 * It leaves interrupts disabled, allowing userspace to save the state before
 * the restore VM enables interrupts and checks delivery.
 */
function* guestIstSourceCode(g: Guest): GuestProgram {
  yield* g.localIrqDisable();

  yield* gicv5EnableIrs(g);
  yield* gicv5ConfigureLpiIst(g);

  yield* restoreTestSetupHwirq(g, gicv5LpiHwirq(RESTORE_TEST_LPI_PENDING), 1, VGIC_V5_IST_PRIO_HIGH, true);
  yield* restoreTestSetupHwirq(g, gicv5LpiHwirq(RESTORE_TEST_LPI_ENABLED), 1, VGIC_V5_IST_PRIO_HIGH, true);
  yield* restoreTestSetupHwirq(g, gicv5SpiHwirq(RESTORE_TEST_SPI_PRIO_HIGH), 0, VGIC_V5_IST_PRIO_HIGH, true);
  yield* restoreTestSetupHwirq(g, gicv5SpiHwirq(RESTORE_TEST_SPI_PRIO_LOW), 0, VGIC_V5_IST_PRIO_LOW, true);
  yield* restoreTestSetupHwirq(g, gicv5SpiHwirq(RESTORE_TEST_SPI_ENABLED), 0, VGIC_V5_IST_PRIO_HIGH, true);
  yield* restoreTestSetupHwirq(g, gicv5SpiHwirq(RESTORE_TEST_SPI_PENDING_DISABLED), 0, VGIC_V5_IST_PRIO_HIGH, false);

  yield* gicv5SendLpi(g, RESTORE_TEST_LPI_PENDING);

  yield* g.sync(GUEST_CMD_IST_SOURCE_READY);

  for (;;) yield* g.wfi();
}

/*
 * This is the restore VM for the IST save/restore test. The IRS regs and ISTs
 * have been restored before this code runs. Based on which VPE is running, a
 * different set of interrupts is expected. We check that we get what we
 * expected before terminating the test.
 *
 * The expected interrupts for VPE0 are:
 * - High-priority SPI, pending and enabled before save.
 * - Low-priority SPI, pending and enabled before save. This is only delivered
 *   after the guest lowers the masked priority via ICC_PCR_EL1.
 * - SPI that was pending but disabled before save. This is only delivered
 *   after the guest enables it after restore.
 * - SPI that was enabled but not pending before save. Userspace injects this
 *   after restore to check that the enable state and affinity were restored.
 *
 * The expected interrupts for VPE1 are:
 * - LPI that was pending and enabled before save.
 * - LPI that was enabled but not pending before save. The guest injects this
 *   after restore to check that the enable state and affinity were restored.
 */
function* guestIstRestoreIrqHandler(g: Guest): GuestProgram {
  const vcpuId = g.vcpuId;
  const count = g.readGlobal(globals, 'ist_restore_irq_count')[vcpuId]!;
  let expectedHwirq = 0n;

  const ia = yield* gicrInsn(g, 'CDIA');
  if (!GICV5_GICR_CDIA_VALID_OF(ia)) return;

  yield* gsbAck(g);
  yield* g.isb();

  const hwirq = BigInt(GICV5_GICR_CDIA_INTID_OF(ia));

  if (!vcpuId) {
    switch (count) {
      case 0:
        expectedHwirq = gicv5SpiHwirq(RESTORE_TEST_SPI_PRIO_HIGH);
        break;
      case 1:
        expectedHwirq = gicv5SpiHwirq(RESTORE_TEST_SPI_PRIO_LOW);
        break;
      case 2:
        expectedHwirq = gicv5SpiHwirq(RESTORE_TEST_SPI_PENDING_DISABLED);
        break;
      case 3:
        expectedHwirq = gicv5SpiHwirq(RESTORE_TEST_SPI_ENABLED);
        break;
      default:
        yield* g.fail('Unexpected VPE0 IST restore interrupt');
    }
  } else {
    switch (count) {
      case 0:
        expectedHwirq = gicv5LpiHwirq(RESTORE_TEST_LPI_PENDING);
        break;
      case 1:
        expectedHwirq = gicv5LpiHwirq(RESTORE_TEST_LPI_ENABLED);
        break;
      default:
        yield* g.fail('Unexpected VPE1 IST restore interrupt');
    }
  }

  yield* g.assertEq(hwirq, expectedHwirq);

  yield* gicInsn(g, hwirq, 'CDDI');
  yield* gicInsn(g, 0, 'CDEOI');
  const counts = [...g.readGlobal(globals, 'ist_restore_irq_count')];
  counts[vcpuId]!++;
  g.writeGlobal(globals, 'ist_restore_irq_count', counts);

  if (!vcpuId) {
    switch (count) {
      case 0:
        yield* gicv5SetPcr(g, VGIC_V5_IST_PRIO_LOW);
        break;
      case 1:
        yield* gicv5EnableHwirq(g, gicv5SpiHwirq(RESTORE_TEST_SPI_PENDING_DISABLED));
        break;
      case 2:
        yield* g.sync(GUEST_CMD_IST_SPI_INJECT_READY);
        break;
      case 3:
        yield* g.done();
    }
  } else {
    switch (count) {
      case 0:
        yield* gicv5SendLpi(g, RESTORE_TEST_LPI_ENABLED);
        yield* g.sync(GUEST_CMD_IST_LPI_INJECT_READY);
        break;
      case 1:
        yield* g.done();
    }
  }
}

function* guestIstRestoreCode(g: Guest): GuestProgram {
  yield* g.localIrqDisable();

  yield* gicv5CpuEnableInterrupts(g);

  if (!g.vcpuId) yield* gicv5SetPcr(g, VGIC_V5_IST_PRIO_HIGH);

  yield* g.sync(GUEST_CMD_IS_READY);

  yield* g.localIrqEnable();

  for (;;) yield* g.wfi();
}

/* we don't want to assert on run execution, hence that helper */
function runVcpu(vcpu: KvmVcpu): number {
  return __vcpuRun(vcpu) ? -errno() : 0;
}

function vmGicDestroy(v: VmGic): void {
  close(v.gicFd);
  kvmVmFree(v.vm);
}

/* __vm_create(VM_SHAPE_DEFAULT, n, 0) on the GICv5 host, without the default vGIC. */
function vmCreateV5(n: number, opts: VmOptions = HOST): KvmVm {
  return vmCreate(n, opts);
}

function vgicV5MapIrs(_vm: KvmVm): void {
  /* virt_map(vm, GICV5_IRS_CONFIG_BASE_GPA, GICV5_IRS_CONFIG_BASE_GPA, pages): VA == IPA already */
}

function vgicV5IrqLinePayload(type: number, num: number): number {
  return ((type << KVM_ARM_IRQ_TYPE_SHIFT) | (num & KVM_ARM_IRQ_NUM_MASK)) >>> 0;
}

function __vgicV5IrqLine(vm: KvmVm, type: number, num: number, level: number): number {
  return _kvmIrqLine(vm, vgicV5IrqLinePayload(type, num), level);
}

function vgicV5SpiLine(vm: KvmVm, spi: number, level: number): void {
  const ret = __vgicV5IrqLine(vm, KVM_ARM_IRQ_TYPE_SPI, spi, level);

  check(!ret, 'KVM_IRQ_LINE failed for SPI %u level %d', spi, level);
}

function vgicV5SpiLineVmCreate(v: VmGic, nrSpis: number): KvmVcpu {
  v.gicDevType = KVM_DEV_TYPE_ARM_VGIC_V5;
  v.vm = vmCreateV5(NR_VCPUS);
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);
  const vcpu = vmVcpuAdd(v.vm, 0, guestSpiLineCode);
  check(vcpu, 'Failed to create vCPU');

  vmInstallExceptionHandler(v.vm, 'irq-current', guestSpiIrqHandler);

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(nrSpis));

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA));
  vgicV5MapIrs(v.vm);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
  return vcpu;
}

function vgicV5LpiIstVmCreate(v: VmGic, guest: (g: Guest) => GuestProgram, irqHandler: (g: Guest) => GuestProgram): KvmVcpu[] {
  v.gicDevType = KVM_DEV_TYPE_ARM_VGIC_V5;
  v.vm = vmCreateV5(VGIC_V5_LPI_NR_VCPUS);
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);

  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < VGIC_V5_LPI_NR_VCPUS; i++) {
    vcpus.push(vmVcpuAdd(v.vm, i, guest));
    check(vcpus[i], 'Failed to create vCPU');
  }

  vmInstallExceptionHandler(v.vm, 'irq-current', irqHandler);

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA));
  vgicV5MapIrs(v.vm);

  const nrLpiIstPages = VGIC_V5_LPI_IST_SIZE / GUEST_PAGE_SIZE;
  vmUserspaceMemRegionAdd(v.vm, VGIC_V5_LPI_IST_BASE_GPA, VGIC_V5_LPI_MEMSLOT, nrLpiIstPages);
  /* Map the IST at VA == IPA so the guest can program the same BASER address: nothing to do. */

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
  return vcpus;
}

const vgicV5LpiVmCreate = (v: VmGic): KvmVcpu[] => vgicV5LpiIstVmCreate(v, guestLpiCode, guestLpiIrqHandler);
const vgicV5IstRestoreVmCreate = vgicV5LpiIstVmCreate;

function vgicV5RunSpiLineTest(nrSpis: number, expectedSpi: number, levelSensitive: boolean, lowerBeforeRun: boolean): void {
  const v = {} as VmGic;

  globals.spi_line_expected = expectedSpi;
  globals.spi_line_level_sensitive = levelSensitive;

  const vcpu = vgicV5SpiLineVmCreate(v, nrSpis);

  syncGlobalToGuest(v.vm, globals, 'spi_line_expected');
  syncGlobalToGuest(v.vm, globals, 'spi_line_level_sensitive');

  let ret = runVcpu(vcpu);
  check(!ret, 'Failed to run GICv5 IRQ_LINE VM');
  let uc = getUcall(vcpu);
  check(uc.cmd === UCALL_SYNC && uc.args[1] === GUEST_CMD_IS_READY, 'GICv5 IRQ_LINE guest did not become ready');

  vgicV5SpiLine(v.vm, expectedSpi, 1);
  /*
   * For edge-triggered SPIs, a following low transition must be ignored:
   * once the edge has made the SPI pending, it cannot be recalled. This
   * allows us to test that.
   */
  if (lowerBeforeRun) vgicV5SpiLine(v.vm, expectedSpi, 0);

  for (;;) {
    ret = runVcpu(vcpu);
    check(!ret, 'Failed to run GICv5 IRQ_LINE VM');

    uc = getUcall(vcpu);
    if (uc.cmd === UCALL_ABORT) reportGuestAssert(uc);
    if (uc.cmd === UCALL_DONE) break;
    testFail('Unknown ucall %lu', uc.cmd);
  }

  vmGicDestroy(v);
}

function vgicV5ExpectSync(vcpu: KvmVcpu, cmd: number, msg: string): void {
  const uc = getUcall(vcpu);
  if (uc.cmd === UCALL_ABORT) reportGuestAssert(uc);
  check(uc.cmd === UCALL_SYNC && uc.args[1] === cmd, '%s', msg);
}

const gicV5IrsRegion = { attr: KVM_VGIC_V5_ADDR_TYPE_IRS, size: GICV5_IRS_SIZE, alignment: GICV5_IRS_ALIGN };

const IRS_REG = (name: string, attr: number) => ({ name, attr });
const gicV5IrsRegs = [
  IRS_REG('GICV5_IRS_IDR0', GICV5_IRS_IDR0),
  IRS_REG('GICV5_IRS_IDR1', GICV5_IRS_IDR1),
  IRS_REG('GICV5_IRS_IDR2', GICV5_IRS_IDR2),
  IRS_REG('GICV5_IRS_IDR3', GICV5_IRS_IDR3),
  IRS_REG('GICV5_IRS_IDR4', GICV5_IRS_IDR4),
  IRS_REG('GICV5_IRS_IDR5', GICV5_IRS_IDR5),
  IRS_REG('GICV5_IRS_IDR6', GICV5_IRS_IDR6),
  IRS_REG('GICV5_IRS_IDR7', GICV5_IRS_IDR7),
  IRS_REG('GICV5_IRS_IIDR', GICV5_IRS_IIDR),
  IRS_REG('GICV5_IRS_AIDR', GICV5_IRS_AIDR),
  IRS_REG('GICV5_IRS_CR0', GICV5_IRS_CR0),
  IRS_REG('GICV5_IRS_CR1', GICV5_IRS_CR1),
  IRS_REG('GICV5_IRS_SYNCR', GICV5_IRS_SYNCR),
  IRS_REG('GICV5_IRS_SYNC_STATUSR', GICV5_IRS_SYNC_STATUSR),
  IRS_REG('GICV5_IRS_SPI_VMR', GICV5_IRS_SPI_VMR),
  IRS_REG('GICV5_IRS_SPI_SELR', GICV5_IRS_SPI_SELR),
  IRS_REG('GICV5_IRS_SPI_DOMAINR', GICV5_IRS_SPI_DOMAINR),
  IRS_REG('GICV5_IRS_SPI_RESAMPLER', GICV5_IRS_SPI_RESAMPLER),
  IRS_REG('GICV5_IRS_SPI_CFGR', GICV5_IRS_SPI_CFGR),
  IRS_REG('GICV5_IRS_SPI_STATUSR', GICV5_IRS_SPI_STATUSR),
  IRS_REG('GICV5_IRS_PE_SELR', GICV5_IRS_PE_SELR),
  IRS_REG('GICV5_IRS_PE_STATUSR', GICV5_IRS_PE_STATUSR),
  IRS_REG('GICV5_IRS_PE_CR0', GICV5_IRS_PE_CR0),
  IRS_REG('GICV5_IRS_IST_BASER', GICV5_IRS_IST_BASER),
  IRS_REG('GICV5_IRS_IST_CFGR', GICV5_IRS_IST_CFGR),
  IRS_REG('GICV5_IRS_IST_STATUSR', GICV5_IRS_IST_STATUSR),
  IRS_REG('GICV5_IRS_MAP_L2_ISTR', GICV5_IRS_MAP_L2_ISTR),
  IRS_REG('GICV5_IRS_VMT_BASER', GICV5_IRS_VMT_BASER),
  IRS_REG('GICV5_IRS_VMT_CFGR', GICV5_IRS_VMT_CFGR),
  IRS_REG('GICV5_IRS_VMT_STATUSR', GICV5_IRS_VMT_STATUSR),
  IRS_REG('GICV5_IRS_VPE_SELR', GICV5_IRS_VPE_SELR),
  IRS_REG('GICV5_IRS_VPE_DBR', GICV5_IRS_VPE_DBR),
  IRS_REG('GICV5_IRS_VPE_HPPIR', GICV5_IRS_VPE_HPPIR),
  IRS_REG('GICV5_IRS_VPE_CR0', GICV5_IRS_VPE_CR0),
  IRS_REG('GICV5_IRS_VPE_STATUSR', GICV5_IRS_VPE_STATUSR),
  IRS_REG('GICV5_IRS_VM_DBR', GICV5_IRS_VM_DBR),
  IRS_REG('GICV5_IRS_VM_SELR', GICV5_IRS_VM_SELR),
  IRS_REG('GICV5_IRS_VM_STATUSR', GICV5_IRS_VM_STATUSR),
  IRS_REG('GICV5_IRS_VMAP_L2_VMTR', GICV5_IRS_VMAP_L2_VMTR),
  IRS_REG('GICV5_IRS_VMAP_VMR', GICV5_IRS_VMAP_VMR),
  IRS_REG('GICV5_IRS_VMAP_VISTR', GICV5_IRS_VMAP_VISTR),
  IRS_REG('GICV5_IRS_VMAP_L2_VISTR', GICV5_IRS_VMAP_L2_VISTR),
  IRS_REG('GICV5_IRS_VMAP_VPER', GICV5_IRS_VMAP_VPER),
  IRS_REG('GICV5_IRS_SAVE_VMR', GICV5_IRS_SAVE_VMR),
  IRS_REG('GICV5_IRS_SAVE_VM_STATUSR', GICV5_IRS_SAVE_VM_STATUSR),
  IRS_REG('GICV5_IRS_MEC_IDR', GICV5_IRS_MEC_IDR),
  IRS_REG('GICV5_IRS_MEC_MECID_R', GICV5_IRS_MEC_MECID_R),
  IRS_REG('GICV5_IRS_MPAM_IDR', GICV5_IRS_MPAM_IDR),
  IRS_REG('GICV5_IRS_MPAM_PARTID_R', GICV5_IRS_MPAM_PARTID_R),
  IRS_REG('GICV5_IRS_SWERR_STATUSR', GICV5_IRS_SWERR_STATUSR),
  IRS_REG('GICV5_IRS_SWERR_SYNDROMER0', GICV5_IRS_SWERR_SYNDROMER0),
  IRS_REG('GICV5_IRS_SWERR_SYNDROMER1', GICV5_IRS_SWERR_SYNDROMER1),
];

const SR = (name: string, encoding: number) => ({ name, encoding });
const gicV5CpuSysregs = [
  SR('SYS_ICC_ICSR_EL1', ICC_ICSR_EL1),
  SR('SYS_ICC_PPI_ENABLER0_EL1', ICC_PPI_ENABLER0_EL1),
  SR('SYS_ICC_PPI_ENABLER1_EL1', ICC_PPI_ENABLER1_EL1),
  SR('SYS_ICC_PPI_SACTIVER0_EL1', ICC_PPI_SACTIVER0_EL1),
  SR('SYS_ICC_PPI_SACTIVER1_EL1', ICC_PPI_SACTIVER1_EL1),
  SR('SYS_ICC_PPI_SPENDR0_EL1', ICC_PPI_SPENDR0_EL1),
  SR('SYS_ICC_PPI_SPENDR1_EL1', ICC_PPI_SPENDR1_EL1),
  ...Array.from({ length: 16 }, (_, n) => SR(`SYS_ICC_PPI_PRIORITYR${n}_EL1`, ICC_PPI_PRIORITYR_EL1(n))),
  SR('SYS_ICC_APR_EL1', ICC_APR_EL1),
  SR('SYS_ICC_CR0_EL1', ICC_CR0_EL1),
  SR('SYS_ICC_PCR_EL1', ICC_PCR_EL1),
];

/* PACK_SR(r): the encodings are already packed as Op0<<14 | Op1<<11 | CRn<<7 | CRm<<3 | Op2. */
const PACK_SR = (r: number): bigint => BigInt(r);

function vgicV5SaveIrsRegs(v: VmGic, regs: bigint[]): void {
  for (let i = 0; i < gicV5IrsRegs.length; i++) {
    const val = u64();
    const ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, gicV5IrsRegs[i]!.attr, val);
    check(!ret, 'GICv5 IRS_REGS save failed for %s', gicV5IrsRegs[i]!.name);
    regs[i] = val.value;
  }
}

function vgicV5RestoreIrsRegs(v: VmGic, regs: bigint[]): void {
  for (let i = 0; i < gicV5IrsRegs.length; i++) {
    const ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, gicV5IrsRegs[i]!.attr, u64(regs[i]!));
    check(!ret, 'GICv5 IRS_REGS restore failed for %s', gicV5IrsRegs[i]!.name);
  }
}

function vgicV5SavedIrsReg(regs: bigint[], attr: number): bigint {
  for (let i = 0; i < gicV5IrsRegs.length; i++) {
    if (gicV5IrsRegs[i]!.attr === attr) return regs[i]!;
  }
  testFail('GICv5 IRS register 0x%lx was not saved', attr);
}

function vgicV5LpiIstStateSize(irsRegs: bigint[]): number {
  const cfgr = vgicV5SavedIrsReg(irsRegs, GICV5_IRS_IST_CFGR);
  const lpiIdBits = Number(cfgr & BigInt(GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK));
  return (1 << lpiIdBits) * 4;
}

function testVgicV5AddrAttrs(): void {
  const v: VmGic = { vm: vmCreateV5(NR_VCPUS), gicFd: -1, gicDevType: KVM_DEV_TYPE_ARM_VGIC_V5 };
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);
  const addr = u64();

  /* Check existing group/attributes */
  kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, gicV5IrsRegion.attr);

  /* check non existing attribute */
  let ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, -1n);
  check(ret && errno() === ENXIO, 'attribute not supported');

  /* get IRS base address before setting*/
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, addr);
  check(!ret && addr.value === 0xffffffffffffffffn, 'GICv5 IRS returns VGIC_ADDR_UNDEF');

  /* misaligned IRS address settings */
  addr.value = BigInt(gicV5IrsRegion.alignment / 0x10);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, addr);
  check(ret && errno() === EINVAL, 'GIC IRS base not aligned');

  /* out of range address */
  addr.value = maxPhysSize;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, addr);
  check(ret && errno() === E2BIG, 'IRS address beyond IPA limit');

  /* Space for half an IRS (an IRS is: 2 * irs.alignment). */
  addr.value = maxPhysSize - BigInt(gicV5IrsRegion.alignment);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, addr);
  check(ret && errno() === E2BIG, 'half of the IRS is beyond IPA limit');

  /* set IRS base address @0x0*/
  addr.value = 0x00000n;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, addr);
  check(!ret, 'GICv5 IRS base correctly set');

  /* get IRS base address */
  addr.value = 0xbadn;
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, addr);
  check(!ret && addr.value === 0n, 'GICv5 IRS base correctly set');

  /* Attempt to create a second IRS region */
  addr.value = 0xe0000n;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, addr);
  check(ret && errno() === EEXIST, 'GICv5 IRS base set again');

  vmGicDestroy(v);

  /* Try running a VM without ever setting the IRS base addr */
  v.vm = vmCreateV5(NR_VCPUS);
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);
  const vcpu = vmVcpuAdd(v.vm, 0, null);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
  ret = runVcpu(vcpu);
  check(ret && errno() === ENXIO, 'GICv5 IRS base not set');

  vmGicDestroy(v);
}

function testVgicV5NrIrqsAttrs(): void {
  const v: VmGic = { vm: vmCreateV5(NR_VCPUS), gicFd: -1, gicDevType: KVM_DEV_TYPE_ARM_VGIC_V5 };
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);
  const nrIrqs = u32();

  /* Check existing group/attribute */
  kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0);

  /* Before userspace sets NR_IRQS, no SPI count has been selected. */
  nrIrqs.value = 0xbad;
  let ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nrIrqs);
  check(!ret && nrIrqs.value === 0, 'GICv5 NR_IRQS defaults to 0 before init');

  /* Too few SPIs */
  nrIrqs.value = VGIC_V5_DEFAULT_NR_SPIS - 1;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nrIrqs);
  check(ret && errno() === EINVAL, 'GICv5 NR_IRQS below minimum');

  /* Not a multiple of 32 */
  nrIrqs.value = VGIC_V5_DEFAULT_NR_SPIS + 1;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nrIrqs);
  check(ret && errno() === EINVAL, 'GICv5 NR_IRQS not 32-aligned');

  /* Larger than KVM's supported VGICv5 SPI count */
  nrIrqs.value = VGIC_V5_MAX_NR_SPIS + 32;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nrIrqs);
  check(ret && errno() === EINVAL, 'GICv5 NR_IRQS above maximum');

  /* Valid custom SPI count */
  nrIrqs.value = VGIC_V5_MAX_NR_SPIS;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nrIrqs);
  check(!ret, 'GICv5 NR_IRQS accepts valid custom SPI count');

  nrIrqs.value = 0xbad;
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nrIrqs);
  check(!ret && nrIrqs.value === VGIC_V5_MAX_NR_SPIS, 'GICv5 NR_IRQS returns SPI count only');

  /* A second successful configuration attempt must be rejected. */
  nrIrqs.value = VGIC_V5_DEFAULT_NR_SPIS;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nrIrqs);
  check(ret && errno() === EBUSY, 'GICv5 NR_IRQS set twice');

  /* The maximum supported count must also initialize successfully. */
  let vcpu = vmVcpuAdd(v.vm, 0, null);
  check(vcpu, 'Failed to create vCPU');
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  vmGicDestroy(v);

  /* If userspace does not set NR_IRQS, init selects the default. */
  v.vm = vmCreateV5(NR_VCPUS);
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);
  vcpu = vmVcpuAdd(v.vm, 0, null);
  check(vcpu, 'Failed to create vCPU');
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  nrIrqs.value = 0xbad;
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nrIrqs);
  check(!ret && nrIrqs.value === VGIC_V5_DEFAULT_NR_SPIS, 'GICv5 NR_IRQS defaults to 32 SPIs after init');

  nrIrqs.value = VGIC_V5_DEFAULT_NR_SPIS * 2;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nrIrqs);
  check(ret && errno() === EBUSY, 'GICv5 NR_IRQS set after init');

  vmGicDestroy(v);
}

function testVgicV5IrsRegsAttrs(): void {
  const v: VmGic = { vm: vmCreateV5(NR_VCPUS), gicFd: -1, gicDevType: KVM_DEV_TYPE_ARM_VGIC_V5 };
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);
  const vcpu0 = vmVcpuAdd(v.vm, 0, null);
  check(vcpu0, 'Failed to create vCPU');
  const val = u64();
  let attr: bigint;

  /* IRS_REGS attributes can be probed before the IRS base is set. */
  kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR0);

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA));

  /* Check existing group/attribute */
  kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR0);

  /* IRS_REGS are not accessible before the VGIC is initialized. */
  let ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR0, val);
  check(ret && errno() === EBUSY, 'GICv5 IRS_REGS get before init');

  val.value = 0n;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR0, val);
  check(ret && errno() === EBUSY, 'GICv5 IRS_REGS set before init');

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  /* Read all supported IRS regs and write the value back. */
  for (const reg of gicV5IrsRegs) {
    ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, reg.attr);
    check(!ret, 'GICv5 IRS_REGS missing %s', reg.name);

    val.value = 0xbadn;
    ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, reg.attr, val);
    check(!ret, 'GICv5 IRS_REGS get failed for %s', reg.name);

    ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, reg.attr, val);
    check(!ret, 'GICv5 IRS_REGS set failed for %s', reg.name);
  }

  /* Check bad offsets */
  attr = 0x10000n;
  ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, attr);
  check(ret && errno() === ENXIO, 'GICv5 IRS_REGS accepted bad offset');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, attr, val);
  check(ret && errno() === ENXIO, 'GICv5 IRS_REGS get bad offset');

  /* Check alignment for 32-bit and 64-bit IRS regs. */
  attr = BigInt(GICV5_IRS_IDR0 + 2);
  ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, attr);
  check(ret && errno() === EINVAL, 'GICv5 IRS_REGS accepted unaligned 32-bit attr');

  attr = BigInt(GICV5_IRS_IST_BASER + 4);
  ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, attr);
  check(ret && errno() === EINVAL, 'GICv5 IRS_REGS accepted unaligned 64-bit attr');

  /* Check bad user pointers */
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR0, null);
  check(ret && errno() === EFAULT, 'GICv5 IRS_REGS get with bad pointer');

  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR0, null);
  check(ret && errno() === EFAULT, 'GICv5 IRS_REGS set with bad pointer');

  /* ID restore validation rejects unsupported values. */
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR0, val);
  check(!ret, 'GICv5 IRS_REGS get IDR0 failed');
  val.value &= ~BigInt(GICV5_IRS_IDR0_INT_DOM_MASK);
  val.value |= BigInt(GICV5_IRS_IDR0_INT_DOM_SECURE);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR0, val);
  check(ret && errno() === EINVAL, 'GICv5 IRS_REGS accepted bad IDR0 domain');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR0, val);
  check(!ret, 'GICv5 IRS_REGS get IDR0 failed');
  val.value |= BigInt(GICV5_IRS_IDR0_SETLPI);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR0, val);
  check(ret && errno() === EINVAL, 'GICv5 IRS_REGS accepted unsupported IDR0');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR1, val);
  check(!ret, 'GICv5 IRS_REGS get IDR1 failed');
  val.value |= BigInt(0x7 << GICV5_IRS_IDR1_PRIORITY_BITS_SHIFT);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR1, val);
  check(ret && errno() === EINVAL, 'GICv5 IRS_REGS accepted bad IDR1');

  val.value = 0n;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR2, val);
  check(ret && errno() === EINVAL, 'GICv5 IRS_REGS accepted bad IDR2');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR5, val);
  check(!ret, 'GICv5 IRS_REGS get IDR5 failed');
  val.value++;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR5, val);
  check(ret && errno() === EINVAL, 'GICv5 IRS_REGS accepted bad IDR5');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR6, val);
  check(!ret, 'GICv5 IRS_REGS get IDR6 failed');
  val.value++;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR6, val);
  check(ret && errno() === EINVAL, 'GICv5 IRS_REGS accepted bad IDR6');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR7, val);
  check(!ret, 'GICv5 IRS_REGS get IDR7 failed');
  val.value++;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IDR7, val);
  check(ret && errno() === EINVAL, 'GICv5 IRS_REGS accepted bad IDR7');

  /* Status registers read as idle through userspace accessors. */
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_SYNC_STATUSR, val);
  check(!ret && val.value === BigInt(GICV5_IRS_SYNC_STATUSR_IDLE), 'GICv5 IRS_REGS SYNC_STATUSR is not idle');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_SPI_STATUSR, val);
  check(!ret && val.value === BigInt(GICV5_IRS_SPI_STATUSR_IDLE), 'GICv5 IRS_REGS SPI_STATUSR is not idle');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_PE_STATUSR, val);
  check(!ret && val.value === BigInt(GICV5_IRS_PE_STATUSR_IDLE), 'GICv5 IRS_REGS PE_STATUSR is not idle');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_STATUSR, val);
  check(!ret && val.value === BigInt(GICV5_IRS_IST_STATUSR_IDLE), 'GICv5 IRS_REGS IST_STATUSR is not idle');

  /*
   * Userspace restores IST_BASER without allocating or accessing an IST.
   * Supply a synthetic, aligned guest address only to verify the register
   * round trip.
   */
  val.value = VGIC_V5_TEST_IST_BASER_GPA | GICV5_IRS_IST_BASER_VALID;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_BASER, val);
  check(!ret, 'GICv5 IRS_REGS failed to restore IST_BASER');

  const got = u64(0xbad);
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_BASER, got);
  check(!ret && got.value === val.value, 'GICv5 IRS_REGS IST_BASER restore mismatch');

  vmGicDestroy(v);
}

function testVgicV5IstAttrs(): void {
  const v: VmGic = { vm: vmCreateV5(NR_VCPUS), gicFd: -1, gicDevType: KVM_DEV_TYPE_ARM_VGIC_V5 };
  const spiIst = userBytes(VGIC_V5_DEFAULT_NR_SPIS * 4); /* u32 spi_ist[VGIC_V5_DEFAULT_NR_SPIS] */
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);
  const vcpu0 = vmVcpuAdd(v.vm, 0, null);
  check(vcpu0, 'Failed to create vCPU');

  /* Check existing group/attribute */
  kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0);

  /* Check non-existing attribute */
  let ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 1);
  check(ret && errno() === ENXIO, 'GICv5 IST accepted bad attr');

  let istAttr = vgic_v5_ist_attr(spiIst, spiIst.size, null, 0);
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 1, istAttr);
  check(ret && errno() === ENXIO, 'GICv5 IST get accepted bad attr');

  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 1, istAttr);
  check(ret && errno() === ENXIO, 'GICv5 IST set accepted bad attr');

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA));

  /* IST save/restore is not accessible before the VGIC is initialized. */
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EBUSY, 'GICv5 IST get before init');

  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EBUSY, 'GICv5 IST set before init');

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  /* A VM with SPIs must provide a userspace IST descriptor. */
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, null);
  check(ret && errno() === EINVAL, 'GICv5 IST get accepted NULL descriptor');

  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, null);
  check(ret && errno() === EINVAL, 'GICv5 IST set accepted NULL descriptor');

  /* Check bad userspace IST descriptors. */
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, userPtr(1));
  check(ret && errno() === EFAULT, 'GICv5 IST get with bad descriptor');

  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, userPtr(1));
  check(ret && errno() === EFAULT, 'GICv5 IST set with bad descriptor');

  /* Check missing and incorrectly sized SPI IST buffers. */
  istAttr = vgic_v5_ist_attr(null, 0, null, 0);
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST get accepted missing SPI buffer');
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST set accepted missing SPI buffer');

  istAttr = vgic_v5_ist_attr(spiIst, spiIst.size - 4, null, 0);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST set accepted bad SPI size');
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST get accepted bad SPI size');

  /* LPI storage must be absent when no LPI IST is configured. */
  istAttr = vgic_v5_ist_attr(spiIst, spiIst.size, spiIst, 4);
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST get accepted unexpected LPI buffer');
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST set accepted unexpected LPI buffer');

  vmGicDestroy(v);

  /* IST restore is rejected after the VM has run. */
  v.vm = vmCreateV5(NR_VCPUS);
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);
  const vcpu = vmVcpuAdd(v.vm, 0, guestCode);

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA));
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  ret = runVcpu(vcpu);
  check(!ret, 'Failed to run GICv5 VM before IST restore test');

  istAttr = vgic_v5_ist_attr(spiIst, spiIst.size, null, 0);
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EBUSY, 'GICv5 IST restore after run');

  vmGicDestroy(v);
}

function testVgicV5UserspacePpisAttrs(): void {
  const v: VmGic = { vm: vmCreateV5(NR_VCPUS), gicFd: -1, gicDevType: KVM_DEV_TYPE_ARM_VGIC_V5 };
  const userPpis = u64Array(2); /* u64 user_ppis[2] */
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);
  const vcpu0 = vmVcpuAdd(v.vm, 0, null);
  check(vcpu0, 'Failed to create vCPU');

  kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT);
  kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS);

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  userPpis.setU64(0, 0n);
  userPpis.setU64(1, 0xbadn);
  let ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, userPpis);
  check(!ret, 'GICv5 USERSPACE_PPIS get failed');
  check(userPpis.u64(0) & BIT_ULL(GICV5_ARCH_PPI_SW_PPI), 'GICv5 USERSPACE_PPIS does not expose SW_PPI');
  check(!userPpis.u64(1), 'GICv5 USERSPACE_PPIS upper word is not zero');

  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, userPpis);
  check(ret && errno() === ENXIO, 'GICv5 USERSPACE_PPIS set accepted');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, null);
  check(ret && errno() === EFAULT, 'GICv5 USERSPACE_PPIS get with bad pointer');

  vmGicDestroy(v);
}

function testVgicV5CpuSysregAttrs(): void {
  const v: VmGic = { vm: vmCreateV5(NR_VCPUS), gicFd: -1, gicDevType: KVM_DEV_TYPE_ARM_VGIC_V5 };
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);
  const vcpu0 = vmVcpuAdd(v.vm, 0, null);
  check(vcpu0, 'Failed to create vCPU');
  const val = u64();

  /* Check existing group/attribute */
  let attr = PACK_SR(ICC_CR0_EL1);
  kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr);

  /* CPU sysregs are not accessible before the VGIC is initialized. */
  let ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, val);
  check(ret && errno() === EBUSY, 'GICv5 CPU_SYSREGS get before init');

  val.value = 0n;
  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, val);
  check(ret && errno() === EBUSY, 'GICv5 CPU_SYSREGS set before init');

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  /* Read all exposed CPU sysregs and write the value back. */
  for (const sr of gicV5CpuSysregs) {
    attr = PACK_SR(sr.encoding);
    ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr);
    check(!ret, 'GICv5 CPU_SYSREGS missing %s', sr.name);

    val.value = 0xbadn;
    ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, val);
    check(!ret, 'GICv5 CPU_SYSREGS get failed for %s', sr.name);

    ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, val);
    check(!ret, 'GICv5 CPU_SYSREGS set failed for %s', sr.name);
  }

  /* Check non existent GICv3 sysreg */
  attr = PACK_SR(ICC_CTLR_EL1);
  ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr);
  check(ret && errno() === ENXIO, 'GICv5 CPU_SYSREGS accepted bad sysreg');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, val);
  check(ret && errno() === ENOENT, 'GICv5 CPU_SYSREGS get bad sysreg');

  /* Check non existing vCPU */
  attr = PACK_SR(ICC_CR0_EL1) | (1n << KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT);
  ret = __kvmHasDeviceAttr(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr);
  check(ret && errno() === EINVAL, 'GICv5 CPU_SYSREGS accepted bad MPIDR');

  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, val);
  check(ret && errno() === EINVAL, 'GICv5 CPU_SYSREGS get bad MPIDR');

  /* Check bad user pointers */
  attr = PACK_SR(ICC_CR0_EL1);
  ret = __kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, null);
  check(ret && errno() === EFAULT, 'GICv5 CPU_SYSREGS get with bad pointer');

  ret = __kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr, null);
  check(ret && errno() === EFAULT, 'GICv5 CPU_SYSREGS set with bad pointer');

  vmGicDestroy(v);
}

function testVgicV5SparseVcpuIds(): void {
  const vcpuIds = [VGIC_V5_SPARSE_VCPU0_ID, VGIC_V5_SPARSE_VCPU1_ID];
  const v: VmGic = { vm: vmCreateV5(VGIC_V5_SPARSE_NR_VCPUS), gicFd: -1, gicDevType: KVM_DEV_TYPE_ARM_VGIC_V5 };
  v.gicFd = kvmCreateDevice(v.vm, v.gicDevType);

  /* Create two vCPUs with legal, albeit sparse, IDs. */
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < vcpuIds.length; i++) {
    vcpus.push(vmVcpuAdd(v.vm, vcpuIds[i]!, guestIaffidCode));
    check(vcpus[i], 'Failed to create vCPU %u', vcpuIds[i]!);
  }

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA));
  vgicV5MapIrs(v.vm);
  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  /* Check both are runnable, and read back their correct IAFFIDs */
  for (let i = 0; i < vcpus.length; i++) {
    /* IAFFID is the VPE ID and must match the userspace vCPU ID. */
    let ret = runVcpu(vcpus[i]!);
    check(!ret, 'Failed to run GICv5 vCPU %u', vcpuIds[i]!);
    let uc = getUcall(vcpus[i]!);
    check(uc.cmd === UCALL_SYNC && BigInt(uc.args[1]!) === BigInt(vcpuIds[i]!), 'GICv5 vCPU %u IAFFID mismatch', vcpuIds[i]!);

    ret = runVcpu(vcpus[i]!);
    check(!ret, 'Failed to complete GICv5 vCPU %u', vcpuIds[i]!);
    uc = getUcall(vcpus[i]!);
    check(uc.cmd === UCALL_DONE, 'GICv5 vCPU %u did not complete', vcpuIds[i]!);
  }

  vmGicDestroy(v);
}

/* The PPI test: `withIrs` is the IRS series' version, !withIrs 7.2's (no ADDR, no PPI rejections). */
function testVgicV5Ppis(gicDevType: number, opts: VmOptions, withIrs: boolean): void {
  const v: VmGic = { vm: vmCreateV5(NR_VCPUS, opts), gicFd: -1, gicDevType };
  v.gicFd = kvmCreateDevice(v.vm, gicDevType);
  const userPpis = u64Array(2);
  let ret = 0;

  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < NR_VCPUS; i++) vcpus.push(vmVcpuAdd(v.vm, i, guestCode));

  vmInstallExceptionHandler(v.vm, 'irq-current', guestPpiIrqHandler);

  if (withIrs) {
    /* Set the address of the IRS before initialising the GIC */
    kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA));
  }

  kvmDeviceAttrSet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);

  /* Read out the PPIs that user space is allowed to drive. */
  kvmDeviceAttrGet(v.gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_USERSPACE_PPIS, userPpis);

  /* We should always be able to drive the SW_PPI. */
  check(userPpis.u64(0) & BIT_ULL(GICV5_ARCH_PPI_SW_PPI), 'SW_PPI is not drivable by userspace');

  if (withIrs) {
    /* PPIs not explicitly exposed to userspace must be rejected. */
    for (let i = 0; i < VGIC_V5_NR_PRIVATE_IRQS; i++) {
      if (userPpis.u64(i >> 6) & BIT_ULL(i % 64)) continue;

      ret = __vgicV5IrqLine(v.vm, KVM_ARM_IRQ_TYPE_PPI, i, 1);
      check(ret && errno() === EINVAL, 'GICv5 accepted non-userspace PPI %d', i);
    }

    ret = __vgicV5IrqLine(v.vm, KVM_ARM_IRQ_TYPE_PPI, VGIC_V5_NR_PRIVATE_IRQS, 1);
    check(ret && errno() === EINVAL, 'GICv5 accepted out-of-range PPI');
  }

  for (;;) {
    ret = runVcpu(vcpus[0]!);
    if (ret) break;

    const uc = getUcall(vcpus[0]!);
    if (uc.cmd === UCALL_SYNC) {
      /*
       * The guest is ready for the next level change. Set
       * high if ready, and lower if it has been consumed.
       */
      if (uc.args[1] === GUEST_CMD_IS_READY || uc.args[1] === GUEST_CMD_IRQ_DIEOI) {
        const level = uc.args[1] === GUEST_CMD_IRQ_DIEOI ? 0 : 1;
        let irq = 3 & KVM_ARM_IRQ_NUM_MASK;
        irq |= KVM_ARM_IRQ_TYPE_PPI << KVM_ARM_IRQ_TYPE_SHIFT;

        kvmIrqLine(v.vm, irq, level);
      } else if (uc.args[1] === GUEST_CMD_IS_AWAKE) {
        /* pr_debug("Guest skipping WFI due to pending IRQ\n") */
      } else if (uc.args[1] === GUEST_CMD_IRQ_CDIA) {
        /* pr_debug("Guest acknowledged IRQ\n") */
      }
      continue;
    }
    if (uc.cmd === UCALL_ABORT) reportGuestAssert(uc);
    if (uc.cmd === UCALL_DONE) break;
    testFail('Unknown ucall %lu', uc.cmd);
  }

  check(ret === 0, 'Failed to test GICv5 PPIs');

  vmGicDestroy(v);
}

function testVgicV5Spis(): void {
  const v = {} as VmGic;

  /* Default NR_IRQS exposes 32 SPIs, numbered 0..31 in KVM_IRQ_LINE. */
  vgicV5SpiLineVmCreate(v, VGIC_V5_DEFAULT_NR_SPIS);
  let ret = __vgicV5IrqLine(v.vm, KVM_ARM_IRQ_TYPE_SPI, VGIC_V5_DEFAULT_NR_SPIS, 1);
  check(ret && errno() === EINVAL, 'GICv5 accepted first invalid SPI');

  vmGicDestroy(v);

  /* Basic SPI injection through KVM_IRQ_LINE. */
  vgicV5RunSpiLineTest(VGIC_V5_DEFAULT_NR_SPIS, 0, false, false);

  /* The last valid SPI in the maximum configured range is injectable. */
  vgicV5RunSpiLineTest(VGIC_V5_MAX_NR_SPIS, VGIC_V5_MAX_NR_SPIS - 1, false, false);

  vgicV5SpiLineVmCreate(v, VGIC_V5_MAX_NR_SPIS);
  ret = __vgicV5IrqLine(v.vm, KVM_ARM_IRQ_TYPE_SPI, VGIC_V5_MAX_NR_SPIS, 1);
  check(ret && errno() === EINVAL, 'GICv5 accepted configured invalid SPI');
  vmGicDestroy(v);

  /*
   * Edge SPIs remain pending after the line is lowered.  The low
   * transition is injected before the guest runs and must be ignored:
   * once an edge interrupt is pending, lowering the line cannot recall it.
   */
  vgicV5RunSpiLineTest(VGIC_V5_DEFAULT_NR_SPIS, 1, false, true);

  /* Level SPIs can be raised and delivered through KVM_IRQ_LINE. */
  vgicV5RunSpiLineTest(VGIC_V5_DEFAULT_NR_SPIS, 2, true, false);
}

function testVgicV5Lpis(): void {
  const v = {} as VmGic;

  globals.lpi_ist_ready = false;
  const vcpus = vgicV5LpiVmCreate(v);
  syncGlobalToGuest(v.vm, globals, 'lpi_ist_ready');

  /* VPE0 programs a linear LPI IST from the virtual IRS ID registers. */
  let ret = runVcpu(vcpus[0]!);
  check(!ret, 'Failed to run GICv5 LPI vCPU0');
  let uc = getUcall(vcpus[0]!);
  if (uc.cmd === UCALL_ABORT) reportGuestAssert(uc);
  check(uc.cmd === UCALL_SYNC && uc.args[1] === GUEST_CMD_IS_READY, 'GICv5 LPI vCPU0 did not become ready');

  /* VPE1 waits for the shared LPI setup and enables its CPU interface. */
  ret = runVcpu(vcpus[1]!);
  check(!ret, 'Failed to run GICv5 LPI vCPU1');
  uc = getUcall(vcpus[1]!);
  if (uc.cmd === UCALL_ABORT) reportGuestAssert(uc);
  check(uc.cmd === UCALL_SYNC && uc.args[1] === GUEST_CMD_IS_READY, 'GICv5 LPI vCPU1 did not become ready');

  /* VPE0 sends an LPI to VPE1. */
  ret = runVcpu(vcpus[0]!);
  check(!ret, 'Failed to run GICv5 LPI vCPU0 sender');
  uc = getUcall(vcpus[0]!);
  check(uc.cmd === UCALL_SYNC && uc.args[1] === GUEST_CMD_LPI_SENT, 'GICv5 LPI vCPU0 did not send LPI');

  /* VPE1 consumes the LPI and replies with another LPI. */
  ret = runVcpu(vcpus[1]!);
  check(!ret, 'Failed to run GICv5 LPI vCPU1 receiver');
  uc = getUcall(vcpus[1]!);
  if (uc.cmd === UCALL_ABORT) reportGuestAssert(uc);
  check(uc.cmd === UCALL_SYNC && uc.args[1] === GUEST_CMD_LPI_REPLIED, 'GICv5 LPI vCPU1 did not reply');

  /* VPE0 consumes the reply LPI and ends the test. */
  ret = runVcpu(vcpus[0]!);
  check(!ret, 'Failed to run GICv5 LPI vCPU0 receiver');
  uc = getUcall(vcpus[0]!);
  if (uc.cmd === UCALL_ABORT) reportGuestAssert(uc);
  check(uc.cmd === UCALL_DONE, 'GICv5 LPI vCPU0 did not complete');

  vmGicDestroy(v);
}

function testVgicV5IstSaveRestore(): void {
  const lpiIst = userBytes(VGIC_V5_LPI_IST_SIZE);
  const lpiIstResave = userBytes(VGIC_V5_LPI_IST_SIZE);
  const spiIst = userBytes(VGIC_V5_DEFAULT_NR_SPIS * 4);
  const spiIstResave = userBytes(VGIC_V5_DEFAULT_NR_SPIS * 4);
  const irsRegs: bigint[] = new Array<bigint>(gicV5IrsRegs.length).fill(0n);
  const src = {} as VmGic;
  const dst = {} as VmGic;

  globals.ist_restore_irq_count = [0, 0];

  let vcpus = vgicV5IstRestoreVmCreate(src, guestIstSourceCode, guestUnexpectedIrqHandler);

  let ret = runVcpu(vcpus[0]!);
  check(!ret, 'Failed to run GICv5 IST save source VM');
  vgicV5ExpectSync(vcpus[0]!, GUEST_CMD_IST_SOURCE_READY, 'GICv5 IST source guest did not become ready');

  /*
   * The guest configured enable/priority/affinity state. Make selected
   * SPIs pending from userspace so the SPI IST save path sees them.
   */
  vgicV5SpiLine(src.vm, RESTORE_TEST_SPI_PRIO_HIGH, 1);
  vgicV5SpiLine(src.vm, RESTORE_TEST_SPI_PRIO_LOW, 1);
  vgicV5SpiLine(src.vm, RESTORE_TEST_SPI_PENDING_DISABLED, 1);

  vgicV5SaveIrsRegs(src, irsRegs);
  const lpiIstSize = vgicV5LpiIstStateSize(irsRegs);

  /*
   * VCPU0 has configured the initial state. KVM must reject missing or
   * incorrectly sized LPI storage before accepting the complete IST image.
   */
  let istAttr = vgic_v5_ist_attr(spiIst, spiIst.size, null, 0);
  ret = __kvmDeviceAttrGet(src.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST save accepted missing LPI buffer');

  istAttr = vgic_v5_ist_attr(spiIst, spiIst.size, lpiIst, lpiIstSize - 4);
  ret = __kvmDeviceAttrGet(src.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST save accepted bad LPI size');

  istAttr = vgic_v5_ist_attr(spiIst, spiIst.size, lpiIst, lpiIstSize);
  ret = __kvmDeviceAttrGet(src.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(!ret, 'GICv5 IST save failed');

  vmGicDestroy(src);

  /* Create the guest that we are restoring state into */
  globals.ist_restore_irq_count = [0, 0];
  vcpus = vgicV5IstRestoreVmCreate(dst, guestIstRestoreCode, guestIstRestoreIrqHandler);
  syncGlobalToGuest(dst.vm, globals, 'ist_restore_irq_count');

  istAttr = vgic_v5_ist_attr(spiIst, spiIst.size, lpiIst, lpiIstSize);
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST restore before IRS state');

  vgicV5RestoreIrsRegs(dst, irsRegs);

  /* BASER remains mutable until the host LPI IST has been allocated. */
  const istBaser = vgicV5SavedIrsReg(irsRegs, GICV5_IRS_IST_BASER);
  let badIstBaser = istBaser ^ (1n << GICV5_IRS_IST_BASER_ADDR_SHIFT);
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_BASER, u64(badIstBaser));
  check(!ret, 'GICv5 rejected changed unallocated IST_BASER');

  badIstBaser = istBaser & ~GICV5_IRS_IST_BASER_VALID;
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_BASER, u64(badIstBaser));
  check(!ret, 'GICv5 rejected invalidated unallocated IST_BASER');

  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_BASER, u64(istBaser));
  check(!ret, 'GICv5 failed to restore IST_BASER');

  istAttr = vgic_v5_ist_attr(spiIst, spiIst.size, null, 0);
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST restore accepted missing LPI buffer');

  istAttr = vgic_v5_ist_attr(spiIst, spiIst.size, lpiIst, lpiIstSize - 4);
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(ret && errno() === EINVAL, 'GICv5 IST restore accepted bad LPI size');

  /* Restore the VMM-owned SPI and LPI IST images. */
  istAttr = vgic_v5_ist_attr(spiIst, spiIst.size, lpiIst, lpiIstSize);
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(!ret, 'GICv5 IST restore failed');

  /* A live IST makes BASER and the guest-visible configuration immutable. */
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_BASER, u64(istBaser));
  check(!ret, 'GICv5 rejected unchanged live IST_BASER');

  badIstBaser = istBaser ^ (1n << GICV5_IRS_IST_BASER_ADDR_SHIFT);
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_BASER, u64(badIstBaser));
  check(ret && errno() === EINVAL, 'GICv5 accepted changed live IST_BASER');

  badIstBaser = istBaser & ~GICV5_IRS_IST_BASER_VALID;
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_BASER, u64(badIstBaser));
  check(ret && errno() === EINVAL, 'GICv5 accepted invalidated live IST_BASER');

  const istCfgr = vgicV5SavedIrsReg(irsRegs, GICV5_IRS_IST_CFGR);
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_CFGR, u64(istCfgr));
  check(!ret, 'GICv5 rejected unchanged live IST_CFGR');

  const badIstCfgr = istCfgr ^ 1n; /* FIELD_PREP(GICV5_IRS_IST_CFGR_LPI_ID_BITS, 1) */
  ret = __kvmDeviceAttrSet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IRS_REGS, GICV5_IRS_IST_CFGR, u64(badIstCfgr));
  check(ret && errno() === EINVAL, 'GICv5 accepted changed live IST_CFGR');

  /*
   * Re-save the restored IST image before the destination VM runs, so a
   * dropped serialized field fails independently of later interrupt
   * delivery.
   */
  istAttr = vgic_v5_ist_attr(spiIstResave, spiIstResave.size, lpiIstResave, lpiIstSize);
  ret = __kvmDeviceAttrGet(dst.gicFd, KVM_DEV_ARM_VGIC_GRP_IST, 0, istAttr);
  check(!ret, 'GICv5 IST re-save failed');
  check(sameBytes(spiIst, spiIstResave, spiIst.size), 'GICv5 SPI IST state changed across restore');
  check(sameBytes(lpiIst, lpiIstResave, lpiIstSize), 'GICv5 LPI IST state changed across restore');

  /*
   * At this stage, the guest's IST state should match what was saved. Run
   * each vcpu once to let it enable interrupts, etc.
   */
  ret = runVcpu(vcpus[0]!);
  check(!ret, 'Failed to run GICv5 IST restore vCPU0');
  vgicV5ExpectSync(vcpus[0]!, GUEST_CMD_IS_READY, 'GICv5 IST restore vCPU0 did not become ready');

  ret = runVcpu(vcpus[1]!);
  check(!ret, 'Failed to run GICv5 IST restore vCPU1');
  vgicV5ExpectSync(vcpus[1]!, GUEST_CMD_IS_READY, 'GICv5 IST restore vCPU1 did not become ready');

  /*
   * VPE0 consumes two pending SPIs in restored priority order, then
   * enables a restored pending-but-disabled SPI.
   */
  ret = runVcpu(vcpus[0]!);
  check(!ret, 'Failed to consume restored GICv5 SPIs');
  vgicV5ExpectSync(vcpus[0]!, GUEST_CMD_IST_SPI_INJECT_READY, 'GICv5 IST restore vCPU0 did not consume restored SPIs');

  /*
   * This SPI was enabled before save, but not pending.  Inject it after
   * restore to prove enable, priority and affinity were restored.
   */
  vgicV5SpiLine(dst.vm, RESTORE_TEST_SPI_ENABLED, 1);

  ret = runVcpu(vcpus[0]!);
  check(!ret, 'Failed to consume post-restore GICv5 SPI');
  let uc = getUcall(vcpus[0]!);
  if (uc.cmd === UCALL_ABORT) reportGuestAssert(uc);
  check(uc.cmd === UCALL_DONE, 'GICv5 IST restore vCPU0 did not complete');

  /*
   * VPE1 consumes a restored pending LPI, then pends another LPI that
   * was enabled before save but not pending.
   */
  ret = runVcpu(vcpus[1]!);
  check(!ret, 'Failed to consume restored GICv5 LPI');
  vgicV5ExpectSync(vcpus[1]!, GUEST_CMD_IST_LPI_INJECT_READY, 'GICv5 IST restore vCPU1 did not consume restored LPI');

  ret = runVcpu(vcpus[1]!);
  check(!ret, 'Failed to consume post-restore GICv5 LPI');
  uc = getUcall(vcpus[1]!);
  if (uc.cmd === UCALL_ABORT) reportGuestAssert(uc);
  check(uc.cmd === UCALL_DONE, 'GICv5 IST restore vCPU1 did not complete');

  vmGicDestroy(dst);
}

/* memcmp(a, b, n) == 0 */
function sameBytes(a: UserBytes, b: UserBytes, n: number): boolean {
  const x = a.bytes();
  const y = b.bytes();
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return false;
  return true;
}

/*
 * Returns 0 if it's possible to create GIC device of a given type (V5).
 */
function testKvmDevice(gicDevType: number, opts: VmOptions): number {
  const { vm } = vmCreateWithVcpus(NR_VCPUS, guestCode, opts);
  const v: VmGic = { vm, gicFd: -1, gicDevType };

  /* try to create a non existing KVM device */
  let ret = __kvmTestCreateDevice(v.vm, 0);
  check(ret && errno() === ENODEV, 'unsupported device');

  /* trial mode */
  ret = __kvmTestCreateDevice(v.vm, gicDevType);
  if (ret) return ret;
  v.gicFd = kvmCreateDevice(v.vm, gicDevType);

  ret = __kvmCreateDevice(v.vm, gicDevType);
  check(ret < 0 && errno() === EEXIST, 'create GIC device twice');

  vmGicDestroy(v);

  return 0;
}

/** One kernel test function as a counted case. */
function counted(name: string, fn: () => void): [string, () => void] {
  return [
    name,
    () => {
      nrChecks = 0;
      fn();
      printInfo('%s: %d checks', name.replace(/^7\.2: /, ''), nrChecks);
    },
  ];
}

function main(): void {
  testDisableDefaultVgic();

  /* pa_bits = vm_guest_mode_params[VM_MODE_DEFAULT].pa_bits: a VM property here */
  maxPhysSize = vmCreate(0, HOST).maxPhysSize();

  selftest('vgic_v5', [
    counted('test_kvm_device', () => {
      const ret = testKvmDevice(KVM_DEV_TYPE_ARM_VGIC_V5, HOST);
      if (ret) printInfo('No GICv5 support; Not running GIC_v5 tests.');
      testRequire(!ret, 'GICv5 (exit(KSFT_SKIP))');
      printInfo('Running VGIC_V5 tests.');
    }),
    counted('test_vgic_v5_addr_attrs', testVgicV5AddrAttrs),
    counted('test_vgic_v5_nr_irqs_attrs', testVgicV5NrIrqsAttrs),
    counted('test_vgic_v5_irs_regs_attrs', testVgicV5IrsRegsAttrs),
    counted('test_vgic_v5_ist_attrs', testVgicV5IstAttrs),
    counted('test_vgic_v5_userspace_ppis_attrs', testVgicV5UserspacePpisAttrs),
    counted('test_vgic_v5_cpu_sysreg_attrs', testVgicV5CpuSysregAttrs),
    counted('test_vgic_v5_sparse_vcpu_ids', testVgicV5SparseVcpuIds),
    counted('test_vgic_v5_ppis', () => testVgicV5Ppis(KVM_DEV_TYPE_ARM_VGIC_V5, HOST, true)),
    counted('test_vgic_v5_spis', testVgicV5Spis),
    counted('test_vgic_v5_lpis', testVgicV5Lpis),
    counted('test_vgic_v5_ist_save_restore', testVgicV5IstSaveRestore),
    counted('7.2: test_kvm_device', () => {
      if (testKvmDevice(KVM_DEV_TYPE_ARM_VGIC_V5, HOST_7_2)) testFail('the 7.2 host does not register the GICv5 device');
    }),
    counted('7.2: test_vgic_v5_ppis', () => testVgicV5Ppis(KVM_DEV_TYPE_ARM_VGIC_V5, HOST_7_2, false)),
  ]);
}

main();
