// Process-wide file descriptors for devices, so ported tests keep `if (fd < 0)` and close(fd).
// Numbers are never reused, so a closed fd stays EBADF (a stale fd cannot reach another VM's
// device). An entry keeps its object (and the VM behind it) reachable until it is closed: a VM's
// fds are closed when the VM is freed (KvmVm.free, kvm_vm_free).

import { EBADF } from '../uapi/errno.ts';

const table = new Map<number, unknown>();
let next = 3;

export function allocFd(obj: unknown): number {
  const fd = next++;
  table.set(fd, obj);
  return fd;
}

export function lookupFd<T>(fd: number, guard: (o: unknown) => o is T): T | number {
  const o = table.get(fd);
  return o !== undefined && guard(o) ? o : -EBADF;
}

/** An object with work to do when its fd is closed (an eventfd hangs up its irqfd: EPOLLHUP). */
export interface FdRelease {
  release(): void;
}
const hasRelease = (o: unknown): o is FdRelease => typeof (o as Partial<FdRelease> | null)?.release === 'function';

export function closeFd(fd: number): number {
  const o = table.get(fd);
  if (o === undefined) return -EBADF;
  table.delete(fd);
  if (hasRelease(o)) o.release();
  return 0;
}

/** Open fds right now (for leak tests). */
export function openFdCount(): number {
  return table.size;
}
