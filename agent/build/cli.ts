// `npm run build:ramdisk` — build the discovery ramdisk (kernel + initrd) into .cache/ramdisk/.
//   (no flags)     rebuild when any input changed (kernel version, busybox, agent scripts, builder code)
//   --if-missing   keep any valid cached build without checking inputs (scripts/setup.sh)
//   --force        rebuild regardless
//   --json         print the manifest on stdout
import { Command } from 'commander';
import { buildRamdisk } from './build.ts';

const program = new Command('build-ramdisk')
  .description('Build the RackSeed discovery ramdisk from Debian packages (cached under .cache/ramdisk)')
  .option('--if-missing', 'do nothing when a valid build exists')
  .option('--force', 'rebuild even when nothing changed')
  .option('--json', 'print the manifest as JSON')
  .action(async (o: { ifMissing?: boolean; force?: boolean; json?: boolean }) => {
    const { manifest } = await buildRamdisk({ ifMissing: o.ifMissing, force: o.force });
    if (o.json) process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`build:ramdisk: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
