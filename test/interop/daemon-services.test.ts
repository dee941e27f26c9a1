// `rackseed serve --interface`: the survey runs first and a foreign DHCP server (dnsmasq, the "site" server on
// the same segment) blocks authoritative mode with a message proposing proxy mode; proxy mode starts beside it;
// through the API, PUT /api/v1/config/network answers 409 with the survey unless `override` is set. Then a real
// DHCP client (busybox udhcpc) on the segment — with the site server gone — gets its lease and boot file from
// RackSeed, appears as a `discovered` node, and fetches its iPXE script over HTTP with curl.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { unixApi, waitFor } from '../helpers/daemon-api.ts';
import { NetnsSandbox, canUseNetns, waitExit } from '../helpers/netns.ts';
import type { ServicesStatus, SurveyResult } from '../../shared/api.ts';
import type { NodeEvent, NodeSummary } from '../../shared/node.ts';

const sandbox = new NetnsSandbox();
const dir = mkdtempSync(join(tmpdir(), 'rs-daemon-svc-'));
after(async () => { await sandbox.cleanup(); rmSync(dir, { recursive: true, force: true }); });

const TOKEN = 'services-test-token-0123456789';
const sock = join(dir, 'api.sock');
const NET = '10.237.41';

const api = unixApi(sock, TOKEN);


