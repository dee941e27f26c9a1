// One BMC abstraction, through the daemon (a child process in a test namespace, API on a unix socket): three BMC
// addresses on the namespace's loopback — .11 answers both IPMI (ipmi_sim, its GUID = the system UUID) and Redfish (the
// lab Redfish BMC on 443, in-memory power), .12 only Redfish, .13 only IPMI. The sweep finds each with every protocol
// that answered and prefers Redfish where both do; `prefer: ipmi` flips .11; the engineer's choice (PUT …/protocol) is
// kept by later sweeps; discovery jobs drive .11 and .12 over Redfish (read-guid, one-time PXE, power on, then the
// safe power-off after the missing inventory); the pinned certificate can be forgotten. Every process is stopped by
// PID in `after`, even on failure.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unixApi, waitFor } from '../helpers/daemon-api.ts';
import { NetnsSandbox, canUseNetns, ip } from '../helpers/netns.ts';
import { startIpmiSim } from '../helpers/ipmi-sim.ts';
import { startRedfishBmc, type StartedRedfishBmc } from '../../lab/bmc/redfish-bmc.ts';
import { ipmiGuidHex } from '../../lab/config.ts';
import { stopPid } from '../../lab/processes.ts';
import type { BmcInfo, Job, SweepStatus } from '../../shared/api.ts';

