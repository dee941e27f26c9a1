// Hash routes: #/setup/network|bmc|discover|deploy|seed, #/fleet, #/fleet/<node id>, #/events. Pure parse/format.
import type { Route } from '../store/slices.ts';

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case 'fleet': return { page: 'fleet', nodeId: parts[1] ?? null };
    case 'events': return { page: 'events' };
    case 'setup': {
      const step = parts[1] === 'bmc' || parts[1] === 'discover' || parts[1] === 'deploy' || parts[1] === 'seed' ? parts[1] : 'network';
      return { page: 'wizard', step };
    }
    default: return { page: 'wizard', step: 'network' };
  }
}

export function formatRoute(r: Route): string {
  switch (r.page) {
    case 'fleet': return r.nodeId ? `#/fleet/${encodeURIComponent(r.nodeId)}` : '#/fleet';
    case 'events': return '#/events';
    case 'wizard': return `#/setup/${r.step}`;
  }
}
