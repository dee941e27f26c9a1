// The Linux calls the file-send workers make through koffi (libc), which node does not offer: sendfile(2) (file →
// socket inside the kernel, no copy through user space), epoll(7) to wait for many sockets at once on a worker that
// runs no event loop, eventfd(2) to wake that worker, fcntl(F_DUPFD_CLOEXEC) to hand a socket to it. Linux only: `loadSendCalls()`
// answers null elsewhere (or when libc cannot be loaded), and callers then stream the file from the main thread.
// libc itself is the netboot layer's one binding (netboot/net/libc.ts): its library handle, close and dupCloexec.
import koffi from 'koffi';
import { dupCloexec, libcLibrary, loadLibc } from '../../net/libc.ts';

export interface SendCalls {
  /** bytes sent, 0 at end of file, -1 with errno (EAGAIN: the socket's send buffer is full) */
  sendfile(outFd: number, inFd: number, offset: Buffer, count: number): number;
  epollCreate(): number;
  /** op EPOLL_CTL_*; `event`: one epoll_event (eventBytes) */
  epollCtl(epfd: number, op: number, fd: number, event: Buffer | null): number;
  /** `events`: maxEvents × eventBytes; timeout in ms (-1: forever) */
  epollWait(epfd: number, events: Buffer, maxEvents: number, timeoutMs: number): number;
  eventfd(initval: number, flags: number): number;
  /** a duplicate with FD_CLOEXEC (fcntl F_DUPFD_CLOEXEC): a child process spawned meanwhile must not inherit the socket, or the connection would outlive our close */
  dupCloexec(fd: number): number;
  close(fd: number): number;
  errno(): number;
}

export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EFD_NONBLOCK = 0x800;
export const EFD_CLOEXEC = 0x80000;
export const EAGAIN = 11;
export const EINTR = 4;
export const EPIPE = 32;
export const ECONNRESET = 104;

/** struct epoll_event: packed (12 bytes) on x86-64, naturally aligned (16) elsewhere; `data` is a u64 */
export const EPOLL_EVENT_BYTES = process.arch === 'x64' ? 12 : 16;
const DATA_OFFSET = process.arch === 'x64' ? 4 : 8;

export function writeEpollEvent(buf: Buffer, index: number, events: number, data: number): void {
  const o = index * EPOLL_EVENT_BYTES;
  buf.writeUInt32LE(events, o);
  buf.writeBigUInt64LE(BigInt(data), o + DATA_OFFSET);
}

export function readEpollEvent(buf: Buffer, index: number): { events: number; data: number } {
  const o = index * EPOLL_EVENT_BYTES;
  return { events: buf.readUInt32LE(o), data: Number(buf.readBigUInt64LE(o + DATA_OFFSET)) };
}

let calls: SendCalls | null | undefined;

/** The calls, loaded once per thread; null off Linux or when libc or a symbol cannot be loaded. */
export function loadSendCalls(): SendCalls | null {
  if (calls !== undefined) return calls;
  calls = null;
  if (process.platform !== 'linux') return null;
  try {
    const lib = libcLibrary();
    const libc = loadLibc();
    const sendfile = lib.func('long sendfile(int, int, void *, unsigned long)') as SendCalls['sendfile'];
    const epollCreate1 = lib.func('int epoll_create1(int)') as (flags: number) => number;
    calls = {
      sendfile,
      epollCreate: () => epollCreate1(0x80000 /* EPOLL_CLOEXEC */),
      epollCtl: lib.func('int epoll_ctl(int, int, int, void *)') as SendCalls['epollCtl'],
      epollWait: lib.func('int epoll_wait(int, void *, int, int)') as SendCalls['epollWait'],
      eventfd: lib.func('int eventfd(unsigned int, int)') as SendCalls['eventfd'],
      dupCloexec: (fd) => dupCloexec(libc, fd),
      close: (fd) => libc.close(fd),
      errno: () => koffi.errno(),
    };
  } catch {
    calls = null;
  }
  return calls;
}
