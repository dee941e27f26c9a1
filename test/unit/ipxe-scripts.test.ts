// iPXE script templates: whole rendered output compared, and unsafe parameters refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  renderChainSelfScript, renderKernelBootScript, renderLocalDiskScript, renderNothingForYouScript,
} from '../../src/netboot/http/scripts/index.ts';

test('chain-self asks iPXE for mac, uuid, serial, platform, arch and chip', () => {
  assert.equal(renderChainSelfScript({ bootUrl: 'http://10.232.0.1:8080/boot.ipxe', retrySeconds: 5 }), [
    '#!ipxe',
    ':again',
    'chain --autofree http://10.232.0.1:8080/boot.ipxe?mac=${netX/mac}&uuid=${uuid}&serial=${serial:uristring}&platform=${platform}&arch=${buildarch}&chip=${netX/chip} || goto failed',
    ':failed',
    'echo RackSeed: boot script request failed, retrying in 5 s',
    'sleep 5',
    'goto again',
    '',
  ].join('\n'));
});

test('kernel boot: kernel with initrd names, args, token and callback; initrds; retry on failure', () => {
  assert.equal(renderKernelBootScript({
    message: 'discovery boot for 52:54:00:12:34:56',
    kernelUrl: 'http://10.232.0.1:8080/files/discovery/vmlinuz',
    initrdUrls: ['http://10.232.0.1:8080/files/discovery/initrd.gz'],
    kernelArgs: ['console=ttyS0,115200', 'quiet'],
    token: '9f86d081884c7d65',
    callbackUrl: 'http://10.232.0.1:8080/agent/v1',
    retrySeconds: 10,
    retryUrl: 'http://10.232.0.1:8080/boot.ipxe?mac=52:54:00:12:34:56',
  }), [
    '#!ipxe',
    'echo RackSeed: discovery boot for 52:54:00:12:34:56',
    'kernel --name vmlinuz http://10.232.0.1:8080/files/discovery/vmlinuz initrd=initrd0 console=ttyS0,115200 quiet rackseed.token=9f86d081884c7d65 rackseed.callback=http://10.232.0.1:8080/agent/v1 || goto failed',
    'initrd --name initrd0 http://10.232.0.1:8080/files/discovery/initrd.gz || goto failed',
    'boot || goto failed',
    ':failed',
    'echo RackSeed: boot failed, retrying in 10 s',
    'sleep 10',
    'chain --replace --autofree http://10.232.0.1:8080/boot.ipxe?mac=52:54:00:12:34:56',
    '',
  ].join('\n'));
});

test('local disk: exit, or sanboot of the first BIOS disk', () => {
  assert.equal(renderLocalDiskScript({ method: 'exit' }), '#!ipxe\necho RackSeed: booting from local disk\nexit\n');
  assert.equal(renderLocalDiskScript({ method: 'sanboot' }), '#!ipxe\necho RackSeed: booting from local disk\nsanboot --no-describe --drive 0x80 || exit\n');
  assert.equal(renderLocalDiskScript({ method: 'sanboot', drive: 0x81 }), '#!ipxe\necho RackSeed: booting from local disk\nsanboot --no-describe --drive 0x81 || exit\n');
  assert.throws(() => renderLocalDiskScript({ method: 'sanboot', drive: 256 }), RangeError);
});

test('nothing for you: message then exit, or wait and ask again', () => {
  assert.equal(renderNothingForYouScript({ message: 'unknown node, safe mode is on', retrySeconds: null }),
    '#!ipxe\necho RackSeed: unknown node, safe mode is on\nexit\n');
  assert.equal(renderNothingForYouScript({ message: 'not enrolled yet', retrySeconds: 30, retryUrl: 'http://10.0.0.1/boot.ipxe?mac=aa:bb:cc:dd:ee:ff' }), [
    '#!ipxe',
    'echo RackSeed: not enrolled yet',
    'echo RackSeed: asking again in 30 s',
    'sleep 30',
    'chain --replace --autofree http://10.0.0.1/boot.ipxe?mac=aa:bb:cc:dd:ee:ff || exit',
    '',
  ].join('\n'));
  assert.throws(() => renderNothingForYouScript({ message: 'x', retrySeconds: 5 }), RangeError);
});

test('parameters that could break out of their line are refused', () => {
  const base = { message: 'm', kernelUrl: 'http://a/k', initrdUrls: [], kernelArgs: [], token: 't', callbackUrl: 'http://a/cb', retrySeconds: 1, retryUrl: 'http://a/b' };
  assert.throws(() => renderKernelBootScript({ ...base, token: 'abc\nshell' }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, kernelArgs: ['a b'] }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, kernelArgs: ['x=${net0/ip}'] }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, message: 'two\nlines' }), RangeError);
  assert.throws(() => renderChainSelfScript({ bootUrl: 'http://a/b c', retrySeconds: 1 }), RangeError);
  assert.throws(() => renderNothingForYouScript({ message: '${secret}', retrySeconds: null }), RangeError);
});
