// BMC operations the API exposes: node power and boot device through the node's matched BMC. Each call opens a
// session, does one thing, records an event, and closes the session.
import type { BootDevRequest, PowerAction } from '../../shared/api.ts';
import type { Core } from '../core.ts';
import type { BmcConnector, BmcSession } from '../bmc-port.ts';
import { CoreError } from '../jobs/runner.ts';

export class BmcOperations {
  constructor(private readonly core: Core, private readonly connector: BmcConnector | null) {}

  private async withNodeBmc<T>(nodeId: string, fn: (s: BmcSession, address: string) => Promise<T>): Promise<T> {
    const node = this.core.nodes.get(nodeId);
    if (!node) throw new CoreError(404, `no node ${nodeId}`);
    if (!node.bmc) throw new CoreError(409, `node ${nodeId} has no BMC`);
    this.core.handoff.assertRackSeedOwns(nodeId);
    if (!this.connector) throw new CoreError(503, 'BMC control is not available in this daemon');
    const creds = this.core.config.bmcCredentials();
    if (!creds) throw new CoreError(409, 'set the BMC credentials first (PUT /api/v1/bmc/credentials)');
    let s: BmcSession;
    try {
      s = await this.connector(node.bmc.address, creds);
    } catch (err) {
      this.core.bmcs.upsert(node.bmc.address, { error: (err as Error).message });
      throw new CoreError(502, `BMC ${node.bmc.address}: ${(err as Error).message}`);
    }
    try {
      return await fn(s, node.bmc.address);
    } catch (err) {
      throw new CoreError(502, `BMC ${node.bmc.address}: ${(err as Error).message}`);
    } finally {
      await s.close();
    }
  }

  /** Run a power action (or read the status) and return the power state read back afterwards. */
  async power(nodeId: string, action: PowerAction): Promise<{ power: 'on' | 'off' | null }> {
    return this.withNodeBmc(nodeId, async (s, address) => {
      if (action !== 'status') await s.power(action);
      const power = await s.powerStatus();
      this.core.bmcs.upsert(address, { power, error: null });
      const node = this.core.nodes.update(nodeId, { power })!;
      if (action !== 'status') {
        this.core.bus.record({ source: 'api', kind: `power-${action}`, mac: node.mac, nodeId, message: `power ${action} through BMC ${address}; now ${power}` });
      }
      this.core.lifecycle.announce(nodeId);
      return { power };
    });
  }

  async bootdev(nodeId: string, req: BootDevRequest): Promise<void> {
    await this.withNodeBmc(nodeId, async (s, address) => {
      await s.setBootDevice(req.device, { uefi: req.uefi, persistent: req.persistent });
      const node = this.core.nodes.get(nodeId)!;
      this.core.bus.record({ source: 'api', kind: 'bootdev', mac: node.mac, nodeId, message: `next boot from ${req.device}${req.persistent ? ' (persistent)' : ' (once)'}${req.uefi ? ' in UEFI mode' : ''} through BMC ${address}` });
    });
  }
}
