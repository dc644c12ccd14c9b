// SPDX-License-Identifier: GPL-2.0
//
// TypeScript port of tools/testing/selftests/kvm/arm64/vgic_irq.c (mainline 7.2, with Marc
// Zyngier's LR-overflow additions: test_restore_active, asym_dir, group_en, timer_spi).
//
// The guest asks the host to inject interrupts with GUEST_SYNC(&args), passing a struct on its
// stack by address; the host reads it from guest memory (addr_gva2hva) and injects with
// KVM_IRQ_LINE, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, an irqfd through KVM_SET_GSI_ROUTING, or
// userspace ISPENDR/ISACTIVER writes, then checks the guest took each interrupt once.
//
// Options as in C: -n nr_irqs (a multiple of 32, at most 1024; KVM itself refuses more than 992),
// -e eoi_split, -l level_sensitive, -h; a bad value prints the help text and exits 1. Without -e
// and -l the four default configurations run, then the two-vCPU cases.
//
// Check sites (kernel file -> this port; same expected values and errnos):
//   guest: guest_irq_generic_handler 6, GUEST_ASSERT_IAR_EMPTY 1 (used 5 times), test_inject_fail 1,
//          guest_inject 2, guest_restore_active 3, test_inject_preemption 4, guest_code_asym_dir 2,
//          guest_code_group_en 5, guest_code_timer_spi 6                       = 30 sites (35 uses)
//   host:  kvm_irq_line_check 1, kvm_irq_set_level_info_check 2, kvm_set_gsi_routing_irqchip_check
//          1 assert + 2, kvm_routing_and_irqfd_check 1 assert + 1, run_guest_cmd 1 assert,
//          test_vgic REPORT_GUEST_ASSERT + TEST_FAIL 2, test_vcpu_run 2          = 13 sites
//   not ported: test_vgic_two_cpus's two TEST_FAIL("Can't create thread ...") (no pthread_create:
//          the vCPUs run on lib/host/threads.ts's seeded scheduler, which cannot fail to start one).
//
// Differences forced by the harness:
//  - Each test_vgic() call and each test_vgic_two_cpus() call is one TAP case, named after it.
//  - The two-vCPU cases run on the seeded scheduler (seed from --seed / VGIC_SEED, printed with a
//    fingerprint of the interleaving: the same seed gives the same schedule and output), with a
//    budget of 5 M guest accesses: where C would spin until the kselftest timeout, the case fails.
//  - __kvm_* calls return -errno where C returns -1; errno() holds the errno as in C.
//  - group_en needs configurable interrupt groups: on the pre-groups profile (IGROUPR read-only,
//    before d53c2c29ae0d) SGI 0 stays in Group 1 and the case is expected to fail there.

import { relative } from 'node:path';
import {
  type Guest,
  type GuestProgram,
  type GuestReply,
  type GuestRequest,
  CNTVCT_EL0,
  CNTV_CTL_EL0,
  CNTV_CVAL_EL0,
  ICC_AP1R0_EL1,
  ICC_IAR0_EL1,
  ICC_IGRPEN0_EL1,
  cStruct,
  gicGetAndAckIrq,
  gicInit,
  gicIrqEnable,
  gicIrqGetActive,
  gicIrqGetPending,
  gicIrqSetConfig,
  gicIrqSetGroup,
  gicIrqSetPending,
  gicSetDir,
  gicSetEoi,
  gicSetEoiSplit,
  gicSetPriority,
  gicSetPriorityMask,
  GIC_V3,
  guestSyncRef,
  IAR_SPURIOUS,
  INTID_IS_PPI,
  INTID_IS_SGI,
  loadField,
  loadStruct,
  MAX_SPI,
  MIN_PPI,
  MIN_SGI,
  MIN_SPI,
  storeField,
  vcpuArgs,
} from '../lib/guest/index.ts';
import {
  type HostProfile,
  type KvmVcpu,
  type KvmVm,
  type SelftestCase,
  type Ucall,
  EINVAL,
  KVM_ARM_IRQ_NUM_MASK,
  KVM_CAP_IRQFD,
  KVM_CAP_IRQ_ROUTING,
  KVM_IRQCHIP_NUM_PINS,
  KVM_MAX_IRQ_ROUTES,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  VECTOR_IRQ_CURRENT,
  VGIC_MAX_RESERVED,
  TestAssertionFailure,
  _kvmArmIrqLine,
  _kvmGsiRoutingWrite,
  _kvmIrqSetLevelInfo,
  addrGva2hva,
  atoiNonNegative,
  atoiParanoid,
  close,
  errno,
  getopt,
  getUcall,
  guestGlobals,
  hvaReadStruct,
  hvaWriteStruct,
  kvmArmIrqLine,
  kvmAssignIrqfd,
  kvmCheckCap,
  kvmClose,
  kvmGsiRoutingCreate,
  kvmGsiRoutingIrqchipAdd,
  kvmGsiRoutingWrite,
  kvmIrqSetLevelInfo,
  kvmIrqWriteIsactiver,
  kvmIrqWriteIspendr,
  kvmNewEventfd,
  kvmSupportsVgicV3,
  kvmVmFree,
  printInfo,
  reportGuestAssert,
  runVcpuThreads,
  schedulerSeed,
  selftest,
  testAssert,
  testDisableDefaultVgic,
  testFail,
  testRequire,
  u64,
  vcpuArgsSet,
  vcpuInitDescriptorTables,
  vcpuRun,
  vgicV3Setup,
  vmAllocPage,
  vmCreateWithOneVcpu,
  vmCreateWithVcpus,
  vmInitDescriptorTables,
  vmInstallExceptionHandler,
  write,
} from '../lib/host/index.ts';

