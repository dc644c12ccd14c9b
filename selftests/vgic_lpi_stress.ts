// Port of tools/testing/selftests/kvm/arm64/vgic_lpi_stress.c: a stress test for KVM's ITS
// emulation. vCPUs take LPIs while host "device threads" signal MSIs with KVM_SIGNAL_MSI, every
// one of which must be delivered (return 1). The C test's pthreads (one per vCPU, one per device)
// are interleaved by the seeded scheduler (lib/host/threads.ts), one barrier included. Options as
// in the C test: -v vCPUs, -d devices, -e event IDs per device, -i iterations, -h usage.
//
// The rate is the kernel's: MSIs signalled from the barrier until the last device thread is done,
// divided by that time. The guest's IRQ handler also counts the LPIs it takes (the C test is "not
// pedantic about the LPIs it receives"); the count is returned to the benchmark, not printed.
//
// vgic-harness: timeout=120

import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { Guest, GuestProgram } from '../lib/guest/index.ts';
import {
  gicGetAndAckIrq,
  gicInit,
  gicRdistEnableLpis,
  gicSetEoi,
  GIC_V3,
  itsInit,
  itsSendInvallCmd,
  itsSendMapcCmd,
  itsSendMapdCmd,
  itsSendMaptiCmd,
  itsSendSyncCmd,
} from '../lib/guest/index.ts';
import {
  ITS_DOORBELL_GPA,
  type KvmMsi,
  type KvmVcpu,
  type KvmVm,
  LPI_PROP_DEFAULT_PRIO,
  LPI_PROP_ENABLED,
  LPI_PROP_GROUP1,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  type Ucall,
  VECTOR_IRQ_CURRENT,
  __kvmSignalMsi,
  close,
  guestGlobals,
  kvmMsi,
  kvmSupportsVgicV3,
  kvmVmFree,
  printInfo,
  recordPass,
  reportGuestAssert,
  runVcpuThreads,
  selftest,
  syncGlobalToGuest,
  testFail,
  testRequire,
  vgicItsSetup,
  vmCalcNumGuestPages,
  vmComputeMaxGfn,
  vmCreateWithVcpus,
  vmInstallExceptionHandler,
  vmPhyPagesAlloc,
  vmUserspaceMemRegionAdd,
  writeGuestGlobal,
} from '../lib/host/index.ts';

const TEST_MEMSLOT_INDEX = 1;
const GIC_LPI_OFFSET = 8192;
const SZ_64K = 0x10000;
const IAR_SPURIOUS = 1023;

interface TestData {
  request_vcpus_stop: boolean;
  nr_cpus: number;
  nr_devices: number;
  nr_event_ids: number;
  device_table: number;
  collection_table: number;
  cmdq_base: number;
  cmdq_base_va: number;
  itt_tables: number;
  lpi_prop_table: number;
  lpi_pend_tables: number;
}

const defaults = (): TestData => ({
  request_vcpus_stop: false,
  nr_cpus: 1,
  nr_devices: 1,
  nr_event_ids: 16,
  device_table: 0,
  collection_table: 0,
  cmdq_base: 0,
  cmdq_base_va: 0,
  itt_tables: 0,
  lpi_prop_table: 0,
  lpi_pend_tables: 0,
});

/** The guest image: test_data, `static atomic_int nr_cpus_ready`, and the harness's LPI count. */
const globals = guestGlobals({ test_data: defaults(), nr_cpus_ready: 0, nr_lpis_taken: 0 });

// --- guest ---------------------------------------------------------------------------------------------

function* guestIrqHandler(g: Guest): GuestProgram {
  const intid = yield* gicGetAndAckIrq(g);
  if (intid === IAR_SPURIOUS) return;
  // GUEST_ASSERT(intid >= GIC_LPI_OFFSET), only built when it fails (the handler is the hot path)
  if (intid < GIC_LPI_OFFSET) yield* g.assert(intid >= GIC_LPI_OFFSET);
  yield* gicSetEoi(g, intid);
  g.writeGlobal(globals, 'nr_lpis_taken', g.readGlobal(globals, 'nr_lpis_taken') + 1);
}

function* guestSetupItsMappings(g: Guest, td: TestData): GuestProgram {
  let intid = GIC_LPI_OFFSET;
  for (let collId = 0; collId < td.nr_cpus; collId++) yield* itsSendMapcCmd(g, td.cmdq_base_va, collId, collId, true);
  // Round-robin the LPIs to all of the vCPUs in the VM
  let collId = 0;
  for (let deviceId = 0; deviceId < td.nr_devices; deviceId++) {
    const ittBase = td.itt_tables + deviceId * SZ_64K;
    yield* itsSendMapdCmd(g, td.cmdq_base_va, deviceId, ittBase, SZ_64K, true);
    for (let eventId = 0; eventId < td.nr_event_ids; eventId++) {
      yield* itsSendMaptiCmd(g, td.cmdq_base_va, deviceId, eventId, collId, intid++);
      collId = (collId + 1) % td.nr_cpus;
    }
  }
}

