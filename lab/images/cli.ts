// `node --import tsx lab/images/cli.ts build [--tiny] [--debian] [--force] [--if-missing] [--json]`
// Builds the lab images into .cache/images/ (or $RACKSEED_IMAGES_DIR) when an input changed; with neither
// --tiny nor --debian, lab-tiny only. `--out DIR` builds one image into another folder (the reproducibility
// check: two folders, same sha256). Prints the image paths, or the manifests with --json.
import { Command } from 'commander';
import { buildLabImage, ensureLabImages, type LabImage } from './index.ts';

const program = new Command('lab-images').description('RackSeed lab images (lab-tiny, lab-debian), built from Debian packages');
program.command('build')
  .description('build the lab images that are missing or out of date')
  .option('--tiny', 'lab-tiny: busybox + the Debian kernel, 64 MiB raw (~seconds)')
  .option('--debian', 'lab-debian: Debian 12 with cloud-init, qcow2 (debootstrap, ~150 s)')
  .option('--control', 'lab-control: lab-debian + Debian\'s Ironic, dnsmasq, nginx-light (the seed\'s control node, issue 17)')
  .option('--force', 'rebuild even when nothing changed')
  .option('--if-missing', 'keep any complete build without checking its inputs')
  .option('--out <dir>', 'build the one image asked for into this folder instead of the cache')
  .option('--json', 'print the manifests as JSON')
  .action(async (o: { tiny?: boolean; debian?: boolean; control?: boolean; force?: boolean; ifMissing?: boolean; out?: string; json?: boolean }) => {
    let images: LabImage[];
    if (o.out) {
      if ([o.tiny, o.debian, o.control].filter(Boolean).length > 1) throw new Error('--out builds one image: give --tiny, --debian or --control');
      images = [await buildLabImage(o.control ? 'lab-control' : o.debian ? 'lab-debian' : 'lab-tiny', { force: o.force, ifMissing: o.ifMissing, outDir: o.out })];
    } else {
      const r = await ensureLabImages({ tiny: o.tiny, debian: o.debian, control: o.control }, { force: o.force, ifMissing: o.ifMissing });
      images = [r.tiny, r.debian, r.control].filter((i): i is LabImage => i !== undefined);
    }
    if (o.json) process.stdout.write(`${JSON.stringify(images.map((i) => i.manifest), null, 2)}\n`);
    else for (const i of images) process.stdout.write(`${i.name}\t${i.format}\t${i.path}\t${i.sha256}${i.built ? '' : '\t(cached)'}\n`);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`lab-images: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
