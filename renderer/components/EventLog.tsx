// The appliance's event log (newest first), live from 'event' stream messages.
import { useMemo, useState } from 'react';
import { useApp } from '../store/store.ts';
import type { NodeEvent } from '../../shared/node.ts';
import { formatTime } from './common.tsx';

export function EventRows({ events }: { events: readonly NodeEvent[] }) {
  return (
    <>
      {events.map((e) => (
        <tr key={e.id} className={e.level ? `lvl-${e.level}` : undefined}>
          <td className="mono nowrap">{formatTime(e.at)}</td>
          <td><span className={`src src-${e.source}`}>{e.source}</span></td>
          <td className="mono nowrap">{e.kind}</td>
          <td className="mono nowrap">{e.mac ?? ''}</td>
          <td>{e.message}</td>
        </tr>
      ))}
    </>
  );
}

/** `full`: the Events page — the table takes the window's height instead of a short panel under the fleet. */
export function EventLog({ limit = 200, title = 'Event log', full = false }: { limit?: number; title?: string; full?: boolean }) {
  const events = useApp((s) => s.events);
  const [q, setQ] = useState('');
  const shown = useMemo(() => {
    const t = q.trim().toLowerCase();
    const list = t ? events.filter((e) => `${e.source} ${e.kind} ${e.mac ?? ''} ${e.message}`.toLowerCase().includes(t)) : events;
    return list.slice(-limit).reverse();
  }, [events, q, limit]);
  return (
    <section className="panel" aria-label={title}>
      <div className="panel-head">
        <h2>{title}</h2>
        <label className="inline">
          <span className="sr-only">Filter events</span>
          <input type="search" placeholder="filter events" value={q} onChange={(e) => setQ(e.target.value)} aria-label="Filter events" />
        </label>
      </div>
      <div className={full ? 'table-wrap log full' : 'table-wrap log'}>
        <table className="grid compact" aria-label="Events">
          <thead><tr><th>Time</th><th>Source</th><th>Kind</th><th>MAC</th><th>Message</th></tr></thead>
          <tbody><EventRows events={shown} /></tbody>
        </table>
        {shown.length === 0 ? <div className="empty">No events yet.</div> : null}
      </div>
    </section>
  );
}
