// `rackseed allow MAC|NODE… [--json]`: let machines PXE-boot where only allowed machines boot (proxy mode beside the
// site's DHCP server, safe mode). A `seen` node becomes `discovered`; a MAC RackSeed has not seen yet is registered as
// a `discovered` node, so it boots the first time it asks. NODE is an id, MAC or serial (client.ts resolveNode); all
// are checked before any is allowed. Through RACKSEED_URL with RACKSEED_TOKEN; exit codes: client.ts EXIT.
import { Command } from 'commander';
import type { NodeSummary } from '../../shared/node.ts';
import { DaemonClient, resolveNode, runAction } from './client.ts';
import { nodesTable } from './nodes.ts';

/** A MAC in a common notation (aa:bb:…, AA-BB-…, aabb.ccdd.eeff, aabbccddeeff); anything else names a node. */
const MAC = /^(?:[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}|[0-9a-f]{12})$/i;

/** The MACs to allow: MAC arguments as given, other arguments resolved to their node's MAC. */
async function macsOf(client: DaemonClient, refs: string[]): Promise<string[]> {
  const macs: string[] = [];
  for (const ref of refs) macs.push(MAC.test(ref) ? ref : (await resolveNode<NodeSummary>(client, ref)).mac);
  return macs;
}

export function allowCommand(): Command {
  return new Command('allow')
    .description('let machines PXE-boot where only allowed ones do (proxy mode, safe mode): MACs, or nodes listed as seen (id, MAC or serial)')
    .argument('<machine...>', 'a MAC (also one not seen yet), or a node id or serial')
    .option('--json', 'print JSON', false)
    .action(async (refs: string[], o: { json: boolean }) => {
      await runAction(o.json, async () => {
        const client = DaemonClient.fromEnv();
        return client.call<NodeSummary[]>('POST', '/api/v1/nodes/allow', { macs: await macsOf(client, refs) });
      }, (nodes) => `${nodesTable(nodes)}\n${nodes.length} machine${nodes.length === 1 ? '' : 's'} may boot: each is discovered the next time it PXE-boots`);
    });
}
