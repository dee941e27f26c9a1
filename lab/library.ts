// The lab's two images in the daemon's image library, by name (issue 15 item 8): `lab-tiny` (cached by
// scripts/setup.sh lab, seconds) is imported before the lab says it is ready; `lab-debian` (debootstrap: minutes
// the first time, cached under .cache/images afterwards) is built by a child process in the background, its output
// shown with a `[lab-debian]` prefix, and imported when the build ends. Both go through the daemon's own API
// (POST /api/v1/images?name=…, the upload the UI and `rackseed images add` make) and are followed until `ready`.
// An image already ready in the library under that name is kept (a daemon restarted on the same data directory).
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { REPO_ROOT } from './appliance.ts';
import { ensureLabImages, loadImageManifest, type LabImage } from './images/index.ts';
import { imagesDir } from './images/index.ts';
import { join } from 'node:path';
import { sleep } from './processes.ts';
import { DaemonClient } from '../daemon/cli/client.ts';
import type { ImageRecord } from '../shared/image.ts';

export type LabImageChoice = 'all' | 'tiny' | 'none';

export interface RegisterOptions {
  /** the daemon's API: `unix:<socket>` */
  url: string;
  token: string;
  progress: (line: string) => void;
  signal?: AbortSignal;
}

const mib = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;

/**
 * Imports a built lab image under its name and waits until the daemon has it `ready` (qcow2 → raw, sha256, boot
 * modes). Resolves with the library's record; throws with the daemon's reason when the import fails.
 */
export async function registerLabImage(img: Pick<LabImage, 'name' | 'path' | 'sha256'>, o: RegisterOptions): Promise<ImageRecord> {
  const client = new DaemonClient({ url: o.url, token: o.token });
  const existing = (await client.call<ImageRecord[]>('GET', '/api/v1/images')).find((i) => i.name === img.name);
  if (existing?.state === 'ready' && existing.sourceFormat !== null) {
    o.progress(`image ${img.name}: already in the library (${existing.sha256?.slice(0, 12)}…)`);
    return existing;
  }
  if (existing) await client.call('DELETE', `/api/v1/images/${img.name}`);
  const size = statSync(img.path).size;
  o.progress(`image ${img.name}: importing ${img.path} (${mib(size)})`);
  await client.call('POST', `/api/v1/images?name=${encodeURIComponent(img.name)}`, createReadStream(img.path), { headers: { 'content-length': String(size) } });
  let lastPhase = '';
  for (;;) {
    if (o.signal?.aborted) throw new Error('stopped');
    const r = await client.call<ImageRecord>('GET', `/api/v1/images/${img.name}`);
    if (r.state === 'ready') {
      o.progress(`image ${img.name}: ready (${r.bootModes.join('+')}, disk ${mib(r.virtualSize ?? 0)}, sha256 ${r.sha256?.slice(0, 12)}…)`);
      return r;
    }
    if (r.state === 'failed') throw new Error(`image ${img.name}: import failed: ${r.error ?? 'no reason given'}`);
    const phase = r.progress ? `${r.progress.phase}` : '';
    if (phase && phase !== lastPhase) { o.progress(`image ${img.name}: ${phase}…`); lastPhase = phase; }
    await sleep(500);
  }
}

/** A running lab-debian build + import in the background. `stop()` ends the build child (by its PID). */
export interface BackgroundImage {
  done: Promise<ImageRecord | null>;
  stop(): void;
}

/**
 * Builds lab-debian in a child process (`lab/images/cli.ts build --debian --if-missing`; cached: a second), its
 * lines shown as `[lab-debian] …`, then imports it. Never rejects: a failure is reported through `progress` and
 * resolves null (the lab keeps running with lab-tiny).
 */
export function registerDebianInBackground(o: RegisterOptions): BackgroundImage {
  let child: ChildProcess | null = null;
  let stopped = false;
  const t0 = Date.now();
  const done = (async (): Promise<ImageRecord | null> => {
    try {
      const cached = loadImageManifest(join(imagesDir(), 'lab-debian'));
      o.progress(cached ? 'image lab-debian: checking the cached build' : 'image lab-debian: building in the background (debootstrap from Debian\'s archive: minutes; cached afterwards)');
      const code = await new Promise<number | null>((resolve, reject) => {
        child = spawn(process.execPath, ['--import', 'tsx', 'lab/images/cli.ts', 'build', '--debian', '--if-missing'],
          { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        const relay = (d: Buffer) => { for (const l of d.toString().split('\n')) if (l.trim()) o.progress(`[lab-debian] ${l.trim()}`); };
        child.stdout!.on('data', relay);
        child.stderr!.on('data', relay);
        child.on('error', reject);
        child.on('exit', (c) => resolve(c));
      });
      child = null;
      if (stopped) return null;
      if (code !== 0) throw new Error(`the build exited with ${String(code)}`);
      const { debian } = await ensureLabImages({ debian: true, tiny: false }, { ifMissing: true, log: () => {} });
      if (!debian) throw new Error('no image after the build');
      o.progress(`image lab-debian: built (${Math.round((Date.now() - t0) / 1000)} s)`);
      const rec = await registerLabImage(debian, o);
      o.progress(`image lab-debian: registered ${Math.round((Date.now() - t0) / 1000)} s after start — deploy it with: rackseed deploy NODE… --image lab-debian`);
      return rec;
    } catch (err) {
      if (!stopped) o.progress(`image lab-debian: not registered: ${(err as Error).message}`);
      return null;
    }
  })();
  return {
    done,
    stop() {
      stopped = true;
      const c = child as ChildProcess | null;
      if (c?.pid !== undefined && c.exitCode === null) { try { process.kill(c.pid, 'SIGTERM'); } catch { /* gone */ } }
    },
  };
}
