// Warnings about a hostile provisioning network (issue 19 item 3) for the Services panel, from the event stream:
// the DHCP pool under pressure (a client cycling MACs: new clients rate-limited, the reserve kept for known nodes;
// netboot/dhcp/server/new-client-limit.ts reports it every 30 s while it lasts) and agent calls or boot scripts
// refused for a stolen/replayed token or a foreign address (core/agent/tokens.ts).
import type { NodeEvent } from '../../shared/node.ts';

/** A warning counts as current this long after its last report (the server repeats it every 30 s while it lasts). */
export const WARNING_FRESH_MS = 2 * 60_000;

export interface NetworkWarnings {
  /** the latest pool-pressure report, when current */
  pool: NodeEvent | null;
  /** refused agent calls and boot scripts in the window, and how many nodes they named */
  refused: { count: number; nodes: number; last: NodeEvent } | null;
}

/** The current warnings among `events` (oldest first, as the store keeps them) at `now`. */
export function networkWarnings(events: readonly NodeEvent[], now: number): NetworkWarnings {
  let pool: NodeEvent | null = null;
  let count = 0;
  let last: NodeEvent | null = null;
  const nodes = new Set<string>();
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (now - e.at > WARNING_FRESH_MS) break;
    if (e.kind === 'pool-pressure' && e.source === 'dhcp') { pool ??= e; continue; }
    if (e.kind === 'agent-refused' || e.kind === 'script-refused') {
      count++;
      last ??= e;
      if (e.nodeId) nodes.add(e.nodeId);
    }
  }
  return { pool, refused: last ? { count, nodes: nodes.size, last } : null };
}
