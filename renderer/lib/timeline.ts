// Boot timeline of one node from its events: DHCP → TFTP → HTTP → agent, one row per stage of the latest
// boot attempt, with start, duration and outcome. Pure (no clock: `now` is passed in), unit-tested in
// test/unit/renderer-timeline.test.ts.
import type { NodeEvent } from '../../shared/node.ts';

export const BOOT_STAGES = ['dhcp', 'tftp', 'http', 'agent'] as const;
export type BootStage = (typeof BOOT_STAGES)[number];

export const STAGE_LABELS: Record<BootStage, string> = { dhcp: 'DHCP', tftp: 'TFTP', http: 'HTTP', agent: 'Agent' };

/**
 * done: the stage has events and no error; failed: an event with level 'error' (the failing step);
 * running: the latest stage so far, without error; skipped: a later stage ran but this one never did (e.g. the
 * NIC's own iPXE skips TFTP); pending: not reached.
 */
export type StageStatus = 'done' | 'failed' | 'running' | 'skipped' | 'pending';

export interface TimelineStage {
  stage: BootStage;
  status: StageStatus;
  /** ms since epoch of the stage's first event, null when it has none */
  startedAt: number | null;
  /** ms from this stage's first event to the next stage's first event (or to its own last event / `now` when
   *  it is the last one running); null when the stage never started */
  durationMs: number | null;
  events: NodeEvent[];
  /** message of the first error event, null when none */
  error: string | null;
}

export interface BootTimeline {
  /** 1-based number of the attempt shown, and how many attempts the events contain */
  attempt: number;
  attempts: number;
  stages: TimelineStage[];
  /** ms from the first DHCP event to the agent's last event (or the last event so far) */
  totalMs: number | null;
}

const isBootEvent = (e: NodeEvent): e is NodeEvent & { source: BootStage } =>
  (BOOT_STAGES as readonly string[]).includes(e.source);

const STAGE_INDEX: Record<BootStage, number> = { dhcp: 0, tftp: 1, http: 2, agent: 3 };

/**
 * Split boot events into attempts. DHCP recurs inside one boot (firmware PXE, then iPXE, then the ramdisk's
 * own DHCP client), so DHCP never starts an attempt by itself: a new attempt begins when a TFTP/HTTP/agent
 * event goes back to an earlier stage than the attempt has reached (e.g. TFTP or HTTP after the agent), and it
 * takes along the DHCP events that directly preceded it.
 */
export function splitAttempts(events: readonly NodeEvent[]): NodeEvent[][] {
  const boot = events.filter(isBootEvent).slice().sort((a, b) => a.at - b.at || a.id - b.id);
  const attempts: NodeEvent[][] = [];
  let cur: NodeEvent[] = [];
  let reached = -1;
  for (const e of boot) {
    const idx = STAGE_INDEX[e.source as BootStage];
    if (e.source !== 'dhcp' && idx < reached) {
      let k = cur.length;
      while (k > 0 && cur[k - 1].source === 'dhcp') k--;
      attempts.push(cur.slice(0, k));
      cur = cur.slice(k);
      reached = 0;
    }
    cur.push(e);
    reached = Math.max(reached, idx);
  }
  if (cur.length) attempts.push(cur);
  return attempts.filter((a) => a.length > 0);
}

/** When an event's exchange began: a DORA's one DHCP entry is stamped at its ACK and carries its OFFER's time. */
function startOf(e: NodeEvent): number {
  const offeredAt = e.source === 'dhcp' ? e.detail?.offeredAt : undefined;
  return typeof offeredAt === 'number' && offeredAt <= e.at ? offeredAt : e.at;
}

/** Timeline of the latest attempt; `now` closes the duration of a stage still running. */
export function bootTimeline(events: readonly NodeEvent[], now: number): BootTimeline {
  const attempts = splitAttempts(events);
  const latest = attempts[attempts.length - 1] ?? [];
  const byStage = new Map<BootStage, NodeEvent[]>(BOOT_STAGES.map((s) => [s, []]));
  for (const e of latest) byStage.get(e.source as BootStage)!.push(e);

  const lastReached = BOOT_STAGES.reduce((acc, s, i) => (byStage.get(s)!.length ? i : acc), -1);
  const stages: TimelineStage[] = BOOT_STAGES.map((stage, i) => {
    const evs = byStage.get(stage)!;
    // a stage failed when an error was its last word: a retry that then succeeded (e.g. the firmware's TFTP
    // size probe, then the real transfer) is not a failure, and a later stage having started is not either
    const lastErrorIdx = evs.findLastIndex((e) => e.level === 'error');
    const err = lastErrorIdx >= 0 && lastErrorIdx === evs.length - 1 && i >= lastReached ? evs[lastErrorIdx] : null;
    const anyError = latest.some((e) => e.level === 'error' && STAGE_INDEX[e.source as BootStage] >= i);
    let status: StageStatus;
    if (!evs.length) status = i < lastReached ? 'skipped' : 'pending';
    else if (err) status = 'failed';
    else if (i === lastReached && stage !== 'agent' && !anyError) status = 'running';
    else status = 'done';
    return { stage, status, startedAt: evs.length ? startOf(evs[0]) : null, durationMs: null, events: evs, error: err ? err.message : null };
  });
  const started = stages.filter((s) => s.startedAt !== null);
  started.forEach((s, i) => {
    const next = started[i + 1];
    const end = next ? next.startedAt! : s.status === 'running' ? now : s.events[s.events.length - 1].at;
    // the last stage with a single event (the agent's inventory POST) has no measurable duration
    s.durationMs = !next && s.status !== 'running' && s.events.length === 1 ? null : Math.max(0, end - s.startedAt!);
  });
  const totalMs = latest.length ? latest[latest.length - 1].at - startOf(latest[0]) : null;
  return { attempt: attempts.length, attempts: attempts.length, stages, totalMs };
}

/** "850 ms", "4.2 s", "2 min 05 s" */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${String(s).padStart(2, '0')} s`;
}
