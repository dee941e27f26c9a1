// `rackseed export --format metal3|tinkerbell|ironic|ansible|csv [--include-secrets] [NODE…]` (the file on stdout) and
// `rackseed import FILE.csv` (a RackSeed nodes CSV or a rack plan: position,serial,bmc_address[,mac]), through the
// daemon (RACKSEED_URL, RACKSEED_TOKEN). Without --include-secrets no BMC password is in the export (its header says
// what is left out); with it, the header's first line says the file holds them. Exit codes: client.ts EXIT.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { EXPORT_FORMATS, type ImportResult } from '../../shared/handoff.ts';
import { CliError, DaemonClient, EXIT, runAction } from './client.ts';

export function exportCommand(): Command {
  return new Command('export')
    .description('print the fleet (or the given nodes: id, MAC or serial) for another engine: Metal3, Tinkerbell, Ironic, Ansible (Bifrost) or CSV')
    .argument('[node...]', 'node ids, MACs or serials (default: every node with a BMC or an inventory)')
    .addOption(new Option('--format <format>', 'what to write').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .option('--include-secrets', 'include the BMC passwords (the file header says so)', false)
    .addOption(new Option('--with-secrets', 'same as --include-secrets').hideHelp())
    .action(async (refs: string[], o: { format: string; includeSecrets: boolean; withSecrets?: boolean }) => {
      await runAction(false, async () => {
        const q = new URLSearchParams({ format: o.format });
        if (refs.length > 0) q.set('nodes', refs.join(','));
        if (o.includeSecrets || o.withSecrets) q.set('secrets', '1');
        const text = await DaemonClient.fromEnv().call<unknown>('GET', `/api/v1/export?${q}`);
        if (typeof text !== 'string') throw new CliError('the daemon answered something that is not an export', EXIT.FAILED);
        process.stdout.write(text);
        return null;
      }, () => null);
    });
}

export function importCommand(): Command {
  return new Command('import')
    .description('pre-register BMCs and expected nodes from a CSV: a RackSeed export (csv) or a rack plan (position,serial,bmc_address[,mac])')
    .argument('<file>', 'the CSV file')
    .option('--json', 'print JSON', false)
    .action(async (file: string, o: { json: boolean }) => {
      await runAction(o.json, async () => {
        let csv: string;
        try { csv = readFileSync(file, 'utf8'); } catch (err) { throw new CliError(`cannot read ${file}: ${(err as Error).message}`, EXIT.USAGE); }
        return DaemonClient.fromEnv().call<ImportResult>('POST', '/api/v1/import', { csv });
      }, (r) => `imported ${r.kind === 'nodes' ? 'a nodes CSV' : 'a rack plan'}: ${r.rows} row(s); ${r.created.length} node(s) created, ${r.updated.length} updated, ${r.bmcs.length} BMC(s) registered`);
    });
}

/** Both verbs, for main.ts. */
export function exportCommands(): Command[] {
  return [exportCommand(), importCommand()];
}
