// BMC sweeps over a CIDR, one at a time, over both protocols at once: the IPMI sweep (ASF presence ping on 623/udp +
// Get Channel Auth Capabilities) and the Redfish sweep (GET /redfish/v1 on 443/tcp). Found BMCs are stored (BmcStore)
// and streamed to the UI as 'sweep' messages while the sweep runs. Each BMC records every protocol that answered and
// the one it is driven with: the sweep's preference (Redfish by default) where both answer, unless the engineer chose
// one for that BMC (BmcStore.protocolChosen, kept by later sweeps). With BMC credentials set, the sweep also reads
// vendor and System GUID (IPMI) or the system's UUID, MACs and firmware (Redfish), and a BMC whose GUID/UUID matches a
// node's SMBIOS UUID — or, failing that, one of whose MACs is a node's — is matched to it at once.
import type { BmcProtocol, SweepStatus } from '../../shared/api.ts';
import type { Core } from '../core.ts';
import type { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { sweep as ipmiSweep, cidrHosts, type SweepResult } from '../../bmc/ipmi/session/sweep.ts';
import type { RedfishClient } from '../../bmc/redfish/session/client.ts';
import { redfishSweep, type RedfishSweepResult } from '../../bmc/redfish/session/sweep.ts';
import { guidsMatch, normalizeGuid } from '../guid.ts';
import { newId } from '../ids.ts';
import { CoreError } from '../jobs/runner.ts';

export interface SweepServiceOptions { probeTimeoutMs?: number; ratePerSec?: number; redfishPort?: number; ipmiPort?: number }

export class SweepService {
  private current: SweepStatus | null = null;

  constructor(private readonly core: Core, private readonly client: IpmiClient | null, private readonly options: SweepServiceOptions = {},
    private readonly redfish: RedfishClient | null = null) {}

  status(): SweepStatus | null {
    return this.current;
  }

  /**
   * Start sweeping `cidr`; returns the initial status at once. 409 while another sweep runs; 400 for a bad/too large
   * CIDR; 503 without any BMC client. `prefer`: the protocol a BMC answering both is driven with (default redfish).
   */
  start(cidr: string, opts: { prefer?: BmcProtocol } = {}): SweepStatus {
    if (!this.client && !this.redfish) throw new CoreError(503, 'BMC control (IPMI, Redfish) is not available in this daemon');
    if (this.current && !this.current.finished) throw new CoreError(409, `a sweep of ${this.current.cidr} is running`);
    let total: number;
    try { total = cidrHosts(cidr).length; } catch (err) { throw new CoreError(400, (err as Error).message); }
    const prefer = opts.prefer ?? 'redfish';
    const status: SweepStatus = { id: newId(), cidr, total, done: 0, found: 0, finished: false, error: null, prefer };
    this.current = status;
    const over = [this.client ? 'IPMI' : null, this.redfish ? 'Redfish' : null].filter(Boolean).join(' and ');
    this.core.bus.record({ source: 'bmc', kind: 'sweep-start', mac: null, nodeId: null, message: `BMC sweep of ${cidr} (${total} addresses) over ${over} started; ${prefer === 'redfish' ? 'Redfish' : 'IPMI'} preferred where both answer` });
    this.core.bus.publish({ type: 'sweep', payload: { status: { ...status } } });
    void this.run(status);
    return { ...status };
  }

  private async run(status: SweepStatus): Promise<void> {
    const creds = this.core.config.bmcCredentials();
    const progress = setInterval(() => this.core.bus.publish({ type: 'sweep', payload: { status: { ...status } } }), 1000);
    const found = new Set<string>();
    const note = (address: string) => {
      if (!found.has(address)) { found.add(address); status.found++; }
      this.core.bus.publish({ type: 'sweep', payload: { status: { ...status }, found: this.core.bmcs.get(address)! } });
    };
    const errors: string[] = [];
    const ipmi = this.client ? (async () => {
      for await (const r of ipmiSweep(this.client!, {
        cidr: status.cidr, credentials: creds ?? undefined, port: this.options.ipmiPort,
        probeTimeoutMs: this.options.probeTimeoutMs, ratePerSec: this.options.ratePerSec,
      })) {
        this.storeIpmi(r, status.prefer ?? 'redfish');
        note(r.address);
      }
    })().catch((err: unknown) => { errors.push(`IPMI: ${(err as Error).message}`); }) : Promise.resolve();
    const redfish = this.redfish ? (async () => {
      for await (const r of redfishSweep(this.redfish!, {
        cidr: status.cidr, credentials: creds ?? undefined, port: this.options.redfishPort,
        probeTimeoutMs: this.options.probeTimeoutMs ? Math.max(this.options.probeTimeoutMs, 1000) : undefined, ratePerSec: this.options.ratePerSec,
      })) {
        const address = this.storeRedfish(r, status.prefer ?? 'redfish');
        note(address);
      }
    })().catch((err: unknown) => { errors.push(`Redfish: ${(err as Error).message}`); }) : Promise.resolve();
    try {
      await Promise.all([ipmi, redfish]);
      status.done = status.total;
      if (errors.length) status.error = errors.join('; ');
    } finally {
      clearInterval(progress);
      status.finished = true;
      this.core.bus.record({ source: 'bmc', kind: 'sweep-done', mac: null, nodeId: null, level: status.error ? 'error' : 'info', message: `BMC sweep of ${status.cidr} finished: ${status.found} found${status.error ? ` (${status.error})` : ''}` });
      this.core.bus.publish({ type: 'sweep', payload: { status: { ...status } } });
    }
  }

  /** The protocol to drive a BMC with, given what answered: the engineer's choice, else `prefer` if it answered. */
  private pick(address: string, answered: BmcProtocol[], prefer: BmcProtocol): BmcProtocol {
    const cur = this.core.bmcs.get(address);
    if (cur?.protocolChosen && cur.protocol) return cur.protocol;
    return answered.includes(prefer) ? prefer : answered[0]!;
  }

  private storeIpmi(r: SweepResult, prefer: BmcProtocol): void {
    const cur = this.core.bmcs.get(r.address);
    const protocols = union(cur?.protocols ?? [], 'ipmi');
    const protocol = this.pick(r.address, protocols, prefer);
    const guid = normalizeGuid(r.guid);
    // where Redfish answered too, its reading (the system's UUID, its error) stands unless IPMI is the one in use
    const redfishLeads = protocol === 'redfish' && protocols.includes('redfish');
    this.core.bmcs.upsert(r.address, {
      ipmiVersion: r.ipmiVersion, authTypes: r.authTypes, protocols, protocol,
      ...(redfishLeads ? {} : { vendor: r.vendor ?? cur?.vendor ?? null, guid: guid ?? cur?.guid ?? null, error: r.error ? r.error.message : null, firmware: r.firmware ?? cur?.firmware ?? null }),
      ...(redfishLeads && !cur?.guid && guid ? { guid } : {}),
    });
    this.match(r.address);
  }

  /** Stores a Redfish BMC under its address ("host", or "host:port" off 443); returns that address. */
  private storeRedfish(r: RedfishSweepResult, prefer: BmcProtocol): string {
    const address = r.port === 443 ? r.address : `${r.address}:${r.port}`;
    const cur = this.core.bmcs.get(address);
    const protocols = union(cur?.protocols ?? [], 'redfish');
    const protocol = this.pick(address, protocols, prefer);
    const sys = r.system;
    const leads = protocol === 'redfish';
    this.core.bmcs.upsert(address, {
      protocols, protocol, redfishVersion: r.redfishVersion === '?' ? cur?.redfishVersion ?? null : r.redfishVersion, tlsFingerprint: r.fingerprint,
      ...(sys ? { macs: sys.macs } : {}),
      ...(leads ? {
        vendor: sys?.manufacturer ?? r.vendor ?? cur?.vendor ?? null,
        guid: normalizeGuid(sys?.uuid) ?? cur?.guid ?? null,
        firmware: sys?.firmware ?? cur?.firmware ?? null,
        error: r.error ? r.error.message : null,
      } : {}),
    });
    if (r.fingerprint && cur?.tlsFingerprint !== r.fingerprint) {
      this.core.bus.record({ source: 'bmc', kind: 'bmc-tls-pinned', mac: null, nodeId: null, message: `BMC ${address}: Redfish certificate SHA-256 ${r.fingerprint} (pinned on first use; a different certificate will be refused)`, detail: { bmc: address, sha256: r.fingerprint } });
    }
    this.match(address);
    return address;
  }

  /** Match an unmatched BMC to a node without a BMC: by GUID/UUID, else by one of the host MACs the BMC reports. */
  private match(address: string): void {
    const bmc = this.core.bmcs.get(address)!;
    if (bmc.nodeId) return;
    const free = this.core.nodes.list().filter((n) => !n.bmc);
    if (bmc.guid) {
      const node = free.find((n) => guidsMatch(bmc.guid, n.uuid));
      if (node) { this.core.intake.matchBmcByGuid(node.id, node.uuid); return; }
    }
    const byMac = bmc.macs.length ? free.find((n) => bmc.macs.includes(n.mac.toLowerCase())) : undefined;
    if (byMac) {
      this.core.bmcs.upsert(address, { nodeId: byMac.id, seenAt: bmc.seenAt });
      this.core.nodes.update(byMac.id, { bmcAddress: address, bmcMatchedBy: 'mac' });
      this.core.bus.record({ source: 'bmc', kind: 'bmc-matched', mac: byMac.mac, nodeId: byMac.id, message: `matched to BMC ${address} by MAC ${byMac.mac} (the BMC lists it among its host's interfaces)`, detail: { bmc: address, mac: byMac.mac } });
      this.core.lifecycle.announce(byMac.id);
    }
  }
}

function union(list: BmcProtocol[], p: BmcProtocol): BmcProtocol[] {
  return list.includes(p) ? list : [...list, p].sort();
}
