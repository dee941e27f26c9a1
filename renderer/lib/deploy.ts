// What the Deploy step and the fleet view compute about deploys (issue 15 item 7): host name previews (the daemon's
// pattern rules, core/deploy/hostname.ts, mirrored for the preview only — the daemon decides), the user-data and
// SSH-key checks done in the browser before anything is sent, a deployment's progress and stages, and which nodes can
// be deployed or released. Pure; unit-tested in test/unit/renderer-deploy.test.ts.
import { parseDocument } from 'yaml';
import type { Deployment, DeployStage } from '../../shared/deploy.ts';
import type { ImageRecord } from '../../shared/image.ts';
import { IMAGE_NAME } from '../../shared/image.ts';
import type { NodeEvent, NodeSummary } from '../../shared/node.ts';

export const DEFAULT_HOSTNAME_PATTERN = 'node-{serial}';

// ── host names ──

const TOKEN = /\{([a-z]+)(?::(\d{1,2}))?\}/g;

/** One node's host name from `pattern` ({serial} falls back to the MAC), or the problem with the pattern. */
export function previewHostname(pattern: string, n: { id: string; mac: string; serial: string | null }, index: number): { name: string } | { error: string } {
  let bad: string | null = null;
  const raw = pattern.replace(TOKEN, (whole, name: string, width: string | undefined) => {
    switch (name) {
      case 'serial': return n.serial && n.serial.trim() ? n.serial : n.mac.replace(/:/g, '-');
      case 'mac': return n.mac.replace(/:/g, '-');
      case 'id': return n.id;
      case 'index': return width ? String(index).padStart(Number(width), '0') : String(index);
      default: bad ??= `unknown placeholder ${whole} (use {serial}, {mac}, {id}, {index})`; return '';
    }
  });
  if (bad) return { error: bad };
  if (/[{}]/.test(raw)) return { error: 'unbalanced brace in the pattern' };
  const name = raw.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  if (!name) return { error: `the pattern gives an empty name for ${n.mac}` };
  return { name };
}

/** Host names of the nodes in order (index 1-based), or the first problem (a bad pattern, two nodes with one name). */
export function previewHostnames(pattern: string, nodes: readonly { id: string; mac: string; serial: string | null }[]): { names: string[]; error: string | null } {
  const names: string[] = [];
  const seen = new Map<string, string>();
  for (let i = 0; i < nodes.length; i++) {
    const r = previewHostname(pattern, nodes[i]!, i + 1);
    if ('error' in r) return { names, error: r.error };
    const other = seen.get(r.name);
    if (other) return { names, error: `${other} and ${nodes[i]!.mac} would both be ${r.name}: add {serial}, {mac} or {index}` };
    seen.set(r.name, nodes[i]!.mac);
    names.push(r.name);
  }
  return { names, error: null };
}

// ── user data and SSH keys ──

export const USER_DATA_MAX = 64 * 1024;

export type UserDataCheck =
  | { ok: true; kind: 'none' | 'cloud-config' | 'script' | 'other'; note: string | null }
  | { ok: false; error: string };

/**
 * The checks the config drive applies (core/deploy/config-drive.ts checkUserData, same messages), run as the
 * engineer types: at most 64 KiB; `#cloud-config` must be YAML (line and column of the first error) whose top level
 * is a mapping. Other kinds pass as cloud-init takes them; a first line cloud-init does not know gets a note.
 */
