// What the Seed step computes (issue 17 item 4): the stage texts and the timeline of a seed record, which nodes can be
// the control node (available, RAM against the control image's need as the daemon states it), the network form's
// checks (done in the browser before anything is sent; the daemon checks again and decides) and a first suggestion of
// the control node's addresses from the appliance's own network. Pure; unit-tested in test/unit/renderer-seed.test.ts.
import { SEED_STAGES, type SeedPlan, type SeedPlanNode, type SeedRecord, type SeedRequest, type SeedStageName, type SeedStageStatus } from '../../shared/seed.ts';
import type { NodeState, NodeSummary } from '../../shared/node.ts';

/** Each stage as the timeline names it. */
export const SEED_STAGE_TEXT: Record<SeedStageName, string> = {
  'deploy-control': 'Deploy the control node',
  'wait-ironic': 'Wait for its Ironic',
  handoff: 'Hand the nodes over',
  pivot: 'Pivot: RackSeed stops answering them',
  report: 'Report',
};

/** What each stage does, in one line under its name. */
export const SEED_STAGE_HELP: Record<SeedStageName, string> = {
  'deploy-control': 'the control image (Debian + Ironic, dnsmasq, nginx) written to the control node, its config drive, booted from disk',
  'wait-ironic': 'the control node\'s Ironic API answers, with the password RackSeed generated',
  handoff: 'every other node enrolled in that Ironic, verified through it (available, power state, ports), set to boot the control node\'s ramdisk',
  pivot: 'RackSeed answers no DHCP/proxyDHCP for these machines and drives none of their BMCs',
  report: 'who owns what, read back from Ironic',
};

export const SEED_STATUS_TEXT: Record<SeedStageStatus, string> = { pending: 'not reached', running: 'in progress', done: 'done', failed: 'failed' };

export interface SeedTimelineStage {
  name: SeedStageName;
  text: string;
  status: SeedStageStatus;
  startedAt: number | null;
  /** finished − started, or now − started while it runs; null before it started */
  durationMs: number | null;
  detail: string | null;
  error: string | null;
}

/** The five stages in order with their durations (`now` for the running one). */
export function seedTimeline(seed: SeedRecord, now: number): SeedTimelineStage[] {
  return SEED_STAGES.map((name) => {
    const s = seed.stages.find((x) => x.name === name);
    const status = s?.status ?? 'pending';
    const startedAt = s?.startedAt ?? null;
    const end = s?.finishedAt ?? (status === 'running' ? now : null);
    return {
      name, text: SEED_STAGE_TEXT[name], status, startedAt,
      durationMs: startedAt !== null && end !== null ? Math.max(0, end - startedAt) : null,
      detail: s?.detail ?? null, error: s?.error ?? null,
    };
  });
}

/** From "seed" to "laptop can be unplugged" (the report's end), or so far; null before it started. */
export function seedElapsedMs(seed: SeedRecord, now: number): number {
  const end = seed.status === 'done' ? seed.report?.finishedAt ?? seed.updatedAt : seed.status === 'running' ? now : seed.updatedAt;
  return Math.max(0, end - seed.startedAt);
}

/** The stage a failed seed stopped at, as the Resume button names it. */
export function failedStage(seed: SeedRecord | null): SeedStageName | null {
  return seed?.status === 'failed' ? seed.stage : null;
}

export interface ControlCandidate {
  id: string;
  mac: string;
  serial: string | null;
  state: NodeState | null;
  memoryMiB: number | null;
  diskGiB: number | null;
  /** the RAM check against the control image's need */
  ram: 'ok' | 'too-small' | 'unknown';
  /** why it cannot be the control node (null: it can) */
  problem: string | null;
}

/**
 * Every node of the plan as a control-node candidate: only an `available` node with enough RAM can be chosen. The
 * daemon's plan has the sizes; the store's nodes have the state. Sorted: the ones that can first, most RAM first.
 */
export function controlCandidates(plan: SeedPlan, nodes: Record<string, NodeSummary>): ControlCandidate[] {
  const out = plan.nodes.map((p: SeedPlanNode): ControlCandidate => {
    const n = nodes[p.id];
    const state = n?.state ?? null;
    const ram = p.memoryMiB === null ? 'unknown' : p.memoryMiB >= plan.minMemoryMiB ? 'ok' : 'too-small';
    let problem: string | null = null;
    if (state !== 'available') problem = state ? `${state}: the control node must be available` : 'not in the node list';
    else if (ram === 'unknown') problem = 'no inventory yet: inspect it first';
    else if (ram === 'too-small') problem = `too small: ${p.memoryMiB} MiB of RAM, the control image needs ${plan.minMemoryMiB} MiB`;
    else if (p.action === 'skip' && p.reason && !/^available/.test(p.reason)) problem = p.reason;
    return { id: p.id, mac: p.mac, serial: p.serial, state, memoryMiB: p.memoryMiB, diskGiB: p.diskGiB, ram, problem };
  });
  return out.sort((a, b) => Number(a.problem !== null) - Number(b.problem !== null) || (b.memoryMiB ?? 0) - (a.memoryMiB ?? 0) || (b.diskGiB ?? 0) - (a.diskGiB ?? 0) || a.mac.localeCompare(b.mac));
}

/** What the plan does with each node, in words (the plan table). */
export function planActionText(n: SeedPlanNode): string {
  if (n.action === 'control') return 'becomes the control node';
  if (n.action === 'handoff') return 'handed over to the control node\'s Ironic';
  return `stays RackSeed's${n.reason ? ` (${n.reason})` : ''}`;
}

