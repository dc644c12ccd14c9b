// GICv5 snapshots: the QEMU-style v5 sequence saves IRS registers, CPU interfaces and ISTs into
// YAML; restoring into a fresh VM and saving again gives the same bytes; the restored guest takes
// the interrupts that were pending; bad files and mismatched destinations are refused whole.

import t from '../../../test/tap.ts';
import type { Guest, GuestProgram } from '../../guest/index.ts';
import { gicInsn, gicrInsn } from '../../guest/gicv5.ts';
import {
  GICV5_GICR_CDIA_VALID,
  GICV5_GIC_CDAFF_IAFFID_SHIFT,
  GICV5_GIC_CDPEND_PENDING,
  GICV5_GIC_CDPRI_PRIORITY_SHIFT,
  GICV5_IRS_CONFIG_BASE_GVA,
  GICV5_IRS_CR0,
  GICV5_IRS_IST_BASER,
  GICV5_IRS_IST_CFGR,
  ICC_CR0_EL1,
  ICC_PCR_EL1,
  ICC_PPI_ENABLER0_EL1,
  KVM_ARM_IRQ_TYPE_SHIFT,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_VGIC_V5,
  type KvmVm,
  UCALL_DONE,
  __kvmDeviceAttrGet,
  __vcpuRun,
  _kvmIrqLine,
  getUcall,
  kvmCreateDevice,
  u32,
  vmCreateBarebones,
  vmVcpuAdd,
  vmInstallExceptionHandler,
} from '../../host/index.ts';
import { v5Vm } from '../../../test/support/v5.ts';
import { kvmDeviceIo } from '../vmm/device.ts';
import { type VgicV5Handle, restoreVgicV5, saveVgicV5 } from '../vmm/qemu-v5.ts';
import { parseSnapshotV5Yaml, stringifySnapshotV5 } from './yaml.ts';

const spi = (n: number): bigint => BigInt(((3 << 29) | n) >>> 0);
const lpi = (n: number): bigint => BigInt(((2 << 29) | n) >>> 0);

function* irsCmd(g: Guest, irq: bigint, prio: number, target: number, enable: boolean): GuestProgram {
  yield* gicInsn(g, irq | (BigInt(prio) << GICV5_GIC_CDPRI_PRIORITY_SHIFT), 'CDPRI');
  yield* gicInsn(g, irq | (BigInt(target) << GICV5_GIC_CDAFF_IAFFID_SHIFT), 'CDAFF');
  if (enable) yield* gicInsn(g, irq, 'CDEN');
}

/** The source guest: IRS on, an LPI IST, SPIs 0/1 and LPI 2 configured, LPI 2 pending for vCPU 1. */
function* sourceGuest(g: Guest): GuestProgram {
  if (g.vcpuId === 0) {
    yield* g.writel(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_CR0, 1);
    yield* g.writel(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_IST_CFGR, 5);
    yield* g.writeq(GICV5_IRS_CONFIG_BASE_GVA + GICV5_IRS_IST_BASER, 0x8020001n);
    yield* irsCmd(g, spi(0), 0x08, 0, true);
    yield* irsCmd(g, spi(1), 0x10, 0, false);
    yield* irsCmd(g, lpi(2), 0x04, 1, true);
    yield* gicInsn(g, lpi(2) | GICV5_GIC_CDPEND_PENDING, 'CDPEND');
  }
  yield* g.writeSysreg(ICC_PPI_ENABLER0_EL1, 1n << 3n);
  yield* g.writeSysreg(ICC_PCR_EL1, 0x1f);
  yield* g.done();
}

/** The restored guest: CPU interface already restored; take one interrupt, report it. */
function* restoredGuest(g: Guest): GuestProgram {
  yield* g.writeSysreg(ICC_CR0_EL1, 1);
  yield* g.localIrqEnable();
  for (;;) yield* g.wfi();
}
function* takeOne(g: Guest): GuestProgram {
  const ia = yield* gicrInsn(g, 'CDIA');
  yield* g.assert((ia & GICV5_GICR_CDIA_VALID) !== 0n, 'nothing to acknowledge');
  yield* g.sync(ia & 0xffffffffn);
}

