// `rackseed images add FILE --name NAME [--wait] [--json]`, `rackseed images list [--json]`, `rackseed images rm NAME
// [--json]`: the daemon's image library through its API (RACKSEED_URL, RACKSEED_TOKEN). `add` streams the file as
// this user (the daemon never opens a path a client names); on a terminal a progress line follows the upload and,
// with --wait, the import (convert, hash, inspect); otherwise plain lines. Exit codes: client.ts EXIT — a refused
// image (format, corrupt, cannot boot) is EXIT.INVALID with the daemon's reason, any other failed import EXIT.FAILED.
import { Command } from 'commander';
import { createReadStream, statSync } from 'node:fs';
import type { ImageProgress, ImageRecord } from '../../shared/image.ts';
import { CliError, DaemonClient, EXIT, runAction } from './client.ts';

const MiB = 1024 * 1024;

export function formatBytes(n: number | null): string {
  if (n === null) return '-';
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** One line per image, aligned, for a terminal. */
export function imagesTable(images: ImageRecord[]): string {
  if (images.length === 0) return 'no images yet (rackseed images add FILE --name NAME)';
  const rows = [['NAME', 'STATE', 'FORMAT', 'SIZE', 'BOOT', 'SHA256', 'DETAIL']];
  for (const i of images) {
    const detail = i.state === 'failed' ? i.error ?? '' : i.state === 'importing' && i.progress ? progressText(i.progress) : '';
    rows.push([i.name, i.state, i.sourceFormat ?? '-', formatBytes(i.virtualSize), i.bootModes.join('+') || '-', i.sha256 ? i.sha256.slice(0, 12) : '-', detail]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

function progressText(p: ImageProgress): string {
  const pct = p.total ? ` ${Math.floor((100 * p.done) / p.total)}%` : '';
  return `${p.phase}${pct} ${formatBytes(p.done)}${p.total ? ` / ${formatBytes(p.total)}` : ''}`;
}

/**
 * Progress display on stderr: a redrawn bar on a TTY, else a plain line per phase and per 10 % (at most one every
 * few seconds), so logs of scripts stay short.
 */
class Progress {
  private lastLine = '';
  private lastPlainAt = 0;
  private lastPct = -1;
  private drawn = false;
  private readonly start = Date.now();
  constructor(private readonly tty: boolean) {}

  update(phase: string, done: number, total: number | null): void {
    const pct = total ? Math.min(100, Math.floor((100 * done) / total)) : null;
    if (this.tty) {
      const width = 30;
      const fill = pct === null ? 0 : Math.round((pct / 100) * width);
      const secs = (Date.now() - this.start) / 1000;
      const rate = phase === 'upload' && secs > 0.5 ? ` ${(done / MiB / secs).toFixed(1)} MiB/s` : '';
      const line = `${phase.padEnd(8)} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${pct === null ? '' : `${pct}% `}${formatBytes(done)}${total ? ` / ${formatBytes(total)}` : ''}${rate}`;
      if (line !== this.lastLine) { process.stderr.write(`\r\x1b[K${line}`); this.lastLine = line; this.drawn = true; }
      return;
    }
    const newPhase = !this.lastLine.startsWith(phase + ' ');
    const step = pct !== null && Math.floor(pct / 10) !== Math.floor(this.lastPct / 10);
    if (newPhase || (step && Date.now() - this.lastPlainAt > 2000) || (pct === 100 && this.lastPct !== 100)) {
      this.lastLine = `${phase} ${pct === null ? '' : `${pct}% `}${formatBytes(done)}${total ? ` / ${formatBytes(total)}` : ''}`;
      process.stderr.write(this.lastLine + '\n');
      this.lastPlainAt = Date.now();
    }
    this.lastPct = pct ?? this.lastPct;
  }

  end(): void {
    if (this.tty && this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}

const failedError = (i: ImageRecord) => new CliError(`image ${i.name} failed: ${i.error ?? 'unknown reason'}`, i.failure === 'invalid' ? EXIT.INVALID : EXIT.FAILED, i);

async function addImage(client: DaemonClient, file: string, o: { name: string; wait: boolean; json: boolean; timeout?: string }): Promise<ImageRecord> {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, EXIT.USAGE);
  }
  const progress = new Progress(Boolean(process.stderr.isTTY));
  const stream = createReadStream(file, { highWaterMark: 1024 * 1024 });
  let sent = 0;
  stream.on('data', (c) => { sent += c.length; progress.update('upload', sent, size); });
  let rec: ImageRecord;
  try {
    rec = await client.call<ImageRecord>('POST', `/api/v1/images?name=${encodeURIComponent(o.name)}`, stream, {
      contentType: 'application/octet-stream', headers: { 'content-length': String(size) },
    });
  } catch (err) {
    // a refusal (400) carries the daemon's reason as the message and the image record as the detail; the client
    // stopped the upload when the answer came (client.ts raw)
    progress.end();
    throw err;
  }
  if (!o.wait || rec.state !== 'importing') {
    progress.end();
    if (rec.state === 'failed') throw failedError(rec);
    return rec;
  }
  const deadline = o.timeout ? Date.now() + Number(o.timeout) * 1000 : Infinity;
  while (rec.state === 'importing') {
    if (Date.now() > deadline) { progress.end(); throw new CliError(`image ${rec.name} still importing after ${o.timeout} s`, EXIT.TIMEOUT, rec); }
    await new Promise((r) => setTimeout(r, 250));
    rec = await client.call<ImageRecord>('GET', `/api/v1/images/${encodeURIComponent(rec.id)}`);
    if (rec.progress) progress.update(rec.progress.phase, rec.progress.done, rec.progress.total);
  }
  progress.end();
  if (rec.state === 'failed') throw failedError(rec);
  return rec;
}

function describe(i: ImageRecord): string {
  if (i.state === 'ready') {
    return `image ${i.name} ready: ${i.sourceFormat}, ${formatBytes(i.virtualSize)} (${formatBytes(i.diskBytes)} on disk), boots ${i.bootModes.join('+')}, sha256 ${i.sha256}`;
  }
  return `image ${i.name} ${i.state}: upload received (${formatBytes(i.sourceBytes)}); \`rackseed images list\` shows when it is ready`;
}

export function imagesCommand(): Command {
  const cmd = new Command('images').description('the image library of the daemon (RACKSEED_URL, RACKSEED_TOKEN): add, list, rm');
  cmd.command('add')
    .description('import a disk image (qcow2, raw, raw.gz, raw.xz; detected by content) under NAME')
    .argument('<file>', 'the image file (read by this command and streamed to the daemon)')
    .requiredOption('--name <name>', 'unique name: a-z 0-9 . _ - (e.g. debian-12)')
    .option('--wait', 'follow the import until the image is ready or failed', false)
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 8)')
    .option('--json', 'print JSON', false)
    .action(async (file: string, o: { name: string; wait: boolean; json: boolean; timeout?: string }) => {
      await runAction(o.json, () => addImage(DaemonClient.fromEnv(), file, o), describe);
    });
  cmd.command('list')
    .description('list the images')
    .option('--json', 'print JSON', false)
    .action(async (o: { json: boolean }) => {
      await runAction(o.json, () => DaemonClient.fromEnv().call<ImageRecord[]>('GET', '/api/v1/images'), imagesTable);
    });
  cmd.command('rm')
    .description('remove an image (an import in progress is stopped)')
    .argument('<name>', 'image name or id')
    .option('--json', 'print JSON', false)
    .action(async (name: string, o: { json: boolean }) => {
      await runAction(o.json, () => DaemonClient.fromEnv().call<ImageRecord>('DELETE', `/api/v1/images/${encodeURIComponent(name)}`), (i) => `removed image ${i.name}`);
    });
  return cmd;
}