type Gen<R> = Generator<GuestRequest, R, GuestReply>;

/* struct test_args: the user's options, passed to the guest in a page it reads through x0. */
const TEST_ARGS = cStruct({
  nr_irqs: 'u32', // number of KVM supported IRQs
  eoi_split: 'bool', // 1 is eoir+dir, 0 is eoir only
  level_sensitive: 'bool', // 1 is level, 0 is edge
  kvm_max_routes: 'i32', // output of KVM_CAP_IRQ_ROUTING
  kvm_supports_irqfd: 'bool', // output of KVM_CAP_IRQFD
  shared_data: 'u32',
});
type TestArgs = { nr_irqs: number; eoi_split: boolean; level_sensitive: boolean; kvm_max_routes: number; kvm_supports_irqfd: boolean; shared_data: number };

/*
 * 32 priority levels, 0x00 (highest) to 0xF8 (lowest) in steps of 8; the macros stay right if
 * KVM implements more, and 32 is the GICv2/GICv3 minimum.
 */
const KVM_NUM_PRIOS = 32;
const KVM_PRIO_SHIFT = 3;
const KVM_PRIO_STEPS = 1 << KVM_PRIO_SHIFT;
const LOWEST_PRIO = KVM_NUM_PRIOS - 1;
const CPU_PRIO_MASK = LOWEST_PRIO << KVM_PRIO_SHIFT; // 0xf8
const IRQ_DEFAULT_PRIO = LOWEST_PRIO - 1;
const IRQ_DEFAULT_PRIO_REG = IRQ_DEFAULT_PRIO << KVM_PRIO_SHIFT; // 0xf0

/* kvm_inject_cmd: what the guest asks the host to do. */
const KVM_INJECT_EDGE_IRQ_LINE = 1;
const KVM_SET_IRQ_LINE = 2;
const KVM_SET_IRQ_LINE_HIGH = 3;
const KVM_SET_LEVEL_INFO_HIGH = 4;
const KVM_INJECT_IRQFD = 5;
const KVM_WRITE_ISPENDR = 6;
const KVM_WRITE_ISACTIVER = 7;

/* struct kvm_inject_args */
const KVM_INJECT_ARGS = cStruct({ cmd: 'u32', first_intid: 'u32', num: 'u32', level: 'i32', expect_failure: 'bool' });
type KvmInjectArgs = { cmd: number; first_intid: number; num: number; level: number; expect_failure: boolean };

/* struct kvm_inject_desc: which INTID classes a command can inject. */
interface KvmInjectDesc {
  cmd: number;
  sgi: boolean;
  ppi: boolean;
  spi: boolean;
}

const inject_edge_fns: KvmInjectDesc[] = [
  { cmd: KVM_INJECT_EDGE_IRQ_LINE, sgi: false, ppi: false, spi: true },
  { cmd: KVM_INJECT_IRQFD, sgi: false, ppi: false, spi: true },
  { cmd: KVM_WRITE_ISPENDR, sgi: true, ppi: false, spi: true },
];

const inject_level_fns: KvmInjectDesc[] = [
  { cmd: KVM_SET_IRQ_LINE_HIGH, sgi: false, ppi: true, spi: true },
  { cmd: KVM_SET_LEVEL_INFO_HIGH, sgi: false, ppi: true, spi: true },
  { cmd: KVM_INJECT_IRQFD, sgi: false, ppi: false, spi: true },
  { cmd: KVM_WRITE_ISPENDR, sgi: false, ppi: true, spi: true },
];

const set_active_fns: KvmInjectDesc[] = [{ cmd: KVM_WRITE_ISACTIVER, sgi: true, ppi: true, spi: true }];

/* for_each_supported_inject_fn(): IRQFD only where KVM_CAP_IRQFD says so. */
function supportedFns(args: TestArgs, t: KvmInjectDesc[]): KvmInjectDesc[] {
  return t.filter((f) => args.kvm_supports_irqfd || f.cmd !== KVM_INJECT_IRQFD);
}

/* Shared between the guest main thread and the IRQ handlers. */
const globals = guestGlobals({ irq_handled: 0, irqnr_received: new Uint32Array(MAX_SPI + 1) });

/* reset_stats() */
function reset_stats(g: Guest): void {
  g.writeGlobal(globals, 'irq_handled', 0);
  g.writeGlobal(globals, 'irqnr_received', new Uint32Array(MAX_SPI + 1));
}

function* gic_read_ap1r0(g: Guest): Gen<number> {
  const reg = Number(yield* g.readSysreg(ICC_AP1R0_EL1));
  yield* g.dsb('sy');
  return reg;
}

function* gic_write_ap1r0(g: Guest, val: number): GuestProgram {
  yield* g.writeSysreg(ICC_AP1R0_EL1, val);
  yield* g.isb();
}

/* kvm_inject_call(): GUEST_SYNC(&args) with the request on the guest's stack. */
function* kvm_inject_call(g: Guest, cmd: number, first_intid: number, num: number, level: number, expect_failure: boolean): GuestProgram {
  const args: KvmInjectArgs = { cmd, first_intid: first_intid >>> 0, num: num >>> 0, level, expect_failure };
  yield* guestSyncRef(g, KVM_INJECT_ARGS, args);
}

const _KVM_INJECT_MULTI = (g: Guest, cmd: number, intid: number, num: number, expect_failure: boolean) =>
  kvm_inject_call(g, cmd, intid, num, -1 /* not used */, expect_failure);
