// The lab's seed scenario (`npm run lab -- --seed`, issue 17): node 1 becomes the control node. It was brought up
// with 1536 MiB and a second NIC on br-bmc (seedNodeSpecs); once every node is available, the lab imports
// `lab-control` (built from Debian's packages and cached under .cache/images, lab/images) into the daemon's library
// and runs `rackseed seed` through the daemon's API socket, exactly as an engineer would, printing its progress.
//
// The addresses are the lab's plan (NET.seed): the control node's static provisioning address and the DHCP range of
// its dnsmasq lie outside the appliance's pool (10.240.0.100–199), its BMC-network address beside the BMCs'.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './appliance.ts';
import { NET, type NodeSpec } from './config.ts';
import { ensureLabImages } from './images/index.ts';
import { registerLabImage } from './library.ts';
import type { Lab } from './rack.ts';
import { CONTROL_MIN_MEMORY_MIB } from '../core/seed/control-config.ts';
import type { SeedRequest } from '../shared/seed.ts';

/** Node 1 as the control node: the RAM the control image needs and its own NIC on the BMC network. */
export function seedNodeSpecs(nodes: NodeSpec[]): NodeSpec[] {
  if (nodes.length < 2) throw new Error('--seed needs at least 2 nodes (node 1 becomes the control node)');
  return nodes.map((n, i) => (i === 0 ? { ...n, memoryMiB: CONTROL_MIN_MEMORY_MIB, bmcNic: true } : n));
}

/** The seed this lab runs (node 1 as the control node), as the API takes it (POST /api/v1/seed). */
export function seedRequest(lab: Lab): SeedRequest {
  const control = lab.nodes[0]!;
  const s = NET.seed;
  return {
    control: control.identity.mac, image: 'lab-control',
    network: {
      provisioningCidr: `${s.controlProvisioning}/${NET.provPrefix}`,
      dhcpRange: { start: s.dhcpRange.start, end: s.dhcpRange.end, netmask: '255.255.255.0' },
      bmcNic: { mac: control.identity.bmcNicMac, cidr: `${s.controlBmc}/${NET.bmcPrefix}` },
    },
  };
}

/** The `rackseed seed` arguments for this lab: seedRequest() on the command line (daemon/cli/seed.ts builds it back). */
export function seedArgs(lab: Lab): string[] {
  const r = seedRequest(lab);
  const n = r.network;
  return ['seed', '--control', r.control,
    '--provisioning', n.provisioningCidr,
    '--dhcp-range', `${n.dhcpRange.start},${n.dhcpRange.end},${n.dhcpRange.netmask}`,
    '--bmc-nic', `${n.bmcNic!.mac}=${n.bmcNic!.cidr}`,
    '--image', r.image!, '--wait'];
}

export interface LabSeedOptions {
  progress: (line: string) => void;
  signal?: AbortSignal;
  /** extra `rackseed seed` arguments (e.g. --json, --credentials-file F) */
  extraArgs?: string[];
}

/**
 * Import lab-control (built if missing) and run the seed to its end. Resolves with the CLI's exit code (0: the seed is
 * done, the laptop can leave); the CLI's output goes to `progress` line by line.
 */
export async function runLabSeed(lab: Lab, o: LabSeedOptions): Promise<number> {
  const { control } = await ensureLabImages({ control: true }, { ifMissing: true, log: (l) => o.progress(`lab: ${l}`) });
  await registerLabImage(control!, { url: `unix:${lab.names.apiSocket}`, token: lab.token, progress: o.progress, signal: o.signal });
  const args = [...seedArgs(lab), ...(o.extraArgs ?? [])];
  o.progress(`lab: rackseed ${args.join(' ')}`);
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'rackseed.mjs'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, RACKSEED_URL: `unix:${lab.names.apiSocket}`, RACKSEED_TOKEN: lab.token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onAbort = () => child.kill('SIGTERM');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let partial = '';
  const lines = (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const l of parts) o.progress(`seed: ${l}`);
  };
  child.stdout.on('data', lines);
  child.stderr.on('data', lines);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (partial) o.progress(`seed: ${partial}`);
  o.signal?.removeEventListener('abort', onAbort);
  return code;
}
