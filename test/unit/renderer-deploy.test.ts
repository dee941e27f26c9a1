// The renderer's deploy parts without a browser: the host-name preview agrees with the daemon's own expansion
// (core/deploy/hostname.ts) and the browser's user-data check with the config drive's (core/deploy/
// config-drive.ts) — same verdicts, same messages —; SSH key lines; image names from file names; import and deploy
// progress; the deploy stages from a node's events; which nodes deploy or release; the deploy and deploy-UI slices
// (images, deployments that only move forward, uploads, the preset) and the bridge's image/deploy messages; the
// upload action against a scripted XMLHttpRequest (progress into the store, the daemon's refusal with its reason).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAppStore } from '../../renderer/store/store.ts';
import { applyStreamMessage } from '../../renderer/api/bridge.ts';
import { ApiClient } from '../../renderer/api/client.ts';
import { initActions, setXhrFactory, uploadImageFile } from '../../renderer/actions.ts';
import {
  bootModeProblem, canDeploy, canRelease, checkUserData, deployProgress, deployTimeline, formatRate, imageNameFromFile, importProgress, parseSshKeys,
  previewHostnames,
} from '../../renderer/lib/deploy.ts';
import { expandHostnames } from '../../core/deploy/hostname.ts';
import { checkUserData as coreCheckUserData } from '../../core/deploy/config-drive.ts';
import type { Deployment } from '../../shared/deploy.ts';
import type { ImageRecord } from '../../shared/image.ts';
import type { NodeEvent, NodeSummary } from '../../shared/node.ts';

const node = (over: Partial<NodeSummary> = {}): NodeSummary => ({
  id: 'n1', mac: '52:54:00:00:00:01', ip: null, state: 'available', maintenance: false, lastError: null, firmware: 'bios', serial: 'SN-1',
  uuid: null, bmc: null, power: 'off', poweredOnByRackSeed: false, cpu: 'x', memoryMiB: 512, diskGiB: 8, createdAt: 1, updatedAt: 1, ...over,
});

const image = (over: Partial<ImageRecord> = {}): ImageRecord => ({
  id: 'i1', name: 'tiny', state: 'ready', sourceFormat: 'raw', sourceBytes: 4, virtualSize: 4, rawSize: 4, diskBytes: 4, sha256: 'ab'.repeat(32),
  bootModes: ['bios'], error: null, failure: null, progress: null, createdAt: 1, updatedAt: 1, ...over,
});

const dep = (over: Partial<Deployment> = {}): Deployment => ({
  nodeId: 'n1', kind: 'deploy', jobId: 'j1', stage: 'writing', image: { id: 'i1', name: 'tiny', sha256: 'ab', sizeBytes: 1000 }, hostname: 'node-sn-1', disk: null,
  doneWhen: 'auto', erase: false, bytes: 250, totalBytes: 1000, mbps: 12.34, bootedVia: null, error: null, startedAt: 10, updatedAt: 20, finishedAt: null, ...over,
});

let eventId = 0;
const ev = (at: number, kind: string, detail: Record<string, unknown> = {}): NodeEvent =>
  ({ id: ++eventId, at, source: 'job', kind, mac: '52:54:00:00:00:01', nodeId: 'n1', level: 'info', message: kind, detail }) as NodeEvent;

test('host name preview: the same names as the daemon\'s expansion, and its refusals', () => {
  const nodes = [
    { id: 'a1', mac: '52:54:00:aa:00:01', serial: 'SN 0001/A', index: 1 },
    { id: 'a2', mac: '52:54:00:aa:00:02', serial: null, index: 2 },
    { id: 'a3', mac: '52:54:00:aa:00:03', serial: '  ', index: 3 },
  ];
  for (const pattern of ['node-{serial}', 'rack7-{index:03}', '{mac}', 'X_{id}_{index}', 'web-{serial}-{index:2}', '---{serial}---']) {
    assert.deepEqual(previewHostnames(pattern, nodes), { names: expandHostnames(pattern, nodes), error: null }, pattern);
  }
  assert.match(previewHostnames('node', nodes).error!, /52:54:00:aa:00:01 and 52:54:00:aa:00:02 would both be node/);
  assert.throws(() => expandHostnames('node', nodes));
  // cut to 63 characters, the index falls off: both refuse
  const long = `${'x'.repeat(70)}-{index}`;
  assert.match(previewHostnames(long, nodes).error!, /would both be x{63}:/);
  assert.throws(() => expandHostnames(long, nodes));
  assert.match(previewHostnames('n-{rack}', nodes).error!, /unknown placeholder \{rack\}/);
  assert.match(previewHostnames('n-{serial', nodes).error!, /unbalanced brace/);
  assert.match(previewHostnames('{index}', [{ id: 'x', mac: 'm', serial: null }]).error ?? '', /^$/, 'an index alone is a name');
});

