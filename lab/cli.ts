// `node --import tsx lab/cli.ts up|down|status` — the virtual rack (docs/LAB.md).
//   up      check prerequisites, build, bring up the rack and RackSeed, print the UI URL; with --wait-available
//           also set BMC credentials, sweep the BMC segment, start discovery and follow it until every node
//           is available. Then keep running until Ctrl-C/SIGTERM, and tear everything down on the way out.
//   down    remove the lab instance (default `lab`) and every orphaned instance (owner gone); --all: every one
//   status  what runs: namespaces (the Ironic one too), nodes (power), BMCs, daemon, Ironic
import { Command, Option } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './appliance.ts';
import { DEFAULT_BMC_PASSWORD, DEFAULT_BMC_USER, DEFAULT_ID, ironicHostPortDefault, labNames, NET, parseHostPort, planNodes } from './config.ts';
import { discoverNodes, sweepBmcs } from './discovery.ts';
import { bringUpLabIronic, ironicBanner, ironicInstalled, type LabIronicUp } from './ironic.ts';
import { ensureLabImages } from './images/index.ts';
import { registerDebianInBackground, registerLabImage, type BackgroundImage, type LabImageChoice } from './library.ts';
import { missingPrerequisites } from './prerequisites.ts';
import { pidAlive, readPidFile } from './processes.ts';
import { Lab } from './rack.ts';
import { runLabSeed, seedNodeSpecs } from './seed.ts';
import { instanceOwned, listInstances, readState, teardownInstance } from './teardown.ts';
import { namespaceExists } from './topology.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const stamp = () => new Date().toISOString().slice(11, 19);

interface UpOptions {
  id: string; nodes: string; firmware: string; mode: 'authoritative' | 'proxy'; port: string;
  waitAvailable?: boolean; build: boolean; bmcUser: string; bmcPassword: string; timeout: string; redfish: string;
  ironic: boolean; ironicAuth: 'none' | 'basic'; ironicPort: string;
  images: LabImageChoice;
  seed?: boolean;
}

