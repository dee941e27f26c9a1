// A fake rack for the deploy job's unit tests: a BMC that powers fake machines on and off, a fake agent that obeys
// the deploy service's commands the way agent/ramdisk/deploy.sh does — by the image's extent map: zero ranges zeroed,
// data ranges written, then zeros checked and the data ranges hashed as read back; but writing to a sparse file
// standing for the node's disk —, and a fake deployed OS that reads its config drive from that file and calls back or
// asks DHCP.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { pino } from 'pino';
import { Core, type CoreOptions } from '../../core/core.ts';
import type { BmcConnector, BmcSession } from '../../core/bmc-port.ts';
import type { DeployOptions } from '../../core/deploy/service.ts';
import type { ImageRecord } from '../../shared/image.ts';
import type { Inventory } from '../../shared/inventory.ts';
import type { NodeSummary } from '../../shared/node.ts';
import type { AgentResult, DeployAgentCommand, ReadBackCheck } from '../../shared/deploy.ts';
import { Fletcher4 } from '../../core/images/fletcher4.ts';

export const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FakeMachine {
  address: string;
  nodeId: string;
  mac: string;
  disk: string;
  power: 'on' | 'off';
  /** next boot device ('pxe' once, or persistent 'disk') */
  bootdev: 'pxe' | 'disk' | 'default';
  persistent: boolean;
  agent: FakeAgent | null;
  os: FakeOs | null;
  /** how the fake agent misbehaves */
  agentOpts: AgentOptions;
  /** how the fake OS reports (default: both callback and DHCP) */
  osOpts: { callback?: boolean; dhcp?: boolean };
  /** the firmware ignores the one-time PXE boot device (OVMF and `-boot order`): it boots the disk */
  ignoresPxe?: boolean;
  boots: ('agent' | 'os' | 'nothing')[];
}

export interface AgentOptions {
  /** never ask for a command (the ramdisk never came up) */
  silent?: boolean;
  /** the first N boots of the agent never ask (a lost PXE boot), the next ones do */
  silentBoots?: number;
  /** flip one byte of the image's data on the way (the bytes received differ) */
  corruptWire?: boolean;
  /** flip one byte of a data range on the disk after writing (it reads back differently) */
  corruptDisk?: boolean;
  /** leave this byte of a zero range non-zero after writing (the disk does not zero it) */
  dirtyZeroAt?: number;
  /** report no SHA-256 of the data received (as the shell agent does) */
  noWire?: boolean;
  /**
   * the stream breaks after the first progress report of this attempt, when the daemon goes away (the test replaces
   * its core: a simulated kill): the agent then reports the failure to whichever daemon answers, as the shell agent does
   */
  breakOnAttempt?: number;
  /** clean: fail with this reason */
  cleanError?: string;
}

/** Fake BMCs: power and boot device per address; a wrong password for the addresses in `wrongPassword`. */
export class FakeBmcs {
  readonly machines = new Map<string, FakeMachine>();
  readonly calls: string[] = [];
  readonly wrongPassword = new Set<string>();
  core: Core | null = null;

  readonly connector: BmcConnector = async (address, creds) => {
    if (this.wrongPassword.has(address)) throw new Error(`wrong password for user "${creds.user}" (the BMC's RAKP reply does not match this password)`);
    const m = this.machines.get(address);
    if (!m) throw new Error(`no BMC answers at ${address}`);
    const s: BmcSession = {
      powerStatus: async () => m.power,
      power: async (action) => {
        this.calls.push(`${address} power ${action}`);
        if (action === 'off' || action === 'soft') this.off(m);
        else if (action === 'on') { if (m.power === 'off') this.on(m); } else { this.off(m); this.on(m); }
      },
      setBootDevice: async (device, o) => {
        this.calls.push(`${address} bootdev ${device}${o?.persistent ? ' persistent' : ''}`);
        m.bootdev = device === 'bios' ? 'default' : device;
        m.persistent = o?.persistent ?? false;
      },
      systemGuid: async () => null,
      close: async () => {},
    };
    return s;
  };

  /** Stop every fake agent (end of a test). */
  stopAll(): void {
    for (const m of this.machines.values()) { m.agent?.stop(); m.agent = null; }
  }

  off(m: FakeMachine): void {
    m.power = 'off';
    m.agent?.stop();
    m.agent = null;
    m.os = null;
  }

