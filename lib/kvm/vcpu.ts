// A vCPU and its run loop: KVM_RUN drives the guest coroutine until it exits to userspace
// (a ucall, an unhandled MMIO, a guest fault), delivering interrupts at access boundaries.

import { types } from 'node:util';
import { EIO, fail } from '../uapi/errno.ts';
import { KVM_EXIT_MMIO, KVM_EXIT_UNKNOWN } from '../uapi/kvm.ts';
import { pruneApList } from '../vgic/ap-list.ts';
import { irqSignalled, vmcrHardwareSync, wfiWakeup } from '../vgic/cpuif.ts';
import { guestSysregRead, guestSysregWrite } from '../vgic/guest-sysregs.ts';
import { vgicMmioRead, vgicMmioWrite } from '../vgic/io.ts';
import type { VgicCpu } from '../vgic/state.ts';
import { generatorLocation } from './generator-location.ts';
import {
  type GuestEntry,
  type GuestProgram,
  type GuestReply,
  ReqKind,
  UCALL_ABORT,
  UCALL_UNHANDLED,
  type Ucall,
  WhereProbe,
  isAccessRequest,
  newRequest,
} from './guest-abi.ts';
import { takeRequest } from './guest-request.ts';
import { type SourceLocation, callerLocation } from './location.ts';
import { describeThrown, describeValue } from './thrown.ts';
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
  // The vCPU id is a u32: a bigint converts as C would; a non-number is no vCPU id (EINVAL).
  const n = typeof id === 'number' ? id : typeof id === 'bigint' ? Number(BigInt.asUintN(32, id)) : fail('EINVAL', `vcpuMpidr(): id ${describeValue(id)} is not a number`);
  return (n & 0xf) | (((n >>> 4) & 0xff) << 8) | (((n >>> 12) & 0xff) << 16);
}

interface Frame {
  program: GuestProgram;
  /** The reply the interrupted frame is owed when the handler returns. */
  savedReply: GuestReply;
  savedMask: boolean;
  /** What the frame last yielded (where it is suspended); undefined before its first step. */
  req: unknown;
  /** The guest entry (false) or an IRQ handler (true). */
  irq: boolean;
  /** The generator threw out (it is closed). */
  closed: boolean;
}

// %GeneratorPrototype% methods, called on programs checked to be generators: whatever a guest does
// to its generator object's own properties, next() returns a plain {value, done} record.
const GENERATOR_PROTO = Object.getPrototypeOf(Object.getPrototypeOf((function* () {})())) as Generator;
const genNext = GENERATOR_PROTO.next as (this: GuestProgram, v: GuestReply) => IteratorResult<unknown, unknown>;
const genReturn = GENERATOR_PROTO.return as (this: GuestProgram, v: undefined) => IteratorResult<unknown, unknown>;
const genThrow = GENERATOR_PROTO.throw as (this: GuestProgram, e: unknown) => IteratorResult<unknown, unknown>;

