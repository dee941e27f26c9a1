// The one loop that runs a job's steps, shared by every job kind (inspect/discovery, deploy/clean, hand-off).
// Contract:
// - Steps run in order, from the first one not `done`: a job resumed after a daemon restart skips what finished.
// - Every status change is persisted in the JobStore before it is published (so a `kill -9` between the two loses
//   nothing a restart would need).
// - A step that returns while the daemon is stopping is NOT marked done: a stop wakes waits and sleeps, so such a
//   step may have returned without doing its work. Steps must therefore be safe to run again on resume.
// - A failed step is marked `failed` with its reason and the caller's `onFailure` decides the rest (safe power
//   state, failing the job and the node); later steps stay `pending`.
// The caller owns what is kind-specific: the job's `running` status before, its `done` status and history after.
import type { Job } from '../../shared/api.ts';
import type { JobStore } from '../store/jobs.ts';
import { StepError } from './steps.ts';

/** How a run of the loop ended: every step done, one failed (onFailure has run), or the daemon is stopping. */
export type StepLoopEnd = 'done' | 'failed' | 'stopped';

export interface StepLoopHooks {
  /** true once the daemon is stopping: no further step starts, and nothing more is marked */
  isStopped(): boolean;
  /** run one step; throw (a StepError for a message of its own) to fail it */
  runStep(name: string, idx: number): Promise<void>;
  /** broadcast the job's current state (after each persisted change) */
  publish(): void;
  /** after the failed step is marked failed and published: leave the node safe and fail the job with `reason` */
  onFailure(idx: number, reason: string): Promise<void>;
  /** errors whose message is already a whole reason (default: StepError); others are prefixed with the step name */
  ownsMessage?(err: unknown): boolean;
}

/** Run `job`'s remaining steps; see the file's contract. */
export async function runJobSteps(jobs: JobStore, job: Job, hooks: StepLoopHooks): Promise<StepLoopEnd> {
  const ownsMessage = hooks.ownsMessage ?? ((err: unknown) => err instanceof StepError);
  for (let i = 0; i < job.steps.length; i++) {
    if (hooks.isStopped()) return 'stopped';
    const step = jobs.get(job.id)!.steps[i]!;
    if (step.status === 'done') continue;
    jobs.setStep(job.id, i, 'running');
    hooks.publish();
    try {
      await hooks.runStep(step.name, i);
    } catch (err) {
      if (hooks.isStopped()) return 'stopped';
      const reason = ownsMessage(err) ? (err as Error).message : `${step.name}: ${(err as Error).message}`;
      jobs.setStep(job.id, i, 'failed', reason);
      hooks.publish();
      await hooks.onFailure(i, reason);
      return 'failed';
    }
    if (hooks.isStopped()) return 'stopped';
    jobs.setStep(job.id, i, 'done');
    hooks.publish();
  }
  return 'done';
}
