// The 1,000-node hall's clients (bench/hall.ts): N simulated PXE machines on the provisioning segment, arriving
// evenly over `arrivalMs`, each doing what a real node does against `rackseed serve`, in order:
//   1. iPXE's DHCP: DISCOVER/REQUEST broadcast from 0.0.0.0:68 in frames from the node's own MAC (option 60
//      PXEClient, 77 iPXE, 93 arch, 97 UUID), reply taken broadcast or unicast to yiaddr at chaddr (RFC 2131 §4.1);
//   2. the leased address is added to this namespace's NIC, and every HTTP request below goes out from it;
//   3. GET the boot file URL from the ACK (boot.ipxe; iPXE's chain-self answer is followed with ${net0/mac}, the
//      UUID and serial filled in as iPXE would), then the discovery script it returns;
//   4. range requests on the script's kernel and initrd (the first 64 KiB and the last 4 KiB of each: 206 and the
//      right Content-Range are checked);
//   5. the agent's own DHCP (udhcpc: no PXE options) from the same MAC, which must renew the same address;
//   6. POST /agent/v1/inventory with the token from the kernel command line (agent/ramdisk/rackseed-agent.sh,
//      shared/inventory.ts), then GET /agent/v1/next once (wait, poweroff or reboot).
// Run inside the client namespace: ip netns exec NS node --import tsx bench/lib/hall-clients.ts '<HallClientsConfig>'.
// Prints one JSON line: HallClientsResult. DHCP frames go through one packet socket polled from the event loop.
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { DhcpOptions } from '../../netboot/dhcp/options.ts';
import { decodePacket, encodePacket, newPacket, FLAG_BROADCAST } from '../../netboot/dhcp/packet.ts';
import { ipv4HeaderChecksum, parseReplyFrame } from './dhcp-local-wire.ts';
import { PacketSocket } from './packet-socket.ts';

export interface HallClientsConfig {
  interface: string;
  clients: number;
  arrivalMs: number;
  /** prefix length for the leased addresses on `interface` */
  prefixLen: number;
  /** second byte of every MAC (keeps runs apart) */
  run: number;
}

export interface ClientOutcome {
  mac: string;
  ip: string | null;
  ok: boolean;
  error?: string;
  /** ms from arrival to the inventory accepted */
  ms: number;
  step: string;
}

export interface HallClientsResult {
  clients: number;
  ok: number;
  failed: number;
  firstErrors: string[];
  /** ms from the first arrival to the last inventory accepted */
  spanMs: number;
  latency: { p50: number; p99: number; max: number };
  retransmits: number;
  httpRequests: number;
  outcomes: ClientOutcome[];
}

const ETH = 14;
const IPH = 20;
const UDPH = 8;
const exec = promisify(execFile);

function macBytes(run: number, i: number): Buffer {
  return Buffer.from([0x02, run & 255, 0x4a, (i >>> 16) & 255, (i >>> 8) & 255, i & 255]);
}
const macText = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

