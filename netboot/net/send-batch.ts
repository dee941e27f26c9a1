// Sending a turn's datagrams in one system call (sendmmsg).
//
// A DHCP server under load answers dozens of requests per event-loop turn. Sending each reply alone costs a system
// call (and, through node's dgram, a send request object, an address lookup and a completion callback per reply).
// A SendBatch keeps up to `slots` messages — each its own destination (sockaddr) and bytes — in memory it owns, and
// flush() hands them all to the kernel with sendmmsg(). Used for both the UDP socket (sockaddr_in) and the
// link-layer packet socket (sockaddr_ll, frames written by link-layer.ts). Linux only.
import koffi from 'koffi';
import { loadLibc, type Libc } from './libc.ts';
import { ipv4ToInt } from '../dhcp/ipv4.ts';

const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const ENOBUFS = 105;
const EINTR = 4;
/** struct mmsghdr on x86_64/aarch64: msghdr (56 bytes) + msg_len (4) + padding */
const MMSGHDR = 64;
const IOVEC = 16;
/** room for a sockaddr_in (16) or sockaddr_ll (20) */
const NAME = 24;

/** What flush() could not hand to the kernel: messages [from, queued), and why (errno). */
export interface Unsent { from: number; errno: number }

export class SendBatch {
  private readonly headers: unknown;
  private readonly data: unknown;
  /** the headers' memory: a slot's destination is NAME bytes at nameOffset(i) */
  readonly names: Buffer;
  /** the messages' memory: a slot's bytes are slotBytes at dataOffset(i) */
  readonly bytes: Buffer;
  private readonly hv: Buffer;
  private readonly vec: bigint;
  private readonly nameBase: number;
  private count = 0;
  private closed = false;

  /** `slotBytes`: the largest message. */
  constructor(private readonly fd: number, readonly slots: number, readonly slotBytes: number, private readonly c: Libc = loadLibc()) {
    const headerBytes = slots * (MMSGHDR + IOVEC + NAME);
    this.headers = koffi.alloc('uint8_t', headerBytes);
    this.data = koffi.alloc('uint8_t', slots * slotBytes);
    this.hv = this.names = Buffer.from(koffi.view(this.headers, headerBytes));
    this.bytes = Buffer.from(koffi.view(this.data, slots * slotBytes));
    this.hv.fill(0);
    this.nameBase = slots * (MMSGHDR + IOVEC);
    this.vec = koffi.address(this.headers) as bigint;
    const d = koffi.address(this.data) as bigint;
    const iovAt = slots * MMSGHDR;
    const nameAt = iovAt + slots * IOVEC;
    for (let i = 0; i < slots; i++) {
      const m = i * MMSGHDR;
      this.hv.writeBigUInt64LE(this.vec + BigInt(nameAt + i * NAME), m); // msg_name
      this.hv.writeBigUInt64LE(this.vec + BigInt(iovAt + i * IOVEC), m + 16); // msg_iov
      this.hv.writeBigUInt64LE(1n, m + 24); // msg_iovlen
      this.hv.writeBigUInt64LE(d + BigInt(i * slotBytes), iovAt + i * IOVEC); // iov_base
    }
  }

  /** Messages queued and not yet flushed. */
  get queued(): number { return this.count; }
  get full(): boolean { return this.count >= this.slots; }

  /** The next free slot's index, or -1 when the batch is full (or closed). Fill its name and bytes, then commit(). */
  reserve(): number {
    return this.closed || this.count >= this.slots ? -1 : this.count;
  }

  nameOffset(i: number): number { return this.nameBase + i * NAME; }
  dataOffset(i: number): number { return i * this.slotBytes; }

  /** Queue the slot reserve() gave, with `nameLength` bytes of destination and `length` bytes of message. */
  commit(nameLength: number, length: number): void {
    const i = this.count++;
    this.hv.writeUInt32LE(nameLength, i * MMSGHDR + 8); // msg_namelen
    this.hv.writeBigUInt64LE(BigInt(length), this.slots * MMSGHDR + i * IOVEC + 8); // iov_len
  }

  /**
   * Send everything queued (sendmmsg, not blocking) and empty the batch. null when all went; otherwise the first
   * message not sent and the errno: EAGAIN/ENOBUFS when the socket's buffer is full, anything else for a broken socket.
   */
  flush(): Unsent | null {
    const n = this.count;
    this.count = 0;
    let k = 0;
    while (k < n) {
      const r = this.c.sendmmsg(this.fd, this.vec + BigInt(k * MMSGHDR), n - k, MSG_DONTWAIT);
      if (r > 0) { k += r; continue; }
      const errno = r < 0 ? koffi.errno() : EAGAIN;
      if (errno === EINTR) continue;
      return { from: k, errno };
    }
    return null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.count = 0;
    koffi.free(this.headers);
    koffi.free(this.data);
  }
}

/** Did a flush stop because the socket's buffer was full (try again, or send otherwise), not because it is broken? */
export function bufferFull(errno: number): boolean {
  return errno === EAGAIN || errno === ENOBUFS;
}

/** A batch of UDP datagrams to send through one socket (its fd), each to its own address. */
export interface UdpSendBatch {
  /** Queue `payload` for `ip`:`port`; false when the batch is full (flush first) or the payload does not fit a slot. */
  queue(payload: Uint8Array, ip: string, port: number): boolean;
  flush(): Unsent | null;
  readonly queued: number;
  close(): void;
}

/** A UdpSendBatch on the UDP socket `fd` (IPv4): `slots` datagrams of at most `slotBytes` per sendmmsg. */
export function openUdpSendBatch(fd: number, slots = 64, slotBytes = 2048): UdpSendBatch {
  const b = new SendBatch(fd, slots, slotBytes);
  return {
    queue(payload, ip, port) {
      if (payload.length > slotBytes) return false;
      const i = b.reserve();
      if (i < 0) return false;
      const name = b.nameOffset(i);
      b.names.writeUInt16LE(2, name); // AF_INET
      b.names.writeUInt16BE(port, name + 2);
      b.names.writeUInt32BE(ipv4ToInt(ip), name + 4);
      b.bytes.set(payload, b.dataOffset(i));
      b.commit(16, payload.length);
      return true;
    },
    flush: () => b.flush(),
    get queued() { return b.queued; },
    close: () => b.close(),
  };
}
