// Opens a node's console over IPMI SOL: a session to the node's BMC (the shared IpmiClient), Activate Payload,
// and a link whose close() deactivates SOL and closes the session (also when the BMC ends SOL itself).
import type { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { activateSol, type SolOptions } from '../../bmc/ipmi/session/sol-session.ts';
import { splitBmcAddress } from '../bmc/ipmi-connector.ts';
import type { ConsoleLink, ConsoleOpener } from './manager.ts';

export interface ConsoleBmc { address: string; user: string; password: string }

export function ipmiConsoleOpener(client: IpmiClient, bmcOf: (nodeId: string) => ConsoleBmc | Promise<ConsoleBmc>, sol: SolOptions = {}): ConsoleOpener {
  return async (nodeId) => {
    const bmc = await bmcOf(nodeId);
    const { host, port } = splitBmcAddress(bmc.address);
    const s = await client.session(host, { user: bmc.user, password: bmc.password, port });
    let c;
    try { c = await activateSol(s, sol); } catch (err) { await s.close(); throw err; }
    c.on('close', (reason: string | null) => { if (reason !== null) void s.close(); });
    const link: ConsoleLink = {
      write: (d) => c.write(d),
      sendBreak: () => c.sendBreak(),
      get backlog() { return c.backlog; },
      on: ((ev: 'data' | 'close' | 'drain', fn: (x: Buffer & (string | null)) => void) => c.on(ev, fn as (...a: unknown[]) => void)) as ConsoleLink['on'],
      close: async () => { await c.close(); await s.close(); },
    };
    return link;
  };
}
