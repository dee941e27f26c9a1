// Deploy and release (issue 15): what the API takes and gives back, shared by the daemon, the CLI and the UI (types
// only; no I/O here).
//
//   POST /api/v1/nodes/:id/deploy  DeployRequest                         → 202 Deployment
//   POST /api/v1/deploy            BatchDeployRequest                    → 202 Deployment[] (all nodes checked first:
//                                                                          one refused node refuses the batch, 400/404/409
//                                                                          {error, nodes: [{node, error}]})
//   POST /api/v1/nodes/:id/release ReleaseRequest                        → 202 Deployment (kind 'clean')
//   POST /api/v1/release           {nodes: string[], erase?}             → 202 Deployment[]
//   GET  /api/v1/deployments                                             → Deployment[] (the latest of each node)
//   GET  /api/v1/nodes/:id/deployment                                    → Deployment (404 when it never had one)
//   GET  /api/v1/deploy/settings   → DeploySettings    PUT the same → DeploySettings (in memory; env default)
//   WS   /api/v1/stream            {type: 'deploy', payload: Deployment} on every stage change and progress report
// Node references in batches are ids, boot MACs (any notation) or serial numbers.

/**
 * When a deploy is done, i.e. the node becomes `active` (issue 15 item 4):
 * - `callback`: the deployed OS calls back: cloud-init `phone_home` (named in the config drive's vendor data), or the
 *   image's own init POSTing to `meta.phone_home_url` — both `/agent/v1/booted?token=…` with a per-deploy token;
 * - `dhcp`: after the reboot to disk, a DHCP request from the node's MAC that is not a PXE/iPXE client's (RackSeed's
 *   own DHCP server sees it: authoritative mode only);
 * - `power`: the BMC still reports the node powered on `powerOnSec` seconds after the power-on from disk;
 * - `auto` (default): `callback` or `dhcp`, whichever comes first. Works for an unmodified cloud image: any OS asks
 *   DHCP for an address on its boot NIC (authoritative mode), and any cloud-init phones home from the vendor data
 *   (proxy mode, where the site's DHCP server answers it and RackSeed does not hear the request).
 */
export type DoneWhen = 'auto' | 'callback' | 'dhcp' | 'power';
export const DONE_WHEN: readonly DoneWhen[] = ['auto', 'callback', 'dhcp', 'power'];

/**
 * Root device hints (Ironic's `root_device`): every given hint must match. `name` is the kernel name or path
 * ("sda", "/dev/sda"), `serial`/`wwn` as the inventory reports them (case-insensitive), `size` in GiB (whole disk,
 * rounded down, as Ironic compares it) or `minSizeGiB`. Without hints: the smallest disk that holds the image.
 */
export interface RootDeviceHints {
  name?: string;
  serial?: string;
  wwn?: string;
  size?: number;
  minSizeGiB?: number;
}

export interface DeployRequest {
  /** image id or name (a `ready` image of the library) */
  image: string;
  /** the host name the config drive gives the node; default `node-{serial}` (`node-{mac}` without a serial) */
  hostname?: string;
  /** OpenSSH public key lines */
  sshKeys?: string[];
  /** cloud-init user data as given (≤ 64 KiB; a `#cloud-config` must be valid YAML) */
  userData?: string;
  rootDevice?: RootDeviceHints;
  doneWhen?: DoneWhen;
  /** how long the deployed OS may take to report booting (callback/dhcp; default 15 min) */
  bootTimeoutSec?: number;
  /** doneWhen `power`: seconds the node must stay powered on after the power-on from disk (default 60) */
  powerOnSec?: number;
}

/**
 * A deploy of many nodes. `hostname` is a pattern: `{serial}`, `{mac}` (dashes: 52-54-00-…), `{id}`, `{index}` (1-based
 * position in `nodes`, `{index:03}` zero-padded); the result is lower-cased and anything but a-z 0-9 - becomes `-`.
 */
export interface BatchDeployRequest extends Omit<DeployRequest, 'hostname'> {
  nodes: string[];
  hostname?: string;
}

export interface ReleaseRequest {
  /** also write zeros over every whole disk (slow), not only both ends of each disk and partition */
  erase?: boolean;
}

/** The disk an image goes to (from the node's inventory). */
export interface TargetDisk {
  name: string;
  sizeBytes: number;
  serial: string | null;
  wwn: string | null;
}

/**
 * Where a deploy or clean is. Deploy: queued (waiting for a writer slot) → booting-agent → writing → verifying →
 * config-drive → powering-off → booting-os → done. Clean: booting-agent → wiping → powering-off → done. Either may end
 * `failed` (the reason in `error`, the node in `deploy-failed` / `clean-failed`).
 */
export type DeployStage =
  | 'starting' | 'booting-agent' | 'queued' | 'writing' | 'verifying' | 'config-drive' | 'powering-off' | 'booting-os'
  | 'wiping' | 'done' | 'failed';

