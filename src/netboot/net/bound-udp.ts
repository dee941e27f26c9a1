// One-NIC confinement (DESIGN.md): a UdpSocketFactory whose sockets are created through libc with
// SO_BINDTODEVICE, so a socket on 0.0.0.0:67 hears and sends only on the chosen interface. The fd is then
// handed to node's dgram (`bind({ fd })`). Linux only (macOS would use IP_BOUND_IF; not done).
//
// Optionally the socket is created inside a named network namespace (/var/run/netns/NAME): the calling
// thread enters the namespace for the socket() call only and returns at once; the socket stays in the
// namespace it was created in. Tests use this to run servers in-process inside the namespaces they create.

import dgram from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';
import type { UdpSocketFactory, UdpSocketOptions } from './udp-socket.ts';
import { ipLiteralLookup } from './ip-literal-lookup.ts';

// Linux constants (asm-generic/socket.h, linux/in.h, sched.h)
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_BROADCAST = 6;
const SO_BINDTODEVICE = 25;
const CLONE_NEWNET = 0x40000000;

const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 19: 'ENODEV', 22: 'EINVAL', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL' };

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  strerror(errnum: number): string;
}

let libc: Libc | null = null;
function loadLibc(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') throw new Error(`interface-bound sockets are implemented for Linux only, not ${process.platform}`);
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    close: lib.func('int close(int)'),
    setns: lib.func('int setns(int, int)'),
    strerror: lib.func('const char *strerror(int)'),
  };
  return libc;
}

/** An Error with `code` (EACCES, ENODEV …), `errno` and a message that says what to do about it. */
export class BoundSocketError extends Error {
  override readonly name = 'BoundSocketError';
  constructor(message: string, readonly code: string, readonly errno: number) { super(message); }
}

function fail(c: Libc, what: string, opts: UdpSocketOptions, netns: string | undefined): never {
  const errno = koffi.errno();
  const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
  let hint = '';
  if (code === 'ENODEV') hint = `: interface ${JSON.stringify(opts.interface)} does not exist${netns ? ` in namespace ${netns}` : ''}`;
  else if (code === 'EPERM' || code === 'EACCES') hint = what === 'bind' ? `: port ${opts.port} needs root or CAP_NET_BIND_SERVICE` : ': SO_BINDTODEVICE needs root or CAP_NET_RAW';
  else if (code === 'EADDRINUSE') hint = `: ${opts.address ?? '0.0.0.0'}:${opts.port} is in use (another DHCP/TFTP server?)`;
  else if (code === 'EADDRNOTAVAIL') hint = `: address ${opts.address} is not configured here`;
  throw new BoundSocketError(`${what} failed with ${code} (${c.strerror(errno)})${hint}`, code, errno);
}

function sockaddrIn(address: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new RangeError(`not an IPv4 address: ${address}`);
  Buffer.from(parts).copy(b, 4);
  return b;
}

function intOpt(v: number): Buffer { const b = Buffer.alloc(4); b.writeInt32LE(v, 0); return b; }

/** Run `fn` with the calling thread inside network namespace `netns` (a name under /var/run/netns). */
function inNamespace<T>(c: Libc, netns: string | undefined, fn: () => T): T {
  if (!netns) return fn();
  if (!/^[A-Za-z0-9_.-]+$/.test(netns)) throw new RangeError(`bad namespace name ${JSON.stringify(netns)}`);
  const home = openSync('/proc/thread-self/ns/net', 'r');
  let target: number;
  try { target = openSync(`/var/run/netns/${netns}`, 'r'); } catch (err) { closeSync(home); throw err; }
  try {
    if (c.setns(target, CLONE_NEWNET) !== 0) throw new BoundSocketError(`cannot enter network namespace ${netns} (needs root)`, ERRNO_NAMES[koffi.errno()] ?? 'ESETNS', koffi.errno());
    try { return fn(); } finally {
      if (c.setns(home, CLONE_NEWNET) !== 0) {
        // Staying in the wrong namespace would silently misplace every later socket: stop the process.
        process.stderr.write('fatal: could not return to the original network namespace\n');
        process.abort();
      }
    }
  } finally { closeSync(target); closeSync(home); }
}

/** Create, configure and bind the raw fd (synchronously). */
function openBoundFd(c: Libc, opts: UdpSocketOptions, netns: string | undefined): number {
  const fd = inNamespace(c, netns, () => c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd < 0) fail(c, 'socket', opts, netns);
  try {
    if (opts.reuseAddr && c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, intOpt(1), 4) !== 0) fail(c, 'setsockopt(SO_REUSEADDR)', opts, netns);
    if (opts.broadcast && c.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, intOpt(1), 4) !== 0) fail(c, 'setsockopt(SO_BROADCAST)', opts, netns);
    if (opts.interface !== undefined) {
      const name = Buffer.from(`${opts.interface}\0`, 'utf8');
      if (name.length > 16) throw new BoundSocketError(`interface name ${JSON.stringify(opts.interface)} is longer than 15 bytes`, 'EINVAL', 22);
      if (c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length) !== 0) fail(c, 'setsockopt(SO_BINDTODEVICE)', opts, netns);
    }
    const addr = sockaddrIn(opts.address ?? '0.0.0.0', opts.port);
    if (c.bind(fd, addr, addr.length) !== 0) fail(c, 'bind', opts, netns);
    return fd;
  } catch (err) {
    c.close(fd);
    throw err;
  }
}

/**
 * A factory of sockets confined to `options.interface` with SO_BINDTODEVICE (required: a bound factory
 * refuses to create an unconfined socket). `netns` creates the sockets inside that named namespace.
 * Rejects with BoundSocketError (code EACCES/EPERM, ENODEV naming the interface, EADDRINUSE …).
 */
export function createBoundUdpSocketFactory(factoryOptions: { netns?: string } = {}): UdpSocketFactory {
  return async (opts) => {
    if (!opts.interface) throw new BoundSocketError('an interface-bound socket needs options.interface', 'EINVAL', 22);
    const c = loadLibc();
    const fd = openBoundFd(c, opts, factoryOptions.netns);
    const socket = dgram.createSocket({ type: 'udp4', lookup: ipLiteralLookup });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ fd }, () => { socket.off('error', reject); resolve(); });
      });
    } catch (err) {
      try { socket.close(); } catch { c.close(fd); }
      throw err;
    }
    return socket;
  };
}
