// iPXE script templates: whole rendered output compared, and unsafe parameters refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bundledBiosIpxePreamble, renderChainSelfScript, renderKernelBootScript, renderLocalDiskScript, renderNothingForYouScript,
} from '../../netboot/http/scripts/index.ts';

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

test('kernel boot: preamble, message, kernel with initrd= names then the given args, initrds, retry then reboot', () => {
  const p = {
    message: 'discovery ramdisk for node n-1 (52:54:00:12:34:56)',
    kernelUrl: 'http://10.232.0.1:8080/files/vmlinuz',
    initrds: [{ name: 'initrd.img', url: 'http://10.232.0.1:8080/files/initrd.img' }, { name: 'extra', url: 'http://10.232.0.1:8080/files/extra.cpio' }],
    kernelArgs: ['console=ttyS0,115200n8', 'rackseed.url=http://10.232.0.1:8080', 'rackseed.token=9f86d081884c7d65'],
    retrySeconds: 10,
    retryUrl: 'http://10.232.0.1:8080/boot.ipxe?mac=52:54:00:12:34:56',
  };
  const body = [
    'echo RackSeed: discovery ramdisk for node n-1 (52:54:00:12:34:56)',
    'kernel http://10.232.0.1:8080/files/vmlinuz initrd=initrd.img initrd=extra console=ttyS0,115200n8 rackseed.url=http://10.232.0.1:8080 rackseed.token=9f86d081884c7d65 || goto retry',
    'initrd --name initrd.img http://10.232.0.1:8080/files/initrd.img || goto retry',
    'initrd --name extra http://10.232.0.1:8080/files/extra.cpio || goto retry',
    'boot || goto retry',
    ':retry',
    'echo RackSeed: boot failed, retrying in 10 s',
    'sleep 10',
    'chain --replace http://10.232.0.1:8080/boot.ipxe?mac=52:54:00:12:34:56 || reboot',
    '',
  ];
  assert.equal(renderKernelBootScript(p), ['#!ipxe', ...body].join('\n'));
  assert.equal(renderKernelBootScript({ ...p, preamble: bundledBiosIpxePreamble({ tftpUrl: 'tftp://10.232.0.1/undionly.kpxe', label: 'go' }) }), [
    '#!ipxe',
    'iseq ${platform} pcbios || goto go',
    'iseq ${netX/chip} undionly || goto go-bundled',
    'goto go',
    ':go-bundled',
    'echo RackSeed: chaining the bundled tftp://10.232.0.1/undionly.kpxe (this iPXE drives ${netX/chip})',
    'chain --autofree tftp://10.232.0.1/undionly.kpxe || goto go',
    ':go',
    ...body,
  ].join('\n'));
});

test('local disk: exit, or sanboot of the first BIOS disk; with or without a reason', () => {
  assert.equal(renderLocalDiskScript({ method: 'exit' }), '#!ipxe\necho RackSeed: booting from local disk\nexit 0\n');
  assert.equal(renderLocalDiskScript({ method: 'exit', reason: 'node n-1 is available' }), '#!ipxe\necho RackSeed: node n-1 is available; booting from local disk\nexit 0\n');
  assert.equal(renderLocalDiskScript({ method: 'sanboot' }), '#!ipxe\necho RackSeed: booting from local disk\nsanboot --no-describe --drive 0x80 || exit 0\n');
  assert.equal(renderLocalDiskScript({ method: 'sanboot', drive: 0x81, reason: 'node n-1 is active' }), '#!ipxe\necho RackSeed: node n-1 is active; booting from local disk\nsanboot --no-describe --drive 0x81 || exit 0\n');
  assert.throws(() => renderLocalDiskScript({ method: 'sanboot', drive: 256 }), RangeError);
});

test('nothing for you: message then exit, or wait and ask again', () => {
  assert.equal(renderNothingForYouScript({ message: 'unknown node, safe mode is on', retrySeconds: null }),
    '#!ipxe\necho RackSeed: unknown node, safe mode is on\nexit 0\n');
  assert.equal(renderNothingForYouScript({ message: 'not enrolled yet', retrySeconds: 30, retryUrl: 'http://10.0.0.1/boot.ipxe?mac=aa:bb:cc:dd:ee:ff' }), [
    '#!ipxe',
    'echo RackSeed: not enrolled yet; asking again in 30 s',
    'sleep 30',
    'chain --replace http://10.0.0.1/boot.ipxe?mac=aa:bb:cc:dd:ee:ff || exit 0',
    '',
  ].join('\n'));
  assert.throws(() => renderNothingForYouScript({ message: 'x', retrySeconds: 5 }), RangeError);
});

test('parameters that could break out of their line are refused', () => {
  const base = { message: 'm', kernelUrl: 'http://a/k', initrds: [], kernelArgs: [], retrySeconds: 1, retryUrl: 'http://a/b' };
  assert.doesNotThrow(() => renderKernelBootScript(base));
  assert.throws(() => renderKernelBootScript({ ...base, kernelArgs: ['rackseed.token=abc\nshell'] }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, kernelArgs: ['a b'] }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, kernelArgs: [''] }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, initrds: [{ name: 'i n', url: 'http://a/i' }] }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, initrds: [{ name: 'i', url: 'http://a/i\nshell' }] }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, kernelUrl: 'http://a/${x}' }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, retryUrl: 'http://a/b || shell' }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, kernelArgs: ['x=${net0/ip}'] }), RangeError);
  assert.throws(() => renderKernelBootScript({ ...base, message: 'two\nlines' }), RangeError);
  assert.throws(() => renderChainSelfScript({ bootUrl: 'http://a/b c', retrySeconds: 1 }), RangeError);
  assert.throws(() => renderNothingForYouScript({ message: '${secret}', retrySeconds: null }), RangeError);
  assert.throws(() => renderLocalDiskScript({ method: 'exit', reason: 'a\rb' }), RangeError);
  assert.throws(() => bundledBiosIpxePreamble({ tftpUrl: 'tftp://a/u.kpxe', label: 'x || shell' }), RangeError);
  assert.throws(() => bundledBiosIpxePreamble({ tftpUrl: 'tftp://a/u.kpxe\nshell', label: 'x' }), RangeError);
  // a preamble is a checked fragment, not any list of lines (checked by `npx tsc --noEmit -p .`, never called)
  // @ts-expect-error string[] is not an IpxeFragment
  const _unchecked = (): string => renderKernelBootScript({ ...base, preamble: ['shell'] });
});