// ── the network form ──

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** An IPv4 address as a number, or null. */
export function ipToInt(ip: string): number | null {
  const m = IPV4.exec(ip.trim());
  if (!m) return null;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return null;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** "10.0.0.2/24" → address and prefix, or null. */
export function parseCidr(cidr: string): { ip: number; prefix: number } | null {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return null;
  const ip = ipToInt(m[1]!);
  const prefix = Number(m[2]);
  return ip === null || prefix < 8 || prefix > 30 ? null : { ip, prefix };
}

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** A netmask ("255.255.255.0") as a prefix length, or null when it is not one. */
export function netmaskPrefix(mask: string): number | null {
  const n = ipToInt(mask);
  if (n === null) return null;
  for (let p = 0; p <= 32; p++) if (maskOf(p) === n) return p;
  return null;
}

/** The Seed step's network fields, as typed. */
export interface SeedForm {
  provisioningCidr: string;
  dhcpStart: string;
  dhcpEnd: string;
  netmask: string;
  /** the control node's second NIC on the BMC network; both empty: none (the BMCs are routed) */
  bmcMac: string;
  bmcCidr: string;
  /** seconds; '' = the daemon's default (600) */
  ironicTimeoutSec: string;
}

export type SeedFormCheck = { ok: true; network: SeedRequest['network']; ironicTimeoutSec?: number } | { ok: false; errors: Partial<Record<keyof SeedForm, string>> };

/** Check the fields and build the request's network part; each problem named on its field. */
export function checkSeedForm(f: SeedForm): SeedFormCheck {
  const errors: Partial<Record<keyof SeedForm, string>> = {};
  const prov = parseCidr(f.provisioningCidr);
  if (!prov) errors.provisioningCidr = 'an IPv4 address with a prefix, e.g. 10.0.0.2/24';
  const start = ipToInt(f.dhcpStart);
  const end = ipToInt(f.dhcpEnd);
  const maskPrefix = netmaskPrefix(f.netmask);
  if (start === null) errors.dhcpStart = 'an IPv4 address';
  if (end === null) errors.dhcpEnd = 'an IPv4 address';
  if (maskPrefix === null) errors.netmask = 'a netmask such as 255.255.255.0';
  if (start !== null && end !== null && start > end) errors.dhcpEnd = 'the range ends before it starts';
  if (prov && start !== null && end !== null && !errors.dhcpEnd) {
    const m = maskOf(prov.prefix);
    if ((start & m) >>> 0 !== (prov.ip & m) >>> 0 || (end & m) >>> 0 !== (prov.ip & m) >>> 0) errors.dhcpStart = `the range must be in the control node's network (${intToIp((prov.ip & m) >>> 0)}/${prov.prefix})`;
    else if (prov.ip >= start && prov.ip <= end) errors.provisioningCidr = 'the control node\'s own address is inside its DHCP range';
    if (maskPrefix !== null && maskPrefix !== prov.prefix && !errors.netmask) errors.netmask = `the control node's address has /${prov.prefix}: the netmask is ${intToIp(maskOf(prov.prefix))}`;
  }
  const mac = f.bmcMac.trim().toLowerCase();
  const bmcCidr = f.bmcCidr.trim();
  if (mac || bmcCidr) {
    if (!MAC.test(mac)) errors.bmcMac = 'a MAC such as 52:54:00:aa:01:01 (or leave both BMC fields empty)';
    const b = parseCidr(bmcCidr);
    if (!b) errors.bmcCidr = 'an IPv4 address with a prefix (or leave both BMC fields empty)';
  }
  let ironicTimeoutSec: number | undefined;
  if (f.ironicTimeoutSec.trim()) {
    const t = Number(f.ironicTimeoutSec);
    if (!Number.isInteger(t) || t < 1 || t > 86_400) errors.ironicTimeoutSec = 'whole seconds, 1 to 86400';
    else ironicTimeoutSec = t;
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    network: {
      provisioningCidr: f.provisioningCidr.trim(),
      bmcNic: mac ? { mac, cidr: bmcCidr } : null,
      dhcpRange: { start: f.dhcpStart.trim(), end: f.dhcpEnd.trim(), netmask: f.netmask.trim() },
    },
    ...(ironicTimeoutSec !== undefined ? { ironicTimeoutSec } : {}),
  };
}

/**
 * A first suggestion for the control node's addresses, from the appliance's address on the provisioning network
 * ("10.0.0.1/24") and RackSeed's own DHCP pool (authoritative mode): in the /24 block holding the appliance, the
 * control node at .250 and its dnsmasq range .200–.249, else .10 and .20–.69 — whichever keeps clear of the appliance
 * and the pool. Null when the appliance's address is unknown or its network is smaller than a /24. Only a suggestion: the fields stay editable.
 */
export function suggestSeedForm(applianceCidr: string | null, pool: { first: string; last: string } | null): Pick<SeedForm, 'provisioningCidr' | 'dhcpStart' | 'dhcpEnd' | 'netmask'> | null {
  const a = applianceCidr ? parseCidr(applianceCidr) : null;
  if (!a || a.prefix > 24) return null;
  const block = (a.ip & 0xffffff00) >>> 0;
  const p1 = pool ? ipToInt(pool.first) : null;
  const p2 = pool ? ipToInt(pool.last) : null;
  const clear = (lo: number, hi: number): boolean => (a.ip < lo || a.ip > hi) && (p1 === null || p2 === null || hi < p1 || lo > p2);
  for (const [ctl, lo, hi] of [[250, 200, 249], [10, 20, 69]] as const) {
    if (!clear(block + lo, block + hi) || !clear(block + ctl, block + ctl)) continue;
    return { provisioningCidr: `${intToIp(block + ctl)}/${a.prefix}`, dhcpStart: intToIp(block + lo), dhcpEnd: intToIp(block + hi), netmask: intToIp(maskOf(a.prefix)) };
  }
  return null;
}
