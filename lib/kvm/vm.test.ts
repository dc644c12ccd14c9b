// The emulated host kernel's VM-level ABI: KVM_CREATE_DEVICE, KVM_CREATE_VCPU, the first
// KVM_RUN's vGIC checks, KVM_IRQ_LINE and fd errors. Each test asserts the exact errno and that a
// refused call changed nothing. Expected values: reference vgic-kvm-semantics.md §1.2, §2, §7,
// checked against virt/kvm/kvm_main.c (kvm_ioctl_create_device, kvm_vm_ioctl_create_vcpu),
// arch/arm64/kvm/arm.c (kvm_arch_vcpu_precreate, kvm_vm_ioctl_irq_line), vgic-init.c
// (kvm_vgic_create, vgic_init, kvm_vgic_map_resources) and vgic.c (kvm_vgic_inject_irq).

import t from '../../test/tap.ts';
import {
  E2BIG,
  EBADF,
  EBUSY,
  EEXIST,
  EINVAL,
  EIO,
  ENODEV,
  ENXIO,
  GICD_ICFGR,
  GICD_ISPENDR,
  GICD_TYPER,
  GICR_ISPENDR0,
  KVM_ARM_IRQ_CPU_FIQ,
  KVM_ARM_IRQ_CPU_IRQ,
  KVM_ARM_IRQ_TYPE_CPU,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_VGIC_ITS,
  KVM_DEV_TYPE_ARM_VGIC_V2,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_DEV_TYPE_ARM_VGIC_V5,
  KVM_VGIC_V2_ADDR_TYPE_CPU,
  KVM_VGIC_V2_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
  UCALL_DONE,
  __kvmCreateDevice,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  __kvmTestCreateDevice,
  __vcpuRun,
  __vmVcpuAdd,
  _kvmIrqLine,
  close,
  getUcall,
  kvmCreateDevice,
  u32,
  vmCreateBarebones,
  vmVcpuAdd,
} from '../host/index.ts';
import {
  RDIST_STRIDE,
  SGI_FRAME,
  TEST_PROFILE,
  V2_CPU_BASE,
  V2_DIST_BASE,
  V3_DIST_BASE,
  V3_RDIST_BASE,
  addrSet,
  bareGic,
  ctrlSet,
  distGet,
  distSet,
  doneGuest,
  hex,
  nrIrqsGet,
  nrIrqsSet,
  rdGet,
  rdRegion,
  v2Vm,
  v3Vm,
} from '../../test/support/vgic.ts';

/** KVM_IRQ_LINE irq word: vcpu2_index [31:28], type [27:24], vcpu_index [23:16], number [15:0]. */
const irqWord = (type: number, vcpu: number, num: number, vcpu2 = 0): number =>
  ((vcpu2 << 28) | (type << 24) | (vcpu << 16) | num) >>> 0;
const SPI = (n: number): number => irqWord(KVM_ARM_IRQ_TYPE_SPI, 0, n);
const PPI = (vcpu: number, n: number): number => irqWord(KVM_ARM_IRQ_TYPE_PPI, vcpu, n);

const barebones = () => vmCreateBarebones({ profile: TEST_PROFILE });

// --- KVM_CREATE_DEVICE ----------------------------------------------------------------------------

t.test('KVM_CREATE_DEVICE: an unknown type is ENODEV, created or probed, and creates nothing', (t) => {
  const vm = barebones();
  // kvm_ioctl_create_device: no kvm_device_ops registered for the type -> -ENODEV (ref §1.2);
  // 16 is KVM_DEV_TYPE_ARM_VGIC_V5, which the modelled host does not register.
  for (const type of [0, 1, 6, 9, KVM_DEV_TYPE_ARM_VGIC_V5, 0xffff, 0xffffffff]) {
    t.equal(__kvmCreateDevice(vm, type), -ENODEV, `create type ${type}: ENODEV`);
    t.equal(__kvmTestCreateDevice(vm, type), -ENODEV, `probe type ${type}: ENODEV`);
  }
  t.equal(vm.dist.created, false, 'no irqchip after the refusals');
  t.ok(kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3) > 0, 'a GICv3 can still be created');
  t.end();
});

t.test('KVM_CREATE_DEVICE: GICv2 on a host without GICv2 emulation is ENODEV', (t) => {
  const vm = vmCreateBarebones({ profile: TEST_PROFILE, gicv2Compat: false });
  // The v2 device ops are never registered (kvm_register_vgic_device), and kvm_vgic_create()
  // re-checks can_emulate_gicv2 -> ENODEV for both create and probe (ref §1.2).
  t.equal(__kvmTestCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2), -ENODEV, 'probe: ENODEV');
  t.equal(__kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2), -ENODEV, 'create: ENODEV');
  t.equal(vm.dist.created, false, 'nothing created');
  t.equal(__kvmTestCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3), 0, 'GICv3 probe still 0');
  t.ok(kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3) > 0, 'GICv3 still creatable');
  t.end();
});

