// `rackseed deploy NODE… --image NAME [--hostname PATTERN] [--ssh-key FILE]… [--user-data FILE] [--root-device HINTS]
//  [--done-when auto|callback|dhcp|power] [--wait] [--json]` and `rackseed release NODE… [--erase] [--wait] [--json]`:
// deploy an image to nodes, or wipe and free them, through the daemon (RACKSEED_URL, RACKSEED_TOKEN; API:
// shared/deploy.ts). NODE: a node id, boot MAC or serial. With --wait: one progress line per node on a terminal
// (stage, bytes, MB/s), stage changes as lines otherwise; the exit code says how it ended (client.ts EXIT: FAILED when
// a node ended deploy-failed / clean-failed, TIMEOUT when --wait gave up). `rackseed deploy-settings [--writers N]
// [--read-back fletcher4|sha256] [--json]` shows or changes the daemon's deploy settings (GET|PUT /api/v1/deploy/settings).
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import type { BatchDeployRequest, Deployment, DeploySettings, RootDeviceHints } from '../../shared/deploy.ts';
import { DONE_WHEN, READ_BACK_CHECKS } from '../../shared/deploy.ts';
import { CliError, DaemonClient, EXIT, runAction } from './client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readText(file: string, what: string): string {
  try { return readFileSync(file, 'utf8'); } catch (err) { throw new CliError(`cannot read the ${what} file ${file}: ${(err as Error).message}`, EXIT.USAGE); }
}