function build(): void {
  const steps: [string, string[]][] = [];
  if (existsSync(join(REPO_ROOT, 'scripts', 'build.sh'))) steps.push(['bash', ['scripts/build.sh']]);
  else say('lab: scripts/build.sh is not there yet — skipping the resource build');
  steps.push([process.execPath, ['--import', 'tsx', 'agent/build/cli.ts', '--if-missing']]);
  for (const [cmd, args] of steps) {
    say(`lab: ${[cmd === process.execPath ? 'node' : cmd, ...args].join(' ')}`);
    const r = spawnSync(cmd, args, { cwd: REPO_ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`build step failed: ${cmd} ${args.join(' ')}`);
  }
}

/** The daemon prints its one-time login link to its log; with a unix-socket API we rewrite it for the forwarder. */
function loginUrl(lab: Lab): string {
  const base = lab.url;
  try {
    const log = readFileSync(lab.daemon!.log, 'utf8');
    const m = /login\?code=([A-Za-z0-9_-]+)/.exec(log);
    if (m) return `${base}/login?code=${m[1]}`;
  } catch { /* no log */ }
  return `${base}/  (API token: ${lab.token})`;
}

async function up(o: UpOptions): Promise<void> {
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    for (const m of missing) say(`lab: missing: ${m}`);
    process.exitCode = 1;
    return;
  }
  const names = labNames(o.id);
  if (instanceOwned(o.id)) {
    say(`lab: instance "${o.id}" is in use by pid ${readState(names)?.ownerPid}; stop it first (Ctrl-C there, or: npm run lab:down -- --all)`);
    process.exitCode = 1;
    return;
  }
  if (o.build) build();
  let nodes = planNodes(Number(o.nodes), o.firmware);
  if (o.seed) {
    // node 1 becomes the control node (lab/seed.ts); its Ironic is the hand-off target, not the lab's own
    nodes = seedNodeSpecs(nodes);
    o.waitAvailable = true;
    o.ironic = false;
  }
  const redfish = Number(o.redfish);
  if (!Number.isInteger(redfish) || redfish < 0 || redfish > nodes.length) {
    say(`lab: --redfish must be 0–${nodes.length} (the number of nodes whose BMC speaks Redfish), got "${o.redfish}"`);
    process.exitCode = 2;
    return;
  }
  let ironicPort = 0;
  let uiPort = 0;
  try {
    uiPort = parseHostPort(o.port, '--port (or RACKSEED_PORT)');
    if (o.ironic) ironicPort = parseHostPort(o.ironicPort, '--ironic-port (or RACKSEED_IRONIC_PORT)');
  } catch (err) {
    say(`lab: ${(err as Error).message}`);
    process.exitCode = 2;
    return;
  }

  let lab: Lab | null = null;
  let ironic: LabIronicUp | null = null;
  let debianImage: BackgroundImage | null = null;
  let finishing = false;
  const abort = new AbortController();
  const finish = (code: number, why: string) => {
    if (finishing) return;
    finishing = true;
    abort.abort();
    debianImage?.stop();
    say(`\nlab: ${why} — tearing down`);
    void Promise.all([lab?.forwarder?.close(), ironic?.forwarder.close()]).finally(() => {
      teardownInstance(names);
      if (lab) reportUplink(lab);
      say('lab: everything removed (namespaces, taps, bridges, QEMU, BMCs, daemon, Ironic, forwarders)');
      process.exit(code);
    });
  };
  process.on('SIGINT', () => finish(130, 'SIGINT'));
  process.on('SIGTERM', () => finish(143, 'SIGTERM'));
  process.on('SIGHUP', () => finish(129, 'SIGHUP'));
  // last resort (an exception, process.exit elsewhere): synchronous teardown
  process.on('exit', () => { if (!finishing) teardownInstance(names); });

  say(`lab: bringing up ${nodes.length} node(s): ${nodes.map((n) => n.firmware + (n.pxe === 'firmware' ? '-pxe' : '')).join(', ')}`);
  lab = await Lab.up({
    id: o.id, nodes, bmcUser: o.bmcUser, bmcPassword: o.bmcPassword, siteDhcp: o.mode === 'proxy', redfish,
    daemon: { mode: o.mode }, forwardPort: uiPort, log: say,
  });
  say('');
  say(`RackSeed UI: ${loginUrl(lab)}`);
  say(`API token:   export RACKSEED_TOKEN=${lab.token}`);
  say(`Consoles:    ${join(names.dir, 'nodes', '<node>', 'console.log')}`);
  if (o.ironic && !ironicInstalled()) say('Ironic:      not started — Debian\'s Ironic is not installed (bash scripts/setup.sh test)');
  else if (o.ironic) {
    // the real Ironic to hand nodes over to (lab/ironic.ts), known to the daemon as its hand-off target
    ironic = await bringUpLabIronic(lab, o.ironicAuth, ironicPort);
    for (const line of ironicBanner(ironic, o.ironicAuth)) say(line);
  }
  if (o.images !== 'none') {
    // the image library: lab-tiny now (cached by scripts/setup.sh lab), lab-debian built and imported in the background
    const reg = { url: `unix:${names.apiSocket}`, token: lab.token, progress: (l: string) => say(`[${stamp()}] ${l}`), signal: abort.signal };
    try {
      const { tiny } = await ensureLabImages({ tiny: true, debian: false }, { ifMissing: true, log: (l) => say(`lab: ${l}`) });
      await registerLabImage(tiny!, reg);
    } catch (err) {
      if (finishing) return;
      say(`lab: image lab-tiny not registered: ${(err as Error).message}`);
    }
    if (o.images === 'all' && !finishing) debianImage = registerDebianInBackground(reg);
  }
  say(`Ready. ${o.waitAvailable ? 'Discovering…' : 'Ctrl-C tears the lab down.'}`);
  if (o.waitAvailable) {
    const t0 = Date.now();
    const progress = (l: string) => say(`[${stamp()}] ${l}`);
    const opts = {
      user: o.bmcUser, password: o.bmcPassword, cidr: NET.bmcNetwork, expectBmcs: lab.nodes.map((n) => n.bmcAddress),
      discoveryTimeoutMs: Number(o.timeout) * 1000, progress, signal: abort.signal,
    };
    try {
      await sweepBmcs(lab.api, opts);
      await discoverNodes(lab.api, lab.nodes.length, opts);
      say(`\n${lab.nodes.length} nodes available (${Math.round((Date.now() - t0) / 1000)} s).${o.seed ? '' : ' Ctrl-C tears the lab down.'}`);
    } catch (err) {
      if (finishing) return;
      say(`lab: bring-up did not complete: ${(err as Error).message}`);
      say(`lab: daemon log ${lab.daemon?.log}; node consoles under ${join(names.dir, 'nodes')}`);
      finish(1, 'bring-up failed');
      return;
    }
  }
  if (o.seed) {
    const t0 = Date.now();
    try {
      const code = await runLabSeed(lab, { progress: (l) => say(`[${stamp()}] ${l}`), signal: abort.signal });
      if (finishing) return;
      if (code !== 0) {
        say(`lab: the seed stopped (rackseed seed exit ${code}); resume with: RACKSEED_URL=unix:${names.apiSocket} RACKSEED_TOKEN=${lab.token} bin/rackseed.mjs seed --resume --wait`);
      } else {
        say(`\nSeed done in ${Math.round((Date.now() - t0) / 1000)} s: ${lab.nodes[0]!.identity.name} runs the site's Ironic at http://${NET.seed.controlProvisioning}:6385 (on br-prov). The laptop can be unplugged.`);
      }
    } catch (err) {
      if (finishing) return;
      say(`lab: the seed did not run: ${(err as Error).message}`);
    }
    say('Ctrl-C tears the lab down.');
  }
  // keep running until a signal arrives
  setInterval(() => {}, 1 << 30);
}

