// The daemon's HTTP/WebSocket API, as types both sides import. The daemon validates every request body
// (typebox schemas in daemon/api); the renderer only ever sees these types.
//
// Auth: every /api/ route needs the per-launch token — `Authorization: Bearer <token>` or the `rackseed_session`
// cookie that `GET /login?code=<one-time code>` (or `POST /login` with the token) sets. WebSocket: `GET /api/v1/stream` with the same cookie or
// `?token=`. Unauthenticated → 401 `{ error }`.
//
//   GET  /api/v1/health                       → Health
//   GET  /api/v1/local-socket                 → LocalSocketInfo (the daemon's unix socket for `rackseed` on its own host;
//                                               path null to a client on another host; daemon/api/local-socket.ts)
//   GET  /api/v1/interfaces                   → NetInterface[]
//   GET  /api/v1/config                       → NetworkConfig | null (null: services not configured yet)
//   PUT  /api/v1/config/network  NetworkConfig → ServicesStatus (starts/restarts DHCP/TFTP; 409 if a foreign DHCP
//                                               server answers and mode is authoritative without `override`)
//   GET  /api/v1/survey                       → SurveyResult | null      POST /api/v1/survey → SurveyResult
//   GET  /api/v1/services                     → ServicesStatus
//   GET  /api/v1/nodes                        → NodeSummary[]
//   GET  /api/v1/nodes/:id                    → NodeDetail
//   POST /api/v1/nodes/:id/inspect            → Job
//   POST /api/v1/nodes/:id/power  {action}    → { power }    (action: PowerAction)
//   POST /api/v1/nodes/:id/bootdev BootDevRequest → { ok: true }
//   PUT  /api/v1/nodes/:id/maintenance {maintenance, reason?} → NodeSummary  (in maintenance: local-disk script, no inspection)
//   POST /api/v1/nodes/:id/allow              → NodeSummary  (a `seen` node may boot: → `discovered`; others unchanged)
//   POST /api/v1/nodes/allow {macs: string[]} → NodeSummary[] (the same by MAC; a MAC not seen yet becomes a
//                                               `discovered` node, so it boots when it first asks). 400 for a bad MAC.
//   GET  /api/v1/events?mac=&since=&limit=    → NodeEvent[]  (oldest first)
//   PUT  /api/v1/bmc/credentials {user,password} → { user, passwordSet: true }  (password never returned)
//   GET  /api/v1/bmc/credentials              → { user: string | null, passwordSet: boolean }
//   POST /api/v1/bmc/sweep {cidr, prefer?}    → SweepStatus   (progress and results stream as 'sweep' messages; IPMI and
//                                               Redfish probed together; prefer: 'redfish' (default) | 'ipmi' where both answer)
//   GET  /api/v1/bmcs                         → BmcInfo[]     (protocol, protocols, pinned certificate fingerprint per BMC)
//   PUT  /api/v1/bmcs/:address/protocol {protocol: 'ipmi'|'redfish'} → BmcInfo  (the engineer's choice; sweeps keep it)
//   DELETE /api/v1/bmcs/:address/tls-pin      → BmcInfo  (forget the pinned certificate: the next connection pins anew)
//   GET  /api/v1/jobs                         → Job[]
//   POST /api/v1/discovery {bmcs?: string[]}  → Job[]   (one inspect job per known BMC without a matched node, or per listed BMC)
//   GET  /login?code=<one-time code>          → 302 to / with the session cookie; a spent code → 302 to / when the browser
//                                               already has a session, else 401 (text/html Accept: a page with a token form)
//   POST /login  token=<API token> (form)     → 303 to / with the session cookie (401 when wrong; HTML as above)
//   POST /api/v1/images?name=NAME  <image bytes, application/octet-stream> → 201 ImageRecord (ready: raw, gzip, xz end
//                                               with the upload) | 202 ImageRecord (importing: a qcow2 still being checked and
//                                               converted) | 400 {error, image} refused (format, corrupt, cannot boot) | 409 name taken
//   GET  /api/v1/images                       → ImageRecord[]      GET /api/v1/images/:id (id or name) → ImageRecord
//   DELETE /api/v1/images/:id                 → ImageRecord (as it was; an import in progress is stopped)
//   POST /api/v1/nodes/:id/deploy, POST /api/v1/deploy, POST /api/v1/nodes/:id/release, POST /api/v1/release,
//   GET  /api/v1/deployments, GET /api/v1/nodes/:id/deployment, GET|PUT /api/v1/deploy/settings → shared/deploy.ts
//   GET|POST /api/v1/seed, GET /api/v1/seed/plan, POST /api/v1/seed/resume|rollback, GET /api/v1/seed/credentials → shared/seed.ts
//   WS   /api/v1/stream                       → per frame: a StreamMessage, or a JSON array of them (in order)
//   WS   /api/v1/nodes/:id/console, GET /api/v1/nodes/:id/console/log?lines=N → the node's serial console (SOL) and its
//                                               stored log: shared/console.ts
import type { NodeEvent, NodeState, NodeSummary } from './node.ts';
import type { ImageRecord } from './image.ts';
import type { Deployment } from './deploy.ts';
import type { SeedRecord } from './seed.ts';