test('user data: the browser\'s verdict and message are the config drive\'s', () => {
  const cases = [
    '', '#cloud-config\n', '#cloud-config\npackages: [htop]\n', '#cloud-config\nruncmd:\n  - [echo, hi\nhostname: x\n', '#cloud-config\n- a\n- b\n',
    '#cloud-config\nkey: 1\nkey: 2\n', '#cloud-config\n"just a string"\n', '#!/bin/sh\necho hi\n', 'hello world', `#cloud-config\n# ${'x'.repeat(70 * 1024)}\n`,
    '#cloud-config  \r\na: [1, 2\n',
  ];
  for (const text of cases) {
    let coreError: string | null = null;
    try { coreCheckUserData(text); } catch (err) { coreError = (err as Error).message; }
    const ui = checkUserData(text);
    assert.equal(ui.ok ? null : ui.error, coreError, JSON.stringify(text.slice(0, 40)));
  }
  assert.deepEqual(checkUserData('#!/bin/sh\necho hi'), { ok: true, kind: 'script', note: 'a script: cloud-init runs it once at first boot' });
  assert.match((checkUserData('hello') as { note: string }).note, /cloud-init will not act on it/);
  assert.equal((checkUserData('#include\nhttp://x/y') as { note: string | null }).note, null);
});

