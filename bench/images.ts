// Image serving: N concurrent HTTP clients (curl) each downloading a whole raw image from RackSeed's HTTP boot server
// (as the daemon builds it: bench/lib/image-server.ts, the image imported through the image library and served at
// /images/<sha256>.raw) vs Debian's nginx (nginx-light, worker_processes auto and sendfile as Debian ships it) serving
// the same file (a hard link: same inode, same page cache), both on 127.0.0.1 high ports, same run, same clients.
// Aggregate MB/s = N × size ÷ wall time until the last client finished (MB = 10^6 bytes); every download's size and
// status are checked, and one download per server is hashed against the image's sha256 first. Rounds alternate
// the servers (A B A B …); the median round is reported. The page cache is warmed before the first round.
// The image is the lab-debian cloud image (scripts/setup.sh bench builds it) unless --quick or --size-mb (random data).
//   node --import tsx bench/images.ts [--quick] [--image debian|synthetic] [--size-mb N] [--clients 8,50] [--rounds N]   (or npm run bench -- --only images)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchContext, BenchReport, SummaryRow } from './lib/bench-types.ts';
import { load1 } from './lib/machine.ts';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
type Server = 'rackseed' | 'nginx';

export interface ImagesBenchOptions extends Partial<BenchContext> {
  /** debian: the lab-debian cloud image (qcow2, imported → raw; scripts/setup.sh bench builds it); synthetic: random data */
  image?: 'debian' | 'synthetic';
  /** synthetic image size in MiB (default 1024; quick 128) */
  sizeMiB?: number;
  clients?: number[];
  rounds?: number;
}

export interface ImagesBenchResult { server: Server; clients: number; mbPerSec: number; seconds: number; rounds: number[]; cpuSecPerGB: number }

/** CPU seconds (user + system) of a process and its children (nginx's workers) so far; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  const one = (p: string): number => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on: utime is 14, stime 15
      return (Number(f[11]) + Number(f[12])) / 100; // clock ticks (USER_HZ 100)
    } catch { return 0; }
  };
  let kids: string[] = [];
  try { kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean); } catch { /* gone */ }
  return one(String(pid)) + kids.reduce((a, k) => a + one(k), 0);
}

/** A bootable raw image (BIOS: boot code + active partition) of `mib` MiB of incompressible, non-zero data. */
function makeImage(path: string, mib: number): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    const block = randomBytes(1024 * 1024);
    for (let i = 0; i < mib; i++) {
      block.writeUInt32LE(i, 4096);
      if (i === 0) {
        const mbr = Buffer.alloc(512);
        Buffer.from('fa31c08ed08ed8bc007cfbfcebfe', 'hex').copy(mbr, 0);
        mbr[446] = 0x80; mbr[450] = 0x83; mbr.writeUInt32LE(2048, 454); mbr.writeUInt32LE(mib * 2048 - 2048, 458);
        mbr[510] = 0x55; mbr[511] = 0xaa;
        writeSync(fd, Buffer.concat([mbr, block.subarray(512)]));
      } else {
        writeSync(fd, block);
      }
    }
  } finally { closeSync(fd); }
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => ok(p)); });
    s.on('error', fail);
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((ok) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => ok({ code, out }));
  });
}

async function startRackseed(data: string, file: string): Promise<{ child: ChildProcess; port: number; sha256: string; size: number; rawPath: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'bench/lib/image-server.ts'), '--data', data, '--file', file],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TSX_DISABLE_CACHE: '1' } });
  const line = await new Promise<string>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('\n')) ok(out.split('\n')[0]!); });
    child.on('exit', (code) => fail(new Error(`image server exited (${code}) before listening`)));
  });
  return { child, ...(JSON.parse(line) as { port: number; sha256: string; size: number; rawPath: string }) };
}

