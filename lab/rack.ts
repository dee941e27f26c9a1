// The virtual rack as one object: `Lab.up()` builds namespaces, bridges, taps, radvd, the uplink capture,
// one QEMU node + BMC pair per node spec (ipmi_sim, or for the last `redfish` nodes the lab's Redfish BMC), and
// (optionally) RackSeed's daemon and the host forwarder; `down()` undoes all of it. Used by lab/cli.ts and the
// end-to-end tests.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRendererBuilt } from '../scripts/ensure-ui.ts';
import { LabApi } from './api-client.ts';
import { startDaemon, type Daemon, type DaemonOptions } from './appliance.ts';
import { startBmc } from './bmc/ipmi-sim.ts';
import { startRedfishBmc } from './bmc/redfish-bmc.ts';
import { analyzeUplinkCapture, startUplinkCapture, type UplinkReport } from './capture.ts';
import { DEFAULT_BMC_PASSWORD, DEFAULT_BMC_USER, IFACES, labNames, NET, nodeIdentity, type LabNames, type NodeSpec } from './config.ts';
import { startForwarder, type Forwarder } from './forwarder.ts';
import { nodePid, prepareNode, type LabNode, type NodeOptions } from './node.ts';
import { pidAlive, run, sleep, spawnDetached } from './processes.ts';
import { startRadvd } from './radvd.ts';
import { readState, teardownInstance, writeState, type LabState } from './teardown.ts';
import { addBmcAddress, addNodeTap, addSiteAddress, createTopology, interfaceMac } from './topology.ts';

export interface LabOptions {
  /** instance id (namespaces rslab-<id>-…); default: a random test id */
  id?: string;
  nodes: NodeSpec[];
  bmcUser?: string;
  bmcPassword?: string;
  /** how many nodes (the last ones) get a Redfish BMC (lab/bmc/redfish, HTTPS on 443) instead of ipmi_sim; default 0 */
  redfish?: number;
  node?: NodeOptions;
  /** start RackSeed's daemon in the appliance namespace (null: do not) */
  daemon?: Omit<DaemonOptions, 'token'> & { token?: string } | null;
  /** forward 127.0.0.1:PORT (root namespace) to the daemon's socket; 0 = any free port; null = none */
  forwardPort?: number | null;
  /** give br-prov 10.240.0.2 and run dnsmasq there as the site's DHCP server (addresses only, no boot info) */
  siteDhcp?: boolean;
  log?: (line: string) => void;
}

export interface RackNode extends LabNode {
  bmcAddress: string;
  /** what plays its BMC: ipmi_sim (IPMI 2.0 on 623/udp) or the lab Redfish service (HTTPS on 443/tcp) */
  bmcProtocol: 'ipmi' | 'redfish';
  /** Redfish: SHA-256 of the certificate made for it at start (what RackSeed should pin) */
  bmcCertSha256?: string;
}

export class Lab {
  readonly names: LabNames;
  readonly nodes: RackNode[] = [];
  readonly bmcUser: string;
  readonly bmcPassword: string;
  daemon: Daemon | null = null;
  forwarder: Forwarder | null = null;
  token: string;
  captureFile: string | null = null;
  /** MAC of the appliance's uplink0 (read once, so the capture can be judged after teardown) */
  uplinkMac = '';
  private state: LabState;
  private downed = false;

  private constructor(names: LabNames, private readonly opts: LabOptions) {
    this.names = names;
    this.bmcUser = opts.bmcUser ?? DEFAULT_BMC_USER;
    this.bmcPassword = opts.bmcPassword ?? DEFAULT_BMC_PASSWORD;
    this.token = opts.daemon?.token ?? process.env.RACKSEED_TOKEN ?? randomBytes(24).toString('base64url');
    this.state = { id: names.id, ownerPid: process.pid, createdAt: Date.now(), pids: { bmcs: [] }, nodeDirs: [] };
  }

  /** Build the rack. On any failure everything built so far is torn down before the error is rethrown. */
  static async up(opts: LabOptions): Promise<Lab> {
    const names = labNames(opts.id ?? `t${randomBytes(3).toString('hex')}`);
    const lab = new Lab(names, opts);
    try {
      await lab.build();
      return lab;
    } catch (err) {
      lab.log(`lab: bring-up failed: ${(err as Error).message}`);
      await lab.down({ removeDir: false });
      throw err;
    }
  }

  private log(line: string): void { this.opts.log?.(line); }
  private save(): void { writeState(this.names, this.state); }

  /** Record processes started beside the rack (the lab's Ironic, lab/ironic.ts) so teardown stops them by PID. */
  recordPids(p: Partial<LabState['pids']>): void {
    this.state.pids = { ...this.state.pids, ...p };
    this.save();
  }

