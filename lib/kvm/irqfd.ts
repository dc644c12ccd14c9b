// KVM_IRQFD (virt/kvm/eventfd.c: kvm_irqfd, kvm_irqfd_assign, kvm_irqfd_deassign, irqfd_wakeup,
// irqfd_inject, irqfd_update, the resampler): an eventfd bound to a GSI, so that signalling the
// eventfd raises the GSI's route. Signalling is synchronous here (Linux runs irqfd_wakeup inside
// the write, and its deferred irqfd_inject work "soon"; the model runs both at once).
//
// Resampling (KVM_IRQFD_FLAG_RESAMPLE): the irqfd raises its GSI's line and keeps it high; when the
// guest deactivates the level-triggered SPI (vgic-v3.c: vgic_v3_fold_lr -> kvm_notify_acked_irq),
// the resampler lowers the line and signals every resamplefd of that GSI (irqfd_resampler_ack).

import { EAGAIN, EBUSY, EINVAL } from '../uapi/errno.ts';
import { KVM_IRQFD_FLAG_DEASSIGN, KVM_IRQFD_FLAG_RESAMPLE } from '../uapi/kvm-irq.ts';
import { setAckNotifier } from '../vgic/cpuif.ts';
import { type Eventfd, type EventfdWaiter, eventfdGet } from './eventfd.ts';
import {
  EWOULDBLOCK,
  type KernelRoute,
  archSetIrqInatomic,
  kvmIrqMapChipGsi,
  kvmIrqMapGsi,
  kvmSetIrq,
  onRoutingUpdate,
} from './irq-routing.ts';
import type { KvmVm } from './vm.ts';

/** struct kvm_irqfd */
export interface KvmIrqfd {
  fd: number;
  gsi: number;
  flags: number;
  resamplefd: number;
}

/** struct kvm_kernel_irqfd_resampler: one per GSI with resampling irqfds. */
interface Resampler {
  readonly gsi: number;
  readonly irqfds: Irqfd[];
}

/** struct kvm_kernel_irqfd */
class Irqfd implements EventfdWaiter {
  /** irq_entry: the GSI's route when it resolves to exactly one entry, else none. */
  entry: KernelRoute | null = null;
  active = true;
  resampler: Resampler | null = null;

  constructor(
    readonly vm: KvmVm,
    readonly gsi: number,
    readonly eventfd: Eventfd,
    readonly resamplefd: Eventfd | null,
  ) {}

  /** irqfd_update(): cache the route (only a single entry is usable on the fast path). */
  update(): void {
    const entries = kvmIrqMapGsi(this.vm, this.gsi);
    this.entry = entries.length === 1 ? entries[0]! : null;
  }

  /** irqfd_wakeup(EPOLLIN): drain the count, try the atomic path, else irqfd_inject(). */
  signalled(fd: Eventfd): void {
    fd.drain();
    if (!this.active || archSetIrqInatomic(this.vm, this.entry, true) === -EWOULDBLOCK) this.inject();
  }

  /** irqfd_inject(): a plain irqfd pulses its GSI, a resampling one raises it. */
  inject(): void {
    if (!this.resampler) {
      kvmSetIrq(this.vm, this.gsi, true);
      kvmSetIrq(this.vm, this.gsi, false);
    } else {
      kvmSetIrq(this.vm, this.gsi, true);
    }
  }

  /** irqfd_wakeup(EPOLLHUP): the eventfd is closing, the irqfd goes. */
  hangup(): void {
    deactivate(this);
  }
}

interface VmIrqfds {
  readonly items: Irqfd[];
  readonly resamplers: Resampler[];
}

const irqfds = new WeakMap<KvmVm, VmIrqfds>();

function vmIrqfds(vm: KvmVm): VmIrqfds {
  let s = irqfds.get(vm);
  if (!s) {
    const state: VmIrqfds = { items: [], resamplers: [] };
    s = state;
    irqfds.set(vm, s);
    // kvm_irq_routing_update(): every irqfd re-resolves its GSI after KVM_SET_GSI_ROUTING.
    onRoutingUpdate(vm, () => {
      for (const i of state.items) i.update();
    });
    // kvm_notify_acked_irq(kvm, 0, pin) -> irqfd_resampler_ack(): lower the line, signal the resamplefds.
    setAckNotifier(vm.dist, (pin) => {
      const gsi = kvmIrqMapChipGsi(vm, 0, pin);
      if (gsi < 0) return;
      const r = state.resamplers.find((x) => x.gsi === gsi);
      if (!r) return;
      kvmSetIrq(vm, gsi, false);
      for (const i of r.irqfds) i.resamplefd!.signal();
    });
  }
  return s;
}