function handle(vm: KvmVm, fd: number): VgicV5Handle {
  return { io: kvmDeviceIo(fd), vcpus: vm.vcpus.map((v) => ({ id: v.id, mpidr: v.mpidr })) };
}

function sourceVm(): { vm: KvmVm; fd: number } {
  const f = v5Vm({ vcpus: 2, nrSpis: 64, guest: sourceGuest });
  f.vm.setUserMemoryRegion(1, 0x8020000, 0x10000);
  for (const v of f.vcpus) if (__vcpuRun(v) || getUcall(v).cmd !== UCALL_DONE) throw new Error('source guest');
  if (_kvmIrqLine(f.vm, (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | 0, 1)) throw new Error('irq line');
  if (_kvmIrqLine(f.vm, (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | 40, 1)) throw new Error('irq line');
  return { vm: f.vm, fd: f.fd };
}

function emptyVm(ids = [0, 1]): { vm: KvmVm; fd: number } {
  const vm = vmCreateBarebones({ gicv5: {} });
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V5);
  for (const id of ids) vmVcpuAdd(vm, id, restoredGuest);
  vmInstallExceptionHandler(vm, 'irq-current', takeOne);
  return { vm, fd };
}

t.test('save -> YAML -> restore -> save is byte-identical, and the restored guest takes the pending interrupts', async (t) => {
  const src = sourceVm();
  const saved = saveVgicV5(handle(src.vm, src.fd));
  if (!saved.ok) throw new Error(saved.failure);
  const yaml = stringifySnapshotV5(saved.value);
  t.match(yaml, /^vgicSnapshot: 1\nsource:\n  uapi: "irs-final"\n  vmm: "qemu"\nmodel: "v5"\nnrSpis: 64\n/, 'header');
  t.match(yaml, /IRS_IST_BASER: "0x0000000008020001"/);
  t.same(saved.value.ist.spi.set, { '0': '0x00004009', '1': '0x00008000', '40': '0x00000001' }, 'SPI 0 pending and enabled at priority 8; SPI 1 priority 16, disabled; SPI 40 only pending');
  t.same(saved.value.ist.lpi, { entries: 32, set: { '2': '0x00012009' } }, 'LPI 2 pending, enabled, priority 4, IAFFID 1');
  t.equal(parseSnapshotV5Yaml(yaml).nrSpis, 64);

  const dst = emptyVm();
  const r = restoreVgicV5(handle(dst.vm, dst.fd), yaml);
  t.same(r, { ok: true, value: null }, 'restored');
  const again = saveVgicV5(handle(dst.vm, dst.fd));
  if (!again.ok) throw new Error(again.failure);
  t.equal(stringifySnapshotV5(again.value), yaml, 'byte-identical re-save');

  // SPI 40 was raised but never enabled by the guest: it travels as pending and stays quiet.
  t.equal(__vcpuRun(dst.vm.vcpus[0]!), 0);
  let uc = getUcall(dst.vm.vcpus[0]!);
  t.same([uc.cmd, uc.args[1]], [1, spi(0)], 'vCPU 0 takes the restored pending SPI 0');
  t.equal(__vcpuRun(dst.vm.vcpus[1]!), 0);
  uc = getUcall(dst.vm.vcpus[1]!);
  t.same([uc.cmd, uc.args[1]], [1, lpi(2)], 'vCPU 1 takes the restored pending LPI 2');
});

t.test('bad snapshots and mismatched destinations are refused before anything is written', async (t) => {
  const src = sourceVm();
  const saved = saveVgicV5(handle(src.vm, src.fd));
  if (!saved.ok) throw new Error(saved.failure);
  const yaml = stringifySnapshotV5(saved.value);
  const untouched = (d: { fd: number }): boolean => {
    const nr = u32(0xbad);
    return __kvmDeviceAttrGet(d.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, nr) === 0 && nr.value === 0;
  };
  const cases: [string, string, RegExp][] = [
    ['an unknown version', yaml.replace('vgicSnapshot: 1', 'vgicSnapshot: 2'), /version/],
    ['the early contract', yaml.replace('"irs-final"', '"irs-early"'), /source\.uapi/],
    ['33 SPIs', yaml.replace('nrSpis: 64', 'nrSpis: 33'), /multiple of 32/],
    ['a short hex value', yaml.replace(/IRS_CR0: "0x[0-9a-f]{16}"/, 'IRS_CR0: "0x1"'), /irs\.IRS_CR0/],
    ['a missing register', yaml.replace(/ {4}ICC_PCR_EL1: "0x[0-9a-f]{16}"\n/, ''), /missing/],
    ['an extra field', `${yaml}extra: 1\n`, /unknown field/],
    ['an IST entry out of range', yaml.replace('"1": "0x00008000"', '"64": "0x00008000"'), /below 64/],
    ['a wrong LPI entry count', yaml.replace('entries: 32', 'entries: 16'), /entries/],
    ['an alias', yaml.replace('model: "v5"', 'model: &m "v5"\nalias: *m'), /alias|anchor/],
    ['a prototype key', yaml.replace('irs:\n', 'irs:\n  __proto__: "0x0000000000000000"\n'), /unknown field|canonical|forbidden key/],
    ['two documents', `${yaml}---\n${yaml}`, /one YAML document/],
  ];
  for (const [what, text, why] of cases) {
    const d = emptyVm();
    const r = restoreVgicV5(handle(d.vm, d.fd), text);
    t.equal(r.ok, false, what);
    if (!r.ok) t.match(r.failure, why, `${what}: ${r.failure}`);
    t.ok(untouched(d), `${what}: destination untouched`);
  }
  const bigger = emptyVm([0, 1, 2]);
  const r1 = restoreVgicV5(handle(bigger.vm, bigger.fd), yaml);
  t.match(r1.ok ? '' : r1.failure, /vCPUs differ/, 'three vCPUs for a two-vCPU snapshot');
  const sparse = emptyVm([0, 3]);
  t.match((restoreVgicV5(handle(sparse.vm, sparse.fd), yaml) as { failure: string }).failure, /vCPUs differ/, 'other vCPU ids');
  const configured = emptyVm();
  t.equal(restoreVgicV5(handle(configured.vm, configured.fd), yaml).ok, true, 'a first restore');
  t.match((restoreVgicV5(handle(configured.vm, configured.fd), yaml) as { failure: string }).failure, /already configured/, 'a second restore into the same VM');
  t.match((restoreVgicV5(handle(configured.vm, configured.fd), 'x'.repeat(9 * 1024 * 1024)) as { failure: string }).failure, /limit/, 'a 9 MiB file');
});

t.test('hostile YAML is refused while it is read, in bounded time and memory (the GICv2/v3 reader, with GICv5 limits)', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['1 M `[`', '['.repeat(1 << 20), /nested deeper than a snapshot/],
    ['a mapping of 70,000 keys', `ist:\n${Array.from({ length: 70_000 }, (_, i) => `  k${i}: 1\n`).join('')}`, /more than 65536 entries/],
    ['a duplicate key', 'model: "v5"\nmodel: "v5"\n', /duplicate key/],
    ['a 300-character value', `model: "${'x'.repeat(300)}"\n`, /a key or value of 302 characters/],
    ['two BOMs', '\ufeff\ufeffmodel: "v5"\n', /two byte order marks/],
  ];
  for (const [what, text, message] of cases) {
    const heap = process.memoryUsage().heapUsed;
    const cpu = process.cpuUsage();
    t.throws(() => parseSnapshotV5Yaml(text), { name: 'SnapshotError', message }, `${what}: refused`);
    const used = process.cpuUsage(cpu);
    // Generous bounds (a shared machine); the unbounded reader took seconds and hundreds of MB.
    t.ok((used.user + used.system) / 1e3 < 2000, `${what}: under 2 s of CPU`);
    t.ok(process.memoryUsage().heapUsed - heap < 200 * 1024 * 1024, `${what}: under 200 MB of heap`);
  }
});