function reportUplink(lab: Lab): void {
  try {
    const r = lab.uplinkReport();
    if (r.bootReplies.length === 0) say(`lab: uplink capture: ${r.total} UDP packet(s) on the uplink, none of them a DHCP/TFTP reply from RackSeed`);
    else { say(`lab: uplink capture: ${r.bootReplies.length} DHCP/TFTP packet(s) from RackSeed on the uplink — confinement broken:`); for (const l of r.bootReplies.slice(0, 20)) say(`  ${l}`); }
  } catch (err) {
    say(`lab: could not read the uplink capture: ${(err as Error).message}`);
  }
}

function down(o: { id: string; all?: boolean }): void {
  const ids = new Set([o.id]);
  for (const id of listInstances()) if (o.all || !instanceOwned(id)) ids.add(id);
  for (const id of ids) {
    const n = labNames(id);
    if (instanceOwned(id) && !o.all) continue;
    teardownInstance(n, { removeDir: true });
    say(`lab: removed instance ${id}`);
  }
}

function status(o: { id: string }): void {
  const ids = listInstances();
  if (ids.length === 0) { say('lab: nothing running'); return; }
  for (const id of ids) {
    const n = labNames(id);
    const st = readState(n);
    // the Ironic namespace counts when this instance started its Ironic (or the namespace is there, a leftover)
    const want = [n.rackNs, n.appNs, n.uplinkNs, ...(st?.pids.ironic || namespaceExists(n.ironicNs) ? [n.ironicNs] : [])];
    const nss = want.filter(namespaceExists);
    const owner = st?.ownerPid != null && pidAlive(st.ownerPid) ? `owner pid ${st.ownerPid}` : 'no owner (leftover: lab down removes it)';
    say(`${id === o.id ? '*' : ' '} ${id}: ${nss.length}/${want.length} namespaces, ${owner}`);
    if (st?.pids.daemon) say(`    daemon pid ${st.pids.daemon} ${pidAlive(st.pids.daemon) ? 'running' : 'stopped'}, API ${n.apiSocket}`);
    if (st?.pids.ironic) {
      say(`    ironic pid ${st.pids.ironic} ${pidAlive(st.pids.ironic) ? 'running' : 'stopped'} in ${n.ironicNs} (namespace ${namespaceExists(n.ironicNs) ? 'present' : 'gone'}), API http://${NET.ironic}:${NET.ironicPort} in the lab, ${n.ironicSocket}`);
    }
    for (const dir of st?.nodeDirs ?? []) {
      const pid = readPidFile(join(dir, 'power.pid'));
      say(`    ${dir.split('/').pop()}: power ${pid !== null && pidAlive(pid) ? `on (qemu pid ${pid})` : 'off'}, console ${join(dir, 'console.log')}`);
    }
  }
}

