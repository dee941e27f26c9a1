// The netboot event sink: DHCP events carry a MAC; TFTP/HTTP events carry only the client address, resolved
// through the DHCP leases (ipToMac) or the node store; a DHCP ACK records the node's address. Events reach
// WebSocket subscribers through the bus; a throwing subscriber does not stop the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { createNetbootSink } from '../../core/netboot-sink.ts';
import type { StreamMessage } from '../../shared/api.ts';

test('netboot sink: ip → mac through leases then nodes; ACK sets the node ip; unknown clients kept as global events', () => {
  const core = new Core({ dataDir: null, logger: pino({ level: 'silent' }) });
  const n = core.nodes.create('52:54:00:00:02:01', 'discovered');
  const leases = new Map([['10.230.0.77', '52:54:00:00:02:01']]);
  const sink = createNetbootSink(core, (ip) => leases.get(ip) ?? null);
  const got: StreamMessage[] = [];
  core.bus.subscribe(() => { throw new Error('a broken subscriber'); });
  core.bus.subscribe((m) => got.push(m));

  sink({ source: 'dhcp', kind: 'ack', mac: '52-54-00-00-02-01', ip: '10.230.0.88', message: 'DHCPACK', detail: { xid: 1 } });
  assert.equal(core.nodes.get(n.id)!.ip, '10.230.0.88');
  sink({ source: 'tftp', kind: 'rrq-done', mac: null, ip: '10.230.0.77', message: 'undionly.kpxe sent' });
  sink({ source: 'http', kind: 'script', mac: null, ip: '10.230.0.88', message: 'boot script' });
  sink({ source: 'http', kind: 'download', mac: null, ip: '10.230.0.99', message: 'stranger', level: 'warn' });

  const mine = core.events.query({ mac: n.mac });
  assert.deepEqual(mine.map((e) => `${e.source}:${e.kind}`), ['dhcp:ack', 'tftp:rrq-done', 'http:script']);
  assert.ok(mine.every((e) => e.nodeId === n.id));
  assert.deepEqual(mine[0]!.detail, { xid: 1, ip: '10.230.0.88' });
  const stranger = core.events.query({}).at(-1)!;
  assert.equal(stranger.mac, null);
  assert.equal(stranger.level, 'warn');
  assert.deepEqual(got.filter((m) => m.type === 'event').map((m) => (m.payload as { kind: string }).kind), ['ack', 'rrq-done', 'script', 'download']);
  assert.ok(got.some((m) => m.type === 'node' && m.payload.ip === '10.230.0.88'), 'node update broadcast');
  core.close();
});

test('netboot sink in proxy mode (no leases): ip → mac from the proxy 4011 request, never from a /boot.ipxe?mac= request', () => {
  const core = new Core({ dataDir: null, logger: pino({ level: 'silent' }) });
  const a = core.nodes.create('52:54:00:00:03:01', 'discovered');
  const b = core.nodes.create('52:54:00:00:03:02', 'discovered');
  const sink = createNetbootSink(core); // proxy mode: no lease store

  // a: OVMF's PXE client — proxy 4011 REQUEST (ciaddr from the site DHCP), then TFTP, then iPXE's HTTP script
  sink({ source: 'dhcp', kind: 'proxy-discover', mac: a.mac, ip: '10.230.0.60', message: 'DISCOVER (stale option 50)' });
  sink({ source: 'dhcp', kind: 'proxy-request', mac: a.mac, ip: '10.230.0.51', message: 'REQUEST on 4011', detail: { ciaddr: '10.230.0.51' } });
  sink({ source: 'tftp', kind: 'rrq-done', mac: null, ip: '10.230.0.51', message: 'ipxe.efi sent' });
  sink({ source: 'http', kind: 'script', mac: null, ip: '10.230.0.51', message: 'boot script', detail: { mac: a.mac, status: 200 } });
  // b: its proxyDHCP request, then its script request (mac in the URL), then a download from the same address
  sink({ source: 'dhcp', kind: 'proxy-request', mac: b.mac, ip: '10.230.0.52', message: 'REQUEST on 4011', detail: { ciaddr: '10.230.0.52' } });
  sink({ source: 'http', kind: 'script', mac: null, ip: '10.230.0.52', message: 'boot script', detail: { mac: '52-54-00-00-03-02', status: 200 } });
  // anyone on the segment may ask for b's script: that maps neither the asker's address to b nor moves b (issue 19)
  sink({ source: 'http', kind: 'script', mac: null, ip: '10.230.0.70', message: 'boot script', detail: { mac: b.mac, status: 200 } });
  assert.equal(core.addresses.get('10.230.0.70'), null);
  assert.equal(core.nodes.get(b.id)!.ip, '10.230.0.52');
  sink({ source: 'http', kind: 'download', mac: null, ip: '10.230.0.52', message: 'GET /files/vmlinuz' });
  // a DECLINE names an address the client refuses: never mapped; the stale DISCOVER address neither
  sink({ source: 'dhcp', kind: 'proxy-decline', mac: b.mac, ip: '10.230.0.51', message: 'DECLINE' });
  sink({ source: 'tftp', kind: 'rrq', mac: null, ip: '10.230.0.60', message: 'who?' });

  assert.deepEqual(core.events.query({ mac: a.mac }).map((e) => `${e.source}:${e.kind}`),
    ['dhcp:proxy-discover', 'dhcp:proxy-request', 'tftp:rrq-done', 'http:script']);
  assert.deepEqual(core.events.query({ mac: b.mac }).map((e) => `${e.source}:${e.kind}`), ['dhcp:proxy-request', 'http:script', 'http:script', 'http:download', 'dhcp:proxy-decline']);
  assert.equal(core.addresses.get('10.230.0.51'), a.mac);
  assert.equal(core.addresses.get('10.230.0.60'), null);
  assert.equal(core.events.query({}).at(-1)!.mac, null, 'an address seen only in a DISCOVER stays unresolved');
  // the boot policy resolves a script request without ?mac= through the same map
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, ramdisk: null };
  assert.match(core.policy.scriptFor({ mac: null, ip: '10.230.0.52' }), /boot\.ipxe\?mac=52:54:00:00:03:02/);
  core.close();
});

