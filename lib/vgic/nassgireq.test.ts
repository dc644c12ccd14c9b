// GICD_CTLR.nASSGIreq follows the VM's nASSGIcap, not the host's: vgic-mmio-v3.c:
// vgic_mmio_write_v3_misc and vgic_mmio_uaccess_write_v3_misc both test
// vgic_supports_direct_sgis(kvm), which is "return kvm->arch.vgic.nassgicap" (7.2), and userspace
// may clear nASSGIcap through GICD_TYPER2 before init. GICD_CTLR reads ARE_NS (0x10) | DS (0x40)
// | EnableGrp1 (0x2) | nASSGIreq (0x100) (vgic_mmio_read_v3_misc).

import type { Test } from 'tap';
import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import { GICD_CTLR, GICD_TYPER2, GICD_TYPER2_nASSGIcap, KVM_DEV_ARM_VGIC_CTRL_INIT } from '../host/index.ts';
import { type GicVm, V3_DIST_BASE, ctrlSet, distGet, distSet, hex, runGuest, v3Vm } from '../../test/support/vgic.ts';

function* writeCtlr(g: Guest): GuestProgram {
  yield* g.writel(V3_DIST_BASE + GICD_CTLR, 0x102);
  yield* g.sync(yield* g.readl(V3_DIST_BASE + GICD_CTLR));
  yield* g.done();
}

/** A GICv4.1 host VM; `clearCap` clears the VM's nASSGIcap through GICD_TYPER2, then INIT. */
function gicv41Vm(tt: Test, clearCap: boolean, guest: typeof writeCtlr | null): GicVm {
  const v = v3Vm({ vm: { directSgis: true }, init: false, guest });
  tt.equal(hex(distGet(v.fd, GICD_TYPER2).value), hex(GICD_TYPER2_nASSGIcap), 'nASSGIcap defaults on for a GICv4.1 host');
  if (clearCap) tt.equal(distSet(v.fd, GICD_TYPER2, 0), 0, 'clearing nASSGIcap is allowed before init');
  tt.equal(ctrlSet(v.fd, KVM_DEV_ARM_VGIC_CTRL_INIT), 0, 'CTRL_INIT');
  return v;
}

t.test('guest GICD_CTLR write 0x102', (tt) => {
  for (const [clear, want] of [[true, 0x52], [false, 0x152]] as const) {
    const v = gicv41Vm(tt, clear, writeCtlr);
    tt.same(runGuest(v.vcpus[0]!).map(hex), [hex(want)], `nASSGIcap ${clear ? 'cleared' : 'kept'}: reads back ${hex(want)}`);
  }
  tt.end();
});

t.test('userspace GICD_CTLR write 0x102', (tt) => {
  for (const [clear, want] of [[true, 0x52], [false, 0x152]] as const) {
    const v = gicv41Vm(tt, clear, null);
    tt.equal(distSet(v.fd, GICD_CTLR, 0x102), 0, 'uaccess write accepted');
    tt.equal(hex(distGet(v.fd, GICD_CTLR).value), hex(want), `nASSGIcap ${clear ? 'cleared' : 'kept'}: reads back ${hex(want)}`);
  }
  tt.end();
});
