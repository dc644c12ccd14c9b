// Port of tools/testing/selftests/kvm/arm64/vgic_group_iidr.c (David Woodhouse, "[PATCH v3 2/4]
// KVM: arm64: selftests: Add vgic IIDR revision test", 11 May 2026).
//
// Validate that the GICD_IIDR implementation revision controls IGROUPR semantics for GICv3:
//   Rev 1: IGROUPR reads as all-ones (group 1), writes ignored
//   Rev 2+: IGROUPR is guest-configurable (read/write)
//   Rev 3: GICR_CTLR advertises IR and CES; rev 1/2 do not.

import type { Guest, GuestProgram } from '../lib/guest/index.ts';
import {
  GICD_BASE_GVA,
  GICD_IGROUPR,
  GICD_IIDR,
  GICD_IIDR_REVISION_MASK,
  GICD_IIDR_REVISION_SHIFT,
  GICR_BASE_GVA,
  GICR_CTLR,
  GICR_CTLR_CES,
  GICR_CTLR_IR,
  type HostProfile,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  UCALL_ABORT,
  UCALL_DONE,
  __vgicV3Init,
  __vgicV3Setup,
  close,
  getUcall,
  guestGlobals,
  kvmDeviceAttrGet,
  kvmDeviceAttrSet,
  kvmVmFree,
  printInfo,
  reportGuestAssert,
  selftest,
  syncGlobalToGuest,
  testAssert,
  testDisableDefaultVgic,
  testFail,
  u32,
  vcpuRun,
  vmCreateWithVcpus,
} from '../lib/host/index.ts';

const NR_IRQS = 128;
const SPI_IGROUPR = GICD_IGROUPR + (32 / 32) * 4; // intids 32-63

const globals = guestGlobals({ shared_rev: 0 });

function* guestCode(g: Guest): GuestProgram {
  let val = yield* g.readl(GICD_BASE_GVA + SPI_IGROUPR);

  if (g.readGlobal(globals, 'shared_rev') === 1) {
    // Rev 1: all group 1, guest writes must be ignored
    yield* g.assertEq(val, 0xffffffff);
    yield* g.writel(GICD_BASE_GVA + SPI_IGROUPR, 0x0);
    val = yield* g.readl(GICD_BASE_GVA + SPI_IGROUPR);
    yield* g.assertEq(val, 0xffffffff);
    yield* g.writel(GICD_BASE_GVA + SPI_IGROUPR, 0x55aa55aa);
    val = yield* g.readl(GICD_BASE_GVA + SPI_IGROUPR);
    yield* g.assertEq(val, 0xffffffff);
  } else {
    // Rev 2/3: guest-configurable
    yield* g.writel(GICD_BASE_GVA + SPI_IGROUPR, 0xa5a5a5a5);
    val = yield* g.readl(GICD_BASE_GVA + SPI_IGROUPR);
    yield* g.assertEq(val, 0xa5a5a5a5);
    yield* g.writel(GICD_BASE_GVA + SPI_IGROUPR, 0x0);
    val = yield* g.readl(GICD_BASE_GVA + SPI_IGROUPR);
    yield* g.assertEq(val, 0x0);
  }

  // Rev 3: GICR_CTLR advertises IR and CES. Rev 1/2: it does not.
  val = yield* g.readl(GICR_BASE_GVA + GICR_CTLR);
  if (g.readGlobal(globals, 'shared_rev') >= 3) yield* g.assert((val & (GICR_CTLR_IR | GICR_CTLR_CES)) !== 0);
  else yield* g.assert(!(val & (GICR_CTLR_IR | GICR_CTLR_CES)));

  yield* g.done();
}

function runTest(rev: number): void {
  printInfo('Testing IIDR revision %d', rev);

  testDisableDefaultVgic();
  const { vm, vcpus } = vmCreateWithVcpus(1, guestCode);

  const gicFd = __vgicV3Setup(vm, 1, NR_IRQS);
  testAssert(gicFd >= 0, 'Failed to create vGICv3');

  // Set the requested IIDR revision before init.
  const iidr = u32();
  kvmDeviceAttrGet(gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_IIDR, iidr);
  iidr.value = ((iidr.value & ~GICD_IIDR_REVISION_MASK) | (rev << GICD_IIDR_REVISION_SHIFT)) >>> 0;
  kvmDeviceAttrSet(gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_IIDR, iidr);

  __vgicV3Init(gicFd);

  // Verify the revision was applied.
  kvmDeviceAttrGet(gicFd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_IIDR, iidr);
  const got = (iidr.value & GICD_IIDR_REVISION_MASK) >>> GICD_IIDR_REVISION_SHIFT;
  testAssert(got === rev, 'IIDR revision readback: expected %d, got %d', rev, got);

  // Tell the guest which revision we set.
  syncGlobalToGuest(vm, globals, 'shared_rev');
  globals.shared_rev = rev;
  syncGlobalToGuest(vm, globals, 'shared_rev');

  vcpuRun(vcpus[0]!);
  const uc = getUcall(vcpus[0]!);
  switch (uc.cmd) {
    case UCALL_ABORT:
      reportGuestAssert(uc);
      break;
    case UCALL_DONE:
      break;
    default:
      testFail('Unexpected ucall %lu', uc.cmd);
  }

  close(gicFd);
  kvmVmFree(vm);
}

/**
 * Host kernels on which a revision cannot be selected this way (reference §3.3): before
 * reg_allowed_pre_init the pre-INIT IIDR access is EBUSY; while the write took the revision from
 * the current value (49a1a2c70a7f..a0e6ae45af17) it is accepted and changes nothing, so only the
 * revision the VM already has (3, set at creation) reads back; revision 1 needs patch 1 of the series.
 */
function expectFail(rev: number) {
  return (p: HostProfile): string | undefined => {
    if (!p.v3PreInitRegs) return 'GICv3 register access before CTRL_INIT is EBUSY on this kernel';
    if (p.iidrUserWrite === 'noop' && rev !== p.latestRev) {
      return 'the IIDR write takes the revision from the current value, so the revision stays 3';
    }
    if (rev === 1 && p.iidrUserWrite !== 'rev1-3') return 'IIDR revision 1 is not selectable before Woodhouse patch 1';
    return undefined;
  };
}

selftest('vgic_group_iidr', [
  { name: 'IIDR revision 1', run: () => runTest(1), expectFail: expectFail(1) },
  { name: 'IIDR revision 2', run: () => runTest(2), expectFail: expectFail(2) },
  { name: 'IIDR revision 3', run: () => runTest(3), expectFail: expectFail(3) },
]);
