// Lifecycle table, BMC GUID matching, boot policy and agent intake, over an in-memory core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { canTransition, IllegalTransitionError, TRANSITIONS } from '../../core/lifecycle.ts';
import { NODE_STATES } from '../../shared/node.ts';
import { guidsMatch, normalizeGuid, swapGuidFields } from '../../core/guid.ts';
import { hashToken } from '../../core/ids.ts';
import { dhcpExchange } from '../helpers/dhcp-exchange.ts';
import { inventoryFor } from './core-inventory-fixture.ts';
import type { BootRequest } from '../../netboot/boot-policy.ts';

const log = pino({ level: 'silent' });

test('transition table: every state appears, a failed state always reachable from working states, illegal moves refused', () => {
  for (const s of NODE_STATES) assert.ok(TRANSITIONS.some((t) => t.from === s || t.to === s), s);
  for (const [s, failed] of [['inspecting', 'error'], ['deploying', 'deploy-failed'], ['cleaning', 'clean-failed']] as const) assert.ok(canTransition(s, failed, 'crash-recovery'));
  assert.ok(!canTransition('discovered', 'active', 'manual'));
  const core = new Core({ dataDir: null, logger: log });
  const n = core.nodes.create('52:54:00:00:00:10', 'discovered');
  assert.throws(() => core.lifecycle.transition(n.id, 'active', 'deploy-done'), IllegalTransitionError);
  assert.equal(core.nodes.get(n.id)!.state, 'discovered');
  assert.throws(() => core.lifecycle.transition(n.id, 'error', 'job-failed'), /needs a reason/);
  core.lifecycle.transition(n.id, 'inspecting', 'inspect-start');
  core.lifecycle.transition(n.id, 'error', 'job-failed', 'BMC unreachable');
  const e = core.nodes.get(n.id)!;
  assert.equal(e.state, 'error');
  assert.equal(e.lastError, 'BMC unreachable');
  core.lifecycle.transition(n.id, 'inspecting', 'inspect-start');
  assert.equal(core.nodes.get(n.id)!.lastError, null);
  const states = core.events.query({ nodeId: n.id }).filter((x) => x.kind === 'state').map((x) => x.detail);
  assert.deepEqual(states.map((d) => [d!.from, d!.to, d!.cause]), [
    ['discovered', 'inspecting', 'inspect-start'], ['inspecting', 'error', 'job-failed'], ['error', 'inspecting', 'inspect-start'],
  ]);
  core.close();
});

test('GUID matching: case-insensitive, both byte orders, zero GUIDs never match', () => {
  const g = '4c4c4544-0033-4410-8051-b4c04f4e3132';
  assert.equal(normalizeGuid('{4C4C4544-0033-4410-8051-B4C04F4E3132}'), g);
  assert.equal(swapGuidFields(g), '44454c4c-3300-1044-8051-b4c04f4e3132');
  assert.equal(swapGuidFields(swapGuidFields(g)), g);
  assert.ok(guidsMatch(g, g.toUpperCase()));
  assert.ok(guidsMatch(g, '44454c4c-3300-1044-8051-b4c04f4e3132'));
  assert.ok(guidsMatch('44454C4C330010448051B4C04F4E3132', g));
  assert.ok(!guidsMatch(g, '4c4c4544-0033-4410-8051-b4c04f4e3133'));
  assert.ok(!guidsMatch('00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000'));
  assert.ok(!guidsMatch(null, g));
  assert.ok(!guidsMatch('nonsense', g));
});

