// UDP generic segmentation offload (Linux UDP_SEGMENT, since 4.18) for a node:dgram socket: one sendmsg of a
// buffer holding k equal-sized datagrams (the last may be shorter) leaves the socket as k separate datagrams.
// A TFTP window is exactly that — DATA packets of 4 + blksize bytes, only the last block shorter — so a window
// costs one syscall and one trip through the IP stack instead of one per block. The receiver sees ordinary
// datagrams (the kernel segments before the wire, or at the receiving socket on veth/loopback).
import type { Socket } from 'node:dgram';
import { tryLoadLibc } from '../../net/libc.ts';
import { socketFd } from './socket-fd.ts';

const SOL_UDP = 17;
const UDP_SEGMENT = 103;
/** the kernel's UDP_MAX_SEGMENTS */
export const GSO_MAX_SEGMENTS = 64;
/** largest UDP payload of one send (IPv4: 65535 − 20 − 8) */
export const GSO_MAX_BYTES = 65507;

/**
 * Turn on UDP_SEGMENT with `segmentBytes` per datagram for every later send on `socket` that is larger than
 * that (smaller sends are unaffected). Returns false — and changes nothing — when the platform, node or the
 * kernel cannot; the caller then sends datagram by datagram. A send may still fail later (EIO when the outgoing
 * device cannot checksum, EINVAL when a segment exceeds the path MTU): callers must fall back on a send error.
 */
export function enableUdpGso(socket: Socket, segmentBytes: number): boolean {
  if (process.env.RACKSEED_TFTP_NO_GSO === '1') return false;
  const c = tryLoadLibc();
  const fd = c ? socketFd(socket) : null;
  if (!c || fd === null) return false;
  const v = Buffer.alloc(4);
  v.writeInt32LE(segmentBytes, 0);
  return c.setsockopt(fd, SOL_UDP, UDP_SEGMENT, v, 4) === 0;
}