test('netboot sink in proxy mode: the address a node is bound to is kept in its record, so events after a restart still find it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-sink-proxy-'));
  try {
    let core = new Core({ dataDir: dir, logger: pino({ level: 'silent' }) });
    const a = core.nodes.create('52:54:00:00:04:01', 'discovered');
    const b = core.nodes.create('52:54:00:00:04:02', 'discovered');
    const c = core.nodes.create('52:54:00:00:04:03', 'discovered');
    let sink = createNetbootSink(core); // proxy mode: no lease store
    // a: the 4011 REQUEST of a client bound to 10.230.1.51 (ciaddr) → a's address
    sink({ source: 'dhcp', kind: 'proxy-ack', mac: a.mac, ip: '10.230.1.51', message: 'REQUEST on 4011 → ACK', detail: { ciaddr: '10.230.1.51' } });
    // b: its proxyDHCP INFORM (ciaddr) → b's address; a script request naming b's MAC from elsewhere moves nothing
    sink({ source: 'dhcp', kind: 'proxy-inform', mac: b.mac, ip: '10.230.1.52', message: 'INFORM on 4011', detail: { ciaddr: '10.230.1.52' } });
    sink({ source: 'http', kind: 'script', mac: null, ip: '10.230.1.70', message: 'boot script', detail: { mac: b.mac, status: 200 } });
    // c: a DISCOVER's stale option 50 and a RELEASE (ciaddr, but given up) are not c's address
    sink({ source: 'dhcp', kind: 'proxy-discover', mac: c.mac, ip: '10.230.1.60', message: 'DISCOVER' });
    sink({ source: 'dhcp', kind: 'proxy-release', mac: c.mac, ip: '10.230.1.61', message: 'RELEASE', detail: { ciaddr: '10.230.1.61' } });
    assert.equal(core.nodes.get(a.id)!.ip, '10.230.1.51');
    assert.equal(core.nodes.get(b.id)!.ip, '10.230.1.52');
    assert.equal(core.nodes.get(c.id)!.ip, null);
    core.close();

    // restarted: the in-memory address map is empty, the node store is not
    core = new Core({ dataDir: dir, logger: pino({ level: 'silent' }) });
    assert.equal(core.addresses.size, 0);
    sink = createNetbootSink(core);
    sink({ source: 'tftp', kind: 'rrq-done', mac: null, ip: '10.230.1.51', message: 'ipxe.efi sent' });
    sink({ source: 'http', kind: 'download', mac: null, ip: '10.230.1.52', message: 'GET /files/vmlinuz' });
    sink({ source: 'tftp', kind: 'rrq', mac: null, ip: '10.230.1.61', message: 'who?' });
    assert.deepEqual(core.events.query({ mac: a.mac }).map((e) => `${e.source}:${e.kind}`), ['dhcp:proxy-ack', 'tftp:rrq-done']);
    assert.deepEqual(core.events.query({ mac: b.mac }).map((e) => `${e.source}:${e.kind}`), ['dhcp:proxy-inform', 'http:script', 'http:download']);
    assert.equal(core.events.query({}).at(-1)!.mac, null, 'a released address is not attributed');
    core.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
