// Tooltips of the Services panel's counters (renderer/lib/counter-hints.ts): every counter the servers report
// has one, so a field engineer can tell what "dropped" means without reading the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counterHint } from '../../renderer/lib/counter-hints.ts';
import { COUNTER_NAMES } from '../../netboot/dhcp/server/counters.ts';

test('every DHCP/proxyDHCP counter the server reports has a hint; dropped names our own survey probes', () => {
  for (const svc of ['dhcp', 'proxy'] as const) {
    for (const name of COUNTER_NAMES) assert.ok(counterHint(svc, name), `${svc}.${name} has a hint`);
  }
  assert.match(counterHint('dhcp', 'dropped')!, /own foreign-DHCP survey probes/);
});

test('every TFTP counter and the HTTP tallies have a hint; unknown names have none', () => {
  for (const name of ['rrq', 'done', 'errors', 'aborted', 'bytes', 'dropped', 'active']) assert.ok(counterHint('tftp', name), `tftp.${name}`);
  for (const name of ['scripts', 'downloads']) assert.ok(counterHint('http', name), `http.${name}`);
  assert.equal(counterHint('tftp', 'constructor'), undefined, 'no inherited properties');
  assert.equal(counterHint('http', 'nope'), undefined);
});
