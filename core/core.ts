// The core, assembled: one SQLite database and the services built on it. The daemon creates one Core per process;
// tests create one over ':memory:' or a temp dir. `close()` stops jobs and closes the database.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { openDatabase, type Db } from './db.ts';
import { NodeStore } from './store/nodes.ts';
import { EventStore } from './store/events.ts';
import { JobStore } from './store/jobs.ts';
import { BmcStore } from './store/bmcs.ts';
import { ConfigStore } from './store/config.ts';
import { SecretBox } from './secret-box.ts';
import { privateSubdir, secureDataDir } from './safe-path.ts';
import { EventBus } from './event-bus.ts';
import { NodeLifecycle } from './node-lifecycle.ts';
import { AgentIntake } from './agent/intake.ts';
import { CoreBootPolicy, type BootPolicySettings } from './boot/policy.ts';
import { JobRunner, type JobRunnerOptions } from './jobs/runner.ts';
import { BmcOperations } from './bmc/operations.ts';
import type { BmcConnector } from './bmc-port.ts';
import { ipmiConnector } from './bmc/ipmi-connector.ts';
import { redfishConnector, redfishEndpoint } from './bmc/redfish-connector.ts';
import { protocolConnector } from './bmc/connectors.ts';
import { TlsPinTable } from './store/tls-pins.ts';
import { RedfishClient, type RedfishClientOptions } from '../bmc/redfish/session/client.ts';
import { SweepService, type SweepServiceOptions } from './bmc/sweep-service.ts';
import { IpMacMap } from './ip-mac-map.ts';
import { HandoffService, type HandoffOptions } from './handoff/service.ts';
import { ImageLibrary } from './images/library.ts';
import { DeployService, deployOptionsFromEnv, type DeployOptions } from './deploy/service.ts';
import type { IpmiClient } from '../bmc/ipmi/session/client.ts';
import { SeedService, type SeedOptions } from './seed/service.ts';

export interface CoreOptions {
  /** data directory (created 0700 if missing) holding rackseed.db, events.db, secret.key and run/; null = in-memory
   *  (tests). Checked before use (safe-path.ts): an unsafe one throws UnsafePathError and nothing is opened. */
  dataDir: string | null;
  logger: Logger;
  /** the IPMI client (sessions and sweeps); null = no BMC control (API answers 503) */
  ipmi?: IpmiClient | null;
  /** how jobs and operations open BMC sessions; default: sessions of `ipmi` or `redfish`, per BMC (bmc/connectors.ts) */
  bmcConnector?: BmcConnector | null;
  /** Redfish client options (timeouts, `insecure` only when the user asked); the core pins certificates in its
   *  database. null/absent = no Redfish (sweeps are IPMI only) */
  redfish?: Omit<RedfishClientOptions, 'pins' | 'onPinned' | 'logger'> | null;
  /** sweep probe tuning (tests) */
  sweep?: SweepServiceOptions;
  jobs?: JobRunnerOptions;
  /** hand-off polling and timeouts (tests) */
  handoff?: HandoffOptions;
  /** deploy/release limits and timeouts (default: from the environment, deployOptionsFromEnv) */
  deploy?: DeployOptions;
  /** the seed's polling and limits (tests) */
  seed?: SeedOptions;
  /** ip → mac from the DHCP leases (for TFTP/HTTP clients); default: node store only */
  ipToMac?: (ip: string) => string | null;
}

/** Boot settings before the services are configured: safe defaults that serve nothing useful. */
const UNCONFIGURED: BootPolicySettings = { serverIp: '0.0.0.0', httpPort: 80, safeMode: false, ramdisk: null };

export class Core {
  readonly db: Db;
  readonly nodes: NodeStore;
  readonly events: EventStore;
  readonly jobs: JobStore;
  readonly bmcs: BmcStore;
  readonly config: ConfigStore;
  readonly bus: EventBus;
  readonly lifecycle: NodeLifecycle;
  readonly log: Logger;
  readonly intake: AgentIntake;
  readonly policy: CoreBootPolicy;
  readonly runner: JobRunner;
  readonly bmcOps: BmcOperations;
  readonly sweeps: SweepService;
  /** the Redfish client (sessions and sweeps), or null; its certificate pins live in `tlsPins` */
  readonly redfish: RedfishClient | null;
  readonly tlsPins: TlsPinTable;
  /** hand-off to cloud engines and node ownership (core/handoff/) */
  readonly handoff: HandoffService;
  /** current boot settings; the daemon's service manager replaces them when it (re)starts the services */
  bootSettings: BootPolicySettings = UNCONFIGURED;
  /** ip → mac lookup the service manager points at the DHCP leases */
  ipToMac: (ip: string) => string | null;
  /** addresses the netboot servers saw each MAC use (filled by the netboot sink; proxy mode has no leases of ours) */
  readonly addresses = new IpMacMap();
  /** `<data dir>/run` (0700, checked like the data dir): private working folders, e.g. the HTTP server's files
   *  root (ramdisk-files.ts); null without a data dir (then callers use the OS temp folder) */
  readonly runDir: string | null;
  /** the image library: records, raw files in `<data dir>/images`, imports (core/images/README.md) */
  readonly images: ImageLibrary;
  /** deploy and release jobs, their agent commands and progress (core/deploy/service.ts) */
  readonly deploys: DeployService;
  /** the seed: control node, hand-off to its Ironic, pivot (core/seed/, issue 17) */
  readonly seed: SeedService;