test('SSH keys: public key lines counted; anything else named by line, a private key called out', () => {
  assert.deepEqual(parseSshKeys('\n# me\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA me@x\necdsa-sha2-nistp256 AAAAE2Vj= y\n'),
    { keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA me@x', 'ecdsa-sha2-nistp256 AAAAE2Vj= y'], error: null });
  assert.match(parseSshKeys('ssh-ed25519 AAAA\nnot a key').error!, /^line 2 is not an OpenSSH public key/);
  assert.match(parseSshKeys('-----BEGIN OPENSSH PRIVATE KEY-----').error!, /PRIVATE key: never paste it here/);
  assert.deepEqual(parseSshKeys(''), { keys: [], error: null });
});

test('image names from file names; import and deploy progress; rates', () => {
  assert.equal(imageNameFromFile('debian-12-generic-amd64.qcow2'), 'debian-12-generic-amd64');
  assert.equal(imageNameFromFile('Ubuntu 24.04 Server.raw.xz'), 'ubuntu-24.04-server');
  assert.equal(imageNameFromFile('__.img'), 'image');
  assert.deepEqual(importProgress(image({ state: 'importing', progress: { phase: 'convert', done: 50, total: 200 } })), { fraction: 0.25, text: 'converting (qemu-img)' });
  assert.deepEqual(importProgress(image({ state: 'importing', progress: { phase: 'upload', done: 50, total: null } })), { fraction: null, text: 'receiving' });
  assert.deepEqual(importProgress(image({ state: 'failed', error: 'cannot boot' })), { fraction: null, text: 'failed: cannot boot' });
  assert.deepEqual(deployProgress(dep()), { fraction: 0.25, text: 'writing the image 25 %' });
  assert.deepEqual(deployProgress(dep({ stage: 'config-drive' })), { fraction: 0.5, text: 'writing the config drive' });
  assert.deepEqual(deployProgress(dep({ stage: 'done' })), { fraction: 1, text: 'done' });
  assert.deepEqual(deployProgress(dep({ kind: 'clean', stage: 'wiping' })), { fraction: 1 / 3, text: 'wiping disks' });
  assert.equal(formatRate(12.34), '12.3 MB/s');
  assert.equal(formatRate(412.6), '413 MB/s');
  assert.equal(formatRate(null), '—');
});

test('deploy stages from the node\'s events: start, agent commands, first reports, done; a failure marks its stage', () => {
  const events = [
    ev(100, 'deploy-start'), ev(105, 'deploy-stage', { stage: 'booting-agent' }), ev(2000, 'agent-command', { action: 'deploy' }),
    ev(2100, 'deploy-progress', { stage: 'writing' }), ev(9000, 'agent-command', { action: 'verify' }), ev(9001, 'agent-command', { action: 'verify' }),
    ev(9500, 'deploy-stage', { stage: 'config-drive' }),
  ];
  const tl = deployTimeline(events, dep({ stage: 'config-drive' }), 10_000)!;
  assert.equal(tl.kind, 'deploy');
  assert.deepEqual(tl.stages.map((s) => [s.stage, s.status, s.startedAt, s.durationMs]), [
    ['booting-agent', 'done', 100, 1900], ['writing', 'done', 2000, 7000], ['verifying', 'done', 9000, 500], ['config-drive', 'running', 9500, 500],
    ['powering-off', 'pending', null, null], ['booting-os', 'pending', null, null], ['done', 'pending', null, null],
  ]);
  const failed = deployTimeline(events, dep({ stage: 'failed', error: 'checksum mismatch', finishedAt: 9800 }), 20_000)!;
  assert.deepEqual(failed.stages.filter((s) => s.status === 'failed').map((s) => s.stage), ['config-drive']);
  assert.equal(failed.stages.find((s) => s.stage === 'config-drive')!.durationMs, 300, 'a failed stage ends when the deployment did');
  assert.equal(failed.error, 'checksum mismatch');
  // an older deploy's events before the latest start are not mixed in; a release reads as its own stages
  const clean = deployTimeline([...events, ev(20_000, 'clean-start'), ev(21_000, 'agent-command', { action: 'clean' }), ev(25_000, 'clean-done')],
    dep({ kind: 'clean', stage: 'done', finishedAt: 25_000 }), 30_000)!;
  assert.equal(clean.kind, 'clean');
  assert.deepEqual(clean.stages.map((s) => `${s.stage}:${s.status}`), ['booting-agent:done', 'wiping:done', 'powering-off:done', 'done:done']);
  assert.equal(deployTimeline([], undefined, 0), null);
});

test('which nodes deploy, redeploy or release; boot mode mismatch named', () => {
  assert.equal(canDeploy(node()), true);
  assert.equal(canDeploy(node({ state: 'active' })), true);
  assert.equal(canDeploy(node({ state: 'deploy-failed' })), true);
  assert.equal(canDeploy(node({ state: 'discovered' })), false);
  assert.equal(canDeploy(node({ maintenance: true })), false);
  assert.equal(canRelease(node({ state: 'clean-failed' })), true);
  assert.equal(canRelease(node({ state: 'deploying' })), false);
  assert.equal(bootModeProblem(image({ bootModes: ['bios'] }), node({ firmware: 'uefi' })), 'UEFI node; the image boots BIOS');
  assert.equal(bootModeProblem(image({ bootModes: ['bios', 'uefi'] }), node({ firmware: 'uefi' })), null);
});

test('deploy slices and the bridge: images come and go, a deployment only moves forward, uploads and the preset', () => {
  const store = createAppStore();
  const s = () => store.getState();
  applyStreamMessage(store, { type: 'image', payload: image({ state: 'importing', updatedAt: 5 }) });
  applyStreamMessage(store, { type: 'image', payload: image({ state: 'ready', updatedAt: 9 }) });
  assert.equal(s().images.i1!.state, 'ready');
  applyStreamMessage(store, { type: 'image-removed', payload: { id: 'i1', name: 'tiny' } });
  assert.deepEqual(s().images, {});
  applyStreamMessage(store, { type: 'deploy', payload: dep({ bytes: 500, updatedAt: 30 }) });
  applyStreamMessage(store, { type: 'deploy', payload: dep({ bytes: 250, updatedAt: 20 }) }); // a late frame
  assert.equal(s().deployments.n1!.bytes, 500);
  applyStreamMessage(store, { type: 'deploy', payload: dep({ jobId: 'j2', kind: 'clean', stage: 'booting-agent', startedAt: 40, updatedAt: 40 }) });
  assert.equal(s().deployments.n1!.kind, 'clean', 'a new job replaces the old one');
  s().setUpload({ name: 'tiny', fileName: 'tiny.img', sent: 1, total: 4, startedAt: 1, mbps: null, status: 'uploading', error: null });
  s().clearUpload('tiny');
  assert.deepEqual(s().uploads, {});
  s().setDeployPreset(['n1']);
  assert.deepEqual(s().deployPreset, ['n1']);
});

/** A scripted XMLHttpRequest: sends `chunks` upload progress events, then answers `status` with `body`. */
function fakeXhr(status: number, body: unknown, chunks = 4) {
  const sentHeaders: Record<string, string> = {};
  let opened = '';
  const xhr = {
    upload: { onprogress: null as ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null },
    onload: null as (() => void) | null, onerror: null as (() => void) | null, onabort: null as (() => void) | null,
    status: 0, statusText: '', responseText: '', withCredentials: false,
    open(method: string, url: string) { opened = `${method} ${url}`; },
    setRequestHeader(k: string, v: string) { sentHeaders[k] = v; },
    abort() { this.onabort?.(); },
    send(file: Blob) {
      void (async () => {
        for (let i = 1; i <= chunks; i++) {
          await new Promise((r) => setTimeout(r, 120));
          this.upload.onprogress?.({ loaded: Math.round((file.size * i) / chunks), total: file.size, lengthComputable: true });
        }
        this.status = status;
        this.responseText = JSON.stringify(body);
        this.onload?.();
      })();
    },
  };
  return { xhr, headers: sentHeaders, opened: () => opened };
}

test('upload action: progress into the store, then the record; a refusal keeps the daemon\'s reason', async () => {
  const store = createAppStore();
  initActions(new ApiClient({ baseUrl: 'http://127.0.0.1:9', token: 'tok' }, (async () => new Response('[]')) as unknown as typeof fetch), store);
  const ok = fakeXhr(201, image({ name: 'tiny' }));
  const sent: number[] = [];
  const unsub = store.subscribe((st) => { const u = st.uploads.tiny; if (u && sent.at(-1) !== u.sent) sent.push(u.sent); });
  setXhrFactory(() => ok.xhr as unknown as XMLHttpRequest);
  const rec = await uploadImageFile(new Blob([new Uint8Array(4000)]), 'tiny', 'tiny.img');
  unsub();
  assert.equal(rec?.name, 'tiny');
  assert.equal(ok.opened(), 'POST http://127.0.0.1:9/api/v1/images?name=tiny');
  assert.deepEqual(ok.headers, { 'content-type': 'application/octet-stream', accept: 'application/json', authorization: 'Bearer tok' });
  assert.ok(sent.length >= 3 && sent.at(-1) === 4000, `progress reached the store (${sent.join(', ')})`);
  assert.equal(store.getState().uploads.tiny!.status, 'done');
  assert.equal(store.getState().images.i1!.name, 'tiny');

  const refused = fakeXhr(400, { error: 'the image cannot boot: no MBR boot code and no EFI system partition', image: image({ id: 'i2', name: 'blank', state: 'failed' }) }, 1);
  setXhrFactory(() => refused.xhr as unknown as XMLHttpRequest);
  assert.equal(await uploadImageFile(new Blob([new Uint8Array(10)]), 'blank'), null);
  assert.equal(store.getState().uploads.blank!.status, 'failed');
  assert.equal(store.getState().uploads.blank!.error, '400 the image cannot boot: no MBR boot code and no EFI system partition');
  assert.equal(store.getState().images.i2!.state, 'failed', 'the failed record is listed with its reason');
  // refused before sending: a bad name, a name taken
  assert.equal(await uploadImageFile(new Blob(['x']), 'Bad Name'), null);
  assert.match(store.getState().uploads['Bad Name']!.error!, /the name must be 1–64 characters/);
  assert.equal(await uploadImageFile(new Blob(['x']), 'tiny'), null);
  assert.match(store.getState().uploads.tiny!.error!, /an image named tiny exists already/);
  setXhrFactory(undefined);
});
