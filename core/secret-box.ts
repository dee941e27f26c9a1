// Encryption at rest for secrets in the database (BMC passwords): AES-256-GCM with a random 12-byte IV per value.
// The 32-byte key lives in `<data dir>/secret.key`, created with mode 0600 on first use (O_EXCL|O_NOFOLLOW: never
// through a symlink planted there). An existing key must be a regular file owned by the daemon's user, mode 0600;
// otherwise UnsafePathError (safe-path.ts) says why and how to fix it — nothing is loosened or tightened silently.
// Sealed format: "v1:" + base64(iv ‖ tag ‖ ciphertext).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checkOwnFile, UnsafePathError } from './safe-path.ts';

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox key must be 32 bytes');
  }

  /**
   * Load the key from `dir/secret.key`, creating it (0600) if absent. Throws UnsafePathError when it is a symlink,
   * not a regular file, owned by another user, or readable/writable by group or others.
   */
  static fromDataDir(dir: string): SecretBox {
    const path = join(dir, 'secret.key');
    const nofollow = constants.O_NOFOLLOW ?? 0;
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | nofollow, 0o600);
      try { writeSync(fd, randomBytes(32)); } finally { closeSync(fd); }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    checkOwnFile(path, 'secret key', { secret: true });
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | nofollow); // O_NONBLOCK: a FIFO swapped in must not hang us
    } catch (err) {
      // swapped for a symlink since the check (ELOOP from O_NOFOLLOW)
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafePathError(path, 'is a symlink', 'replace it with the key file itself', 'secret key');
      throw err;
    }
    try {
      if (!fstatSync(fd).isFile()) throw new UnsafePathError(path, 'is not a regular file', 'replace it with the key file itself', 'secret key');
      const key = Buffer.alloc(33);
      const n = readSync(fd, key, 0, 33, 0);
      return new SecretBox(key.subarray(0, n));
    } finally {
      closeSync(fd);
    }
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
