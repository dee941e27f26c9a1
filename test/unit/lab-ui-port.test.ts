// The lab UI's host port (`npm run lab` forwards 127.0.0.1:${RACKSEED_PORT:-8080} to the daemon's socket): a taken
// port is refused with how to pick another, before the rack is built (Lab.up binds it first; before, a taken port
// failed with Node's bare EADDRINUSE after every VM and BMC was up); the forwarder may start before the daemon's
// socket exists. High loopback ports only; 8080 itself is never bound here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHostPort } from '../../lab/config.ts';
import { startUiForwarder } from '../../lab/rack.ts';

test('the UI forwarder: a taken port is refused with how to choose another', async () => {
  const squatter = createServer();
  try {
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const taken = (squatter.address() as { port: number }).port;
    await assert.rejects(startUiForwarder(taken, '/nonexistent/api.sock'), (err: Error) => {
      assert.equal(err.message, `127.0.0.1:${taken} is taken (another lab, or RackSeed itself running on this machine?): give the lab's UI another host port, `
        + `e.g. RACKSEED_PORT=${taken + 1} npm run lab (or --port PORT; 0 picks a free one)`);
      return true;
    });
  } finally { await new Promise((r) => squatter.close(r)); }
});

test('the UI forwarder listens before the daemon\'s socket exists and pipes once it does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-ui-port-'));
  const sock = join(dir, 'api.sock');
  const f = await startUiForwarder(0, sock);
  const backend = createServer((c) => c.end('daemon says hello'));
  try {
    assert.ok(f.port > 0);
    await new Promise<void>((r) => backend.listen(sock, r));
    const got = await new Promise<string>((resolve, reject) => {
      const c = connect(f.port, '127.0.0.1');
      let s = '';
      c.on('data', (d: Buffer) => { s += d.toString(); });
      c.on('end', () => resolve(s));
      c.on('error', reject);
    });
    assert.equal(got, 'daemon says hello');
  } finally {
    await f.close();
    await new Promise((r) => backend.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--port / RACKSEED_PORT is checked like the Ironic port', () => {
  assert.throws(() => parseHostPort('80800', '--port (or RACKSEED_PORT)'), /^Error: --port \(or RACKSEED_PORT\) must be a port number 0–65535/);
  assert.equal(parseHostPort('8080', '--port'), 8080);
});