const sandbox = new NetnsSandbox();
const dir = mkdtempSync(join(tmpdir(), 'rs-bmc-protocols-'));
const redfishBmcs: StartedRedfishBmc[] = [];
after(async () => {
  for (const b of redfishBmcs) await stopPid(b.pid);
  await sandbox.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const TOKEN = 'bmc-protocols-test-token-0123';
const sock = join(dir, 'api.sock');
const api = unixApi(sock, TOKEN);
const BOTH = '10.236.9.11';
const REDFISH = '10.236.9.12';
const IPMI = '10.236.9.13';
const UUID_BOTH = '7c6b5a49-3827-4160-8f9e-8d7c6b5a4938';
const UUID_REDFISH = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const UUID_IPMI = '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e';

async function sweep(prefer?: 'ipmi' | 'redfish'): Promise<void> {
  const since = Date.now();
  // 409 while an earlier sweep still runs
  await waitFor('a sweep to start', 60_000, async () => ((await api<SweepStatus>('POST', '/api/v1/bmc/sweep', { cidr: '10.236.9.8/29', ...(prefer ? { prefer } : {}) })).status === 200 ? true : null));
  await waitFor('the sweep to store all three BMCs', 60_000, async () => {
    const b = (await api<BmcInfo[]>('GET', '/api/v1/bmcs')).body;
    const at = (a: string) => b.find((x) => x.address === a);
    const fresh = [BOTH, REDFISH, IPMI].every((a) => (at(a)?.seenAt ?? 0) >= since && at(a)?.guid);
    return fresh && at(BOTH)!.protocols.length === 2 ? b : null;
  });
}

const get = async (address: string) => (await api<BmcInfo[]>('GET', '/api/v1/bmcs')).body.find((b) => b.address === address)!;

test('sweep over IPMI and Redfish: protocols per BMC, Redfish preferred, prefer and the engineer\'s choice, jobs over Redfish, pin removal', { timeout: 300_000 }, async () => {
  assert.ok(canUseNetns(), 'this test needs root (network namespaces)');
  const ns = sandbox.addNamespace('proto');
  for (const a of [BOTH, REDFISH, IPMI]) ip('-n', ns, 'addr', 'add', `${a}/32`, 'dev', 'lo');
  await startIpmiSim({ sandbox, ns, address: BOTH, user: 'admin', password: 'pw-both', guid: ipmiGuidHex(UUID_BOTH) });
  await startIpmiSim({ sandbox, ns, address: IPMI, user: 'admin', password: 'pw-both', guid: ipmiGuidHex(UUID_IPMI) });
  for (const [address, uuid, mac] of [[BOTH, UUID_BOTH, '52:54:00:09:00:11'], [REDFISH, UUID_REDFISH, '52:54:00:09:00:12']] as const) {
    redfishBmcs.push(startRedfishBmc(ns, join(dir, address), { address, user: 'admin', password: 'pw-both', nodeDir: null, firmware: 'bios', identity: { uuid, serial: `SN-${address}`, macs: [mac] } }));
  }
  sandbox.spawn(ns, process.execPath, ['--import', 'tsx', 'daemon/cli/main.ts', 'serve', '--listen', `unix:${sock}`, '--data', join(dir, 'data')], {
    cwd: process.cwd(), env: { ...process.env, RACKSEED_TOKEN: TOKEN, RACKSEED_LOG_JSON: '1', RACKSEED_INSPECT_TIMEOUT_MS: '2000' }, stdio: ['ignore', 'ignore', 'ignore'],
  });
  await waitFor('daemon API', 60_000, async () => existsSync(sock) && (await api('GET', '/api/v1/health')).status === 200 ? true : null);
  assert.equal((await api('PUT', '/api/v1/bmc/credentials', { user: 'admin', password: 'pw-both' })).status, 200);

  await sweep();
  const both = await get(BOTH);
  assert.deepEqual([both.protocol, both.protocols, both.protocolChosen, both.guid, both.macs], ['redfish', ['ipmi', 'redfish'], false, UUID_BOTH, ['52:54:00:09:00:11']]);
  assert.equal(both.tlsFingerprint, redfishBmcs[0]!.sha256);
  assert.equal(both.ipmiVersion, '2.0', 'what IPMI said is kept too');
  const rf = await get(REDFISH);
  assert.deepEqual([rf.protocol, rf.protocols, rf.guid, rf.redfishVersion, rf.tlsFingerprint], ['redfish', ['redfish'], UUID_REDFISH, '1.11.0', redfishBmcs[1]!.sha256]);
  const ipmi = await get(IPMI);
  assert.deepEqual([ipmi.protocol, ipmi.protocols, ipmi.tlsFingerprint], ['ipmi', ['ipmi'], null]);

  await sweep('ipmi');
  assert.equal((await get(BOTH)).protocol, 'ipmi', 'prefer: ipmi where both answer');
  assert.equal((await get(REDFISH)).protocol, 'redfish', 'a Redfish-only BMC stays Redfish');

  assert.equal((await api('PUT', `/api/v1/bmcs/${BOTH}/protocol`, { protocol: 'telnet' })).status, 400);
  assert.equal((await api('PUT', '/api/v1/bmcs/10.236.9.99/protocol', { protocol: 'ipmi' })).status, 404);
  const chosen = await api<BmcInfo>('PUT', `/api/v1/bmcs/${BOTH}/protocol`, { protocol: 'redfish' });
  assert.equal(chosen.status, 200);
  assert.deepEqual([chosen.body.protocol, chosen.body.protocolChosen], ['redfish', true]);
  await sweep('ipmi');
  assert.equal((await get(BOTH)).protocol, 'redfish', 'the engineer\'s choice is kept by later sweeps');

  // discovery through both Redfish-driven BMCs: no node will report (no VM), so each job powers on over Redfish and
  // then fails at wait-inventory, powering the machine off again
  const jobs = (await api<Job[]>('POST', '/api/v1/discovery', { bmcs: [BOTH, REDFISH] })).body;
  assert.equal(jobs.length, 2);
  const done = await waitFor('both jobs to finish', 90_000, async () => {
    const js = (await api<Job[]>('GET', '/api/v1/jobs')).body.filter((j) => jobs.some((x) => x.id === j.id));
    return js.every((j) => j.status === 'failed' || j.status === 'done') ? js : null;
  });
  for (const j of done) {
    assert.deepEqual(j.steps.map((s) => `${s.name}:${s.status}`), ['read-guid:done', 'set-boot-pxe:done', 'power-on:done', 'wait-inventory:failed', 'power-off:pending'], `${j.bmcAddress}: ${j.error}`);
    assert.match(j.error!, /no inventory from the node within 2 s/);
  }
  for (const a of [BOTH, REDFISH]) assert.equal((await get(a)).power, 'off', `${a} powered off again after the failed job (over Redfish)`);
  const events = (await api<{ kind: string; message: string }[]>('GET', '/api/v1/events?limit=500')).body;
  assert.ok(events.some((e) => e.kind === 'bmc-guid' && e.message === `BMC ${REDFISH} system UUID ${UUID_REDFISH}, host MACs 52:54:00:09:00:12`), 'read-guid read the UUID and MACs over Redfish');

  const forgot = await api<BmcInfo>('DELETE', `/api/v1/bmcs/${REDFISH}/tls-pin`);
  assert.equal(forgot.status, 200);
  assert.equal(forgot.body.tlsFingerprint, null);
  assert.equal((await api('DELETE', `/api/v1/bmcs/${REDFISH}/tls-pin`)).status, 404, 'nothing left to forget');
});