/** irqfd_deactivate() + irqfd_shutdown(): unhook from the eventfd, leave the resampler. */
function deactivate(irqfd: Irqfd): void {
  if (!irqfd.active) return;
  irqfd.active = false;
  const s = vmIrqfds(irqfd.vm);
  s.items.splice(s.items.indexOf(irqfd), 1);
  if (irqfd.eventfd.waiter === irqfd) irqfd.eventfd.waiter = null; // eventfd_ctx_remove_wait_queue
  const r = irqfd.resampler;
  if (r) {
    // irqfd_resampler_shutdown(): the last irqfd of a GSI takes the resampler and lowers the line.
    r.irqfds.splice(r.irqfds.indexOf(irqfd), 1);
    if (!r.irqfds.length) {
      s.resamplers.splice(s.resamplers.indexOf(r), 1);
      kvmSetIrq(irqfd.vm, r.gsi, false);
    }
  }
}

/**
 * kvm_irqfd_assign(), in the kernel's order: EAGAIN before the vGIC is initialised
 * (kvm_arch_intc_initialized), EBADF/EINVAL for an fd that is not an eventfd, the same for the
 * resamplefd, EBUSY when the eventfd already feeds an irqfd (any GSI, any VM: the wait queue
 * takes one priority waiter). A signal already pending on the eventfd is delivered at once.
 */
function assign(vm: KvmVm, args: KvmIrqfd): number {
  if (!vm.dist.initialized) return -EAGAIN;
  const ev = eventfdGet(args.fd);
  if (typeof ev === 'number') return ev;
  let resample: Eventfd | null = null;
  if (args.flags & KVM_IRQFD_FLAG_RESAMPLE) {
    const r = eventfdGet(args.resamplefd);
    if (typeof r === 'number') return r;
    resample = r;
  }
  const s = vmIrqfds(vm);
  const irqfd = new Irqfd(vm, args.gsi >>> 0, ev, resample);
  if (resample) {
    let r = s.resamplers.find((x) => x.gsi === irqfd.gsi);
    if (!r) {
      r = { gsi: irqfd.gsi, irqfds: [] };
      s.resamplers.push(r);
    }
    r.irqfds.push(irqfd);
    irqfd.resampler = r;
  }
  // kvm_irqfd_register(): irqfd_update(), then add_wait_queue_priority_exclusive() refuses a
  // second priority waiter; the failure path shuts the resampler down (lowering its line if
  // this irqfd was its only user).
  irqfd.update();
  if (ev.waiter) {
    s.items.push(irqfd);
    deactivate(irqfd);
    return -EBUSY;
  }
  ev.waiter = irqfd;
  s.items.push(irqfd);
  // vfs_poll() found EPOLLIN: schedule_work(&irqfd->inject).
  if (ev.count > 0n) irqfd.inject();
  return 0;
}

/** kvm_irqfd_deassign(): the fd must be an eventfd; every irqfd of (eventfd, gsi) goes; 0 even if none. */
function deassign(vm: KvmVm, args: KvmIrqfd): number {
  const ev = eventfdGet(args.fd);
  if (typeof ev === 'number') return ev;
  for (const i of [...vmIrqfds(vm).items]) if (i.eventfd === ev && i.gsi === args.gsi >>> 0) deactivate(i);
  return 0;
}

/** KVM_IRQFD (kvm_main.c -> kvm_irqfd): unknown flags -> EINVAL, then deassign or assign. */
export function irqfdIoctl(vm: KvmVm, args: KvmIrqfd): number {
  const flags = args.flags >>> 0;
  if (flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE)) return -EINVAL;
  if (flags & KVM_IRQFD_FLAG_DEASSIGN) return deassign(vm, args);
  return assign(vm, args);
}

/** kvm_irqfd_release() at VM destruction: every irqfd goes. */
export function kvmIrqfdRelease(vm: KvmVm): void {
  const s = irqfds.get(vm);
  if (!s) return;
  for (const i of [...s.items]) deactivate(i);
}