export interface Health { version: string; uptimeSec: number; configured: boolean }

/**
 * GET /api/v1/local-socket: the daemon's unix socket for clients on its own host (daemon/api/local-socket.ts).
 * `path` null: it has none, or the asker is not on this host (only a loopback or local-socket client is told).
 */
export interface LocalSocketInfo { path: string | null }

export interface NetInterface {
  name: string;
  mac: string | null;
  up: boolean;
  /** carrier detected */
  link: boolean;
  speedMbps: number | null;
  addresses: string[]; // CIDR notation
}

export type DhcpMode = 'authoritative' | 'proxy';

/**
 * Which PXE clients RackSeed boots (the boot policy's admission rule):
 * - `open`: every PXE client becomes a node and boots the discovery ramdisk — where RackSeed is the only DHCP server
 *   (authoritative mode, the survey found no other server);
 * - `allowlist`: only machines the engineer allowed (POST /api/v1/nodes/…/allow) or whose BMC a RackSeed job
 *   powered on (the client's PXE UUID, option 97, matches that BMC's System GUID); any other PXE client is listed as
 *   a `seen` node and answered nothing. The default in proxy mode (beside the site's DHCP server, whose own machines
 *   PXE-boot too), in authoritative mode with `override` (another server answered) and with `--safe-mode`.
 */
export type BootAdmission = 'open' | 'allowlist';

export interface NetworkConfig {
  interface: string;
  mode: DhcpMode;
  /** authoritative only: first and last address of the pool */
  pool?: { first: string; last: string } | null;
  /** start authoritative DHCP although a foreign DHCP server answered the survey */
  override?: boolean;
  /**
   * BIOS clients: "rom" boots the discovery script in whichever iPXE asked (usually the NIC ROM's); "bundled" makes a
   * BIOS client whose iPXE is not our undionly.kpxe chain tftp://<appliance>/undionly.kpxe first. Absent: the daemon's
   * `--bios-ipxe` (default "rom").
   */
  biosIpxe?: 'rom' | 'bundled';
}

export interface ForeignDhcpServer {
  serverId: string;
  mac: string | null;
  /** address it offered, if any */
  offered: string | null;
  bootFile: string | null;
  seenAt: number;
}

export interface SurveyResult { interface: string; at: number; foreign: ForeignDhcpServer[]; proposal: DhcpMode }