t.test('KVM_CREATE_DEVICE_TEST probes without creating', (t) => {
  const vm = barebones();
  // kvm_ioctl_create_device: "if (test) return 0" before ops->create (ref §1.2)
  for (const type of [KVM_DEV_TYPE_ARM_VGIC_V2, KVM_DEV_TYPE_ARM_VGIC_V3, KVM_DEV_TYPE_ARM_VGIC_ITS]) {
    t.equal(__kvmTestCreateDevice(vm, type), 0, `probe type ${type}: 0`);
  }
  t.equal(vm.dist.created, false, 'no irqchip after probing');
  t.equal(vm.dist.hasIts, false, 'no ITS after probing');
  const fd = __kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2);
  t.ok(fd > 0, 'the first real create succeeds (a probe did not count as a GIC)');
  t.equal(__kvmTestCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3), 0, 'a probe after a GIC exists is still 0 (no kvm_vgic_create)');
  t.end();
});

t.test('KVM_CREATE_DEVICE: a second GIC of either model is EEXIST and changes nothing', (t) => {
  // kvm_vgic_create: irqchip_in_kernel() -> -EEXIST (ref §1.2, §8 item 13)
  for (const [first, second] of [
    [KVM_DEV_TYPE_ARM_VGIC_V3, KVM_DEV_TYPE_ARM_VGIC_V3],
    [KVM_DEV_TYPE_ARM_VGIC_V3, KVM_DEV_TYPE_ARM_VGIC_V2],
    [KVM_DEV_TYPE_ARM_VGIC_V2, KVM_DEV_TYPE_ARM_VGIC_V3],
    [KVM_DEV_TYPE_ARM_VGIC_V2, KVM_DEV_TYPE_ARM_VGIC_V2],
  ] as const) {
    const vm = barebones();
    vmVcpuAdd(vm, 0);
    const fd = kvmCreateDevice(vm, first);
    const model = vm.dist.model;
    t.equal(__kvmCreateDevice(vm, second), -EEXIST, `type ${second} after ${first}: EEXIST`);
    t.equal(vm.dist.model, model, 'model unchanged');
    t.equal(__kvmHasDeviceAttr(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT), 0, 'first device still answers');
  }
  t.end();
});

t.test('KVM_CREATE_DEVICE: EEXIST wins over E2BIG', (t) => {
  const vm = barebones();
  for (let i = 0; i < 9; i++) vmVcpuAdd(vm, i);
  kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  // kvm_vgic_create checks irqchip_in_kernel before the vCPU count (ref §1.2 order)
  t.equal(__kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2), -EEXIST, '9 vCPUs, GICv3 present: v2 create is EEXIST');
  t.equal(vm.dist.model, 'v3', 'still a GICv3');
  t.end();
});

t.test('KVM_CREATE_DEVICE: after a vCPU has run it is EBUSY', (t) => {
  const vm = barebones();
  const vcpu = vmVcpuAdd(vm, 0, doneGuest);
  t.equal(__vcpuRun(vcpu), 0, 'KVM_RUN without an irqchip');
  t.equal(getUcall(vcpu).cmd, UCALL_DONE, 'guest done');
  // kvm_vgic_create: vcpu_has_run_once() -> -EBUSY (ref §1.2)
  t.equal(__kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3), -EBUSY, 'GICv3: EBUSY');
  t.equal(__kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2), -EBUSY, 'GICv2: EBUSY');
  t.equal(vm.dist.created, false, 'no irqchip');
  t.end();
});

t.test('KVM_CREATE_DEVICE: a vCPU inside KVM_RUN makes it EBUSY (lock_all_vcpus)', (t) => {
  const vm = barebones();
  const vcpu = vmVcpuAdd(vm, 0);
  // Stand-in for another thread being inside KVM_RUN: the vCPU mutex is held, so the
  // trylock in kvm_vgic_create fails -> -EBUSY (ref §1.2).
  vcpu.running = true;
  t.equal(__kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3), -EBUSY, 'EBUSY while running');
  vcpu.running = false;
  t.equal(vm.dist.created, false, 'nothing created');
  t.ok(__kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3) > 0, 'created once the vCPU is out of KVM_RUN');
  t.end();
});