const program = new Command('lab').description('RackSeed virtual rack: QEMU nodes with ipmi_sim BMCs behind private bridges');
program.command('up')
  .description('bring up the rack and RackSeed; keep running until Ctrl-C, then tear everything down')
  .option('--id <id>', 'instance id (namespaces rslab-<id>-…)', DEFAULT_ID)
  .option('--nodes <n>', 'number of nodes', '3')
  .option('--firmware <list>', 'firmware per node, repeated: bios, uefi, uefi-pxe, bios-virtio, uefi-e1000', 'bios,uefi,bios')
  .addOption(new Option('--mode <mode>', 'DHCP mode (proxy: dnsmasq plays the site DHCP)').choices(['authoritative', 'proxy']).default('authoritative'))
  .option('--port <port>', 'host port of the UI/API forwarder (127.0.0.1)', process.env.RACKSEED_PORT ?? '8080')
  .option('--wait-available', 'sweep BMCs, run discovery and wait until every node is available')
  .option('--no-build', 'skip scripts/build.sh and the ramdisk build')
  .option('--bmc-user <user>', 'BMC user', DEFAULT_BMC_USER)
  .option('--bmc-password <password>', 'BMC password', DEFAULT_BMC_PASSWORD)
  .option('--redfish <n>', 'give the last N nodes a Redfish BMC (HTTPS, self-signed certificate) instead of ipmi_sim', process.env.RACKSEED_LAB_REDFISH ?? '0')
  .option('--timeout <seconds>', 'discovery timeout', '900')
  .option('--seed', 'the seed scenario: node 1 (1536 MiB, a 2nd NIC on br-bmc) becomes the control node running Ironic; '
    + 'after discovery, lab-control is imported and `rackseed seed` hands nodes 2.. over to it (implies --wait-available, --no-ironic)')
  .option('--no-ironic', 'do not start the lab\'s OpenStack Ironic (the hand-off target)')
  .addOption(new Option('--ironic-auth <kind>', 'the lab Ironic\'s auth: none (noauth, Bifrost\'s) or basic (HTTP basic, Metal3\'s)').choices(['none', 'basic']).default('none'))
  .option('--ironic-port <port>', 'host port of the Ironic API forwarder (127.0.0.1; 0: any free port)', ironicHostPortDefault(process.env))
  .addOption(new Option('--images <which>', 'images registered in the library: all (lab-tiny now, lab-debian built in the background), tiny, none')
    .choices(['all', 'tiny', 'none']).default(process.env.RACKSEED_LAB_IMAGES ?? 'all'))
  .action((o: UpOptions) => up(o).catch((err: unknown) => {
    say(`lab: ${(err as Error).message}`);
    process.exit(1);
  }));
program.command('down')
  .description('remove the lab (idempotent): instance --id plus every orphaned instance')
  .option('--id <id>', 'instance id', DEFAULT_ID)
  .option('--all', 'also instances whose owner still runs (tests, another lab)')
  .action(down);
program.command('status').description('show lab instances').option('--id <id>', 'instance id', DEFAULT_ID).action(status);

program.parseAsync(process.argv).catch((err: unknown) => { say(`lab: ${(err as Error).message}`); process.exit(1); });