  constructor(opts: CoreOptions) {
    this.log = opts.logger;
    let box: SecretBox;
    let imagesDir: string | null = null;
    if (opts.dataDir) {
      const dir = secureDataDir(opts.dataDir);
      box = SecretBox.fromDataDir(dir);
      this.runDir = privateSubdir(dir, 'run');
      imagesDir = privateSubdir(dir, 'images');
      this.db = openDatabase(join(dir, 'rackseed.db'));
    } else {
      this.runDir = null;
      this.db = openDatabase(':memory:');
      box = SecretBox.ephemeral();
    }
    this.nodes = new NodeStore(this.db);
    this.events = opts.dataDir
      ? EventStore.openLog(join(opts.dataDir, 'events.db'), this.db, (m) => this.log.warn(m))
      : new EventStore(this.db);
    this.jobs = new JobStore(this.db);
    this.bmcs = new BmcStore(this.db);
    this.config = new ConfigStore(this.db, box);
    this.bus = new EventBus(this.events, this.log);
    this.lifecycle = new NodeLifecycle(this.db, this.nodes, this.events, this.bus);
    this.ipToMac = opts.ipToMac ?? (() => null);
    this.intake = new AgentIntake(this.db, this.nodes, this.jobs, this.bmcs, this.lifecycle, this.bus, this.log.child({ svc: 'agent' }),
      (id, ip) => this.policy.holdsLease(id, ip));
    this.policy = new CoreBootPolicy(
      { nodes: this.nodes, jobs: this.jobs, bmcs: this.bmcs, lifecycle: this.lifecycle, bus: this.bus, network: () => this.config.network(),
        owners: { claimedByEngine: (mac) => this.handoff.store.claimedByEngine(mac) },
        deploys: { bootsAgent: (id) => this.deploys.bootsAgent(id) }, tokens: this.intake.tokens },
      () => this.bootSettings, this.log.child({ svc: 'policy' }), (ip) => this.ipToMac(ip) ?? this.addresses.get(ip));
    this.tlsPins = new TlsPinTable(this.db);
    this.redfish = opts.redfish ? new RedfishClient({
      ...opts.redfish, logger: this.log.child({ svc: 'redfish' }), pins: this.tlsPins,
      onPinned: (host, port, sha256) => {
        const at = (a: string) => { try { return redfishEndpoint(a); } catch { return null; } };
        for (const b of this.bmcs.list().filter((x) => x.protocols.includes('redfish') && at(x.address) === `${host}:${port}`)) this.bmcs.upsert(b.address, { tlsFingerprint: sha256, seenAt: b.seenAt });
      },
    }) : null;
    const connector = opts.bmcConnector ?? protocolConnector({
      ipmi: opts.ipmi ? ipmiConnector(opts.ipmi) : null, redfish: this.redfish ? redfishConnector(this.redfish) : null,
      protocolOf: (address) => this.bmcs.get(address)?.protocol ?? null,
    });
    this.runner = new JobRunner(this, this.intake, connector, opts.jobs);
    this.bmcOps = new BmcOperations(this, connector);
    this.handoff = new HandoffService(this, connector, opts.handoff);
    this.sweeps = new SweepService(this, opts.ipmi ?? null, opts.sweep, this.redfish);
    this.images = new ImageLibrary({ db: this.db, bus: this.bus, dir: imagesDir, log: this.log.child({ svc: 'images' }) });
    this.deploys = new DeployService(this, connector, opts.deploy ?? deployOptionsFromEnv());
    this.seed = new SeedService(this, opts.seed);
  }

  /** After opening: settle what a crash interrupted (resume jobs or move their nodes to error). */
  recover(): void {
    this.runner.resumeAfterCrash();
    this.handoff.resume();
    this.images.recover();
    this.deploys.resume();
    this.seed.recover();
  }

  close(): void {
    this.runner.stop();
    void this.redfish?.close();
    this.handoff.stop();
    this.deploys.stop();
    this.seed.stop();
    this.images.close();
    this.events.close();
    this.db.close();
  }
}
