// BMC sweeps over a CIDR (IPMI engineer's `sweep`), one at a time: found BMCs are stored (BmcStore) and streamed
// to the UI as 'sweep' messages while the sweep runs. With BMC credentials set, the sweep also reads vendor and
// System GUID, and a BMC whose GUID matches a node's SMBIOS UUID is matched to it at once.
import type { SweepStatus } from '../../shared/api.ts';
import type { Core } from '../core.ts';
import type { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { sweep as ipmiSweep, cidrHosts, type SweepResult } from '../../bmc/ipmi/session/sweep.ts';
import { guidsMatch, normalizeGuid } from '../guid.ts';
import { newId } from '../ids.ts';
import { CoreError } from '../jobs/runner.ts';

export class SweepService {
  private current: SweepStatus | null = null;

  constructor(private readonly core: Core, private readonly client: IpmiClient | null, private readonly options: { probeTimeoutMs?: number; ratePerSec?: number } = {}) {}

  status(): SweepStatus | null {
    return this.current;
  }

  /** Start sweeping `cidr`; returns the initial status at once. 409 while another sweep runs; 400 for a bad/too large CIDR. */
  start(cidr: string): SweepStatus {
    if (!this.client) throw new CoreError(503, 'IPMI is not available in this daemon');
    if (this.current && !this.current.finished) throw new CoreError(409, `a sweep of ${this.current.cidr} is running`);
    let total: number;
    try { total = cidrHosts(cidr).length; } catch (err) { throw new CoreError(400, (err as Error).message); }
    const status: SweepStatus = { id: newId(), cidr, total, done: 0, found: 0, finished: false, error: null };
    this.current = status;
    this.core.bus.record({ source: 'bmc', kind: 'sweep-start', mac: null, nodeId: null, message: `BMC sweep of ${cidr} (${total} addresses) started` });
    this.core.bus.publish({ type: 'sweep', payload: { status: { ...status } } });
    void this.run(status, this.client);
    return { ...status };
  }

  private async run(status: SweepStatus, client: IpmiClient): Promise<void> {
    const creds = this.core.config.bmcCredentials();
    const progress = setInterval(() => this.core.bus.publish({ type: 'sweep', payload: { status: { ...status } } }), 1000);
    try {
      for await (const r of ipmiSweep(client, {
        cidr: status.cidr, credentials: creds ?? undefined,
        probeTimeoutMs: this.options.probeTimeoutMs, ratePerSec: this.options.ratePerSec,
      })) {
        status.found++;
        this.store(r);
        this.core.bus.publish({ type: 'sweep', payload: { status: { ...status }, found: this.core.bmcs.get(r.address)! } });
      }
      status.done = status.total;
    } catch (err) {
      status.error = (err as Error).message;
    } finally {
      clearInterval(progress);
      status.finished = true;
      this.core.bus.record({ source: 'bmc', kind: 'sweep-done', mac: null, nodeId: null, level: status.error ? 'error' : 'info', message: `BMC sweep of ${status.cidr} finished: ${status.found} found${status.error ? ` (${status.error})` : ''}` });
      this.core.bus.publish({ type: 'sweep', payload: { status: { ...status } } });
    }
  }

  private store(r: SweepResult): void {
    const guid = normalizeGuid(r.guid);
    this.core.bmcs.upsert(r.address, {
      ipmiVersion: r.ipmiVersion, authTypes: r.authTypes, vendor: r.vendor ?? null, guid, error: r.error ? r.error.message : null,
    });
    if (!guid) return;
    const bmc = this.core.bmcs.get(r.address)!;
    if (bmc.nodeId) return;
    const node = this.core.nodes.list().find((n) => !n.bmc && guidsMatch(guid, n.uuid));
    if (node) this.core.intake.matchBmcByGuid(node.id, node.uuid);
  }
}
