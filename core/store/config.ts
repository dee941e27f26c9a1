// Key/value configuration: the network config (JSON) and the BMC credentials, whose password is stored only
// encrypted (AES-256-GCM, see secret-box.ts) and is never handed to the API layer in clear except to BMC sessions.
import { prepared } from './prepared.ts';
import type { Db } from '../db.ts';
import type { NetworkConfig } from '../../shared/api.ts';
import type { SecretBox } from '../secret-box.ts';

export interface BmcCredentials { user: string; password: string }

export class ConfigStore {
  constructor(private readonly db: Db, private readonly box: SecretBox) {}

  private getRaw(key: string): string | null {
    const row = prepared(this.db, 'SELECT value FROM config WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  private setRaw(key: string, value: string | null): void {
    if (value === null) prepared(this.db, 'DELETE FROM config WHERE key = ?').run(key);
    else prepared(this.db, 'INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** The saved network config, or null when services were never configured. */
  network(): NetworkConfig | null {
    const raw = this.getRaw('network');
    return raw ? (JSON.parse(raw) as NetworkConfig) : null;
  }

  setNetwork(cfg: NetworkConfig | null): void {
    this.setRaw('network', cfg ? JSON.stringify(cfg) : null);
  }

  /**
   * "Hand over and stop" (core/handoff): when the whole appliance was handed over and its netboot services stopped,
   * and how many nodes engines owned then; null when not stopped (or started again since). Kept across restarts: the
   * daemon starts no netboot service while it is set.
   */
  handoverStop(): { at: number; owned: number } | null {
    const raw = this.getRaw('handoff.stopped');
    return raw ? (JSON.parse(raw) as { at: number; owned: number }) : null;
  }

  setHandoverStop(v: { at: number; owned: number } | null): void {
    this.setRaw('handoff.stopped', v ? JSON.stringify(v) : null);
  }

  /** Store BMC credentials; the password is encrypted at rest. */
  setBmcCredentials(creds: BmcCredentials): void {
    this.setRaw('bmc.user', creds.user);
    this.setRaw('bmc.password', this.box.seal(creds.password));
  }

  /** What the API may show: the user and whether a password is set — never the password. */
  bmcCredentialsPublic(): { user: string | null; passwordSet: boolean } {
    return { user: this.getRaw('bmc.user'), passwordSet: this.getRaw('bmc.password') !== null };
  }

  /** Decrypted credentials for opening BMC sessions; null when none are set. Never send this to a client. */
  bmcCredentials(): BmcCredentials | null {
    const user = this.getRaw('bmc.user');
    const sealed = this.getRaw('bmc.password');
    if (user === null || sealed === null) return null;
    return { user, password: this.box.open(sealed) };
  }

  /** Store another secret (e.g. a hand-off engine's password, key `engine.<id>`) sealed like the BMC password; null deletes it. */
  setSecret(key: string, plain: string | null): void {
    this.setRaw(`secret.${key}`, plain === null ? null : this.box.seal(plain));
  }

  /** A secret stored with setSecret, decrypted; null when none. Never send this to a client. */
  secret(key: string): string | null {
    const sealed = this.getRaw(`secret.${key}`);
    return sealed === null ? null : this.box.open(sealed);
  }

  hasSecret(key: string): boolean {
    return this.getRaw(`secret.${key}`) !== null;
  }

  /** Raw stored value (tests check that the password is not stored in clear). */
  rawForTest(key: string): string | null {
    return this.getRaw(key);
  }
}
