// The seeds (issue 17), one row per seed in the core's database; the latest one is "the" seed. Every stage's status,
// times, detail and error are written before the next stage starts, so a kill -9 resumes at the first unfinished one.
// The control node's Ironic password is not here: it is sealed in the secret store (ConfigStore.setSecret('seed.<id>')).
// Created IF NOT EXISTS here, like core/deploy/store.ts, so it does not depend on the order of concurrent migrations.
import type { Db } from '../db.ts';
import { prepared } from '../store/prepared.ts';
import { SEED_STAGES, type SeedNetwork, type SeedRecord, type SeedReport, type SeedStage, type SeedStageName, type SeedStatus } from '../../shared/seed.ts';

const SCHEMA = `CREATE TABLE IF NOT EXISTS seeds (
  id TEXT PRIMARY KEY,
  control_node TEXT NOT NULL,
  image TEXT NOT NULL,
  status TEXT NOT NULL,
  stage TEXT NOT NULL,
  stages TEXT NOT NULL,
  nodes TEXT NOT NULL,
  network TEXT NOT NULL,
  ironic_url TEXT NOT NULL,
  ironic_timeout_s INTEGER NOT NULL,
  ssh_keys TEXT NOT NULL DEFAULT '[]',
  error TEXT,
  report TEXT,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
)`;

interface Row {
  id: string; control_node: string; image: string; status: string; stage: string; stages: string; nodes: string; network: string;
  ironic_url: string; ironic_timeout_s: number; ssh_keys: string; error: string | null; report: string | null; started_at: number; updated_at: number;
}

export interface SeedRow extends SeedRecord { ironicTimeoutSec: number; sshKeys: string[] }

function toRecord(r: Row): SeedRow {
  return {
    id: r.id, controlNode: r.control_node, image: r.image, status: r.status as SeedStatus, stage: r.stage as SeedStageName,
    stages: JSON.parse(r.stages) as SeedStage[], nodes: JSON.parse(r.nodes) as string[], network: JSON.parse(r.network) as SeedNetwork,
    ironicUrl: r.ironic_url, error: r.error, report: r.report ? JSON.parse(r.report) as SeedReport : null, startedAt: r.started_at, updatedAt: r.updated_at,
    ironicTimeoutSec: r.ironic_timeout_s, sshKeys: JSON.parse(r.ssh_keys) as string[],
  };
}

export class SeedStore {
  constructor(private readonly db: Db) {
    db.exec(SCHEMA);
  }

  create(s: { id: string; controlNode: string; image: string; nodes: string[]; network: SeedNetwork; ironicUrl: string; ironicTimeoutSec: number; sshKeys: string[] }, now = Date.now()): SeedRow {
    const stages: SeedStage[] = SEED_STAGES.map((name) => ({ name, status: 'pending', startedAt: null, finishedAt: null, detail: null, error: null }));
    prepared(this.db, `INSERT INTO seeds (id, control_node, image, status, stage, stages, nodes, network, ironic_url, ironic_timeout_s, ssh_keys, started_at, updated_at)
      VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(s.id, s.controlNode, s.image, SEED_STAGES[0], JSON.stringify(stages), JSON.stringify(s.nodes),
      JSON.stringify(s.network), s.ironicUrl, s.ironicTimeoutSec, JSON.stringify(s.sshKeys), now, now);
    return this.get(s.id)!;
  }

  get(id: string): SeedRow | null {
    const r = prepared(this.db, 'SELECT * FROM seeds WHERE id = ?').get(id) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  latest(): SeedRow | null {
    const r = prepared(this.db, 'SELECT * FROM seeds ORDER BY started_at DESC, rowid DESC LIMIT 1').get() as Row | undefined;
    return r ? toRecord(r) : null;
  }

  /** One stage's new status (and the seed's current stage/status with it), in one statement. */
  stage(id: string, name: SeedStageName, p: Partial<Omit<SeedStage, 'name'>>, seed: { status?: SeedStatus; error?: string | null } = {}, now = Date.now()): SeedRow {
    const cur = this.get(id);
    if (!cur) throw new Error(`no seed ${id}`);
    const stages = cur.stages.map((s) => (s.name === name ? { ...s, ...p } : s));
    prepared(this.db, 'UPDATE seeds SET stage = ?, stages = ?, status = COALESCE(?, status), error = ?, updated_at = ? WHERE id = ?')
      .run(name, JSON.stringify(stages), seed.status ?? null, seed.error === undefined ? cur.error : seed.error, now, id);
    return this.get(id)!;
  }

  finish(id: string, status: SeedStatus, report: SeedReport | null, error: string | null = null, now = Date.now()): SeedRow {
    prepared(this.db, 'UPDATE seeds SET status = ?, report = COALESCE(?, report), error = ?, updated_at = ? WHERE id = ?')
      .run(status, report ? JSON.stringify(report) : null, error, now, id);
    return this.get(id)!;
  }
}
