// errno values as in include/uapi/asm-generic/errno-base.h, and the KvmError every
// bad ioctl in the emulated kernel raises (or returns as -errno from the __ helpers).

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ERANGE = 34;
export const EOPNOTSUPP = 95;
export const ETIMEDOUT = 110;

const ERRNO_TABLE = {
  EPERM: [EPERM, 'Operation not permitted'],
  ENOENT: [ENOENT, 'No such file or directory'],
  EINTR: [EINTR, 'Interrupted system call'],
  EIO: [EIO, 'Input/output error'],
  ENXIO: [ENXIO, 'No such device or address'],
  E2BIG: [E2BIG, 'Argument list too long'],
  EBADF: [EBADF, 'Bad file descriptor'],
  EAGAIN: [EAGAIN, 'Resource temporarily unavailable'],
  ENOMEM: [ENOMEM, 'Cannot allocate memory'],
  EACCES: [EACCES, 'Permission denied'],
  EFAULT: [EFAULT, 'Bad address'],
  EBUSY: [EBUSY, 'Device or resource busy'],
  EEXIST: [EEXIST, 'File exists'],
  ENODEV: [ENODEV, 'No such device'],
  EINVAL: [EINVAL, 'Invalid argument'],
  ENOSPC: [ENOSPC, 'No space left on device'],
  ERANGE: [ERANGE, 'Numerical result out of range'],
  EOPNOTSUPP: [EOPNOTSUPP, 'Operation not supported'],
  ETIMEDOUT: [ETIMEDOUT, 'Connection timed out'],
} as const;

export type ErrnoName = keyof typeof ERRNO_TABLE;

const BY_CODE = new Map<number, ErrnoName>(
  (Object.keys(ERRNO_TABLE) as ErrnoName[]).map((n) => [ERRNO_TABLE[n][0], n]),
);

export function errnoCode(name: ErrnoName): number {
  return ERRNO_TABLE[name][0];
}

/** Name for a positive errno number, or `E<n>` when unknown. */
export function errnoName(code: number): string {
  return BY_CODE.get(Math.abs(code)) ?? `E${Math.abs(code)}`;
}

export function strerror(code: number): string {
  const name = BY_CODE.get(Math.abs(code));
  return name ? ERRNO_TABLE[name][1] : `Unknown error ${Math.abs(code)}`;
}

/** An ioctl failure: `errno` is the name (EINVAL), `code` the number (22). */
export class KvmError extends Error {
  readonly errno: ErrnoName;
  readonly code: number;
  constructor(errno: ErrnoName, detail?: string) {
    const code = errnoCode(errno);
    super(detail ? `${errno} (${code}): ${detail}` : `${errno} (${code}): ${ERRNO_TABLE[errno][1]}`);
    this.name = 'KvmError';
    this.errno = errno;
    this.code = code;
  }
}

/** Throw helper so call sites read like the kernel's `return -EINVAL;`. */
export function fail(errno: ErrnoName, detail?: string): never {
  throw new KvmError(errno, detail);
}

/** Run an ioctl body and turn a KvmError into -errno (the raw ioctl return convention). */
export function toRet(body: () => void): number {
  try {
    body();
    return 0;
  } catch (e) {
    if (e instanceof KvmError) return -e.code;
    throw e;
  }
}
