// Encryption at rest for secrets in the database (BMC passwords): AES-256-GCM with a random 12-byte IV per value.
// The 32-byte key lives in `<data dir>/secret.key`, created with mode 0600 on first use.
// Sealed format: "v1:" + base64(iv ‖ tag ‖ ciphertext).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox key must be 32 bytes');
  }

  /** Load the key from `dir/secret.key`, creating it (0600) if absent; tightens its mode if it is looser. */
  static fromDataDir(dir: string): SecretBox {
    const path = join(dir, 'secret.key');
    if (!existsSync(path)) writeFileSync(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return new SecretBox(readFileSync(path));
  }

  /** A box with a random key (tests, in-memory stores). */
  static ephemeral(): SecretBox {
    return new SecretBox(randomBytes(32));
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return 'v1:' + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
  }

  /** Decrypt; throws if the value was tampered with or sealed under another key. */
  open(sealed: string): string {
    if (!sealed.startsWith('v1:')) throw new Error('unknown sealed-secret format');
    const buf = Buffer.from(sealed.slice(3), 'base64');
    if (buf.length < 28) throw new Error('sealed secret too short');
    const decipher = createDecipheriv('aes-256-gcm', this.key, buf.subarray(0, 12));
    decipher.setAuthTag(buf.subarray(12, 28));
    return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString('utf8');
  }
}