async function startNginx(dir: string, port: number): Promise<ChildProcess> {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `daemon off;
master_process on;
worker_processes auto;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  server { listen 127.0.0.1:${port}; root ${dir}/www; }
}
`);
  const child = spawn('/usr/sbin/nginx', ['-c', conf, '-p', dir, '-e', join(dir, 'nginx-error.log')], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    const r = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/`]);
    if (r.out.trim() !== '000') return child;
    await new Promise((r2) => setTimeout(r2, 50));
  }
  throw new Error('nginx did not start');
}

/** N curl downloads at once; wall seconds until the last finished. Throws when a download is short or not 200. */
async function round(url: string, n: number, size: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: n }, () => run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', url])));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const r of results) if (r.out.trim() !== `200 ${size}`) throw new Error(`download of ${url} ended with "${r.out.trim()}" (exit ${r.code}; want "200 ${size}")`);
  return secs;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

export async function runImagesBench(opts: ImagesBenchOptions = {}): Promise<BenchReport & { results: ImagesBenchResult[] }> {
  const quick = opts.quick ?? false;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const source = opts.image ?? (quick || opts.sizeMiB ? 'synthetic' : 'debian');
  let sizeMiB = opts.sizeMiB ?? (quick ? 128 : 1024);
  const clientCounts = opts.clients ?? [8, 50];
  const rounds = opts.rounds ?? (quick ? 1 : 3);
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-images-'));
  const children: ChildProcess[] = [];
  try {
    let file = join(dir, 'image.raw');
    if (source === 'debian') {
      const { ensureLabImages } = await import('../lab/images/index.ts');
      file = (await ensureLabImages({ debian: true, tiny: false }, { ifMissing: true, log: (l) => log(`images: ${l}`) })).debian!.path;
      log(`images: the lab-debian cloud image ${file}`);
    } else {
      log(`images: making a ${sizeMiB} MiB bootable raw image`);
      makeImage(file, sizeMiB);
    }
    const t0 = Date.now();
    const rs = await startRackseed(join(dir, 'data'), file);
    children.push(rs.child);
    if (source === 'debian') sizeMiB = Math.round(rs.size / 1048576);
    log(`images: imported through the image library in ${((Date.now() - t0) / 1000).toFixed(1)} s (incl. start); RackSeed on 127.0.0.1:${rs.port}`);
    if (source === 'synthetic') rmSync(file);
    mkdirSync(join(dir, 'www', 'images'), { recursive: true });
    linkSync(rs.rawPath, join(dir, 'www', 'images', `${rs.sha256}.raw`));
    const nginxPort = await freePort();
    children.push(await startNginx(dir, nginxPort));
    const pids: Record<Server, number> = { rackseed: rs.child.pid!, nginx: children[1]!.pid! };
    const urls: Record<Server, string> = {
      rackseed: `http://127.0.0.1:${rs.port}/images/${rs.sha256}.raw`,
      nginx: `http://127.0.0.1:${nginxPort}/images/${rs.sha256}.raw`,
    };
    await run('sh', ['-c', `cat ${rs.rawPath} > /dev/null`]); // warm the page cache
    for (const s of ['rackseed', 'nginx'] as Server[]) {
      const r = await run('sh', ['-c', `curl -s ${urls[s]} | sha256sum`]);
      if (!r.out.startsWith(rs.sha256)) throw new Error(`${s} served bytes whose sha256 is not the image's: ${r.out}`);
    }
    const results: ImagesBenchResult[] = [];
    for (const n of clientCounts) {
      const secs: Record<Server, number[]> = { rackseed: [], nginx: [] };
      const cpu: Record<Server, number> = { rackseed: 0, nginx: 0 };
      for (let i = 0; i < rounds; i++) {
        for (const s of (i % 2 === 0 ? ['rackseed', 'nginx'] : ['nginx', 'rackseed']) as Server[]) {
          const c0 = cpuSeconds(pids[s]);
          const t = await round(urls[s], n, rs.size);
          const c = cpuSeconds(pids[s]) - c0;
          cpu[s] += c;
          secs[s].push(t);
          log(`images: ${s} ${n} clients round ${i + 1}: ${((n * rs.size) / 1e6 / t).toFixed(0)} MB/s (${t.toFixed(2)} s, server CPU ${c.toFixed(2)} s, load ${load1()})`);
        }
      }
      for (const s of ['rackseed', 'nginx'] as Server[]) {
        const m = median(secs[s]);
        results.push({ server: s, clients: n, seconds: m, mbPerSec: (n * rs.size) / 1e6 / m, rounds: secs[s].map((t) => (n * rs.size) / 1e6 / t), cpuSecPerGB: cpu[s] / ((rounds * n * rs.size) / 1e9) });
      }
    }
    const rows: SummaryRow[] = clientCounts.map((n) => {
      const a = results.find((r) => r.server === 'rackseed' && r.clients === n)!;
      const b = results.find((r) => r.server === 'nginx' && r.clients === n)!;
      return { bench: 'images', case: `${n} clients × ${sizeMiB} MiB ${source === 'debian' ? 'lab-debian raw' : 'image'}`, rackseed: `${a.mbPerSec.toFixed(0)} MB/s`, reference: `${b.mbPerSec.toFixed(0)} MB/s (nginx)`, ratio: a.mbPerSec / b.mbPerSec, goal: '≥ 1.0× nginx' };
    });
    const md = [
      `${clientCounts.join(' and ')} concurrent \`curl\` downloads of ${source === 'debian' ? `the lab-debian cloud image (Debian 12 + cloud-init; its qcow2 imported through the image library → a ${sizeMiB} MiB sparse raw file)` : `a ${sizeMiB} MiB raw image (incompressible data)`}, RackSeed's HTTP boot server`,
      `(\`/images/<sha256>.raw\`: headers on the main thread, bodies by sendfile(2) on worker threads) vs nginx-light (worker_processes auto, sendfile), both on 127.0.0.1; median of ${rounds}`,
      'round(s), servers alternating; MB = 10^6 bytes; the page cache holds the file. Server CPU = user + system seconds of the server process(es) per GB served.',
      '',
      '| clients | RackSeed MB/s | nginx MB/s | ratio | server CPU s/GB (RackSeed / nginx) | rounds (RackSeed / nginx) |',
      '|---:|---:|---:|---:|---|---|',
      ...clientCounts.map((n) => {
        const a = results.find((r) => r.server === 'rackseed' && r.clients === n)!;
        const b = results.find((r) => r.server === 'nginx' && r.clients === n)!;
        return `| ${n} | ${a.mbPerSec.toFixed(0)} | ${b.mbPerSec.toFixed(0)} | ${(a.mbPerSec / b.mbPerSec).toFixed(2)}× | ${a.cpuSecPerGB.toFixed(2)} / ${b.cpuSecPerGB.toFixed(2)} | ${a.rounds.map((x) => x.toFixed(0)).join(', ')} / ${b.rounds.map((x) => x.toFixed(0)).join(', ')} |`;
      }),
    ].join('\n');
    return { rows, markdown: md, results };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, image: { type: 'string' }, 'size-mb': { type: 'string' }, clients: { type: 'string' }, rounds: { type: 'string' } } });
  const r = await runImagesBench({
    quick: values.quick, image: values.image as 'debian' | 'synthetic' | undefined, sizeMiB: values['size-mb'] ? Number(values['size-mb']) : undefined,
    clients: values.clients ? values.clients.split(',').map(Number) : undefined, rounds: values.rounds ? Number(values.rounds) : undefined,
  });
  process.stdout.write(r.markdown + '\n');
}
