// The Redfish decoders (bmc/redfish: json.ts, resources.ts): what they read from real-shaped bodies, and each way
// a body can be wrong, with its own message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonBounded } from '../../bmc/redfish/json.ts';
import { RedfishDecodeError } from '../../bmc/redfish/errors.ts';
import {
  allowedResetTypes, bootOverrideBody, decodeActionInfo, decodeCollection, decodeComputerSystem, decodeErrorBody, decodeEthernetInterface,
  decodeManager, decodeServiceRoot, decodeTask,
} from '../../bmc/redfish/resources.ts';
import { ROOT, SYSTEM } from '../fixtures/redfish/bodies.ts';

function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => e instanceof RedfishDecodeError && re.test(e.message), `expected RedfishDecodeError matching ${re}`);
}

test('service root of a real-shaped BMC', () => {
  assert.deepEqual(decodeServiceRoot(ROOT), {
    redfishVersion: '1.11.0', uuid: '324f3333-c0c0-4580-3910-00514c4c4544', product: 'Integrated Dell Remote Access Controller', vendor: 'Dell',
    systems: '/redfish/v1/Systems', managers: '/redfish/v1/Managers', chassis: null, sessionService: '/redfish/v1/SessionService',
    sessions: '/redfish/v1/SessionService/Sessions',
  });
});

test('ComputerSystem: identity, power, boot, reset action; UUID lower-cased', () => {
  const s = decodeComputerSystem(SYSTEM);
  assert.equal(s.uuid, '4c4c4544-0051-3910-8057-b7c04f333233');
  assert.equal(s.serial, 'CN7016XYZ');
  assert.equal(s.model, 'PowerEdge R650');
  assert.equal(s.powerState, 'On');
  assert.deepEqual({ ...s.boot, allowedTargets: s.boot.allowedTargets?.length }, { target: 'None', enabled: 'Disabled', mode: 'UEFI', allowedTargets: 10 });
  assert.equal(s.reset.target, '/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset');
  assert.deepEqual(allowedResetTypes(s, null)?.slice(0, 3), ['On', 'ForceOff', 'ForceRestart']);
  assert.deepEqual(s.managedBy, ['/redfish/v1/Managers/iDRAC.Embedded.1']);
});

test('collections, EthernetInterface MACs, Manager firmware, Task, ActionInfo, error bodies', () => {
  assert.deepEqual(decodeCollection({ Members: [{ '@odata.id': '/redfish/v1/Systems/1' }], 'Members@odata.count': 1 }), { members: ['/redfish/v1/Systems/1'], count: 1 });
  assert.deepEqual(decodeEthernetInterface({ '@odata.id': '/x/1', Id: 'NIC.1', MACAddress: 'B0-7B-25-AA-BB-CC', PermanentMACAddress: '' }),
    { odataId: '/x/1', id: 'NIC.1', mac: 'b0:7b:25:aa:bb:cc', permanentMac: null });
  assert.equal(decodeManager({ '@odata.id': '/redfish/v1/Managers/1', Id: '1', FirmwareVersion: '6.10.30.00' }).firmwareVersion, '6.10.30.00');
  assert.deepEqual(decodeTask({ TaskState: 'Exception', PercentComplete: 100, Messages: [{ Message: 'job failed' }] }), { state: 'Exception', percent: 100, messages: ['job failed'] });
  assert.deepEqual(decodeActionInfo({ Parameters: [{ Name: 'ResetType', AllowableValues: ['On'] }] }), { parameters: [{ name: 'ResetType', allowableValues: ['On'] }] });
  assert.deepEqual(decodeErrorBody({ error: { code: 'Base.1.8.GeneralError', message: 'A general error', '@Message.ExtendedInfo': [{ Message: 'detail' }] } }),
    { code: 'Base.1.8.GeneralError', message: 'A general error', extended: ['detail'] });
  assert.equal(decodeErrorBody({ nothing: 1 }), null);
  assert.deepEqual(bootOverrideBody({ target: 'Pxe', enabled: 'Once', mode: 'UEFI' }), { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'UEFI' } });
});

test('bounded JSON: a body over the size cap', () => {
  rejects(() => parseJsonBounded('{"a":"' + 'x'.repeat(2000) + '"}', 'ComputerSystem', { maxBytes: 1000 }), /^ComputerSystem: body of 2008 bytes is larger than the 1000 bytes accepted$/);
});

