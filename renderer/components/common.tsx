// Small shared presentational pieces: state badges, link/power dots, relative times.
import type { ReactNode } from 'react';
import { stateLabel, type NodeState } from '../../shared/node.ts';

const STATE_TONE: Record<NodeState, string> = {
  seen: 'off', discovered: 'info', inspecting: 'busy', available: 'ok', deploying: 'busy', active: 'ok', cleaning: 'busy', error: 'bad',
  'deploy-failed': 'bad', 'clean-failed': 'bad',
};

export function StateBadge({ state, maintenance }: { state: NodeState; maintenance?: boolean }) {
  return (
    <span className={`badge tone-${STATE_TONE[state]}`}>
      {stateLabel(state)}{maintenance ? ' · maint' : ''}
    </span>
  );
}

export function Dot({ tone, label }: { tone: 'ok' | 'bad' | 'off' | 'busy' | 'info'; label: string }) {
  return <span className="dot-label"><span className={`dot tone-${tone}`} aria-hidden="true" />{label}</span>;
}

export function PowerCell({ power }: { power: 'on' | 'off' | null }) {
  if (power === null) return <span className="muted">—</span>;
  return <Dot tone={power === 'on' ? 'ok' : 'off'} label={power} />;
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  return d.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}