  on(m: FakeMachine): void {
    m.power = 'on';
    const dev = m.bootdev;
    if (!m.persistent) m.bootdev = 'default';
    if (dev === 'pxe' && !m.ignoresPxe) {
      m.boots.push('agent');
      // the firmware's PXE request, then the agent's own DHCP (udhcpc: not a PXE client)
      const dhcp = (pxe: boolean) => this.core!.bus.record({ source: 'dhcp', kind: 'ack', mac: m.mac, nodeId: m.nodeId, message: 'DHCPACK', detail: pxe ? { pxe: true } : {} });
      dhcp(true);
      dhcp(false);
      m.agent = new FakeAgent(this, m);
      m.agent.start();
    } else {
      m.boots.push('os');
      m.os = new FakeOs(this, m);
      void m.os.boot();
    }
  }
}

/** A core with a data dir, the fake BMCs, BMC credentials, and boot settings (HTTP on 10.230.0.1:8080). */
export function deployCore(dataDir: string, bmcs: FakeBmcs, deploy: DeployOptions = {}, extra: Partial<CoreOptions> = {}): Core {
  const core = new Core({
    dataDir, logger: pino({ level: 'silent' }), bmcConnector: bmcs.connector,
    deploy: { agentTimeoutMs: 3000, stallMs: 3000, powerOffTimeoutMs: 1500, pollMs: 30, bmcStepTimeoutMs: 2000, ...deploy }, ...extra,
  });
  core.config.setBmcCredentials({ user: 'admin', password: 'secret' });
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, ramdisk: { kernelPath: '/files/vmlinuz', initrdPath: '/files/initrd.img' } };
  bmcs.core = core;
  return core;
}

/** Import `path` (a raw image file) into the core's library as `name`; resolves with the ready record. */
export async function importImage(core: Core, name: string, path: string): Promise<ImageRecord> {
  const started = core.images.startImport(name, createReadStream(path), statSync(path).size);
  const rec = await started.done;
  if (rec.state !== 'ready') throw new Error(`import of ${name} failed: ${rec.error}`);
  return rec;
}

export function inventory(mac: string, o: { serial: string; firmware: 'bios' | 'uefi'; disks: { name: string; sizeBytes: number; serial?: string }[] }): Inventory {
  return {
    schemaVersion: 1, agentVersion: '1', nodeId: null, bootMac: mac, bootMode: o.firmware, kernel: '6.1.0-test',
    cpu: { model: 'QEMU Virtual CPU', arch: 'x86_64', sockets: 1, cores: 1, threads: 1, mhz: 2000 },
    memory: { totalBytes: 512 * MiB, usableBytes: 480 * MiB },
    disks: o.disks.map((d) => ({ name: d.name, sizeBytes: d.sizeBytes, model: null, vendor: '0x1af4', serial: d.serial ?? null, wwn: null, rotational: true, bus: 'virtio' as const })),
    nics: [{ name: 'eth0', mac, driver: 'virtio_net', link: true, speedMbps: null, ipv4: '10.230.0.50' }],
    dmi: {
      system: { vendor: 'QEMU', product: 'Standard PC', version: null, serial: o.serial, uuid: null, sku: null, family: null },
      board: { vendor: null, product: null, version: null, serial: null, assetTag: null },
      chassis: { vendor: 'QEMU', type: 1, version: null, serial: null, assetTag: null },
      bios: { vendor: 'SeaBIOS', version: '1', date: '04/01/2014' },
    },
  };
}

/**
 * An `available` node with an inventory and a matched fake BMC at `address`, whose disk is the sparse file `disk`
 * (`diskBytes` long: the first disk of the inventory).
 */
export function addNode(core: Core, bmcs: FakeBmcs, o: { mac: string; serial: string; address: string; disk: string; diskBytes: number; firmware?: 'bios' | 'uefi';
  extraDisks?: { name: string; sizeBytes: number; serial?: string }[]; agent?: AgentOptions; os?: FakeMachine['osOpts']; ignoresPxe?: boolean }): NodeSummary {
  const n = core.lifecycle.ensureNode(o.mac, 'dhcp').node;
  const inv = inventory(o.mac, { serial: o.serial, firmware: o.firmware ?? 'bios', disks: [{ name: 'vda', sizeBytes: o.diskBytes, serial: `D-${o.serial}` }, ...(o.extraDisks ?? [])] });
  const r = core.intake.acceptInventory(n, inv, '10.230.0.50');
  if (r.status !== 200) throw new Error(`inventory refused: ${JSON.stringify(r.body)}`);
  core.bmcs.upsert(o.address, { nodeId: n.id });
  core.nodes.update(n.id, { bmcAddress: o.address, bmcMatchedBy: 'manual', power: 'off' });
  const fd = openSync(o.disk, 'w');
  ftruncateSync(fd, o.diskBytes);
  closeSync(fd);
  bmcs.machines.set(o.address, {
    address: o.address, nodeId: n.id, mac: o.mac, disk: o.disk, power: 'off', bootdev: 'default', persistent: false, agent: null, os: null,
    agentOpts: o.agent ?? {}, osOpts: o.os ?? {}, boots: [], ignoresPxe: o.ignoresPxe,
  });
  return core.nodes.get(n.id)!;
}

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    const n = readSync(fd, b, 0, length, offset);
    return b.subarray(0, n);
  } finally { closeSync(fd); }
}