const KVM_INJECT_MULTI = (g: Guest, cmd: number, intid: number, num: number) => _KVM_INJECT_MULTI(g, cmd, intid, num, false);
const _KVM_INJECT = (g: Guest, cmd: number, intid: number, expect_failure: boolean) => _KVM_INJECT_MULTI(g, cmd, intid, 1, expect_failure);
const KVM_INJECT = (g: Guest, cmd: number, intid: number) => _KVM_INJECT_MULTI(g, cmd, intid, 1, false);
const KVM_ACTIVATE = (g: Guest, cmd: number, intid: number) => kvm_inject_call(g, cmd, intid, 1, 1, false);

function* guest_set_irq_line(g: Guest, intid: number, level: number): GuestProgram {
  yield* kvm_inject_call(g, KVM_SET_IRQ_LINE, intid, 1, level, false);
}

/* GUEST_ASSERT_IAR_EMPTY() */
function* GUEST_ASSERT_IAR_EMPTY(g: Guest): GuestProgram {
  const _intid = yield* gicGetAndAckIrq(g);
  yield* g.assert(_intid === IAR_SPURIOUS, 'IAR not empty: %u', _intid);
}

function* guest_irq_generic_handler(g: Guest, eoi_split: boolean, level_sensitive: boolean): GuestProgram {
  const intid = yield* gicGetAndAckIrq(g);

  if (intid === IAR_SPURIOUS) return;

  yield* g.assert(yield* gicIrqGetActive(g, intid));

  if (!level_sensitive) yield* g.assert(!(yield* gicIrqGetPending(g, intid)));

  if (level_sensitive) yield* guest_set_irq_line(g, intid, 0);

  yield* g.assert(intid < MAX_SPI);
  g.readGlobal(globals, 'irqnr_received')[intid]! += 1;
  g.writeGlobal(globals, 'irq_handled', g.readGlobal(globals, 'irq_handled') + 1);

  yield* gicSetEoi(g, intid);
  yield* g.assertEq(yield* gic_read_ap1r0(g), 0);
  if (eoi_split) yield* gicSetDir(g, intid);

  yield* g.assert(!(yield* gicIrqGetActive(g, intid)));
  yield* g.assert(!(yield* gicIrqGetPending(g, intid)));
}

/* guest_irq_handlers[eoi_split][level_sensitive] */
const guest_irq_handlers = [
  [(g: Guest) => guest_irq_generic_handler(g, false, false), (g: Guest) => guest_irq_generic_handler(g, false, true)],
  [(g: Guest) => guest_irq_generic_handler(g, true, false), (g: Guest) => guest_irq_generic_handler(g, true, true)],
] as const;

function* reset_priorities(g: Guest, args: TestArgs): GuestProgram {
  for (let i = 0; i < args.nr_irqs; i++) yield* gicSetPriority(g, i, IRQ_DEFAULT_PRIO_REG);
}

function* test_inject_fail(g: Guest, _args: TestArgs, intid: number, cmd: number): GuestProgram {
  reset_stats(g);

  yield* _KVM_INJECT(g, cmd, intid, true);
  /* no IRQ to handle on entry */

  yield* g.assertEq(g.readGlobal(globals, 'irq_handled'), 0);
  yield* GUEST_ASSERT_IAR_EMPTY(g);
}

function* guest_inject(g: Guest, args: TestArgs, first_intid: number, num: number, cmd: number): GuestProgram {
  reset_stats(g);

  /* Cycle over all priorities to make things more interesting. */
  for (let i = first_intid; i < num + first_intid; i++) yield* gicSetPriority(g, i, (i % (KVM_NUM_PRIOS - 1)) << 3);

  yield* g.localIrqDisable(); // msr daifset, #2
  yield* KVM_INJECT_MULTI(g, cmd, first_intid, num);

  while (g.readGlobal(globals, 'irq_handled') < num) {
    yield* g.wfi();
    yield* g.localIrqEnable();
    yield* g.isb(); /* handle IRQ */
    yield* g.localIrqDisable();
  }
  yield* g.localIrqEnable();

  yield* g.assertEq(g.readGlobal(globals, 'irq_handled'), num);
  for (let i = first_intid; i < num + first_intid; i++) yield* g.assertEq(g.readGlobal(globals, 'irqnr_received')[i]!, 1);
  yield* GUEST_ASSERT_IAR_EMPTY(g);

  yield* reset_priorities(g, args);
}

/*
 * Restore the active state of several IRQs at once, as a live migration's destination would
 * for IRQs that were still being handled when the source stopped.
 */
function* guest_restore_active(g: Guest, args: TestArgs, first_intid: number, num: number, cmd: number): GuestProgram {
  /* Descending priorities for the first (KVM_NUM_PRIOS - 1) IRQs, so intid+1 can preempt intid. */
  for (let i = 0, prio = (num - 1) * 8; i < num; i++, prio -= 8) {
    yield* g.assert(prio >= 0);
    const intid = i + first_intid;
    yield* gicSetPriority(g, intid, prio);
  }

  /* In a real migration, KVM would restore all GIC state before running guest code. */
  for (let i = 0; i < num; i++) {
    const intid = i + first_intid;
    yield* KVM_ACTIVATE(g, cmd, intid);
    let ap1r = yield* gic_read_ap1r0(g);
    ap1r = (ap1r | (1 << i)) >>> 0;
    yield* gic_write_ap1r0(g, ap1r);
  }

  /* This is where the "migration" would occur. */

  /* Finish handling the IRQs, highest priority first. */
  for (let i = 0; i < num; i++) {
    const intid = num - i - 1 + first_intid;
    yield* gicSetEoi(g, intid);
    if (args.eoi_split) yield* gicSetDir(g, intid);
  }

  for (let i = 0; i < num; i++) yield* g.assert(!(yield* gicIrqGetActive(g, i + first_intid)));
  yield* g.assertEq(yield* gic_read_ap1r0(g), 0);
  yield* GUEST_ASSERT_IAR_EMPTY(g);
}

