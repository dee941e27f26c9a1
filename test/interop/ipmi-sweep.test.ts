// Sweep of a /24 holding 20 ipmi_sim BMCs (one address each on the same veth) plus one live host that is not a
// BMC: every BMC is found, with vendor and GUID when credentials are given, and nothing else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsSandbox, canUseNetns, ip } from '../helpers/netns.ts';
import { enterNetns, startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { sweep, sweepAll, cidrHosts } from '../../bmc/ipmi/session/sweep.ts';

const N = 20;
const bmcAddr = (i: number) => `10.241.20.${10 + i}`;
const guid = (i: number) => `aabbccdd00000000000000000000${(i + 1).toString(16).padStart(4, '0')}`;
const sandbox = new NetnsSandbox();
const sims: IpmiSim[] = [];
let leave: (() => void) | null = null;
let client: IpmiClient;

before(async () => {
  assert.ok(canUseNetns(), 'interop tests need root and iproute2 (network namespaces)');
  const bmcs = sandbox.addNamespace('ipmib');
  const me = sandbox.addNamespace('ipmic');
  sandbox.addVeth({ ns: me, name: 'eth0', cidr: '10.241.20.2/24' }, { ns: bmcs, name: 'eth0', cidr: '10.241.20.200/24' });
  for (let i = 0; i < N; i++) ip('-n', bmcs, 'addr', 'add', `${bmcAddr(i)}/24`, 'dev', 'eth0');
  for (let i = 0; i < N; i++) {
    sims.push(await startIpmiSim({ sandbox, ns: bmcs, address: bmcAddr(i), user: 'admin', password: 'secret', guid: guid(i) }));
  }
  leave = await enterNetns(me);
  client = new IpmiClient({ timeoutMs: 500, retries: 2 });
});

after(async () => {
  await client?.close();
  leave?.();
  for (const s of sims) await s.stop();
  await sandbox.cleanup();
});

test('cidrHosts excludes network and broadcast', () => {
  const h = cidrHosts('10.241.20.0/24');
  assert.equal(h.length, 254);
  assert.equal(h[0], '10.241.20.1');
  assert.equal(h[253], '10.241.20.254');
  assert.deepEqual(cidrHosts('10.0.0.4/31'), ['10.0.0.4', '10.0.0.5']);
  assert.throws(() => cidrHosts('10.0.0.0/8'), /65536/);
});

test('finds exactly the 20 BMCs of the /24, reporting each as found', async () => {
  const order: string[] = [];
  const started = Date.now();
  const found = await sweepAll(client, { cidr: '10.241.20.0/24', probeTimeoutMs: 300, probeRetries: 1, concurrency: 64, ratePerSec: 500, onFound: (r) => order.push(r.address) });
  const took = Date.now() - started;
  const addrs = found.map((r) => r.address).sort();
  assert.deepEqual(addrs, Array.from({ length: N }, (_, i) => bmcAddr(i)).sort());
  assert.equal(order.length, N);
  for (const r of found) {
    assert.equal(r.ipmiVersion, '2.0');
    assert.ok(r.authTypes.includes('md5'));
  }
  assert.ok(took < 20_000, `sweep took ${took} ms`);
});

test('with credentials: vendor and GUID of every BMC, streamed by the async iterator', async () => {
  const seen = new Map<string, string>();
  for await (const r of sweep(client, { cidr: '10.241.20.0/27', credentials: { user: 'admin', password: 'secret' }, probeTimeoutMs: 300, probeRetries: 1 })) {
    assert.equal(r.error, undefined, r.error?.message);
    assert.equal(r.vendor, 'MontaVista Software');
    assert.equal(r.cipherSuite, 3);
    seen.set(r.address, r.guid!);
  }
  // 10.241.20.10 .. .29 are inside /27 (.1–.30)
  assert.equal(seen.size, N);
  for (let i = 0; i < N; i++) {
    const g = guid(i);
    const smbios = `${g.slice(6, 8)}${g.slice(4, 6)}${g.slice(2, 4)}${g.slice(0, 2)}-${g.slice(10, 12)}${g.slice(8, 10)}-${g.slice(14, 16)}${g.slice(12, 14)}-${g.slice(16, 20)}-${g.slice(20)}`;
    assert.equal(seen.get(bmcAddr(i)), smbios);
  }
});

test('with a wrong password the BMCs are still reported, each with a wrong-password error', async () => {
  const found = await sweepAll(client, { cidr: '10.241.20.8/30', credentials: { user: 'admin', password: 'bad' }, probeTimeoutMs: 300 });
  assert.deepEqual(found.map((r) => r.address).sort(), ['10.241.20.10']);
  assert.equal(found[0].error?.code, 'wrong-password');
});
