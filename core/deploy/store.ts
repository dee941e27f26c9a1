// The latest deploy or clean of each node (one row per node), in the core's database: what was asked (image, host
// name, keys, user data, hints, done-when), what was chosen (disk), where it is (stage, bytes, rate), and the facts a
// restarted daemon needs to resume (attempt, boot start, callback token hash, the OS's boot report).
//
// The table is created here (CREATE TABLE IF NOT EXISTS) rather than as a numbered migration in db.ts, so this part
// does not depend on the order in which concurrent migrations land; a later migration may adopt it unchanged.
// The user data and SSH keys are stored as given: the database is the daemon's own (0600, core/safe-path.ts) and
// a resumed deploy must be able to rebuild the same config drive. They never appear in events, logs or API answers.
import type { Db } from '../db.ts';
import { prepared } from '../store/prepared.ts';
import type { Deployment, DeployStage, DoneWhen, RootDeviceHints, TargetDisk } from '../../shared/deploy.ts';

const SCHEMA = `CREATE TABLE IF NOT EXISTS deployments (
  node_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  job_id TEXT NOT NULL,
  stage TEXT NOT NULL,
  image TEXT,
  hostname TEXT,
  ssh_keys TEXT NOT NULL DEFAULT '[]',
  user_data TEXT,
  root_hints TEXT NOT NULL DEFAULT '{}',
  disk TEXT,
  done_when TEXT,
  boot_timeout_s INTEGER NOT NULL DEFAULT 900,
  power_on_s INTEGER NOT NULL DEFAULT 60,
  erase INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  mbps REAL,
  attempt INTEGER NOT NULL DEFAULT 0,
  callback_hash TEXT,
  boot_started_at INTEGER,
  booted_via TEXT,
  booted_at INTEGER,
  error TEXT,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER
)`;

interface Row {
  node_id: string; kind: string; job_id: string; stage: string; image: string | null; hostname: string | null; ssh_keys: string;
  user_data: string | null; root_hints: string; disk: string | null; done_when: string | null; boot_timeout_s: number; power_on_s: number;
  erase: number; bytes: number; total: number; mbps: number | null; attempt: number; callback_hash: string | null;
  boot_started_at: number | null; booted_via: string | null; booted_at: number | null; error: string | null;
  started_at: number; updated_at: number; finished_at: number | null;
}

/** Everything kept about a deploy/clean: the API view plus what only the daemon sees. */
export interface DeploymentRecord extends Deployment {
  sshKeys: string[];
  userData: string | null;
  rootHints: RootDeviceHints;
  bootTimeoutSec: number;
  powerOnSec: number;
  attempt: number;
  callbackHash: string | null;
  bootStartedAt: number | null;
  bootedAt: number | null;
}

export type NewDeployment = Pick<DeploymentRecord, 'nodeId' | 'kind' | 'jobId' | 'image' | 'hostname' | 'sshKeys' | 'userData' | 'rootHints' | 'disk'
  | 'doneWhen' | 'bootTimeoutSec' | 'powerOnSec' | 'erase' | 'callbackHash' | 'totalBytes'>;

export type DeploymentPatch = Partial<Pick<DeploymentRecord, 'stage' | 'bytes' | 'totalBytes' | 'mbps' | 'attempt' | 'bootStartedAt' | 'bootedVia'
  | 'bootedAt' | 'error' | 'finishedAt' | 'disk' | 'callbackHash'>>;

const COLUMN: Record<keyof DeploymentPatch, string> = {
  stage: 'stage', bytes: 'bytes', totalBytes: 'total', mbps: 'mbps', attempt: 'attempt', bootStartedAt: 'boot_started_at', bootedVia: 'booted_via',
  bootedAt: 'booted_at', error: 'error', finishedAt: 'finished_at', disk: 'disk', callbackHash: 'callback_hash',
};

export class DeploymentStore {
  constructor(private readonly db: Db) {
    db.exec(SCHEMA);
  }

