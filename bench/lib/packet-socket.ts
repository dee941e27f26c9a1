// A Linux packet socket (AF_PACKET, SOCK_RAW) for the same-segment DHCP load generator: whole Ethernet frames out,
// whole frames in, as dhclient (LPF) and udhcpc do — the only way a client without an address can take a reply
// unicast to an address it does not have yet, at a MAC that is not its interface's. Driven synchronously through
// koffi (libc): the generator runs its own poll() loop, nothing else runs in its process.
import koffi from 'koffi';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_IP_BE = 0x0008; // htons(0x0800) on a little-endian machine
const SOL_SOCKET = 1;
const SO_RCVBUFFORCE = 33;
const SO_SNDBUFFORCE = 32;
const SO_ATTACH_FILTER = 26;
const SOL_PACKET = 263;
const PACKET_ADD_MEMBERSHIP = 1;
const PACKET_MR_PROMISC = 1;
const MSG_DONTWAIT = 0x40;
const POLLIN = 1;
const EAGAIN = 11;
const EINTR = 4;

/** `tcpdump -dd 'ip and udp dst port 68'`: IPv4 (unfragmented) UDP to port 68, whole frame. */
const FILTER_UDP_DST_68: Array<[number, number, number, number]> = [
  [0x28, 0, 0, 0x0000000c], [0x15, 0, 8, 0x00000800], [0x30, 0, 0, 0x00000017], [0x15, 0, 6, 0x00000011],
  [0x28, 0, 0, 0x00000014], [0x45, 4, 0, 0x00001fff], [0xb1, 0, 0, 0x0000000e], [0x48, 0, 0, 0x00000010],
  [0x15, 0, 1, 0x00000044], [0x06, 0, 0, 0x00040000], [0x06, 0, 0, 0x00000000],
];

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  setsockoptProg(fd: number, level: number, name: number, value: { len: number; filter: Buffer }, len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  poll(fds: Buffer, n: number, timeoutMs: number): number;
  close(fd: number): number;
  if_nametoindex(name: string): number;
  strerror(errnum: number): string;
}

let libc: Libc | null = null;
function load(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  const fprog = koffi.struct('rs_sock_fprog', { len: 'uint16_t', filter: 'void *' });
  libc = {
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    setsockoptProg: lib.func('setsockopt', 'int', ['int', 'int', 'int', koffi.pointer(fprog), 'uint32_t']),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    send: lib.func('long send(int, const void *, unsigned long, int)'),
    recv: lib.func('long recv(int, void *, unsigned long, int)'),
    poll: lib.func('int poll(void *, unsigned long, int)'),
    close: lib.func('int close(int)'),
    if_nametoindex: lib.func('unsigned int if_nametoindex(const char *)'),
    strerror: lib.func('const char *strerror(int)'),
  };
  return libc;
}

function check(c: Libc, r: number, what: string): void {
  if (r < 0) { const e = koffi.errno(); throw new Error(`${what} failed: ${c.strerror(e)} (errno ${e})`); }
}

function int32(v: number): Buffer { const b = Buffer.alloc(4); b.writeInt32LE(v); return b; }

export class PacketSocket {
  private readonly pfd = Buffer.alloc(8);

  private constructor(private readonly c: Libc, private readonly fd: number) {
    this.pfd.writeInt32LE(fd, 0);
    this.pfd.writeInt16LE(POLLIN, 4);
  }

  /**
   * Open on `ifname` (of this process's namespace): non-blocking, receiving only IPv4 UDP frames to port 68 (in
   * promiscuous mode, so frames to any MAC), with `bufferBytes` of receive and send buffer.
   */
  static open(ifname: string, bufferBytes = 8 << 20): PacketSocket {
    const c = load();
    const ifindex = c.if_nametoindex(ifname);
    if (!ifindex) throw new Error(`no interface ${ifname}`);
    // protocol 0 first: nothing is queued until the filter is on and the socket bound to the interface
    const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    check(c, fd, 'socket(AF_PACKET)');
    try {
      const prog = Buffer.alloc(8 * FILTER_UDP_DST_68.length);
      FILTER_UDP_DST_68.forEach(([code, jt, jf, k], i) => { prog.writeUInt16LE(code, i * 8); prog[i * 8 + 2] = jt; prog[i * 8 + 3] = jf; prog.writeUInt32LE(k, i * 8 + 4); });
      check(c, c.setsockoptProg(fd, SOL_SOCKET, SO_ATTACH_FILTER, { len: FILTER_UDP_DST_68.length, filter: prog }, 16), 'SO_ATTACH_FILTER');
      check(c, c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, int32(bufferBytes), 4), 'SO_RCVBUFFORCE');
      check(c, c.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, int32(bufferBytes), 4), 'SO_SNDBUFFORCE');
      const sll = Buffer.alloc(20);
      sll.writeUInt16LE(AF_PACKET, 0);
      sll.writeUInt16LE(ETH_P_IP_BE, 2);
      sll.writeInt32LE(ifindex, 4);
      check(c, c.bind(fd, sll, sll.length), 'bind(AF_PACKET)');
      const mreq = Buffer.alloc(16);
      mreq.writeInt32LE(ifindex, 0);
      mreq.writeUInt16LE(PACKET_MR_PROMISC, 4);
      check(c, c.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq, mreq.length), 'PACKET_ADD_MEMBERSHIP');
    } catch (err) {
      c.close(fd);
      throw err;
    }
    return new PacketSocket(c, fd);
  }

  /** Send one whole frame; false when the socket's buffer is full (the caller counts it as lost and retransmits). */
  send(frame: Buffer, len = frame.length): boolean {
    const r = this.c.send(this.fd, frame, len, MSG_DONTWAIT);
    if (r >= 0) return true;
    const e = koffi.errno();
    if (e === EAGAIN || e === 105 /* ENOBUFS */) return false;
    throw new Error(`send(AF_PACKET) failed: ${this.c.strerror(e)}`);
  }

  /** One frame into `buf`; its length, or -1 when nothing is waiting. */
  recv(buf: Buffer): number {
    const r = this.c.recv(this.fd, buf, buf.length, MSG_DONTWAIT);
    if (r >= 0) return r;
    const e = koffi.errno();
    if (e === EAGAIN || e === EINTR) return -1;
    throw new Error(`recv(AF_PACKET) failed: ${this.c.strerror(e)}`);
  }

  /** Block up to `timeoutMs` until a frame is waiting; true when one is. */
  wait(timeoutMs: number): boolean {
    const r = this.c.poll(this.pfd, 1, Math.max(0, Math.ceil(timeoutMs)));
    return r > 0;
  }

  close(): void {
    this.c.close(this.fd);
  }
}
