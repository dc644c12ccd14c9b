// Userspace writes to GICD_IIDR, shared by v2 and v3, as each host-kernel profile does them
// (vgic-mmio-v2.c: vgic_mmio_uaccess_write_v2_misc; vgic-mmio-v3.c: vgic_mmio_uaccess_write_v3_misc).

import { EINVAL } from '../uapi/errno.ts';
import { GICD_IIDR_REVISION_MASK, GICD_IIDR_REVISION_SHIFT } from '../uapi/gic.ts';
import { KVM_VGIC_IMP_REV_1, KVM_VGIC_IMP_REV_2, KVM_VGIC_IMP_REV_3 } from '../uapi/kvm.ts';
import type { VgicDist, VgicModel } from './state.ts';

const revisionOf = (v: number): number => (v & GICD_IIDR_REVISION_MASK) >>> GICD_IIDR_REVISION_SHIFT;

/** Returns 0 or -errno. `current` is the IIDR as the guest would read it now. */
export function iidrUserWrite(dist: VgicDist, current: number, val: number, model: VgicModel): number {
  const p = dist.profile;
  // Opting in to writable v2 groups (32f8777ed92d) until patch 3 removed the flag.
  const optIn = (): void => {
    if (model === 'v2' && p.v2UserGroupGate === 'flag') dist.v2GroupsUserWritable = true;
  };
  switch (p.iidrUserWrite) {
    case 'wi':
      return 0;
    case 'exact':
      if ((val >>> 0) !== (current >>> 0)) return -EINVAL;
      optIn();
      return 0;
    default:
      break;
  }
  if ((current ^ val) & ~GICD_IIDR_REVISION_MASK) return -EINVAL;
  // 49a1a2c70a7f..a0e6ae45af17 extracted the revision from the current value, not the written one.
  const rev = revisionOf(p.iidrUserWrite === 'noop' ? current : val);
  const accepted =
    rev === KVM_VGIC_IMP_REV_2 ||
    rev === KVM_VGIC_IMP_REV_3 ||
    (p.iidrUserWrite === 'rev1-3' && rev === KVM_VGIC_IMP_REV_1);
  if (!accepted) return -EINVAL;
  if (rev >= KVM_VGIC_IMP_REV_2) optIn();
  dist.implementationRev = rev;
  return 0;
}