t.test('KVM_CREATE_DEVICE: GICv2 with more than 8 vCPUs is E2BIG; GICv3 takes 512', (t) => {
  const vm = barebones();
  for (let i = 0; i < 9; i++) vmVcpuAdd(vm, i);
  // kvm_vgic_create: online_vcpus > kvm->max_vcpus (8 for v2) -> -E2BIG (ref §1.2)
  t.equal(__kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2), -E2BIG, '9 vCPUs: E2BIG');
  t.equal(vm.dist.created, false, 'no irqchip');
  // ...but kvm->max_vcpus was already lowered to 8 before the check (vgic-init.c), so the
  // refusal leaves the VM unable to take more vCPUs until a GICv3 raises it to 512.
  t.equal(__vmVcpuAdd(vm, 9), -EINVAL, 'a 10th vCPU after the refused v2: EINVAL (created_vcpus >= max_vcpus 8)');
  t.ok(kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3) > 0, 'GICv3 with 9 vCPUs is fine');
  t.equal(vm.maxVcpus, 512, 'max_vcpus 512 with a GICv3');
  t.ok(typeof __vmVcpuAdd(vm, 9) === 'object', 'a 10th vCPU is accepted again');
  t.end();
});

// --- KVM_CREATE_VCPU --------------------------------------------------------------------------------

t.test('KVM_CREATE_VCPU after vgic_init is EBUSY (v3 CTRL_INIT, v2 INIT, v2 lazy init)', (t) => {
  // kvm_arch_vcpu_precreate: irqchip_in_kernel && vgic_initialized -> -EBUSY (ref §2)
  const v3 = v3Vm({ nrVcpus: 1 });
  t.equal(__vmVcpuAdd(v3.vm, 1), -EBUSY, 'v3 after CTRL_INIT');
  t.equal(v3.vm.vcpus.length, 1, 'still one vCPU');
  const v2 = v2Vm({ nrVcpus: 1 });
  t.equal(__vmVcpuAdd(v2.vm, 1), -EBUSY, 'v2 after CTRL_INIT');
  const lazy = v2Vm({ nrVcpus: 1, init: false });
  t.equal(__vmVcpuAdd(lazy.vm, 1) instanceof Object, true, 'v2 not yet initialised: a vCPU can be added');
  t.equal(distGet(lazy.fd, GICD_TYPER).ret, 0, 'a DIST_REGS read initialises a GICv2 (vgic_v2_attr_regs_access)');
  t.equal(__vmVcpuAdd(lazy.vm, 2), -EBUSY, 'v2 after the lazy init: EBUSY');
  t.equal(lazy.vm.vcpus.length, 2, 'two vCPUs');
  t.end();
});

t.test('KVM_CREATE_VCPU: ids and counts', (t) => {
  const vm = barebones();
  // kvm_vm_ioctl_create_vcpu: id >= KVM_MAX_VCPU_IDS (512 on arm64) -> EINVAL
  t.equal(__vmVcpuAdd(vm, 512), -EINVAL, 'id 512: EINVAL');
  t.equal(__vmVcpuAdd(vm, -1), -EINVAL, 'id -1: EINVAL');
  t.ok(typeof __vmVcpuAdd(vm, 511) === 'object', 'id 511 accepted without a GIC');
  // ...and a duplicate id is EEXIST
  t.equal(__vmVcpuAdd(vm, 511), -EEXIST, 'id 511 again: EEXIST');
  t.equal(vm.vcpus.length, 1, 'one vCPU');
  t.end();
});

t.test('KVM_CREATE_VCPU: a GICv2 bounds vCPU ids to 8 (kvm_arch_vcpu_precreate)', (t) => {
  const { vm } = bareGic(KVM_DEV_TYPE_ARM_VGIC_V2, 1);
  // arm.c kvm_arch_vcpu_precreate: "if (id >= kvm->max_vcpus) return -EINVAL" with max_vcpus 8
  t.equal(__vmVcpuAdd(vm, 8), -EINVAL, 'id 8: EINVAL');
  t.equal(__vmVcpuAdd(vm, 100), -EINVAL, 'id 100: EINVAL');
  t.ok(typeof __vmVcpuAdd(vm, 7) === 'object', 'id 7 accepted');
  for (let id = 1; id < 7; id++) vmVcpuAdd(vm, id);
  t.equal(vm.vcpus.length, 8, 'eight vCPUs');
  // kvm_vm_ioctl_create_vcpu: created_vcpus >= max_vcpus -> EINVAL before precreate
  t.equal(__vmVcpuAdd(vm, 3), -EINVAL, 'a ninth vCPU: EINVAL (count checked before the duplicate id)');
  t.end();
});

