// The Redfish client (bmc/redfish/session) against the lab's Redfish BMC (lab/bmc/redfish/server.ts) served
// in-process over HTTPS on 127.0.0.1 (free high port, in-memory power: no root, no VM), with faults injected per
// test. Each bad input is its own test with its own message.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { makeSelfSignedCert, type LabCert } from '../../lab/bmc/redfish/cert.ts';
import { FakePower } from '../../lab/bmc/redfish/power.ts';
import { LabRedfishBmc, type LabRedfishOptions } from '../../lab/bmc/redfish/server.ts';
import { RedfishClient, type RedfishClientOptions } from '../../bmc/redfish/session/client.ts';
import { MemoryPinStore } from '../../bmc/redfish/session/http.ts';
import {
  CertificateChangedError, NotRedfishError, RedfishAuthError, RedfishForbiddenError, RedfishMalformedError, RedfishUnreachableError,
  ResetTypeNotAllowedError, SeveralSystemsError, TaskTimeoutError,
} from '../../bmc/redfish/session/errors.ts';

const USER = 'admin';
const PASSWORD = 'lab-secret';
const IDENTITY = { uuid: '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b', serial: 'RSLAB-UNIT-001', macs: ['52:54:00:aa:bb:01', '52:54:00:aa:bb:02'], firmware: 'lab-fw-2.5' };

let dir: string;
let certA: LabCert;
let certB: LabCert;
type Intercept = (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean;
let intercept: Intercept | null = null;
const started: LabRedfishBmc[] = [];

async function serve(o: Partial<LabRedfishOptions> = {}, cert: LabCert = certA, port = 0): Promise<{ bmc: LabRedfishBmc; port: number; power: FakePower }> {
  const power = (o.power as FakePower | undefined) ?? new FakePower('Legacy');
  const bmc = new LabRedfishBmc({ user: USER, password: PASSWORD, identity: IDENTITY, power, intercept: (q, s, b) => intercept?.(q, s, b) ?? false, ...o });
  const p = await bmc.listen('127.0.0.1', port, cert);
  started.push(bmc);
  return { bmc, port: p, power };
}

function client(o: RedfishClientOptions = {}): RedfishClient {
  return new RedfishClient({ timeoutMs: 3000, retries: 1, backoffMs: 50, taskPollMs: 100, ...o });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)), ...headers });
  res.end(data);
  return true;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rs-redfish-unit-'));
  certA = makeSelfSignedCert(dir, '127.0.0.1', { name: 'a' });
  certB = makeSelfSignedCert(dir, '127.0.0.1', { name: 'b' });
});
beforeEach(() => { intercept = null; });
after(async () => {
  for (const b of started) await b.close();
  rmSync(dir, { recursive: true, force: true });
});

test('service root, session login with X-Auth-Token, identity (UUID, serial, model, MACs, manager firmware), logout on close', async () => {
  const { bmc, port } = await serve();
  const pinned: string[] = [];
  const c = client({ onPinned: (_h, _p, fp) => pinned.push(fp) });
  const root = await c.serviceRoot('127.0.0.1', port);
  assert.equal(root.redfishVersion, '1.11.0');
  const s = await c.session('127.0.0.1', { user: USER, password: PASSWORD, port });
  assert.equal(s.auth, 'session');
  assert.equal(bmc.activeSessions, 1);
  assert.deepEqual(await s.identity(), { uuid: IDENTITY.uuid, serial: IDENTITY.serial, model: 'Virtual Node', manufacturer: 'RackSeed Lab', macs: IDENTITY.macs, firmware: IDENTITY.firmware });
  assert.ok(bmc.requests.some((r) => r.startsWith('POST /redfish/v1/SessionService/Sessions')));
  await s.close();
  assert.equal(bmc.activeSessions, 0, 'the session was deleted (logout)');
  assert.deepEqual(pinned, [certA.sha256], 'the certificate was pinned once, with its SHA-256 as openssl prints it');
  await c.close();
});

test('power and boot override: one-time PXE in UEFI mode is used by the next power-on; cycle, soft, off', async () => {
  const { port, power } = await serve();
  const c = client();
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    assert.equal(await s.powerStatus(), 'off');
    await s.setBootOverride({ target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
    assert.deepEqual({ ...(await s.getBoot()), allowedTargets: null }, { target: 'Pxe', enabled: 'Once', mode: 'UEFI', allowedTargets: null });
    await s.power('on');
    assert.equal(await s.powerStatus(), 'on');
    assert.deepEqual(power.booted, ['Pxe']);
    assert.equal((await s.getBoot()).enabled, 'Disabled', 'a one-time override is used up');
    await s.setBootOverride({ target: 'Hdd', enabled: 'Continuous' });
    await s.power('cycle');
    await s.power('reset');
    assert.deepEqual(power.booted, ['Pxe', 'Hdd', 'Hdd']);
    await s.power('soft');
    assert.equal(await s.powerStatus(), 'off');
  });
  await c.close();
});

