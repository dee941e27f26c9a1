// Boot admission (issue 20 item 5, "do no harm on a production segment"), over an in-memory core:
// - which rule is in force: allowlist in proxy mode, with override, in safe mode and unconfigured; open only in
//   authoritative mode without override;
// - allowlist: an unknown PXE client gets no boot answer, is listed as a `seen` node with one event however often it
//   asks, and its /boot.ipxe exits to the local disk; allowed (by node or by MAC) it boots; a client whose PXE UUID is
//   the System GUID of a BMC that a running RackSeed job powered on boots; open admission boots everyone (seen too);
// - power: RackSeed never tells the agent of a machine it did not power on to power off; the job runner marks the
//   machines its power-on step started and clears the mark when it powers them off (after success or failure);
// - the API: POST /api/v1/nodes/:id/allow and POST /api/v1/nodes/allow {macs}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { defaultAdmission } from '../../shared/admission.ts';
import { swapGuidFields } from '../../core/guid.ts';
import { startDaemon } from '../../daemon/daemon.ts';
import type { BmcConnector, BmcPowerAction } from '../../core/bmc-port.ts';
import type { BootRequest } from '../../netboot/boot-policy.ts';
import type { NetworkConfig } from '../../shared/api.ts';
import type { NodeSummary } from '../../shared/node.ts';
import { admissionInForce, admissionText } from '../../renderer/lib/admission.ts';
import { dhcpExchange } from '../helpers/dhcp-exchange.ts';
import { inventoryFor } from './core-inventory-fixture.ts';

const log = pino({ level: 'silent' });
const RAMDISK = { kernelPath: '/files/vmlinuz', initrdPath: '/files/initrd.img' };
const PROXY: NetworkConfig = { interface: 'br0', mode: 'proxy' };
const AUTHORITATIVE: NetworkConfig = { interface: 'br0', mode: 'authoritative', pool: { first: '10.230.0.100', last: '10.230.0.199' } };

const pxe = (mac: string, over: Partial<BootRequest> = {}): BootRequest => ({
  mac, arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', userClass: null, uuid: null, interface: 'br0', ...over,
});

/** A core whose services run in `network` mode (the saved config the policy reads), admission left to the default. */
function coreIn(network: NetworkConfig | null, opts: ConstructorParameters<typeof Core>[0] extends infer O ? Partial<O> : never = {}): Core {
  const core = new Core({ dataDir: null, logger: log, ...opts });
  if (network) core.config.setNetwork(network);
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, ramdisk: RAMDISK };
  return core;
}

const kinds = (core: Core, mac: string) => core.events.query({ mac, nodeId: core.nodes.getByMac(mac)?.id }).map((e) => e.kind);

test('the admission rule: allowlist wherever RackSeed may not be the only DHCP server; safe mode always wins', () => {
  assert.equal(defaultAdmission(PROXY), 'allowlist');
  assert.equal(defaultAdmission(AUTHORITATIVE), 'open');
  assert.equal(defaultAdmission({ ...AUTHORITATIVE, override: true }), 'allowlist', 'authoritative beside another server');
  assert.equal(defaultAdmission(AUTHORITATIVE, true), 'allowlist', 'safe mode');
  assert.equal(defaultAdmission(null), 'allowlist', 'not configured');
  for (const [net, want] of [[PROXY, 'allowlist'], [AUTHORITATIVE, 'open'], [{ ...AUTHORITATIVE, override: true }, 'allowlist'], [null, 'allowlist']] as const) {
    const core = coreIn(net);
    assert.equal(core.policy.admission(), want, JSON.stringify(net));
    core.close();
  }
  const core = coreIn(AUTHORITATIVE);
  core.bootSettings = { ...core.bootSettings, safeMode: true };
  assert.equal(core.policy.admission(), 'allowlist');
  core.bootSettings = { ...core.bootSettings, admission: 'open' };
  assert.equal(core.policy.admission(), 'allowlist', 'an explicit open admission does not lift safe mode');
  core.bootSettings = { ...core.bootSettings, safeMode: false, admission: 'open' };
  core.config.setNetwork(PROXY);
  assert.equal(core.policy.admission(), 'open', 'an explicit admission (e.g. --admit-all) applies in proxy mode');
  core.close();
});