t.test('KVM_CREATE_VCPU: count EINVAL is checked before precreate EBUSY', (t) => {
  const full = v2Vm({ nrVcpus: 8 });
  // created_vcpus >= max_vcpus (kvm_main.c) comes before kvm_arch_vcpu_precreate's EBUSY
  t.equal(__vmVcpuAdd(full.vm, 8), -EINVAL, '8 vCPUs + INIT: EINVAL');
  const one = v2Vm({ nrVcpus: 1 });
  t.equal(__vmVcpuAdd(one.vm, 8), -EBUSY, '1 vCPU + INIT, id 8: EBUSY (precreate checks init before the id)');
  t.end();
});

// --- first KVM_RUN --------------------------------------------------------------------------------

/** 2 vCPUs with a GICv3; regions/dist chosen by the caller; returns the first run's result. */
function v3FirstRun(setup: (fd: number) => void, init: boolean): { ret: number; vm: ReturnType<typeof barebones>; fd: number; vcpu: ReturnType<typeof vmVcpuAdd> } {
  const vm = barebones();
  const vcpu = vmVcpuAdd(vm, 0, doneGuest);
  vmVcpuAdd(vm, 1, doneGuest);
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  setup(fd);
  if (init) t.equal(ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT), 0, 'CTRL_INIT');
  return { ret: __vcpuRun(vcpu), vm, fd, vcpu };
}

t.test('first KVM_RUN (v3): a vCPU without a redistributor is ENXIO, ahead of everything else', (t) => {
  // vgic_v3_map_resources: a vCPU whose rd_iodev base is unset -> ENXIO, checked first (ref §2)
  const r = v3FirstRun((fd) => {
    addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(1, V3_RDIST_BASE));
    // dist overlapping the region and no INIT: EINVAL and EBUSY would also apply
    addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, V3_RDIST_BASE);
  }, false);
  t.equal(r.ret, -ENXIO, 'ENXIO');
  t.end();
});

t.test('first KVM_RUN (v3): no distributor address is ENXIO, ahead of EBUSY', (t) => {
  const r = v3FirstRun((fd) => {
    addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(2, V3_RDIST_BASE));
  }, false);
  t.equal(r.ret, -ENXIO, 'dist unset: ENXIO (ref §2)');
  t.end();
});

t.test('first KVM_RUN (v3): dist/redist overlap is EINVAL, ahead of EBUSY', (t) => {
  const r = v3FirstRun((fd) => {
    // Region first (the redistributors are placed), then a distributor inside it: the DIST
    // address itself is accepted (kvm_vgic_addr defers overlap checks to map_resources).
    addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(2, V3_RDIST_BASE));
    t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, V3_RDIST_BASE + RDIST_STRIDE), 0, 'overlapping DIST accepted at set time');
  }, false);
  t.equal(r.ret, -EINVAL, 'vgic_v3_check_base fails: EINVAL (ref §2)');
  t.end();
});

t.test('first KVM_RUN (v3): a legacy region grown past the IPA is EINVAL', (t) => {
  const vm = vmCreateBarebones({ profile: TEST_PROFILE, ipaBits: 32 });
  const vcpu = vmVcpuAdd(vm, 0, doneGuest);
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, 0x10000);
  // one vCPU: the legacy region is 128K and ends exactly at 4 GiB (vgic_check_iorange accepts)
  t.equal(addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x100000000n - 0x20000n), 0, 'legacy region accepted with 1 vCPU');
  vmVcpuAdd(vm, 1, doneGuest);
  t.equal(ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT), 0, 'INIT');
  // vgic_v3_check_base sizes a legacy region by the online vCPUs: 2 x 128K now crosses 4 GiB
  // (ref §2, selftest test_v3_redist_ipa_range_check_at_vcpu_run)
  t.equal(__vcpuRun(vcpu), -EINVAL, 'EINVAL');
  t.end();
});

t.test('first KVM_RUN (v3): everything placed but no CTRL_INIT is EBUSY', (t) => {
  const r = v3FirstRun((fd) => {
    addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(2, V3_RDIST_BASE));
    addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, V3_DIST_BASE);
  }, false);
  t.equal(r.ret, -EBUSY, 'EBUSY (ref §2)');
  t.end();
});