const pxe = (mac: string, over: Partial<BootRequest> = {}): BootRequest => ({ mac, arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', userClass: null, uuid: null, interface: 'br0', ...over });

test('boot policy: unknown client discovered and booted; iPXE gets the script; safe mode only lists it as seen; available boots disk', () => {
  const core = new Core({ dataDir: null, logger: log });
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, admission: 'open', ramdisk: { kernelPath: '/files/vmlinuz', initrdPath: '/files/initrd.img' } };
  const bios = core.policy.dhcpBoot(pxe('52:54:00:00:00:20'));
  assert.deepEqual(bios, { nextServer: '10.230.0.1', bootFile: 'undionly.kpxe', vendorClass: null });
  const n = core.nodes.getByMac('52:54:00:00:00:20')!;
  assert.equal(n.state, 'discovered');
  assert.equal(n.firmware, 'bios');
  assert.deepEqual(core.policy.dhcpBoot(pxe('52:54:00:00:00:21', { arch: 7 })), { nextServer: '10.230.0.1', bootFile: 'ipxe.efi', vendorClass: null });
  assert.deepEqual(core.policy.dhcpBoot(pxe('52:54:00:00:00:20', { userClass: 'iPXE' })), { nextServer: null, bootFile: 'http://10.230.0.1:8080/boot.ipxe?mac=52:54:00:00:00:20', vendorClass: null });
  assert.deepEqual(core.policy.dhcpBoot(pxe('52:54:00:00:00:22', { arch: 16, vendorClass: 'HTTPClient:Arch:00016' })), { nextServer: null, bootFile: 'http://10.230.0.1:8080/ipxe/ipxe.efi', vendorClass: 'HTTPClient' });
  assert.equal(core.policy.dhcpBoot(pxe('52:54:00:00:00:23', { arch: 11 })), null, 'no arm64 binary bundled');

  core.bootSettings = { ...core.bootSettings, safeMode: true };
  assert.equal(core.policy.dhcpBoot(pxe('52:54:00:00:00:99')), null);
  assert.equal(core.nodes.getByMac('52:54:00:00:00:99')?.state, 'seen', 'safe mode lists it as seen and boots nothing');
  assert.ok(core.policy.dhcpBoot(pxe('52:54:00:00:00:20')), 'known nodes still boot in safe mode');
  assert.match(core.policy.scriptFor({ mac: '52:54:00:00:00:98', ip: null }), /exit 0/);

  core.lifecycle.transition(n.id, 'available', 'inventory');
  assert.equal(core.policy.dhcpBoot(pxe(n.mac)), null);
  assert.match(core.policy.scriptFor({ mac: n.mac, ip: '10.230.0.50' }), /^#!ipxe\necho RackSeed: node .* is available; booting from local disk\nsanboot --no-describe --drive 0x80 \|\| exit 0\n$/);
  core.close();
});

test('boot policy: discovery script carries kernel, initrd and a fresh per-node token that only hashes are stored of', () => {
  const core = new Core({ dataDir: null, logger: log });
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 80, safeMode: false, admission: 'open', ramdisk: { kernelPath: '/files/vmlinuz', initrdPath: '/files/initrd.img' } };
  dhcpExchange(core, '52:54:00:00:00:30', '10.230.0.51');
  const s1 = core.policy.scriptFor({ mac: '52-54-00-00-00-30', ip: '10.230.0.51' });
  const n = core.nodes.getByMac('52:54:00:00:00:30')!;
  assert.equal(n.ip, '10.230.0.51');
  const token = /rackseed\.token=(\S+)/.exec(s1)![1]!;
  assert.equal(s1, [
    '#!ipxe',
    `echo RackSeed: discovery ramdisk for node ${n.id} (52:54:00:00:00:30)`,
    `kernel http://10.230.0.1/files/vmlinuz initrd=initrd.img console=tty0 console=ttyS0,115200n8 loglevel=5 rackseed.url=http://10.230.0.1 rackseed.token=${token} rackseed.node=${n.id} rackseed.mac=52:54:00:00:00:30 || goto retry`,
    'initrd --name initrd.img http://10.230.0.1/files/initrd.img || goto retry',
    'boot || goto retry',
    ':retry',
    'echo RackSeed: boot failed, retrying in 5 s',
    'sleep 5',
    'chain --replace http://10.230.0.1/boot.ipxe?mac=52:54:00:00:00:30 || reboot',
    '',
  ].join('\n'));
  assert.equal(core.intake.tokens.grantOf(token)?.nodeId, n.id);
  assert.ok(core.db.prepare('SELECT hash FROM agent_tokens WHERE hash = ?').get(hashToken(token)), 'its hash is stored');
  assert.ok(!JSON.stringify(core.db.prepare('SELECT * FROM agent_tokens').all()).includes(token), 'only the hash is stored');
  assert.ok(!JSON.stringify(core.events.query({})).includes(token), 'token never in events');
  // resolution by client address when no ?mac=
  const s2 = core.policy.scriptFor({ mac: null, ip: '10.230.0.51' });
  assert.match(core.policy.scriptFor({ mac: n.mac, ip: '10.230.0.99' }), /does not hold the DHCP lease/, 'another address gets no token');
  assert.match(s2, /rackseed\.node=/);
  const token2 = /rackseed\.token=(\S+)/.exec(s2)![1]!;
  assert.notEqual(token2, token);
  assert.equal(core.intake.authenticate(`Bearer ${token}`, '10.230.0.51', 'report').ok, false, 'an older token is replaced');
  assert.equal(core.intake.authenticate(`Bearer ${token2}`, '10.230.0.51', 'report').ok, true);
  // no ramdisk built → wait script, node untouched
  core.bootSettings = { ...core.bootSettings, ramdisk: null };
  assert.match(core.policy.scriptFor({ mac: n.mac, ip: '10.230.0.51' }), /sleep 10/);
  core.close();
});

test('boot policy, biosIpxe "bundled": the discovery script first chains our TFTP undionly.kpxe on BIOS iPXEs that are not it', () => {
  const core = new Core({ dataDir: null, logger: log });
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, admission: 'open', ramdisk: { kernelPath: '/files/vmlinuz', initrdPath: '/files/initrd.img' }, biosIpxe: 'bundled' };
  dhcpExchange(core, '52:54:00:00:00:31', '10.230.0.52');
  const s = core.policy.scriptFor({ mac: '52:54:00:00:00:31', ip: '10.230.0.52' });
  const n = core.nodes.getByMac('52:54:00:00:00:31')!;
  const token = /rackseed\.token=(\S+)/.exec(s)![1]!;
  assert.equal(s, [
    '#!ipxe',
    'iseq ${platform} pcbios || goto discovery',
    'iseq ${netX/chip} undionly || goto discovery-bundled',
    'goto discovery',
    ':discovery-bundled',
    'echo RackSeed: chaining the bundled tftp://10.230.0.1/undionly.kpxe (this iPXE drives ${netX/chip})',
    'chain --autofree tftp://10.230.0.1/undionly.kpxe || goto discovery',
    ':discovery',
    `echo RackSeed: discovery ramdisk for node ${n.id} (52:54:00:00:00:31)`,
    `kernel http://10.230.0.1:8080/files/vmlinuz initrd=initrd.img console=tty0 console=ttyS0,115200n8 loglevel=5 rackseed.url=http://10.230.0.1:8080 rackseed.token=${token} rackseed.node=${n.id} rackseed.mac=52:54:00:00:00:31 || goto retry`,
    'initrd --name initrd.img http://10.230.0.1:8080/files/initrd.img || goto retry',
    'boot || goto retry',
    ':retry',
    'echo RackSeed: boot failed, retrying in 5 s',
    'sleep 5',
    'chain --replace http://10.230.0.1:8080/boot.ipxe?mac=52:54:00:00:00:31 || reboot',
    '',
  ].join('\n'));
  // "rom" (and absent) keeps the script without the chain lines; the wait script never carries them
  core.bootSettings = { ...core.bootSettings, biosIpxe: 'rom' };
  assert.match(core.policy.scriptFor({ mac: n.mac, ip: '10.230.0.52' }), /^#!ipxe\necho RackSeed: discovery ramdisk/);
  core.bootSettings = { ...core.bootSettings, biosIpxe: 'bundled', ramdisk: null };
  assert.doesNotMatch(core.policy.scriptFor({ mac: n.mac, ip: '10.230.0.52' }), /undionly/);
  core.close();
});

test('agent intake: valid inventory stores summary, moves the node to available, matches its BMC by GUID (swapped order)', () => {
  const core = new Core({ dataDir: null, logger: log });
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 80, safeMode: false, admission: 'open', ramdisk: { kernelPath: '/k', initrdPath: '/i' } };
  core.bmcs.upsert('10.231.0.11', { guid: '44454c4c-3300-1044-8051-b4c04f4e3132' });
  dhcpExchange(core, '52:54:00:00:00:40', '10.230.0.50');
  const script = core.policy.scriptFor({ mac: '52:54:00:00:00:40', ip: '10.230.0.50' });
  const token = /rackseed\.token=(\S+)/.exec(script)![1]!;
  const auth = core.intake.authenticate(`Bearer ${token}`, '10.230.0.50', 'report');
  assert.ok(auth.ok);
  const node = auth.node;
  const r = core.intake.acceptInventory(node, inventoryFor(node.mac, node.id, '4c4c4544-0033-4410-8051-b4c04f4e3132', 'SER-40'), '10.230.0.60');
  assert.equal(r.status, 200);
  const n = core.nodes.get(node.id)!;
  assert.equal(n.state, 'available');
  assert.equal(n.serial, 'SER-40');
  assert.equal(n.firmware, 'uefi');
  assert.equal(n.diskGiB, 8);
  assert.equal(n.memoryMiB, 512);
  assert.equal(n.ip, '10.230.0.50');
  assert.deepEqual(n.bmc, { address: '10.231.0.11', guid: '44454c4c-3300-1044-8051-b4c04f4e3132', vendor: null, matchedBy: 'guid' });
  assert.equal(core.bmcs.get('10.231.0.11')!.nodeId, node.id);
  // RackSeed did not power this machine on (no job): it is left running, never told to power off
  assert.deepEqual(core.intake.next(n), { action: 'wait', seconds: 60 });
  assert.ok(core.events.query({ nodeId: n.id }).some((e) => e.kind === 'left-running'));
  core.nodes.update(n.id, { poweredOnByRackSeed: true });
  assert.deepEqual(core.intake.next(core.nodes.get(n.id)!), { action: 'poweroff' }, 'a machine a RackSeed job powered on is');
  core.close();
});

