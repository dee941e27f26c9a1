// The "handed over and stopped" banner without a browser: its texts (lib/handover-stop.ts), the markup of the notice
// (components/HandoverStoppedBanner.tsx) and the action reading GET /api/v1/handoff/stop against a scripted fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { handoverStopBanner } from '../../renderer/lib/handover-stop.ts';
import { HandoverStoppedNotice } from '../../renderer/components/HandoverStoppedBanner.tsx';
import { ApiClient } from '../../renderer/api/client.ts';
import { initActions, loadHandoverStop } from '../../renderer/actions.ts';
import { createAppStore } from '../../renderer/store/store.ts';

const AT = Date.UTC(2026, 11, 5, 8, 30);

test('banner texts: when, what stays off, how many nodes engines own, how to serve again; nothing while serving', () => {
  assert.deepEqual(handoverStopBanner({ stoppedAt: AT, owned: 3 }, 'UTC'), {
    title: 'Handed over and stopped',
    detail: 'since 5 Dec 2026, 08:30: DHCP, proxyDHCP, TFTP and HTTP boot stay off, also after a restart — nothing of RackSeed answers on the provisioning NIC (3 nodes owned by engines).',
    howToStart: 'To serve again: Setup → Network → Apply network settings, or run rackseed services start.',
  });
  assert.match(handoverStopBanner({ stoppedAt: AT, owned: 1 }, 'UTC')!.detail, /\(1 node owned by engines\)/);
  assert.match(handoverStopBanner({ stoppedAt: AT, owned: null }, 'UTC')!.detail, /\(0 nodes owned by engines\)/);
  assert.equal(handoverStopBanner({ stoppedAt: null, owned: null }), null);
  assert.equal(handoverStopBanner(null), null, 'an unknown state shows nothing rather than a guess');
});

test('the notice: an alert named "Handed over and stopped" with the texts; no markup while serving', () => {
  const html = renderToStaticMarkup(createElement(HandoverStoppedNotice, { stop: { stoppedAt: AT, owned: 2 }, tz: 'UTC' }));
  assert.match(html, /^<div class="alert warn" role="status" aria-label="Handed over and stopped"><strong>Handed over and stopped<\/strong> since 5 Dec 2026, 08:30: DHCP, proxyDHCP, TFTP and HTTP boot stay off, also after a restart — nothing of RackSeed answers on the provisioning NIC \(2 nodes owned by engines\)\. To serve again: Setup → Network → Apply network settings, or run rackseed services start\.<\/div>$/);
  assert.equal(renderToStaticMarkup(createElement(HandoverStoppedNotice, { stop: { stoppedAt: null, owned: null } })), '');
});

test('loadHandoverStop reads GET /api/v1/handoff/stop; a failed read gives null', async () => {
  let answer: Response = new Response(JSON.stringify({ stoppedAt: AT, owned: 2 }), { status: 200 });
  const seen: string[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    seen.push(`${init.method} ${new URL(url).pathname}`);
    return answer;
  }) as unknown as typeof fetch;
  initActions(new ApiClient({ baseUrl: 'http://127.0.0.1:9', token: 't' }, fetchImpl), createAppStore());
  assert.deepEqual(await loadHandoverStop(), { stoppedAt: AT, owned: 2 });
  assert.deepEqual(seen, ['GET /api/v1/handoff/stop']);
  answer = new Response(JSON.stringify({ error: 'missing or wrong token' }), { status: 401 });
  assert.equal(await loadHandoverStop(), null);
});