export interface Deployment {
  nodeId: string;
  kind: 'deploy' | 'clean';
  jobId: string;
  stage: DeployStage;
  /** deploy: the image */
  image: { id: string; name: string; sha256: string; sizeBytes: number } | null;
  hostname: string | null;
  disk: TargetDisk | null;
  doneWhen: DoneWhen | null;
  /** clean: whole disks zeroed */
  erase: boolean;
  /** bytes written (writing) or read back (verifying) so far */
  bytes: number;
  /** bytes to write / read back */
  totalBytes: number;
  /** current write or read rate, MB/s (10^6 bytes), null when not moving */
  mbps: number | null;
  /** how the OS was seen booting: 'callback' | 'dhcp' | 'power' */
  bootedVia: string | null;
  error: string | null;
  startedAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/**
 * How the agent checks the data ranges it reads back from the disk (the zero ranges are always read back as zeros):
 * - `fletcher4` (default): ZFS's Fletcher-4, a 256-bit sum (core/images/fletcher4.ts), ~35× cheaper than SHA-256 for
 *   the agent's CPU; catches a disk, controller or stream that returns other bytes, not a deliberate forgery;
 * - `sha256`: the SHA-256 of the data ranges, cryptographic (under QEMU's emulation ~18 MB/s per node; on real
 *   hardware usually faster than the disk).
 * Either way the daemon compares the agent's answer with its own, computed from the library's copy whose SHA-256 it
 * checked.
 */
export type ReadBackCheck = 'fletcher4' | 'sha256';
export const READ_BACK_CHECKS: readonly ReadBackCheck[] = ['fletcher4', 'sha256'];

export interface DeploySettings {
  /** how many nodes may stream an image at once (default 4, env RACKSEED_DEPLOY_WRITERS); the rest wait `queued` */
  maxWriters: number;
  /** the read-back check of the next write or verify handed out (default `fletcher4`, env RACKSEED_DEPLOY_READ_BACK) */
  readBackCheck: ReadBackCheck;
}

/** What the agent is told on GET /agent/v1/next during a deploy or clean (besides poweroff/reboot/wait). */
export type DeployAgentCommand =
  | {
    action: 'deploy';
    /** numbers each command; a result naming an older one is ignored (a daemon restart re-issues the write) */
    attempt: number;
    /** the whole raw image on the HTTP boot server (`imageServingPath`) */
    url: string;
    size: number;
    sha256: string;
    /**
     * The image's extent map (`imageMapPath`): text, one `data|zero OFFSET LENGTH` line per range in disk order,
     * adjacent, covering [0, size). The agent zeroes the zero ranges on the disk (BLKZEROOUT) and writes the data.
     */
    map: string;
    /** SHA-256 (hex) of the map's text: the agent refuses a map that does not hash to it (a damaged or swapped map
     *  would otherwise be written and read back by the same wrong ranges, and pass the data-range check) */
    mapSha256: string;
    /** the data ranges' bytes concatenated in map order (`imageDataPath`; exactly `dataBytes` bytes) */
    data: string;
    dataBytes: number;
    /** the target disk: kernel name, size in bytes, serial/WWN ('' when unknown) — the agent checks them */
    disk: string;
    diskSize: number;
    diskSerial: string;
    diskWwn: string;
    /** how to check the data ranges read back after the write (absent: sha256, what older daemons asked) */
    check: ReadBackCheck;
  }
  | {
    action: 'verify'; attempt: number; size: number; map: string; mapSha256: string; dataBytes: number; disk: string; diskSize: number; diskSerial: string;
    diskWwn: string; check: ReadBackCheck;
  }
  | {
    action: 'configdrive';
    attempt: number;
    /** a text plan: one `OFFSET SIZE SHA256 URL` line per piece to write (token-checked, this node's only) */
    plan: string;
    disk: string; diskSize: number; diskSerial: string; diskWwn: string;
  }
  | { action: 'clean'; attempt: number; erase: boolean };

/** POST /agent/v1/deploy/progress (at most every ~2 s). */
export interface AgentProgress { attempt: number; stage: 'writing' | 'verifying' | 'wiping'; bytes: number }

/** POST /agent/v1/deploy/result: the outcome of one phase of a command. */
export interface AgentResult {
  attempt: number;
  phase: 'write' | 'verify' | 'configdrive' | 'clean';
  ok: boolean;
  /** what failed, as the agent saw it */
  error?: string;
  /** write: image bytes placed on the disk (data written + zeros); verify: image bytes checked */
  bytes?: number;
  /**
   * verify: SHA-256 of the image's data ranges read back from the disk, concatenated in map order (the zero ranges
   * were read back as zeros), or of the whole image read back. write (optional): of the data bytes as received
   * (the shell agent leaves it out: hashing twice costs too much under emulation; it only sharpens a mismatch's reason)
   */
  sha256?: string;
  /** verify with check `fletcher4`: Fletcher-4 of the image's data ranges read back, concatenated in map order */
  fletcher4?: string;
  /** the disk the agent used (kernel name) */
  disk?: string;
  /** clean: what was wiped, one line per disk */
  detail?: string;
}
