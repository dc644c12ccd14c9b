// The IIDR / IGROUPR rules, as mutations (run by test/mutation.test.ts): each breaks one rule of
// the model, and a group selftest must notice.

import type { Mutation } from '../mutant.ts';

export const GROUP_MUTATIONS: Mutation[] = [
  {
    name: 'revision 1 may write IGROUPR (vgic_mmio_write_group gate removed)',
    file: 'lib/vgic/mmio.ts',
    from: 'if (dist.implementationRev < dist.profile.groupWriteMinRev) return;',
    to: '',
    selftest: 'vgic_group_iidr',
  },
  {
    name: 'v2 userspace IGROUPR gate inverted',
    file: 'lib/vgic/mmio-v2.ts',
    from: ': dist.implementationRev >= 2;',
    to: ': dist.implementationRev < 2;',
    selftest: 'vgic_group_v2',
  },
  {
    name: 'GICR_CTLR shows IR|CES below revision 3',
    file: 'lib/vgic/mmio-v3.ts',
    from: 'dist.implementationRev >= KVM_VGIC_IMP_REV_3',
    to: 'dist.implementationRev >= 1',
    selftest: 'vgic_group_iidr',
  },
  {
    name: 'userspace IIDR write ignores the written revision',
    file: 'lib/vgic/iidr.ts',
    from: "p.iidrUserWrite === 'noop' ? current : val",
    to: 'current',
    selftest: 'vgic_group_iidr',
  },
];
