// Link-layer replies (Linux packet sockets): a UDP datagram sent in an Ethernet frame to a MAC we choose, on one
// interface. A DHCP server needs this to answer a client that has no address yet the way RFC 2131 §4.1 asks —
// unicast to yiaddr at chaddr when the broadcast flag is clear — because a UDP socket would first ARP for yiaddr,
// which nobody answers. It is also the cheaper way to broadcast: a UDP broadcast from a socket is routed, and the
// kernel loops a copy of every broadcast back into its own IP stack; a frame on a packet socket goes to the
// interface's queue and nowhere else. ISC Kea ("dhcp-socket-type": "raw") and ISC dhcpd (LPF) answer the same way.
//
// The socket (AF_PACKET, SOCK_DGRAM, protocol 0) is bound to the interface and receives nothing; the kernel adds the
// Ethernet header (the interface's own MAC as source). Like SO_BINDTODEVICE it cannot leave by another interface.
// Needs CAP_NET_RAW, as SO_BINDTODEVICE does.
import koffi from 'koffi';
import { ipv4ToInt } from '../dhcp/ipv4.ts';
import { BoundSocketError, errnoName, inNamespace, loadLibc, type Libc } from './libc.ts';
import { SendBatch, type Unsent } from './send-batch.ts';

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_IP = 0x0800;
const ARPHRD_ETHER = 1;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const ENOBUFS = 105;
const IP_HEADER = 20;
const UDP_HEADER = 8;
/** largest UDP payload a frame on a 1500-byte link takes; larger replies go by the UDP socket (and fragment) */
const MAX_PAYLOAD = 1500 - IP_HEADER - UDP_HEADER;

export const BROADCAST_MAC: Uint8Array = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export interface LinkLayerOptions {
  /** the interface to send on (in the factory's namespace) */
  interface: string;
  /** IPv4 source of every datagram: the server's address on that interface */
  sourceIp: string;
  sourcePort: number;
}

export interface LinkLayerSender {
  /**
   * Send `payload` as one UDP datagram from sourceIp:sourcePort to `ip`:`port` in an Ethernet frame to `mac` (6 bytes).
   * true: handed to the interface. false: not sent, and the caller should send it another way — the socket's buffer is
   * full, or the payload does not fit in one frame. Throws BoundSocketError for anything else (interface gone or down).
   */
  send(payload: Uint8Array, ip: string, port: number, mac: Uint8Array): boolean;
  /**
   * Queue a datagram as send() would send it, for the next flush() (one sendmmsg for the batch). false: not queued —
   * the batch is full (flush first) or the payload does not fit in one frame.
   */
  queue(payload: Uint8Array, ip: string, port: number, mac: Uint8Array): boolean;
  /** Send what is queued; null when all of it went, else the first message not sent and why (send-batch.ts). */
  flush(): Unsent | null;
  /** messages queued and not yet flushed */
  readonly queued: number;
  close(): void;
}

/** Opens link-layer senders: offered by a socket factory that can confine sockets to an interface (bound-udp.ts). */
export type LinkLayerSenderFactory = (opts: LinkLayerOptions) => Promise<LinkLayerSender>;

