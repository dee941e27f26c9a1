// The RMCP+ client against OpenIPMI's ipmi_sim in a test namespace; every reading is compared with
// `ipmitool -I lanplus -C 3` on the same BMC, and power/boot changes are read back from the simulated chassis.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { NetnsSandbox, canUseNetns, ip } from '../helpers/netns.ts';
import { enterNetns, startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import {
  BmcBusyError, BmcUnreachableError, InsecureCipherSuiteError, PrivilegeTooLowError, SessionClosedError, UnknownUserError, WrongPasswordError,
} from '../../bmc/ipmi/session/errors.ts';
import { Privilege } from '../../bmc/ipmi/open-session.ts';

const BMC = '10.241.7.10';
const DEAD = '10.241.7.99';
const GUID = '00112233445566778899aabbccddeeff';
const sandbox = new NetnsSandbox();
let ns = '';
let sim: IpmiSim;
let leave: (() => void) | null = null;
const logLines: string[] = [];
let client: IpmiClient;
const creds = { user: 'admin', password: 'secret' };

function ipmitool(...args: string[]): string {
  return sandbox.exec(ns, 'ipmitool', ['-I', 'lanplus', '-C', '3', '-U', 'admin', '-P', 'secret', '-H', BMC, ...args]);
}

before(async () => {
  assert.ok(canUseNetns(), 'interop tests need root and iproute2 (network namespaces)');
  ns = sandbox.addNamespace('ipmi');
  ip('-n', ns, 'addr', 'add', `${BMC}/24`, 'dev', 'lo');
  ip('-n', ns, 'addr', 'add', `${DEAD}/32`, 'dev', 'lo');
  sim = await startIpmiSim({
    sandbox, ns, address: BMC, user: 'admin', password: 'secret', guid: GUID,
    extraUsers: [{ id: 3, name: 'viewer', password: 'viewpw', privilege: 'user' }],
  });
  leave = await enterNetns(ns);
  const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(chunk.toString()); cb(); } });
  client = new IpmiClient({ logger: pino({ level: 'debug' }, sink), timeoutMs: 500, retries: 2 });
});

after(async () => {
  await client?.close();
  leave?.();
  await sim?.stop();
  await sandbox.cleanup();
});

test('negotiation: prefers 17, falls back to 3 with a logged reason (ipmi_sim refuses 17)', async () => {
  const s = await client.session(BMC, creds);
  try {
    assert.equal(s.suite?.id, 3);
    assert.equal(s.state, 'established');
    const line = logLines.find((l) => l.includes('falling back to suite 3'));
    assert.ok(line, 'fallback is logged');
    assert.match(line!, /InvalidAuthenticationAlgorithm/);
    assert.ok(!logLines.some((l) => l.includes('secret')), 'password never logged');
  } finally { await s.close(); }
});

test('power status/on/off match ipmitool and change the simulated chassis', async () => {
  await client.withSession(BMC, { ...creds, cipher: 3, setPrivilegeAtOpen: true }, async (s) => {
    assert.equal(await s.powerStatus(), 'off');
    assert.match(ipmitool('power', 'status'), /Chassis Power is off/);
    await s.power('on');
    assert.equal(sim.readPower(), '1');
    assert.equal(await s.powerStatus(), 'on');
    assert.match(ipmitool('power', 'status'), /Chassis Power is on/);
    await s.power('cycle');
    await s.power('reset');
    await s.power('soft');
    await s.power('off');
    assert.equal(sim.readPower(), '0');
    assert.equal(await s.powerStatus(), 'off');
    assert.match(ipmitool('power', 'status'), /Chassis Power is off/);
    const st = await s.chassisStatus();
    assert.equal(st.powerOn, false);
  });
});

test('device id and GUID match ipmitool mc info / mc guid', async () => {
  await client.withSession(BMC, creds, async (s) => {
    const d = await s.deviceId();
    const info = ipmitool('mc', 'info');
    const field = (name: string) => new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(info)?.[1].trim();
    assert.equal(String(d.deviceId), field('Device ID'));
    assert.equal(String(d.deviceRevision), field('Device Revision'));
    assert.equal(d.firmwareRevision, field('Firmware Revision'));
    assert.equal(d.ipmiVersion, field('IPMI Version'));
    assert.equal(String(d.manufacturerId), field('Manufacturer ID'));
    assert.equal(d.manufacturerName, 'MontaVista Software');
    assert.match(field('Product ID') ?? '', new RegExp(`^${d.productId} `));
    const guid = await s.systemGuid();
    assert.equal(guid, /System GUID\s*: (\S+)/.exec(ipmitool('mc', 'guid', 'smbios'))?.[1]);
    assert.equal(guid, '33221100-5544-7766-8899-aabbccddeeff');
  });
});

