// The BMC list's protocol badge (renderer/components/BmcStep.tsx): which protocol RackSeed drives each BMC with,
// and in its title what else answered, whether the engineer chose it, the Redfish version and the pinned certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { ProtocolBadge } from '../../renderer/components/BmcStep.tsx';
import type { BmcInfo } from '../../shared/api.ts';

const base: BmcInfo = {
  address: '10.242.0.12', ipmiVersion: null, authTypes: [], vendor: null, guid: null, nodeId: null, power: null, error: null, seenAt: 1,
  protocol: null, protocols: [], protocolChosen: false, macs: [], redfishVersion: null, tlsFingerprint: null, firmware: null,
};
const html = (b: Partial<BmcInfo>) => renderToStaticMarkup(createElement(ProtocolBadge, { b: { ...base, ...b } }));

test('a Redfish BMC that also answered IPMI, chosen by the engineer, with its pinned certificate', () => {
  const out = html({ protocol: 'redfish', protocols: ['ipmi', 'redfish'], protocolChosen: true, redfishVersion: '1.11.0', tlsFingerprint: 'AB:CD:EF' });
  assert.match(out, /^<span class="badge tone-ok" title="answered: IPMI, Redfish \(protocol chosen by you\)\nRedfish 1\.11\.0\ncertificate SHA-256 AB:CD:EF \(pinned on first use\)" aria-label="protocol Redfish">Redfish \+<\/span>$/);
});

test('an IPMI-only BMC; a BMC whose protocol is not known yet', () => {
  assert.equal(html({ protocol: 'ipmi', protocols: ['ipmi'] }), '<span class="badge" title="answered: IPMI" aria-label="protocol IPMI">IPMI</span>');
  assert.equal(html({}), '—');
});
