// Process entry of one lab Redfish BMC: `node --import tsx lab/bmc/redfish/main.ts CONFIG.json`, started by
// lab/bmc/redfish-bmc.ts inside the rack namespace. CONFIG (mode 0600: it holds the BMC password) names the address,
// port, credentials, the node's identity and folder, and the certificate files.
import { readFileSync } from 'node:fs';
import { ChassisControlPower, FakePower, type LabBootMode } from './power.ts';
import { LabRedfishBmc, type LabSystemIdentity } from './server.ts';

export interface LabRedfishConfig {
  address: string;
  port: number;
  user: string;
  password: string;
  identity: LabSystemIdentity;
  /** the node's folder for chassis-control.sh; null: in-memory fake power */
  nodeDir: string | null;
  firmwareMode: LabBootMode;
  keyFile: string;
  certFile: string;
}

const file = process.argv[2];
if (!file) { process.stderr.write('usage: main.ts CONFIG.json\n'); process.exit(2); }
const c = JSON.parse(readFileSync(file, 'utf8')) as LabRedfishConfig;
const power = c.nodeDir ? new ChassisControlPower(c.nodeDir, c.firmwareMode) : new FakePower(c.firmwareMode);
const bmc = new LabRedfishBmc({ user: c.user, password: c.password, identity: c.identity, power });
const port = await bmc.listen(c.address, c.port, { key: readFileSync(c.keyFile), cert: readFileSync(c.certFile) });
process.stdout.write(`lab Redfish BMC listening on https://${c.address}:${port}/redfish/v1\n`);
const stop = () => { void bmc.close().finally(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
