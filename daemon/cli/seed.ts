// `rackseed seed --control NODE --provisioning CIDR --dhcp-range START,END,NETMASK [--bmc-nic MAC=CIDR] [--image NAME]
//  [--wait] [--timeout S] [--json]` — the seed (issue 17) through the daemon (RACKSEED_URL, RACKSEED_TOKEN): deploy the
// control node, wait for its Ironic, hand every other node to it, pivot, report. `--plan` prints the plan only;
// `--status`, `--resume`, `--rollback` act on the latest seed; `--credentials-file F` writes the site's credentials to F
// (0600; never printed). With --json the final report (or the record) is printed as JSON. Exit codes: client.ts EXIT
// (FAILED when the seed stopped at a stage, TIMEOUT when --wait gave up).
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import type { SeedPlan, SeedRecord, SeedRequest } from '../../shared/seed.ts';
import { CliError, DaemonClient, EXIT, runAction } from './client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The seed's timeline and report for a terminal. */
export function seedText(r: SeedRecord | SeedPlan | null): string {
  if (!r) return 'no seed yet';
  if (!('stages' in r)) {
    return [`control node: ${r.control ?? `none (${r.problem})`}`, ...r.nodes.map((n) => `  ${n.action.padEnd(8)} ${n.id}  ${n.mac}  ${n.memoryMiB ?? '?'} MiB  ${n.diskGiB ?? '?'} GiB${n.reason ? `  (${n.reason})` : ''}`)].join('\n');
  }
  const lines = [`seed ${r.id}: ${r.status}${r.error ? ` — ${r.error}` : ''}`, `control node ${r.controlNode}, Ironic ${r.ironicUrl}`];
  for (const s of r.stages) {
    const t = s.startedAt && s.finishedAt ? ` ${((s.finishedAt - s.startedAt) / 1000).toFixed(1)} s` : '';
    lines.push(`  ${s.status.padEnd(8)} ${s.name.padEnd(15)}${t}${s.detail ? `  ${s.detail}` : ''}${s.error ? `  ERROR ${s.error}` : ''}`);
  }
  if (r.report) {
    lines.push(`owners (laptop can be unplugged: ${r.report.unplugReady ? 'yes' : 'no'}):`);
    for (const n of r.report.nodes) lines.push(`  ${n.owner.padEnd(12)} ${n.id}  ${n.mac}  ${n.provisionState ?? ''} ${n.powerState ?? ''}`);
    lines.push(...r.report.verified.map((v) => `verified: ${v}`));
  }
  return lines.join('\n');
}

export function seedCommand(): Command {
  return new Command('seed')
    .description('seed the first cloud layer: deploy a control node running Ironic, hand every other node to it, stop serving them')
    .option('--control <node>', 'the control node (id, MAC or serial)')
    .option('--provisioning <cidr>', 'the control node\'s static address on the provisioning network, e.g. 10.0.0.2/24')
    .option('--dhcp-range <start,end,netmask>', 'the range the control node\'s dnsmasq answers for Ironic\'s nodes')
    .option('--bmc-nic <mac=cidr>', 'the control node\'s second NIC on the BMC network and its address')
    .option('--image <name>', 'the control-node image in the library', 'lab-control')
    .option('--ironic-timeout <seconds>', 'how long to wait for the control node\'s Ironic API', '600')
    .option('--plan', 'print the plan only', false)
    .option('--status', 'print the latest seed', false)
    .option('--resume', 'resume a failed seed from the stage that failed', false)
    .option('--rollback', 'take every node of the seed back', false)
    .option('--credentials-file <file>', 'write the site\'s credentials (Ironic URL, user, password) to this file (0600)')
    .option('--wait', 'wait until the seed is done or stopped', false)
    .option('--timeout <seconds>', 'with --wait: give up after this long', '7200')
    .option('--json', 'print JSON', false)
    .action(async (o: { control?: string; provisioning?: string; dhcpRange?: string; bmcNic?: string; image: string; ironicTimeout: string; plan: boolean; status: boolean;
      resume: boolean; rollback: boolean; credentialsFile?: string; wait: boolean; timeout: string; json: boolean }) => {
      await runAction(o.json, async (): Promise<SeedRecord | SeedPlan | null> => {
        const client = DaemonClient.fromEnv();
        if (o.plan) return client.call<SeedPlan>('GET', `/api/v1/seed/plan${o.control ? `?control=${encodeURIComponent(o.control)}` : ''}`);
        if (o.credentialsFile) {
          const text = await client.call<string>('GET', '/api/v1/seed/credentials');
          writeFileSync(o.credentialsFile, typeof text === 'string' ? text : JSON.stringify(text), { mode: 0o600 });
          return client.call<SeedRecord | null>('GET', '/api/v1/seed');
        }
        let r: SeedRecord | null;
        if (o.status) r = await client.call<SeedRecord | null>('GET', '/api/v1/seed');
        else if (o.resume) r = await client.call<SeedRecord>('POST', '/api/v1/seed/resume');
        else if (o.rollback) return client.call<SeedRecord>('POST', '/api/v1/seed/rollback');
        else {
          if (!o.control || !o.provisioning || !o.dhcpRange) throw new CliError('give --control NODE, --provisioning CIDR and --dhcp-range START,END,NETMASK', EXIT.USAGE);
          const [start, end, netmask] = o.dhcpRange.split(',');
          if (!start || !end || !netmask) throw new CliError('--dhcp-range is START,END,NETMASK', EXIT.USAGE);
          let bmcNic: SeedRequest['network']['bmcNic'] = null;
          if (o.bmcNic) {
            const [mac, cidr] = o.bmcNic.split('=');
            if (!mac || !cidr) throw new CliError('--bmc-nic is MAC=CIDR', EXIT.USAGE);
            bmcNic = { mac, cidr };
          }
          const body: SeedRequest = { control: o.control, image: o.image, network: { provisioningCidr: o.provisioning, bmcNic, dhcpRange: { start, end, netmask } }, ironicTimeoutSec: Number(o.ironicTimeout) };
          r = await client.call<SeedRecord>('POST', '/api/v1/seed', body);
        }
        if (!o.wait || !r) return r;
        const end = Date.now() + Number(o.timeout) * 1000;
        // progress while waiting (stderr, so stdout stays the final result): one line per change of a stage's state
        let shown = '';
        const progress = (x: SeedRecord | null) => {
          if (o.json || !x) return;
          const s = x.stages.find((st) => st.name === x.stage);
          const line = s ? `${s.name}: ${s.status}${s.detail ? ` — ${s.detail}` : ''}` : '';
          if (line && line !== shown) { process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`); shown = line; }
        };
        progress(r);
        while (r && r.status === 'running') {
          if (Date.now() > end) throw new CliError(`the seed is still running after ${o.timeout} s (stage ${r.stage})`, EXIT.TIMEOUT, r);
          await sleep(1000);
          r = await client.call<SeedRecord | null>('GET', '/api/v1/seed');
          progress(r);
        }
        if (r && r.status === 'failed') throw new CliError(`the seed stopped: ${r.error}\n${seedText(r)}`, EXIT.FAILED, r);
        return o.json && r?.report ? r.report as never : r;
      }, seedText);
    });
}