  private async build(): Promise<void> {
    const n = this.names;
    // the lab runs from a checkout: its daemon serves the UI at /, so build it when missing or stale (before anything starts)
    if (ensureRendererBuilt()) this.log('lab: built the UI (dist/renderer)');
    // the host port first: a taken one fails before anything is built (the forwarder connects per connection, so the
    // daemon's socket need not exist yet)
    if (this.opts.forwardPort !== undefined && this.opts.forwardPort !== null) {
      this.forwarder = await startUiForwarder(this.opts.forwardPort, n.apiSocket);
    }
    // a previous run of the same instance may have left things behind
    teardownInstance(n, { removeDir: true });
    mkdirSync(join(n.dir, 'appliance'), { recursive: true });
    this.save();
    this.log(`lab ${n.id}: namespaces ${n.rackNs}, ${n.appNs}, ${n.uplinkNs}`);
    createTopology(n);
    this.uplinkMac = interfaceMac(n.appNs, IFACES.appUplink);
    this.state.pids.radvd = startRadvd(n.rackNs, n.dir);
    const cap = startUplinkCapture(n.uplinkNs, n.dir);
    this.state.pids.tcpdump = cap.pid;
    this.captureFile = cap.file;
    this.save();
    const redfishFrom = this.opts.nodes.length - Math.max(0, Math.min(this.opts.redfish ?? 0, this.opts.nodes.length));
    this.opts.nodes.forEach((spec, i) => {
      const identity = nodeIdentity(n.id, i + 1);
      const dir = join(n.dir, 'nodes', identity.name);
      const protocol = i >= redfishFrom ? 'redfish' as const : 'ipmi' as const;
      const node: RackNode = { identity, spec, dir, consoleLog: join(dir, 'console.log'), bmcAddress: identity.bmcAddress, bmcProtocol: protocol };
      addNodeTap(n, identity.tap);
      if (spec.bmcNic) addNodeTap(n, identity.bmcTap, IFACES.bmcBridge);
      addBmcAddress(n, identity.bmcAddress);
      prepareNode(node, this.opts.node);
      this.state.nodeDirs.push(dir);
      const bmcDir = join(n.dir, 'bmcs', identity.name);
      if (protocol === 'redfish') {
        const rf = startRedfishBmc(n.rackNs, bmcDir, {
          address: identity.bmcAddress, user: this.bmcUser, password: this.bmcPassword, nodeDir: dir, firmware: spec.firmware,
          identity: { uuid: identity.uuid, serial: identity.serial, macs: [identity.mac], model: 'Virtual Node', manufacturer: 'RackSeed Lab' },
        });
        this.state.pids.bmcs.push(rf.pid);
        node.bmcCertSha256 = rf.sha256;
      } else {
        this.state.pids.bmcs.push(startBmc(n.rackNs, bmcDir, {
          name: identity.name, address: identity.bmcAddress, uuid: identity.uuid,
          user: this.bmcUser, password: this.bmcPassword, nodeDir: dir,
          solPort: spec.serialSocket ? undefined : identity.serialPort,
        }));
      }
      this.nodes.push(node);
      this.save();
      this.log(`lab ${n.id}: ${identity.name} ${spec.firmware}/${spec.nic}${spec.pxe === 'firmware' ? '/firmware-pxe' : ''}${spec.memoryMiB ? ` ${spec.memoryMiB} MiB` : ''}${spec.bmcNic ? ` 2nd NIC ${identity.bmcNicMac} on br-bmc` : ''} mac ${identity.mac} serial ${identity.serial} uuid ${identity.uuid} bmc ${identity.bmcAddress} (${protocol === 'redfish' ? `Redfish, certificate SHA-256 ${node.bmcCertSha256}` : 'IPMI'})`);
    });
    await this.waitBmcs();
    if (this.opts.siteDhcp) this.startSiteDhcp();
    if (this.opts.daemon) {
      this.daemon = await startDaemon(n, { ...this.opts.daemon, token: this.token });
      this.state.pids.daemon = this.daemon.pid;
      this.state.pids.relay = this.daemon.relayPid;
      this.save();
      this.log(`lab ${n.id}: RackSeed running in ${n.appNs} (pid ${this.daemon.pid}), API on ${n.apiSocket}`);
    }
  }

  /**
   * Every BMC answers an authenticated request from the appliance namespace: IPMI through ipmitool (lanplus, suite 3),
   * Redfish through curl (GET of the system with basic auth).
   */
  private async waitBmcs(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (const node of this.nodes) {
      for (;;) {
        try {
          if (node.bmcProtocol === 'redfish') this.redfish(node, 'GET', '/redfish/v1/Systems/1');
          else this.ipmitool(node, 'chassis', 'power', 'status');
          break;
        } catch (err) {
          if (Date.now() > until) throw new Error(`BMC ${node.bmcAddress} (${node.identity.name}) does not answer: ${(err as Error).message}`);
          await sleep(200);
        }
      }
    }
  }

