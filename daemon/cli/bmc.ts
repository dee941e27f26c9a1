// `rackseed bmc …`: ipmitool-style BMC control over IPMI 2.0 (RMCP+) or Redfish, and a BMC sweep.
//
//   rackseed bmc --host H --user U [--protocol auto|ipmi|redfish] [--cipher 3|17] [--port 623] power status|on|off|cycle|reset|soft
//   rackseed bmc --host H --user U bootdev pxe|disk|bios [--uefi] [--persistent]
//   rackseed bmc --host H --user U info
//   rackseed bmc scan CIDR [--user U]
//
// --protocol auto (the default) asks GET /redfish/v1 on --redfish-port (443) first and uses Redfish when it answers,
// else IPMI. Redfish certificates are pinned on first use in --pins FILE (RACKSEED_BMC_PINS, default
// ~/.config/rackseed/bmc-pins.json; the fingerprint is printed when pinned) and a changed one is refused (exit 21)
// unless --insecure is given. Redfish exit codes beyond IPMI's: 20 reset type not allowed, 21 certificate changed,
// 22 task timeout, 23 several systems (choose one with --system ID).
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
import { BOOT_TARGET_FOR, RedfishClient, type RedfishSession } from '../../bmc/redfish/session/client.ts';
import { redfishSweep } from '../../bmc/redfish/session/sweep.ts';
import { defaultPinFile, FilePinStore } from './bmc-pins.ts';

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
  protocol: 'auto' | 'ipmi' | 'redfish';
  redfishPort: number;
  insecure: boolean;
  system?: string;
  pins?: string;
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

/** A Redfish client for the CLI: pins in the pin file, the fingerprint printed when pinned. */
function redfishClient(o: BmcOpts): RedfishClient {
  const pins = new FilePinStore(o.pins ?? defaultPinFile());
  return new RedfishClient({
    logger: logger(o), timeoutMs: Math.max(o.timeout, 1000), retries: Math.min(o.retries, 3), insecure: o.insecure, pins,
    onPinned: (host, port, sha256) => process.stderr.write(`rackseed bmc: ${host}:${port} presents TLS certificate SHA-256 ${sha256}; pinned in ${pins.file} (trust on first use)\n`),
  });
}

/** The protocol to use with this BMC: as asked, or (auto) Redfish when GET /redfish/v1 answers, else IPMI. */
async function resolveProtocol(o: BmcOpts, host: string): Promise<'ipmi' | 'redfish'> {
  if (o.protocol !== 'auto') return o.protocol;
  const c = redfishClient(o);
  try {
    await c.serviceRoot(host, o.redfishPort, { timeoutMs: Math.min(o.timeout, 3000), retries: 0 });
    return 'redfish';
  } catch (err) {
    // a certificate that changed is a Redfish BMC: say so rather than quietly falling back to IPMI
    if (err instanceof BmcError && err.code === 'certificate-changed') throw err;
    return 'ipmi';
  } finally {
    await c.close();
  }
}

function credentials(o: BmcOpts): { host: string; user: string; password: string } {
  if (!o.host) throw new UsageError('--host is required');
  if (!o.user) throw new UsageError('--user is required');
  const password = readPassword(o);
  if (password === null) throw new UsageError('no password: set RACKSEED_BMC_PASSWORD or pass --password-file FILE (never on the command line)');
  return { host: o.host, user: o.user, password };
}

async function withBmc<T>(o: BmcOpts, fn: (s: BmcSession) => Promise<T>): Promise<T> {
  const { host, user, password } = credentials(o);
  const c = client(o);
  try {
    return await c.withSession(host, { user, password, port: o.port, cipher: o.cipher, allowInsecure: o.allowInsecure }, fn);
  } finally {
    await c.close();
  }
}

async function withRedfish<T>(o: BmcOpts, fn: (s: RedfishSession) => Promise<T>): Promise<T> {
  const { host, user, password } = credentials(o);
  const c = redfishClient(o);
  try {
    return await c.withSession(host, { user, password, port: o.redfishPort, systemId: o.system }, fn);
  } finally {
    await c.close();
  }
}

