// Reading a UDP socket's queue in batches (recvmmsg) while node's dgram keeps the socket.
//
// Node hands over one datagram per 'message' event, and each costs a recvmsg() plus node's own work for it (a 64 KiB
// receive buffer, an ArrayBuffer, a Buffer, the rinfo object, a call into JavaScript): in a DHCP storm on a 2-core
// machine that was ~10 % of the serving thread. A server busy enough to fall behind finds dozens of datagrams
// queued whenever one arrives; drain() reads them with one recvmmsg() into memory it owns and hands each over as a
// view, in arrival order, before node's next read (which then finds the queue empty). Node's path still takes the
// first datagram of every wake-up, so a quiet server reads as before. Linux only; the fd must be the socket's
// (bound-udp.ts creates it), which stays non-blocking and owned by dgram.
import type { RemoteInfo } from 'node:dgram';
import koffi from 'koffi';
import { loadLibc, type Libc } from './libc.ts';
import { intToIpv4 } from '../dhcp/ipv4.ts';

const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
/** struct mmsghdr on x86_64/aarch64: msghdr (56 bytes) + msg_len (4) + padding */
const MMSGHDR = 64;
const IOVEC = 16;
const SOCKADDR = 16;

export interface DatagramDrain {
  /**
   * Read what is queued on the socket now (at most `maxBatches` × slots datagrams) and call `onDatagram` for each, in
   * order; returns how many. `msg` is a view into the drain's memory, valid only during the call. A datagram larger
   * than a slot is skipped and counted in `truncated`. Never throws for an empty queue; throws for a broken socket.
   */
  drain(onDatagram: (msg: Buffer, from: RemoteInfo) => void, maxBatches?: number): number;
  /** datagrams skipped because they did not fit a slot */
  readonly truncated: number;
  close(): void;
}

/** A drain for the UDP socket `fd`: `slots` datagrams of at most `slotBytes` per recvmmsg(). */
export function openDatagramDrain(fd: number, slots = 32, slotBytes = 2048): DatagramDrain {
  return new Drain(loadLibc(), fd, slots, slotBytes);
}

class Drain implements DatagramDrain {
  truncated = 0;
  private readonly headers: unknown;
  private readonly data: unknown;
  private readonly hv: Buffer;
  private readonly dv: Buffer;
  private closed = false;

  constructor(private readonly c: Libc, private readonly fd: number, private readonly slots: number, private readonly slotBytes: number) {
    const headerBytes = slots * (MMSGHDR + IOVEC + SOCKADDR);
    this.headers = koffi.alloc('uint8_t', headerBytes);
    this.data = koffi.alloc('uint8_t', slots * slotBytes);
    this.hv = Buffer.from(koffi.view(this.headers, headerBytes));
    this.dv = Buffer.from(koffi.view(this.data, slots * slotBytes));
    this.hv.fill(0);
    const h = koffi.address(this.headers) as bigint;
    const d = koffi.address(this.data) as bigint;
    const iovAt = slots * MMSGHDR;
    const nameAt = iovAt + slots * IOVEC;
    for (let i = 0; i < slots; i++) {
      const m = i * MMSGHDR;
      this.hv.writeBigUInt64LE(h + BigInt(nameAt + i * SOCKADDR), m); // msg_name
      this.hv.writeUInt32LE(SOCKADDR, m + 8); // msg_namelen
      this.hv.writeBigUInt64LE(h + BigInt(iovAt + i * IOVEC), m + 16); // msg_iov
      this.hv.writeBigUInt64LE(1n, m + 24); // msg_iovlen
      this.hv.writeBigUInt64LE(d + BigInt(i * slotBytes), iovAt + i * IOVEC); // iov_base
      this.hv.writeBigUInt64LE(BigInt(slotBytes), iovAt + i * IOVEC + 8); // iov_len
    }
  }

  drain(onDatagram: (msg: Buffer, from: RemoteInfo) => void, maxBatches = 4): number {
    if (this.closed) return 0;
    let total = 0;
    for (let b = 0; b < maxBatches; b++) {
      const n = this.c.recvmmsg(this.fd, this.headers, this.slots, MSG_DONTWAIT, null);
      if (n <= 0) {
        if (n < 0) {
          const errno = koffi.errno();
          if (errno !== 11 && errno !== 4) throw new Error(`recvmmsg failed: ${this.c.strerror(errno)} (errno ${errno})`);
        }
        break;
      }
      const nameAt = this.slots * (MMSGHDR + IOVEC);
      for (let i = 0; i < n; i++) {
        const m = i * MMSGHDR;
        const len = this.hv.readUInt32LE(m + 56);
        // the name length is reset by the kernel on every call; restore it for the next
        this.hv.writeUInt32LE(SOCKADDR, m + 8);
        if (this.hv.readInt32LE(m + 48) & MSG_TRUNC) { this.truncated++; continue; }
        const a = nameAt + i * SOCKADDR;
        const from: RemoteInfo = { address: intToIpv4(this.hv.readUInt32BE(a + 4)), family: 'IPv4', port: this.hv.readUInt16BE(a + 2), size: len };
        total++;
        onDatagram(this.dv.subarray(i * this.slotBytes, i * this.slotBytes + len), from);
      }
      if (n < this.slots) break;
    }
    return total;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    koffi.free(this.headers);
    koffi.free(this.data);
  }
}