test('basic auth when the service has no SessionService', async () => {
  const { bmc, port } = await serve({ sessions: false });
  const c = client();
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    assert.equal(s.auth, 'basic');
    assert.equal(await s.powerStatus(), 'off');
  });
  assert.equal(bmc.sessionLog.created, 0);
  await c.close();
});

test('reset types listed in an ActionInfo resource are honoured', async () => {
  const { port } = await serve({ resetInfo: 'actioninfo', resetTypes: ['On', 'ForceOff'] });
  const c = client();
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    assert.deepEqual(await s.allowedResetTypes(), ['On', 'ForceOff']);
    await s.power('on');
    await assert.rejects(s.power('cycle'), (e: Error) => e instanceof ResetTypeNotAllowedError && /PowerCycle or ForceRestart is not allowed by this system; it allows On, ForceOff/.test(e.message));
  });
  await c.close();
});

test('HTTP 401: a wrong password is RedfishAuthError naming the user, never retried as basic auth', async () => {
  const { bmc, port } = await serve();
  const c = client();
  await assert.rejects(c.session('127.0.0.1', { user: USER, password: 'wrong', port }),
    (e: Error) => e instanceof RedfishAuthError && e.exitCode === 10 && /HTTP 401 on login \(SessionService\): the BMC refused user "admin"/.test(e.message) && !e.message.includes('wrong'));
  assert.equal(bmc.requests.filter((r) => !r.startsWith('GET /redfish/v1/ ') && r !== 'GET /redfish/v1/').length, 1, 'one login attempt, nothing else');
  await c.close();
});

test('HTTP 403: an account without the role gets RedfishForbiddenError with the BMC\'s own message', async () => {
  const { port } = await serve();
  intercept = (req, res) => req.method === 'POST' && req.url!.endsWith('ComputerSystem.Reset')
    && json(res, 403, { error: { code: 'Base.1.0.InsufficientPrivilege', message: 'There are insufficient privileges for the account' } });
  const c = client();
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    await assert.rejects(s.power('on'), (e: Error) => e instanceof RedfishForbiddenError && e.exitCode === 12 && /HTTP 403 on ComputerSystem.Reset On: .*insufficient privileges/.test(e.message));
  });
  await c.close();
});

test('a service root that is not Redfish (JSON without RedfishVersion) is NotRedfishError', async () => {
  const { port } = await serve();
  intercept = (req, res) => req.url!.startsWith('/redfish/v1') && json(res, 200, { name: 'some web UI', version: '2.0' });
  const c = client();
  await assert.rejects(c.serviceRoot('127.0.0.1', port), (e: Error) => e instanceof NotRedfishError && /not a Redfish service: service root \/RedfishVersion: missing/.test(e.message));
  await c.close();
});

test('a service root that is an HTML page is NotRedfishError', async () => {
  const { port } = await serve();
  intercept = (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'); return true; };
  const c = client();
  await assert.rejects(c.session('127.0.0.1', { user: USER, password: PASSWORD, port }), (e: Error) => e instanceof NotRedfishError && /answered text\/html, not JSON/.test(e.message));
  await c.close();
});

test('a reset type the system does not list is refused before anything is sent, naming the allowed ones', async () => {
  const { bmc, port } = await serve({ resetTypes: ['On', 'ForceOff', 'GracefulShutdown'] });
  const c = client();
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    await assert.rejects(s.reset('ForceRestart'), (e: Error) => e instanceof ResetTypeNotAllowedError && e.exitCode === 20
      && e.message.endsWith('reset type ForceRestart is not allowed by this system; it allows On, ForceOff, GracefulShutdown'));
  });
  assert.ok(!bmc.requests.some((r) => r.includes('ComputerSystem.Reset')), 'no reset was POSTed');
  await c.close();
});

test('a task monitor that never completes ends in TaskTimeoutError; one that completes is waited for', async () => {
  const { port } = await serve({ taskMs: Infinity });
  const c = client({ taskTimeoutMs: 1200 });
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    const t0 = Date.now();
    await assert.rejects(s.power('on'), (e: Error) => e instanceof TaskTimeoutError && /ComputerSystem.Reset On did not complete within 1\.\d s \(task monitor \/redfish\/v1\/TaskService\/TaskMonitors\/\w+, last state Running\)/.test(e.message));
    assert.ok(Date.now() - t0 < 4000);
  });
  await c.close();
  const quick = await serve({ taskMs: 300 });
  const c2 = client();
  await c2.withSession('127.0.0.1', { user: USER, password: PASSWORD, port: quick.port }, async (s) => {
    await s.power('on');
    assert.equal(await s.powerStatus(), 'on');
  });
  await c2.close();
});

test('malformed JSON in a resource is RedfishMalformedError naming the request', async () => {
  const { port } = await serve();
  intercept = (req, res) => req.method === 'GET' && req.url === '/redfish/v1/Systems/1' && json(res, 200, '{"Id": "1", "PowerState": ');
  const c = client();
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    await assert.rejects(s.powerStatus(), (e: Error) => e instanceof RedfishMalformedError && /malformed answer to GET \/redfish\/v1\/Systems\/1: ComputerSystem: not JSON/.test(e.message));
  });
  await c.close();
});