test('agent intake: wrong tokens and bodies are refused before anything changes', () => {
  const core = new Core({ dataDir: null, logger: log });
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 80, safeMode: false, admission: 'open', ramdisk: { kernelPath: '/k', initrdPath: '/i' } };
  dhcpExchange(core, '52:54:00:00:00:41', '10.230.0.41');
  dhcpExchange(core, '52:54:00:00:00:42', '10.230.0.42');
  const tokA = /rackseed\.token=(\S+)/.exec(core.policy.scriptFor({ mac: '52:54:00:00:00:41', ip: '10.230.0.41' }))![1]!;
  core.policy.scriptFor({ mac: '52:54:00:00:00:42', ip: '10.230.0.42' });
  const a = core.nodes.getByMac('52:54:00:00:00:41')!;
  const b = core.nodes.getByMac('52:54:00:00:00:42')!;
  const before = JSON.stringify([core.nodes.list(), core.events.query({})]);
  for (const h of [undefined, '', 'Bearer', 'Basic abc', `Bearer ${'x'.repeat(43)}`, `Bearer ${tokA}x`]) assert.equal(core.intake.authenticate(h, '10.230.0.41', 'report').ok, false, String(h));
  const authA = core.intake.authenticate(`Bearer ${tokA}`, '10.230.0.41', 'report');
  assert.ok(authA.ok);
  // A's token, claiming to be B
  assert.equal(core.intake.acceptInventory(authA.node, inventoryFor(b.mac, b.id, '11111111-2222-3333-4444-555555555555'), null).status, 403);
  assert.equal(core.intake.acceptInventory(authA.node, inventoryFor(b.mac, null, '11111111-2222-3333-4444-555555555555'), null).status, 403);
  // schema violations
  assert.equal(core.intake.acceptInventory(authA.node, { schemaVersion: 1 }, null).status, 400);
  assert.equal(core.intake.acceptInventory(authA.node, { ...inventoryFor(a.mac, a.id, 'u'), extra: 1 }, null).status, 400);
  assert.equal(core.intake.acceptInventory(authA.node, 'not an object', null).status, 400);
  assert.equal(JSON.stringify([core.nodes.list(), core.events.query({})]), before);
  core.close();
});