test('boot device: set, read back via Get Boot Options, ipmitool and the chassis_control state', async () => {
  await client.withSession(BMC, creds, async (s) => {
    for (const [device, simName, toolName] of [['pxe', 'pxe', 'Force PXE'], ['disk', 'default', 'Force Boot from default Hard-Drive'], ['bios', 'bios', 'Force Boot into BIOS Setup']] as const) {
      await s.setBootDevice({ device, uefi: false, persistent: false });
      assert.equal(sim.readBoot(), simName);
      const back = await s.getBootDevice();
      assert.equal(back.device, device);
      assert.match(ipmitool('chassis', 'bootparam', 'get', '5'), new RegExp(`Boot Device Selector : ${toolName}`));
    }
    await s.setBootDevice({ device: 'pxe', uefi: true, persistent: true });
    const back = await s.getBootDevice();
    assert.equal(back.device, 'pxe');
    const tool = ipmitool('chassis', 'bootparam', 'get', '5');
    // ipmi_sim keeps only the device in its chassis program; it reports the EFI/persistent bits it stored
    assert.equal(back.uefi, /Boot Flag .*EFI|Extensible Firmware Interface Boot/.test(tool));
    assert.equal(back.persistent, /Options apply to all future boots/.test(tool));
  });
});

test('LAN configuration matches ipmitool lan print', async () => {
  await client.withSession(BMC, creds, async (s) => {
    const lan = await s.lanConfig();
    const out = ipmitool('lan', 'print', String(lan.channel));
    assert.equal(lan.ip, /^IP Address\s*: (\S+)/m.exec(out)?.[1]);
    assert.equal(lan.mac, /^MAC Address\s*: (\S+)/m.exec(out)?.[1]);
  });
});

test('wrong password, unknown user, unreachable host, suite 0 and low privilege are distinct errors', async () => {
  await assert.rejects(client.session(BMC, { user: 'admin', password: 'nope' }), WrongPasswordError);
  await assert.rejects(client.session(BMC, { user: 'ghost', password: 'secret' }), UnknownUserError);
  const started = Date.now();
  await assert.rejects(client.session(DEAD, creds), (err: unknown) => err instanceof BmcUnreachableError && /after 3 tries/.test(err.message));
  assert.ok(Date.now() - started >= 500 + 750 + 1125 - 50, 'retries back off');
  await assert.rejects(client.session(BMC, { ...creds, cipher: 0 }), (err: unknown) =>
    err instanceof InsecureCipherSuiteError && /no authentication/.test(err.message));
  // ipmi_sim does not enforce a user's privilege limit at session setup (ipmitool -L ADMINISTRATOR gets admin
  // too), so "privilege too low" is exercised where ipmi_sim does enforce it: a USER-level session and a
  // command that needs OPERATOR (completion code 0xD4).
  await client.withSession(BMC, { user: 'viewer', password: 'viewpw', privilege: Privilege.User }, async (s) => {
    assert.equal(typeof (await s.powerStatus()), 'string');
    await assert.rejects(s.power('on'), PrivilegeTooLowError);
  });
});

test('suite 0 works only when explicitly allowed', async () => {
  await client.withSession(BMC, { ...creds, cipher: 0, allowInsecure: true }, async (s) => {
    assert.equal(s.suite?.id, 0);
    assert.equal(await s.powerStatus(), 'off');
  });
});

test('many sessions share one socket; a closed session refuses commands', async () => {
  const sessions = await Promise.all(Array.from({ length: 6 }, () => client.session(BMC, creds)));
  const results = await Promise.all(sessions.map((s) => s.powerStatus()));
  assert.deepEqual(results, Array(6).fill('off'));
  await Promise.all(sessions.map((s) => s.close()));
  await assert.rejects(sessions[0].powerStatus(), SessionClosedError);
});

test('out of sessions is BmcBusyError; closing sessions frees them', async () => {
  const open: Awaited<ReturnType<IpmiClient['session']>>[] = [];
  let busy: unknown = null;
  for (let i = 0; i < 100 && !busy; i++) {
    try { open.push(await client.session(BMC, { ...creds, cipher: 3 })); } catch (err) { busy = err; }
  }
  assert.ok(busy instanceof BmcBusyError, `expected BmcBusyError, got ${String(busy)}`);
  assert.match((busy as Error).message, /InsufficientResources/);
  assert.ok(open.length >= 1 && open.length < 100);
  await Promise.all(open.map((s) => s.close()));
  await client.withSession(BMC, creds, async (s) => assert.equal(await s.powerStatus(), 'off'));
});

test('the default keepalive keeps a session alive past ipmi_sim\'s 30 s inactivity timeout (OpenIPMI lanserv default_session_timeout)', { timeout: 120_000 }, async () => {
  const k = new IpmiClient({ timeoutMs: 1000, retries: 1 });
  try {
    const s = await k.session(BMC, creds);
    assert.equal(await s.powerStatus(), 'off');
    // 40 s of silence from us but for keepalives: a session kept alive only every 30-60 s (before) was closed by now
    await new Promise((r) => setTimeout(r, 40_000));
    assert.ok(s.keepalivesSent >= 2, `keepalives in 40 s idle: ${s.keepalivesSent}`);
    assert.equal(await s.powerStatus(), 'off', 'the same session still answers');
    await s.close();
  } finally { await k.close(); }
});

test('keepalive: an idle session sends Get Device ID and stays usable', async () => {
  const k = new IpmiClient({ timeoutMs: 500, retries: 2, keepaliveMs: 150 });
  try {
    const s = await k.session(BMC, creds);
    await new Promise((r) => setTimeout(r, 700));
    assert.ok(s.keepalivesSent >= 1, `keepalives: ${s.keepalivesSent}`);
    assert.equal(await s.powerStatus(), 'off');
    await s.close();
  } finally { await k.close(); }
});
