// One-NIC confinement (DESIGN.md): the server's socket is bound to one interface (SO_BINDTODEVICE) of a
// namespace that has two NICs. A client on the other segment gets NO reply — shown by a tcpdump capture on
// that client's link — while a client on the served segment gets a lease (control).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsSandbox, canUseNetns, waitExit } from '../helpers/netns.ts';
import { createDhcpServer, type DhcpService } from '../../netboot/dhcp/server/index.ts';
import { createBoundUdpSocketFactory } from '../../netboot/net/bound-udp.ts';
import { openSqliteLeaseStore, type SqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import { EventLog, runInNs, script, tempDir } from '../fixtures/dhcp/interop.ts';
import { silentLogger } from '../fixtures/dhcp/test-client.ts';

const sandbox = new NetnsSandbox();
const dir = tempDir('confine');
const log = new EventLog();
let srv = '';
let segA = '';
let segB = '';
let store: SqliteLeaseStore;
let server: DhcpService;

before(async () => {
  assert.ok(canUseNetns(), 'interop tests need root and iproute2 (network namespaces)');
  srv = sandbox.addNamespace('dhcpx-srv');
  segA = sandbox.addNamespace('dhcpx-a');
  segB = sandbox.addNamespace('dhcpx-b');
  sandbox.addVeth({ ns: srv, name: 'ethA', cidr: '10.232.1.1/24' }, { ns: segA, name: 'eth0', mac: '52:54:00:32:00:0a' });
  sandbox.addVeth({ ns: srv, name: 'ethB', cidr: '10.232.2.1/24' }, { ns: segB, name: 'eth0', mac: '52:54:00:32:00:0b' });
  store = openSqliteLeaseStore(join(dir, 'leases.db'));
  server = createDhcpServer({
    interface: 'ethA', serverIp: '10.232.1.1', subnetMask: '255.255.255.0', pool: { first: '10.232.1.100', last: '10.232.1.150' },
    leases: store, socketFactory: createBoundUdpSocketFactory({ netns: srv }), logger: silentLogger, events: log.sink,
  });
  await server.start();
});

after(async () => {
  await server?.stop();
  store?.close();
  await sandbox.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('a client on the other NIC gets no reply (tcpdump), a client on the served NIC gets a lease', async () => {
  const pcap = join(dir, 'segB.pcap');
  const dump = sandbox.spawn(segB, 'tcpdump', ['-i', 'eth0', '-n', '-U', '-s', '0', '-w', pcap, 'udp port 67 or udp port 68']);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
    dump.stderr?.on('data', (d: Buffer) => { if (d.toString().includes('listening on')) { clearTimeout(t); resolve(); } });
  });
  const s = script(join(dir, 'u.sh'), 'exit 0');
  const b = await runInNs(sandbox, segB, 'busybox', ['udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '3', '-T', '1', '-s', s], 15_000);
  assert.notEqual(b.code, 0, 'udhcpc on segment B fails to get a lease');
  assert.match(b.output, /no lease/);
  const a = await runInNs(sandbox, segA, 'busybox', ['udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '3', '-T', '1', '-s', s], 15_000);
  assert.equal(a.code, 0, `udhcpc on segment A gets a lease: ${a.output}`);
  assert.match(a.output, /lease of 10\.232\.1\.1\d\d obtained from 10\.232\.1\.1/);
  dump.kill('SIGTERM');
  await waitExit(dump, 5000);

  const read = (filter: string): string[] =>
    execFileSync('tcpdump', ['-n', '-r', pcap, filter], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean);
  const fromClient = read('udp src port 68');
  const fromServer = read('udp src port 67');
  assert.ok(fromClient.length >= 3, `the capture on segment B saw the client's DISCOVERs (${fromClient.length})`);
  assert.deepEqual(fromServer, [], 'and not a single server packet');
  assert.equal(log.of('52:54:00:32:00:0b').length, 0, 'the server never even received segment B');
  assert.ok(log.of('52:54:00:32:00:0a', 'ack').length >= 1);
});
