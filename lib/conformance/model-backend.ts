// The model back end: each step through lib/host (the same calls a ported selftest makes), and
// guest accesses through a guest coroutine that, like the real guest, fetches one command from
// the port (a load that exits to userspace), performs exactly one access and reports it.
import type { Guest } from '../guest/guest.ts';
// lib/host's modules, not its index: the index also exports selftest(), which starts node-tap.
import { u64 } from '../host/buffers.ts';
import {
  VECTOR_IRQ_CURRENT,
  __kvmCreateDevice,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  __kvmHasDeviceAttr,
  __vmVcpuAdd,
  _kvmIrqLine,
  close,
  vmCreateBarebones,
  vmInstallExceptionHandler,
} from '../host/kvm-util.ts';
import { type GuestProgram, UCALL_UNHANDLED } from '../kvm/guest-abi.ts';
import type { KvmVcpu } from '../kvm/vcpu.ts';
import type { KvmVm } from '../kvm/vm.ts';
import { KVM_CREATE_DEVICE_TEST, KVM_DEV_TYPE_ARM_VGIC_ITS } from '../uapi/kvm.ts';
import type { GuestOp, Step, StepAction } from './language.ts';
import { GUEST_RAM_BASE, GUEST_RAM_SIZE, PORT_BASE, PORT_CMD } from './port.ts';
import type { RawResult } from './results.ts';
import { GUEST_SYSREGS } from './sysregs.ts';

/** What the model's guest finds when it loads its command (the real guest reads the port). */
interface PortState {
  op: GuestOp | null;
  encoding: number;
  addr: number;
  value: bigint;
  result: bigint;
  irq: number;
}
const PORT: PortState = { op: null, encoding: 0, addr: 0, value: 0n, result: 0n, irq: 0 };

function* conformanceGuest(g: Guest): GuestProgram {
  for (;;) {
    yield* g.readq(PORT_BASE + PORT_CMD); // exits: the host has put the command in the port
    const op = g.readGlobal(PORT, 'op');
    const addr = g.readGlobal(PORT, 'addr');
    const value = g.readGlobal(PORT, 'value');
    let result = 0n;
    switch (op) {
      case 'r8':
        result = BigInt(yield* g.readb(addr));
        break;
      case 'r16':
        result = BigInt(yield* g.readw(addr));
        break;
      case 'r32':
        result = BigInt(yield* g.readl(addr));
        break;
      case 'r64':
        result = yield* g.readq(addr);
        break;
      case 'w8':
        yield* g.writeb(addr, Number(value & 0xffn));
        break;
      case 'w16':
        yield* g.writew(addr, Number(value & 0xffffn));
        break;
      case 'w32':
        yield* g.writel(addr, Number(value & 0xffffffffn));
        break;
      case 'w64':
        yield* g.writeq(addr, value);
        break;
      case 'mrs':
        result = yield* g.readSysreg(g.readGlobal(PORT, 'encoding'));
        break;
      case 'msr':
        yield* g.writeSysreg(g.readGlobal(PORT, 'encoding'), value);
        break;
      case 'unmask':
        // The IRQ handler below runs between these two accesses if an IRQ is signalled.
        g.writeGlobal(PORT, 'irq', 0);
        yield* g.localIrqEnable();
        yield* g.localIrqDisable();
        result = BigInt(g.readGlobal(PORT, 'irq'));
        break;
      case 'wfi':
        yield* g.wfi();
        break;
      case null:
        break;
    }
    g.writeGlobal(PORT, 'result', result);
  }
}

/** The guest's IRQ vector: note that an IRQ was taken; the interrupted code masks IRQs again. */
// eslint-disable-next-line require-yield
function* irqHandler(g: Guest): GuestProgram {
  g.writeGlobal(PORT, 'irq', 1);
}

/** Accesses one command may take before the model calls it a runaway (a few dozen are normal). */
const STEP_BUDGET = 10_000;

export interface ModelOptions {
  /** Host-kernel profile (lib/vgic/profiles.ts). */
  profile: string;
  /** The host's GIC: 3 (QEMU gic-version=3: no GICv2 compatibility) or 2. */
  hostGic: 2 | 3;
  /** KVM in VHE mode (QEMU's -cpu max has VHE; kvm-arm.mode=vhe): the ptimer is hardware-mapped. */
  vhe: boolean;
}

export class ModelBackend {
  private vm: KvmVm | null = null;
  private fds: [number, number] = [-1, -1];
  private readonly vcpus = new Map<number, { vcpu: KvmVcpu; started: boolean; dead: boolean }>();

  constructor(private readonly opts: ModelOptions) {}

  /** Run one step; never throws for anything KVM would answer with an errno. */
  exec(step: Step): RawResult {
    return this.execAction(step.action);
  }

  close(): void {
    for (const fd of this.fds) if (fd >= 0) close(fd);
    this.fds = [-1, -1];
    this.vcpus.clear();
    this.vm = null;
  }

