// Bench helper: N lab Redfish BMCs (lab/bmc/redfish/server.ts, in-memory power: no VMs) in one process, on 127.0.0.1
// ports chosen by the kernel, one self-signed certificate for all. Prints one JSON line {ports, sha256} once they all
// listen; runs until SIGTERM. Even-numbered BMCs report power On, odd ones Off.
//   node --import tsx bench/lib/redfish-bmcs.ts N CERT_DIR USER PASSWORD_FILE
import { readFileSync } from 'node:fs';
import { makeSelfSignedCert } from '../../lab/bmc/redfish/cert.ts';
import { FakePower } from '../../lab/bmc/redfish/power.ts';
import { LabRedfishBmc } from '../../lab/bmc/redfish/server.ts';

const [n, certDir, user, passwordFile] = process.argv.slice(2);
const password = readFileSync(passwordFile!, 'utf8').trim();
const cert = makeSelfSignedCert(certDir!, '127.0.0.1');
const bmcs: LabRedfishBmc[] = [];
const ports: number[] = [];
for (let i = 0; i < Number(n); i++) {
  const power = new FakePower('Legacy');
  if (i % 2 === 0) power.state = 'On';
  const hex = (i + 1).toString(16).padStart(12, '0');
  const bmc = new LabRedfishBmc({ user: user!, password, power, identity: { uuid: `b0b0b0b0-0000-4000-8000-${hex}`, serial: `BENCH-${i}`, macs: [`52:54:00:be:${hex.slice(8, 10)}:${hex.slice(10, 12)}`] } });
  ports.push(await bmc.listen('127.0.0.1', 0, cert));
  bmcs.push(bmc);
}
process.stdout.write(`${JSON.stringify({ ports, sha256: cert.sha256 })}\n`);
process.on('SIGTERM', () => { void Promise.all(bmcs.map((b) => b.close())).finally(() => process.exit(0)); });
