// Concurrent PUT /api/v1/config/network calls are serialized (ServiceManager.configure): each one stops what the
// one before it started, so after four overlapping calls exactly the last configuration serves — one DHCP socket on
// port 67, one HTTP boot listener, no proxyDHCP 4011 socket left from an earlier proxy-mode call. Runs `rackseed
// serve` inside a network namespace of its own (DHCP ports are never bound in the root namespace).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { unixApi, waitFor } from '../helpers/daemon-api.ts';
import { NetnsSandbox, canUseNetns } from '../helpers/netns.ts';
import type { ServicesStatus } from '../../shared/api.ts';

const sandbox = new NetnsSandbox();
const dir = mkdtempSync(join(tmpdir(), 'rs-cfg-serial-'));
after(async () => { await sandbox.cleanup(); rmSync(dir, { recursive: true, force: true }); });

const TOKEN = 'configure-serial-token-0123456789';
const sock = join(dir, 'api.sock');
const NET = '10.237.47';
const HTTP_PORT = 8081;

/** Local sockets in `ns` bound to `port` (UDP or TCP listeners), from iproute2's ss. */
function socketsOn(ns: string, proto: 'udp' | 'tcp', port: number): number {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-Hn', proto === 'udp' ? '-ua' : '-lt'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => new RegExp(`:${port}\\s`).test(l.replace(/%[^:\s]+/g, ''))).length;
}

test('overlapping network configurations: the last one wins and nothing of the earlier ones keeps serving', { timeout: 120_000 }, async () => {
  assert.ok(canUseNetns(), 'this test needs root (network namespaces)');
  const app = sandbox.addNamespace('cfg');
  const peer = sandbox.addNamespace('cfg');
  sandbox.addVeth({ ns: app, name: 'rs0', cidr: `${NET}.1/24` }, { ns: peer, name: 'p0', cidr: `${NET}.2/24` });
  const child = sandbox.spawn(app, process.execPath, ['bin/rackseed.mjs', 'serve', '--listen', `unix:${sock}`, '--data', join(dir, 'data'),
    '--http-port', String(HTTP_PORT)], { cwd: process.cwd(), env: { ...process.env, RACKSEED_TOKEN: TOKEN, RACKSEED_LOG_JSON: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => { log += c.toString(); });
  const api = unixApi(sock, TOKEN);
  await waitFor('API', 60_000, async () => existsSync(sock) && (await api('GET', '/api/v1/health')).status === 200 ? true : null);

  const configs = [
    { interface: 'rs0', mode: 'proxy' },
    { interface: 'rs0', mode: 'authoritative', pool: { first: `${NET}.50`, last: `${NET}.60` } },
    { interface: 'rs0', mode: 'proxy' },
    { interface: 'rs0', mode: 'authoritative', pool: { first: `${NET}.70`, last: `${NET}.80` } },
  ];
  const results = await Promise.all(configs.map((c) => api<ServicesStatus>('PUT', '/api/v1/config/network', c)));
  for (const [i, r] of results.entries()) assert.equal(r.status, 200, `call ${i}: ${JSON.stringify(r.body)}\n${log.slice(-2000)}`);
  // each call's answer is its own configuration: they ran one after the other
  assert.deepEqual(results.map((r) => r.body.config?.mode), ['proxy', 'authoritative', 'proxy', 'authoritative']);

  const st = (await api<ServicesStatus>('GET', '/api/v1/services')).body;
  assert.deepEqual(st.config?.pool, { first: `${NET}.70`, last: `${NET}.80` }, 'the last call is the configuration in force');
  assert.equal(st.dhcp.running, true, JSON.stringify(st));
  assert.equal(st.proxy.running, false);
  assert.equal(st.http.running, true);
  assert.equal(st.tftp.running, true);
  assert.equal(socketsOn(app, 'udp', 67), 1, 'exactly one DHCP socket');
  assert.equal(socketsOn(app, 'udp', 4011), 0, 'no proxyDHCP socket left from the proxy-mode calls');
  assert.equal(socketsOn(app, 'udp', 69), 1, 'exactly one TFTP socket');
  assert.equal(socketsOn(app, 'tcp', HTTP_PORT), 1, 'exactly one HTTP boot listener');
});