function* guestInvalidateAllRdists(g: Guest, td: TestData): GuestProgram {
  for (let i = 0; i < td.nr_cpus; i++) yield* itsSendInvallCmd(g, td.cmdq_base_va, i);
}

function* guestSetupGic(g: Guest): GuestProgram {
  const td = g.readGlobal(globals, 'test_data');
  const cpuid = g.vcpuId;
  yield* gicInit(g, GIC_V3, td.nr_cpus);
  yield* gicRdistEnableLpis(g, td.lpi_prop_table, SZ_64K, td.lpi_pend_tables + cpuid * SZ_64K);
  g.writeGlobal(globals, 'nr_cpus_ready', g.readGlobal(globals, 'nr_cpus_ready') + 1); // atomic_fetch_add
  if (cpuid > 0) return;
  while (g.readGlobal(globals, 'nr_cpus_ready') < td.nr_cpus) yield* g.cpuRelax();
  yield* itsInit(g, td.collection_table, SZ_64K, td.device_table, SZ_64K, td.cmdq_base, SZ_64K);
  yield* guestSetupItsMappings(g, td);
  yield* guestInvalidateAllRdists(g, td);
  // SYNC to ensure ITS setup is complete
  for (let c = 0; c < td.nr_cpus; c++) yield* itsSendSyncCmd(g, td.cmdq_base_va, c);
}

function* guestCode(g: Guest): GuestProgram {
  yield* guestSetupGic(g);
  yield* g.localIrqEnable();
  yield* g.sync(0);
  // Don't use WFI here to avoid blocking the vCPU thread indefinitely and never getting the stop signal.
  while (!g.readGlobal(globals, 'test_data').request_vcpus_stop) yield* g.cpuRelax();
  yield* g.done();
}

// --- host ----------------------------------------------------------------------------------------------

export interface LpiStressOptions {
  nrCpus: number;
  nrDevices: number;
  nrEventIds: number;
  nrIterations: number;
  /** Scheduler seed (default $VGIC_SEED, else 1). */
  seed?: number;
  /** Scheduler quantum: most guest accesses (or MSIs) one thread runs per turn (default 64). */
  maxQuantum?: number;
}

export interface LpiStressResult {
  /** MSIs signalled (devices x events x iterations), each returning 1. */
  nrLpis: number;
  /** LPIs the guests' IRQ handlers acknowledged (pending LPIs coalesce, as on hardware). */
  nrLpisTaken: number;
  /** From the barrier to the last device thread's end. */
  seconds: number;
  /** The same stretch in CPU time of this process (what a shared, loaded machine disturbs least). */
  cpuSeconds: number;
  /** nrLpis / seconds, what the C test prints. */
  rate: number;
}

interface Ctx {
  vm: KvmVm;
  vcpus: KvmVcpu[];
  itsFd: number;
  gpaBase: number;
  td: TestData;
}

function setupMemslot(c: Ctx): void {
  // For the ITS: a single level device table, a single level collection table, the command
  // queue and an ITT for each device; for the redistributors: a shared LPI configuration table
  // and an LPI pending table for each vCPU.
  let sz = (3 + c.td.nr_devices) * SZ_64K;
  sz += (1 + c.td.nr_cpus) * SZ_64K;
  const pages = sz / 0x1000;
  c.gpaBase = (vmComputeMaxGfn(c.vm) + 1) * 0x1000 - sz;
  vmUserspaceMemRegionAdd(c.vm, c.gpaBase, TEST_MEMSLOT_INDEX, pages);
}

function configureLpis(c: Ctx): void {
  const nrLpis = c.td.nr_devices * c.td.nr_event_ids;
  const tbl = new Uint8Array(nrLpis).fill(LPI_PROP_DEFAULT_PRIO | LPI_PROP_GROUP1 | LPI_PROP_ENABLED);
  // addr_gpa2hva(vm, lpi_prop_table): the table was allocated in the memslot just before
  c.vm.memory.writeBytes(c.td.lpi_prop_table, tbl);
}

