// The "handed over and stopped" banner at the top of the Services panel: shown while the daemon keeps its netboot
// services off after a hand over and stop (persisted: a daemon restarted later shows it too), with how to start again.
// Read from GET /api/v1/handoff/stop on mount and again whenever the services' status changes (the stop, a start).
import { useEffect, useState } from 'react';
import { useApp } from '../store/store.ts';
import { loadHandoverStop } from '../actions.ts';
import type { HandoverStopState } from '../api/client.ts';
import { handoverStopBanner } from '../lib/handover-stop.ts';

/** Presentational: the banner for a given state (nothing when the appliance serves). */
export function HandoverStoppedNotice({ stop, tz }: { stop: HandoverStopState | null; tz?: string }) {
  const b = handoverStopBanner(stop, tz);
  if (!b) return null;
  return (
    <div className="alert warn" role="status" aria-label="Handed over and stopped">
      <strong>{b.title}</strong> {b.detail} {b.howToStart}
    </div>
  );
}

export function HandoverStoppedBanner() {
  const services = useApp((s) => s.services);
  const [stop, setStop] = useState<HandoverStopState | null>(null);
  useEffect(() => {
    let live = true;
    void loadHandoverStop().then((s) => { if (live) setStop(s); });
    return () => { live = false; };
  }, [services]);
  return <HandoverStoppedNotice stop={stop} />;
}
