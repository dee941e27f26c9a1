// Test helper: seed a daemon's data dir through the daemon's own Core (node store, lifecycle, hand-off store, secret
// store) before `rackseed serve` opens it (startDaemon's `prepare`). For UI tests that need nodes as discovery leaves
// them — inventory, serial, a BMC — or hand-off records, without a virtual rack.
import { pino } from 'pino';
import { Core } from '../../../core/core.ts';
import type { EngineRef, HandoffVerification } from '../../../shared/handoff.ts';
import { inventoryFor } from '../../unit/core-inventory-fixture.ts';

export interface SeedNode {
  mac: string;
  serial?: string;
  uuid?: string;
  /** "host" or "host:port"; null = no BMC matched */
  bmc?: string | null;
  /** with an inventory (default) and then `available` */
  inventory?: boolean;
}

/** Open the data dir with the daemon's Core, run `fn`, close it. */
export async function withCore<T>(dataDir: string, fn: (core: Core) => T | Promise<T>): Promise<T> {
  const core = new Core({ dataDir, logger: pino({ level: 'silent' }) });
  try {
    return await fn(core);
  } finally {
    core.close();
  }
}

/** A node as discovery leaves it (inventory, serial, UUID, BMC matched, available); returns its id. */
export function addNode(core: Core, n: SeedNode): string {
  const { node } = core.lifecycle.ensureNode(n.mac, 'api');
  const uuid = n.uuid ?? `00000000-0000-4000-8000-${n.mac.replace(/:/g, '')}`;
  if (n.inventory === false) {
    if (n.bmc) core.nodes.update(node.id, { bmcAddress: n.bmc, bmcMatchedBy: 'manual' });
    return node.id;
  }
  const inv = inventoryFor(n.mac, node.id, uuid, n.serial ?? `SN-${n.mac.slice(-5).replace(':', '')}`);
  // the summary facts the agent intake derives from an inventory (core/agent/intake.ts)
  core.nodes.update(node.id, {
    inventory: inv, serial: inv.dmi.system.serial, uuid, firmware: inv.bootMode, ip: inv.nics[0]!.ipv4,
    cpu: `${inv.cpu.model} ×${inv.cpu.threads}`, memoryMiB: Math.round(inv.memory.totalBytes! / 1048576),
    diskGiB: inv.disks.reduce((t, d) => t + (d.sizeBytes ?? 0), 0) / 1073741824,
    ...(n.bmc ? { bmcAddress: n.bmc, bmcMatchedBy: 'manual' as const } : {}),
  });
  core.lifecycle.transition(node.id, 'available', 'inventory');
  return node.id;
}

/** A finished hand-off as the job leaves it: verified and owned by the engine (the pivot done). */
export function seedHandedOver(core: Core, nodeId: string, engine: EngineRef, engineNode: string, result: HandoffVerification): void {
  const store = core.handoff.store;
  store.upsertEngine(engine, 'none', null);
  store.begin(nodeId, `seeded-${nodeId}`, engine);
  store.update(nodeId, { status: 'done', engineNode, result });
  const node = core.nodes.get(nodeId)!;
  store.setOwner(nodeId, engine, engineNode, [node.mac]);
}

/** A failed hand-off: the engine's message, and what was left behind in it (null: nothing). */
export function seedFailedHandoff(core: Core, nodeId: string, engine: EngineRef, error: string, leftBehind: string | null = null): void {
  const store = core.handoff.store;
  store.upsertEngine(engine, 'none', null);
  store.begin(nodeId, `seeded-${nodeId}`, engine);
  store.update(nodeId, { status: 'failed', error, leftBehind });
}