function setupTestData(c: Ctx): void {
  const pagesPer64k = vmCalcNumGuestPages(SZ_64K);
  const td = c.td;
  td.device_table = vmPhyPagesAlloc(c.vm, pagesPer64k, c.gpaBase, TEST_MEMSLOT_INDEX);
  td.collection_table = vmPhyPagesAlloc(c.vm, pagesPer64k, c.gpaBase, TEST_MEMSLOT_INDEX);
  const cmdqBase = vmPhyPagesAlloc(c.vm, pagesPer64k, c.gpaBase, TEST_MEMSLOT_INDEX);
  td.cmdq_base = cmdqBase; // virt_map(vm, cmdq_base, cmdq_base): identity-mapped
  td.cmdq_base_va = cmdqBase;
  td.itt_tables = vmPhyPagesAlloc(c.vm, pagesPer64k * td.nr_devices, c.gpaBase, TEST_MEMSLOT_INDEX);
  td.lpi_prop_table = vmPhyPagesAlloc(c.vm, pagesPer64k, c.gpaBase, TEST_MEMSLOT_INDEX);
  configureLpis(c);
  td.lpi_pend_tables = vmPhyPagesAlloc(c.vm, pagesPer64k * td.nr_cpus, c.gpaBase, TEST_MEMSLOT_INDEX);
  globals.test_data = { ...td };
  syncGlobalToGuest(c.vm, globals, 'test_data');
}

function setupVm(o: LpiStressOptions): Ctx {
  const td: TestData = { ...defaults(), nr_cpus: o.nrCpus, nr_devices: o.nrDevices, nr_event_ids: o.nrEventIds };
  const { vm, vcpus } = vmCreateWithVcpus(td.nr_cpus, guestCode, { accessBudget: Number.MAX_SAFE_INTEGER });
  vmInstallExceptionHandler(vm, VECTOR_IRQ_CURRENT, guestIrqHandler);
  const c: Ctx = { vm, vcpus, itsFd: -1, gpaBase: 0, td };
  setupMemslot(c);
  c.itsFd = vgicItsSetup(vm);
  setupTestData(c);
  return c;
}

/**
 * signal_lpi(): KVM_SIGNAL_MSI returns 1 if the MSI wasn't 'blocked' by the VM (a valid ITS
 * translation). The struct kvm_msi of each (device, event) is built once: the ioctl only reads it.
 */
function signalLpi(vm: KvmVm, msi: KvmMsi, deviceId: number, eventId: number): void {
  const r = __kvmSignalMsi(vm, msi);
  // TEST_ASSERT(... == 1): a library-speed check, not counted per call (16000+ of them).
  if (r !== 1) testFail('KVM_SIGNAL_MSI ioctl failed (returned %d for device %u event %u)', r, deviceId, eventId);
}

function runTest(c: Ctx, nrIterations: number, seed?: number, maxQuantum?: number): LpiStressResult {
  const { vm, td } = c;
  const nrVcpus = td.nr_cpus;
  // pthread_barrier(nr_vcpus + nr_devices + 1): the device threads and main are there at once,
  // so it opens when the last vCPU thread reaches its GUEST_SYNC; main's clock starts then.
  let arrived = 0;
  let start = 0;
  let cpuStart = process.cpuUsage();
  let elapsed = 0;
  let cpuElapsed = 0;
  let devicesLeft = td.nr_devices;
  /** Main after pthread_join of every device thread: the time, then request_vcpus_stop. */
  const devicesJoined = (): void => {
    elapsed = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    cpuElapsed = (cpu.user + cpu.system) / 1e6;
    const guestTd = vm.guestGlobals.get('test_data') as TestData;
    writeGuestGlobal(vm, globals, 'test_data', { ...guestTd, request_vcpus_stop: true });
  };
  const vcpuThreads = c.vcpus.map((vcpu) => ({
    vcpu,
    onUcall: (uc: Ucall): boolean => {
      switch (uc.cmd) {
        case UCALL_SYNC:
          if (++arrived === nrVcpus) {
            start = performance.now();
            cpuStart = process.cpuUsage();
            if (devicesLeft === 0) devicesJoined();
          }
          return true;
        case UCALL_DONE:
          return false;
        case UCALL_ABORT:
          reportGuestAssert(uc);
          break;
        default:
          testFail('Unknown ucall: %lu', uc.cmd);
      }
      return false;
    },
  }));
  const deviceThreads = Array.from({ length: td.nr_devices }, (_, deviceId) => {
    let i = 0;
    let eventId = 0;
    const msis = Array.from({ length: td.nr_event_ids }, (_e, ev) => kvmMsi(ITS_DOORBELL_GPA, deviceId, ev));
    return {
      step: (): boolean => {
        if (arrived < nrVcpus) return true; // waiting at the barrier
        if (i < nrIterations && td.nr_event_ids > 0) {
          signalLpi(vm, msis[eventId]!, deviceId, eventId);
          if (++eventId === td.nr_event_ids) {
            eventId = 0;
            i++;
          }
          if (i < nrIterations) return true;
        }
        if (--devicesLeft === 0) devicesJoined();
        return false;
      },
    };
  });
  runVcpuThreads(vcpuThreads, {
    ...(seed !== undefined ? { seed } : {}),
    ...(maxQuantum !== undefined ? { maxQuantum } : {}),
    hostThreads: deviceThreads,
    budget: Number.MAX_SAFE_INTEGER,
  });
  const nrLpis = td.nr_devices * td.nr_event_ids * nrIterations;
  return { nrLpis, nrLpisTaken: vm.guestGlobals.get('nr_lpis_taken') as number, seconds: elapsed, cpuSeconds: cpuElapsed, rate: nrLpis / elapsed };
}

