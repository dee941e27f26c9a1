// File descriptors of node:dgram sockets, and their duplicates, for the two things node's dgram cannot do by itself:
// setting UDP_SEGMENT (udp-gso.ts) and handing a bound transfer socket to a worker thread (transfer-pool.ts).
// Linux (libc through the netboot layer's one binding, netboot/net/libc.ts); every function answers null when that
// is not possible, and callers fall back.
import type { Socket } from 'node:dgram';
import { dupCloexec, tryLoadLibc } from '../../net/libc.ts';

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

/**
 * A second descriptor for the same socket; the socket lives until both are closed. Close-on-exec from the start
 * (fcntl F_DUPFD_CLOEXEC): a child process the daemon spawns (ipmitool, qemu-img, …) does not inherit it, so the
 * transfer's port is released when the worker closes it. Null on failure.
 */
export function dupSocketFd(socket: Socket): number | null {
  const c = tryLoadLibc();
  const fd = socketFd(socket);
  if (!c || fd === null) return null;
  const copy = dupCloexec(c, fd);
  return copy >= 0 ? copy : null;
}
