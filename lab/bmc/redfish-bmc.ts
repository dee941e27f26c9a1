// A lab Redfish BMC per node (instead of ipmi_sim): lab/bmc/redfish/main.ts as its own process inside the rack
// namespace, HTTPS on the BMC's address port 443 with a certificate made by openssl now, driving the node through
// chassis-control.sh like ipmi_sim does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnDetached } from '../processes.ts';
import { makeSelfSignedCert } from './redfish/cert.ts';
import type { LabRedfishConfig } from './redfish/main.ts';
import type { LabSystemIdentity } from './redfish/server.ts';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'redfish', 'main.ts');
const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

export interface RedfishBmcConfig {
  address: string;
  port?: number;
  user: string;
  password: string;
  identity: LabSystemIdentity;
  /** the node's folder (chassis-control.sh); null: in-memory power (no VM) */
  nodeDir: string | null;
  firmware: 'bios' | 'uefi';
}

export interface StartedRedfishBmc { pid: number; sha256: string; log: string }

/** Write the BMC's folder (certificate, config) and start the service in `ns` (null: the root namespace). */
export function startRedfishBmc(ns: string | null, dir: string, c: RedfishBmcConfig): StartedRedfishBmc {
  mkdirSync(dir, { recursive: true });
  const cert = makeSelfSignedCert(dir, c.address);
  const cfg: LabRedfishConfig = {
    address: c.address, port: c.port ?? 443, user: c.user, password: c.password, identity: c.identity, nodeDir: c.nodeDir,
    firmwareMode: c.firmware === 'uefi' ? 'UEFI' : 'Legacy', keyFile: cert.keyFile, certFile: cert.certFile,
  };
  const file = join(dir, 'redfish.json');
  writeFileSync(file, JSON.stringify(cfg, null, 2), { mode: 0o600 });
  const log = join(dir, 'redfish.log');
  const pid = spawnDetached(ns, process.execPath, ['--import', 'tsx', MAIN, file], log, { cwd: REPO, env: { ...process.env, TSX_DISABLE_CACHE: '1' } });
  return { pid, sha256: cert.sha256, log };
}