function destroyVm(c: Ctx): void {
  close(c.itsFd);
  kvmVmFree(c.vm);
}

/** setup_vm(), run_test(), destroy_vm(): the whole C main() after option parsing. */
export function runLpiStress(o: LpiStressOptions): LpiStressResult {
  const c = setupVm(o);
  const r = runTest(c, o.nrIterations, o.seed, o.maxQuantum);
  destroyVm(c);
  return r;
}

// --- main ------------------------------------------------------------------------------------------------

function prUsage(name: string, d: LpiStressOptions): void {
  printInfo('%s [-v NR_VCPUS] [-d NR_DEVICES] [-e NR_EVENTS] [-i ITERS] -h', name);
  printInfo('  -v:\tnumber of vCPUs (default: %u)', d.nrCpus);
  printInfo('  -d:\tnumber of devices (default: %u)', d.nrDevices);
  printInfo('  -e:\tnumber of event IDs per device (default: %u)', d.nrEventIds);
  printInfo('  -i:\tnumber of iterations (default: %lu)', d.nrIterations);
}

/** atoi(): leading decimal digits, 0 if none. */
const atoi = (s: string): number => {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1]!, 10) : 0;
};
/** strtoul(s, NULL, 0): 0x hex, leading-0 octal, else decimal. */
const strtoul = (s: string): number => {
  const t = s.trim();
  if (/^0[xX][0-9a-fA-F]+/.test(t)) return Number.parseInt(t.slice(2), 16);
  if (/^0[0-7]+/.test(t)) return Number.parseInt(t, 8);
  return atoi(t);
};

/** getopt(argc, argv, "hv:d:e:i:"): the options, or null for -h or anything unknown. */
export function parseLpiStressArgs(argv: readonly string[]): LpiStressOptions | null {
  const o: LpiStressOptions = { nrCpus: 1, nrDevices: 1, nrEventIds: 16, nrIterations: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const m = /^-([vdeih])(.*)$/.exec(argv[i]!);
    if (!m || m[1] === 'h') return null;
    const val = m[2] !== '' ? m[2]! : argv[++i];
    if (val === undefined) return null;
    if (m[1] === 'v') o.nrCpus = atoi(val);
    else if (m[1] === 'd') o.nrDevices = atoi(val);
    else if (m[1] === 'e') o.nrEventIds = atoi(val);
    else o.nrIterations = strtoul(val);
  }
  return o;
}

function main(argv: readonly string[]): void {
  const o = parseLpiStressArgs(argv);
  if (!o) {
    prUsage('vgic_lpi_stress', { nrCpus: 1, nrDevices: 1, nrEventIds: 16, nrIterations: 1000 });
    process.exitCode = 1;
    return;
  }
  selftest('vgic_lpi_stress', [
    [
      'vgic_lpi_stress',
      () => {
        testRequire(kvmSupportsVgicV3(), 'kvm_supports_vgic_v3()');
        const nrThreads = o.nrCpus + o.nrDevices;
        const nprocs = availableParallelism();
        if (nrThreads > nprocs) printInfo('WARNING: running %u threads on %d CPUs; performance is degraded.', nrThreads, nprocs);
        const r = runLpiStress(o);
        // The C test's checks ran in the loops (a failure ends the case before this point): one
        // TAP check for each kind, with how often it held.
        const nrCmds = 3 * o.nrCpus + o.nrDevices + o.nrDevices * o.nrEventIds;
        recordPass(`guest: its_send_cmd(): GITS_CREADR == next with no polling, for all ${nrCmds} ITS commands`);
        recordPass(`TEST_ASSERT(__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi) == 1) for all ${r.nrLpis} MSIs`);
        recordPass(`guest: GUEST_ASSERT(intid >= GIC_LPI_OFFSET) for all ${r.nrLpisTaken} LPIs taken`);
        printInfo('Rate: %s LPIs/sec', r.rate.toFixed(2));
      },
    ],
  ]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