/* Poll the IAR until it is not spurious; only with IRQs masked (test_inject_preemption). */
function* wait_for_and_activate_irq(g: Guest): Gen<number> {
  let intid: number;
  do {
    yield* g.wfi();
    intid = yield* gicGetAndAckIrq(g);
  } while (intid === IAR_SPURIOUS);
  return intid;
}

const test_bit = (i: number, mask: number): boolean => ((mask >>> i) & 1) === 1;

/*
 * Inject num concurrent IRQs from first_intid and handle them without taking the exceptions:
 * IRQs stay masked for the whole test.
 */
function* test_inject_preemption(g: Guest, args: TestArgs, first_intid: number, num: number, exclude: number | null, cmd: number): GuestProgram {
  const step = KVM_PRIO_STEPS;

  /* Descending priorities for the first (KVM_NUM_PRIOS - 1) IRQs, so intid+1 can preempt intid. */
  for (let i = 0, prio = (num - 1) * step; i < num; i++, prio -= step) {
    yield* g.assert(prio >= 0);
    const intid = i + first_intid;
    yield* gicSetPriority(g, intid, prio);
  }

  yield* g.localIrqDisable();

  for (let i = 0; i < num; i++) {
    const intid = i + first_intid;

    if (exclude !== null && test_bit(i, exclude)) continue;

    yield* KVM_INJECT(g, cmd, intid);
    /* Each successive IRQ will preempt the previous one. */
    const tmp = yield* wait_for_and_activate_irq(g);
    yield* g.assertEq(tmp, intid);
    if (args.level_sensitive) yield* guest_set_irq_line(g, intid, 0);
  }

  /* Finish handling the IRQs, highest priority first. */
  for (let i = 0; i < num; i++) {
    const intid = num - i - 1 + first_intid;

    if (exclude !== null && test_bit(intid - first_intid, exclude)) continue;

    yield* gicSetEoi(g, intid);
  }

  if (args.eoi_split) {
    for (let i = 0; i < num; i++) {
      const intid = i + first_intid;

      if (exclude !== null && test_bit(i, exclude)) continue;

      if (args.eoi_split) yield* gicSetDir(g, intid);
    }
  }

  yield* g.localIrqEnable();

  for (let i = 0; i < num; i++) {
    if (exclude !== null && test_bit(i, exclude)) continue;

    yield* g.assert(!(yield* gicIrqGetActive(g, i + first_intid)));
  }
  yield* g.assertEq(yield* gic_read_ap1r0(g), 0);
  yield* GUEST_ASSERT_IAR_EMPTY(g);

  yield* reset_priorities(g, args);
}

function* test_injection(g: Guest, args: TestArgs, f: KvmInjectDesc): GuestProgram {
  const nr_irqs = args.nr_irqs;

  if (f.sgi) {
    yield* guest_inject(g, args, MIN_SGI, 1, f.cmd);
    yield* guest_inject(g, args, 0, 16, f.cmd);
  }

  if (f.ppi) yield* guest_inject(g, args, MIN_PPI, 1, f.cmd);

  if (f.spi) {
    yield* guest_inject(g, args, MIN_SPI, 1, f.cmd);
    yield* guest_inject(g, args, nr_irqs - 1, 1, f.cmd);
    yield* guest_inject(g, args, MIN_SPI, nr_irqs - MIN_SPI, f.cmd);
  }
}

function* test_injection_failure(g: Guest, args: TestArgs, f: KvmInjectDesc): GuestProgram {
  const bad_intid = [args.nr_irqs, 1020, 1024, 1120, 5120, 0xffffffff];

  for (let i = 0; i < bad_intid.length; i++) yield* test_inject_fail(g, args, bad_intid[i]!, f.cmd);
}

function* test_preemption(g: Guest, args: TestArgs, f: KvmInjectDesc): GuestProgram {
  /* Timer PPIs cannot be injected from userspace */
  const ppi_exclude = (1 << (27 - MIN_PPI)) | (1 << (30 - MIN_PPI)) | (1 << (28 - MIN_PPI)) | (1 << (26 - MIN_PPI));

  if (f.sgi) yield* test_inject_preemption(g, args, MIN_SGI, 16, null, f.cmd);

  if (f.ppi) yield* test_inject_preemption(g, args, MIN_PPI, 16, ppi_exclude, f.cmd);

  if (f.spi) yield* test_inject_preemption(g, args, MIN_SPI, 31, null, f.cmd);
}

function* test_restore_active(g: Guest, args: TestArgs, f: KvmInjectDesc): GuestProgram {
  if (f.sgi) yield* guest_restore_active(g, args, MIN_SGI, 16, f.cmd);

  if (f.ppi) yield* guest_restore_active(g, args, MIN_PPI, 16, f.cmd);

  if (f.spi) yield* guest_restore_active(g, args, MIN_SPI, 31, f.cmd);
}

