// The one libc binding of the netboot layer (koffi, Linux only) — every netboot server and worker that needs a call
// node does not offer goes through here rather than loading libc itself: socket options node's dgram does not offer
// (SO_BINDTODEVICE, UDP_SEGMENT), packet sockets for link-layer DHCP replies, entering a network namespace for one
// call, and fcntl(F_DUPFD_CLOEXEC) to duplicate a socket for a worker thread (dupCloexec). Modules with calls of
// their own (netboot/http/sendfile/linux-calls.ts: sendfile, epoll, eventfd) declare them on libcLibrary().
// Loaded once per thread (a worker thread has its own module state).
//
// Descriptors made here are close-on-exec: the daemon spawns ipmitool, qemu-img and others, and a socket a child
// inherited would outlive our close of it (a TFTP transfer port or an HTTP connection held open by a stranger).
import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';

const CLONE_NEWNET = 0x40000000;

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 6: 'ENXIO', 11: 'EAGAIN', 13: 'EACCES', 19: 'ENODEV', 22: 'EINVAL', 90: 'EMSGSIZE', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL',
  100: 'ENETDOWN', 105: 'ENOBUFS',
};

/** `EACCES`, `ENODEV` … or `errno N` for the rest. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  /** `vec`: native memory (koffi.alloc) holding struct mmsghdr[vlen]; `timeout` null */
  recvmmsg(fd: number, vec: unknown, vlen: number, flags: number, timeout: null): number;
  /** `vec`: the address of struct mmsghdr[vlen] in native memory */
  sendmmsg(fd: number, vec: bigint, vlen: number, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  if_nametoindex(name: string): number;
  strerror(errnum: number): string;
  /** fcntl(2) with an int argument (F_DUPFD_CLOEXEC, F_GETFD, …) */
  fcntl(fd: number, cmd: number, arg: number): number;
}

export const F_GETFD = 1;
export const FD_CLOEXEC = 1;
export const F_DUPFD_CLOEXEC = 1030;

let lib: koffi.IKoffiLib | null = null;
let libc: Libc | null = null;

/** libc.so.6 loaded through koffi, once; throws on anything but Linux. */
export function libcLibrary(): koffi.IKoffiLib {
  if (lib) return lib;
  if (process.platform !== 'linux') throw new Error(`these socket calls are implemented for Linux only, not ${process.platform}`);
  lib = koffi.load('libc.so.6');
  return lib;
}

/** Load libc's functions once; throws on anything but Linux. */
export function loadLibc(): Libc {
  if (libc) return libc;
  const lib = libcLibrary();
  libc = {
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    sendto: lib.func('long sendto(int, const void *, unsigned long, int, const void *, uint32_t)'),
    recvmmsg: lib.func('int recvmmsg(int, void *, unsigned int, int, void *)'),
    sendmmsg: lib.func('int sendmmsg(int, uint64_t, unsigned int, int)'),
    close: lib.func('int close(int)'),
    setns: lib.func('int setns(int, int)'),
    if_nametoindex: lib.func('unsigned int if_nametoindex(const char *)'),
    strerror: lib.func('const char *strerror(int)'),
    fcntl: lib.func('int fcntl(int, int, int)'),
  };
  return libc;
}

/** loadLibc(), or null off Linux or when libc cannot be loaded (for callers with a fallback). */
export function tryLoadLibc(): Libc | null {
  try { return loadLibc(); } catch { return null; }
}

/**
 * A second descriptor for the same open file or socket, with FD_CLOEXEC set atomically (fcntl F_DUPFD_CLOEXEC,
 * not dup(2) + a later fcntl: a child spawned in between would inherit it). -1 with errno on failure.
 */
export function dupCloexec(c: Libc, fd: number): number {
  return c.fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/** An Error with `code` (EACCES, ENODEV …), `errno` and a message that says what to do about it. */
export class BoundSocketError extends Error {
  override readonly name = 'BoundSocketError';
  constructor(message: string, readonly code: string, readonly errno: number) { super(message); }
}

/** Run `fn` with the calling thread inside network namespace `netns` (a name under /var/run/netns); undefined: here. */
export function inNamespace<T>(c: Libc, netns: string | undefined, fn: () => T): T {
  if (!netns) return fn();
  if (!/^[A-Za-z0-9_.-]+$/.test(netns)) throw new RangeError(`bad namespace name ${JSON.stringify(netns)}`);
  const home = openSync('/proc/thread-self/ns/net', 'r');
  let target: number;
  try { target = openSync(`/var/run/netns/${netns}`, 'r'); } catch (err) { closeSync(home); throw err; }
  try {
    if (c.setns(target, CLONE_NEWNET) !== 0) throw new BoundSocketError(`cannot enter network namespace ${netns} (needs root)`, errnoName(koffi.errno()), koffi.errno());
    try { return fn(); } finally {
      if (c.setns(home, CLONE_NEWNET) !== 0) {
        // Staying in the wrong namespace would silently misplace every later socket: stop the process.
        process.stderr.write('fatal: could not return to the original network namespace\n');
        process.abort();
      }
    }
  } finally { closeSync(target); closeSync(home); }
}