test('proxy mode: an unknown PXE client is not booted, listed as seen once, its script exits to the disk; allowed, it boots', () => {
  const core = coreIn(PROXY);
  const site = '52:54:00:aa:00:01';
  const uuid = '8f4c1a2e-0000-4000-8000-00000000a001';
  for (let i = 0; i < 5; i++) {
    assert.equal(core.policy.dhcpBoot(pxe(site, { uuid })), null, 'no proxyDHCP boot answer');
    assert.equal(core.policy.dhcpBoot(pxe(site, { userClass: 'iPXE', uuid })), null, 'nor for its iPXE');
  }
  const n = core.nodes.getByMac(site)!;
  assert.equal(n.state, 'seen');
  assert.equal(n.uuid, uuid, 'the PXE UUID is kept to help recognise the machine');
  assert.equal(n.poweredOnByRackSeed, false);
  const seen = core.events.query({ mac: site }).filter((e) => e.kind === 'seen');
  assert.equal(seen.length, 1, 'one event per MAC, not per DISCOVER');
  assert.equal(seen[0]!.message, 'PXE client seen, not booted (proxy mode: only allowed machines boot)');
  assert.equal(core.nodes.inventory(n.id), null);
  const script = core.policy.scriptFor({ mac: site, ip: '10.230.0.77' });
  assert.equal(script, '#!ipxe\necho RackSeed: proxy mode: only allowed machines are booted; booting from local disk\nexit 0\n');
  assert.deepEqual(core.db.prepare('SELECT count(*) AS n FROM agent_tokens').get(), { n: 0 }, 'no agent token issued');
  // a client that only ever fetched the script (no DHCP exchange with RackSeed) makes no node: only DHCP does (issue 19)
  core.policy.scriptFor({ mac: '52:54:00:aa:00:02', ip: '10.230.0.78' });
  core.policy.scriptFor({ mac: '52:54:00:aa:00:02', ip: '10.230.0.78' });
  assert.equal(core.nodes.getByMac('52:54:00:aa:00:02'), null);

  // the engineer allows it: it boots the next time it asks
  const allowed = core.lifecycle.admit(n.id, 'allowed')!;
  assert.equal(allowed.state, 'discovered');
  assert.deepEqual(core.policy.dhcpBoot(pxe(site, { uuid })), { nextServer: '10.230.0.1', bootFile: 'undionly.kpxe', vendorClass: null });
  dhcpExchange(core, site, '10.230.0.77');
  assert.match(core.policy.scriptFor({ mac: site, ip: '10.230.0.77' }), /^kernel http:\/\/10\.230\.0\.1:8080\/files\/vmlinuz /m);
  const state = core.events.query({ nodeId: n.id }).find((e) => e.kind === 'state')!;
  assert.deepEqual(state.detail, { from: 'seen', to: 'discovered', cause: 'allowed' });
  assert.equal(core.lifecycle.admit(n.id, 'allowed')!.state, 'discovered', 'allowing again changes nothing');

  // allowed by MAC before it was ever seen: a discovered node, booted at its first request
  const pre = core.lifecycle.allowMac('52:54:00:aa:00:03');
  assert.equal(pre.state, 'discovered');
  assert.ok(core.policy.dhcpBoot(pxe('52:54:00:aa:00:03')));
  assert.equal(core.events.query({ nodeId: pre.id })[0]!.message, 'new node 52:54:00:aa:00:03 discovered (allowed to boot)');
  core.close();
});

test('open admission (authoritative, RackSeed alone): unknown clients boot, and a node seen earlier is admitted', () => {
  const core = coreIn(PROXY);
  assert.equal(core.policy.dhcpBoot(pxe('52:54:00:bb:00:01')), null);
  core.config.setNetwork(AUTHORITATIVE); // the engineer switched to authoritative mode (the site server is gone)
  assert.ok(core.policy.dhcpBoot(pxe('52:54:00:bb:00:01')), 'the seen node boots now');
  assert.equal(core.nodes.getByMac('52:54:00:bb:00:01')!.state, 'discovered');
  assert.deepEqual(core.events.query({ mac: '52:54:00:bb:00:01' }).find((e) => e.kind === 'state')!.detail, { from: 'seen', to: 'discovered', cause: 'open-admission' });
  assert.ok(core.policy.dhcpBoot(pxe('52:54:00:bb:00:02')));
  assert.equal(core.nodes.getByMac('52:54:00:bb:00:02')!.state, 'discovered');
  assert.deepEqual(kinds(core, '52:54:00:bb:00:02'), ['discovered']);
  core.close();
});

