// File descriptors of node:dgram sockets, and dup(2), for the two things node's dgram cannot do by itself:
// setting UDP_SEGMENT (udp-gso.ts) and handing a bound transfer socket to a worker thread (transfer-pool.ts).
// Linux (libc via koffi); every function answers null when that is not possible, and callers fall back.
import type { Socket } from 'node:dgram';
import koffi from 'koffi';

interface Libc {
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  dup(fd: number): number;
}

let libc: Libc | null | undefined;

/** libc functions, or null off Linux / when libc cannot be loaded. */
export function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== 'linux') return null;
  try {
    const lib = koffi.load('libc.so.6');
    libc = {
      setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)') as Libc['setsockopt'],
      dup: lib.func('int dup(int)') as Libc['dup'],
    };
  } catch {
    libc = null;
  }
  return libc;
}

/**
 * The file descriptor of a bound dgram socket, read from node's internal state (the public `_handle` accessor
 * prints a deprecation warning). Null when node keeps it elsewhere (another version) or the socket is closed.
 */
export function socketFd(socket: Socket): number | null {
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    const state = (socket as unknown as Record<symbol, unknown>)[sym] as { handle?: { fd?: unknown } } | undefined;
    const fd = state && typeof state === 'object' ? state.handle?.fd : undefined;
    if (typeof fd === 'number' && fd >= 0) return fd;
  }
  return null;
}

/** A second descriptor for the same socket (dup(2)); the socket lives until both are closed. Null on failure. */
export function dupSocketFd(socket: Socket): number | null {
  const c = loadLibc();
  const fd = socketFd(socket);
  if (!c || fd === null) return null;
  const copy = c.dup(fd);
  return copy >= 0 ? copy : null;
}
