// A daemon-like process for the hand-off's kill -9 tests (test/interop/handoff-ironic.test.ts): opens the core on the
// data dir given in argv[2] with real IPMI sessions (the ipmi_sim BMCs of the test's namespace, which this process
// inherits) and starts the hand-off of node argv[3] to the noauth Ironic at argv[4]. It dies by SIGKILL — no cleanup,
// no last write — at the point named in argv[5]:
//   after-port-post   it kills itself when Ironic answered `POST /v1/ports` with 201 (the port exists in Ironic) and
//                     before the answer reaches the hand-off job, so the job never recorded that port; found by
//                     wrapping the global fetch the Ironic client uses (no hook in the product code). Prints
//                     `crashing at after-port-post` right before the kill
//   by-test           the test kills it (e.g. while test/helpers/held-proxy.ts holds one of its requests)
// Exits 3 when the hand-off ended without the kill.
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';

const [dataDir, nodeId, ironicUrl, point] = process.argv.slice(2);
if (!dataDir || !nodeId || !ironicUrl || (point !== 'after-port-post' && point !== 'by-test')) throw new Error('usage: handoff-child.ts DATA_DIR NODE_ID IRONIC_URL after-port-post|by-test');

const realFetch = globalThis.fetch;
if (point === 'after-port-post') globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const res = await realFetch(input, init);
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  if ((init?.method ?? 'GET') === 'POST' && url.pathname === '/v1/ports' && res.status === 201) {
    process.stdout.write(`crashing at ${point}\n`);
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {}); // never returns: the signal ends the process
  }
  return res;
};

const ipmi = new IpmiClient({ logger: pino({ level: 'silent' }) });
const core = new Core({ dataDir, logger: pino({ level: 'silent' }), ipmi, handoff: { pollMs: 100 } });
await core.handoff.start([nodeId], { kind: 'ironic', url: ironicUrl });
await core.handoff.idle(180_000);
process.stdout.write(`hand-off ended without reaching ${point}: ${JSON.stringify(core.handoff.records([nodeId]))}\n`);
process.exit(3);
