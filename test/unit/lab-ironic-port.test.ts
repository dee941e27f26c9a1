// The lab Ironic's host port (issue 16: `npm run lab` forwards Ironic's API to 127.0.0.1:${RACKSEED_IRONIC_PORT:-6385},
// printed beside the UI's link). Here: the default's resolution, what `lab/cli.ts up --help` shows as the default with
// and without RACKSEED_IRONIC_PORT, the printed lines, a bad port refused, and a taken port refused with how to pick
// another (on a 127.0.0.1 high port; 6385 itself is never bound here). That the lab really listens on the port from
// RACKSEED_IRONIC_PORT is checked end to end by test/e2e/lab-ironic-handoff.test.ts (the basic-auth case).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ironicHostPortDefault, parseHostPort } from '../../lab/config.ts';
import { ironicBanner, startIronicForwarder } from '../../lab/ironic.ts';

test('the Ironic host port defaults to 6385, RACKSEED_IRONIC_PORT moves it', () => {
  assert.equal(ironicHostPortDefault({}), '6385');
  assert.equal(ironicHostPortDefault({ RACKSEED_IRONIC_PORT: '' }), '6385');
  assert.equal(ironicHostPortDefault({ RACKSEED_IRONIC_PORT: ' 16385 ' }), '16385');
  assert.equal(ironicHostPortDefault({ RACKSEED_IRONIC_PORT: '0', RACKSEED_PORT: '9999' }), '0');
});

test('a host port must be 0–65535, and the error names where it came from', () => {
  assert.equal(parseHostPort('6385', 'x'), 6385);
  assert.equal(parseHostPort('0', 'x'), 0);
  for (const bad of ['', 'abc', '-1', '65536', '63 85', '6385x']) {
    assert.throws(() => parseHostPort(bad, '--ironic-port (or RACKSEED_IRONIC_PORT)'),
      { message: `--ironic-port (or RACKSEED_IRONIC_PORT) must be a port number 0–65535 (0: any free port), got "${bad}"` });
  }
});

test('lab/cli.ts up --help shows 6385 as the default, or RACKSEED_IRONIC_PORT when set', { timeout: 120_000 }, () => {
  const help = (extra: Record<string, string>) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra, TSX_DISABLE_CACHE: '1' };
    if (!('RACKSEED_IRONIC_PORT' in extra)) delete env.RACKSEED_IRONIC_PORT;
    // commander wraps long help lines: join them before matching
    return execFileSync(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'up', '--help'], { env, encoding: 'utf8', timeout: 60_000 }).replace(/\s+/g, ' ');
  };
  assert.match(help({}), /--ironic-port <port> host port of the Ironic API forwarder \(127\.0\.0\.1; 0: any free port\) \(default: "6385"\)/);
  assert.match(help({ RACKSEED_IRONIC_PORT: '16385' }), /--ironic-port <port> host port of the Ironic API forwarder \(127\.0\.0\.1; 0: any free port\) \(default: "16385"\)/);
});

test('the lines printed beside the UI\'s: host URL, the lab URL, the auth, and the openstack client\'s environment', () => {
  const up = { hostUrl: 'http://127.0.0.1:6385', ironic: { url: 'http://10.242.0.2:6385' }, user: null, password: null };
  assert.deepEqual(ironicBanner(up, 'none'), [
    'Ironic API:  http://127.0.0.1:6385  (in the lab: http://10.242.0.2:6385, noauth; the daemon\'s hand-off target)',
    '             export OS_ENDPOINT=http://127.0.0.1:6385 OS_AUTH_TYPE=none; openstack baremetal node list',
  ]);
  assert.deepEqual(ironicBanner({ ...up, user: 'rackseed-lab', password: 'pw1' }, 'basic'), [
    'Ironic API:  http://127.0.0.1:6385  (in the lab: http://10.242.0.2:6385, HTTP basic, user rackseed-lab; the daemon\'s hand-off target)',
    '             export OS_ENDPOINT=http://127.0.0.1:6385 OS_AUTH_TYPE=http_basic OS_USERNAME=rackseed-lab OS_PASSWORD=pw1; openstack baremetal node list',
  ]);
});

test('the Ironic forwarder: a taken port is refused with how to choose another; port 0 picks a free one that pipes to the socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-ironic-port-'));
  const sock = join(dir, 'api.sock');
  const backend = createServer((c) => c.end('ironic says hello'));
  const squatter = createServer();
  try {
    await new Promise<void>((r) => backend.listen(sock, r));
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const taken = (squatter.address() as { port: number }).port;
    await assert.rejects(startIronicForwarder(taken, sock), (err: Error) => {
      assert.equal(err.message, `127.0.0.1:${taken} is taken (another lab, or an Ironic on this machine?): give the lab Ironic's API another host port, `
        + `e.g. RACKSEED_IRONIC_PORT=${taken + 1} npm run lab (or --ironic-port PORT; 0 picks a free one)`);
      return true;
    });
    const f = await startIronicForwarder(0, sock);
    try {
      assert.ok(f.port > 0 && f.port !== taken);
      const res = await new Promise<string>((resolve, reject) => {
        const c = connect(f.port, '127.0.0.1');
        let got = '';
        c.on('data', (d: Buffer) => { got += d.toString(); });
        c.on('end', () => resolve(got));
        c.on('error', reject);
      });
      assert.equal(res, 'ironic says hello');
    } finally {
      await f.close();
    }
  } finally {
    squatter.close();
    backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
