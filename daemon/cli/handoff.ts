// `rackseed handoff NODE… --ironic URL [--user U --password-file F] [--wait] [--json]` and `rackseed takeback NODE…`:
// hand nodes to an OpenStack Ironic through the daemon (RACKSEED_URL, RACKSEED_TOKEN), or take them back.
// NODE: a node id, boot MAC or serial. The Ironic password comes from RACKSEED_IRONIC_PASSWORD or --password-file
// (first line), never from the command line; without --user the Ironic is spoken to with noauth. Without a password
// the daemon uses the one it stored for that Ironic. Exit codes: client.ts EXIT (FAILED when a hand-off failed,
// TIMEOUT when --wait gave up).
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import type { HandoffRecord, HandoffRequest } from '../../shared/handoff.ts';
import { CliError, DaemonClient, EXIT, runAction } from './client.ts';

/** The Ironic password: RACKSEED_IRONIC_PASSWORD, else the first line of `file`; undefined when neither. */
export function ironicPassword(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (file) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch (err) { throw new CliError(`cannot read the password file ${file}: ${(err as Error).message}`, EXIT.USAGE); }
    return text.split(/\r?\n/)[0] ?? '';
  }
  const v = env.RACKSEED_IRONIC_PASSWORD;
  return v === undefined || v === '' ? undefined : v;
}

function owner(r: HandoffRecord): string {
  return r.owner === 'rackseed' ? 'rackseed' : `${r.owner.kind} ${r.owner.url}`;
}

/** One line per node for a terminal. */
export function handoffTable(records: HandoffRecord[]): string {
  if (records.length === 0) return 'no hand-offs yet';
  const rows = [['NODE', 'STATUS', 'OWNER', 'ENGINE NODE', 'DETAIL']];
  for (const r of records) {
    const detail = r.status === 'failed' ? `${r.error ?? ''}${r.leftBehind ? ` (left in the engine: ${r.leftBehind})` : ''}`
      : r.result ? `${r.result.provisionState}, power ${r.result.enginePower ?? '?'} (BMC ${r.result.bmcPower ?? '?'}), ports ${r.result.ports.length}${r.existing ? `; ${r.existing}` : ''}`
        : r.existing ?? '';
    rows.push([r.nodeId, r.status ?? '-', owner(r), r.engineNode ?? '-', detail]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 4 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function handoffCommand(): Command {
  return new Command('handoff')
    .description('hand nodes over to an OpenStack Ironic: enroll, manage, provide, verify, then RackSeed stops answering them (NODE: id, MAC or serial)')
    .argument('<node...>', 'node ids, MACs or serials')
    .addOption(new Option('--ironic <url>', 'the Ironic API, e.g. http://10.0.0.5:6385'))
    .addOption(new Option('--to <url>', 'same as --ironic').hideHelp())
    .option('--user <user>', 'Ironic HTTP basic user (password from RACKSEED_IRONIC_PASSWORD or --password-file)')
    .option('--password-file <file>', 'file whose first line is the Ironic password')
    .option('--wait', 'wait until every hand-off ended', false)
    .option('--timeout <seconds>', 'with --wait: give up after this long', '1800')
    .option('--json', 'print JSON', false)
    .action(async (refs: string[], o: { ironic?: string; to?: string; user?: string; passwordFile?: string; wait: boolean; timeout: string; json: boolean }) => {
      await runAction(o.json, async () => {
        const url = o.ironic ?? o.to;
        if (!url) throw new CliError('give the Ironic API URL: --ironic http://HOST:6385', EXIT.USAGE);
        const password = ironicPassword(o.passwordFile);
        const engine: HandoffRequest['engine'] = { kind: 'ironic', url, ...(o.user ? { auth: 'basic' as const, user: o.user } : {}), ...(password !== undefined ? { password } : {}) };
        const client = DaemonClient.fromEnv();
        let records = await client.call<HandoffRecord[]>('POST', '/api/v1/handoff', { nodes: refs, engine } satisfies HandoffRequest);
        if (!o.wait) return records;
        const ids = records.map((r) => r.nodeId).join(',');
        const end = Date.now() + Number(o.timeout) * 1000;
        while (records.some((r) => r.status === 'running')) {
          if (Date.now() > end) throw new CliError(`hand-off still running after ${o.timeout} s`, EXIT.TIMEOUT, records);
          await sleep(500);
          records = await client.call<HandoffRecord[]>('GET', `/api/v1/handoff?nodes=${encodeURIComponent(ids)}`);
        }
        const failed = records.filter((r) => r.status === 'failed');
        if (failed.length > 0) throw new CliError(`${failed.length} of ${records.length} hand-off(s) failed:\n${handoffTable(failed)}`, EXIT.FAILED, records);
        return records;
      }, handoffTable);
    });
}

export function takebackCommand(): Command {
  return new Command('takeback')
    .description('take handed-over nodes back: RackSeed answers and drives them again (the engine keeps its records)')
    .argument('<node...>', 'node ids, MACs or serials')
    .option('--json', 'print JSON', false)
    .action(async (refs: string[], o: { json: boolean }) => {
      await runAction(o.json, () => DaemonClient.fromEnv().call<HandoffRecord[]>('POST', '/api/v1/takeback', { nodes: refs }), handoffTable);
    });
}

/** Both verbs, for main.ts. */
export function handoffCommands(): Command[] {
  return [handoffCommand(), takebackCommand()];
}
