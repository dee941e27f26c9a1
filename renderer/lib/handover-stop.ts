// Texts of the "handed over and stopped" banner (pure): after POST /api/v1/handoff/stop the daemon keeps its netboot
// services off — also across a restart — until they are started again (Setup → Network → Apply network settings, or
// `rackseed services start`). The UI reads that state from GET /api/v1/handoff/stop and says so, with how to serve again.
import type { HandoverStopState } from '../api/client.ts';

export interface HandoverStopBanner {
  title: string;
  detail: string;
  /** how to make RackSeed serve again */
  howToStart: string;
}

/** The banner for a stopped appliance, or null when it serves (or the state is unknown). `tz` for tests. */
export function handoverStopBanner(s: HandoverStopState | null, tz?: string): HandoverStopBanner | null {
  if (!s || s.stoppedAt === null) return null;
  const when = new Date(s.stoppedAt).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', ...(tz ? { timeZone: tz } : {}) });
  const owned = s.owned ?? 0;
  return {
    title: 'Handed over and stopped',
    detail: `since ${when}: DHCP, proxyDHCP, TFTP and HTTP boot stay off, also after a restart — nothing of RackSeed answers on the provisioning NIC`
      + ` (${owned} node${owned === 1 ? '' : 's'} owned by engines).`,
    howToStart: 'To serve again: Setup → Network → Apply network settings, or run rackseed services start.',
  };
}
