// The daemon's serial consoles: one ConsoleManager over the nodes of a Core. A node's console is IPMI
// Serial-over-LAN through the BMC matched to it, with the stored BMC credentials; its rolling log lives in
// `<data dir>/console/<node id>.log` (0700 folder, checked like the data dir), or in a private temp folder for
// a daemon without a data dir (tests). Before any packet leaves, a console is refused with a CoreError the API
// maps to its status: 404 no such node, 409 no BMC matched / the node handed to an engine / no BMC credentials,
// 503 no IPMI in this daemon. The BMC's own refusals (SolInUseError naming the holder, SolUnavailableError, a
// BmcError) come through as they are.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import type { Core } from '../core.ts';
import { CoreError } from '../jobs/runner.ts';
import { privateSubdir } from '../safe-path.ts';
import { ipmiConsoleOpener, type ConsoleBmc } from './ipmi-opener.ts';
import { ConsoleManager } from './manager.ts';

export interface NodeConsoles {
  manager: ConsoleManager;
  /** closes every console (SOL deactivated, BMC sessions closed) and removes a temp log folder */
  close(): Promise<void>;
}

/** The node's BMC as the console opener needs it, or the CoreError saying why there is no console. */
export function consoleBmcOf(core: Core, nodeId: string): ConsoleBmc {
  const node = core.nodes.get(nodeId);
  if (!node) throw new CoreError(404, `no node ${nodeId}`);
  if (!node.bmc) throw new CoreError(409, `node ${nodeId} has no BMC matched yet: its console is reached through the BMC's Serial-over-LAN (sweep the BMC subnet, then inspect the node)`);
  core.handoff.assertRackSeedOwns(nodeId);
  const creds = core.config.bmcCredentials();
  if (!creds) throw new CoreError(409, 'set the BMC credentials first (PUT /api/v1/bmc/credentials): the console logs in to the BMC');
  return { address: node.bmc.address, user: creds.user, password: creds.password };
}

export function nodeConsoles(core: Core, ipmi: IpmiClient | null, dataDir: string | null): NodeConsoles {
  const tempDir = dataDir ? null : mkdtempSync(join(tmpdir(), 'rackseed-console-'));
  const logDir = dataDir ? privateSubdir(dataDir, 'console') : tempDir!;
  const open = ipmi
    ? ipmiConsoleOpener(ipmi, (id) => consoleBmcOf(core, id))
    : async (id: string) => { consoleBmcOf(core, id); throw new CoreError(503, 'BMC control is not available in this daemon: no console'); };
  const manager = new ConsoleManager({ logDir, open });
  return {
    manager,
    async close() {
      await manager.close();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
