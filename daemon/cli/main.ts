// `rackseed` command line (bin/rackseed.mjs imports this file). One file per subcommand (STYLE.md: pixiecore).
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serveCommand } from './serve.ts';
import { nodesCommand } from './nodes.ts';
import { imagesCommand } from './images.ts';
import { allowCommand } from './allow.ts';
import { handoffCommands } from './handoff.ts';
import { seedCommand } from './seed.ts';
import { exportCommands } from './export.ts';
import { deployCommands } from './deploy.ts';
import { servicesCommands } from './services.ts';
import { consoleCommand } from './console.ts';
import { inspectCommand } from './inspect.ts';
import { EXIT } from './client.ts';

const program = new Command('rackseed')
  .description('Bring bare metal up from nothing, offline: DHCP/proxyDHCP, TFTP, HTTP boot, IPMI, discovery.')
  .version('0.1.0');
program.addCommand(serveCommand());
program.addCommand(nodesCommand());
program.addCommand(inspectCommand());
program.addCommand(imagesCommand());
program.addCommand(allowCommand());
for (const c of handoffCommands()) program.addCommand(c);
program.addCommand(seedCommand());
for (const c of exportCommands()) program.addCommand(c);
for (const c of deployCommands()) program.addCommand(c);
for (const c of servicesCommands()) program.addCommand(c);
program.addCommand(consoleCommand());

// The IPMI engineer's `rackseed bmc …` subcommand, when present (bmc.ts beside this file, or bmc.js in the
// compiled daemon, dist/daemon: bin/daemon-dist.mjs).
const here = fileURLToPath(import.meta.url);
const bmcFile = join(dirname(here), `bmc${extname(here)}`);
if (existsSync(bmcFile)) {
  const mod = (await import(pathToFileURL(bmcFile).href)) as { bmcCommand?: () => Command };
  if (mod.bmcCommand) program.addCommand(mod.bmcCommand());
}

// A command line commander refuses (unknown option, a value outside --x's choices, a missing argument) exits
// EXIT.USAGE like the refusals the commands make themselves, not commander's own 1 (which EXIT gives no meaning);
// --help and --version exit 0 as before. Commander's message is already on stderr.
function usageExits(c: Command): void {
  c.exitOverride((err) => { process.exit(err.exitCode === 0 ? 0 : EXIT.USAGE); });
  for (const sub of c.commands) usageExits(sub);
}
usageExits(program);

await program.parseAsync(process.argv);