test('bounded JSON: not JSON', () => {
  rejects(() => parseJsonBounded('{"Id": ', 'ComputerSystem'), /^ComputerSystem: not JSON \(/);
});

test('bounded JSON: an empty body', () => {
  rejects(() => parseJsonBounded('  ', 'Manager'), /^Manager: empty body where JSON was expected$/);
});

test('bounded JSON: nesting deeper than the cap', () => {
  rejects(() => parseJsonBounded('['.repeat(40) + ']'.repeat(40), 'Task'), /^Task: nested deeper than 32 levels$/);
});

test('bounded JSON: too many values', () => {
  rejects(() => parseJsonBounded(JSON.stringify(Array(50).fill(1)), 'Systems', { maxValues: 20 }), /^Systems: more than 20 JSON values$/);
});

test('service root without RedfishVersion', () => {
  rejects(() => decodeServiceRoot({ Name: 'web UI' }), /^service root \/RedfishVersion: missing: this is not a Redfish service root$/);
});

test('service root with a RedfishVersion that is not N.N.N', () => {
  rejects(() => decodeServiceRoot({ RedfishVersion: 'v1' }), /RedfishVersion: "v1" is not a Redfish version/);
});

test('a body that is an array, not an object', () => {
  rejects(() => decodeComputerSystem([1, 2]), /^ComputerSystem: expected an object, got an array$/);
});

test('a link to another host', () => {
  rejects(() => decodeCollection({ Members: [{ '@odata.id': 'https://evil.example/redfish/v1/Systems/1' }] }, 'Systems'), /Systems \/Members\/0\/@odata.id: link "https:\/\/evil.example.*" is not a path on this service/);
});

test('a protocol-relative link', () => {
  rejects(() => decodeServiceRoot({ ...ROOT, Systems: { '@odata.id': '//evil.example/x' } }), /\/Systems\/@odata.id: link "\/\/evil.example\/x" is not a path/);
});

test('a link that climbs with ..', () => {
  rejects(() => decodeCollection({ Members: [{ '@odata.id': '/redfish/v1/../../etc' }] }), /has characters a link may not have/);
});

test('a reset target that is not a path', () => {
  rejects(() => decodeComputerSystem({ ...SYSTEM, Actions: { '#ComputerSystem.Reset': { target: 'http://x/reset' } } }), /\/Actions\/#ComputerSystem.Reset\/target: link .* is not a path/);
});

test('a UUID that is not one', () => {
  rejects(() => decodeComputerSystem({ ...SYSTEM, UUID: '1234' }), /^ComputerSystem \/UUID: "1234" is not a UUID$/);
});

test('a MAC that is not one', () => {
  rejects(() => decodeEthernetInterface({ '@odata.id': '/x', Id: '1', MACAddress: '52:54:00:zz:00:01' }), /\/MACAddress: "52:54:00:zz:00:01" is not a MAC address/);
});

test('a string where a number belongs', () => {
  rejects(() => decodeTask({ TaskState: 'Running', PercentComplete: '50' }), /^Task \/PercentComplete: expected a number, got string$/);
});

test('a percentage out of range', () => {
  rejects(() => decodeTask({ PercentComplete: 250 }), /PercentComplete: 250 is not a percentage/);
});

test('an unknown TaskState', () => {
  rejects(() => decodeTask({ TaskState: 'Sleeping' }), /\/TaskState: "Sleeping" is not one of New, /);
});

test('an unknown BootSourceOverrideEnabled', () => {
  rejects(() => decodeComputerSystem({ ...SYSTEM, Boot: { BootSourceOverrideEnabled: 'Sometimes' } }), /\/Boot\/BootSourceOverrideEnabled: "Sometimes" is not one of Disabled, Once, Continuous/);
});

test('AllowableValues that are not strings', () => {
  rejects(() => decodeComputerSystem({ ...SYSTEM, Actions: { '#ComputerSystem.Reset': { target: '/r', 'ResetType@Redfish.AllowableValues': ['On', 7] } } }), /ResetType@Redfish.AllowableValues\/1: expected a string, got number/);
});

test('a collection without Members', () => {
  rejects(() => decodeCollection({ Name: 'Systems' }, 'Systems'), /^Systems \/Members: missing$/);
});

test('a member count that is not a count', () => {
  rejects(() => decodeCollection({ Members: [], 'Members@odata.count': -1 }), /Members@odata.count: -1 is not a count/);
});

test('a ComputerSystem without Id', () => {
  const { Id: _id, ...rest } = SYSTEM;
  rejects(() => decodeComputerSystem(rest), /^ComputerSystem \/Id: missing$/);
});

test('an over-long string field', () => {
  rejects(() => decodeComputerSystem({ ...SYSTEM, SerialNumber: 'x'.repeat(5000) }), /\/SerialNumber: string of 5000 characters \(at most 1024\)/);
});

test('an unknown PowerState is read as unknown (null), never as on or off', () => {
  assert.equal(decodeComputerSystem({ ...SYSTEM, PowerState: 'Humming' }).powerState, null);
});
