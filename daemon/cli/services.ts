// `rackseed stop` (hand over and stop) and `rackseed services status|start`, through the daemon (RACKSEED_URL,
// RACKSEED_TOKEN). `stop` stops every netboot service and the daemon keeps them stopped across restarts (core/handoff,
// POST /api/v1/handoff/stop); `services start` starts them again on the saved network settings (or the ones given),
// which ends the stop (PUT /api/v1/config/network). Exit codes: client.ts EXIT.
import { Command, Option } from 'commander';
import type { NetworkConfig, ServicesStatus } from '../../shared/api.ts';
import type { HandoverStopState } from '../../shared/handoff.ts';
import { CliError, DaemonClient, EXIT, runAction } from './client.ts';

const NAMES = { dhcp: 'DHCP', proxy: 'proxyDHCP', tftp: 'TFTP', http: 'HTTP boot' } as const;

function servicesLine(s: ServicesStatus | null): string {
  if (!s) return 'no netboot service is configured';
  const on = (Object.keys(NAMES) as (keyof typeof NAMES)[]).filter((k) => s[k]?.running).map((k) => NAMES[k]);
  return on.length ? `running: ${on.join(', ')}${s.config ? ` on ${s.config.interface}` : ''}` : 'nothing runs: nothing of RackSeed answers on the provisioning NIC';
}

export function stopCommand(): Command {
  return new Command('stop')
    .description('hand over and stop: every netboot service (DHCP, proxyDHCP, TFTP, HTTP boot) stops and stays stopped, also after a daemon restart, until `rackseed services start`')
    .option('--json', 'print JSON', false)
    .action(async (o: { json: boolean }) => {
      await runAction(o.json, () => DaemonClient.fromEnv().call<{ services: ServicesStatus | null; owned: number; stoppedAt: number }>('POST', '/api/v1/handoff/stop', {}),
        (r) => `handed over and stopped at ${new Date(r.stoppedAt).toISOString()} (${r.owned} node(s) owned by engines); ${servicesLine(r.services)}`);
    });
}

export function servicesCommand(): Command {
  const cmd = new Command('services').description('the daemon\'s netboot services (RACKSEED_URL, RACKSEED_TOKEN): status, start');
  cmd.command('status')
    .description('which services run, and whether the appliance was handed over and stopped')
    .option('--json', 'print JSON', false)
    .action(async (o: { json: boolean }) => {
      await runAction(o.json, async () => {
        const c = DaemonClient.fromEnv();
        const [services, stop] = await Promise.all([c.call<ServicesStatus>('GET', '/api/v1/services'), c.call<HandoverStopState>('GET', '/api/v1/handoff/stop')]);
        return { services, handoverStop: stop };
      }, (r) => `${servicesLine(r.services)}${r.handoverStop.stoppedAt ? `\nhanded over and stopped at ${new Date(r.handoverStop.stoppedAt).toISOString()}: services stay off until \`rackseed services start\`` : ''}`);
    });
  cmd.command('start')
    .description('start the netboot services again, on the saved network settings unless given (ends a hand over and stop)')
    .option('--interface <name>', 'provisioning interface (default: the saved one)')
    .addOption(new Option('--mode <mode>', 'authoritative or proxy (default: the saved one)').choices(['authoritative', 'proxy']))
    .option('--json', 'print JSON', false)
    .action(async (o: { interface?: string; mode?: NetworkConfig['mode']; json: boolean }) => {
      await runAction(o.json, async () => {
        const c = DaemonClient.fromEnv();
        const saved = await c.call<NetworkConfig | null>('GET', '/api/v1/config');
        if (!saved && !o.interface) throw new CliError('no saved network settings: give --interface (and --mode)', EXIT.USAGE);
        const cfg: NetworkConfig = { ...(saved ?? { interface: o.interface!, mode: o.mode ?? 'proxy' }), ...(o.interface ? { interface: o.interface } : {}), ...(o.mode ? { mode: o.mode } : {}) } as NetworkConfig;
        return c.call<ServicesStatus>('PUT', '/api/v1/config/network', cfg);
      }, servicesLine);
    });
  return cmd;
}

export function servicesCommands(): Command[] {
  return [stopCommand(), servicesCommand()];
}