/** A fake BMC: power state per address, a System GUID, every command recorded. */
function fakeBmcs(guids: Record<string, string | null>) {
  const power = new Map<string, 'on' | 'off'>(Object.keys(guids).map((a) => [a, 'off']));
  const calls: string[] = [];
  const connector: BmcConnector = async (address) => ({
    powerStatus: async () => power.get(address) ?? 'off',
    power: async (a: BmcPowerAction) => { calls.push(`${address} ${a}`); power.set(address, a === 'off' || a === 'soft' ? 'off' : 'on'); },
    setBootDevice: async (d) => { calls.push(`${address} bootdev ${d}`); },
    systemGuid: async () => guids[address] ?? null,
    close: async () => {},
  });
  return { connector, power, calls };
}

async function until<T>(what: string, probe: () => T | null | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('proxy mode + discovery through a BMC: the client whose PXE UUID is that BMC\'s GUID boots, a site server does not; power marks', async () => {
  const guid = '44454c4c-3300-1044-8051-b4c04f4e3132';
  const bmcs = fakeBmcs({ '10.231.0.21': guid });
  const core = coreIn(PROXY, { bmcConnector: bmcs.connector, jobs: { inventoryTimeoutMs: 5000 } });
  core.config.setBmcCredentials({ user: 'admin', password: 'pw' });
  core.bmcs.upsert('10.231.0.21', {});
  const server = '52:54:00:cc:00:01'; // behind the BMC
  const site = '52:54:00:cc:00:99'; // a site server rebooting at the same time

  // before any job powered the BMC on, the machine is just another unknown client
  assert.equal(core.policy.dhcpBoot(pxe(server, { uuid: swapGuidFields(guid) })), null);
  assert.equal(core.nodes.getByMac(server)!.state, 'seen');

  const [job] = core.runner.discover();
  await until('power-on done', () => core.jobs.get(job!.id)!.steps.find((s) => s.name === 'power-on')!.status === 'done' || null);
  assert.deepEqual(bmcs.calls, ['10.231.0.21 bootdev pxe', '10.231.0.21 on']);

  assert.equal(core.policy.dhcpBoot(pxe(site, { uuid: '11111111-2222-4333-8444-555555555555' })), null, 'a site server is not admitted by a job');
  assert.equal(core.policy.dhcpBoot(pxe(site)), null, 'nor a client without option 97');
  // the PXE UUID is the SMBIOS UUID; the BMC reports the GUID in the other byte order here (guid.ts matches both)
  assert.ok(core.policy.dhcpBoot(pxe(server, { uuid: swapGuidFields(guid) })), 'the machine RackSeed powered on boots');
  let n = core.nodes.getByMac(server)!;
  assert.equal(n.state, 'discovered');
  assert.equal(n.poweredOnByRackSeed, true);
  assert.deepEqual(core.events.query({ nodeId: n.id }).find((e) => e.kind === 'state')!.detail, { from: 'seen', to: 'discovered', cause: 'bmc-power-on' });
  assert.ok(core.events.query({ nodeId: n.id }).some((e) => e.kind === 'admitted' && e.detail?.job === job!.id));

  // it reports; the job recognises it by GUID and powers it off through the BMC (the agent meanwhile only waits)
  dhcpExchange(core, server, '10.230.0.80');
  const token = /rackseed\.token=(\S+)/.exec(core.policy.scriptFor({ mac: server, ip: '10.230.0.80' }))![1]!;
  const auth = core.intake.authenticate(`Bearer ${token}`, '10.230.0.80', 'report');
  assert.ok(auth.ok);
  assert.equal(core.intake.acceptInventory(auth.node, inventoryFor(server, n.id, swapGuidFields(guid), 'SRV-1'), null).status, 200);
  assert.equal(core.intake.next(core.nodes.get(n.id)!).action, 'wait', 'the job drives it');
  await until('job done', () => core.jobs.get(job!.id)!.status === 'done' || null);
  n = core.nodes.get(n.id)!;
  assert.equal(n.power, 'off');
  assert.equal(n.poweredOnByRackSeed, false, 'RackSeed powered it off again: the mark is cleared');
  assert.deepEqual(bmcs.calls, ['10.231.0.21 bootdev pxe', '10.231.0.21 on', '10.231.0.21 off']);
  assert.ok(!core.events.query({ nodeId: n.id }).some((e) => e.kind === 'left-running'));

  // the finished job admits nobody any more
  assert.equal(core.policy.dhcpBoot(pxe('52:54:00:cc:00:02', { uuid: guid })), null);
  assert.equal(core.nodes.getByMac(site)!.state, 'seen');
  assert.equal(core.nodes.getByMac(site)!.poweredOnByRackSeed, false);
  core.close();
});

test('job runner: a failed discovery powers off only what it powered on, and says how to admit the node under allowlist', async () => {
  const guid = '5a5a5a5a-0000-4000-8000-000000000001';
  const bmcs = fakeBmcs({ '10.231.0.31': guid, '10.231.0.32': null });
  const core = coreIn(PROXY, { bmcConnector: bmcs.connector, jobs: { inventoryTimeoutMs: 200 } });
  core.config.setBmcCredentials({ user: 'admin', password: 'pw' });
  core.bmcs.upsert('10.231.0.31', {});
  core.bmcs.upsert('10.231.0.32', {});
  const jobs = core.runner.discover();
  await until('both jobs failed', () => jobs.every((j) => core.jobs.get(j.id)!.status === 'failed') || null);
  const withGuid = core.jobs.get(jobs.find((j) => j.bmcAddress === '10.231.0.31')!.id)!;
  const noGuid = core.jobs.get(jobs.find((j) => j.bmcAddress === '10.231.0.32')!.id)!;
  assert.match(withGuid.error!, /only allowed machines boot here: an unknown one only when its PXE UUID is the BMC's System GUID 5a5a5a5a-/);
  assert.match(noGuid.error!, /this BMC reported no System GUID .*allow the node's MAC/);
  // each job powered its machine on, so each powers it off again (safe state)
  assert.deepEqual(bmcs.calls.filter((c) => / (on|off|cycle)$/.test(c)).sort(), ['10.231.0.31 off', '10.231.0.31 on', '10.231.0.32 off', '10.231.0.32 on']);
  core.close();
});

test('job runner: an inspect job marks its node powered on by RackSeed at power-on and clears the mark at power-off', async () => {
  const bmcs = fakeBmcs({ '10.231.0.41': null });
  const core = coreIn(AUTHORITATIVE, { bmcConnector: bmcs.connector, jobs: { inventoryTimeoutMs: 5000 } });
  core.config.setBmcCredentials({ user: 'admin', password: 'pw' });
  const node = core.lifecycle.ensureNode('52:54:00:dd:00:01', 'dhcp').node;
  core.lifecycle.transition(node.id, 'available', 'inventory');
  core.bmcs.upsert('10.231.0.41', { nodeId: node.id });
  core.nodes.update(node.id, { bmcAddress: '10.231.0.41', bmcMatchedBy: 'manual' });
  const job = core.runner.inspectNode(node.id);
  await until('power-on done', () => core.jobs.get(job.id)!.steps[1]!.status === 'done' || null);
  assert.equal(core.nodes.get(node.id)!.poweredOnByRackSeed, true);
  dhcpExchange(core, node.mac, '10.230.0.81');
  const token = /rackseed\.token=(\S+)/.exec(core.policy.scriptFor({ mac: node.mac, ip: '10.230.0.81' }))![1]!;
  const auth = core.intake.authenticate(`Bearer ${token}`, '10.230.0.81', 'report');
  assert.ok(auth.ok);
  assert.equal(core.intake.acceptInventory(auth.node, inventoryFor(node.mac, node.id, '6b6b6b6b-0000-4000-8000-000000000001'), null).status, 200);
  await until('job done', () => core.jobs.get(job.id)!.status === 'done' || null);
  assert.equal(core.nodes.get(node.id)!.poweredOnByRackSeed, false);
  assert.deepEqual(bmcs.calls, ['10.231.0.41 bootdev pxe', '10.231.0.41 on', '10.231.0.41 off']);
  core.close();
});

test('agent next: a machine RackSeed did not power on is never told to power off, in any state', () => {
  const core = coreIn(AUTHORITATIVE);
  const n = core.lifecycle.ensureNode('52:54:00:ee:00:01', 'dhcp').node;
  const at = (patch: Partial<NodeSummary>): NodeSummary => ({ ...core.nodes.get(n.id)!, ...patch });
  for (const state of ['discovered', 'inspecting', 'available', 'error'] as const) {
    assert.notEqual(core.intake.next(at({ state })).action, 'poweroff', state);
  }
  assert.deepEqual(core.intake.next(at({ state: 'available' })), { action: 'wait', seconds: 60 });
  assert.deepEqual(core.intake.next(at({ state: 'available', poweredOnByRackSeed: true })), { action: 'poweroff' });
  assert.deepEqual(core.intake.next(at({ state: 'error', poweredOnByRackSeed: true })), { action: 'poweroff' });
  assert.deepEqual(core.intake.next(at({ state: 'discovered', poweredOnByRackSeed: true })), { action: 'wait', seconds: 5 }, 'not before its inventory');
  core.close();
});

test('API: POST /api/v1/nodes/:id/allow and /api/v1/nodes/allow {macs}', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-api-allow-'));
  const token = 'allow-test-token-0123456789abcdef0123';
  const d = await startDaemon({ dataDir: dir, listen: '127.0.0.1:0', logger: log, token, uiDir: null, repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  try {
    const call = async <T>(method: string, path: string, body?: unknown) => {
      const r = await fetch(d.url + path, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body !== undefined ? JSON.stringify(body) : undefined });
      return { status: r.status, body: (await r.json()) as T };
    };
    d.core.config.setNetwork(PROXY);
    d.core.bootSettings = { serverIp: '127.0.0.1', httpPort: 80, safeMode: false, ramdisk: RAMDISK };
    assert.equal(d.core.policy.dhcpBoot(pxe('52:54:00:ff:00:01')), null);
    const seen = d.core.nodes.getByMac('52:54:00:ff:00:01')!;
    assert.equal((await call<NodeSummary[]>('GET', '/api/v1/nodes')).body.find((n) => n.id === seen.id)?.state, 'seen', 'listed as seen');

    assert.equal((await call('POST', '/api/v1/nodes/no-such-node/allow', {})).status, 404);
    const ok = await call<NodeSummary>('POST', `/api/v1/nodes/${seen.id}/allow`, {});
    assert.equal(ok.status, 200);
    assert.equal(ok.body.state, 'discovered');
    assert.ok(d.core.policy.dhcpBoot(pxe('52:54:00:ff:00:01')), 'allowed: booted');
    assert.equal((await call<NodeSummary>('POST', `/api/v1/nodes/${seen.id}/allow`, {})).body.state, 'discovered', 'idempotent');

    for (const bad of [{}, { macs: [] }, { macs: [''] }, { macs: [5] }, { macs: 'x' }]) {
      assert.equal((await call('POST', '/api/v1/nodes/allow', bad)).status, 400, JSON.stringify(bad));
    }
    const before = d.core.nodes.list().length;
    const refused = await call<{ error: string }>('POST', '/api/v1/nodes/allow', { macs: ['52:54:00:ff:00:02', 'not-a-mac'] });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error, /not-a-mac/);
    assert.equal(d.core.nodes.list().length, before, 'nothing allowed when one MAC is bad');

    assert.equal(d.core.policy.dhcpBoot(pxe('52:54:00:ff:00:03')), null);
    const many = await call<NodeSummary[]>('POST', '/api/v1/nodes/allow', { macs: ['52-54-00-FF-00-02', '525400ff0003', '52:54:00:ff:00:02'] });
    assert.equal(many.status, 200);
    assert.deepEqual(many.body.map((n) => [n.mac, n.state]), [['52:54:00:ff:00:02', 'discovered'], ['52:54:00:ff:00:03', 'discovered']]);
    assert.ok(d.core.policy.dhcpBoot(pxe('52:54:00:ff:00:02')), 'allowed before it was seen: booted at its first request');
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UI text: the wizard says which rule is in force', () => {
  assert.equal(admissionInForce(null), null);
  assert.equal(admissionInForce({ config: null } as never), null);
  const st = (config: NetworkConfig, admission?: 'open' | 'allowlist') => ({ config, admission, dhcp: null, proxy: null, tftp: null, http: null }) as never;
  assert.equal(admissionInForce(st(PROXY)), 'allowlist', 'a daemon that does not report it: the default for its config');
  assert.equal(admissionInForce(st(AUTHORITATIVE, 'allowlist')), 'allowlist', 'what the daemon reports (safe mode)');
  assert.equal(admissionText('allowlist', PROXY),
    'Proxy mode beside the site\'s DHCP: only machines you allow (or that RackSeed powers on through their BMC) are booted; others are listed as seen and left alone.');
  assert.match(admissionText('allowlist', AUTHORITATIVE), /^Safe mode: only machines you allow/);
  assert.match(admissionText('allowlist', { ...AUTHORITATIVE, override: true }), /^Another DHCP server answers on this segment: only machines you allow/);
  assert.match(admissionText('open', AUTHORITATIVE), /^RackSeed is the only DHCP server here: every machine that PXE-boots/);
  assert.match(admissionText('open', PROXY), /the site’s own machines too/);
});
