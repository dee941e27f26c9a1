// Jobs and their ordered steps. A job is `running` while any step runs or waits; `done` when every step is done;
// `failed` (with the reason) when one step failed — later steps stay `pending`.
import { prepared } from './prepared.ts';
import type { Db } from '../db.ts';
import type { Job, JobStatus, JobStep } from '../../shared/api.ts';
import { newId } from '../ids.ts';

interface JobRow { id: string; node_id: string | null; bmc_address: string | null; kind: string; status: string; error: string | null; created_at: number; updated_at: number }
interface StepRow { job_id: string; idx: number; name: string; status: string; started_at: number | null; ended_at: number | null; error: string | null }

export class JobStore {
  constructor(private readonly db: Db) {}

  /** Create a `pending` job with `steps` (all `pending`). */
  create(kind: Job['kind'], nodeId: string | null, bmcAddress: string | null, steps: string[], now = Date.now()): Job {
    const id = newId();
    this.db.transaction(() => {
      prepared(this.db, 'INSERT INTO jobs (id, node_id, bmc_address, kind, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, nodeId, bmcAddress, kind, 'pending', now, now);
      const ins = prepared(this.db, 'INSERT INTO job_steps (job_id, idx, name, status) VALUES (?, ?, ?, ?)');
      steps.forEach((name, idx) => ins.run(id, idx, name, 'pending'));
    })();
    return this.get(id)!;
  }

  get(id: string): Job | null {
    const row = prepared(this.db, 'SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? this.toJob(row) : null;
  }

  /** All jobs, newest first (at most `limit`). */
  list(limit = 500): Job[] {
    return (prepared(this.db, 'SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit) as JobRow[]).map((r) => this.toJob(r));
  }

  listForNode(nodeId: string): Job[] {
    return (prepared(this.db, 'SELECT * FROM jobs WHERE node_id = ? ORDER BY created_at DESC, rowid DESC').all(nodeId) as JobRow[]).map((r) => this.toJob(r));
  }

  /** Jobs that are `pending` or `running` (what a crash interrupts). */
  listUnfinished(): Job[] {
    return (prepared(this.db, "SELECT * FROM jobs WHERE status IN ('pending', 'running') ORDER BY created_at").all() as JobRow[]).map((r) => this.toJob(r));
  }

  /** The unfinished job of a node, or null. */
  activeForNode(nodeId: string): Job | null {
    const row = prepared(this.db, "SELECT * FROM jobs WHERE node_id = ? AND status IN ('pending', 'running') ORDER BY created_at DESC LIMIT 1").get(nodeId) as JobRow | undefined;
    return row ? this.toJob(row) : null;
  }

  /** The unfinished job driving BMC `address`, or null. */
  activeForBmc(address: string): Job | null {
    const row = prepared(this.db, "SELECT * FROM jobs WHERE bmc_address = ? AND status IN ('pending', 'running') ORDER BY created_at DESC LIMIT 1").get(address) as JobRow | undefined;
    return row ? this.toJob(row) : null;
  }

  setNode(id: string, nodeId: string, now = Date.now()): void {
    prepared(this.db, 'UPDATE jobs SET node_id = ?, updated_at = ? WHERE id = ?').run(nodeId, now, id);
  }

  setStatus(id: string, status: JobStatus, error: string | null = null, now = Date.now()): void {
    prepared(this.db, 'UPDATE jobs SET status = ?, error = ?, updated_at = ? WHERE id = ?').run(status, error, now, id);
  }

  /** Mark step `idx` running/done/failed, stamping its start or end time. */
  setStep(id: string, idx: number, status: JobStatus, error: string | null = null, now = Date.now()): void {
    if (status === 'running') {
      prepared(this.db, 'UPDATE job_steps SET status = ?, started_at = ?, ended_at = NULL, error = NULL WHERE job_id = ? AND idx = ?').run(status, now, id, idx);
    } else {
      prepared(this.db, 'UPDATE job_steps SET status = ?, ended_at = ?, error = ? WHERE job_id = ? AND idx = ?').run(status, now, error, id, idx);
    }
    prepared(this.db, 'UPDATE jobs SET updated_at = ? WHERE id = ?').run(now, id);
  }

  private toJob(r: JobRow): Job {
    const steps = (prepared(this.db, 'SELECT * FROM job_steps WHERE job_id = ? ORDER BY idx').all(r.id) as StepRow[]).map((s): JobStep => ({
      name: s.name, status: s.status as JobStatus, startedAt: s.started_at, endedAt: s.ended_at, error: s.error,
    }));
    return {
      id: r.id, nodeId: r.node_id, bmcAddress: r.bmc_address, kind: r.kind as Job['kind'], status: r.status as JobStatus, steps,
      error: r.error, createdAt: r.created_at, updatedAt: r.updated_at,
    };
  }
}