/** Run `ipmi` or `redfish` on the BMC, whichever protocol it is driven with (--protocol, auto by default). */
async function either<T>(o: BmcOpts, ipmi: (s: BmcSession) => Promise<T>, redfish: (s: RedfishSession) => Promise<T>): Promise<T> {
  const { host } = credentials(o);
  return (await resolveProtocol(o, host)) === 'redfish' ? withRedfish(o, redfish) : withBmc(o, ipmi);
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
    .description('control a BMC over IPMI 2.0 (RMCP+, cipher suite 17 or 3) or Redfish, or sweep a subnet for BMCs')
    .option('-H, --host <host>', 'BMC address')
    .option('-U, --user <user>', 'BMC user name')
    .option('--password-file <file>', 'read the password from the first line of FILE (else RACKSEED_BMC_PASSWORD)')
    .addOption(new Option('-C, --cipher <suite>', 'cipher suite (default: negotiate 17, then 3)').argParser(int('cipher', 0, 255)))
    .option('-p, --port <port>', 'IPMI UDP port', int('port', 1, 65535), 623)
    .addOption(new Option('--protocol <protocol>', 'auto: Redfish when GET /redfish/v1 answers, else IPMI').choices(['auto', 'ipmi', 'redfish']).default('auto'))
    .option('--redfish-port <port>', 'Redfish HTTPS port', int('redfish-port', 1, 65535), 443)
    .option('--system <id>', 'Redfish: the ComputerSystem Id, when the BMC manages several')
    .option('--pins <file>', 'Redfish: certificate pin file (default RACKSEED_BMC_PINS or ~/.config/rackseed/bmc-pins.json)')
    .option('--insecure', 'Redfish: accept any TLS certificate and pin nothing (only on a network you trust)', false)
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
    await either(o, async (s) => {
      if (act === 'status') {
        const st = await s.powerStatus();
        out(o, `Chassis Power is ${st}`, { power: st });
      } else {
        await s.power(act as PowerAction);
        out(o, `Chassis Power Control: ${POWER_WORDS[act as keyof typeof POWER_WORDS]}`, { ok: true, action: act });
      }
    }, async (s) => {
      if (act === 'status') {
        const st = await s.powerStatus();
        out(o, `Chassis Power is ${st}`, { power: st, protocol: 'redfish' });
      } else {
        const resetType = await s.resetTypeFor(act as 'on' | 'off' | 'cycle' | 'reset' | 'soft');
        await s.reset(resetType);
        out(o, `Chassis Power Control: ${POWER_WORDS[act as keyof typeof POWER_WORDS]} (Redfish ResetType ${resetType})`, { ok: true, action: act, protocol: 'redfish', resetType });
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
    await either(o, async (s) => {
      await s.setBootDevice({ device, uefi: so.uefi, persistent: so.persistent });
      const back = await s.getBootDevice();
      if (back.device !== device) {
        throw new BmcCommandMismatch(s.host, `the BMC accepted boot device ${device} but reports ${back.device}`);
      }
      out(o, `Set Boot Device to ${device}`, { ok: true, device: back.device, uefi: back.uefi, persistent: back.persistent });
    }, async (s) => {
      const target = BOOT_TARGET_FOR[device];
      await s.setBootOverride({ target, enabled: so.persistent ? 'Continuous' : 'Once', mode: so.uefi ? 'UEFI' : 'Legacy' });
      const back = await s.getBoot();
      if (back.target !== target) throw new BmcCommandMismatch(s.key, `the BMC accepted boot target ${target} but reports ${back.target}`);
      out(o, `Set Boot Device to ${device}`, { ok: true, device, protocol: 'redfish', target: back.target, enabled: back.enabled, mode: back.mode, uefi: back.mode === 'UEFI', persistent: back.enabled === 'Continuous' });
    });
  }));

  const info = new Command('info').description('device id, vendor, GUID, chassis and LAN settings');
  info.action(action(() => info, async (o) => {
    await either(o, (s) => ipmiInfo(o, s), async (s) => {
      const sys = await s.system();
      const id = await s.identity();
      const resets = await s.allowedResetTypes(sys);
      const fp = s.root && new FilePinStore(o.pins ?? defaultPinFile()).get(s.key);
      const j = { host: s.key, protocol: 'redfish', redfishVersion: s.redfishVersion, auth: s.auth, system: sys.id, uuid: id.uuid, serial: id.serial, model: id.model,
        manufacturer: id.manufacturer, macs: id.macs, firmware: id.firmware, power: sys.powerState, boot: sys.boot, resetTypes: resets, tlsFingerprint: o.insecure ? null : fp };
      out(o, [
        `BMC                : ${s.key} (Redfish ${s.redfishVersion}, ${s.auth === 'session' ? 'session login' : 'basic auth'})`,
        `System             : ${sys.id} ${id.manufacturer ?? ''} ${id.model ?? ''}`.trimEnd(),
        `Serial Number      : ${id.serial ?? 'unknown'}`,
        `System UUID        : ${id.uuid ?? 'unknown'}`,
        `MAC Addresses      : ${id.macs.join(', ') || 'none reported'}`,
        `Firmware Revision  : ${id.firmware ?? 'unknown'}`,
        `Chassis Power      : ${sys.powerState ?? 'unknown'}`,
        `Boot Override      : ${sys.boot.target ?? 'None'} (${sys.boot.enabled ?? 'Disabled'}${sys.boot.mode ? `, ${sys.boot.mode}` : ''})`,
        `Reset Types        : ${resets?.join(', ') ?? 'not listed'}`,
        `TLS Certificate    : ${o.insecure ? 'not checked (--insecure)' : `SHA-256 ${fp ?? '?'}`}`,
      ].join('\n'), j);
    });
  }));

  async function ipmiInfo(o: BmcOpts, s: BmcSession): Promise<void> {
    {
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
    }
  }

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
    const rc = o.protocol === 'ipmi' ? null : redfishClient(o);
    let n = 0;
    try {
      const ipmiPart = o.protocol === 'redfish' ? Promise.resolve() : (async () => {
        for await (const r of sweep(c, { cidr, port: o.port, ratePerSec: so.rate, concurrency: so.concurrency, credentials, probeTimeoutMs: Math.min(o.timeout, 1000), probeRetries: Math.min(o.retries, 1) })) {
          n++;
          const human = [r.address.padEnd(16), `IPMI ${r.ipmiVersion ?? '?'}`.padEnd(13), r.asf ? 'ASF' : '   ',
            (r.vendor ?? (credentials ? '' : '-')).padEnd(20), r.guid ?? '', r.error ? `error: ${r.error.message}` : ''].join(' ').trimEnd();
          out(o, human, { protocol: 'ipmi', ...r });
        }
      })();
      const redfishPart = !rc ? Promise.resolve() : (async () => {
        for await (const r of redfishSweep(rc, { cidr, port: o.redfishPort, ratePerSec: so.rate, concurrency: so.concurrency, probeTimeoutMs: Math.max(Math.min(o.timeout, 2000), 500),
          credentials: credentials ? { user: credentials.user, password: credentials.password } : undefined })) {
          n++;
          const human = [(r.port === 443 ? r.address : `${r.address}:${r.port}`).padEnd(16), `Redfish ${r.redfishVersion}`.padEnd(13), 'TLS',
            (r.system?.manufacturer ?? r.vendor ?? '-').padEnd(20), r.system?.uuid ?? '', r.fingerprint ? `sha256 ${r.fingerprint}` : '', r.error ? `error: ${r.error.message}` : ''].join(' ').trimEnd();
          out(o, human, { protocol: 'redfish', ...r });
        }
      })();
      await Promise.all([ipmiPart, redfishPart]);
    } finally {
      await c.close();
      await rc?.close();
    }
    if (!o.json) process.stderr.write(`${n} BMC(s) found in ${cidr}\n`);
  }));

  bmc.addCommand(power).addCommand(bootdev).addCommand(info).addCommand(scan);
  return bmc;
}

// Runnable on its own too: `node --import tsx daemon/cli/bmc.ts --host … power status`
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await bmcCommand().name('rackseed bmc').parseAsync(process.argv);
}