export function checkUserData(text: string): UserDataCheck {
  if (!text.trim()) return { ok: true, kind: 'none', note: null };
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > USER_DATA_MAX) return { ok: false, error: `user data is over 64 KiB (${bytes} bytes; the limit is ${USER_DATA_MAX})` };
  if (!/^#cloud-config[ \t]*(\r?\n|$)/.test(text)) {
    const first = text.split('\n', 1)[0]!.trim();
    if (first.startsWith('#!')) return { ok: true, kind: 'script', note: 'a script: cloud-init runs it once at first boot' };
    if (/^(#include|#cloud-boothook|#part-handler|## template:|content-type:)/i.test(first)) return { ok: true, kind: 'other', note: null };
    return { ok: true, kind: 'other', note: 'the first line is neither #cloud-config nor #! (a script): cloud-init will not act on it' };
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : 'at the end';
    const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return { ok: false, error: `user data is not valid YAML: ${where}: ${what}` };
  }
  const top = doc.toJS() as unknown;
  if (top !== null && top !== undefined && (typeof top !== 'object' || Array.isArray(top))) {
    return { ok: false, error: `user data (#cloud-config) must be a YAML mapping of cloud-init modules, not ${Array.isArray(top) ? 'a list' : `a ${typeof top}`}` };
  }
  return { ok: true, kind: 'cloud-config', note: null };
}

const KEY_TYPES = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;

/** OpenSSH public key lines (blank lines and # comments skipped), or the first line that is not one. */
export function parseSshKeys(text: string): { keys: string[]; error: string | null } {
  const keys: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith('#')) continue;
    const [type, blob] = line.split(/\s+/);
    if (!KEY_TYPES.test(type ?? '') || !blob || !/^[A-Za-z0-9+/]+={0,3}$/.test(blob)) {
      return { keys, error: `line ${i + 1} is not an OpenSSH public key (ssh-ed25519 AAAA… comment)${line.includes('PRIVATE KEY') ? ' — that is a PRIVATE key: never paste it here' : ''}` };
    }
    keys.push(line);
  }
  return { keys, error: null };
}

// ── images ──

/** A library name out of a file name: "debian-12-generic-amd64.qcow2" → "debian-12-generic-amd64". */
export function imageNameFromFile(fileName: string): string {
  const base = fileName.replace(/\.(gz|xz)$/i, '').replace(/\.(qcow2|raw|img|iso)$/i, '');
  const name = base.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64);
  return IMAGE_NAME.test(name) ? name : 'image';
}

/** What an import is doing now, for its progress bar: fraction (null = unknown) and words. */
export function importProgress(img: ImageRecord): { fraction: number | null; text: string } {
  if (img.state === 'ready') return { fraction: 1, text: 'ready' };
  if (img.state === 'failed') return { fraction: null, text: `failed: ${img.error ?? 'unknown reason'}` };
  const p = img.progress;
  if (!p) return { fraction: null, text: 'importing' };
  const words = { upload: 'receiving', convert: 'converting (qemu-img)', hash: 'computing SHA-256', inspect: 'checking boot modes' }[p.phase];
  return { fraction: p.total ? Math.min(1, p.done / p.total) : null, text: words };
}

// ── deployments ──

export const DEPLOY_STAGES: readonly DeployStage[] = ['booting-agent', 'writing', 'verifying', 'config-drive', 'powering-off', 'booting-os', 'done'];
export const CLEAN_STAGES: readonly DeployStage[] = ['booting-agent', 'wiping', 'powering-off', 'done'];

export const STAGE_TEXT: Record<DeployStage, string> = {
  starting: 'starting', queued: 'queued (waiting for a writer slot)', 'booting-agent': 'booting the agent', writing: 'writing the image',
  verifying: 'verifying (read back)', 'config-drive': 'writing the config drive', 'powering-off': 'powering off', 'booting-os': 'booting the OS from disk',
  wiping: 'wiping disks', done: 'done', failed: 'failed',
};

/** A deployment's bar: the fraction of the current byte-moving stage, or of the stages passed otherwise. */
export function deployProgress(d: Deployment): { fraction: number; text: string } {
  const stages = d.kind === 'deploy' ? DEPLOY_STAGES : CLEAN_STAGES;
  if (d.stage === 'done') return { fraction: 1, text: 'done' };
  if ((d.stage === 'writing' || d.stage === 'verifying') && d.totalBytes > 0) {
    const f = Math.min(1, d.bytes / d.totalBytes);
    return { fraction: f, text: `${STAGE_TEXT[d.stage]} ${Math.floor(f * 100)} %` };
  }
  const i = stages.indexOf(d.stage);
  return { fraction: i < 0 ? 0 : i / (stages.length - 1), text: STAGE_TEXT[d.stage] };
}

/** "12.5 MB/s" (10^6 bytes, as the daemon measures), "—" when not moving. */
export function formatRate(mbps: number | null): string {
  return mbps === null ? '—' : `${mbps.toFixed(mbps >= 100 ? 0 : 1)} MB/s`;
}

export type DeployStageStatus = 'done' | 'running' | 'failed' | 'pending';

export interface DeployTimelineStage { stage: DeployStage; status: DeployStageStatus; startedAt: number | null; durationMs: number | null }

