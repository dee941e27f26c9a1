// Where `rackseed bmc` (the direct CLI, no daemon) pins Redfish BMC certificates: a JSON file {"host:port": "AB:CD:…"},
// RACKSEED_BMC_PINS or ~/.config/rackseed/bmc-pins.json, written 0600 atomically. The daemon keeps its own pins in its
// database (core/store/tls-pins.ts).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TlsPinStore } from '../../bmc/redfish/session/http.ts';

export function defaultPinFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.RACKSEED_BMC_PINS ?? join(homedir(), '.config', 'rackseed', 'bmc-pins.json');
}

export class FilePinStore implements TlsPinStore {
  constructor(readonly file: string) {}

  private read(): Record<string, string> {
    let text: string;
    try { text = readFileSync(this.file, 'utf8'); } catch { return {}; }
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${this.file} is not a pin file (a JSON object of "host:port": "SHA-256")`);
    return v as Record<string, string>;
  }

  get(key: string): string | null {
    const v = this.read()[key];
    return typeof v === 'string' ? v : null;
  }

  set(key: string, sha256: string): void {
    const all = this.read();
    if (all[key]) return;
    all[key] = sha256;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  /** Drop the pin of `key`; true when there was one. */
  forget(key: string): boolean {
    const all = this.read();
    if (!all[key]) return false;
    delete all[key];
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
    return true;
  }
}