/** Why a value a guest entry returned cannot be run as a guest program, or null. */
function programError(p: unknown, what: string): string | null {
  if (!types.isGeneratorObject(p)) {
    return `${what} did not return a generator (it returned ${describeValue(p)}): guest code is a \`function*\` whose accesses are \`yield*\``;
  }
  let tag: string;
  try {
    tag = Object.prototype.toString.call(p);
  } catch {
    tag = '';
  }
  if (tag === '[object AsyncGenerator]') {
    return `${what} is an async generator (\`async function*\`): guest code is a plain \`function*\`, and every access a \`yield*\``;
  }
  return null;
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
  /** The request being performed, as taken from the guest (reused: no allocation per access). */
  private readonly taken = newRequest();

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
      this.abort(`guest did not exit within ${this.vm.accessBudget} accesses (runaway guest?)`, this.guestLocation());
    } else if (out === 'blocked') {
      this.abort('vCPU blocked in WFI with no interrupt pending: KVM_RUN would never return', this.guestLocation());
    }
    return 0;
  }

  /** The first-run checks (kvm_arch_vcpu_run_pid_change -> kvm_vgic_map_resources). */
  enter(): number {
    if (this.vm.dead) return -EIO;
    if (!this.hasRun) {
      const r = this.vm.firstRun(this);
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
      const program = this.start(this.entry, 'guest code');
      if (program) this.stack.push({ program, savedReply: undefined, savedMask: true, req: undefined, irq: false, closed: false });
    }
    return 0;
  }

  /** Run at most `limit` guest accesses. */
  step(limit: number): StepOutcome {
    if (this.finished) {
      // A run that enter() already ended (no or bad guest code) keeps its own message.
      if (!this.exit.ucall) this.abort('guest already finished (it aborted or returned)');
      return 'exit';
    }
    this.running = true;
    try {
      return this.loop(limit);
    } finally {
      this.running = false;
      pruneApList(this.vm.dist, this.vgic); // the exit: kvm_vgic_sync_hwstate (lib/vgic/ap-list.ts)
    }
  }

  /** Call a guest entry point (the guest code or the IRQ handler); null if it cannot run (aborted). */
  private start(entry: GuestEntry, what: string): GuestProgram | null {
    let program: unknown;
    try {
      program = entry();
    } catch (e) {
      // A plain function (not function*) runs at once and may throw.
      this.abortFromError(e, null);
      return null;
    }
    const bad = programError(program, what);
    if (bad !== null) {
      this.abort(bad, types.isGeneratorObject(program) ? generatorLocation(program as object) : undefined);
      return null;
    }
    return program as GuestProgram;
  }

  /** Take the IRQ exception: the handler's frame on top, PSTATE.I set; false if it could not start (the vCPU aborted). */
  private enterIrqHandler(handler: GuestEntry, interruptedReply: GuestReply): boolean {
    const program = this.start(handler, 'the IRQ handler');
    if (!program) return false;
    this.stack.push({ program, savedReply: interruptedReply, savedMask: this.irqMasked, req: undefined, irq: true, closed: false });
    this.irqMasked = true;
    return true;
  }

  private loop(limit: number): StepOutcome {
    const dist = this.vm.dist;
    const vgic = this.vgic;
    const mem = this.vm.memory;
    const req = this.taken;
    let reply = this.reply;
    // Guest entry: an unmasked interrupt that became pending while the vCPU was out (injected
    // by userspace, another vCPU or a device) is taken before the guest's next instruction, as
    // the list registers are loaded on entry (vgic_flush_hwstate), not after its next access.
    if (!this.irqMasked && this.irqHandler && dist.epoch !== this.seenEpoch) {
      this.seenEpoch = dist.epoch;
      if (irqSignalled(dist, vgic)) {
        if (!this.enterIrqHandler(this.irqHandler, reply)) return 'exit';
        reply = undefined;
      }
    }
    for (let steps = 0; ; steps++) {
      if (steps >= limit) {
        this.reply = reply;
        return 'preempted';
      }
      const frame = this.stack[this.stack.length - 1]!;
      let res: IteratorResult<unknown, unknown>;
      let bad: string | null = null;
      let yielded = false;
      try {
        res = genNext.call(frame.program, reply);
        if (!res.done) {
          yielded = true;
          frame.req = res.value;
          bad = takeRequest(res.value, req);
        }
      } catch (e) {
        // Thrown out of the generator (it is closed now), or by a getter of what it yielded.
        frame.closed = !yielded;
        this.abortFromError(e, frame);
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
        // The generator is closed: its location is where the guest function begins.
        this.abort('guest code returned without GUEST_DONE', generatorLocation(frame.program));
        return 'exit';
      }
      if (bad !== null) {
        this.abort(bad, this.whereIs(frame));
        return 'exit';
      }
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
          const r = guestSysregWrite(dist, vgic, req.sysreg, req.val);
          if (!r.ok) {
            this.unhandled(r.reason);
            return 'exit';
          }
          reply = undefined;
          break;
        }
        case ReqKind.Wfi:
          reply = undefined;
          pruneApList(dist, vgic); // WFI traps: an exit
          if (!wfiWakeup(dist, vgic)) {
            this.reply = undefined;
            return 'blocked';
          }
          break;
        case ReqKind.Ucall: {
          const uc = req.ucall!;
          req.ucall = null;
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
          if (!this.enterIrqHandler(this.irqHandler, reply)) return 'exit';
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
        genReturn.call(f.program, undefined);
      } catch {
        // a guest finally-block that throws changes nothing: the vCPU is already dead
      }
    }
    this.stack = [];
  }

  /**
   * A failure the harness detects (runaway, stuck WFI, a bad request): reported like a guest
   * assertion, at `where` (the guest's source line) when it is known.
   */
  abort(message: string, where?: SourceLocation): void {
    const ucall: Ucall = { cmd: UCALL_ABORT, args: [], buffer: message, expr: where?.text || message };
    if (where) {
      ucall.file = where.file;
      ucall.line = where.line;
    }
    this.exit = { reason: KVM_EXIT_MMIO, ucall, mmio: null };
    this.finish();
  }

  /** An exception the guest did not handle (UNDEF sysreg, unexpected IRQ): UCALL_UNHANDLED. */
  private unhandled(reason: string): void {
    this.exit = { reason: KVM_EXIT_MMIO, ucall: { cmd: UCALL_UNHANDLED, args: [], buffer: reason, expr: reason }, mmio: null };
    this.finish();
  }

  /**
   * Something guest code threw (`frame` is the guest frame it came out of; null when the entry
   * function itself threw): UCALL_ABORT at the guest's own line. An Error's stack names the line
   * exactly. A thrown 42, string, null or plain object carries no stack, and once it has left the
   * generator nothing in JavaScript can say where it was thrown (V8 records the throw site only
   * for debuggers; catching it would need a debugger pause on every exception, and remembering
   * the last access a stack capture on every access: both far too costly). Such a throw is
   * reported at the guest function that threw: V8 still knows where a closed generator's
   * function begins ([[GeneratorLocation]], generator-location.ts).
   */
  private abortFromError(e: unknown, frame: Frame | null): void {
    const d = describeThrown(e);
    let where = callerLocation(d.stack);
    let buffer = `guest threw ${d.text}`;
    if (!where && frame) {
      // Closed (it threw out of the generator) or, if a getter of its request threw, suspended.
      where = this.whereIs(frame);
      const how = d.isError ? ' (its stack could not be read' : ', not an Error (so it has no stack';
      const line = frame.closed ? 'where the guest function that threw begins' : 'its last yield';
      buffer += `${how}; the line is ${line})`;
    }
    if (frame?.irq) {
      const below = this.stack[this.stack.indexOf(frame) - 1];
      const at = below ? this.whereIs(below) : undefined;
      buffer += `, in the IRQ handler${at ? `, which interrupted the guest at ${at.file}:${at.line}` : ''}`;
    }
    this.abort(buffer, where);
  }

  /**
   * Where a guest frame stands. Inside `yield*` of an access: a WhereProbe thrown into it records
   * the stack of every guest generator frame, innermost first (guest-abi.ts). Anything else (a
   * plain `yield`, a closed generator): V8's generator location.
   */
  private whereIs(frame: Frame): SourceLocation | undefined {
    if (isAccessRequest(frame.req) && !frame.closed) {
      const probe = new WhereProbe();
      try {
        genThrow.call(frame.program, probe);
      } catch {
        // the probe reached guest code after all: the frame is being killed anyway
      }
      const where = callerLocation(probe.stack);
      if (where) return where;
    }
    return generatorLocation(frame.program);
  }

  /**
   * Where the guest is now: the file:line of its innermost started frame (the last access it
   * made), or undefined. For reports of a stopped vCPU (the thread scheduler's budget and
   * deadlock failures); free until called.
   */
  guestLocation(): SourceLocation | undefined {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const f = this.stack[i]!;
      if (f.req !== undefined) return this.whereIs(f);
    }
    return undefined;
  }
}
