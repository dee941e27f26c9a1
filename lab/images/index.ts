// The lab images, built from Debian packages and cached under .cache/images/ (see README.md):
//   ensureLabImages({ tiny: true, debian: true }) → { tiny: LabImage, debian: LabImage }
// An image is rebuilt only when one of its inputs changed (its manifest's inputsKey) or a file is missing.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  imagesDir, loadImageManifest, lock, saveImageManifest, sourceDateEpoch, verifyImage, type BootMode, type ImageManifest, type LabImageName, type Log,
} from './cache.ts';
import { buildTiny, tinyInputs } from './tiny.ts';
import { buildDebian, debianInputs } from './debian.ts';

export { imagesDir, loadImageManifest, type ImageManifest, type BootMode, type LabImageName } from './cache.ts';
export { TINY_MARKER } from './tiny.ts';

/** One built image, as the deploy engineer's image library imports it. */
export interface LabImage {
  name: LabImageName;
  /** absolute path of the file to import (lab-tiny: raw, lab-debian: qcow2) */
  path: string;
  format: 'raw' | 'qcow2';
  sha256: string;
  size: number;
  /** bytes of the disk it holds */
  virtualSize: number;
  bootModes: BootMode[];
  /** lab-tiny: the same disk gzipped */
  rawGz?: string;
  manifestPath: string;
  manifest: ImageManifest;
  /** false when the cached build was kept */
  built: boolean;
}

export interface BuildOptions {
  /** rebuild even when nothing changed */
  force?: boolean;
  /** keep any complete build without looking at the inputs (cheap: no apt-cache, no hashing) */
  ifMissing?: boolean;
  /** cache root (default .cache/images or $RACKSEED_IMAGES_DIR): kernel-root/, debs/, debootstrap-cache/ */
  cacheDir?: string;
  /** where this image goes (default <cacheDir>/<name>) */
  outDir?: string;
  log?: Log;
}

/** Defaults of SOURCE_DATE_EPOCH per image (2000-01-01 for lab-tiny; lab-debian uses its archive's Release date). */
const TINY_EPOCH = 946684800;

export async function buildLabImage(name: LabImageName, o: BuildOptions = {}): Promise<LabImage> {
  const cacheDir = o.cacheDir ?? imagesDir();
  const outDir = o.outDir ?? join(cacheDir, name);
  const log = o.log ?? ((m: string) => console.error(`lab-images: ${m}`));
  mkdirSync(outDir, { recursive: true });
  mkdirSync(cacheDir, { recursive: true });
  const unlock = await lock(join(outDir, '.lock'), log);
  try {
    const previous = loadImageManifest(outDir);
    if (o.ifMissing && !o.force && previous && (await verifyImage(previous))) {
      log(`${name}: kept cached build (${previous.image.path})`);
      return labImage(outDir, previous, false);
    }
    const started = Date.now();
    let manifest: Omit<ImageManifest, 'buildSeconds' | 'builtAt'>;
    if (name === 'lab-tiny') {
      const ctx = { outDir, cacheDir, epoch: sourceDateEpoch(TINY_EPOCH), log };
      const inputs = tinyInputs(ctx, (previous?.inputs.kernel as { kernelVersion?: string } | undefined)?.kernelVersion ?? null);
      if (!o.force && previous && previous.inputsKey === inputs.key && (await verifyImage(previous))) {
        log(`${name}: up to date (${previous.image.path})`);
        return labImage(outDir, previous, false);
      }
      log(`${name}: building`);
      manifest = await buildTiny(ctx, inputs);
    } else {
      const ctx = { outDir, cacheDir, log, variant: name };
      const inputs = debianInputs(ctx);
      if (!o.force && previous && previous.inputsKey === inputs.key && (await verifyImage(previous))) {
        log(`${name}: up to date (${previous.image.path})`);
        return labImage(outDir, previous, false);
      }
      log(`${name}: building (debootstrap from ${inputs.mirror}, ~150 s and more on a busy machine)`);
      manifest = await buildDebian(ctx, inputs, o.force);
    }
    const full: ImageManifest = { ...manifest, buildSeconds: Math.round((Date.now() - started) / 100) / 10, builtAt: new Date().toISOString() };
    saveImageManifest(outDir, full);
    log(`${name}: built in ${full.buildSeconds} s: ${full.image.path} (${full.image.sha256})`);
    const loaded = loadImageManifest(outDir);
    if (!loaded) throw new Error(`${name}: the manifest just written cannot be read back`);
    return labImage(outDir, loaded, true);
  } finally {
    unlock();
  }
}

/** Build (when needed) the images asked for and return them. With no flag given, lab-tiny only. */
export async function ensureLabImages(want: { tiny?: boolean; debian?: boolean; control?: boolean } = {}, o: Omit<BuildOptions, 'outDir'> = {}): Promise<{ tiny?: LabImage; debian?: LabImage; control?: LabImage }> {
  const tiny = want.tiny ?? !(want.debian || want.control);
  const out: { tiny?: LabImage; debian?: LabImage; control?: LabImage } = {};
  if (tiny) out.tiny = await buildLabImage('lab-tiny', o);
  if (want.debian) out.debian = await buildLabImage('lab-debian', o);
  if (want.control) out.control = await buildLabImage('lab-control', o);
  return out;
}

function labImage(dir: string, m: ImageManifest, built: boolean): LabImage {
  return {
    name: m.name, path: m.image.path, format: m.image.format, sha256: m.image.sha256, size: m.image.size, virtualSize: m.virtualSize,
    bootModes: m.bootModes, rawGz: m.extra.find((e) => e.format === 'raw.gz')?.path, manifestPath: join(dir, 'manifest.json'), manifest: m, built,
  };
}
