// Mutation checks: break one KVM rule of the model at a time (test/mutations/) and require that
// the selftest relying on it fails, where its kernel original would. All three lists go through
// one pool of mutant workers (test/mutant.ts): a worker costs about a second to start, more
// than most mutants take to run.

import t from 'tap';
import { runMutants } from './mutant.ts';
import { GROUP_MUTATIONS } from './mutations/groups.ts';
import { VGIC_INIT_MUTATIONS } from './mutations/vgic-init.ts';
import { VGIC_IRQ_MUTATIONS } from './mutations/vgic-irq.ts';

t.setTimeout(300_000);
const all = [...VGIC_INIT_MUTATIONS, ...VGIC_IRQ_MUTATIONS, ...GROUP_MUTATIONS];
const results = await runMutants(all);
const initEnd = VGIC_INIT_MUTATIONS.length;
const irqEnd = initEnd + VGIC_IRQ_MUTATIONS.length;

t.test('each broken errno or placement rule fails vgic_init', (tt) => {
  const rs = results.slice(0, initEnd);
  VGIC_INIT_MUTATIONS.forEach((mu, i) => {
    const r = rs[i]!;
    tt.not(r.exitCode, 0, `${mu.name}: vgic_init exits nonzero (${r.exitCode})`);
    tt.match(r.output, /^not ok \d+ - v[23]: test_/m, `${mu.name}: a kernel test function fails`);
  });
  tt.end();
});

t.test('each broken rule fails vgic_irq', (tt) => {
  const rs = results.slice(initEnd, irqEnd);
  VGIC_IRQ_MUTATIONS.forEach((mu, i) => {
    const r = rs[i]!;
    tt.not(r.exitCode, 0, `${mu.name}: vgic_irq exits nonzero (${r.exitCode})`);
    tt.match(r.output, /^not ok \d+ - test_vgic(_two_cpus)?\(/m, `${mu.name}: a kernel test case fails`);
    tt.match(r.output, /==== Test Assertion Failure ====\n.*selftests\/vgic_irq\.ts:\d+/, `${mu.name}: at a check of the port`);
  });
  tt.end();
});

t.test('each broken IIDR/IGROUPR rule fails a group selftest', (tt) => {
  const rs = results.slice(irqEnd);
  GROUP_MUTATIONS.forEach((m, i) => {
    const r = rs[i]!;
    tt.not(r.exitCode, 0, `${m.name}: ${m.selftest} exits nonzero (${r.exitCode})`);
    tt.match(r.output, /^not ok /m, `${m.name}: the failure is reported in TAP`);
  });
  tt.end();
});
