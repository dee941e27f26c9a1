// `rackseed bmc …`: ipmitool-style BMC control over IPMI 2.0 (RMCP+), and a BMC sweep.
//
//   rackseed bmc --host H --user U [--cipher 3|17] [--port 623] power status|on|off|cycle|reset|soft
//   rackseed bmc --host H --user U bootdev pxe|disk|bios [--uefi] [--persistent]
//   rackseed bmc --host H --user U info
//   rackseed bmc scan CIDR [--user U]
//
// The password comes only from the environment (RACKSEED_BMC_PASSWORD) or --password-file, never from argv,
// and is never logged. Exit codes (stable, for scripts): 0 ok, 1 unexpected, 2 usage, 10 wrong password,
// 11 unknown user, 12 privilege too low, 13 no common cipher suite, 14 insecure cipher suite refused,
// 15 unreachable, 16 BMC busy, 17 command failed (completion code), 18 protocol error.
// `--json` prints one JSON document (scan: one JSON object per line, as found).
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { pino, destination, type Logger } from 'pino';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { BmcError } from '../../bmc/ipmi/session/errors.ts';
import { sweep } from '../../bmc/ipmi/session/sweep.ts';
import type { BmcSession } from '../../bmc/ipmi/session/bmc-session.ts';
import type { PowerAction } from '../../bmc/ipmi/chassis-commands.ts';

export const EXIT_USAGE = 2;

interface BmcOpts {
  host?: string;
  user?: string;
  passwordFile?: string;
  cipher?: number;
  port: number;
  allowInsecure: boolean;
  timeout: number;
  retries: number;
  json: boolean;
  verbose: boolean;
}

class UsageError extends Error {}

function int(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}`);
    return n;
  };
}

function logger(o: BmcOpts): Logger {
  return pino({ level: o.verbose ? 'debug' : 'warn', redact: ['password', '*.password'] }, destination(2));
}

/** The password: --password-file (first line) or RACKSEED_BMC_PASSWORD. */
export function readPassword(o: { passwordFile?: string }, env: NodeJS.ProcessEnv = process.env): string | null {
  if (o.passwordFile) return readFileSync(o.passwordFile, 'utf8').split(/\r?\n/)[0];
  return env.RACKSEED_BMC_PASSWORD ?? null;
}

function client(o: BmcOpts): IpmiClient {
  return new IpmiClient({ logger: logger(o), timeoutMs: o.timeout, retries: o.retries, keepaliveMs: 0 });
}

async function withBmc<T>(o: BmcOpts, fn: (s: BmcSession) => Promise<T>): Promise<T> {
  if (!o.host) throw new UsageError('--host is required');
  if (!o.user) throw new UsageError('--user is required');
  const password = readPassword(o);
  if (password === null) throw new UsageError('no password: set RACKSEED_BMC_PASSWORD or pass --password-file FILE (never on the command line)');
  const c = client(o);
  try {
    return await c.withSession(o.host, { user: o.user, password, port: o.port, cipher: o.cipher, allowInsecure: o.allowInsecure }, fn);
  } finally {
    await c.close();
  }
}

function out(o: BmcOpts, human: string, json: unknown): void {
  process.stdout.write(o.json ? `${JSON.stringify(json)}\n` : `${human}\n`);
}

/** Runs an action and turns errors into messages and exit codes. */
function action<A extends unknown[]>(cmd: () => Command, fn: (o: BmcOpts, ...a: A) => Promise<void>) {
  return async (...a: A) => {
    const o = cmd().optsWithGlobals() as BmcOpts;
    try {
      await fn(o, ...a);
    } catch (err) {
      if (err instanceof BmcError) {
        process.stderr.write(`rackseed bmc: ${err.message}\n`);
        if (o.json) process.stdout.write(`${JSON.stringify({ error: err.code, message: err.message })}\n`);
        process.exitCode = err.exitCode;
      } else if (err instanceof UsageError) {
        process.stderr.write(`rackseed bmc: ${err.message}\n`);
        process.exitCode = EXIT_USAGE;
      } else {
        process.stderr.write(`rackseed bmc: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    }
  };
}

/** The BMC accepted a setting but reads back something else. */
class BmcCommandMismatch extends BmcError {
  readonly code = 'command-failed'; readonly exitCode = 17; override readonly name = 'BmcCommandMismatch';
}

const POWER_WORDS: Record<Exclude<PowerAction, 'diag'>, string> = { on: 'Up/On', off: 'Down/Off', cycle: 'Cycle', reset: 'Reset', soft: 'Soft' };

