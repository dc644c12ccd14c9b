// An ioctl's return as kvm_util sees it, shared by the lib/host wrappers: a negative result sets
// errno; the asserting wrappers (kvm_util's plain names) turn it into a KvmError naming the errno,
// as KVM_IOCTL_ERROR() reports it. Not re-exported by index.ts: ports call the wrappers.

import { KvmError, errnoName, strerror } from '../uapi/errno.ts';
import { setErrno } from './test-util.ts';

/** The __/_ variants: -errno returned as it is, errno set. */
export function raw(ret: number): number {
  if (ret < 0) setErrno(-ret);
  return ret;
}

/** KVM_IOCTL_ERROR(ioctl, ret) as a thrown KvmError. */
export function check(ret: number, what: string): number {
  if (ret < 0) {
    setErrno(-ret);
    throw new KvmError(errnoName(-ret) as ConstructorParameters<typeof KvmError>[0], `${what} failed, rc: -1 errno: ${-ret} (${strerror(-ret)})`);
  }
  return ret;
}