function serve(ns: string, args: string[]): { child: ChildProcess; out: () => string } {
  rmSync(sock, { force: true });
  const child = sandbox.spawn(ns, process.execPath, ['--import', 'tsx', 'daemon/cli/main.ts', 'serve', '--interface', 'rs0',
    '--listen', `unix:${sock}`, '--data', join(dir, 'data'), '--http-port', '8080', ...args], {
    cwd: process.cwd(), env: { ...process.env, RACKSEED_TOKEN: TOKEN, RACKSEED_LOG_JSON: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
  return { child, out: () => text };
}

test('survey first: a foreign DHCP server blocks authoritative mode, proxy mode runs beside it, then RackSeed serves a real client', { timeout: 180_000 }, async () => {
  assert.ok(canUseNetns(), 'this test needs root (network namespaces)');
  const app = sandbox.addNamespace('core');
  const site = sandbox.addNamespace('core');
  const client = sandbox.addNamespace('core');
  sandbox.addBridge(site, 'br0', `${NET}.2/24`);
  sandbox.addVeth({ ns: app, name: 'rs0', cidr: `${NET}.1/24` }, { ns: site, name: 'pa', bridge: 'br0' });
  sandbox.addVeth({ ns: client, name: 'eth0', mac: '52:54:00:ee:41:07' }, { ns: site, name: 'pc', bridge: 'br0' });
  const dnsmasq = sandbox.spawn(site, 'dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '--port=0', '--bind-interfaces', '--interface=br0',
    `--dhcp-range=${NET}.150,${NET}.160,255.255.255.0,1h`, '--no-ping', `--dhcp-leasefile=${join(dir, 'site.leases')}`, '--log-facility=-']);

  // authoritative beside dnsmasq: refused, with advice
  const refused = serve(app, ['--mode', 'authoritative', '--pool', `${NET}.50-${NET}.60`]);
  assert.ok(await waitExit(refused.child, 60_000), 'the daemon exits');
  assert.equal(refused.child.exitCode, 2, refused.out());
  assert.match(refused.out(), new RegExp(`another DHCP server answers there \\(${NET.replace(/\./g, '\\.')}\\.2`));
  assert.match(refused.out(), /--mode proxy/);
  assert.match(refused.out(), /--override-foreign-dhcp/);

  // proxy beside it: runs
  const d = serve(app, ['--mode', 'proxy']);
  await waitFor('API', 60_000, async () => existsSync(sock) && (await api('GET', '/api/v1/health')).status === 200 ? true : null);
  const st = (await api<ServicesStatus>('GET', '/api/v1/services')).body;
  assert.equal(st.proxy.running, true, JSON.stringify(st));
  assert.equal(st.dhcp.running, false);
  assert.equal(st.tftp.running, true);
  assert.equal(st.http.running, true);
  const survey = (await api<SurveyResult>('GET', '/api/v1/survey')).body;
  assert.deepEqual(survey.foreign.map((f) => f.serverId), [`${NET}.2`]);
  assert.equal(survey.proposal, 'proxy');

  // switching to authoritative through the API: 409 with the survey, nothing changes
  const conflict = await api<{ error: string; survey: SurveyResult }>('PUT', '/api/v1/config/network', { interface: 'rs0', mode: 'authoritative', pool: { first: `${NET}.50`, last: `${NET}.60` } });
  assert.equal(conflict.status, 409);
  assert.match(conflict.body.error, /proxy mode/);
  assert.equal(conflict.body.survey.foreign[0]?.serverId, `${NET}.2`);
  assert.equal((await api<{ mode: string }>('GET', '/api/v1/config')).body.mode, 'proxy');

  // the site server goes away; authoritative without override now starts
  dnsmasq.kill('SIGTERM');
  await waitExit(dnsmasq, 5000);
  const ok = await api<ServicesStatus>('PUT', '/api/v1/config/network', { interface: 'rs0', mode: 'authoritative', pool: { first: `${NET}.50`, last: `${NET}.60` } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.dhcp.running, true);
  assert.equal(ok.body.proxy.running, false);

  // a real client: busybox udhcpc asks as a PXE client would (vendor class PXEClient, arch 0) and gets the boot file
  const script = join(dir, 'udhcpc.sh');
  writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && echo "LEASE ip=$ip boot_file=$boot_file siaddr=$siaddr"\nexit 0\n');
  chmodSync(script, 0o755);
  const out = sandbox.exec(client, 'busybox', ['udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '5', '-T', '2', '-s', script,
    '-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000'], 40_000);
  const m = /LEASE ip=(\S+) boot_file=(\S*) siaddr=(\S*)/.exec(out);
  assert.ok(m, out);
  assert.ok(m[1]!.startsWith(`${NET}.`) && Number(m[1]!.split('.')[3]) >= 50 && Number(m[1]!.split('.')[3]) <= 60, `address ${m[1]} from the pool`);
  assert.equal(m[2], 'undionly.kpxe');
  const nodes = (await api<NodeSummary[]>('GET', '/api/v1/nodes')).body;
  const node = nodes.find((n) => n.mac === '52:54:00:ee:41:07');
  assert.ok(node, JSON.stringify(nodes));
  assert.equal(node.state, 'discovered');
  assert.equal(node.firmware, 'bios');

  // the client asks for its iPXE script as iPXE would, with its MAC; it gets the discovery ramdisk
  sandbox.exec(client, 'ip', ['addr', 'add', `${m[1]}/24`, 'dev', 'eth0']);
  const ipxe = sandbox.exec(client, 'curl', ['-sf', `http://${NET}.1:8080/boot.ipxe?mac=52:54:00:ee:41:07`]);
  assert.match(ipxe, /^#!ipxe\n/);
  assert.match(ipxe, new RegExp(`rackseed\\.node=${node.id} `));
  assert.match(ipxe, /rackseed\.url=http:\/\/10\.237\.41\.1:8080 /);
  const kernelUrl = /^kernel (\S+)/m.exec(ipxe)![1]!;
  const head = sandbox.exec(client, 'curl', ['-sfI', kernelUrl]);
  assert.match(head, /^HTTP\/1\.1 200/);
  // the boot file it was given, over the daemon's TFTP (transfer worker threads: the default on ≥ 2 cores), intact
  const viaTftp = join(dir, 'undionly-tftp.kpxe');
  sandbox.exec(client, 'curl', ['-sf', '--max-time', '30', '--tftp-blksize', '1468', '-o', viaTftp, `tftp://${m[3]}/${m[2]}`], 40_000);
  assert.deepEqual(readFileSync(viaTftp), readFileSync(join(process.cwd(), '.cache', 'resources', 'ipxe', m[2]!)));
  // the server records rrq-done when the last ACK reaches it, which may be just after curl has exited: wait for it
  const wanted = ['lifecycle:discovered', 'dhcp:ack', 'tftp:rrq', 'tftp:rrq-done', 'http:script'];
  let history: NodeEvent[] = [];
  const kinds = () => history.map((e) => `${e.source}:${e.kind}`);
  try {
    await waitFor('the TFTP transfer recorded as done', 5000, async () => {
      history = (await api<NodeEvent[]>('GET', '/api/v1/events?mac=52:54:00:ee:41:07')).body;
      return wanted.every((k) => kinds().includes(k)) ? true : null;
    });
  } catch { /* the assertions below name what is missing */ }
  const events = kinds();
  for (const k of wanted) assert.ok(events.includes(k), `${k} missing: ${events.join(' ')}`);
  // one entry per DORA: the ACK's entry carries the OFFER of the same exchange (no separate offer entry)
  assert.ok(!events.includes('dhcp:offer'), `a separate offer entry: ${events.join(' ')}`);
  const ack = history.find((e) => e.kind === 'ack')!;
  assert.equal(ack.detail?.request, 'request');
  assert.match(String(ack.detail?.offered), /^10\.237\.41\.\d+$/);
  assert.match(ack.message, /^DHCPDISCOVER from 52:54:00:ee:41:07 → DHCPOFFER 10\.237\.41\.\d+, DHCPREQUEST → DHCPACK 10\.237\.41\.\d+ boot /);

  d.child.kill('SIGTERM');
  assert.ok(await waitExit(d.child, 10_000), 'the daemon stops on SIGTERM');
});
