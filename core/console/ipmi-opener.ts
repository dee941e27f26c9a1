// Opens a node's console over IPMI SOL: a session to the node's BMC (the shared IpmiClient), Activate Payload,
// and a link whose close() deactivates SOL and closes the session (also when the BMC ends SOL itself).
import type { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import type { BmcSession } from '../../bmc/ipmi/session/bmc-session.ts';
import { activateSol, type SolConsole, type SolOptions } from '../../bmc/ipmi/session/sol-session.ts';
import { splitBmcAddress } from '../bmc/ipmi-connector.ts';
import type { ConsoleLink, ConsoleOpener } from './manager.ts';

export interface ConsoleBmc { address: string; user: string; password: string }

/**
 * The ConsoleLink of an active SOL console on session `s`: close() deactivates SOL, then closes the session, which
 * is also closed when the BMC ends SOL itself. Also the console warm-up's link (daemon/console-warm-up.ts), so that the code V8
 * optimises there is this code.
 */
export function solConsoleLink(c: SolConsole, s: BmcSession): ConsoleLink {
  c.on('close', (reason: string | null) => { if (reason !== null) void s.close(); });
  return {
    write: (d) => c.write(d),
    sendBreak: () => c.sendBreak(),
    get backlog() { return c.backlog; },
    on: ((ev: 'data' | 'close' | 'drain', fn: (x: Buffer & (string | null)) => void) => c.on(ev, fn as (...a: unknown[]) => void)) as ConsoleLink['on'],
    close: async () => { await c.close(); await s.close(); },
  };
}

export function ipmiConsoleOpener(client: IpmiClient, bmcOf: (nodeId: string) => ConsoleBmc | Promise<ConsoleBmc>, sol: SolOptions = {}): ConsoleOpener {
  return async (nodeId) => {
    const bmc = await bmcOf(nodeId);
    const { host, port } = splitBmcAddress(bmc.address);
    const s = await client.session(host, { user: bmc.user, password: bmc.password, port });
    let c;
    try { c = await activateSol(s, sol); } catch (err) { await s.close(); throw err; }
    return solConsoleLink(c, s);
  };
}