t.test('a failed first KVM_RUN kills the VM: every later ioctl is EIO', (t) => {
  const r = v3FirstRun((fd) => {
    addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(2, V3_RDIST_BASE));
    addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, V3_DIST_BASE);
  }, false);
  t.equal(r.ret, -EBUSY, 'first run: EBUSY');
  // vgic-init.c kvm_vgic_map_resources: "if (ret) kvm_vm_dead(kvm)" (Oct 2024, lore
  // 20241009183603); kvm_main.c then returns -EIO from VM, vCPU and device ioctls.
  t.equal(__vcpuRun(r.vcpu), -EIO, 'KVM_RUN again: EIO');
  t.equal(ctrlSet(r.fd, KVM_DEV_ARM_VGIC_CTRL_INIT), -EIO, 'device set_attr: EIO');
  t.equal(__kvmDeviceAttrGet(r.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32()), -EIO, 'device get_attr: EIO');
  t.equal(__kvmHasDeviceAttr(r.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0), -EIO, 'device has_attr: EIO');
  t.equal(__vmVcpuAdd(r.vm, 2), -EIO, 'KVM_CREATE_VCPU: EIO');
  t.equal(__kvmCreateDevice(r.vm, KVM_DEV_TYPE_ARM_VGIC_ITS), -EIO, 'KVM_CREATE_DEVICE: EIO');
  t.equal(_kvmIrqLine(r.vm, SPI(32), 1), -EIO, 'KVM_IRQ_LINE: EIO');
  t.equal(r.vm.dist.initialized, false, 'the vGIC was not initialised behind our back');
  t.end();
});

t.test('first KVM_RUN (v2): ENXIO without both frames, EINVAL on overlap, else lazy init', (t) => {
  const run = (dist: number | null, cpu: number | null, init = false) => {
    const vm = barebones();
    const vcpu = vmVcpuAdd(vm, 0, doneGuest);
    const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2);
    if (dist !== null) addrSet(fd, KVM_VGIC_V2_ADDR_TYPE_DIST, dist);
    if (cpu !== null) addrSet(fd, KVM_VGIC_V2_ADDR_TYPE_CPU, cpu);
    if (init) ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT);
    return { ret: __vcpuRun(vcpu), vm, vcpu };
  };
  // vgic_v2_map_resources: IS_VGIC_ADDR_UNDEF(dist or cpu) -> ENXIO; vgic_v2_check_base -> EINVAL
  t.equal(run(null, null).ret, -ENXIO, 'no frames: ENXIO');
  t.equal(run(V2_DIST_BASE, null).ret, -ENXIO, 'no CPU frame: ENXIO');
  t.equal(run(null, V2_CPU_BASE).ret, -ENXIO, 'no dist frame: ENXIO');
  t.equal(run(V2_DIST_BASE, V2_DIST_BASE, true).ret, -EINVAL, 'overlapping frames, even after INIT: EINVAL');
  t.equal(run(V2_DIST_BASE + 0x1000, V2_DIST_BASE).ret, -EINVAL, 'dist inside the 8K CPU frame: EINVAL');
  const ok = run(V2_DIST_BASE, V2_DIST_BASE + 0x1000);
  t.equal(ok.ret, 0, 'adjacent 4K dist + 8K CPU: runs');
  t.equal(ok.vm.dist.initialized, true, 'vgic_v2_map_resources initialised the vGIC lazily');
  t.equal(getUcall(ok.vcpu).cmd, UCALL_DONE, 'guest ran');
  const dead = run(null, null);
  t.equal(__vcpuRun(dead.vcpu), -EIO, 'v2 failure also kills the VM: EIO');
  t.end();
});

// --- KVM_IRQ_LINE ---------------------------------------------------------------------------------

t.test('KVM_IRQ_LINE CPU type: ENXIO with an in-kernel irqchip', (t) => {
  const { vm } = v3Vm();
  // kvm_vm_ioctl_irq_line: KVM_ARM_IRQ_TYPE_CPU && irqchip_in_kernel -> -ENXIO (ref §7)
  t.equal(_kvmIrqLine(vm, irqWord(KVM_ARM_IRQ_TYPE_CPU, 0, KVM_ARM_IRQ_CPU_IRQ), 1), -ENXIO, 'v3: ENXIO');
  const v2 = v2Vm({ init: false });
  t.equal(_kvmIrqLine(v2.vm, irqWord(KVM_ARM_IRQ_TYPE_CPU, 0, KVM_ARM_IRQ_CPU_FIQ), 1), -ENXIO, 'v2: ENXIO');
  t.equal(v2.vm.dist.initialized, false, 'a CPU-type line does not lazily init a GICv2');
  t.end();
});