/** RFC 1071 sum of `len` bytes at `at`, added to `initial` (not folded). */
function sum16(b: Buffer, at: number, len: number, initial: number): number {
  let s = initial;
  const end = at + (len & ~1);
  for (let i = at; i < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if (len & 1) s += b[at + len - 1] << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/**
 * Write the IPv4 and UDP headers of a frame at `frame[at…]` for `payloadLength` bytes already at `frame[at + 28…]`,
 * with both checksums. Exported for the unit test; `id` is the IPv4 identification.
 */
export function writeIpUdpHeaders(frame: Buffer, at: number, payloadLength: number, src: number, dst: number, srcPort: number, dstPort: number, id: number): void {
  const udpLength = UDP_HEADER + payloadLength;
  frame[at] = 0x45; // IPv4, 20-byte header
  frame[at + 1] = 0;
  frame.writeUInt16BE(IP_HEADER + udpLength, at + 2);
  frame.writeUInt16BE(id & 0xffff, at + 4);
  frame.writeUInt16BE(0, at + 6); // no fragment flags: a DHCP reply is one datagram
  frame[at + 8] = 64; // TTL
  frame[at + 9] = 17; // UDP
  frame.writeUInt16BE(0, at + 10);
  frame.writeUInt32BE(src >>> 0, at + 12);
  frame.writeUInt32BE(dst >>> 0, at + 16);
  frame.writeUInt16BE(~fold(sum16(frame, at, IP_HEADER, 0)) & 0xffff, at + 10);
  const udp = at + IP_HEADER;
  frame.writeUInt16BE(srcPort, udp);
  frame.writeUInt16BE(dstPort, udp + 2);
  frame.writeUInt16BE(udpLength, udp + 4);
  frame.writeUInt16BE(0, udp + 6);
  // pseudo-header (RFC 768): source, destination, protocol, UDP length
  const pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 17 + udpLength;
  const sum = ~fold(sum16(frame, udp, udpLength, pseudo)) & 0xffff;
  frame.writeUInt16BE(sum === 0 ? 0xffff : sum, udp + 6); // 0 would mean "no checksum"
}

/** Frames queued per sendmmsg */
const BATCH_SLOTS = 64;

/** Open a sender on `opts.interface`, inside network namespace `netns` when given (as bound-udp.ts does). */
export function openLinkLayerSender(opts: LinkLayerOptions & { netns?: string }): LinkLayerSender {
  const c = loadLibc();
  const failWith = (what: string): never => {
    const errno = koffi.errno();
    const code = errnoName(errno);
    const hint = code === 'EPERM' || code === 'EACCES' ? ': packet sockets need root or CAP_NET_RAW' : code === 'ENODEV' ? `: interface ${JSON.stringify(opts.interface)} does not exist` : '';
    throw new BoundSocketError(`${what} failed with ${code} (${c.strerror(errno)})${hint}`, code, errno);
  };
  const { fd, ifindex } = inNamespace(c, opts.netns, () => ({ fd: c.socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ifindex: c.if_nametoindex(opts.interface) }));
  if (fd < 0) failWith('socket(AF_PACKET)');
  if (!ifindex) {
    c.close(fd);
    throw new BoundSocketError(`interface ${JSON.stringify(opts.interface)} does not exist${opts.netns ? ` in namespace ${opts.netns}` : ''}`, 'ENODEV', 19);
  }
  // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]
  const sll = Buffer.alloc(20);
  sll.writeUInt16LE(AF_PACKET, 0);
  sll.writeUInt16BE(0, 2); // protocol 0 while bound: this socket receives nothing
  sll.writeInt32LE(ifindex, 4);
  if (c.bind(fd, sll, sll.length) !== 0) { c.close(fd); failWith('bind(AF_PACKET)'); }
  sll.writeUInt16BE(ETH_P_IP, 2);
  sll.writeUInt16LE(ARPHRD_ETHER, 8);
  sll[11] = 6;
  return new PacketSender(c, fd, sll, ipv4ToInt(opts.sourceIp), opts.sourcePort, opts.interface);
}

class PacketSender implements LinkLayerSender {
  private readonly frame = Buffer.alloc(IP_HEADER + UDP_HEADER + MAX_PAYLOAD);
  private readonly batch: SendBatch;
  private id = 0;
  private closed = false;

  constructor(private readonly c: Libc, private readonly fd: number, private readonly sll: Buffer, private readonly src: number, private readonly srcPort: number, private readonly iface: string) {
    this.batch = new SendBatch(fd, BATCH_SLOTS, IP_HEADER + UDP_HEADER + MAX_PAYLOAD, c);
  }

  get queued(): number { return this.batch.queued; }

  queue(payload: Uint8Array, ip: string, port: number, mac: Uint8Array): boolean {
    if (this.closed || payload.length > MAX_PAYLOAD) return false;
    const b = this.batch;
    const i = b.reserve();
    if (i < 0) return false;
    const at = b.dataOffset(i);
    b.bytes.set(payload, at + IP_HEADER + UDP_HEADER);
    this.id = (this.id + 1) & 0xffff;
    writeIpUdpHeaders(b.bytes, at, payload.length, this.src, ipv4ToInt(ip), this.srcPort, port, this.id);
    const name = b.nameOffset(i);
    this.sll.copy(b.names, name, 0, 20);
    b.names.set(mac.subarray(0, 6), name + 12);
    b.commit(20, IP_HEADER + UDP_HEADER + payload.length);
    return true;
  }

  flush(): Unsent | null {
    return this.batch.flush();
  }

  send(payload: Uint8Array, ip: string, port: number, mac: Uint8Array): boolean {
    if (this.closed) throw new BoundSocketError('link-layer sender is closed', 'EBADF', 9);
    if (payload.length > MAX_PAYLOAD) return false;
    const f = this.frame;
    f.set(payload, IP_HEADER + UDP_HEADER);
    this.id = (this.id + 1) & 0xffff;
    writeIpUdpHeaders(f, 0, payload.length, this.src, ipv4ToInt(ip), this.srcPort, port, this.id);
    this.sll.set(mac.subarray(0, 6), 12);
    const len = IP_HEADER + UDP_HEADER + payload.length;
    if (this.c.sendto(this.fd, f, len, MSG_DONTWAIT, this.sll, 20) === len) return true;
    const errno = koffi.errno();
    if (errno === EAGAIN || errno === ENOBUFS) return false;
    throw new BoundSocketError(`sending a frame on ${this.iface} failed with ${errnoName(errno)} (${this.c.strerror(errno)})`, errnoName(errno), errno);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.batch.close();
    this.c.close(this.fd);
  }
}