function* guest_code(g: Guest): GuestProgram {
  const args: TestArgs = yield* loadStruct(g, TEST_ARGS, vcpuArgs(g)[0]!);
  const nr_irqs = args.nr_irqs;
  const level_sensitive = args.level_sensitive;

  yield* gicInit(g, GIC_V3, 1);

  for (let i = MIN_SPI; i < nr_irqs; i++) yield* gicIrqSetConfig(g, i, !level_sensitive);

  for (let i = 0; i < nr_irqs; i++) yield* gicIrqEnable(g, i);

  yield* gicSetEoiSplit(g, args.eoi_split);

  yield* reset_priorities(g, args);
  yield* gicSetPriorityMask(g, CPU_PRIO_MASK);

  const inject_fns = level_sensitive ? inject_level_fns : inject_edge_fns;

  yield* g.localIrqEnable();

  /* Start the tests. */
  for (const f of supportedFns(args, inject_fns)) {
    yield* test_injection(g, args, f);
    yield* test_preemption(g, args, f);
    yield* test_injection_failure(g, args, f);
  }

  /* Restore the active state of IRQs, as a live migration in the middle of handling them would. */
  for (const f of supportedFns(args, set_active_fns)) yield* test_restore_active(g, args, f);

  yield* g.done();
}

// ---- host side --------------------------------------------------------------------------------

function kvm_irq_line_check(vm: KvmVm, intid: number, level: number, _test_args: TestArgs, expect_failure: boolean): void {
  if (!expect_failure) {
    kvmArmIrqLine(vm, intid, level);
  } else {
    /* The interface doesn't allow larger intid's. */
    if (intid > KVM_ARM_IRQ_NUM_MASK) return;

    const ret = _kvmArmIrqLine(vm, intid, level);
    testAssert(ret !== 0 && errno() === EINVAL, 'Bad intid %i did not cause KVM_IRQ_LINE error: rc: %i errno: %i', intid, ret, errno());
  }
}

function kvm_irq_set_level_info_check(gic_fd: number, intid: number, level: number, expect_failure: boolean): void {
  if (!expect_failure) {
    kvmIrqSetLevelInfo(gic_fd, intid, level);
  } else {
    const ret = _kvmIrqSetLevelInfo(gic_fd, intid, level);
    /*
     * KVM silently ignores invalid SPIs and SGIs (not level-sensitive); it only refuses an
     * intid beyond 1023 (the max reserved SPI). Callers are meant to mask the intid with 0x3ff.
     */
    if (intid > VGIC_MAX_RESERVED)
      testAssert(ret !== 0 && errno() === EINVAL, 'Bad intid %i did not cause VGIC_GRP_LEVEL_INFO error: rc: %i errno: %i', intid, ret, errno());
    else testAssert(!ret, 'KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO for intid %i failed, rc: %i errno: %i', intid, ret, errno());
  }
}

function kvm_set_gsi_routing_irqchip_check(vm: KvmVm, intid: number, num: number, kvm_max_routes: number, expect_failure: boolean): void {
  testAssert(num <= kvm_max_routes && kvm_max_routes <= KVM_MAX_IRQ_ROUTES, 'assert(num <= kvm_max_routes && kvm_max_routes <= KVM_MAX_IRQ_ROUTES)');

  const routing = kvmGsiRoutingCreate();
  for (let i = intid; i < intid + num; i++) kvmGsiRoutingIrqchipAdd(routing, i - MIN_SPI, i - MIN_SPI);

  if (!expect_failure) {
    kvmGsiRoutingWrite(vm, routing);
  } else {
    const ret = _kvmGsiRoutingWrite(vm, routing);
    /* The kernel only checks e->irqchip.pin >= KVM_IRQCHIP_NUM_PINS */
    if (intid + num - 1 - MIN_SPI >= KVM_IRQCHIP_NUM_PINS)
      testAssert(ret !== 0 && errno() === EINVAL, 'Bad intid %u did not cause KVM_SET_GSI_ROUTING error: rc: %i errno: %i', intid, ret, errno());
    else testAssert(ret === 0, 'KVM_SET_GSI_ROUTING for intid %i failed, rc: %i errno: %i', intid, ret, errno());
  }
}

function kvm_irq_write_ispendr_check(gic_fd: number, intid: number, vcpu: KvmVcpu, expect_failure: boolean): void {
  /*
   * Nothing to do when a failure is expected: invalid intids would inject SGIs into a
   * level-sensitive test (or the reverse) or write beyond the ISPENDR registers.
   */
  if (!expect_failure) kvmIrqWriteIspendr(gic_fd, intid, vcpu);
}

function kvm_routing_and_irqfd_check(vm: KvmVm, intid: number, num: number, kvm_max_routes: number, expect_failure: boolean): void {
  const fd: number[] = new Array(MAX_SPI);

  /* The interface counts from the first SPI: there is no way to inject an SGI or PPI. */
  if (INTID_IS_SGI(intid) || INTID_IS_PPI(intid)) return;

  kvm_set_gsi_routing_irqchip_check(vm, intid, num, kvm_max_routes, expect_failure);

  /*
   * With expect_failure, inject anyway: these fail silently, and the guest checks that
   * nothing was injected.
   */
  for (let f = 0, i = intid; i < intid + num; i++, f++) fd[f] = kvmNewEventfd();

  for (let f = 0, i = intid; i < intid + num; i++, f++) {
    testAssert(i <= 0xffffffff, 'assert(i <= (u64)UINT_MAX)');
    kvmAssignIrqfd(vm, i - MIN_SPI, fd[f]!);
  }

  for (let f = 0, i = intid; i < intid + num; i++, f++) {
    const val = u64(1);
    const ret = write(fd[f]!, val, 8);
    testAssert(ret === 8, 'write() failed, rc: %i errno: %i (%s)', ret, errno(), 'write');
  }

  for (let f = 0, i = intid; i < intid + num; i++, f++) kvmClose(fd[f]!);
}

