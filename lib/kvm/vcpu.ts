// A vCPU and its run loop: KVM_RUN drives the guest coroutine until it exits to userspace
// (a ucall, an unhandled MMIO, a guest fault), delivering interrupts at access boundaries.

import { EIO } from '../uapi/errno.ts';
import { KVM_EXIT_MMIO, KVM_EXIT_UNKNOWN } from '../uapi/kvm.ts';
import { irqSignalled, vmcrHardwareSync, wfiWakeup } from '../vgic/cpuif.ts';
import { guestSysregRead, guestSysregWrite } from '../vgic/guest-sysregs.ts';
import { vgicMmioRead, vgicMmioWrite } from '../vgic/io.ts';
import type { VgicCpu } from '../vgic/state.ts';
import {
  type GuestEntry,
  type GuestProgram,
  type GuestReply,
  type GuestRequest,
  ReqKind,
  UCALL_ABORT,
  UCALL_UNHANDLED,
  type Ucall,
} from './guest-abi.ts';
import { callerLocation } from './location.ts';
import type { KvmVm } from './vm.ts';

/** struct kvm_run, the part the harness reports. */
export interface KvmExit {
  reason: number;
  ucall: Ucall | null;
  mmio: { addr: number; len: number; isWrite: boolean; data: number | bigint } | null;
}

/** How a stretch of guest execution ended (the scheduler's view). */
export type StepOutcome = 'exit' | 'preempted' | 'blocked';

/** calculate_mpidr(): Aff0 = id[3:0], Aff1 = id[11:4], Aff2 = id[19:12] (packed as in attrs). */
export function vcpuMpidr(id: number): number {
  return (id & 0xf) | (((id >>> 4) & 0xff) << 8) | (((id >>> 12) & 0xff) << 16);
}

interface Frame {
  program: GuestProgram;
  /** The reply the interrupted frame is owed when the handler returns. */
  savedReply: GuestReply;
  savedMask: boolean;
}

export class KvmVcpu {
  readonly id: number;
  readonly idx: number;
  readonly mpidr: number;
  readonly vgic: VgicCpu;
  readonly vm: KvmVm;
  entry: GuestEntry | null = null;
  /** The handler installed for the IRQ vector (vm_install_exception_handler). */
  irqHandler: GuestEntry | null = null;
  /** PSTATE.I: interrupts masked, as out of reset. */
  irqMasked = true;
  hasRun = false;
  /** Inside KVM_RUN (other ioctls that lock all vCPUs would get EBUSY). */
  running = false;
  exit: KvmExit = { reason: KVM_EXIT_UNKNOWN, ucall: null, mmio: null };
  /** Guest accesses performed so far (all runs). */
  accesses = 0;
  private stack: Frame[] = [];
  private reply: GuestReply = undefined;
  private finished = false;
  private seenEpoch = -1;

  constructor(vm: KvmVm, id: number, idx: number, vgic: VgicCpu) {
    this.vm = vm;
    this.id = id;
    this.idx = idx;
    this.mpidr = vgic.mpidr;
    this.vgic = vgic;
  }

  /** KVM_RUN: 0 when the guest exited to userspace, -errno when the run could not start. */
  run(): number {
    const r = this.enter();
    if (r) return r;
    const out = this.step(this.vm.accessBudget);
    if (out === 'preempted') {
      this.abort(`guest did not exit within ${this.vm.accessBudget} accesses (runaway guest?)`);
    } else if (out === 'blocked') {
      this.abort('vCPU blocked in WFI with no interrupt pending: KVM_RUN would never return');
    }
    return 0;
  }

  /** The first-run checks (kvm_arch_vcpu_run_pid_change -> kvm_vgic_map_resources). */
  enter(): number {
    if (this.vm.dead) return -EIO;
    if (!this.hasRun) {
      const r = this.vm.firstRun();
      if (r) return r;
      this.hasRun = true;
    }
    if (this.vm.dist.initialized) vmcrHardwareSync(this.vgic); // kvm_vgic_load + vmcr sync at put
    this.exit = { reason: KVM_EXIT_UNKNOWN, ucall: null, mmio: null };
    if (!this.stack.length && !this.finished) {
      if (!this.entry) {
        this.abort('vCPU has no guest code');
        return 0;
      }
      this.stack.push({ program: this.entry(), savedReply: undefined, savedMask: true });
    }
    return 0;
  }

  /** Run at most `limit` guest accesses. */
  step(limit: number): StepOutcome {
    if (this.finished) {
      this.abort('guest already finished (it aborted or returned)');
      return 'exit';
    }
    this.running = true;
    try {
      return this.loop(limit);
    } finally {
      this.running = false;
    }
  }

