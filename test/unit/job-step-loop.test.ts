// The shared job step loop (core/jobs/step-loop.ts) over a real SQLite JobStore: resume skips done steps, a failure
// is persisted before onFailure runs, a step that returns while stopping is left undone, and error messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../core/db.ts';
import { JobStore } from '../../core/store/jobs.ts';
import { runJobSteps, type StepLoopHooks } from '../../core/jobs/step-loop.ts';
import { StepError } from '../../core/jobs/steps.ts';

function withStore(fn: (jobs: JobStore) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-step-loop-'));
    const db = openDatabase(join(dir, 'state.db'));
    try { await fn(new JobStore(db)); } finally { db.close(); rmSync(dir, { recursive: true, force: true }); }
  };
}

function hooks(over: Partial<StepLoopHooks> & { ran?: string[]; published?: number[] }): StepLoopHooks {
  return {
    isStopped: () => false,
    runStep: async (name) => { over.ran?.push(name); },
    publish: () => { over.published?.push(1); },
    onFailure: async () => { throw new Error('onFailure not expected'); },
    ...over,
  };
}

test('every step runs in order, each persisted done and published', withStore(async (jobs) => {
  const job = jobs.create('inspect', null, '10.0.0.1', ['a', 'b', 'c']);
  const ran: string[] = [];
  const published: number[] = [];
  assert.equal(await runJobSteps(jobs, job, hooks({ ran, published })), 'done');
  assert.deepEqual(ran, ['a', 'b', 'c']);
  assert.deepEqual(jobs.get(job.id)!.steps.map((s) => s.status), ['done', 'done', 'done']);
  assert.equal(published.length, 6, 'published after each running and each done');
}));

test('a resumed job starts at the first step not done', withStore(async (jobs) => {
  const job = jobs.create('inspect', null, '10.0.0.1', ['a', 'b', 'c']);
  jobs.setStep(job.id, 0, 'done');
  const ran: string[] = [];
  assert.equal(await runJobSteps(jobs, jobs.get(job.id)!, hooks({ ran })), 'done');
  assert.deepEqual(ran, ['b', 'c']);
}));

test('a failed step is persisted failed with its reason before onFailure; later steps stay pending', withStore(async (jobs) => {
  const job = jobs.create('inspect', null, '10.0.0.1', ['a', 'b', 'c']);
  let seenAtFailure: string[] = [];
  let failure: [number, string] | null = null;
  const end = await runJobSteps(jobs, job, hooks({
    runStep: async (name) => { if (name === 'b') throw new Error('BMC said no'); },
    onFailure: async (i, reason) => { failure = [i, reason]; seenAtFailure = jobs.get(job.id)!.steps.map((s) => s.status); },
  }));
  assert.equal(end, 'failed');
  assert.deepEqual(failure, [1, 'b: BMC said no'], 'a foreign error is prefixed with the step name');
  assert.deepEqual(seenAtFailure, ['done', 'failed', 'pending']);
  assert.equal(jobs.get(job.id)!.steps[1]!.error, 'b: BMC said no');
}));

test('a StepError (or what ownsMessage accepts) keeps its own message', withStore(async (jobs) => {
  const a = jobs.create('inspect', null, '10.0.0.1', ['a']);
  let reason = '';
  await runJobSteps(jobs, a, hooks({ runStep: async () => { throw new StepError('a', 'a timed out after 30 s'); }, onFailure: async (_i, r) => { reason = r; } }));
  assert.equal(reason, 'a timed out after 30 s');
  class EngineError extends Error {}
  const b = jobs.create('inspect', null, '10.0.0.1', ['b']);
  await runJobSteps(jobs, b, hooks({
    runStep: async () => { throw new EngineError('Ironic refused: 409'); },
    ownsMessage: (e) => e instanceof EngineError,
    onFailure: async (_i, r) => { reason = r; },
  }));
  assert.equal(reason, 'Ironic refused: 409');
}));

test('a step that returns or throws while the daemon stops is left undone, and nothing fails', withStore(async (jobs) => {
  let stopped = false;
  const returns = jobs.create('inspect', null, '10.0.0.1', ['a', 'b']);
  assert.equal(await runJobSteps(jobs, returns, hooks({ isStopped: () => stopped, runStep: async () => { stopped = true; } })), 'stopped');
  assert.deepEqual(jobs.get(returns.id)!.steps.map((s) => s.status), ['running', 'pending'], 'not marked done: it may have been woken by the stop');
  stopped = false;
  const throws = jobs.create('inspect', null, '10.0.0.1', ['a']);
  assert.equal(await runJobSteps(jobs, throws, hooks({ isStopped: () => stopped, runStep: async () => { stopped = true; throw new StepError('a', 'the daemon is stopping'); } })), 'stopped');
  assert.deepEqual(jobs.get(throws.id)!.steps.map((s) => s.status), ['running']);
}));