function run_guest_cmd(vcpu: KvmVcpu, gic_fd: number, inject_args: KvmInjectArgs, test_args: TestArgs): void {
  const cmd = inject_args.cmd;
  const intid = inject_args.first_intid;
  const num = inject_args.num;
  const level = inject_args.level;
  const expect_failure = inject_args.expect_failure;
  const vm = vcpu.vm;

  /* handles the valid case: intid=0xffffffff num=1 */
  testAssert(intid < 0xffffffff - num || num === 1, 'assert(intid < UINT_MAX - num || num == 1)');

  switch (cmd) {
    case KVM_INJECT_EDGE_IRQ_LINE:
      for (let tmp = intid; tmp < intid + num; tmp++) kvm_irq_line_check(vm, tmp >>> 0, 1, test_args, expect_failure);
      for (let tmp = intid; tmp < intid + num; tmp++) kvm_irq_line_check(vm, tmp >>> 0, 0, test_args, expect_failure);
      break;
    case KVM_SET_IRQ_LINE:
      for (let tmp = intid; tmp < intid + num; tmp++) kvm_irq_line_check(vm, tmp >>> 0, level, test_args, expect_failure);
      break;
    case KVM_SET_IRQ_LINE_HIGH:
      for (let tmp = intid; tmp < intid + num; tmp++) kvm_irq_line_check(vm, tmp >>> 0, 1, test_args, expect_failure);
      break;
    case KVM_SET_LEVEL_INFO_HIGH:
      for (let tmp = intid; tmp < intid + num; tmp++) kvm_irq_set_level_info_check(gic_fd, tmp >>> 0, 1, expect_failure);
      break;
    case KVM_INJECT_IRQFD:
      kvm_routing_and_irqfd_check(vm, intid, num, test_args.kvm_max_routes, expect_failure);
      break;
    case KVM_WRITE_ISPENDR:
      for (let i = intid; i < ((intid + num) >>> 0); i++) kvm_irq_write_ispendr_check(gic_fd, i, vcpu, expect_failure);
      break;
    case KVM_WRITE_ISACTIVER:
      for (let i = intid; i < ((intid + num) >>> 0); i++) kvmIrqWriteIsactiver(gic_fd, i, vcpu);
      break;
    default:
      break;
  }
}

/* kvm_inject_get_call(): the request the guest passed by address. */
function kvm_inject_get_call(vm: KvmVm, uc: Ucall): KvmInjectArgs {
  const kvm_args_gva = uc.args[1] as number;
  const kvm_args_hva = addrGva2hva(vm, kvm_args_gva);
  return hvaReadStruct(kvm_args_hva, KVM_INJECT_ARGS);
}

function print_args(args: TestArgs): void {
  printInfo('nr-irqs=%d level-sensitive=%d eoi-split=%d', args.nr_irqs, args.level_sensitive ? 1 : 0, args.eoi_split ? 1 : 0);
}

function test_vgic(nr_irqs: number, level_sensitive: boolean, eoi_split: boolean): void {
  const args: TestArgs = {
    nr_irqs,
    level_sensitive,
    eoi_split,
    kvm_max_routes: kvmCheckCap(KVM_CAP_IRQ_ROUTING),
    kvm_supports_irqfd: kvmCheckCap(KVM_CAP_IRQFD) !== 0,
    shared_data: 0,
  };

  print_args(args);

  const { vm, vcpu } = vmCreateWithOneVcpu(guest_code);

  vmInitDescriptorTables(vm);
  vcpuInitDescriptorTables(vcpu);

  /* Setup the guest args page (so it gets the args). */
  const args_gva = vmAllocPage(vm);
  hvaWriteStruct(addrGva2hva(vm, args_gva), TEST_ARGS, args);
  vcpuArgsSet(vcpu, 1, args_gva);

  const gic_fd = vgicV3Setup(vm, 1, nr_irqs);

  vmInstallExceptionHandler(vm, VECTOR_IRQ_CURRENT, guest_irq_handlers[args.eoi_split ? 1 : 0][args.level_sensitive ? 1 : 0]);

  for (;;) {
    vcpuRun(vcpu);

    const uc = getUcall(vcpu);
    switch (uc.cmd) {
      case UCALL_SYNC: {
        const inject_args = kvm_inject_get_call(vm, uc);
        run_guest_cmd(vcpu, gic_fd, inject_args, args);
        break;
      }
      case UCALL_ABORT:
        reportGuestAssert(uc);
        break;
      case UCALL_DONE:
        close(gic_fd);
        kvmVmFree(vm);
        return;
      default:
        testFail('Unknown ucall %lu', uc.cmd);
    }
  }
}