  private loop(limit: number): StepOutcome {
    const dist = this.vm.dist;
    const vgic = this.vgic;
    const mem = this.vm.memory;
    let reply = this.reply;
    for (let steps = 0; ; steps++) {
      if (steps >= limit) {
        this.reply = reply;
        return 'preempted';
      }
      const frame = this.stack[this.stack.length - 1]!;
      let res: IteratorResult<GuestRequest, void>;
      try {
        res = frame.program.next(reply);
      } catch (e) {
        this.abortFromError(e);
        return 'exit';
      }
      if (res.done) {
        if (this.stack.length > 1) {
          // Return from the IRQ handler: eret restores PSTATE.I and the interrupted access's value.
          this.stack.pop();
          reply = frame.savedReply;
          this.irqMasked = frame.savedMask;
          this.seenEpoch = -1;
          continue;
        }
        this.abort('guest code returned without GUEST_DONE');
        return 'exit';
      }
      const req = res.value;
      this.accesses++;
      switch (req.kind) {
        case ReqKind.MmioRead: {
          // A memslot access is plain RAM; otherwise the in-kernel vGIC frames, else an exit.
          const v = mem.isRam(req.addr, req.len) ? mem.read(req.addr, req.len) : vgicMmioRead(dist, vgic, req.addr, req.len);
          if (v === null) {
            this.exit = { reason: KVM_EXIT_MMIO, ucall: null, mmio: { addr: req.addr, len: req.len, isWrite: false, data: 0 } };
            this.reply = req.len === 8 ? 0n : 0;
            return 'exit';
          }
          reply = v;
          break;
        }
        case ReqKind.MmioWrite:
          if (mem.isRam(req.addr, req.len)) mem.write(req.addr, req.len, req.val);
          else if (!vgicMmioWrite(dist, vgic, req.addr, req.len, req.val)) {
            this.exit = { reason: KVM_EXIT_MMIO, ucall: null, mmio: { addr: req.addr, len: req.len, isWrite: true, data: req.val } };
            this.reply = undefined;
            return 'exit';
          }
          reply = undefined;
          break;
        case ReqKind.SysregRead: {
          const r = guestSysregRead(dist, vgic, req.sysreg);
          if (!r.ok) {
            this.unhandled(r.reason);
            return 'exit';
          }
          reply = r.value;
          break;
        }
        case ReqKind.SysregWrite: {
          const r = guestSysregWrite(dist, vgic, req.sysreg, BigInt(req.val));
          if (!r.ok) {
            this.unhandled(r.reason);
            return 'exit';
          }
          reply = undefined;
          break;
        }
        case ReqKind.Wfi:
          reply = undefined;
          if (!wfiWakeup(dist, vgic)) {
            this.reply = undefined;
            return 'blocked';
          }
          break;
        case ReqKind.Ucall: {
          const uc = req.ucall!;
          this.exit = { reason: KVM_EXIT_MMIO, ucall: uc, mmio: null };
          this.reply = undefined;
          if (uc.cmd === UCALL_ABORT) this.finish();
          return 'exit';
        }
        case ReqKind.IrqMask:
          this.irqMasked = req.val !== 0 && req.val !== 0n;
          if (!this.irqMasked) this.seenEpoch = -1;
          reply = undefined;
          break;
        default:
          reply = undefined;
      }
      if (!this.irqMasked && dist.epoch !== this.seenEpoch) {
        this.seenEpoch = dist.epoch;
        if (irqSignalled(dist, vgic)) {
          if (!this.irqHandler) {
            this.unhandled('IRQ taken with no handler installed for the IRQ vector');
            return 'exit';
          }
          this.stack.push({ program: this.irqHandler(), savedReply: reply, savedMask: this.irqMasked });
          this.irqMasked = true;
          reply = undefined;
        }
      }
    }
  }

  /** True while the vCPU can be run again (it has not aborted). */
  get alive(): boolean {
    return !this.finished;
  }

  private finish(): void {
    this.finished = true;
    for (const f of this.stack) {
      try {
        f.program.return(undefined);
      } catch {
        // a guest finally-block that throws changes nothing: the vCPU is already dead
      }
    }
    this.stack = [];
  }

  /** A failure the harness detects (runaway, stuck WFI): reported like a guest assertion. */
  abort(message: string): void {
    this.exit = { reason: KVM_EXIT_MMIO, ucall: { cmd: UCALL_ABORT, args: [], buffer: message, expr: message }, mmio: null };
    this.finish();
  }

  /** An exception the guest did not handle (UNDEF sysreg, unexpected IRQ): UCALL_UNHANDLED. */
  private unhandled(reason: string): void {
    this.exit = { reason: KVM_EXIT_MMIO, ucall: { cmd: UCALL_UNHANDLED, args: [], buffer: reason, expr: reason }, mmio: null };
    this.finish();
  }

  /** A JS exception thrown by guest code: UCALL_ABORT at the guest's own source line. */
  private abortFromError(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    const loc = callerLocation(err.stack);
    this.exit = {
      reason: KVM_EXIT_MMIO,
      ucall: {
        cmd: UCALL_ABORT,
        args: [],
        buffer: `guest threw ${err.name}: ${err.message}`,
        expr: loc?.text ?? err.message,
        ...(loc ? { file: loc.file, line: loc.line } : {}),
      },
      mmio: null,
    };
    this.finish();
  }
}