/** Public key lines of one or more files (a .pub file or an authorized_keys): blank lines and # comments dropped. */
export function sshKeysFromFiles(files: string[]): string[] {
  return files.flatMap((f) => readText(f, 'SSH key').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
}

/** `serial=S1,size=100,name=sda,wwn=…,min-size=50` → RootDeviceHints. */
export function parseRootDevice(text: string): RootDeviceHints {
  const h: RootDeviceHints = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    const k = i > 0 ? part.slice(0, i).trim() : '';
    const v = i > 0 ? part.slice(i + 1).trim() : '';
    if (!v) throw new CliError(`--root-device: "${part}" is not KEY=VALUE (keys: name, serial, wwn, size, min-size)`, EXIT.USAGE);
    switch (k) {
      case 'name': h.name = v; break;
      case 'serial': h.serial = v; break;
      case 'wwn': h.wwn = v; break;
      case 'size': case 'min-size': {
        const n = Number(v.replace(/\s*gi?b?$/i, ''));
        if (!Number.isInteger(n) || n < 0) throw new CliError(`--root-device: ${k} must be a whole number of GiB, got ${v}`, EXIT.USAGE);
        if (k === 'size') h.size = n; else h.minSizeGiB = n;
        break;
      }
      default: throw new CliError(`--root-device: unknown hint ${k} (name, serial, wwn, size, min-size)`, EXIT.USAGE);
    }
  }
  return h;
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** One node's progress as one line: stage, a bar while bytes move, rate; the reason when failed. */
export function progressLine(d: Deployment, width = 24): string {
  const who = d.hostname ? `${d.nodeId.slice(0, 8)} ${d.hostname}` : d.nodeId;
  if (d.stage === 'failed') return `${who}  ${d.kind === 'deploy' ? 'deploy failed' : 'clean failed'}: ${d.error ?? '?'}`;
  if (d.stage === 'done') return `${who}  ${d.kind === 'deploy' ? `active (booted: ${d.bootedVia ?? '?'})` : 'available (released)'}`;
  if ((d.stage === 'writing' || d.stage === 'verifying' || d.stage === 'wiping') && d.totalBytes > 0) {
    const f = Math.min(1, d.bytes / d.totalBytes);
    const filled = Math.round(f * width);
    return `${who}  ${d.stage.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)} %  ` +
      `${mib(d.bytes)} of ${mib(d.totalBytes)}${d.mbps !== null ? `  ${d.mbps} MB/s` : ''}`;
  }
  return `${who}  ${d.stage}`;
}

/** The final table for a terminal. */
export function deploymentsTable(list: Deployment[]): string {
  if (list.length === 0) return 'nothing deployed or released yet';
  const rows = [['NODE', 'KIND', 'STAGE', 'HOSTNAME', 'IMAGE', 'DISK', 'DETAIL']];
  for (const d of list) {
    rows.push([d.nodeId, d.kind, d.stage, d.hostname ?? '-', d.image?.name ?? '-', d.disk?.name ?? '-',
      d.stage === 'failed' ? d.error ?? '' : d.stage === 'done' && d.kind === 'deploy' ? `booted (${d.bootedVia ?? '?'})` : d.totalBytes ? `${mib(d.bytes)} of ${mib(d.totalBytes)}` : '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 6 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/**
 * Poll the daemon until every listed deployment ended (done or failed), showing progress on stderr: redrawn lines on a
 * terminal, a line per stage change otherwise (nothing with --json). Throws TIMEOUT when `timeoutSec` passes.
 */
async function waitAll(client: DaemonClient, started: Deployment[], timeoutSec: number, json: boolean): Promise<Deployment[]> {
  const ids = new Set(started.map((d) => d.nodeId));
  const jobs = new Map(started.map((d) => [d.nodeId, d.jobId]));
  const tty = !json && process.stderr.isTTY === true;
  const seen = new Map<string, string>();
  let drawn = 0;
  let list = started;
  const end = Date.now() + timeoutSec * 1000;
  for (;;) {
    const all = await client.call<Deployment[]>('GET', '/api/v1/deployments');
    list = all.filter((d) => ids.has(d.nodeId) && jobs.get(d.nodeId) === d.jobId);
    if (tty) {
      const lines = list.map((d) => progressLine(d).slice(0, Math.max(40, (process.stderr.columns ?? 120) - 1)));
      process.stderr.write(`${drawn ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`);
      drawn = lines.length;
    } else if (!json) {
      for (const d of list) {
        const key = `${d.stage}`;
        if (seen.get(d.nodeId) !== key) { seen.set(d.nodeId, key); process.stderr.write(`${progressLine(d)}\n`); }
      }
    }
    if (list.length === ids.size && list.every((d) => d.stage === 'done' || d.stage === 'failed')) return list;
    if (Date.now() > end) throw new CliError(`still running after ${timeoutSec} s:\n${deploymentsTable(list)}`, EXIT.TIMEOUT, list);
    await sleep(1000);
  }
}

function failedCheck(list: Deployment[]): Deployment[] {
  const failed = list.filter((d) => d.stage === 'failed');
  if (failed.length > 0) {
    throw new CliError(`${failed.length} of ${list.length} node(s) failed:\n${failed.map((d) => progressLine(d)).join('\n')}`, EXIT.FAILED, list);
  }
  return list;
}

export function deployCommand(): Command {
  return new Command('deploy')
    .description('write an image to nodes\' disks, with a config drive (host name, SSH keys, user data), and boot them from disk (NODE: id, MAC or serial)')
    .argument('<node...>', 'node ids, MACs or serials')
    .requiredOption('--image <name>', 'an image of the library (rackseed images list)')
    .option('--hostname <pattern>', 'host name, or a pattern with {serial} {mac} {id} {index} {index:03} (default node-{serial})')
    .option('--ssh-key <file>', 'an OpenSSH public key file (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--user-data <file>', 'cloud-init user data (#cloud-config is checked as YAML; at most 64 KiB)')
    .option('--root-device <hints>', 'root device hints: name=sda,serial=…,wwn=…,size=GiB,min-size=GiB (default: the smallest disk that holds the image)')
    .addOption(new Option('--done-when <how>', 'when a node counts as deployed: auto (callback or DHCP), callback, dhcp, power').choices([...DONE_WHEN]))
    .option('--boot-timeout <seconds>', 'how long the deployed OS may take to report booting')
    .option('--wait', 'wait until every node is active or failed, showing progress', false)
    .option('--timeout <seconds>', 'with --wait: give up after this long', '3600')
    .option('--json', 'print JSON', false)
    .action(async (refs: string[], o: {
      image: string; hostname?: string; sshKey: string[]; userData?: string; rootDevice?: string; doneWhen?: BatchDeployRequest['doneWhen'];
      bootTimeout?: string; wait: boolean; timeout: string; json: boolean;
    }) => {
      await runAction(o.json, async () => {
        const body: BatchDeployRequest = { nodes: refs, image: o.image };
        if (o.hostname) body.hostname = o.hostname;
        if (o.sshKey.length) body.sshKeys = sshKeysFromFiles(o.sshKey);
        if (o.userData) body.userData = readText(o.userData, 'user data');
        if (o.rootDevice) body.rootDevice = parseRootDevice(o.rootDevice);
        if (o.doneWhen) body.doneWhen = o.doneWhen;
        if (o.bootTimeout) {
          const n = Number(o.bootTimeout);
          if (!Number.isInteger(n) || n < 1) throw new CliError('--boot-timeout must be a whole number of seconds', EXIT.USAGE);
          body.bootTimeoutSec = n;
        }
        const client = DaemonClient.fromEnv();
        const started = await client.call<Deployment[]>('POST', '/api/v1/deploy', body);
        if (!o.wait) return started;
        return failedCheck(await waitAll(client, started, Number(o.timeout), o.json));
      }, deploymentsTable);
    });
}

export function releaseCommand(): Command {
  return new Command('release')
    .description('wipe nodes\' disks (partition tables and signatures at both ends; --erase: every byte) and power them off: they become available (NODE: id, MAC or serial)')
    .argument('<node...>', 'node ids, MACs or serials')
    .option('--erase', 'also write zeros over every whole disk (slow)', false)
    .option('--wait', 'wait until every node is available or failed', false)
    .option('--timeout <seconds>', 'with --wait: give up after this long', '3600')
    .option('--json', 'print JSON', false)
    .action(async (refs: string[], o: { erase: boolean; wait: boolean; timeout: string; json: boolean }) => {
      await runAction(o.json, async () => {
        const client = DaemonClient.fromEnv();
        const started = await client.call<Deployment[]>('POST', '/api/v1/release', { nodes: refs, erase: o.erase });
        if (!o.wait) return started;
        return failedCheck(await waitAll(client, started, Number(o.timeout), o.json));
      }, deploymentsTable);
    });
}

export function deploySettingsCommand(): Command {
  return new Command('deploy-settings')
    .description('show the daemon\'s deploy settings, or change them: concurrent image writers, the read-back check')
    .option('--writers <n>', 'how many nodes may stream an image at once (1-1000); the rest wait queued')
    .addOption(new Option('--read-back <check>', 'how the agent checks the disk it wrote: fletcher4 (fast, 256-bit sum) or sha256 (cryptographic)').choices([...READ_BACK_CHECKS]))
    .option('--json', 'print JSON', false)
    .action(async (o: { writers?: string; readBack?: DeploySettings['readBackCheck']; json: boolean }) => {
      await runAction(o.json, async () => {
        const change: Partial<DeploySettings> = {};
        if (o.writers !== undefined) {
          const n = Number(o.writers);
          if (!Number.isInteger(n) || n < 1 || n > 1000) throw new CliError('--writers must be a whole number 1-1000', EXIT.USAGE);
          change.maxWriters = n;
        }
        if (o.readBack) change.readBackCheck = o.readBack;
        const client = DaemonClient.fromEnv();
        return Object.keys(change).length
          ? client.call<DeploySettings>('PUT', '/api/v1/deploy/settings', change)
          : client.call<DeploySettings>('GET', '/api/v1/deploy/settings');
      }, (s) => `concurrent writers  ${s.maxWriters}\nread-back check     ${s.readBackCheck}`);
    });
}

/** The verbs this file adds to `rackseed`. */
export function deployCommands(): Command[] {
  return [deployCommand(), releaseCommand(), deploySettingsCommand()];
}