t.test('KVM_IRQ_LINE CPU type without an irqchip: vCPU, number, and the line', (t) => {
  const vm = barebones();
  vmVcpuAdd(vm, 0);
  vmVcpuAdd(vm, 3);
  // vcpu by id (kvm_get_vcpu_by_id) -> EINVAL; irq_num > KVM_ARM_IRQ_CPU_FIQ -> EINVAL (ref §7)
  t.equal(_kvmIrqLine(vm, irqWord(KVM_ARM_IRQ_TYPE_CPU, 1, KVM_ARM_IRQ_CPU_IRQ), 1), -EINVAL, 'no vCPU id 1: EINVAL');
  t.equal(_kvmIrqLine(vm, irqWord(KVM_ARM_IRQ_TYPE_CPU, 3, 2), 1), -EINVAL, 'irq 2: EINVAL');
  t.same([...vm.cpuLines.entries()], [], 'no line changed by the refusals');
  t.equal(_kvmIrqLine(vm, irqWord(KVM_ARM_IRQ_TYPE_CPU, 3, KVM_ARM_IRQ_CPU_FIQ), 1), 0, 'FIQ on vCPU id 3');
  t.equal(_kvmIrqLine(vm, irqWord(KVM_ARM_IRQ_TYPE_CPU, 3, KVM_ARM_IRQ_CPU_IRQ), 1), 0, 'IRQ on vCPU id 3');
  t.equal(vm.cpuLines.get(1), 0x3, 'vCPU index 1 (id 3): IRQ|FIQ lines high (HCR VI|VF)');
  t.equal(_kvmIrqLine(vm, irqWord(KVM_ARM_IRQ_TYPE_CPU, 3, KVM_ARM_IRQ_CPU_IRQ), 0), 0, 'IRQ low');
  t.equal(vm.cpuLines.get(1), 0x2, 'only FIQ left');
  t.end();
});

t.test('KVM_IRQ_LINE PPI/SPI without an irqchip: ENXIO', (t) => {
  const vm = barebones();
  vmVcpuAdd(vm, 0);
  // ref §7: PPI and SPI need irqchip_in_kernel
  t.equal(_kvmIrqLine(vm, PPI(0, 20), 1), -ENXIO, 'PPI: ENXIO');
  t.equal(_kvmIrqLine(vm, SPI(32), 1), -ENXIO, 'SPI: ENXIO');
  t.equal(_kvmIrqLine(vm, irqWord(3, 0, 32), 1), -EINVAL, 'unknown type 3: EINVAL');
  t.end();
});

t.test('KVM_IRQ_LINE PPI: vCPU by id, range 16..31', (t) => {
  const { vm, vcpus } = v3Vm({ nrVcpus: 2 });
  // kvm_vm_ioctl_irq_line PPI: kvm_get_vcpu_by_id -> EINVAL; irq_num outside [16,32) -> EINVAL
  t.equal(_kvmIrqLine(vm, PPI(2, 20), 1), -EINVAL, 'vCPU id 2 absent: EINVAL');
  for (const n of [0, 15, 32, 0xffff]) t.equal(_kvmIrqLine(vm, PPI(1, n), 1), -EINVAL, `PPI ${n}: EINVAL`);
  t.equal(vcpus[1]!.vgic.privateIrqs.some((i) => i.pendingLatch || i.lineLevel), false, 'nothing pending on vCPU 1');
  t.equal(_kvmIrqLine(vm, PPI(1, 16), 1), 0, 'PPI 16 on vCPU 1');
  t.equal(_kvmIrqLine(vm, PPI(1, 31), 1), 0, 'PPI 31 on vCPU 1');
  t.end();
});

t.test('KVM_IRQ_LINE PPI state lands on the named vCPU only', (t) => {
  const { fd, vm } = v3Vm({ nrVcpus: 2 });
  t.equal(_kvmIrqLine(vm, PPI(1, 20), 1), 0, 'PPI 20 high on vCPU 1');
  // Userspace ISPENDR reads only the latch (ref §5.3), so the line is checked in the model's
  // state here; the guest's view of it is checked in uaccess.test.ts.
  t.equal(vm.dist.vcpus[1]!.privateIrqs[20]!.lineLevel, true, 'vCPU 1 PPI 20 line high');
  t.equal(vm.dist.vcpus[1]!.privateIrqs[20]!.isPending(), true, 'PPIs reset level-triggered: the line makes it pending');
  t.equal(vm.dist.vcpus[0]!.privateIrqs[20]!.lineLevel, false, 'vCPU 0 PPI 20 untouched');
  t.equal(rdGet(fd, 1, SGI_FRAME + GICR_ISPENDR0).value, 0, 'userspace GICR_ISPENDR0 (latch only) still 0');
  t.end();
});