export function bmcCommand(): Command {
  const bmc = new Command('bmc')
    .description('control a BMC over IPMI 2.0 (RMCP+, cipher suite 17 or 3), or sweep a subnet for BMCs')
    .option('-H, --host <host>', 'BMC address')
    .option('-U, --user <user>', 'BMC user name')
    .option('--password-file <file>', 'read the password from the first line of FILE (else RACKSEED_BMC_PASSWORD)')
    .addOption(new Option('-C, --cipher <suite>', 'cipher suite (default: negotiate 17, then 3)').argParser(int('cipher', 0, 255)))
    .option('-p, --port <port>', 'UDP port', int('port', 1, 65535), 623)
    .option('--allow-insecure', 'allow cipher suites without authentication/integrity/encryption (suite 0): lab only', false)
    .option('--timeout <ms>', 'first reply timeout in ms (retries back off ×1.5)', int('timeout', 50, 60_000), 2000)
    .option('--retries <n>', 'retransmissions per request', int('retries', 0, 10), 3)
    .option('--json', 'machine-readable output', false)
    .option('-v, --verbose', 'debug logs on stderr (never the password)', false)
    .showHelpAfterError();

  const power = new Command('power')
    .description('chassis power: status | on | off | cycle | reset | soft')
    .addArgument(new Command().createArgument('<action>', 'status|on|off|cycle|reset|soft').choices(['status', 'on', 'off', 'cycle', 'reset', 'soft']));
  power.action(action(() => power, async (o, act: string) => {
    await withBmc(o, async (s) => {
      if (act === 'status') {
        const st = await s.powerStatus();
        out(o, `Chassis Power is ${st}`, { power: st });
      } else {
        await s.power(act as PowerAction);
        out(o, `Chassis Power Control: ${POWER_WORDS[act as keyof typeof POWER_WORDS]}`, { ok: true, action: act });
      }
    });
  }));

  const bootdev = new Command('bootdev')
    .description('next boot device: pxe | disk | bios (read back after setting)')
    .addArgument(new Command().createArgument('<device>', 'pxe|disk|bios').choices(['pxe', 'disk', 'bios']))
    .option('--uefi', 'EFI boot (default legacy BIOS)', false)
    .option('--persistent', 'all future boots (default: next boot only)', false);
  bootdev.action(action(() => bootdev, async (o, device: 'pxe' | 'disk' | 'bios') => {
    const so = bootdev.opts() as { uefi: boolean; persistent: boolean };
    await withBmc(o, async (s) => {
      await s.setBootDevice({ device, uefi: so.uefi, persistent: so.persistent });
      const back = await s.getBootDevice();
      if (back.device !== device) {
        throw new BmcCommandMismatch(s.host, `the BMC accepted boot device ${device} but reports ${back.device}`);
      }
      out(o, `Set Boot Device to ${device}`, { ok: true, device: back.device, uefi: back.uefi, persistent: back.persistent });
    });
  }));

  const info = new Command('info').description('device id, vendor, GUID, chassis and LAN settings');
  info.action(action(() => info, async (o) => {
    await withBmc(o, async (s) => {
      const d = await s.deviceId();
      const guid = await s.systemGuid();
      const ch = await s.chassisStatus();
      const boot = await s.getBootDevice();
      const lan = await s.lanConfig().catch(() => null);
      const j = { host: s.host, cipherSuite: s.suite?.id, deviceId: d.deviceId, deviceRevision: d.deviceRevision, firmware: d.firmwareRevision,
        ipmiVersion: d.ipmiVersion, manufacturerId: d.manufacturerId, manufacturer: d.manufacturerName, productId: d.productId,
        guid, power: ch.powerOn ? 'on' : 'off', bootDevice: boot.device, lan };
      out(o, [
        `BMC                : ${s.host} (cipher suite ${s.suite?.id})`,
        `Device ID          : ${d.deviceId} (revision ${d.deviceRevision})`,
        `Firmware Revision  : ${d.firmwareRevision}`,
        `IPMI Version       : ${d.ipmiVersion}`,
        `Manufacturer       : ${d.manufacturerName ?? 'unknown'} (${d.manufacturerId})`,
        `Product ID         : ${d.productId} (0x${d.productId.toString(16).padStart(4, '0')})`,
        `System GUID        : ${guid}`,
        `Chassis Power      : ${j.power}`,
        `Boot Device        : ${boot.device}${boot.uefi ? ' (EFI)' : ''}${boot.persistent ? ' (persistent)' : ''}`,
        ...(lan ? [`LAN                : ${lan.ip} ${lan.mac} (channel ${lan.channel})`] : []),
      ].join('\n'), j);
    });
  }));

  const scan = new Command('scan')
    .description('sweep a CIDR for BMCs (ASF ping + Get Channel Auth Capabilities); with --user also vendor and GUID')
    .argument('<cidr>', 'e.g. 10.0.40.0/24')
    .option('--rate <n>', 'addresses per second', int('rate', 1, 10_000), 200)
    .option('--concurrency <n>', 'addresses in flight', int('concurrency', 1, 1024), 32);
  scan.action(action(() => scan, async (o, cidr: string) => {
    const so = scan.opts() as { rate: number; concurrency: number };
    let credentials;
    if (o.user) {
      const password = readPassword(o);
      if (password === null) throw new UsageError('--user needs a password: RACKSEED_BMC_PASSWORD or --password-file');
      credentials = { user: o.user, password, cipher: o.cipher, allowInsecure: o.allowInsecure };
    }
    const c = client(o);
    let n = 0;
    try {
      for await (const r of sweep(c, { cidr, port: o.port, ratePerSec: so.rate, concurrency: so.concurrency, credentials, probeTimeoutMs: Math.min(o.timeout, 1000), probeRetries: Math.min(o.retries, 1) })) {
        n++;
        const human = [r.address.padEnd(16), `IPMI ${r.ipmiVersion ?? '?'}`.padEnd(9), r.asf ? 'ASF' : '   ',
          (r.vendor ?? (credentials ? '' : '-')).padEnd(20), r.guid ?? '', r.error ? `error: ${r.error.message}` : ''].join(' ').trimEnd();
        out(o, human, r);
      }
    } finally {
      await c.close();
    }
    if (!o.json) process.stderr.write(`${n} BMC(s) found in ${cidr}\n`);
  }));

  bmc.addCommand(power).addCommand(bootdev).addCommand(info).addCommand(scan);
  return bmc;
}

// Runnable on its own too: `node --import tsx src/daemon/cli/bmc.ts --host … power status`
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await bmcCommand().name('rackseed bmc').parseAsync(process.argv);
}