/** Agent commands that begin a stage (the daemon moves to `writing`/`wiping` with the agent's first report). */
const COMMAND_STAGE: Record<string, DeployStage> = { deploy: 'writing', verify: 'verifying', configdrive: 'config-drive', clean: 'wiping' };

/** The stage an event says began: 'deploy-stage' {stage}, the agent's command, its first progress report, the end. */
function stageOfEvent(e: NodeEvent): DeployStage | null {
  const d = e.detail ?? {};
  if (e.kind === 'deploy-stage' && typeof d.stage === 'string') return d.stage as DeployStage;
  if (e.kind === 'agent-command' && typeof d.action === 'string') return COMMAND_STAGE[d.action] ?? null;
  if (e.kind === 'deploy-progress' && typeof d.stage === 'string') return d.stage as DeployStage;
  if (e.kind === 'deploy-done' || e.kind === 'clean-done') return 'done';
  return null;
}

/**
 * The stages of a node's latest deploy or clean from its events after the last 'deploy-start' / 'clean-start'
 * (stageOfEvent) and its deployment record (the current stage, failure). `now` closes the running stage's duration.
 */
export function deployTimeline(events: readonly NodeEvent[], d: Deployment | undefined, now: number): { kind: 'deploy' | 'clean'; stages: DeployTimelineStage[]; error: string | null } | null {
  const sorted = events.slice().sort((a, b) => a.at - b.at || a.id - b.id);
  let startIdx = -1;
  for (let i = sorted.length - 1; i >= 0; i--) if (sorted[i]!.kind === 'deploy-start' || sorted[i]!.kind === 'clean-start') { startIdx = i; break; }
  if (startIdx < 0 && !d) return null;
  const kind: 'deploy' | 'clean' = startIdx >= 0 ? (sorted[startIdx]!.kind === 'clean-start' ? 'clean' : 'deploy') : d!.kind;
  const list = kind === 'deploy' ? DEPLOY_STAGES : CLEAN_STAGES;
  const starts = new Map<DeployStage, number>();
  if (startIdx >= 0) starts.set('booting-agent', sorted[startIdx]!.at);
  for (const e of sorted.slice(Math.max(0, startIdx))) {
    const st = stageOfEvent(e);
    if (st && list.includes(st) && !starts.has(st)) starts.set(st, e.at);
  }
  const failed = d?.stage === 'failed';
  const current = d && !failed ? d.stage : null;
  const reachedIdx = Math.max(current ? list.indexOf(current) : -1, ...[...starts.keys()].map((s) => list.indexOf(s)));
  const stages = list.map((stage, i): DeployTimelineStage => {
    const startedAt = starts.get(stage) ?? null;
    let status: DeployStageStatus;
    if (stage === 'done') status = current === 'done' ? 'done' : 'pending';
    else if (i < reachedIdx) status = 'done';
    else if (i === reachedIdx) status = failed ? 'failed' : current === 'done' ? 'done' : 'running';
    else status = 'pending';
    return { stage, status, startedAt, durationMs: null };
  });
  stages.forEach((s, i) => {
    if (s.startedAt === null || s.stage === 'done') return;
    const next = stages.slice(i + 1).find((x) => x.startedAt !== null);
    const end = next?.startedAt ?? (s.status === 'running' ? now : d?.finishedAt ?? d?.updatedAt ?? null);
    s.durationMs = end === null ? null : Math.max(0, end - s.startedAt);
  });
  return { kind, stages, error: failed ? d!.error : null };
}

/** States a node deploys from: available, or active / deploy-failed to redeploy (the daemon's rule). */
export function canDeploy(n: NodeSummary): boolean {
  return !n.maintenance && (n.state === 'available' || n.state === 'active' || n.state === 'deploy-failed');
}

/** States a node can be released (cleaned) from. */
export function canRelease(n: NodeSummary): boolean {
  return !n.maintenance && ['active', 'available', 'deploy-failed', 'clean-failed'].includes(n.state);
}

/** Why an image cannot go to a node's firmware, or null. */
export function bootModeProblem(img: ImageRecord | undefined, n: NodeSummary): string | null {
  if (!img || !n.firmware) return null;
  return img.bootModes.includes(n.firmware) ? null : `${n.firmware.toUpperCase()} node; the image boots ${img.bootModes.map((m) => m.toUpperCase()).join('/') || 'nothing'}`;
}
