// The seeded scheduler with host threads (a C test's device pthreads) and an early stop (the C
// test's exit() while vCPU threads still wait in WFI): deterministic for a seed, host steps
// bounded per turn, vCPUs and host threads interleaved.

import t from '../../test/tap.ts';
import type { Guest, GuestProgram } from '../guest/index.ts';
import { UCALL_DONE, UCALL_SYNC, runVcpuThreads, testDisableDefaultVgic, vmCreateWithVcpus } from './index.ts';

testDisableDefaultVgic();

function* counter(g: Guest): GuestProgram {
  for (let i = 0; i < 50; i++) yield* g.sync(i);
  yield* g.done();
}

function trace(seed: number): string[] {
  const { vcpus } = vmCreateWithVcpus(2, counter);
  const out: string[] = [];
  let left = 40;
  runVcpuThreads(
    vcpus.map((vcpu) => ({
      vcpu,
      onUcall: (uc) => {
        out.push(`v${vcpu.id}:${uc.cmd === UCALL_SYNC ? String(uc.args[1]) : 'done'}`);
        return uc.cmd !== UCALL_DONE;
      },
    })),
    {
      seed,
      maxQuantum: 8,
      hostThreads: [
        {
          step: () => {
            out.push(`h${left}`);
            return --left > 0;
          },
        },
      ],
    },
  );
  return out;
}

t.test('host threads run interleaved with vCPUs, deterministically for a seed', (t) => {
  const a = trace(7);
  t.same(trace(7), a, 'same seed, same interleaving');
  t.notSame(trace(8), a, 'another seed, another interleaving');
  t.equal(a.filter((s) => s.startsWith('h')).length, 40, 'the host thread ran its 40 steps, then returned');
  t.equal(a.filter((s) => s.endsWith('done')).length, 2, 'both vCPUs finished');
  const firstDone = a.findIndex((s) => s.endsWith('done'));
  t.ok(a.slice(0, firstDone).some((s) => s.startsWith('h')) && a.slice(0, firstDone).some((s) => s.startsWith('v')), 'host and vCPU work interleave');
  t.end();
});

t.test('a host thread turn runs up to the random quantum of steps', (t) => {
  // stopWhen is consulted after every turn: count the steps each turn ran
  const turns: number[] = [];
  let steps = 0;
  let left = 200;
  runVcpuThreads([], {
    seed: 5,
    maxQuantum: 8,
    hostThreads: [{ step: () => (steps++, --left > 0) }],
    stopWhen: () => {
      turns.push(steps);
      steps = 0;
      return false;
    },
  });
  t.equal(turns.reduce((a, b) => a + b, 0), 200, 'every step ran');
  t.ok(turns.some((n) => n > 1), 'several steps in a turn');
  t.ok(Math.max(...turns) <= 8, 'never more than maxQuantum');
  t.end();
});

t.test('stopWhen ends the run with vCPUs still blocked in WFI', (t) => {
  const { vcpus } = vmCreateWithVcpus(2, function* (g: Guest): GuestProgram {
    if (g.vcpuId === 1) for (;;) yield* g.wfi();
    yield* g.done();
  });
  let done = false;
  runVcpuThreads(
    vcpus.map((vcpu) => ({
      vcpu,
      onUcall: (uc) => {
        if (uc.cmd === UCALL_DONE) done = true;
        return false;
      },
    })),
    { seed: 1, stopWhen: () => done },
  );
  t.ok(done, 'vCPU 0 finished and the run stopped although vCPU 1 waits in WFI forever');
  t.end();
});