t.test('KVM_IRQ_LINE vcpu2_index: vCPU = vcpu_index + 256 * vcpu2_index', (t) => {
  const vm = barebones();
  vmVcpuAdd(vm, 0);
  const hi = vmVcpuAdd(vm, 257);
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, V3_DIST_BASE);
  addrSet(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, rdRegion(2, V3_RDIST_BASE));
  ctrlSet(fd, KVM_DEV_ARM_VGIC_CTRL_INIT);
  // ref §1.1 / §7: vcpu2_index [31:28] adds 256 per unit
  t.equal(_kvmIrqLine(vm, irqWord(KVM_ARM_IRQ_TYPE_PPI, 1, 21, 1), 1), 0, 'PPI 21 to vCPU 1 + 256');
  t.equal(hi.vgic.privateIrqs[21]!.lineLevel, true, 'vCPU id 257 got it');
  t.equal(_kvmIrqLine(vm, irqWord(KVM_ARM_IRQ_TYPE_PPI, 1, 21, 0), 1), -EINVAL, 'vCPU id 1 does not exist: EINVAL');
  t.end();
});

t.test('KVM_IRQ_LINE SPI: below 32 and at or above nr_irqs are EINVAL', (t) => {
  const { vm } = v3Vm({ nrIrqs: 64 });
  // SPI: irq_num < VGIC_NR_PRIVATE_IRQS -> EINVAL (arm.c); vgic_get_irq() NULL -> EINVAL (vgic.c)
  for (const n of [0, 16, 31, 64, 1019, 1020, 1024, 5120, 0xffff]) {
    t.equal(_kvmIrqLine(vm, SPI(n), 1), -EINVAL, `SPI ${n}: EINVAL`);
  }
  t.equal(vm.dist.spis.some((i) => i.pendingLatch || i.lineLevel), false, 'no SPI state changed');
  t.equal(_kvmIrqLine(vm, SPI(63), 1), 0, 'SPI 63 (last of 64) accepted');
  t.equal(_kvmIrqLine(vm, irqWord(KVM_ARM_IRQ_TYPE_SPI, 7, 40, 3), 1), 0, 'the SPI vcpu fields are ignored');
  t.end();
});

t.test('KVM_IRQ_LINE on an uninitialised GICv3 is EBUSY after the arm.c range checks', (t) => {
  const { vm, vcpus } = v3Vm({ init: false });
  // vgic_lazy_init: not initialised and not a GICv2 -> EBUSY (ref §2, §7)
  t.equal(_kvmIrqLine(vm, SPI(40), 1), -EBUSY, 'SPI 40: EBUSY');
  t.equal(_kvmIrqLine(vm, PPI(0, 20), 1), -EBUSY, 'PPI 20: EBUSY');
  t.equal(_kvmIrqLine(vm, SPI(1000), 1), -EBUSY, 'SPI 1000: EBUSY (lazy init comes before vgic_get_irq)');
  t.equal(_kvmIrqLine(vm, SPI(5), 1), -EINVAL, 'SPI 5: EINVAL (arm.c checks first)');
  t.equal(_kvmIrqLine(vm, PPI(0, 5), 1), -EINVAL, 'PPI 5: EINVAL (arm.c checks first)');
  t.equal(vm.dist.initialized, false, 'still not initialised');
  t.equal(vcpus[0]!.vgic.privateIrqs[20]!.lineLevel, false, 'PPI 20 untouched');
  t.end();
});

t.test('KVM_IRQ_LINE on an uninitialised GICv2 initialises it', (t) => {
  const { vm, fd } = v2Vm({ init: false, nrIrqs: 64 });
  t.equal(_kvmIrqLine(vm, SPI(40), 1), 0, 'SPI 40 accepted');
  // vgic_lazy_init -> vgic_init for a GICv2 (ref §2)
  t.equal(vm.dist.initialized, true, 'initialised');
  t.equal(nrIrqsSet(fd, 128), -EBUSY, 'NR_IRQS now EBUSY');
  const pend = u32();
  t.equal(__kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_ISPENDR + 4, pend), 0, 'DIST_REGS read');
  t.equal(hex(pend.value), hex(0x100), 'SPI 40 pending (edge by default, latched)');
  t.end();
});

t.test('KVM_IRQ_LINE GICv2 lazy init picks the default 256 IRQs when NR_IRQS was never set', (t) => {
  const vm = barebones();
  vmVcpuAdd(vm, 0);
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2);
  t.equal(_kvmIrqLine(vm, SPI(255), 1), 0, 'SPI 255 accepted: vgic_init froze nr_spis at 224');
  t.equal(nrIrqsGet(fd).value, 256, 'NR_IRQS reads 256');
  t.equal(_kvmIrqLine(vm, SPI(256), 1), -EINVAL, 'SPI 256: EINVAL');
  t.end();
});

