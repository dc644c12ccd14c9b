// Mutation checks for the IIDR / IGROUPR rules: break one rule in a copy of the model and
// require that a group selftest notices.

import t from 'tap';
import { type Mutation, runMutants } from './mutant.ts';

const MUTATIONS: Mutation[] = [
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

t.setTimeout(300_000);
t.test('each broken IIDR/IGROUPR rule fails a group selftest', async (tt) => {
  const results = await runMutants(MUTATIONS);
  MUTATIONS.forEach((m, i) => {
    const r = results[i]!;
    tt.not(r.exitCode, 0, `${m.name}: ${m.selftest} exits nonzero (${r.exitCode})`);
    tt.match(r.output, /^not ok /m, `${m.name}: the failure is reported in TAP`);
  });
});
