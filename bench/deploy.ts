// Deploy: power-on → `active` for the lab-debian cloud image on N virtual-rack nodes at once (default 3: SeaBIOS/e1000,
// OVMF/virtio-net, SeaBIOS/e1000), RackSeed's deploy against a floor measured in the same run on the same nodes.
//
// The floor is the least any deploy of this image can do on this rack: the same nodes power on through their BMCs,
// PXE-boot the same discovery ramdisk from the same daemon (so the ramdisk boot is in both) — through RackSeed's own
// "inspect and leave running" (`POST /api/v1/nodes/:id/inspect {"leaveRunning": true}`, the field engineer's ramdisk
// shell: BMC PXE-once + power-on, the ramdisk, the agent's inventory, then the node stays up; an `available` node is
// served no boot script otherwise, so a bare BMC power-on boots its disk) — and a root shell
// in that ramdisk (the one on ttyS0, reached with `rackseed console`, i.e. the BMC's Serial-over-LAN) writes the
// whole raw image straight from the same HTTP server: `wget -O - URL | dd of=/dev/vda bs=4M` then `sync` — no
// checksum, no read-back, no config drive, no extent map — then the node's BMC sets disk boot (persistent) and
// power-cycles it. Both are compared at one signal both OSes give: the deployed Debian's login prompt on its serial
// console (getty on ttyS0, after systemd and cloud-init's boot stages). RackSeed's own `active` (doneWhen auto: the
// OS's DHCP or cloud-init's phone_home) is reported beside it; the floor cannot use it, since without a config drive
// cloud-init finds no datasource and leaves the network unconfigured (so the floor's boot also skips cloud-init's
// config-drive work: the floor is that much lower, which is against RackSeed, not for it).
// RackSeed: `POST /api/v1/deploy` (all nodes, default doneWhen), from the request; its stages (starting,
// booting-agent, queued, writing, verifying, config-drive, powering-off, booting-os) timed per node by polling
// /api/v1/deployments every second (so ±1 s per stage), then `active`, then the login prompt.
// Order: the floor first (the nodes are `available` with blank disks after discovery), then RackSeed (onto the
// floor's disks, which the agent overwrites). Goal (issue 15): RackSeed ≤ 1.2 × the floor.
//   node --import tsx bench/deploy.ts [--nodes bios,uefi,bios]   (or npm run bench -- --only deploy; needs root)
// VMs under TCG: run it under `flock .scratch/heavy` (and quiet for a record); the recorded 3-node run took 442 s at load 0.3–5 (2026-12-06).
import { createReadStream, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchContext, BenchReport, SummaryRow } from './lib/bench-types.ts';
import { load1 } from './lib/machine.ts';
import { ptyCommand, type ConsoleClient } from './lib/sol-clients.ts';
import { Lab, type RackNode } from '../lab/rack.ts';
import { NET, parseNodeSpec } from '../lab/config.ts';
import { REPO_ROOT } from '../lab/appliance.ts';
import { ensureLabImages } from '../lab/images/index.ts';
import { sleep } from '../lab/processes.ts';
import { DaemonClient } from '../daemon/cli/client.ts';
import type { BmcInfo, Job } from '../shared/api.ts';
import type { NodeSummary } from '../shared/node.ts';
import type { ImageRecord } from '../shared/image.ts';
import type { Deployment, DeploySettings } from '../shared/deploy.ts';

export interface DeployBenchOptions extends Partial<BenchContext> {
  /** node specs as `npm run lab` takes them (default bios, uefi, bios) */
  nodes?: string[];
}

interface FloorNode { name: string; ramdiskUp: number; written: number; active: number; writeMBps: number }
interface RackseedNode { name: string; active: number; login: number; bootedVia: string | null; stages: Record<string, number> }

const STAGES = ['starting', 'booting-agent', 'queued', 'writing', 'verifying', 'config-drive', 'powering-off', 'booting-os'] as const;

/** Thrown by a probe of `until` to end the wait at once (anything else a probe throws is retried until the timeout). */
class Fatal extends Error {}