function uuidOf(mac: Buffer): string {
  const h = `5e11${mac.toString('hex')}`.padEnd(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A DHCP request in a broadcast Ethernet frame from `mac`, 0.0.0.0:68 → 255.255.255.255:67. */
function frameOf(payload: Buffer, mac: Buffer): Buffer {
  const f = Buffer.alloc(ETH + IPH + UDPH + payload.length);
  f.fill(0xff, 0, 6);
  mac.copy(f, 6);
  f[12] = 0x08; f[13] = 0x00;
  f[ETH] = 0x45;
  f.writeUInt16BE(IPH + UDPH + payload.length, ETH + 2);
  f[ETH + 8] = 64; f[ETH + 9] = 17;
  f.writeUInt32BE(0xffffffff, ETH + 16);
  f.writeUInt16BE(ipv4HeaderChecksum(f, ETH), ETH + 10);
  const u = ETH + IPH;
  f.writeUInt16BE(68, u); f.writeUInt16BE(67, u + 2); f.writeUInt16BE(UDPH + payload.length, u + 4);
  payload.copy(f, u + UDPH);
  return f;
}

type Kind = 'ipxe' | 'udhcpc';

function dhcpRequest(kind: Kind, type: 1 | 3, xid: number, mac: Buffer, uuid: string, offer?: { ip: string; server: string }): Buffer {
  const chaddr = Buffer.alloc(16);
  mac.copy(chaddr);
  const o = new DhcpOptions();
  o.messageType = type;
  if (kind === 'ipxe') {
    o.vendorClass = 'PXEClient:Arch:00000:UNDI:002001';
    o.setRaw(77, Buffer.from('iPXE'));
    o.setRaw(93, Buffer.from([0, 0]));
    o.setRaw(94, Buffer.from([1, 2, 1]));
    o.setRaw(97, Buffer.concat([Buffer.from([0]), Buffer.from(uuid.replace(/-/g, ''), 'hex')]));
    o.maxMessageSize = 1472;
    o.parameterRequestList = [1, 3, 6, 7, 12, 15, 17, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203];
  } else {
    o.vendorClass = 'udhcp 1.35.0';
    o.clientId = Buffer.concat([Buffer.from([1]), mac]);
    o.parameterRequestList = [1, 3, 6, 12, 15, 28, 42];
  }
  if (offer) { o.requestedIp = offer.ip; o.serverId = offer.server; }
  const p = newPacket({ op: 1, htype: 1, hlen: 6, xid, flags: kind === 'ipxe' ? FLAG_BROADCAST : 0, chaddr, options: o });
  return encodePacket(p);
}

interface Reply { type: number | null; yiaddr: string; server: string | null; file: string; bootfile: string | null }

/** Packet socket polled from the event loop; replies are matched to waiters by xid. */
class DhcpWire {
  private readonly waiters = new Map<number, (r: Reply) => void>();
  private readonly rx = Buffer.alloc(4096);
  private readonly timer: NodeJS.Timeout;
  retransmits = 0;
  constructor(private readonly sock: PacketSocket) {
    this.timer = setInterval(() => this.drain(), 2);
  }
  private drain(): void {
    for (let len = this.sock.recv(this.rx); len >= 0; len = this.sock.recv(this.rx)) {
      const f = parseReplyFrame(this.rx, len);
      if (!f) continue;
      try {
        const p = decodePacket(this.rx.subarray(f.payloadAt, f.payloadEnd));
        if (p.op !== 2) continue;
        const w = this.waiters.get(p.xid);
        if (!w) continue;
        const bootfile = p.options.getRaw(67);
        w({ type: p.options.messageType, yiaddr: p.yiaddr, server: p.options.serverId, file: p.file, bootfile: bootfile ? bootfile.toString('latin1').replace(/\0+$/, '') : null });
      } catch { /* not ours */ }
    }
  }
  /** send `frame` until a reply with `xid` of one of `types` arrives: 4 s apart, at most 8 tries */
  async exchange(frame: Buffer, xid: number, types: number[]): Promise<Reply> {
    for (let attempt = 0; attempt < 8; attempt++) {
      if (attempt > 0) this.retransmits++;
      const got = new Promise<Reply | null>((resolve) => {
        const t = setTimeout(() => { this.waiters.delete(xid); resolve(null); }, 4000);
        this.waiters.set(xid, (r) => { if (r.type !== null && types.includes(r.type)) { clearTimeout(t); this.waiters.delete(xid); resolve(r); } });
      });
      this.sock.send(frame);
      const r = await got;
      if (r) return r;
    }
    throw new Error(`no DHCP reply (xid ${xid.toString(16)}) after 8 tries`);
  }
  close(): void { clearInterval(this.timer); this.sock.close(); }
}

async function dora(wire: DhcpWire, kind: Kind, xid: number, mac: Buffer, uuid: string): Promise<Reply> {
  const offer = await wire.exchange(frameOf(dhcpRequest(kind, 1, xid, mac, uuid), mac), xid, [2]);
  if (!offer.server) throw new Error('OFFER without a server identifier');
  const ack = await wire.exchange(frameOf(dhcpRequest(kind, 3, xid, mac, uuid, { ip: offer.yiaddr, server: offer.server }), mac), xid, [5, 6]);
  if (ack.type !== 5) throw new Error(`${kind} REQUEST for ${offer.yiaddr} was NAKed`);
  return ack;
}

let httpRequests = 0;

interface HttpAnswer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

function http(url: string, from: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpAnswer> {
  httpRequests++;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, localAddress: from, timeout: 30_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${opts.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** iPXE's settings expansion for the variables RackSeed's scripts use. */
function expand(s: string, v: Record<string, string>): string {
  return s.replace(/\$\{([^}:]+)(?::[a-z]+)?\}/g, (_m, name: string) => v[name] ?? '');
}

/** Kernel URL, initrd URL and the kernel's arguments from the discovery script; the chain target when it only chains. */
function readScript(text: string, vars: Record<string, string>): { chain: string | null; kernel: string | null; initrd: string | null; args: string[] } {
  let chain: string | null = null;
  let kernel: string | null = null;
  let initrd: string | null = null;
  let args: string[] = [];
  for (const raw of text.split('\n')) {
    const line = expand(raw.trim(), vars).split(/\s+\|\|\s+/)[0]!;
    const words = line.split(/\s+/);
    const cmd = words[0];
    const at = words.findIndex((w, k) => k > 0 && w.startsWith('http'));
    if (at < 0) continue;
    const url = words[at]!;
    if ((cmd === 'chain' || cmd === 'chainload') && !kernel) chain ??= url;
    if (cmd === 'kernel' || cmd === 'imgexec') { kernel = url; args = words.slice(at + 1); }
    if (cmd === 'initrd' || cmd === 'module') initrd = url;
  }
  return { chain, kernel, initrd, args };
}

async function rangeCheck(url: string, from: string): Promise<void> {
  const first = await http(url, from, { headers: { range: 'bytes=0-65535' } });
  if (first.status !== 206) throw new Error(`GET ${url} bytes=0-65535: ${first.status}, not 206`);
  const cr = /^bytes 0-(\d+)\/(\d+)$/.exec(String(first.headers['content-range'] ?? ''));
  if (!cr) throw new Error(`GET ${url}: Content-Range ${String(first.headers['content-range'])}`);
  const size = Number(cr[2]);
  if (first.body.length !== Math.min(65536, size)) throw new Error(`GET ${url}: ${first.body.length} bytes for 0-65535`);
  const last = await http(url, from, { headers: { range: `bytes=${Math.max(0, size - 4096)}-` } });
  if (last.status !== 206 || last.body.length !== Math.min(4096, size)) throw new Error(`GET ${url} last 4 KiB: ${last.status}, ${last.body.length} bytes`);
}

function inventoryOf(i: number, mac: string, ip: string, uuid: string, nodeId: string | null): object {
  const serial = `HALL${String(i).padStart(6, '0')}`;
  const hw = (v: string): string => v;
  return {
    schemaVersion: 1, agentVersion: '1', nodeId, bootMac: mac, bootMode: i % 3 === 0 ? 'uefi' : 'bios', kernel: '6.1.0-57-amd64',
    cpu: { model: hw('Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz'), arch: 'x86_64', sockets: 2, cores: 64, threads: 128, mhz: 2000 },
    memory: { totalBytes: 512 * 2 ** 30, usableBytes: 503 * 2 ** 30 },
    disks: [0, 1].map((d) => ({ name: `nvme${d}n1`, sizeBytes: 3_840_755_982_336, model: 'SAMSUNG MZQL23T8HCLS-00A07', vendor: null, serial: `S64H${i}N${d}`, wwn: `eui.0025385${String(i).padStart(5, '0')}${d}`, rotational: false, bus: 'nvme' })),
    nics: [
      { name: 'eno1', mac, driver: 'ice', link: true, speedMbps: 25000, ipv4: ip },
      { name: 'eno2', mac: mac.replace(/^02/, '06'), driver: 'ice', link: false, speedMbps: null, ipv4: null },
    ],
    bmc: { guid: uuid, ipmiVersion: '2.0', manufacturerId: '0x002a7c', productId: '0x1b56', firmwareRevision: '1.73' },
    dmi: {
      system: { vendor: 'Supermicro', product: 'SYS-120U-TNR', version: '0123456789', serial, uuid, sku: null, family: null },
      board: { vendor: 'Supermicro', product: 'X12DPU-6', version: '1.02', serial: `B${serial}`, assetTag: null },
      chassis: { vendor: 'Supermicro', type: 23, version: null, serial: `C${serial}`, assetTag: null },
      bios: { vendor: 'American Megatrends International, LLC.', version: '1.4', date: '06/23/2022' },
    },
  };
}

async function oneNode(wire: DhcpWire, cfg: HallClientsConfig, i: number): Promise<ClientOutcome> {
  const macB = macBytes(cfg.run, i);
  const mac = macText(macB);
  const uuid = uuidOf(macB);
  const t0 = performance.now();
  let step = 'dhcp';
  let ip: string | null = null;
  try {
    const ack = await dora(wire, 'ipxe', ((cfg.run & 0x7f) << 24 | i << 1) >>> 0, macB, uuid);
    ip = ack.yiaddr;
    step = 'address';
    await exec('ip', ['addr', 'add', `${ip}/${cfg.prefixLen}`, 'dev', cfg.interface]);
    const bootUrl = ack.bootfile ?? ack.file;
    if (!bootUrl.startsWith('http://')) throw new Error(`iPXE's ACK names no HTTP boot script (file "${bootUrl}")`);
    const vars: Record<string, string> = {
      'net0/mac': mac, 'net0/ip': ip, mac, ip, uuid, serial: `HALL${String(i).padStart(6, '0')}`, 'smbios/uuid': uuid, 'smbios/serial': `HALL${String(i).padStart(6, '0')}`,
      platform: 'pcbios', buildarch: 'i386', chip: 'undionly', 'net0/chip': 'undionly', manufacturer: 'Supermicro', product: 'SYS-120U-TNR', asset: '', hostname: '',
    };
    step = 'script';
    let url = bootUrl;
    let script: ReturnType<typeof readScript> | null = null;
    for (let hop = 0; hop < 4; hop++) {
      const r = await http(url, ip);
      if (r.status !== 200) throw new Error(`GET ${url}: ${r.status}`);
      script = readScript(r.body.toString('utf8'), vars);
      if (script.kernel || !script.chain) break;
      url = script.chain;
    }
    if (!script?.kernel || !script.initrd) throw new Error(`no kernel/initrd in the script from ${url}`);
    step = 'kernel';
    await rangeCheck(script.kernel, ip);
    step = 'initrd';
    await rangeCheck(script.initrd, ip);
    const arg = (k: string): string | null => script!.args.find((a) => a.startsWith(`${k}=`))?.slice(k.length + 1) ?? null;
    let base = arg('rackseed.url');
    if (!base) { const cb = arg('rackseed.callback'); base = cb ? cb.replace(/\/$/, '').replace(/\/agent\/v1$/, '') : null; }
    const token = arg('rackseed.token');
    if (!base || !token) throw new Error('no rackseed.url/rackseed.token on the kernel command line');
    step = 'agent-dhcp';
    const again = await dora(wire, 'udhcpc', ((cfg.run & 0x7f) << 24 | i << 1 | 1) >>> 0, macB, uuid);
    if (again.yiaddr !== ip) throw new Error(`the agent's DHCP got ${again.yiaddr}, iPXE's ${ip}`);
    step = 'inventory';
    const body = JSON.stringify(inventoryOf(i, mac, ip, uuid, arg('rackseed.node')));
    const auth = { authorization: `Bearer ${token}` };
    for (let attempt = 0; ; attempt++) {
      const r = await http(`${base}/agent/v1/inventory`, ip, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
      if (r.status >= 200 && r.status < 300) break;
      if (attempt >= 2 || (r.status >= 400 && r.status < 500 && r.status !== 429)) throw new Error(`POST inventory: ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
      await new Promise((res) => setTimeout(res, 1000 * 2 ** attempt));
    }
    const ms = performance.now() - t0;
    // the agent then asks what to do; a discovered node is told to wait (or to power off): one answer suffices
    step = 'next';
    const r = await http(`${base}/agent/v1/next`, ip, { headers: auth });
    if (r.status !== 200) throw new Error(`GET next: ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
    const a = JSON.parse(r.body.toString('utf8')) as { action: string };
    if (!['wait', 'poweroff', 'reboot'].includes(a.action)) throw new Error(`GET next: action ${a.action}`);
    return { mac, ip, ok: true, ms, step: 'done' };
  } catch (err) {
    return { mac, ip, ok: false, error: `${mac} at ${step}: ${(err as Error).message}`, ms: performance.now() - t0, step };
  }
}

const pct = (sorted: number[], q: number): number => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0;

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '') as HallClientsConfig;
  const wire = new DhcpWire(PacketSocket.open(cfg.interface));
  const t0 = performance.now();
  const gap = cfg.clients > 1 ? cfg.arrivalMs / (cfg.clients - 1) : 0;
  const runs: Promise<ClientOutcome>[] = [];
  for (let i = 0; i < cfg.clients; i++) {
    const due = t0 + i * gap;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((res) => setTimeout(res, wait));
    runs.push(oneNode(wire, cfg, i));
  }
  const outcomes = await Promise.all(runs);
  wire.close();
  const ok = outcomes.filter((o) => o.ok);
  const lat = ok.map((o) => o.ms).sort((a, b) => a - b);
  const result: HallClientsResult = {
    clients: cfg.clients, ok: ok.length, failed: outcomes.length - ok.length,
    firstErrors: outcomes.filter((o) => !o.ok).slice(0, 10).map((o) => o.error ?? '?'),
    spanMs: performance.now() - t0,
    latency: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: lat.at(-1) ?? 0 },
    retransmits: wire.retransmits, httpRequests, outcomes,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