function* guest_code_asym_dir(g: Guest): GuestProgram {
  const [args, cpuid] = vcpuArgs(g) as [number, number];

  yield* gicInit(g, GIC_V3, 2);

  yield* gicSetEoiSplit(g, true);
  yield* gicSetPriorityMask(g, CPU_PRIO_MASK);

  if (cpuid === 0) {
    yield* g.localIrqDisable();

    yield* gicSetPriority(g, MIN_PPI, IRQ_DEFAULT_PRIO);
    yield* gicIrqEnable(g, MIN_SPI);
    yield* gicIrqSetPending(g, MIN_SPI);

    const intid = yield* wait_for_and_activate_irq(g);
    yield* g.assertEq(intid, MIN_SPI);

    yield* gicSetEoi(g, intid);
    yield* g.isb();

    yield* storeField(g, TEST_ARGS, args, 'shared_data', MIN_SPI); // WRITE_ONCE
    yield* g.dsb('ishst');

    do {
      yield* g.dsb('ishld');
    } while ((yield* loadField(g, TEST_ARGS, args, 'shared_data')) === MIN_SPI);
    yield* g.assert(!(yield* gicIrqGetActive(g, MIN_SPI)));
  } else {
    do {
      yield* g.dsb('ishld');
    } while ((yield* loadField(g, TEST_ARGS, args, 'shared_data')) !== MIN_SPI);

    yield* gicSetDir(g, MIN_SPI);
    yield* g.isb();

    yield* storeField(g, TEST_ARGS, args, 'shared_data', 0);
    yield* g.dsb('ishst');
  }

  yield* g.done();
}

function* guest_code_group_en(g: Guest): GuestProgram {
  yield* gicInit(g, GIC_V3, 2);

  yield* gicSetEoiSplit(g, false);
  yield* gicSetPriorityMask(g, CPU_PRIO_MASK);
  /* SGI0 is G0, which is disabled */
  yield* gicIrqSetGroup(g, 0, 0);

  /* Configure all SGIs with decreasing priority */
  for (let intid = 0; intid < MIN_PPI; intid++) {
    yield* gicSetPriority(g, intid, (intid + 1) * 8);
    yield* gicIrqEnable(g, intid);
    yield* gicIrqSetPending(g, intid);
  }

  /* Ack and EOI all G1 interrupts */
  for (let i = 1; i < MIN_PPI; i++) {
    const intid = yield* wait_for_and_activate_irq(g);

    yield* g.assert(intid < MIN_PPI);
    yield* gicSetEoi(g, intid);
    yield* g.isb();
  }

  /* SGI0 must still be pending and inactive, and nothing can be acknowledged. */
  yield* g.assert(yield* gicIrqGetPending(g, 0));
  yield* g.assert(!(yield* gicIrqGetActive(g, 0)));
  yield* GUEST_ASSERT_IAR_EMPTY(g);
  yield* g.assert(Number(yield* g.readSysreg(ICC_IAR0_EL1)) === IAR_SPURIOUS);

  /* Open the G0 gates, and verify we can ack SGI0 */
  yield* g.writeSysreg(ICC_IGRPEN0_EL1, 1);
  yield* g.isb();

  let intid: number;
  do {
    intid = Number(yield* g.readSysreg(ICC_IAR0_EL1));
  } while (intid === IAR_SPURIOUS);

  yield* g.assert(intid === 0);
  yield* g.done();
}

function* guest_code_timer_spi(g: Guest): GuestProgram {
  const [, cpuid] = vcpuArgs(g) as [number, number];

  yield* gicInit(g, GIC_V3, 2);

  yield* gicSetEoiSplit(g, true);
  yield* gicSetPriorityMask(g, CPU_PRIO_MASK);

  /* Add a pending SPI so that KVM starts trapping DIR */
  yield* gicSetPriority(g, MIN_SPI + cpuid, IRQ_DEFAULT_PRIO);
  yield* gicIrqSetPending(g, MIN_SPI + cpuid);

  /* Configure the timer with a higher priority, make it pending */
  yield* gicSetPriority(g, 27, IRQ_DEFAULT_PRIO - 8);

  yield* g.isb();
  let val = yield* g.readSysreg(CNTVCT_EL0);
  yield* g.writeSysreg(CNTV_CVAL_EL0, val);
  yield* g.writeSysreg(CNTV_CTL_EL0, 1);
  yield* g.isb();

  yield* g.assert(yield* gicIrqGetPending(g, 27));

  /* Enable both interrupts */
  yield* gicIrqEnable(g, MIN_SPI + cpuid);
  yield* gicIrqEnable(g, 27);

  /* The timer must fire */
  let intid = yield* wait_for_and_activate_irq(g);
  yield* g.assert(intid === 27);

  /* Check that we can deassert it */
  yield* g.writeSysreg(CNTV_CTL_EL0, 0);
  yield* g.isb();

  yield* g.assert(!(yield* gicIrqGetPending(g, 27)));

  /* Priority drop, then deactivation: the host's deactivation must have taken effect. */
  yield* gicSetEoi(g, 27);
  yield* gicSetDir(g, 27);

  yield* g.assert(!(yield* gicIrqGetActive(g, 27)));

  /* Do it one more time */
  yield* g.isb();
  val = yield* g.readSysreg(CNTVCT_EL0);
  yield* g.writeSysreg(CNTV_CVAL_EL0, val);
  yield* g.writeSysreg(CNTV_CTL_EL0, 1);
  yield* g.isb();

  yield* g.assert(yield* gicIrqGetPending(g, 27));

  /* The timer must fire again */
  intid = yield* wait_for_and_activate_irq(g);
  yield* g.assert(intid === 27);

  yield* g.done();
}

/* test_vcpu_run(): the body of each vCPU thread. */
function test_vcpu_run(uc: Ucall): boolean {
  switch (uc.cmd) {
    case UCALL_ABORT:
      reportGuestAssert(uc);
      break;
    case UCALL_DONE:
      return false;
    default:
      testFail('Unknown ucall %lu', uc.cmd);
  }
  return true;
}