test('a huge body is refused at the cap without being read to the end', async () => {
  const { port } = await serve();
  const big = `{"Id":"1","Pad":"${'x'.repeat(3 * 1024 * 1024)}"}`;
  intercept = (req, res) => {
    if (req.method !== 'GET' || req.url !== '/redfish/v1/Systems/1') return false;
    res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no length to judge up front
    res.end(big);
    return true;
  };
  const c = client({ maxBodyBytes: 256 * 1024 });
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    await assert.rejects(s.system(), (e: Error) => e instanceof RedfishMalformedError && /body larger than the 262144 bytes accepted/.test(e.message));
  });
  await c.close();
});

test('a resource of the wrong shape (UUID that is not one) is RedfishMalformedError naming the field', async () => {
  const { port } = await serve();
  intercept = (req, res) => req.method === 'GET' && req.url === '/redfish/v1/Systems/1'
    && json(res, 200, { '@odata.id': '/redfish/v1/Systems/1', Id: '1', UUID: 'not-a-uuid', PowerState: 'On' });
  const c = client();
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    await assert.rejects(s.systemGuid(), (e: Error) => e instanceof RedfishMalformedError && /ComputerSystem \/UUID: "not-a-uuid" is not a UUID/.test(e.message));
  });
  await c.close();
});

test('a task monitor Location on another host is refused, not followed', async () => {
  const { port } = await serve();
  intercept = (req, res) => req.method === 'POST' && req.url!.endsWith('ComputerSystem.Reset')
    && json(res, 202, {}, { location: 'https://198.51.100.7/redfish/v1/TaskService/TaskMonitors/1' });
  const c = client();
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    await assert.rejects(s.power('on'), (e: Error) => e instanceof RedfishMalformedError && /points away from this BMC; not followed/.test(e.message));
  });
  await c.close();
});

test('a changed certificate is refused with both fingerprints, and the impostor receives no request', async () => {
  const first = await serve();
  const pins = new MemoryPinStore();
  const c = client({ pins });
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port: first.port }, (s) => s.powerStatus());
  await c.close();
  await first.bmc.close();
  const impostor = await serve({}, certB, first.port);
  const c2 = client({ pins });
  await assert.rejects(c2.session('127.0.0.1', { user: USER, password: PASSWORD, port: first.port }),
    (e: Error) => e instanceof CertificateChangedError && e.exitCode === 21 && e.message.includes(`pinned SHA-256 ${certA.sha256}, the BMC now presents ${certB.sha256}`) && /Refusing to send credentials/.test(e.message));
  assert.deepEqual(impostor.bmc.requests, [], 'not one HTTP request reached the new certificate');
  await c2.close();
  const insecure = client({ pins, insecure: true });
  assert.equal((await insecure.serviceRoot('127.0.0.1', first.port)).redfishVersion, '1.11.0', '--insecure: only when asked');
  await insecure.close();
});

test('a service with several systems says so and lists them; systemId chooses one', async () => {
  const { port } = await serve({ systems: 3 });
  const c = client();
  await assert.rejects(c.session('127.0.0.1', { user: USER, password: PASSWORD, port }),
    (e: Error) => e instanceof SeveralSystemsError && /manages 3 systems \(1, 2, 3\); choose one/.test(e.message));
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port, systemId: '1' }, async (s) => {
    assert.equal(await s.systemGuid(), IDENTITY.uuid);
  });
  await c.close();
});

test('nothing listening: RedfishUnreachableError after the retries', async () => {
  const port = await freePort();
  const c = client({ retries: 2, backoffMs: 20 });
  await assert.rejects(c.serviceRoot('127.0.0.1', port), (e: Error) => e instanceof RedfishUnreachableError && e.exitCode === 15 && /GET \/redfish\/v1\/ failed 3 time\(s\) \(ECONNREFUSED/.test(e.message));
  await c.close();
});

test('503 answers are retried with backoff; requests in flight per BMC stay under the cap', async () => {
  const { port } = await serve();
  let failures = 2;
  let inFlight = 0;
  let peak = 0;
  intercept = (req, res) => {
    if (req.method !== 'GET' || req.url !== '/redfish/v1/Systems/1') return false;
    if (failures > 0) { failures--; return json(res, 503, { error: { code: 'busy', message: 'try later' } }); }
    inFlight++;
    peak = Math.max(peak, inFlight);
    setTimeout(() => { inFlight--; json(res, 200, { '@odata.id': '/redfish/v1/Systems/1', Id: '1', PowerState: 'On' }); }, 40);
    return true;
  };
  const c = client({ retries: 3, backoffMs: 20, maxConcurrentPerBmc: 2 });
  await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, async (s) => {
    assert.equal(await s.powerStatus(), 'on', 'two 503s, then an answer');
    const all = await Promise.all(Array.from({ length: 10 }, () => s.powerStatus()));
    assert.deepEqual(all, Array(10).fill('on'));
  });
  assert.equal(peak, 2, 'at most 2 requests in flight to the BMC');
  await c.close();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}
