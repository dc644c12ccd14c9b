// Interrupt delivery throughput, end to end through the vCPU loop and the guest coroutines:
//  (a) edge SPIs made pending by the guest (GICD_ISPENDR) and taken: IRQ exception, ICC_IAR1_EL1,
//      ICC_EOIR1_EL1, return; no exit to the host. Measured at 64 and at 992 interrupts (the most
//      KVM accepts: NR_IRQS <= 1023), cycling over every SPI, so the ratio shows whether the cost
//      of one interrupt grows with nr_irqs.
//  (b) edge SPIs injected by the host with KVM_IRQ_LINE (line 1 then 0) after a GUEST_SYNC exit,
//      taken on guest entry, acknowledged and EOIed: one exit per interrupt.
//  (c) SGIs sent by one vCPU (ICC_SGI1R_EL1) and taken by the other: vCPU 0 sends a ping to vCPU 1,
//      whose handler sends a pong back; each waits in WFI. Both run on lib/host/threads.ts's seeded
//      scheduler, so the figure includes its switching.

import type { Guest, GuestProgram } from '../lib/guest/index.ts';
import {
  GICD_BASE_GVA,
  GICD_ISPENDR,
  ICC_EOIR1_EL1,
  ICC_IAR1_EL1,
  ICC_SGI1R_EL1,
  GIC_V3,
  gicInit,
  gicIrqEnable,
  gicSetPriorityMask,
} from '../lib/guest/index.ts';
// Not lib/host/index.ts: that pulls in the selftest wrapper, and with it node-tap's harness.
import { UCALL_DONE, UCALL_SYNC } from '../lib/kvm/guest-abi.ts';
import {
  type KvmVcpu,
  VECTOR_IRQ_CURRENT,
  getUcall,
  guestGlobals,
  syncGlobalToGuest,
  vcpuRun,
  vmCreateBarebones,
  vmInstallExceptionHandler,
  vmVcpuAdd,
} from '../lib/host/kvm-util.ts';
import { runVcpuThreads } from '../lib/host/threads.ts';
import { kvmArmIrqLine, vgicV3Setup } from '../lib/host/vgic.ts';

const globals = guestGlobals({ bench_irq_iters: 0, bench_irq_nr: 64, bench_irq_handled: 0, bench_sgi_taken0: 0, bench_sgi_taken1: 0 });

/** The handler of every benchmark: acknowledge, count, EOI (EOImode 0). */
function* handler(g: Guest): GuestProgram {
  const intid = Number(yield* g.readSysreg(ICC_IAR1_EL1));
  if (intid === 1023) return;
  g.writeGlobal(globals, 'bench_irq_handled', g.readGlobal(globals, 'bench_irq_handled') + 1);
  yield* g.writeSysreg(ICC_EOIR1_EL1, intid);
}

/** gic_init, every interrupt enabled at the default priority 0xa0, PMR 0xf8, IRQs unmasked. */
function* setup(g: Guest, nrIrqs: number, nrCpus: number): GuestProgram {
  yield* gicInit(g, GIC_V3, nrCpus);
  for (let i = 0; i < nrIrqs; i++) yield* gicIrqEnable(g, i);
  yield* gicSetPriorityMask(g, 0xf8);
  yield* g.localIrqEnable();
}

/** (a): the guest pends SPI 32 + (i mod nr_spis) with one ISPENDR write; the IRQ is taken right after. */
function* guestPendsSpis(g: Guest): GuestProgram {
  const iters = g.readGlobal(globals, 'bench_irq_iters');
  const nr = g.readGlobal(globals, 'bench_irq_nr');
  yield* setup(g, nr, 1);
  g.writeGlobal(globals, 'bench_irq_handled', 0);
  const nrSpis = nr - 32;
  for (let i = 0, spi = 0; i < iters; i++) {
    const intid = 32 + spi;
    yield* g.writel(GICD_BASE_GVA + GICD_ISPENDR + ((intid >>> 5) << 2), 1 << (intid & 31));
    if (++spi === nrSpis) spi = 0;
  }
  yield* g.assertEq(g.readGlobal(globals, 'bench_irq_handled'), iters);
  yield* g.done();
}

/** (b): the guest exits with GUEST_SYNC; the host injects; the IRQ is taken on re-entry. */
function* guestAsksForSpis(g: Guest): GuestProgram {
  const iters = g.readGlobal(globals, 'bench_irq_iters');
  yield* setup(g, g.readGlobal(globals, 'bench_irq_nr'), 1);
  g.writeGlobal(globals, 'bench_irq_handled', 0);
  for (let i = 0; i < iters; i++) yield* g.sync(i);
  yield* g.assertEq(g.readGlobal(globals, 'bench_irq_handled'), iters);
  yield* g.done();
}

/** ICC_SGI1R_EL1 value: SGI `sgi` to the vCPU with Aff0 `aff0` (Aff1..3 = 0). */
const sgi1r = (sgi: number, aff0: number): number => ((sgi & 15) << 24) | (1 << aff0);

