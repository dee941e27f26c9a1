// Runs inside a lab's appliance namespace (ip netns exec), where the control node's provisioning address is
// reachable: `node --import tsx bench/lib/ironic-wait.ts URL USER`, the password in IRONIC_PASSWORD. It starts at
// once (so node's start-up is not timed), waits for a line on stdin ("go"), then does what the seed's wait-ironic stage
// does — IronicClient.negotiate() (GET /, then an authenticated GET /v1/nodes) every second until it answers — and
// prints one JSON line: {ok: true, at: epoch ms of the answer, microversion} or {ok: false, error}. Exit 0 / 1.
import { createInterface } from 'node:readline';
import { IronicClient, IronicError } from '../../core/handoff/ironic/client.ts';

const [url, user] = process.argv.slice(2);
const password = process.env.IRONIC_PASSWORD ?? '';
const timeoutMs = Number(process.env.IRONIC_WAIT_TIMEOUT_MS ?? 600_000);
const pollMs = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function done(o: Record<string, unknown>): never {
  process.stdout.write(`${JSON.stringify(o)}\n`);
  process.exit(o.ok ? 0 : 1);
}

if (!url || !user || !password) done({ ok: false, error: 'usage: ironic-wait.ts URL USER (password in IRONIC_PASSWORD)' });
const client = new IronicClient({ url: url!, auth: { kind: 'basic', user: user!, password } });
process.stdout.write('ready\n');
const rl = createInterface({ input: process.stdin });
rl.once('line', () => {
  rl.close();
  void (async () => {
    const end = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const { microversion } = await client.negotiate();
        done({ ok: true, at: Date.now(), microversion });
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        if (err instanceof IronicError && (err.kind === 'auth' || err.kind === 'version')) done({ ok: false, error: `Ironic refuses: ${last}` });
      }
      if (Date.now() > end) done({ ok: false, error: `no answer from ${url} within ${timeoutMs / 1000} s (last: ${last})` });
      await sleep(pollMs);
    }
  })();
});
