// A daemon-like process for the seed's kill -9 test (test/interop/seed-ironic.test.ts): opens the core on the data dir
// given in argv[2] with real IPMI sessions (the ipmi_sim BMCs of the test's namespace, which this process inherits),
// resumes what the database says is unfinished (Core.recover: hand-off jobs, then the seed) and prints the seed's stage
// and each hand-off record as JSON lines until it is killed.
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';

const dataDir = process.argv[2];
const ironicUrl = process.argv[3];
if (!dataDir || !ironicUrl) throw new Error('usage: seed-child.ts DATA_DIR IRONIC_URL');
const ipmi = new IpmiClient({ logger: pino({ level: 'silent' }) });
const core = new Core({ dataDir, logger: pino({ level: 'silent' }), ipmi, handoff: { pollMs: 100 }, seed: { pollMs: 100, ironicUrlOverride: ironicUrl } });
core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, ramdisk: { kernelPath: '/files/vmlinuz', initrdPath: '/files/initrd.img' } };
core.recover();
setInterval(() => {
  const s = core.seed.get();
  process.stdout.write(`${JSON.stringify({ stage: s?.stage, status: s?.status, handoff: core.handoff.records(s?.nodes ?? []).map((r) => r.status) })}\n`);
}, 100);
