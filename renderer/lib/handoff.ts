// What the UI says about ownership and hand-offs (issue 16): owner labels, a node's hand-off status in one line, the
// running job's step as progress, which selected nodes can be handed over, and the hand-off form's checks. Pure;
// unit-tested in test/unit/renderer-handoff.test.ts.
import type { Job } from '../../shared/api.ts';
import type { EngineInfo, HandoffRecord, HandoffRequest, NodeOwner } from '../../shared/handoff.ts';
import type { NodeSummary } from '../../shared/node.ts';

/** The steps of a hand-off job, in order (core/handoff/service.ts HANDOFF_STEPS), as a field engineer reads them. */
export const HANDOFF_STEP_TEXT: Record<string, string> = {
  'read-bmc': 'reading the BMC',
  engine: 'checking the engine',
  node: 'creating the Ironic node',
  ports: 'creating the ports',
  manage: 'manage: Ironic reads the BMC',
  provide: 'provide: to available',
  verify: 'verifying power and ports',
  pivot: 'handing over (pivot)',
};

/** "10.0.0.5:6385" out of "http://10.0.0.5:6385"; the URL itself when it does not parse. */
export function engineHost(url: string): string {
  try {
    const u = new URL(url);
    return u.host + (u.pathname === '/' ? '' : u.pathname);
  } catch {
    return url;
  }
}

/** "RackSeed" or "Ironic 10.0.0.5:6385" (the full URL is in ownerTitle). */
export function ownerLabel(owner: NodeOwner | undefined): string {
  if (!owner || owner === 'rackseed') return 'RackSeed';
  return `${owner.kind === 'ironic' ? 'Ironic' : owner.kind} ${engineHost(owner.url)}`;
}

export function ownerTitle(owner: NodeOwner | undefined): string {
  if (!owner || owner === 'rackseed') return 'RackSeed answers this node\'s PXE requests and drives its BMC';
  return `Owned by ${owner.kind} at ${owner.url}${owner.engineNode ? ` (node ${owner.engineNode})` : ''}: RackSeed does not answer its PXE requests nor drive its BMC`;
}

export function isEngineOwned(r: HandoffRecord | undefined): boolean {
  return !!r && r.owner !== 'rackseed';
}

export interface StepProgress {
  /** steps finished */
  done: number;
  total: number;
  /** the step running now (or that failed), null when none */
  current: string | null;
  /** human text of `current` */
  text: string;
}

/** Where a hand-off job is: finished steps, the running one, and what it means. */
export function handoffProgress(job: Job | undefined): StepProgress | null {
  if (!job || job.steps.length === 0) return null;
  const done = job.steps.filter((s) => s.status === 'done').length;
  const cur = job.steps.find((s) => s.status === 'running' || s.status === 'failed') ?? job.steps.find((s) => s.status === 'pending') ?? null;
  const name = job.status === 'done' ? null : cur?.name ?? null;
  return { done, total: job.steps.length, current: name, text: name ? HANDOFF_STEP_TEXT[name] ?? name : job.status === 'done' ? 'finished' : '' };
}

export type Tone = 'ok' | 'bad' | 'busy' | 'off' | 'info';

/** One line about a node's latest hand-off for the fleet table: badge text, tone and a detail. */
export function handoffSummary(r: HandoffRecord | undefined, job?: Job): { label: string; tone: Tone; detail: string } | null {
  if (!r || r.status === null) return null;
  switch (r.status) {
    case 'running': {
      const p = handoffProgress(job);
      return { label: 'handing over', tone: 'busy', detail: p ? `${p.text} (${Math.min(p.done + 1, p.total)}/${p.total})` : 'started' };
    }
    case 'done': return { label: 'handed over', tone: 'ok', detail: verificationText(r) };
    case 'failed': return { label: 'hand-off failed', tone: 'bad', detail: r.error ?? 'failed' };
    case 'taken-back': return { label: 'taken back', tone: 'info', detail: r.engine ? `from ${engineHost(r.engine.url)}` : '' };
  }
}

/** "available · power off = BMC ✓ · 2 ports ✓" from what RackSeed read back from the engine. */
export function verificationText(r: HandoffRecord): string {
  const v = r.result;
  if (!v) return r.engineNode ? `node ${r.engineNode}` : '';
  const engine = (v.enginePower ?? 'unknown').replace(/^power /, '');
  const power = v.powerMatches ? `power ${engine} = BMC ✓` : `power ${engine} ≠ BMC ${v.bmcPower ?? 'unknown'} ✗`;
  return [v.provisionState, power, `${v.ports.length} port${v.ports.length === 1 ? '' : 's'} ${v.portsMatch ? '✓' : '✗'}`].join(' · ');
}

