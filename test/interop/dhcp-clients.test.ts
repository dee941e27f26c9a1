// Issue 2 acceptance, real clients: busybox udhcpc, ISC dhclient and dhcpcd each get a lease from the
// authoritative server's pool and RENEW it (short lease: T1 = 3 s); a reserved MAC gets its address; a
// REQUEST naming another server gets no ACK; replies reach clients without an address as RFC 2131 §4.1 says
// (unicast to yiaddr at chaddr, or broadcast for the broadcast flag: frames seen by tcpdump). Server: in-process,
// socket created in the server namespace with SO_BINDTODEVICE on the bridge, link-layer replies through a packet
// socket there; last, the same server with its batched reads/sends and link-layer replies switched off (the paths
// it falls back to without koffi's recvmmsg/sendmmsg or a packet socket) still leases. Everything lives in namespaces
// created here (10.231.0.0/24).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsSandbox, canUseNetns } from '../helpers/netns.ts';
import { createDhcpServer, surveyDhcp, type DhcpService } from '../../netboot/dhcp/server/index.ts';
import { createBoundUdpSocketFactory } from '../../netboot/net/bound-udp.ts';
import { openSqliteLeaseStore, type SqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import { DhcpMessageType as T } from '../../netboot/dhcp/index.ts';
import { EventLog, runInNs, script, tempDir } from '../fixtures/dhcp/interop.ts';
import { ReplyCollector, clientPacket, silentLogger } from '../fixtures/dhcp/test-client.ts';

const SERVER_IP = '10.231.0.1';
const MACS = {
  udhcpc: '52:54:00:31:00:01', dhclient: '52:54:00:31:00:02', dhcpcd: '52:54:00:31:00:03', reserved: '52:54:00:31:00:04', crafted: '52:54:00:31:00:05',
  unicast: '52:54:00:31:00:06', flagged: '52:54:00:31:00:07', fallback: '52:54:00:31:00:08',
};
const RESERVED_IP = '10.231.0.50';

const sandbox = new NetnsSandbox();
const log = new EventLog();
const dir = tempDir('clients');
let serverNs = '';
const clientNs: Record<string, string> = {};
/** br0's MAC: the server's own interface (its survey probes come from it) */
let brMac = '';
let store: SqliteLeaseStore;
let server: DhcpService;

before(async () => {
  assert.ok(canUseNetns(), 'interop tests need root and iproute2 (network namespaces)');
  serverNs = sandbox.addNamespace('dhcpc-srv');
  sandbox.addBridge(serverNs, 'br0', `${SERVER_IP}/24`);
  for (const [name, mac] of Object.entries(MACS)) {
    clientNs[name] = sandbox.addNamespace(`dhcpc-${name.slice(0, 4)}`);
    sandbox.addVeth({ ns: clientNs[name], name: 'eth0', mac }, { ns: serverNs, name: `p-${name.slice(0, 8)}`, bridge: 'br0' });
  }
  store = openSqliteLeaseStore(join(dir, 'leases.db'));
  brMac = sandbox.exec(serverNs, 'cat', ['/sys/class/net/br0/address']).trim();
  server = createDhcpServer({
    interface: 'br0', ownMac: brMac, serverIp: SERVER_IP, subnetMask: '255.255.255.0', pool: { first: '10.231.0.100', last: '10.231.0.150' },
    reservations: [{ mac: MACS.reserved.toUpperCase().replace(/:/g, '-'), ip: RESERVED_IP }],
    routers: [SERVER_IP], dnsServers: [SERVER_IP], leaseTimeSec: 30, renewalTimeSec: 3, rebindingTimeSec: 20,
    leases: store, socketFactory: createBoundUdpSocketFactory({ netns: serverNs }), logger: silentLogger, events: log.sink,
  });
  await server.start();
});

after(async () => {
  await server?.stop();
  store?.close();
  await sandbox.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const inPool = (ip: string | null) => !!ip && /^10\.231\.0\.(1[0-4]\d|150)$/.test(ip);

test('udhcpc, dhclient and dhcpcd each get a lease from the pool and renew it', async () => {
  // udhcpc: the script records what it was told and configures the address (renewal is unicast from it)
  const udhcpcLog = join(dir, 'udhcpc.log');
  const udhcpcScript = script(join(dir, 'udhcpc.sh'),
    `echo "$1 ip=$ip mask=$mask router=$router dns=$dns serverid=$serverid lease=$lease" >> ${udhcpcLog}\n` +
    `case "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface";; esac`);
  const outputs: Record<string, string> = { udhcpc: '', dhclient: '', dhcpcd: '' };
  const keep = (name: string, child: import('node:child_process').ChildProcess) => {
    const add = (d: Buffer) => { outputs[name] = (outputs[name] + d.toString()).slice(-600); };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
    child.once('exit', (code, sig) => { outputs[name] += `\n[exited ${code ?? sig}]`; });
  };
  keep('udhcpc', sandbox.spawn(clientNs.udhcpc, 'busybox', ['udhcpc', '-i', 'eth0', '-f', '-t', '10', '-T', '1', '-s', udhcpcScript]));

  // dhclient: foreground, own lease/pid files, a script that only applies the address
  const dhclientScript = script(join(dir, 'dhclient.sh'),
    'case "$reason" in BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface";; esac');
  keep('dhclient', sandbox.spawn(clientNs.dhclient, 'dhclient', ['-d', '-v', '-4', '-sf', dhclientScript, '-pf', join(dir, 'dhclient.pid'), '-lf', join(dir, 'dhclient.leases'), 'eth0']));

  // dhcpcd: no hooks at all (-c /bin/true, --nohook resolv.conf), no config file; its state dirs are
  // tmpfs mounts private to this `ip netns exec` (which runs in its own mount namespace)
  const dhcpcdSh = 'mkdir -p /var/lib/dhcpcd /run/dhcpcd && mount -t tmpfs tmpfs /var/lib/dhcpcd && mount -t tmpfs tmpfs /run/dhcpcd && ' +
    'exec dhcpcd -4 -B -f /dev/null -c /bin/true --nohook resolv.conf --noarp -t 20 eth0';
  keep('dhcpcd', sandbox.spawn(clientNs.dhcpcd, 'sh', ['-c', dhcpcdSh]));

  const names = ['udhcpc', 'dhclient', 'dhcpcd'] as const;
  const ok = await log.until(() => names.every((n) => log.renewed(MACS[n]) !== null), 60_000);
  const status = names.map((n) => `${n}: events=${log.of(MACS[n]).map((e) => `${e.kind}:${e.ip}`).join(',')} renewed=${log.renewed(MACS[n])} output=${JSON.stringify(outputs[n])}`).join('\n');
  assert.ok(ok, `all three renewed (${status})`);
  for (const n of names) {
    const acks = log.of(MACS[n], 'ack');
    assert.ok(inPool(acks[0].ip), `${n} leased ${acks[0].ip} from the pool`);
    assert.equal(log.renewed(MACS[n]), acks[0].ip, `${n} renewed the same address`);
    assert.equal(store.byMac(MACS[n])?.ip, acks[0].ip, `${n} lease stored`);
  }
  // the clients really applied what they were given. The server logs its ACK before udhcpc has read it and run
  // its script, so the script's "renew" line may come a moment after the renewal the server saw.
  let lines = readFileSync(udhcpcLog, 'utf8');
  for (let waited = 0; !/^renew /m.test(lines) && waited < 10_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    lines = readFileSync(udhcpcLog, 'utf8');
  }
  assert.match(lines, /^bound ip=10\.231\.0\.\d+ mask=24 router=10\.231\.0\.1 dns=10\.231\.0\.1 serverid=10\.231\.0\.1 lease=30$/m);
  assert.match(lines, /^renew ip=10\.231\.0\.\d+/m);
  assert.match(readFileSync(join(dir, 'dhclient.leases'), 'utf8'), /fixed-address 10\.231\.0\.\d+;/);
  assert.match(sandbox.exec(clientNs.dhcpcd, 'ip', ['-4', 'addr', 'show', 'eth0']), /inet 10\.231\.0\.\d+\/24/);
  assert.ok(!existsSync('/var/lib/dhcpcd/eth0.lease'), 'dhcpcd left nothing in the root file system');
});

test('a reserved MAC gets its reserved address (busybox udhcpc, one-shot)', async () => {
  const out = join(dir, 'reserved.log');
  const s = script(join(dir, 'reserved.sh'), `echo "$1 ip=$ip" >> ${out}`);
  const run = await runInNs(sandbox, clientNs.reserved, 'busybox', ['udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '5', '-T', '1', '-s', s], 20_000);
  assert.equal(run.code, 0, run.output);
  assert.match(readFileSync(out, 'utf8'), new RegExp(`^bound ip=${RESERVED_IP.replace(/\./g, '\\.')}$`, 'm'));
  assert.equal(store.byMac(MACS.reserved)?.ip, RESERVED_IP);
});

test('a REQUEST naming another server id gets no ACK (crafted with the codec, bound socket in the client namespace)', async () => {
  const socket = await createBoundUdpSocketFactory({ netns: clientNs.crafted })({ port: 68, interface: 'eth0', broadcast: true, reuseAddr: true });
  try {
    const replies = new ReplyCollector(socket);
    const bcast = { address: '255.255.255.255', port: 67 };
    const d = clientPacket(T.DISCOVER, MACS.crafted);
    const offer = await replies.exchange(d, bcast, T.OFFER, 3000);
    assert.ok(offer, 'OFFER received');
    const before = server.counters();
    const requestsBefore = log.of(MACS.crafted, 'request').length;
    const r = clientPacket(T.REQUEST, MACS.crafted, { xid: d.xid });
    r.options.serverId = '10.231.0.77';
    r.options.requestedIp = offer.yiaddr;
    assert.equal(await replies.exchange(r, bcast, null, 1500), null, 'no ACK or NAK');
    const after = server.counters();
    // (the renewing clients of the first test are still running, so counters only grow)
    assert.equal(log.of(MACS.crafted, 'request').length, requestsBefore + 1, 'the server saw the REQUEST');
    assert.equal(log.of(MACS.crafted, 'request').at(-1)?.detail?.outcome, 'ignored: client selected server 10.231.0.77', 'and the history says why it got no answer');
    assert.ok(after.dropped >= before.dropped + 1, 'and dropped it');
    assert.equal(log.of(MACS.crafted, 'ack').length + log.of(MACS.crafted, 'nak').length, 0, 'no ACK/NAK event either');
    // the same REQUEST naming us is ACKed (control)
    const ours = clientPacket(T.REQUEST, MACS.crafted, { xid: d.xid + 1 });
    ours.options.serverId = SERVER_IP;
    ours.options.requestedIp = offer.yiaddr;
    assert.equal((await replies.exchange(ours, bcast, T.ACK, 3000))?.yiaddr, offer.yiaddr);
  } finally { socket.close(); }
});

/** One frame as `tcpdump -nlevv` prints it: link and IP destinations, message type, checksum verdicts. */
interface SeenReply { ethDst: string; ipDst: string; type: string; sumOk: boolean; bad: boolean }

function parseTcpdump(out: string): SeenReply[] {
  return out.split(/^(?=\d\d:\d\d:\d\d\.)/m).filter((b) => b.trim()).map((b) => ({
    ethDst: b.match(/^\S+ \S+ > ([0-9a-f:]{17}),/)?.[1] ?? '?',
    ipDst: b.match(/\d+\.\d+\.\d+\.\d+\.67 > (\d+\.\d+\.\d+\.\d+)\.68:/)?.[1] ?? '?',
    type: b.match(/DHCP-Message \(53\), length 1: (\w+)/)?.[1] ?? '?',
    sumOk: /udp sum ok/.test(b),
    bad: /bad (udp )?cksum/i.test(b),
  }));
}

test('replies reach a client without an address as RFC 2131 §4.1 says: unicast to yiaddr at its MAC, or broadcast when it sets the flag (busybox udhcpc; tcpdump on its link)', async () => {
  for (const [name, flag] of [['unicast', []], ['flagged', ['-B']]] as const) {
    const ns = clientNs[name];
    const cap = sandbox.spawn(ns, 'tcpdump', ['-nlevv', '-i', 'eth0', '-c', '2', 'udp src port 67']);
    let out = '', err = '';
    cap.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    cap.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<void>((resolve) => cap.once('exit', () => resolve()));
    for (let waited = 0; !/listening on/.test(err) && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    const lease = join(dir, `${name}.log`);
    const s = script(join(dir, `${name}.sh`), `echo "$1 ip=$ip" >> ${lease}`);
    const run = await runInNs(sandbox, ns, 'busybox', ['udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '5', '-T', '1', ...flag, '-s', s], 20_000);
    assert.equal(run.code, 0, run.output);
    const ip = readFileSync(lease, 'utf8').match(/^bound ip=(\S+)$/m)?.[1];
    assert.ok(inPool(ip ?? null), `${name}: bound ${ip}`);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    const seen = parseTcpdump(out);
    assert.deepEqual(seen.map((f) => f.type), ['Offer', 'ACK'], `${name}: ${out}${err}`);
    const expected = name === 'unicast' ? { ethDst: MACS.unicast, ipDst: ip } : { ethDst: 'ff:ff:ff:ff:ff:ff', ipDst: '255.255.255.255' };
    for (const f of seen) {
      assert.deepEqual({ ethDst: f.ethDst, ipDst: f.ipDst }, expected, `${name}: ${f.type} sent to ${f.ethDst} / ${f.ipDst}`);
      assert.ok(f.sumOk && !f.bad, `${name}: ${f.type} has valid IP and UDP checksums`);
    }
  }
});

test("our own survey probe (sent from the serving interface's MAC) gets no OFFER and leaves no history", async () => {
  const before = server.counters();
  const found = await surveyDhcp({ interface: 'br0', timeoutMs: 1500, socketFactory: createBoundUdpSocketFactory({ netns: serverNs }), mac: brMac });
  assert.deepEqual(found, [], 'nothing answered: our server ignores its own probe, and no other server is on this segment');
  assert.ok(server.counters().dropped >= before.dropped + 2, 'both probes (DISCOVER, then its repeat) reached our server and were dropped');
  assert.equal(log.of(brMac).length, 0, `no history entry for ${brMac}`);
});

test('with recvmmsg, sendmmsg and link-layer replies switched off (the fallbacks), udhcpc still gets a lease, its replies UDP broadcasts from the socket', async () => {
  await server.stop();
  server = createDhcpServer({
    interface: 'br0', ownMac: brMac, serverIp: SERVER_IP, subnetMask: '255.255.255.0', pool: { first: '10.231.0.100', last: '10.231.0.150' },
    routers: [SERVER_IP], leases: store, socketFactory: createBoundUdpSocketFactory({ netns: serverNs }), logger: silentLogger, events: log.sink,
    batchedReads: false, batchedSends: false, linkLayerReplies: false,
  });
  await server.start();
  const ns = clientNs.fallback;
  const cap = sandbox.spawn(ns, 'tcpdump', ['-nlevv', '-i', 'eth0', '-c', '2', 'udp src port 67']);
  let out = '', err = '';
  cap.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  cap.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((resolve) => cap.once('exit', () => resolve()));
  for (let waited = 0; !/listening on/.test(err) && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  const lease = join(dir, 'fallback.log');
  const s = script(join(dir, 'fallback.sh'), `echo "$1 ip=$ip" >> ${lease}`);
  const before = server.counters();
  const run = await runInNs(sandbox, ns, 'busybox', ['udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '5', '-T', '1', '-s', s], 20_000);
  assert.equal(run.code, 0, run.output);
  const ip = readFileSync(lease, 'utf8').match(/^bound ip=(\S+)$/m)?.[1] ?? null;
  assert.ok(inPool(ip), `bound ${ip}`);
  assert.equal(store.byMac(MACS.fallback)?.ip, ip, 'the lease is in the store');
  assert.ok(server.counters().received >= before.received + 2, 'DISCOVER and REQUEST reached the fallback server');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  const seen = parseTcpdump(out);
  assert.deepEqual(seen.map((f) => f.type), ['Offer', 'ACK'], out + err);
  for (const f of seen) {
    // without the packet socket a reply to a client without an address is the UDP broadcast RFC 2131 §4.1 allows
    // (no checksum check here: the kernel's UDP datagram crosses veth and bridge with its checksum left to offload,
    // so tcpdump in the client's namespace reads a partial one; udhcpc, which leased above, accepts it)
    assert.deepEqual({ ethDst: f.ethDst, ipDst: f.ipDst }, { ethDst: 'ff:ff:ff:ff:ff:ff', ipDst: '255.255.255.255' }, `${f.type} sent to ${f.ethDst} / ${f.ipDst}`);
  }
});