export interface ServiceCounters { [name: string]: number }
export interface ServiceStatus { running: boolean; detail: string; counters: ServiceCounters }
export interface ServicesStatus {
  config: NetworkConfig | null;
  /** the admission rule in force (absent from daemons that do not report it: the UI then assumes defaultAdmission(config) of shared/admission.ts) */
  admission?: BootAdmission;
  dhcp: ServiceStatus;
  proxy: ServiceStatus;
  tftp: ServiceStatus;
  http: ServiceStatus;
}

export type PowerAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft' | 'status';
export interface BootDevRequest { device: 'pxe' | 'disk' | 'bios'; uefi?: boolean; persistent?: boolean }

/** The management protocol a BMC is driven with. */
export type BmcProtocol = 'ipmi' | 'redfish';

export interface BmcInfo {
  address: string;
  ipmiVersion: string | null;
  authTypes: string[];
  vendor: string | null;
  /** System GUID (IPMI) or the system's UUID (Redfish), lower-case dashed */
  guid: string | null;
  nodeId: string | null;
  power: 'on' | 'off' | null;
  error: string | null;
  seenAt: number;
  /** the protocol RackSeed drives this BMC with; null: not known yet (IPMI is used where this daemon has it) */
  protocol: BmcProtocol | null;
  /** every protocol that answered the sweep (RMCP presence ping on 623/udp, GET /redfish/v1 on 443/tcp) */
  protocols: BmcProtocol[];
  /** the engineer chose `protocol` (PUT /api/v1/bmcs/:address/protocol): sweeps keep it */
  protocolChosen: boolean;
  /** the host's NIC MACs as the BMC reports them (Redfish EthernetInterfaces; used to match nodes) */
  macs: string[];
  /** RedfishVersion of the service root ("1.11.0"), when it speaks Redfish */
  redfishVersion: string | null;
  /** SHA-256 of the BMC's TLS certificate pinned on first use ("AB:CD:…", as openssl prints it), Redfish only */
  tlsFingerprint: string | null;
  /** the BMC's firmware version (IPMI Device ID revision, Redfish Manager FirmwareVersion) */
  firmware: string | null;
}

/** `prefer`: the protocol a BMC that answers both is driven with (default redfish). */
export interface SweepStatus { id: string; cidr: string; total: number; done: number; found: number; finished: boolean; error: string | null; prefer?: BmcProtocol }

export type JobStatus = 'pending' | 'running' | 'done' | 'failed';
export interface JobStep { name: string; status: JobStatus; startedAt: number | null; endedAt: number | null; error: string | null }
/** A BMC job. `nodeId` is null while a discovery job waits for its (still unknown) node to report; `bmcAddress` is the BMC it drives. */
export interface Job { id: string; nodeId: string | null; bmcAddress: string | null; kind: 'inspect' | 'power' | 'handoff' | 'deploy' | 'clean'; status: JobStatus; steps: JobStep[]; error: string | null; createdAt: number; updatedAt: number }

export interface NodeDetail { node: NodeSummary; inventory: unknown | null; events: NodeEvent[]; jobs: Job[] }

export type StreamMessage =
  | { type: 'event'; payload: NodeEvent }
  | { type: 'node'; payload: NodeSummary }
  | { type: 'node-state'; payload: { id: string; state: NodeState } }
  | { type: 'sweep'; payload: { status: SweepStatus; found?: BmcInfo } }
  | { type: 'services'; payload: ServicesStatus }
  | { type: 'job'; payload: Job }
  /** an image was created, changed state, or progressed (at most every 250 ms per import) */
  | { type: 'image'; payload: ImageRecord }
  | { type: 'image-removed'; payload: { id: string; name: string } }
  /** a deploy or clean started, changed stage, or progressed (shared/deploy.ts) */
  | { type: 'deploy'; payload: Deployment }
  /** the seed (shared/seed.ts) started, moved to a stage, progressed within one, failed, finished, resumed or was rolled
   *  back: the whole record as GET /api/v1/seed answers it (never a password) */
  | { type: 'seed'; payload: SeedRecord };