  private execAction(a: StepAction): RawResult {
    const ret = (r: number): RawResult => (r < 0 ? { k: 'err', errno: -r } : { k: 'ok' });
    if (a.kind === 'vm') {
      this.close();
      const vm = vmCreateBarebones({
        profile: this.opts.profile,
        // The host is QEMU's GIC: GICv3 without GICv2 compatibility and with 24 ID bits in
        // ICH_VTR_EL2, or a GICv2 with virtualization extensions.
        gicv2Compat: this.opts.hostGic === 2,
        idBits: this.opts.hostGic === 3 ? 24 : 16,
        vhe: this.opts.vhe,
        ...(a.ipaBits ? { ipaBits: a.ipaBits } : {}),
      });
      for (const [k, v] of Object.entries(PORT)) vm.guestGlobals.set(k, v);
      vmInstallExceptionHandler(vm, VECTOR_IRQ_CURRENT, irqHandler);
      this.vm = vm;
      return ret(vm.setUserMemoryRegion(0, GUEST_RAM_BASE, GUEST_RAM_SIZE));
    }
    const vm = this.vm;
    if (vm === null) return { k: 'err', errno: 9 };
    switch (a.kind) {
      case 'vcpu': {
        const v = __vmVcpuAdd(vm, a.id, conformanceGuest);
        if (typeof v === 'number') return ret(v);
        this.vcpus.set(a.id, { vcpu: v, started: false, dead: false });
        return { k: 'ok' };
      }
      case 'device': {
        if (a.test) return ret(vm.createDevice(a.type, KVM_CREATE_DEVICE_TEST));
        const fd = __kvmCreateDevice(vm, a.type);
        if (fd < 0) return ret(fd);
        const slot = a.type === KVM_DEV_TYPE_ARM_VGIC_ITS ? 1 : 0;
        if (this.fds[slot] < 0) this.fds[slot] = fd;
        return { k: 'ok' };
      }
      case 'set':
        return ret(__kvmDeviceAttrSet(this.fds[a.dev], a.group, a.attr, u64(a.value)));
      case 'setnull':
        return ret(__kvmDeviceAttrSet(this.fds[a.dev], a.group, a.attr, null));
      case 'get': {
        const buf = u64(a.value);
        const r = __kvmDeviceAttrGet(this.fds[a.dev], a.group, a.attr, buf);
        return r < 0 ? ret(r) : { k: 'val', v: buf.value };
      }
      case 'has':
        return ret(__kvmHasDeviceAttr(this.fds[a.dev], a.group, a.attr));
      case 'irq_line':
        return ret(_kvmIrqLine(vm, a.irq, a.level));
      case 'run': {
        const v = this.vcpus.get(a.vcpu);
        if (!v || v.dead) return { k: 'dead' };
        if (v.started) return { k: 'ok' };
        const r = this.runUntilParked(v);
        return r.k === 'guest' ? { k: 'ok' } : r;
      }
      case 'guest': {
        const v = this.vcpus.get(a.vcpu);
        if (!v || v.dead) return { k: 'dead' };
        if (!v.started) {
          const r = this.runUntilParked(v);
          if (r.k !== 'guest') return r;
        }
        vm.guestGlobals.set('op', a.op);
        vm.guestGlobals.set('encoding', a.kind === 'guest' ? (GUEST_SYSREGS[a.sysreg]?.encoding ?? 0) : 0);
        vm.guestGlobals.set('addr', Number(a.addr));
        vm.guestGlobals.set('value', a.value);
        vm.guestGlobals.set('result', 0n);
        return this.runUntilParked(v);
      }
    }
  }

  /**
   * KVM_RUN until the guest loads its next command, as the driver does. A guest access that
   * leaves the kernel (no vGIC frame, no RAM) is answered with 0 and reported as such.
   */
  private runUntilParked(v: { vcpu: KvmVcpu; started: boolean; dead: boolean }): RawResult {
    const vcpu = v.vcpu;
    let blocked = false;
    let mmio: bigint | null = null;
    for (;;) {
      const r = vcpu.enter();
      if (r) return { k: 'err', errno: -r };
      const out = vcpu.step(STEP_BUDGET);
      if (out === 'blocked') {
        blocked = true; // the driver's alarm breaks such a WFI and the guest carries on
        continue;
      }
      if (out === 'preempted') {
        v.dead = true;
        return { k: 'exit', reason: 0 };
      }
      const ex = vcpu.exit;
      if (ex.ucall) {
        v.dead = true;
        // An UNDEF system register access: the real guest's vector reports ESR EC 0 (unknown).
        if (ex.ucall.cmd === UCALL_UNHANDLED && ex.ucall.buffer.startsWith('UNDEF')) {
          return { k: 'guest', status: (1n << 32n) | 0x2000000n, result: 0n, blocked };
        }
        return { k: 'exit', reason: 0 };
      }
      if (ex.mmio) {
        if (!ex.mmio.isWrite && ex.mmio.addr === PORT_BASE + PORT_CMD) {
          const first = !v.started;
          v.started = true;
          if (mmio !== null) return { k: 'mmio', addr: mmio };
          const result = first ? 0n : (vcpu.vm.guestGlobals.get('result') as bigint);
          return { k: 'guest', status: 0n, result, blocked };
        }
        mmio = BigInt(ex.mmio.addr);
        continue;
      }
      v.dead = true;
      return { k: 'exit', reason: ex.reason };
    }
  }
}
