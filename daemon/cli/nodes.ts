// `rackseed nodes [NODE] [--json]`: the fleet as the daemon sees it (through RACKSEED_URL with RACKSEED_TOKEN), or
// one node's detail. Exit codes: client.ts EXIT.
import { Command } from 'commander';
import type { NodeDetail } from '../../shared/api.ts';
import type { NodeSummary } from '../../shared/node.ts';
import { DaemonClient, resolveNode, runAction } from './client.ts';

/** One line per node, aligned, for a terminal. */
export function nodesTable(nodes: NodeSummary[]): string {
  if (nodes.length === 0) return 'no nodes yet (nodes appear when they PXE-boot or discovery finds their BMC)';
  const rows = [['ID', 'MAC', 'STATE', 'IP', 'SERIAL', 'BMC', 'POWER', 'CPU', 'MEM MiB', 'DISK GiB']];
  for (const n of nodes) {
    rows.push([n.id, n.mac, n.state + (n.maintenance ? ' (maint)' : ''), n.ip ?? '-', n.serial ?? '-', n.bmc?.address ?? '-', n.power ?? '-',
      n.cpu ?? '-', n.memoryMiB === null ? '-' : String(n.memoryMiB), n.diskGiB === null ? '-' : String(n.diskGiB)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function nodesCommand(): Command {
  return new Command('nodes')
    .description('list the nodes the daemon knows (RACKSEED_URL, RACKSEED_TOKEN), or show one (NODE: id, MAC or serial)')
    .argument('[node]', 'a node id, MAC or serial')
    .option('--json', 'print JSON', false)
    .action(async (ref: string | undefined, o: { json: boolean }) => {
      await runAction(o.json, async () => {
        const client = DaemonClient.fromEnv();
        if (!ref) return client.call<NodeSummary[]>('GET', '/api/v1/nodes');
        const node = await resolveNode<NodeSummary>(client, ref);
        return client.call<NodeDetail>('GET', `/api/v1/nodes/${encodeURIComponent(node.id)}`);
      }, (v) => (Array.isArray(v) ? nodesTable(v) : nodesTable([(v as NodeDetail).node]) + `\nevents: ${(v as NodeDetail).events.length}, jobs: ${(v as NodeDetail).jobs.length}`));
    });
}
