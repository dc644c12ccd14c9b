// A stand-in for eventfd(2) (fs/eventfd.c): a 64-bit counter behind a file descriptor that
// write() adds to and read() drains, and that wakes its waiters. KVM's irqfd is such a waiter
// (virt/kvm/eventfd.c: irqfd_wakeup), registered as the eventfd's only "priority" waiter.
//
// Differences from Linux, all because nothing here can block: a write that would overflow the
// counter and a read of a zero counter return -EAGAIN, as with EFD_NONBLOCK (an eventfd(0, 0)
// would sleep). EFD_SEMAPHORE is not modelled.

import { EAGAIN, EBADF, EINVAL } from '../uapi/errno.ts';
import { allocFd, lookupFd } from './fd-table.ts';

const ULLONG_MAX = 0xffff_ffff_ffff_ffffn;

/** Who waits on an eventfd: irqfd_wakeup() with EPOLLIN (signalled) or EPOLLHUP (closing). */
export interface EventfdWaiter {
  signalled(fd: Eventfd): void;
  hangup(fd: Eventfd): void;
}

export class Eventfd {
  count = 0n;
  /** The exclusive priority waiter (add_wait_queue_priority_exclusive), if any. */
  waiter: EventfdWaiter | null = null;
  closed = false;

  constructor(initval: number) {
    this.count = BigInt(initval >>> 0);
  }

  /** eventfd_ctx_do_read(): take the whole count. */
  drain(): bigint {
    const c = this.count;
    this.count = 0n;
    return c;
  }

  /** eventfd_signal(): used by KVM for resamplefds. */
  signal(n = 1n): void {
    if (ULLONG_MAX - this.count <= n) return; // eventfd_signal_mask WARNs and drops on overflow
    this.count += n;
    this.waiter?.signalled(this);
  }

  /** The last close: wake the waiters with EPOLLHUP (eventfd_release). */
  release(): void {
    this.closed = true;
    this.waiter?.hangup(this);
  }
}

const isEventfd = (o: unknown): o is Eventfd => o instanceof Eventfd;

/** eventfd(initval, 0): a new fd. */
export function eventfdCreate(initval = 0): number {
  return allocFd(new Eventfd(initval));
}

/**
 * eventfd_ctx_fdget(): the eventfd behind `fd`, -EBADF if fd is not open, -EINVAL if it is open
 * but not an eventfd (eventfd_ctx_fileget checks f_op).
 */
export function eventfdGet(fd: number): Eventfd | number {
  const any = lookupFd(fd, (o: unknown): o is unknown => o !== undefined);
  if (typeof any === 'number') return -EBADF;
  return isEventfd(any) ? any : -EINVAL;
}

/**
 * write(fd, buf, count) on an eventfd: eventfd_write(). Returns 8 or -errno. The write must be
 * exactly 8 bytes (fs/eventfd.c: eventfd_write, "count != sizeof(ucnt)"); a read may be longer.
 */
export function eventfdWrite(ctx: Eventfd, buf: Uint8Array, count: number): number {
  if (count !== 8 || buf.length < 8) return -EINVAL;
  const ucnt = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
  if (ucnt === ULLONG_MAX) return -EINVAL;
  if (ULLONG_MAX - ctx.count <= ucnt) return -EAGAIN;
  ctx.count += ucnt;
  // wake_up_locked_poll(&ctx->wqh, EPOLLIN): even a write of 0 wakes the waiters.
  ctx.waiter?.signalled(ctx);
  return 8;
}

/** read(fd, buf, count) on an eventfd: eventfd_read(). Returns 8 (value in buf) or -errno. */
export function eventfdRead(ctx: Eventfd, buf: Uint8Array, count: number): number {
  if (count < 8 || buf.length < 8) return -EINVAL;
  if (ctx.count === 0n) return -EAGAIN;
  new DataView(buf.buffer, buf.byteOffset, 8).setBigUint64(0, ctx.drain(), true);
  return 8;
}
