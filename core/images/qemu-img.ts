// Debian's qemu-img (package qemu-utils) for qcow2 images: info, check, convert to raw. Child processes, so the
// serving thread only reads their output. Every call names the format and opens the file through a `json:` filename
// with `"backing": null`, so a crafted qcow2 can never make qemu-img (run as root) open a host file as its backing
// image; images that declare a backing file, an external data file or encryption are refused outright.
import { spawn } from 'node:child_process';
import { ImageRefusedError } from './errors.ts';

export interface Qcow2Info {
  virtualSize: number;
}

/** Output (stdout, stderr: the last 64 KiB each) and exit code of `qemu-img ARGS`. */
interface Run { code: number | null; stdout: string; stderr: string }

const KEEP = 64 * 1024;

function run(args: string[], o: { signal?: AbortSignal; onStdout?: (s: string) => void; bin?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(o.bin ?? 'qemu-img', args, { stdio: ['ignore', 'pipe', 'pipe'], signal: o.signal, env: { ...process.env, LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { o.onStdout?.(s); stdout = (stdout + s).slice(-KEEP); });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr = (stderr + s).slice(-KEEP); });
    child.on('error', (err) => reject((err as NodeJS.ErrnoException).code === 'ENOENT'
      ? new Error('qemu-img is not installed (Debian package qemu-utils; npm run setup installs it)')
      : err));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The `json:` pseudo-filename that opens `path` as qcow2 with backing files disabled. */
export function qcow2Source(path: string): string {
  return 'json:' + JSON.stringify({ driver: 'qcow2', backing: null, file: { driver: 'file', filename: path } });
}

function firstLines(s: string, n = 3): string {
  return s.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, n).join('; ');
}

/** `qemu-img info`: the virtual size; refuses backing files, external data files, encryption and the corrupt flag. */
export async function qcow2Info(path: string, signal?: AbortSignal): Promise<Qcow2Info> {
  const r = await run(['info', '--output=json', qcow2Source(path)], { signal });
  if (r.code !== 0) throw new ImageRefusedError(`not a readable qcow2 image: ${firstLines(r.stderr) || `qemu-img info exited ${r.code}`}`);
  let info: Record<string, unknown>;
  try { info = JSON.parse(r.stdout) as Record<string, unknown>; } catch { throw new Error('qemu-img info printed no JSON'); }
  const backing = info['backing-filename'] ?? info['full-backing-filename'];
  if (typeof backing === 'string') {
    throw new ImageRefusedError(`the qcow2 image has a backing file (${backing}): import a standalone image (qemu-img convert -O qcow2 IMAGE FLAT.qcow2)`);
  }
  const data = ((info['format-specific'] as { data?: Record<string, unknown> } | undefined)?.data) ?? {};
  if (typeof data['data-file'] === 'string') {
    throw new ImageRefusedError(`the qcow2 image keeps its data in an external file (${String(data['data-file'])}): import a standalone image (qemu-img convert -O qcow2)`);
  }
  if (info.encrypted === true || data.encrypt !== undefined) throw new ImageRefusedError('the qcow2 image is encrypted: decrypt it first (qemu-img convert with its secret)');
  if (data.corrupt === true) throw new ImageRefusedError('the qcow2 image is marked corrupt (its corrupt flag is set): repair it with qemu-img check -r all, or rebuild it');
  const size = info['virtual-size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) throw new ImageRefusedError(`the qcow2 image has no usable virtual size (${String(size)})`);
  return { virtualSize: size };
}

/**
 * `qemu-img check`: exit 0 (clean) or 3 (leaked clusters only: wasted space, data intact) pass; 2 (corruptions) and
 * 1 (the check itself failed) refuse the image with qemu-img's own first lines.
 */
export async function qcow2Check(path: string, signal?: AbortSignal): Promise<void> {
  const r = await run(['check', '--output=json', qcow2Source(path)], { signal });
  if (r.code === 0 || r.code === 3) return;
  let corruptions: number | null = null;
  try { corruptions = (JSON.parse(r.stdout) as { corruptions?: number }).corruptions ?? null; } catch { /* no JSON when the check could not run */ }
  const detail = firstLines(r.stderr);
  if (r.code === 2) {
    throw new ImageRefusedError(`corrupt qcow2 image: qemu-img check found ${corruptions ?? 'some'} corruption${corruptions === 1 ? '' : 's'}${detail ? ` (${detail})` : ''}`);
  }
  throw new ImageRefusedError(`corrupt qcow2 image: qemu-img check could not check it${detail ? ` (${detail})` : ` (exit ${r.code})`}`);
}

/** `qemu-img convert -O raw` (sparse output) to `out`; `onProgress(fraction 0..1)` from its -p output. */
export async function qcow2ToRaw(path: string, out: string, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<void> {
  let partial = '';
  const r = await run(['convert', '-p', '-O', 'raw', qcow2Source(path), out], {
    signal,
    onStdout: (s) => {
      partial += s;
      const all = [...partial.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
      if (all.length > 0) onProgress(Math.min(1, Number(all[all.length - 1]![1]) / 100));
      partial = partial.slice(-64);
    },
  });
  if (r.code === 0) return;
  const why = `qemu-img could not convert the qcow2 image: ${firstLines(r.stderr) || `exit ${r.code}`}`;
  // the daemon's own trouble (disk full, killed) is not the image's fault
  if (/No space left|Disk quota|Killed/i.test(r.stderr) || r.code === null) throw new Error(why);
  throw new ImageRefusedError(why);
}