async function until<T>(what: string, ms: number, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, everyMs = 1000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try { const v = await probe(); if (v) return v; } catch (err) { if (err instanceof Fatal) throw err; last = err; }
    if (Date.now() > end) throw new Error(`timed out after ${Math.round(ms / 1000)} s: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

async function nodeOf(lab: Lab, rn: RackNode): Promise<NodeSummary> {
  const n = (await lab.api.get<NodeSummary[]>('/api/v1/nodes')).find((x) => x.mac === rn.identity.mac);
  if (!n) throw new Error(`${rn.identity.name} (${rn.identity.mac}) is not in RackSeed's node list`);
  return n;
}

/** A getty's prompt (`HOST login: `) at the start of a line after `from`. Not only at the end of the text: cloud-init's
 *  later stages may print right behind the prompt, on the same line, before the next poll. */
function loginPrompt(lab: Lab, rn: RackNode, from: number): boolean {
  return /^\S+ login: /m.test(lab.console(rn).slice(from));
}

/**
 * One node's floor: into the ramdisk by an inspection that leaves it running, wget | dd from its shell, disk boot,
 * the login prompt. Times from `t0`.
 */
async function floorNode(lab: Lab, rn: RackNode, sha256: string, size: number, t0: number, log: (l: string) => void): Promise<FloorNode> {
  const name = rn.identity.name;
  const nodeId = (await nodeOf(lab, rn)).id;
  const job = await lab.api.post<Job>(`/api/v1/nodes/${nodeId}/inspect`, { leaveRunning: true });
  // the agent has DHCP'd and posted its inventory (the network is up) and the job has handed the running node over
  await until(`${name}: the inspection left it running in the discovery ramdisk`, 1_200_000, async () => {
    const j = (await lab.api.get<Job[]>('/api/v1/jobs')).find((x) => x.id === job.id);
    if (j?.status === 'failed') throw new Fatal(`${name}: the inspection failed: ${j.error}`);
    return j?.status === 'done';
  });
  const ramdiskUp = Date.now() - t0;
  log(`deploy: floor ${name}: ramdisk up ${(ramdiskUp / 1000).toFixed(0)} s`);
  const env = { ...process.env, RACKSEED_URL: lab.url, RACKSEED_TOKEN: lab.token, NO_COLOR: '1', TSX_DISABLE_CACHE: '1' };
  let con: ConsoleClient | null = null;
  const typedFrom = lab.console(rn).length;
  try {
    con = await ptyCommand(`cd ${REPO_ROOT} && ${process.execPath} bin/rackseed.mjs console ${nodeId}`, /console of \S+ through BMC/, env);
    con.send('\r');
    await sleep(1500);
    // the daemon's HTTP server is the one the agent was booted with (rackseed.url on the kernel command line); the
    // line is typed in short pieces, as SOL carries keystrokes; wget's and dd's exit statuses are echoed and checked
    const line = `U=$(sed -n 's/.*rackseed.url=\\([^ ]*\\).*/\\1/p' /proc/cmdline); { wget -q -O - "$U/images/${sha256}.raw"; echo $? >/tmp/w; } | dd of=/dev/vda bs=4M 2>/dev/null; R=$?; sync; echo FLOOR-$(cat /tmp/w)-"$R"-DONE\r`;
    const echoFrom = con.out.length;
    for (let i = 0; i < line.length; i += 16) { con.send(line.slice(i, i + 16)); await sleep(50); }
    if (!(await con.out.waitFor('-DONE', echoFrom, 60_000))) throw new Error(`${name}: the shell did not echo the floor's command line: ${con.out.tail(300)}`);
  } finally { await con?.close(); }
  // the result is read from the node's serial port as QEMU logs it, not through the SOL session: that session need not
  // outlive minutes without output (in the first 1-node try the daemon's SOL session stopped answering keepalives
  // during the write, and the marker never reached the console client)
  const m = await until(`${name}: the floor's wget | dd finished`, 3_600_000, () => /FLOOR-(\d+)-(\d+)-DONE/.exec(lab.console(rn).slice(typedFrom)));
  if (m[1] !== '0' || m[2] !== '0') throw new Error(`${name}: the floor's wget | dd failed (wget exit ${m[1]}, dd exit ${m[2]}): ${lab.console(rn).slice(-300)}`);
  const written = Date.now() - t0;
  log(`deploy: floor ${name}: ${size} bytes written by wget | dd at ${(written / 1000).toFixed(0)} s`);
  const uefi = rn.spec.firmware === 'uefi';
  lab.ipmitool(rn, 'chassis', 'bootdev', 'disk', `options=persistent${uefi ? ',efiboot' : ''}`);
  const bootFrom = lab.console(rn).length;
  lab.ipmitool(rn, 'chassis', 'power', 'cycle');
  await until(`${name}: the floor's Debian reached its login prompt`, 1_800_000, () => loginPrompt(lab, rn, bootFrom));
  const active = Date.now() - t0;
  log(`deploy: floor ${name}: login prompt at ${(active / 1000).toFixed(0)} s`);
  return { name, ramdiskUp, written, active, writeMBps: size / 1e6 / ((written - ramdiskUp) / 1000) };
}

export async function runDeployBench(opts: DeployBenchOptions = {}): Promise<BenchReport & { floor: FloorNode[]; rackseed: RackseedNode[] }> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const specs = opts.nodes ?? (opts.quick ? ['bios'] : ['bios', 'uefi', 'bios']);
  const { debian } = await ensureLabImages({ debian: true, tiny: false }, { ifMissing: true, log: (l) => log(`deploy: images: ${l}`) });
  if (!debian) throw new Error('the lab-debian image could not be built (scripts/setup.sh bench)');
  process.env.RACKSEED_DEPLOY_AGENT_TIMEOUT_MS ??= '600000';
  const loadStart = load1();
  const lab = await Lab.up({ nodes: specs.map(parseNodeSpec), daemon: { mode: 'authoritative' }, forwardPort: 0, node: { memoryMiB: 1024, diskGiB: 4 }, log: (l) => log(`deploy: ${l}`) });
  try {
    const api = lab.api;
    await api.put('/api/v1/bmc/credentials', { user: lab.bmcUser, password: lab.bmcPassword });
    await api.post('/api/v1/bmc/sweep', { cidr: NET.bmcNetwork });
    await until('the sweep finds every BMC', 180_000, async () => {
      const b = await api.get<BmcInfo[]>('/api/v1/bmcs');
      return lab.nodes.every((rn) => b.some((x) => x.address === rn.bmcAddress && x.guid));
    }, 2000);
    await api.post('/api/v1/discovery', {});
    const client = new DaemonClient({ url: `unix:${lab.names.apiSocket}`, token: lab.token });
    await client.call('POST', '/api/v1/images?name=lab-debian', createReadStream(debian.path), { headers: { 'content-length': String(statSync(debian.path).size) } });
    const img = await until('lab-debian imported', 1_200_000, async () => {
      const i = await api.get<ImageRecord>('/api/v1/images/lab-debian');
      if (i.state === 'failed') throw new Fatal(i.error ?? 'import failed');
      return i.state === 'ready' ? i : null;
    }, 2000);
    await until('every node available and off', 1_800_000, async () => {
      const ns = await Promise.all(lab.nodes.map((rn) => nodeOf(lab, rn)));
      return ns.every((n) => n.state === 'available' && n.power === 'off') && !(await api.get<Job[]>('/api/v1/jobs')).some((j) => j.status !== 'done');
    }, 2000);
    log(`deploy: ${lab.nodes.length} nodes available, lab-debian ready (${img.rawSize} bytes raw); floor first`);

    const tf = Date.now();
    const floor = await Promise.all(lab.nodes.map((rn) => floorNode(lab, rn, img.sha256!, img.rawSize!, tf, log)));
    const floorSec = Math.max(...floor.map((f) => f.active)) / 1000;
    // off through RackSeed (it handed these running nodes over, so it would not switch them off by itself)
    for (const rn of lab.nodes) await api.post(`/api/v1/nodes/${(await nodeOf(lab, rn)).id}/power`, { action: 'off' });
    await until('the floor\'s nodes powered off', 300_000, async () => (await Promise.all(lab.nodes.map((rn) => nodeOf(lab, rn)))).every((n) => n.power === 'off'), 2000);
    const loadMid = load1();

    const ids = await Promise.all(lab.nodes.map(async (rn) => (await nodeOf(lab, rn)).id));
    const from = lab.nodes.map((rn) => lab.console(rn).length);
    const check = (await api.get<DeploySettings>('/api/v1/deploy/settings')).readBackCheck;
    const tr = Date.now();
    await api.post('/api/v1/deploy', { nodes: ids, image: 'lab-debian', hostname: 'deb-{index}' });
    const seen = new Map<string, Record<string, number>>(ids.map((id) => [id, {}]));
    const login: (number | undefined)[] = ids.map(() => undefined);
    let finished: Deployment[] = [];
    await until('RackSeed deployed every node and each reached its login prompt', 5_400_000, async () => {
      const ds = (await api.get<Deployment[]>('/api/v1/deployments')).filter((d) => ids.includes(d.nodeId) && d.kind === 'deploy' && d.startedAt >= tr - 5000);
      for (const d of ds) { const s = seen.get(d.nodeId)!; s[d.stage] ??= Date.now() - tr; }
      lab.nodes.forEach((rn, i) => { if (login[i] === undefined && loginPrompt(lab, rn, from[i]!)) login[i] = Date.now() - tr; });
      const failed = ds.find((d) => d.stage === 'failed');
      if (failed) throw new Fatal(`RackSeed's deploy of ${failed.nodeId} failed: ${failed.error}`);
      finished = ds;
      return ds.length === ids.length && ds.every((d) => d.stage === 'done') && login.every((x) => x !== undefined);
    }, 1000);
    const rackseed: RackseedNode[] = lab.nodes.map((rn, i) => {
      const d = finished.find((x) => x.nodeId === ids[i])!;
      return { name: rn.identity.name, active: (d.finishedAt ?? Date.now()) - tr, login: login[i]!, bootedVia: d.bootedVia, stages: seen.get(ids[i]!)! };
    });
    const rsSec = Math.max(...rackseed.map((r) => r.login)) / 1000;
    const rsActiveSec = Math.max(...rackseed.map((r) => r.active)) / 1000;
    const loadEnd = load1();
    log(`deploy: RackSeed ${rsSec.toFixed(0)} s (active ${rsActiveSec.toFixed(0)} s), floor ${floorSec.toFixed(0)} s (${(rsSec / floorSec).toFixed(2)}×)`);

    const sec = (ms: number | undefined) => (ms === undefined ? '–' : (ms / 1000).toFixed(0));
    const rows: SummaryRow[] = [{
      bench: 'deploy', case: `power-on → active, lab-debian, ${lab.nodes.length} nodes at once`,
      rackseed: `${rsSec.toFixed(0)} s`, reference: `${floorSec.toFixed(0)} s (wget | dd + disk boot)`, ratio: floorSec / rsSec, goal: '≤ 1.2× the floor (ratio ≥ 0.83)',
    }];
    const md = [
      `lab-debian (${img.rawSize} bytes raw) on ${lab.nodes.length} TCG nodes at once (${specs.join(', ')}; 1 GiB, 4 GiB virtio disk), 1-min load ${loadStart} → ${loadMid} → ${loadEnd}.`,
      'Floor: into the discovery ramdisk by `POST /api/v1/nodes/:id/inspect {leaveRunning: true}` (BMC PXE-once + power-on, the agent\'s inventory, left running), `wget -O - URL | dd of=/dev/vda bs=4M; sync` from its root shell (over `rackseed console`), BMC disk boot, until the Debian login prompt on ttyS0;',
      `RackSeed: \`POST /api/v1/deploy\` (default doneWhen; read-back check \`${check}\`) until every node is \`active\` and at its login prompt. Seconds from the start of each phase (stages: first seen, polled every second).`,
      '',
      `| | power-on → last login prompt | ratio to the floor | goal |`,
      '|---|---:|---:|---|',
      `| floor | ${floorSec.toFixed(0)} s | 1.00× | |`,
      `| RackSeed | ${rsSec.toFixed(0)} s (last \`active\` ${rsActiveSec.toFixed(0)} s) | ${(rsSec / floorSec).toFixed(2)}× | ≤ 1.2× — ${rsSec / floorSec <= 1.2 ? 'met' : '**missed**'} |`,
      '',
      '| node | floor: ramdisk up | written (MB/s) | login | RackSeed: ' + STAGES.join(' | ') + ' | active (via) | login |',
      '|---|---:|---:|---:|' + STAGES.map(() => '---:').join('|') + '|---:|---:|',
      ...lab.nodes.map((rn, i) => {
        const f = floor[i]!;
        const r = rackseed[i]!;
        return `| ${rn.identity.name} (${specs[i]}) | ${sec(f.ramdiskUp)} | ${sec(f.written)} (${f.writeMBps.toFixed(1)}) | ${sec(f.active)} | ${STAGES.map((s) => sec(r.stages[s])).join(' | ')} | ${sec(r.active)} (${r.bootedVia ?? '?'}) | ${sec(r.login)} |`;
      }),
    ].join('\n');
    return { rows, markdown: md, floor, rackseed };
  } finally {
    await lab.down();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { nodes: { type: 'string' } } });
  const r = await runDeployBench({ nodes: values.nodes ? values.nodes.split(',') : undefined });
  process.stdout.write(r.markdown + '\n');
}
