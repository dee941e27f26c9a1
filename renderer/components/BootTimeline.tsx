// Per-node boot timeline: DHCP → TFTP → HTTP → agent of the latest attempt, with durations; the failing step
// is highlighted and its error shown. A bar per stage is scaled to the whole attempt.
import { useEffect, useState } from 'react';
import type { NodeEvent } from '../../shared/node.ts';
import { bootTimeline, formatDuration, STAGE_LABELS } from '../lib/timeline.ts';
import { formatTime } from './common.tsx';

const STATUS_TEXT = { done: 'done', failed: 'failed', running: 'in progress', skipped: 'skipped', pending: 'not reached' } as const;

export function BootTimeline({ events }: { events: readonly NodeEvent[] }) {
  const [now, setNow] = useState(() => Date.now());
  const tl = bootTimeline(events, now);
  const running = tl.stages.some((s) => s.status === 'running');
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [running]);

  if (tl.attempts === 0) return <p className="muted">No boot events yet for this node.</p>;
  const total = tl.stages.reduce((a, s) => a + (s.durationMs ?? 0), 0) || 1;
  return (
    <div>
      <p className="muted small">
        Attempt {tl.attempt}{tl.attempts > 1 ? ` of ${tl.attempts}` : ''} · total {formatDuration(tl.totalMs)}
      </p>
      <ol className="timeline" aria-label="Boot timeline">
        {tl.stages.map((s) => (
          <li key={s.stage} className={`tl-stage st-${s.status}`} aria-label={`${STAGE_LABELS[s.stage]}: ${STATUS_TEXT[s.status]}${s.durationMs !== null ? `, ${formatDuration(s.durationMs)}` : ''}`}>
            <div className="tl-head">
              <span className="tl-name">{STAGE_LABELS[s.stage]}</span>
              <span className="tl-status">{STATUS_TEXT[s.status]}</span>
              <span className="tl-dur mono">{formatDuration(s.durationMs)}</span>
              <span className="tl-at mono muted">{s.startedAt ? formatTime(s.startedAt) : ''}</span>
            </div>
            <div className="tl-bar-track"><div className="tl-bar" style={{ width: `${Math.max(2, ((s.durationMs ?? 0) / total) * 100)}%` }} /></div>
            {s.error ? <div className="tl-error" role="alert">{s.error}</div> : null}
            {s.events.length ? (
              <ul className="tl-events">
                {s.events.slice(-4).map((e) => <li key={e.id} className={e.level === 'error' ? 'lvl-error' : undefined}><span className="mono">{e.kind}</span> {e.message}</li>)}
              </ul>
            ) : null}
          </li>
        ))}
      </ol>
    </div>
  );
}
