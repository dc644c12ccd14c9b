// KVM_SIGNAL_MSI: every return value, in KVM's order of checks (kvm_main.c: kvm_vm_ioctl;
// irqchip.c: kvm_send_userspace_msi; vgic-irqfd.c: kvm_set_msi; vgic-its.c: vgic_its_inject_msi,
// vgic_its_inject_cached_translation, vgic_msi_to_its, vgic_its_resolve_lpi).

import t from '../../test/tap.ts';
import {
  GITS_BASE_GPA,
  GITS_CTLR,
  GITS_TRANSLATER,
} from '../guest/index.ts';
import { KVM_DEV_TYPE_ARM_VGIC_ITS, KVM_MSI_VALID_DEVID, __kvmSignalMsi, errno, kvmCreateDevice, kvmMsi, kvmSignalMsi, vmCreateBarebones } from '../host/index.ts';
import { EBUSY, EFAULT, EINVAL, EIO, ENODEV } from '../uapi/errno.ts';
import { kvmSetMsi } from './irq-routing.ts';
import { type ItsFix, cmds, itsVm } from '../../test/support/its.ts';
import { TEST_PROFILE, v3Vm } from '../../test/support/vgic.ts';

const DB = GITS_BASE_GPA + GITS_TRANSLATER;

/** Device 3, event 7 -> LPI 8192 in collection 0 on vCPU 0. */
function mapped(): ItsFix {
  const f = itsVm({ nrVcpus: 1 });
  f.setProp(8192, 0xa1);
  const c1 = cmds.mapc(0, 0);
  const c2 = cmds.mapd(3);
  const c3 = cmds.mapti(3, 7, 8192, 0);
  if ([f.cmd(c1), f.cmd(c2), f.cmd(c3)].some((r) => r !== 0)) throw new Error('setup failed');
  return f;
}

t.test('KVM_SIGNAL_MSI before the ITS: EFAULT, EINVAL (no irqchip, bad flags), ENODEV (no ITS), EIO (dead VM)', (t) => {
  const bare = vmCreateBarebones({ profile: TEST_PROFILE });
  t.equal(__kvmSignalMsi(bare, null), -EFAULT, 'NULL argument: EFAULT (copy_from_user)');
  t.equal(__kvmSignalMsi(bare, kvmMsi(DB, 0, 0)), -EINVAL, 'no in-kernel irqchip: EINVAL (kvm_send_userspace_msi)');
  t.equal(errno(), EINVAL, 'errno set');
  const g = v3Vm({ nrVcpus: 1 });
  t.equal(__kvmSignalMsi(g.vm, kvmMsi(DB, 0, 0, 2)), -EINVAL, 'a flag other than KVM_MSI_VALID_DEVID: EINVAL');
  t.equal(__kvmSignalMsi(g.vm, kvmMsi(DB, 0, 0)), -ENODEV, 'vGIC without an ITS: ENODEV (kvm_set_msi)');
  g.vm.dead = true;
  t.equal(__kvmSignalMsi(g.vm, kvmMsi(DB, 0, 0)), -EIO, 'dead VM: EIO (kvm_vm_ioctl)');
  t.end();
});

t.test('KVM_SIGNAL_MSI with an ITS: EINVAL (no DeviceID, not a doorbell), EBUSY (ITS or LPIs off), 0 blocked, 1 delivered', (t) => {
  const f = mapped();
  t.equal(f.msi(3, 7, 0), -EINVAL, 'no KVM_MSI_VALID_DEVID: EINVAL (vgic_msi_to_its)');
  t.equal(__kvmSignalMsi(f.vm, kvmMsi(0x10000000, 3, 7)), -EINVAL, 'doorbell outside every ITS frame: EINVAL');
  t.equal(f.msi(3, 8), 0, 'unmapped EventID: 0 (blocked)');
  t.equal(f.msi(4, 7), 0, 'unmapped DeviceID: 0');
  t.equal(f.msi(0x10000, 7), 0, 'DeviceID beyond 16 bits: 0');
  t.equal(f.msi(3, 7), 1, 'mapped: 1 (delivered)');
  t.equal(f.vm.dist.lpis.get(8192)!.pendingLatch, true, 'LPI 8192 pending');
  t.equal(kvmSignalMsi(f.vm, kvmMsi(DB, 3, 7)), 1, 'kvmSignalMsi returns 1 too');
  // Any address inside the 128K ITS frame pair is its doorbell (kvm_io_bus_get_dev on the range)
  t.equal(__kvmSignalMsi(f.vm, kvmMsi(GITS_BASE_GPA, 3, 7)), 1, 'doorbell = ITS_base: 1');
  t.equal(__kvmSignalMsi(f.vm, kvmMsi(GITS_BASE_GPA + 0x1ffff, 3, 7)), 1, 'doorbell = the last byte of the frame pair: 1');
  t.equal(__kvmSignalMsi(f.vm, kvmMsi(GITS_BASE_GPA + 0x20000, 3, 7)), -EINVAL, 'one past the frame pair: EINVAL');
  f.setReg(GITS_CTLR, 0);
  t.equal(f.msi(3, 7), -EBUSY, 'ITS disabled: EBUSY (the cache was emptied by the disable)');
  f.setReg(GITS_CTLR, 1);
  f.enableLpis(0, false);
  t.equal(f.msi(3, 7), -EBUSY, "target's LPIs off: EBUSY");
  t.end();
});

t.test('a cached translation is delivered without the DeviceID flag check (vgic_its_inject_cached_translation)', (t) => {
  const f = mapped();
  t.equal(f.msi(3, 7, 0), -EINVAL, 'uncached, no KVM_MSI_VALID_DEVID: EINVAL');
  t.equal(f.msi(3, 7), 1, 'translated and cached');
  t.equal(f.its.translationCache.size, 1, 'one cache entry');
  t.equal(f.msi(3, 7, 0), 1, 'cached: 1 even without KVM_MSI_VALID_DEVID');
  t.equal(f.msi(3, 7, 2), -EINVAL, 'an unknown flag is refused before the cache (kvm_send_userspace_msi)');
  t.end();
});

t.test('no ITS frame placed yet: every doorbell is EINVAL', (t) => {
  const g = v3Vm({ nrVcpus: 1 });
  kvmCreateDevice(g.vm, KVM_DEV_TYPE_ARM_VGIC_ITS);
  t.equal(__kvmSignalMsi(g.vm, kvmMsi(DB, 0, 0, KVM_MSI_VALID_DEVID)), -EINVAL, 'ITS without an address: EINVAL');
  t.end();
});

t.test('kvm_set_msi (the MSI routing entry path): ENODEV without an ITS, -1 for level 0', (t) => {
  const g = v3Vm({ nrVcpus: 1 });
  t.equal(kvmSetMsi(g.vm, kvmMsi(DB, 0, 0), true), -ENODEV, 'no ITS: ENODEV');
  const f = mapped();
  t.equal(kvmSetMsi(f.vm, kvmMsi(DB, 3, 7), false), -1, 'level 0: -1 (nothing injected)');
  t.equal(f.vm.dist.lpis.get(8192)!.pendingLatch, false, 'not pending');
  t.equal(kvmSetMsi(f.vm, kvmMsi(DB, 3, 7), true), 1, 'level 1: delivered');
  t.end();
});