  /** Replace the node's deployment with a new one (stage `starting`). */
  start(d: NewDeployment, now = Date.now()): DeploymentRecord {
    prepared(this.db, `INSERT OR REPLACE INTO deployments (node_id, kind, job_id, stage, image, hostname, ssh_keys, user_data, root_hints, disk, done_when,
      boot_timeout_s, power_on_s, erase, total, callback_hash, started_at, updated_at) VALUES (?, ?, ?, 'starting', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(d.nodeId, d.kind, d.jobId, d.image ? JSON.stringify(d.image) : null, d.hostname, JSON.stringify(d.sshKeys), d.userData, JSON.stringify(d.rootHints),
        d.disk ? JSON.stringify(d.disk) : null, d.doneWhen, d.bootTimeoutSec, d.powerOnSec, d.erase ? 1 : 0, d.totalBytes, d.callbackHash, now, now);
    return this.get(d.nodeId)!;
  }

  get(nodeId: string): DeploymentRecord | null {
    const r = prepared(this.db, 'SELECT * FROM deployments WHERE node_id = ?').get(nodeId) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  list(): DeploymentRecord[] {
    return (prepared(this.db, 'SELECT * FROM deployments ORDER BY started_at, node_id').all() as Row[]).map(toRecord);
  }

  /** The deployment whose boot callback token has this hash, or null. */
  byCallbackHash(hash: string): DeploymentRecord | null {
    const r = prepared(this.db, 'SELECT * FROM deployments WHERE callback_hash = ?').get(hash) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  update(nodeId: string, patch: DeploymentPatch, now = Date.now()): DeploymentRecord | null {
    const keys = (Object.keys(patch) as (keyof DeploymentPatch)[]).filter((k) => patch[k] !== undefined);
    if (keys.length) {
      const sets = keys.map((k) => `${COLUMN[k]} = ?`).join(', ');
      const values = keys.map((k) => (k === 'disk' ? (patch.disk ? JSON.stringify(patch.disk) : null) : patch[k]));
      prepared(this.db, `UPDATE deployments SET ${sets}, updated_at = ? WHERE node_id = ?`).run(...values, now, nodeId);
    }
    return this.get(nodeId);
  }
}

/** The API view: no user data, keys, hashes or resume bookkeeping. */
export function publicDeployment(r: DeploymentRecord): Deployment {
  return {
    nodeId: r.nodeId, kind: r.kind, jobId: r.jobId, stage: r.stage, image: r.image, hostname: r.hostname, disk: r.disk, doneWhen: r.doneWhen, erase: r.erase,
    bytes: r.bytes, totalBytes: r.totalBytes, mbps: r.mbps, bootedVia: r.bootedVia, error: r.error, startedAt: r.startedAt, updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
  };
}

function toRecord(r: Row): DeploymentRecord {
  return {
    nodeId: r.node_id, kind: r.kind as DeploymentRecord['kind'], jobId: r.job_id, stage: r.stage as DeployStage,
    image: r.image ? JSON.parse(r.image) as DeploymentRecord['image'] : null, hostname: r.hostname,
    disk: r.disk ? JSON.parse(r.disk) as TargetDisk : null, doneWhen: r.done_when as DoneWhen | null, erase: r.erase === 1,
    bytes: r.bytes, totalBytes: r.total, mbps: r.mbps, bootedVia: r.booted_via, error: r.error, startedAt: r.started_at, updatedAt: r.updated_at,
    finishedAt: r.finished_at, sshKeys: JSON.parse(r.ssh_keys) as string[], userData: r.user_data, rootHints: JSON.parse(r.root_hints) as RootDeviceHints,
    bootTimeoutSec: r.boot_timeout_s, powerOnSec: r.power_on_s, attempt: r.attempt, callbackHash: r.callback_hash, bootStartedAt: r.boot_started_at,
    bootedAt: r.booted_at,
  };
}
