// interfaceMac (netboot/net/interface-mac.ts): the DHCP servers' "own MAC" (their survey probes come from it).
// Read inside a namespace the test creates, from a veth whose MAC the test chose, as the daemon reads it in its own.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsSandbox, canUseNetns } from '../helpers/netns.ts';

const sandbox = new NetnsSandbox();
after(async () => { await sandbox.cleanup(); });

test('interfaceMac: the veth MAC chosen here; null for loopback and a missing interface', () => {
  assert.ok(canUseNetns(), 'this test needs root (network namespaces)');
  const a = sandbox.addNamespace('ifmac-a');
  const b = sandbox.addNamespace('ifmac-b');
  sandbox.addVeth({ ns: a, name: 'eth0', mac: '52:54:00:9a:bc:de' }, { ns: b, name: 'eth0' });
  const script = "const { interfaceMac } = await import('./netboot/net/interface-mac.ts');" +
    "console.log(JSON.stringify([interfaceMac('eth0'), interfaceMac('lo'), interfaceMac('rs-no-such-if0')]));";
  const out = sandbox.exec(a, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], 60_000);
  assert.deepEqual(JSON.parse(out.trim()), ['52:54:00:9a:bc:de', null, null]);
});
