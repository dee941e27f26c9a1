// Locates the iPXE binaries Debian's `ipxe` package ships and bundles them into the resource folder that the
// TFTP root and /ipxe/* serve (scripts/build.sh runs bundleIpxeResources at build time, so the appliance works
// offline and serves exactly the files listed, with checksums, in manifest.json).
// Debian 12 `ipxe` (dpkg -L ipxe): /usr/lib/ipxe/undionly.kpxe, undionly.kkpxe, ipxe.pxe, snponly.efi, and
// ipxe.efi as a symlink to /boot/ipxe.efi.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface IpxeBinary {
  /** name served over TFTP/HTTP, e.g. "undionly.kpxe" */
  name: string;
  /** what the DHCP policy hands it to: option 93 architecture and chain style */
  use: string;
  required: boolean;
}

/** The binaries DESIGN.md's boot flow needs (arch 0 → undionly.kpxe; arch 7/9 → ipxe.efi or snponly.efi). */
export const IPXE_BINARIES: readonly IpxeBinary[] = [
  { name: 'undionly.kpxe', use: 'BIOS PXE (arch 0), chains through the firmware UNDI stack', required: true },
  { name: 'ipxe.efi', use: 'UEFI x64 (arch 7/9), iPXE with its own NIC drivers', required: true },
  { name: 'snponly.efi', use: 'UEFI x64 (arch 7/9), iPXE over the firmware SNP driver', required: true },
  { name: 'undionly.kkpxe', use: 'BIOS PXE, keeps the PXE stack loaded (fallback for picky ROMs)', required: false },
];

export const DEBIAN_IPXE_DIR = '/usr/lib/ipxe';

export interface LocatedBinary extends IpxeBinary {
  /** real path of the source file (symlinks resolved), or null when absent */
  source: string | null;
}

/** Find each known binary under `dir` (default /usr/lib/ipxe); never throws for missing files. */
export async function locateIpxeBinaries(dir = DEBIAN_IPXE_DIR): Promise<LocatedBinary[]> {
  return Promise.all(
    IPXE_BINARIES.map(async (b) => {
      try {
        const source = await realpath(join(dir, b.name));
        return (await stat(source)).isFile() ? { ...b, source } : { ...b, source: null };
      } catch {
        return { ...b, source: null };
      }
    }),
  );
}

export interface ManifestEntry {
  name: string;
  size: number;
  sha256: string;
  /** where it was copied from at build time */
  source: string;
}
export interface ResourceManifest {
  createdAt: string;
  files: ManifestEntry[];
}

/** Default bundle folder (the TFTP root and /ipxe/*): `<repo>/.cache/resources/ipxe`. */
export function defaultIpxeResourceDir(repoRoot = process.cwd()): string {
  return resolve(repoRoot, '.cache/resources/ipxe');
}

/**
 * Copy the located binaries into `dest` and write `dest/manifest.json` (sha256, size, source).
 * Rejects when a required binary is missing (install Debian's `ipxe`). Idempotent.
 */
export async function bundleIpxeResources(dest: string, sourceDir = DEBIAN_IPXE_DIR): Promise<ResourceManifest> {
  const located = await locateIpxeBinaries(sourceDir);
  const missing = located.filter((b) => b.required && !b.source).map((b) => b.name);
  if (missing.length) throw new Error(`iPXE binaries missing in ${sourceDir}: ${missing.join(', ')} (apt-get install ipxe)`);
  await mkdir(dest, { recursive: true });
  const files: ManifestEntry[] = [];
  for (const b of located) {
    if (!b.source) continue;
    const target = join(dest, b.name);
    await copyFile(b.source, `${target}.tmp`);
    await rename(`${target}.tmp`, target);
    files.push({ name: b.name, size: (await stat(target)).size, sha256: await sha256File(target), source: b.source });
  }
  const manifest: ResourceManifest = { createdAt: new Date().toISOString(), files };
  await writeFile(join(dest, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** Read `dir/manifest.json`; null when the bundle was never built. */
export async function readResourceManifest(dir: string): Promise<ResourceManifest | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ResourceManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function sha256File(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash('sha256');
    createReadStream(path).on('error', fail).on('data', (c) => h.update(c)).on('end', () => ok(h.digest('hex')));
  });
}
