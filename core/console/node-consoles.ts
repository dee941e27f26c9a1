// The daemon's serial consoles: one ConsoleManager over the nodes of a Core. A node's console is IPMI
// Serial-over-LAN through the BMC matched to it, with the stored BMC credentials; its rolling log lives in
// `<data dir>/console/<node id>.log` (0700 folder, checked like the data dir), or in a private temp folder for
// a daemon without a data dir (tests). Before any packet leaves, a console is refused with a CoreError the API
// maps to its status: 404 no such node, 409 no BMC matched / the node handed to an engine / no BMC credentials,
// 503 no IPMI in this daemon. The BMC's own refusals (SolInUseError naming the holder, SolUnavailableError, a
// BmcError) come through as they are.
// A node handed to an engine (the hand-off's or the seed's pivot: issue 16, RackSeed no longer drives its BMC) is
// refused to every new viewer, also while its console is open ("owned by <engine>", 409), and an open console is
// closed under its viewers with that reason as soon as the pivot announces the node (a `node` message on the bus),
// SOL deactivated: the BMC's SOL is the engine's from then on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import type { Core } from '../core.ts';
import { CoreError } from '../jobs/runner.ts';
import { engineLabel } from '../handoff/store.ts';
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
  const manager = new ConsoleManager({ logDir, open, admit: (id) => { if (core.nodes.get(id)) core.handoff.assertRackSeedOwns(id); } });
  const unsubscribe = core.bus.subscribe((m) => {
    if (m.type !== 'node' || !manager.isOpen(m.payload.id)) return;
    let owner: ReturnType<typeof core.handoff.store.owner>;
    try { owner = core.handoff.store.owner(m.payload.id); } catch { return; } // bus listeners must not throw (database closing)
    if (owner === 'rackseed') return;
    const reason = `node ${m.payload.id} was handed over: it is owned by ${engineLabel(owner)} now and RackSeed no longer drives its BMC (Serial-over-LAN released for the engine)`;
    void manager.end(m.payload.id, reason).catch(() => { /* SOL deactivation is best effort; the viewers are gone */ });
  });
  return {
    manager,
    async close() {
      unsubscribe();
      await manager.close();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