/** The step a failed job stopped at, as text ("creating the Ironic node"), or null. */
export function failedStep(job: Job | undefined): string | null {
  const s = job?.steps.find((x) => x.status === 'failed');
  return s ? HANDOFF_STEP_TEXT[s.name] ?? s.name : null;
}

/** Why a node cannot be handed over now (the daemon refuses it with 409), or null when it can. */
export function handoffBlocker(n: NodeSummary, r: HandoffRecord | undefined): string | null {
  if (isEngineOwned(r)) return `owned by ${ownerLabel(r!.owner)} already: take it back first`;
  if (r?.status === 'running') return 'a hand-off is running';
  if (!n.bmc) return 'no BMC: Ironic could not drive it';
  if (n.cpu === null && n.memoryMiB === null && n.diskGiB === null) return 'no inventory yet: inspect it first';
  if (n.state === 'inspecting' || n.state === 'deploying' || n.state === 'cleaning') return `${n.state}: wait for it to finish`;
  return null;
}

export interface HandoffForm {
  url: string;
  auth: 'none' | 'basic';
  user: string;
  password: string;
}

/** The URL as the daemon normalises it: origin + path without trailing slashes or /v1; null when not http(s). */
export function normalizeEngineUrl(url: string): string | null {
  let u: URL;
  try { u = new URL(url.trim()); } catch { return null; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  return u.origin + u.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/**
 * Check the hand-off form before it is sent; returns the request, or the problem per field. A password may be left
 * empty when the daemon has one stored for this engine and user (it is never shown back).
 */
export function checkHandoffForm(f: HandoffForm, nodes: string[], engines: EngineInfo[]):
  { ok: true; request: HandoffRequest } | { ok: false; errors: Partial<Record<keyof HandoffForm | 'nodes', string>> } {
  const errors: Partial<Record<keyof HandoffForm | 'nodes', string>> = {};
  if (nodes.length === 0) errors.nodes = 'no node can be handed over';
  const url = f.url.trim();
  let normalized: string | null = null;
  if (!url) errors.url = 'give the Ironic API URL, e.g. http://10.0.0.5:6385';
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) errors.url = `start the URL with http:// or https:// (e.g. http://${url})`;
  else {
    let parsed: URL | null = null;
    try { parsed = new URL(url); } catch { /* below */ }
    if (!parsed) errors.url = `not a URL: ${url} (e.g. http://10.0.0.5:6385)`;
    else if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') errors.url = `the Ironic URL must start with http:// or https:// (got ${parsed.protocol})`;
    else if (parsed.username || parsed.password) errors.url = 'give the user and password in their own fields, not in the URL';
    else normalized = normalizeEngineUrl(url);
  }
  const user = f.user.trim();
  if (f.auth === 'basic') {
    if (!user) errors.user = 'HTTP basic auth needs a user';
    const stored = normalized ? engines.find((e) => e.url === normalized && e.auth === 'basic' && e.user === user && e.passwordSet) : undefined;
    if (!f.password && !stored) errors.password = 'give the password (none is stored for this engine and user)';
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  const engine: HandoffRequest['engine'] = { kind: 'ironic', url, auth: f.auth };
  if (f.auth === 'basic') {
    engine.user = user;
    if (f.password) engine.password = f.password;
  }
  return { ok: true, request: { nodes, engine } };
}

/** Whether a stored engine already has a password for this URL and user (the form then says "stored"). */
export function storedPassword(f: Pick<HandoffForm, 'url' | 'user'>, engines: EngineInfo[]): boolean {
  const url = normalizeEngineUrl(f.url);
  return !!url && engines.some((e) => e.url === url && e.auth === 'basic' && e.user === f.user.trim() && e.passwordSet);
}

export const EXPORT_FORMAT_TEXT: Record<string, { label: string; hint: string }> = {
  metal3: { label: 'Metal3', hint: 'BareMetalHost + BMC Secret YAML (kubectl apply)' },
  tinkerbell: { label: 'Tinkerbell', hint: 'Hardware + bmc.tinkerbell.org Machine + Secret YAML' },
  ironic: { label: 'Ironic node file', hint: 'the file `openstack baremetal create` reads' },
  ansible: { label: 'Ansible', hint: 'YAML inventory with Bifrost\'s baremetal fields' },
  csv: { label: 'CSV', hint: 'one row per node; RackSeed imports it back' },
};

/** The file name out of a Content-Disposition header, or the fallback. */
export function attachmentName(header: string | null, fallback: string): string {
  const m = header ? /filename="?([^";]+)"?/i.exec(header) : null;
  const name = m?.[1]?.trim();
  return name && !/[/\\]/.test(name) ? name : fallback;
}
