// Process entry for the storm, so it can run inside the client namespace:
//   ip netns exec NS node --import tsx bench/lib/dhcp-storm-cli.ts '<StormOptions as JSON>'
// Prints one line of JSON (StormResult) on stdout; exits 1 with the error on stderr.
import { runStorm, type StormOptions } from './dhcp-storm.ts';

const opts = JSON.parse(process.argv[2] ?? '') as StormOptions;
const storm = opts.topology === 'local' ? (await import('./dhcp-local-storm.ts')).runLocalStorm : runStorm;
storm(opts).then(
  (result) => { process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0)); },
  (err: unknown) => { process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`); process.exit(1); },
);
