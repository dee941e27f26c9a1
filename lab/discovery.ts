// The bring-up the lab drives through RackSeed's API, exactly as an engineer would in the UI: store the BMC
// credentials, sweep the BMC segment, start discovery, and follow the nodes until they are `available`.
import type { BmcInfo, Job, SweepStatus } from '../shared/api.ts';
import type { NodeSummary } from '../shared/node.ts';
import type { LabApi } from './api-client.ts';
import { sleep } from './processes.ts';

export interface BringUpOptions {
  user: string;
  password: string;
  /** BMC segment to sweep, e.g. 10.242.0.0/24 */
  cidr: string;
  /** BMC addresses that must be found */
  expectBmcs: string[];
  sweepTimeoutMs?: number;
  discoveryTimeoutMs?: number;
  /** one line per visible change (BMC found, node state, job status) */
  progress?: (line: string) => void;
  /** stop waiting early (Ctrl-C) */
  signal?: AbortSignal;
}

export interface BringUpResult { bmcs: BmcInfo[]; nodes: NodeSummary[]; jobs: Job[] }

async function until<T>(what: string, timeoutMs: number, signal: AbortSignal | undefined, probe: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new Error(`${what}: interrupted`);
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`${what}: not reached within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(1000);
  }
}

/** Sweep the BMC segment and wait until every expected BMC is listed. */
export async function sweepBmcs(api: LabApi, o: BringUpOptions): Promise<BmcInfo[]> {
  const say = o.progress ?? (() => {});
  await api.put('/api/v1/bmc/credentials', { user: o.user, password: o.password });
  const st = await api.post<SweepStatus>('/api/v1/bmc/sweep', { cidr: o.cidr });
  say(`sweep ${st.cidr} started (${st.total} addresses)`);
  const seen = new Set<string>();
  return until('BMC sweep', o.sweepTimeoutMs ?? 60_000, o.signal, async () => {
    const bmcs = await api.get<BmcInfo[]>('/api/v1/bmcs');
    for (const b of bmcs) {
      if (!seen.has(b.address)) { seen.add(b.address); say(`BMC found: ${b.address} ${b.protocol === 'redfish' ? 'Redfish' : 'IPMI'} guid ${b.guid ?? '?'} power ${b.power ?? '?'}${b.tlsFingerprint ? ` certificate ${b.tlsFingerprint}` : ''}${b.error ? ` (${b.error})` : ''}`); }
    }
    return o.expectBmcs.every((a) => bmcs.some((b) => b.address === a)) ? bmcs : null;
  });
}

/** Start discovery and wait until `count` nodes are `available`. */
export async function discoverNodes(api: LabApi, count: number, o: BringUpOptions): Promise<BringUpResult> {
  const say = o.progress ?? (() => {});
  const jobs = await api.post<Job[]>('/api/v1/discovery', {});
  say(`discovery started: ${jobs.length} job(s)`);
  const last = new Map<string, string>();
  const note = (key: string, text: string) => { if (last.get(key) !== text) { last.set(key, text); say(text); } };
  const nodes = await until(`${count} nodes available`, o.discoveryTimeoutMs ?? 600_000, o.signal, async () => {
    const [ns, js] = await Promise.all([api.get<NodeSummary[]>('/api/v1/nodes'), api.get<Job[]>('/api/v1/jobs')]);
    for (const j of js) {
      const step = j.steps.find((s) => s.status === 'running')?.name ?? '';
      note(`job:${j.id}`, `job ${j.kind} ${j.bmcAddress ?? j.nodeId ?? ''}: ${j.status}${step ? ` (${step})` : ''}${j.error ? ` — ${j.error}` : ''}`);
    }
    for (const n of ns) note(`node:${n.id}`, `node ${n.mac} ${n.state}${n.serial ? ` serial ${n.serial}` : ''}${n.bmc ? ` bmc ${n.bmc.address}` : ''}${n.lastError ? ` — ${n.lastError}` : ''}`);
    const available = ns.filter((n) => n.state === 'available');
    note('count', `${available.length}/${count} nodes available`);
    return available.length >= count ? ns : null;
  });
  return { bmcs: await api.get<BmcInfo[]>('/api/v1/bmcs'), nodes, jobs: await api.get<Job[]>('/api/v1/jobs') };
}