function writeAt(path: string, offset: number, data: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try { writeSync(fd, data, 0, data.length, offset); } finally { closeSync(fd); }
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The fake deploy agent: polls command() like the real one and does what it says to the disk file. */
export class FakeAgent {
  private running = false;
  readonly seen: string[] = [];
  readonly refused: AgentResult[] = [];
  progressCount = 0;

  constructor(private readonly bmcs: FakeBmcs, private readonly m: FakeMachine) {}

  start(): void {
    if (this.m.agentOpts.silent) return;
    if ((this.m.agentOpts.silentBoots ?? 0) > 0) { this.m.agentOpts.silentBoots!--; return; }
    this.running = true;
    void this.loop();
  }

  stop(): void { this.running = false; }

  private get core(): Core { return this.bmcs.core!; }
  private node(): NodeSummary { return this.core.nodes.get(this.m.nodeId)!; }

  /** Report a result; while the daemon is away (its database closed: a simulated kill) retry, as the shell agent does. */
  private async post(r: AgentResult): Promise<boolean> {
    for (let i = 0; i < 100 && this.running; i++) {
      try {
        const out = this.core.deploys.result(this.node(), r);
        if (out.status !== 200) this.refused.push(r);
        return out.status === 200;
      } catch { await sleep(50); }
    }
    return false;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const cmd = this.core.deploys.command(this.node()) ?? this.core.intake.next(this.node());
        this.seen.push(cmd.action);
        switch (cmd.action) {
          case 'poweroff': this.bmcs.off(this.m); return;
          case 'deploy': await this.deploy(cmd); break;
          case 'verify': await this.verify(cmd.attempt, cmd.size, cmd.map, cmd.check); break;
          case 'configdrive': await this.configDrive(cmd.attempt); break;
          case 'clean': await this.clean(cmd.attempt); break;
          default: await sleep(20);
        }
      } catch {
        await sleep(50); // the daemon is away (a simulated kill): ask again
      }
    }
  }

  /** The image's extent map, fetched as the agent does (GET /images/<sha256>.map, here through the library). */
  private async map(url: string): Promise<{ img: ImageRecord; extents: { offset: number; length: number; data: boolean }[]; dataBytes: number }> {
    const sha256 = /\/images\/([0-9a-f]{64})\.map$/.exec(url)?.[1];
    const img = sha256 ? this.core.images.readyBySha256(sha256) : null;
    if (!img) throw new Error(`no image behind ${url}`);
    const m = await this.core.images.extentMap(img);
    return { img, extents: m.extents, dataBytes: m.dataBytes };
  }

  private async deploy(cmd: Extract<DeployAgentCommand, { action: 'deploy' }>): Promise<void> {
    const { img, extents, dataBytes } = await this.map(cmd.map);
    if (dataBytes !== cmd.dataBytes) throw new Error('map and command disagree');
    const raw = this.core.images.rawPath(img);
    for (const e of extents) if (!e.data) for (let o = 0; o < e.length; o += MiB) writeAt(this.m.disk, e.offset + o, Buffer.alloc(Math.min(MiB, e.length - o)));
    if (this.m.agentOpts.dirtyZeroAt !== undefined) writeAt(this.m.disk, this.m.agentOpts.dirtyZeroAt, Buffer.from([0x5a]));
    const wire = createHash('sha256');
    const data = extents.filter((e) => e.data);
    let got = 0;
    let flipAt = this.m.agentOpts.corruptWire ? dataBytes >> 1 : -1;
    const step = Math.max(512, Math.ceil(dataBytes / 4 / 512) * 512);
    for (const e of data) {
      for (let o = 0; o < e.length; o += step) {
        if (!this.running) return;
        const piece = readAt(raw, e.offset + o, Math.min(step, e.length - o));
        if (flipAt >= got && flipAt < got + piece.length) { piece[flipAt - got] ^= 0xff; flipAt = -1; }
        wire.update(piece);
        writeAt(this.m.disk, e.offset + o, piece);
        got += piece.length;
        const before = this.core;
        this.core.deploys.progress(this.node(), { attempt: cmd.attempt, stage: 'writing', bytes: Math.min(cmd.size, got + (cmd.size - dataBytes)) });
        this.progressCount++;
        if (this.m.agentOpts.breakOnAttempt === cmd.attempt) {
          while (this.running && this.bmcs.core === before) await sleep(20);
          await sleep(50);
          await this.post({ attempt: cmd.attempt, phase: 'write', ok: false, error: 'wget: error getting response: Connection reset by peer', disk: 'vda' });
          return;
        }
        await sleep(5);
      }
    }
    if (this.m.agentOpts.corruptDisk) {
      const at = data[0]!.offset + Math.min(1000, data[0]!.length - 1);
      writeAt(this.m.disk, at, Buffer.from([readAt(this.m.disk, at, 1)[0]! ^ 0xff]));
    }
    const received = this.m.agentOpts.noWire ? {} : { sha256: wire.digest('hex') };
    if (!(await this.post({ attempt: cmd.attempt, phase: 'write', ok: true, bytes: cmd.size, ...received, disk: 'vda' }))) return;
    await this.verify(cmd.attempt, cmd.size, cmd.map, cmd.check);
  }

  /** As the agent: every zero range must read as zeros, and the data ranges read back are summed (`check`) in order. */
  private async verify(attempt: number, size: number, mapUrl: string, check: ReadBackCheck = 'sha256'): Promise<void> {
    const { extents } = await this.map(mapUrl);
    this.core.deploys.progress(this.node(), { attempt, stage: 'verifying', bytes: size });
    await sleep(5);
    const h = check === 'fletcher4' ? new Fletcher4() : createHash('sha256');
    for (const e of extents) {
      for (let o = 0; o < e.length; o += MiB) {
        const b = readAt(this.m.disk, e.offset + o, Math.min(MiB, e.length - o));
        if (e.data) { h.update(b); continue; }
        const nz = b.findIndex((x) => x !== 0);
        if (nz >= 0) {
          await this.post({ attempt, phase: 'verify', ok: false, error: `the zero ranges of /dev/vda do not read back as zeros: rackseed-zero: not zero at byte ${e.offset + o + nz}`, disk: 'vda' });
          return;
        }
      }
    }
    const sum = h instanceof Fletcher4 ? { fletcher4: h.hex() } : { sha256: h.digest('hex') };
    await this.post({ attempt, phase: 'verify', ok: true, bytes: size, ...sum, disk: 'vda', detail: 'zero ranges read back as zeros' });
  }

  private async configDrive(attempt: number): Promise<void> {
    const plan = this.core.deploys.configDrivePlan(this.node())!;
    let i = 0;
    for (const line of plan.trim().split('\n')) {
      const [off, len, digest] = line.split(' ');
      const piece = this.core.deploys.configDrivePiece(this.node(), i++)!;
      if (piece.length !== Number(len) || sha(piece) !== digest) throw new Error('plan piece mismatch');
      writeAt(this.m.disk, Number(off), piece);
    }
    await this.post({ attempt, phase: 'configdrive', ok: true, disk: 'vda' });
  }

  private async clean(attempt: number): Promise<void> {
    if (this.m.agentOpts.cleanError) { await this.post({ attempt, phase: 'clean', ok: false, error: this.m.agentOpts.cleanError }); return; }
    const size = statSync(this.m.disk).size;
    writeAt(this.m.disk, 0, Buffer.alloc(MiB));
    writeAt(this.m.disk, size - MiB, Buffer.alloc(MiB));
    await this.post({ attempt, phase: 'clean', ok: true, detail: `vda (${size} bytes): 2 regions zeroed; ` });
  }
}

/** The fake deployed OS: finds its phone-home URL in the config drive on the disk, asks DHCP, calls back. */
export class FakeOs {
  callbackUrl: string | null = null;
  constructor(private readonly bmcs: FakeBmcs, private readonly m: FakeMachine) {}

  async boot(): Promise<void> {
    await sleep(30);
    const core = this.bmcs.core!;
    const size = statSync(this.m.disk).size;
    const tail = readAt(this.m.disk, Math.max(0, size - 65 * MiB), 65 * MiB).toString('latin1');
    const url = /"phone_home_url":\s*"([^"]+)"/.exec(tail)?.[1] ?? null;
    this.callbackUrl = url;
    if (this.m.power !== 'on') return;
    if (this.m.osOpts.dhcp !== false) {
      core.bus.record({ source: 'dhcp', kind: 'ack', mac: this.m.mac, nodeId: this.m.nodeId, message: `DHCPREQUEST from ${this.m.mac} → DHCPACK`, detail: { request: 'request' } });
    }
    if (this.m.osOpts.callback !== false && url) {
      const token = new URL(url).searchParams.get('token')!;
      core.deploys.booted(token, '10.230.0.50');
    }
  }
}