  private startSiteDhcp(): void {
    const n = this.names;
    addSiteAddress(n);
    const args = ['--keep-in-foreground', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--bind-interfaces',
      `--interface=${IFACES.provBridge}`, '--except-interface=lo', '--no-ping', '--log-dhcp',
      `--dhcp-range=10.240.0.50,10.240.0.90,255.255.255.0,1h`, `--dhcp-leasefile=${join(n.dir, 'dnsmasq.leases')}`,
      `--pid-file=${join(n.dir, 'dnsmasq.pid')}`];
    this.state.pids.dnsmasq = spawnDetached(n.rackNs, 'dnsmasq', args, join(n.dir, 'dnsmasq.log'));
    this.save();
  }

  /** API client for the daemon (over its unix socket). */
  get api(): LabApi {
    if (!this.daemon) throw new Error('the daemon is not running in this lab');
    return this.daemon.api;
  }

  /** Base URL of the host forwarder, e.g. http://127.0.0.1:8080. */
  get url(): string {
    if (!this.forwarder) throw new Error('no forwarder');
    return `http://127.0.0.1:${this.forwarder.port}`;
  }

  /** Run ipmitool against `node`'s BMC from inside the appliance namespace (the path RackSeed itself uses). */
  ipmitool(node: RackNode, ...args: string[]): string {
    return run(this.names.appNs, 'ipmitool', ['-I', 'lanplus', '-C', '3', '-N', '1', '-R', '2', '-H', node.bmcAddress,
      '-U', this.bmcUser, '-P', this.bmcPassword, ...args], 15_000);
  }

  /**
   * A Redfish request to `node`'s lab Redfish BMC from inside the appliance namespace (curl, basic auth, the BMC's
   * self-signed certificate accepted: this is the lab's own check, not RackSeed's). Returns the body.
   */
  redfish(node: RackNode, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): string {
    const args = ['-sS', '-f', '-k', '--max-time', '10', '-u', `${this.bmcUser}:${this.bmcPassword}`, '-X', method,
      '-H', 'content-type: application/json', `https://${node.bmcAddress}${path}`];
    if (body !== undefined) args.push('--data', JSON.stringify(body));
    return run(this.names.appNs, 'curl', args, 15_000);
  }

  /** Set the one-time boot device to PXE and power the node on, through its BMC (IPMI or Redfish). */
  pxeBoot(node: RackNode): void {
    if (node.bmcProtocol === 'redfish') {
      this.redfish(node, 'PATCH', '/redfish/v1/Systems/1', { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } });
      this.redfish(node, 'POST', '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset', { ResetType: 'On' });
      return;
    }
    this.ipmitool(node, 'chassis', 'bootdev', 'pxe');
    this.ipmitool(node, 'chassis', 'power', 'on');
  }

  /** QEMU's PID while `node` is powered on, else null. */
  qemuPid(node: RackNode): number | null { return nodePid(node); }

  console(node: RackNode): string {
    try { return readFileSync(node.consoleLog, 'latin1'); } catch { return ''; }
  }

  /** Everything the appliance sent out of uplink0 so far (must hold no DHCP/TFTP reply). */
  uplinkReport(): UplinkReport {
    if (!this.captureFile) throw new Error('no capture');
    return analyzeUplinkCapture(this.captureFile, this.uplinkMac);
  }

  /** PIDs the lab started that are still alive (for leak checks). */
  livePids(): number[] {
    const st = readState(this.names) ?? this.state;
    const all = [st.pids.ironic, st.pids.ironicRelay, st.pids.daemon, st.pids.relay, st.pids.dnsmasq, st.pids.radvd, st.pids.tcpdump, ...st.pids.bmcs, ...this.nodes.map((x) => nodePid(x))];
    return all.filter((p): p is number => typeof p === 'number' && pidAlive(p));
  }

  /** Tear everything down (idempotent). Keeps the instance folder (logs, consoles, capture) unless asked. */
  async down(opts: { removeDir?: boolean } = {}): Promise<void> {
    if (this.downed) return;
    this.downed = true;
    if (this.forwarder) { await this.forwarder.close(); this.forwarder = null; }
    teardownInstance(this.names, { removeDir: opts.removeDir ?? false });
    if (opts.removeDir) rmSync(this.names.dir, { recursive: true, force: true });
  }
}

export { NET };

/** The UI/API host forwarder, 127.0.0.1:`port` (0: any free port); a taken port is refused with how to pick another. */
export async function startUiForwarder(port: number, socketPath: string): Promise<Forwarder> {
  try {
    return await startForwarder(port, socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new Error(`127.0.0.1:${port} is taken (another lab, or RackSeed itself running on this machine?): give the lab's UI another host port, `
      + `e.g. RACKSEED_PORT=${port === 8080 ? 18080 : port + 1} npm run lab (or --port PORT; 0 picks a free one)`);
  }
}