t.test('KVM_IRQ_LINE edge SPI: level 0 is a no-op, level 1 latches', (t) => {
  const { vm, fd } = v3Vm();
  const irq = vm.dist.spis[0]!; // SPI 32, edge at reset (ref §5.1)
  // vgic_validate_injection: edge IRQs act only on level=1 (ref §5.1, §8 item 10)
  t.equal(_kvmIrqLine(vm, SPI(32), 0), 0, 'level 0 returns 0');
  t.equal(irq.pendingLatch, false, '...and latches nothing');
  t.equal(_kvmIrqLine(vm, SPI(32), 1), 0, 'level 1');
  t.equal(distGet(fd, GICD_ISPENDR + 4).value, 1, 'SPI 32 pending (userspace latch view)');
  t.equal(_kvmIrqLine(vm, SPI(32), 0), 0, 'level 0 again');
  t.equal(distGet(fd, GICD_ISPENDR + 4).value, 1, 'the latch survives the falling edge');
  t.end();
});

t.test('KVM_IRQ_LINE level SPI: pending follows the line', (t) => {
  const { vm, fd } = v3Vm();
  t.equal(distSet(fd, GICD_ICFGR + 8, 0), 0, 'SPIs 32-47 level');
  const irq = vm.dist.spis[1]!; // SPI 33
  t.equal(_kvmIrqLine(vm, SPI(33), 1), 0, 'line high');
  t.equal(irq.isPending(), true, 'pending (line)');
  t.equal(irq.pendingLatch, false, 'no latch for a level IRQ');
  t.equal(_kvmIrqLine(vm, SPI(33), 1), 0, 'high again: 0, no change');
  t.equal(_kvmIrqLine(vm, SPI(33), 0), 0, 'line low');
  t.equal(irq.isPending(), false, 'no longer pending (ref §5.1)');
  t.end();
});

t.test('KVM_IRQ_LINE into a kernel-owned PPI is silently ignored', (t) => {
  const { vm, vcpus } = v3Vm();
  const timer = vcpus[0]!.vgic.privateIrqs[27]!;
  timer.owner = 'arch_timer'; // kvm_vgic_set_owner() by the vtimer
  // vgic_validate_injection: irq->owner != NULL && owner (userspace: NULL) differs -> return 0
  t.equal(_kvmIrqLine(vm, PPI(0, 27), 1), 0, 'returns 0');
  t.equal(timer.lineLevel, false, 'the line did not move');
  t.equal(_kvmIrqLine(vm, PPI(0, 26), 1), 0, 'an unowned PPI still works');
  t.equal(vcpus[0]!.vgic.privateIrqs[26]!.lineLevel, true, 'PPI 26 high');
  t.end();
});

// --- device fds -----------------------------------------------------------------------------------

t.test('device ioctls on a closed or unknown fd are EBADF', (t) => {
  const { fd } = v3Vm();
  t.equal(close(fd), 0, 'close');
  t.equal(close(fd), -EBADF, 'close again: EBADF');
  const b = u32(0x1234);
  t.equal(__kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, b), -EBADF, 'get on a closed fd');
  t.equal(b.value, 0x1234, 'buffer untouched');
  t.equal(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), -EBADF, 'set on a closed fd');
  t.equal(__kvmHasDeviceAttr(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, 0), -EBADF, 'has on a closed fd');
  for (const bad of [-1, 0, 1, 2, 0x7fffffff, 1.5, Number.NaN]) {
    t.equal(__kvmHasDeviceAttr(bad, KVM_DEV_ARM_VGIC_GRP_CTRL, 0), -EBADF, `has on fd ${bad}: EBADF`);
  }
  t.end();
});

t.test('distinct VMs are independent: a device fd names one VM', (t) => {
  const a = v3Vm();
  const b = v2Vm();
  t.not(a.fd, b.fd, 'different fds');
  t.equal(a.vm.dist.model, 'v3', 'VM a has a GICv3');
  t.equal(b.vm.dist.model, 'v2', 'VM b has a GICv2');
  t.equal(addrSet(a.fd, KVM_VGIC_V2_ADDR_TYPE_DIST, 0x0), -ENXIO, 'v2 address type on a: ENXIO');
  t.equal(addrSet(b.fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x0), -ENXIO, 'v3 address type on b: ENXIO');
  t.end();
});