/** (c)'s handler: count the SGI on this vCPU; vCPU 1 answers every ping with a pong to vCPU 0. */
function* pingPongHandler(g: Guest): GuestProgram {
  const intid = Number(yield* g.readSysreg(ICC_IAR1_EL1));
  if (intid === 1023) return;
  const key = g.vcpuId === 0 ? 'bench_sgi_taken0' : 'bench_sgi_taken1';
  g.writeGlobal(globals, key, g.readGlobal(globals, key) + 1);
  if (g.vcpuId === 1) yield* g.writeSysreg(ICC_SGI1R_EL1, sgi1r(intid, 0));
  yield* g.writeSysreg(ICC_EOIR1_EL1, intid);
}

/** (c): vCPU 0 pings vCPU 1 `iters` times, waiting in WFI for each pong. */
function* guestSgiPingPong(g: Guest): GuestProgram {
  const iters = g.readGlobal(globals, 'bench_irq_iters');
  yield* setup(g, 32, 2);
  if (g.vcpuId === 0) {
    for (let i = 0; i < iters; i++) {
      yield* g.writeSysreg(ICC_SGI1R_EL1, sgi1r(i, 1));
      while (g.readGlobal(globals, 'bench_sgi_taken0') <= i) yield* g.wfi();
    }
  } else {
    while (g.readGlobal(globals, 'bench_sgi_taken1') < iters) yield* g.wfi();
  }
  yield* g.done();
}

function vmFor(code: (g: Guest) => GuestProgram, nrIrqs: number, nrCpus: number, iters: number, irq = handler): KvmVcpu[] {
  // vm_create_barebones + vCPUs + vgic_v3_setup: no default vGIC, and no process-wide
  // test_disable_default_vgic() that would change the other benchmarks' VMs.
  const vm = vmCreateBarebones({ accessBudget: Number.MAX_SAFE_INTEGER });
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < nrCpus; i++) vcpus.push(vmVcpuAdd(vm, i, code));
  vgicV3Setup(vm, nrCpus, nrIrqs);
  vmInstallExceptionHandler(vm, VECTOR_IRQ_CURRENT, irq);
  globals.bench_irq_iters = iters;
  globals.bench_irq_nr = nrIrqs;
  syncGlobalToGuest(vm, globals, 'bench_irq_iters');
  syncGlobalToGuest(vm, globals, 'bench_irq_nr');
  return vcpus;
}

function done(vcpu: KvmVcpu, what: string): void {
  const uc = getUcall(vcpu);
  if (uc.cmd !== UCALL_DONE) throw new Error(`${what}: guest ended with ucall ${uc.cmd}: ${uc.buffer} (${uc.file ?? '?'}:${uc.line ?? '?'})`);
}

/** (a) interrupts per second; the guest's setup (gic_init, enables) is outside the timing. */
export function spisPendedByGuest(nrIrqs: number, iters: number): number {
  // A first VM with no iterations warms nothing up the measured one relies on, so time the
  // whole run and subtract a zero-iteration run of the same setup.
  const setupMs = timeRun(vmFor(guestPendsSpis, nrIrqs, 1, 0)[0]!, '(a) setup');
  const ms = timeRun(vmFor(guestPendsSpis, nrIrqs, 1, iters)[0]!, '(a)') - setupMs;
  return iters / (Math.max(ms, 1e-3) / 1000);
}

function timeRun(vcpu: KvmVcpu, what: string): number {
  const t0 = performance.now();
  vcpuRun(vcpu);
  const ms = performance.now() - t0;
  done(vcpu, what);
  return ms;
}

/** (b) interrupts per second, each with an exit, two KVM_IRQ_LINE calls and a re-entry. */
export function spisInjectedByHost(nrIrqs: number, iters: number): number {
  const vcpu = vmFor(guestAsksForSpis, nrIrqs, 1, iters)[0]!;
  const vm = vcpu.vm;
  // Run the setup to the first GUEST_SYNC outside the timing.
  vcpuRun(vcpu);
  const nrSpis = nrIrqs - 32;
  let spi = 0;
  const t0 = performance.now();
  for (;;) {
    const uc = getUcall(vcpu);
    if (uc.cmd !== UCALL_SYNC) break;
    kvmArmIrqLine(vm, 32 + spi, 1);
    kvmArmIrqLine(vm, 32 + spi, 0);
    if (++spi === nrSpis) spi = 0;
    vcpuRun(vcpu);
  }
  const ms = performance.now() - t0;
  done(vcpu, '(b)');
  return iters / (Math.max(ms, 1e-3) / 1000);
}

/** (c) SGIs taken per second, both directions counted (scheduler seed 1, quanta up to 64 accesses). */
export function sgisBetweenVcpus(iters: number): number {
  const vcpus = vmFor(guestSgiPingPong, 64, 2, iters, pingPongHandler);
  const t0 = performance.now();
  runVcpuThreads(
    vcpus.map((vcpu) => ({
      vcpu,
      onUcall: (uc) => {
        if (uc.cmd !== UCALL_DONE) throw new Error(`(c): guest ended with ucall ${uc.cmd}: ${uc.buffer}`);
        return false;
      },
    })),
    { seed: 1, budget: Number.MAX_SAFE_INTEGER },
  );
  const ms = performance.now() - t0;
  return (2 * iters) / (Math.max(ms, 1e-3) / 1000);
}