/* FNV-1a over the scheduler's slices: the interleaving a seed produced, printed so two runs compare. */
function scheduleFingerprint(): { onSlice: (vcpu: number, quantum: number, outcome: string) => void; digest: () => string; slices: () => number } {
  let h = 0x811c9dc5;
  let n = 0;
  const mix = (x: number): void => {
    h = Math.imul(h ^ (x & 0xff), 0x01000193) >>> 0;
  };
  return {
    onSlice: (vcpu, quantum, outcome) => {
      n++;
      mix(vcpu);
      mix(quantum);
      mix(outcome.length);
    },
    digest: () => `0x${h.toString(16).padStart(8, '0')}`,
    slices: () => n,
  };
}

function test_vgic_two_cpus(gcode: (g: Guest) => GuestProgram): void {
  const args: TestArgs = { nr_irqs: 0, eoi_split: false, level_sensitive: false, kvm_max_routes: 0, kvm_supports_irqfd: false, shared_data: 0 };

  const { vm, vcpus } = vmCreateWithVcpus(2, gcode);

  vmInitDescriptorTables(vm);
  vcpuInitDescriptorTables(vcpus[0]!);
  vcpuInitDescriptorTables(vcpus[1]!);

  /* Setup the guest args page (so it gets the args). */
  const args_gva = vmAllocPage(vm);
  hvaWriteStruct(addrGva2hva(vm, args_gva), TEST_ARGS, args);
  vcpuArgsSet(vcpus[0]!, 2, args_gva, 0);
  vcpuArgsSet(vcpus[1]!, 2, args_gva, 1);

  const gic_fd = vgicV3Setup(vm, 2, 64);

  /* pthread_create() x2 + pthread_join() x2: the seeded scheduler runs both to the end. */
  const fp = scheduleFingerprint();
  runVcpuThreads(
    vcpus.map((vcpu) => ({ vcpu, onUcall: (uc: Ucall) => test_vcpu_run(uc) })),
    // Each case takes a few thousand guest accesses; a guest that spins forever (as a broken
    // priority drop makes timer_spi do) fails here within seconds, not at the runner's timeout.
    { seed: schedulerSeed(), onSlice: fp.onSlice, budget: 5_000_000 },
  );
  printInfo('schedule: %d slices, fingerprint %s', fp.slices(), fp.digest());

  close(gic_fd);
  kvmVmFree(vm);
}

function help(name: string): never {
  process.stdout.write(`\nusage: ${name} [-n num_irqs] [-e eoi_split] [-l level_sensitive]\n`);
  process.stdout.write(' -n: specify number of IRQs to setup the vgic with. It has to be a multiple of 32 and between 64 and 1024.\n');
  process.stdout.write(' -e: if 1 then EOI is split into a write to DIR on top of writing EOI.\n');
  process.stdout.write(' -l: specify whether the IRQs are level-sensitive (1) or not (0).');
  process.stdout.write('\n');
  process.exit(1);
}

/* Kernels before d53c2c29ae0d have read-only interrupt groups: SGI 0 cannot be put in Group 0. */
function groupsFixed(p: HostProfile): string | undefined {
  return p.groupsConfigurable ? undefined : 'IGROUPR is read-only on this kernel, so SGI 0 stays in Group 1';
}

function main(): void {
  let nr_irqs = 64;
  let default_args = true;
  let level_sensitive = false;
  let eoi_split = false;
  const name = relative(process.cwd(), process.argv[1] ?? 'vgic_irq');

  testDisableDefaultVgic();

  try {
    for (const { opt, optarg } of getopt(process.argv.slice(2), 'hn:e:l:', name)) {
      switch (opt) {
        case 'n':
          nr_irqs = atoiNonNegative('Number of IRQs', optarg!);
          if (nr_irqs > 1024 || nr_irqs % 32) help(name);
          break;
        case 'e':
          eoi_split = atoiParanoid(optarg!) !== 0;
          default_args = false;
          break;
        case 'l':
          level_sensitive = atoiParanoid(optarg!) !== 0;
          default_args = false;
          break;
        case 'h':
        default:
          help(name);
      }
    }
  } catch (e) {
    // A TEST_ASSERT in main() (atoi_paranoid) ends the process as test_assert() does.
    if (!(e instanceof TestAssertionFailure)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(254);
  }

  const cases: SelftestCase[] = [];
  if (!kvmSupportsVgicV3()) {
    cases.push({ name: 'main', run: () => testRequire(false, 'kvm_supports_vgic_v3()') });
  } else if (default_args) {
    /* With only nr_irqs given, run every combination. */
    for (const [level, split] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      cases.push({ name: `test_vgic(nr_irqs=${nr_irqs}, level=${+level}, eoi_split=${+split})`, run: () => test_vgic(nr_irqs, level, split) });
    }
    cases.push({ name: 'test_vgic_two_cpus(guest_code_asym_dir)', run: () => test_vgic_two_cpus(guest_code_asym_dir) });
    cases.push({ name: 'test_vgic_two_cpus(guest_code_group_en)', run: () => test_vgic_two_cpus(guest_code_group_en), expectFail: groupsFixed });
    cases.push({ name: 'test_vgic_two_cpus(guest_code_timer_spi)', run: () => test_vgic_two_cpus(guest_code_timer_spi) });
  } else {
    cases.push({ name: `test_vgic(nr_irqs=${nr_irqs}, level=${+level_sensitive}, eoi_split=${+eoi_split})`, run: () => test_vgic(nr_irqs, level_sensitive, eoi_split) });
  }

  selftest('vgic_irq', cases);
}

main();
