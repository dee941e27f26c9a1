// The IPC surface of the desktop shell (electron/ipc-contract.ts): unknown channels and malformed arguments
// are refused, well-formed calls accepted, and only frames from the daemon's origin are trusted. Pure: runs
// without the Electron binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  contentSecurityPolicy, IPC_CHANNELS, isIpcChannel, isTrustedSender, validateInvoke,
} from '../../electron/ipc-contract.ts';

const okExport = { suggestedName: 'inventory.csv', format: 'csv', content: 'mac,serial\n52:54:00:00:00:01,S1\n' };

test('unknown channels are refused', () => {
  for (const ch of ['rackseed:exec', 'rackseed:get-connection ', 'RACKSEED:GET-CONNECTION', '', 'get-connection', '__proto__', 'toString',
    'constructor', 'rackseed:get-connection\0', null, undefined, 42, {}, ['rackseed:get-connection']]) {
    const r = validateInvoke(ch, []);
    assert.equal(r.ok, false, `channel ${JSON.stringify(ch)}`);
    assert.match((r as { reason: string }).reason, /unknown IPC channel/);
  }
  fc.assert(fc.property(fc.string(), (s) => {
    const r = validateInvoke(s, []);
    return r.ok === Object.values(IPC_CHANNELS).includes(s as never);
  }));
});

test('well-formed calls are accepted with copied, typed arguments', () => {
  const c = validateInvoke(IPC_CHANNELS.getConnection, []);
  assert.deepEqual(c, { ok: true, channel: 'rackseed:get-connection', args: [] });
  assert.deepEqual(validateInvoke(IPC_CHANNELS.getAppInfo, []), { ok: true, channel: 'rackseed:get-app-info', args: [] });
  const e = validateInvoke(IPC_CHANNELS.saveExport, [okExport]);
  assert.equal(e.ok, true);
  if (e.ok && e.channel === 'rackseed:save-export') {
    assert.deepEqual(e.args[0], okExport);
    assert.notEqual(e.args[0], okExport, 'a copy, not the caller object');
  }
  assert.equal(validateInvoke(IPC_CHANNELS.saveExport, [{ ...okExport, format: 'json', suggestedName: 'nodes.json' }]).ok, true);
  for (const ch of Object.values(IPC_CHANNELS)) assert.equal(isIpcChannel(ch), true);
});

test('malformed arguments are refused with a reason', () => {
  const bad: [string, unknown[]][] = [
    [IPC_CHANNELS.getConnection, ['extra']],
    [IPC_CHANNELS.getAppInfo, [undefined]],
    [IPC_CHANNELS.saveExport, []],
    [IPC_CHANNELS.saveExport, [okExport, okExport]],
    [IPC_CHANNELS.saveExport, [null]],
    [IPC_CHANNELS.saveExport, ['inventory.csv']],
    [IPC_CHANNELS.saveExport, [[okExport]]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, suggestedName: '../../.bashrc' }]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, suggestedName: '/etc/passwd' }]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, suggestedName: 'C:\\x.csv' }]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, suggestedName: '' }]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, suggestedName: '..' }]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, suggestedName: 'a\nb.csv' }]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, suggestedName: 'x'.repeat(129) }]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, format: 'exe' }]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, content: 42 }]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, content: 'x'.repeat(16 * 1024 * 1024 + 1) }]],
    [IPC_CHANNELS.saveExport, [{ ...okExport, path: '/tmp/x' }]],
    [IPC_CHANNELS.saveExport, [{ suggestedName: 'a.csv', format: 'csv' }]],
    [IPC_CHANNELS.saveExport, [Object.assign(Object.create({ polluted: true }), okExport)]],
    [IPC_CHANNELS.saveExport, [new Map(Object.entries(okExport))]],
  ];
  for (const [ch, args] of bad) {
    const r = validateInvoke(ch, args);
    assert.equal(r.ok, false, `${ch} ${JSON.stringify(args).slice(0, 80)}`);
    assert.equal(typeof (r as { reason: string }).reason, 'string');
  }
});

test('the validator never throws and accepts only well-shaped exports (property)', () => {
  fc.assert(fc.property(fc.constantFrom(...Object.values(IPC_CHANNELS)), fc.array(fc.anything(), { maxLength: 3 }), (ch, args) => {
    const r = validateInvoke(ch, args);
    if (!r.ok) return typeof r.reason === 'string';
    if (r.channel !== 'rackseed:save-export') return args.length === 0;
    const [x] = r.args;
    return args.length === 1 && typeof x.content === 'string' && (x.format === 'csv' || x.format === 'json') && !/[/\\]/.test(x.suggestedName);
  }), { numRuns: 2000 });
});

test('only frames from the daemon origin are trusted senders', () => {
  const daemon = 'http://127.0.0.1:43117';
  assert.equal(isTrustedSender('http://127.0.0.1:43117/', daemon), true);
  assert.equal(isTrustedSender('http://127.0.0.1:43117/#/fleet/abc', daemon), true);
  for (const url of ['http://127.0.0.1:43118/', 'http://localhost:43117/', 'https://127.0.0.1:43117/', 'file:///tmp/index.html',
    'http://evil.example/', 'about:blank', 'data:text/html,hi', 'javascript:alert(1)', '', null, undefined, 'not a url']) {
    assert.equal(isTrustedSender(url, daemon), false, String(url));
  }
});

test('the CSP allows only the daemon origin and forbids framing, objects and inline script', () => {
  const csp = contentSecurityPolicy();
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /object-src 'none'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
});
