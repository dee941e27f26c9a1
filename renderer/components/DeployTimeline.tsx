// A node's deploy (or release) stages in order — booting the agent, writing, verifying, config drive, powering off,
// booting the OS, done — with when each began and how long it took; the running one highlighted, a failure with its
// reason. `compact` is one line of chips (the Deploy step's rows); otherwise the boot timeline's layout.
import { useEffect, useState } from 'react';
import type { Deployment } from '../../shared/deploy.ts';
import type { NodeEvent } from '../../shared/node.ts';
import { deployTimeline, STAGE_TEXT } from '../lib/deploy.ts';
import { formatDuration } from '../lib/timeline.ts';
import { formatTime } from './common.tsx';

const STATUS_TEXT = { done: 'done', running: 'in progress', failed: 'failed', pending: 'not reached' } as const;

export function DeployTimeline({ events, deployment, compact = false }: { events: readonly NodeEvent[]; deployment: Deployment | undefined; compact?: boolean }) {
  const [now, setNow] = useState(() => Date.now());
  const tl = deployTimeline(events, deployment, now);
  const running = !!tl?.stages.some((s) => s.status === 'running');
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [running]);
  if (!tl) return compact ? null : <p className="muted">Never deployed or released.</p>;
  const label = tl.kind === 'deploy' ? 'Deploy stages' : 'Release stages';
  if (compact) {
    return (
      <ol className="stage-chips" aria-label={label}>
        {tl.stages.map((s) => (
          <li key={s.stage} className={`chip st-${s.status}`} aria-label={`${STAGE_TEXT[s.stage]}: ${STATUS_TEXT[s.status]}`} title={`${STAGE_TEXT[s.stage]}: ${STATUS_TEXT[s.status]}${s.durationMs !== null ? `, ${formatDuration(s.durationMs)}` : ''}`}>
            {s.stage === 'booting-agent' ? 'agent' : s.stage === 'booting-os' ? 'boot OS' : s.stage === 'config-drive' ? 'config drive' : s.stage === 'powering-off' ? 'power off' : s.stage}
          </li>
        ))}
      </ol>
    );
  }
  return (
    <div>
      <ol className="timeline deploy-tl" aria-label={label}>
        {tl.stages.map((s) => (
          <li key={s.stage} className={`tl-stage st-${s.status}`} aria-label={`${STAGE_TEXT[s.stage]}: ${STATUS_TEXT[s.status]}${s.durationMs !== null ? `, ${formatDuration(s.durationMs)}` : ''}`}>
            <div className="tl-head">
              <span className="tl-name">{STAGE_TEXT[s.stage]}</span>
              <span className="tl-status">{STATUS_TEXT[s.status]}</span>
              <span className="tl-dur mono">{formatDuration(s.durationMs)}</span>
              <span className="tl-at mono muted">{s.startedAt ? formatTime(s.startedAt) : ''}</span>
            </div>
          </li>
        ))}
      </ol>
      {tl.error ? <div className="tl-error" role="alert">{tl.kind === 'deploy' ? 'Deploy' : 'Release'} failed: {tl.error}</div> : null}
    </div>
  );
}
