// The data dir, secret key and database files the (root) daemon uses are checked before anything is opened
// (core/safe-path.ts, secret-box.ts, db.ts, core.ts): symlinks, foreign owners and loose modes are refused with
// an UnsafePathError naming the path, the problem and the fix; a good path is created 0700 / 0600 and accepted.
// Tests that chown to nobody (uid 65534) need root, as CI runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { SecretBox } from '../../core/secret-box.ts';
import { openDatabase } from '../../core/db.ts';
import { privateSubdir, secureDataDir, UnsafePathError } from '../../core/safe-path.ts';

const ROOT = process.geteuid?.() === 0;
const NOBODY = 65534;
const me = ROOT ? 'root \\(uid 0\\)' : `uid ${process.geteuid?.()}`;
const logger = pino({ level: 'silent' });

function withTmp(fn: (tmp: string) => void): void {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-data-dir-'));
  try { fn(tmp); } finally { rmSync(tmp, { recursive: true, force: true }); }
}

/** assert.throws for an UnsafePathError on `path` whose message matches `msg` */
function refuses(fn: () => unknown, path: string, msg: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UnsafePathError, `UnsafePathError, got ${String(err)}`);
    assert.equal(err.name, 'UnsafePathError');
    assert.equal(err.path, path);
    assert.match(err.message, msg);
    return true;
  });
}

const mode = (p: string) => statSync(p).mode & 0o7777;

test('a good data dir: created 0700 with a 0600 key, run/ 0700, databases opened; opened again unchanged', () => withTmp((tmp) => {
  const dir = join(tmp, 'a', 'data');
  const core = new Core({ dataDir: dir, logger });
  core.close();
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(join(dir, 'secret.key')), 0o600);
  assert.equal(statSync(join(dir, 'secret.key')).size, 32);
  assert.equal(core.runDir, join(dir, 'run'));
  assert.equal(mode(join(dir, 'run')), 0o700);
  assert.ok(existsSync(join(dir, 'rackseed.db')) && existsSync(join(dir, 'events.db')));
  const key = readFileSync(join(dir, 'secret.key'));
  const again = new Core({ dataDir: dir, logger });
  again.close();
  assert.deepEqual(readFileSync(join(dir, 'secret.key')), key, 'the key is kept');
  // an existing folder that others may read but not write is accepted (what is private is 0600)
  const readable = join(tmp, 'readable');
  mkdirSync(readable, { mode: 0o755 });
  chmodSync(readable, 0o755);
  assert.equal(secureDataDir(readable), readable);
  // under a sticky world-writable folder (like /tmp) our own 0700 folder is fine
  const sticky = join(tmp, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  assert.equal(secureDataDir(join(sticky, 'data')), join(sticky, 'data'));
  const mem = new Core({ dataDir: null, logger });
  assert.equal(mem.runDir, null, 'no data dir: no run dir');
  mem.close();
}));

test('data dir: a symlink, a file, a group/world-writable folder and an unsafe ancestor are refused', () => withTmp((tmp) => {
  mkdirSync(join(tmp, 'real'), { mode: 0o700 });
  symlinkSync(join(tmp, 'real'), join(tmp, 'link'));
  refuses(() => new Core({ dataDir: join(tmp, 'link'), logger }), join(tmp, 'link'),
    new RegExp(`^data dir ${join(tmp, 'link')} is a symlink; remove it, or pass --data \\(RACKSEED_DATA_DIR in the desktop app\\) a folder owned by ${me} with mode 0700$`));
  assert.deepEqual(readdirSync(join(tmp, 'real')), [], 'nothing was created through the symlink');

  symlinkSync(join(tmp, 'nowhere'), join(tmp, 'dangling'));
  refuses(() => secureDataDir(join(tmp, 'dangling')), join(tmp, 'dangling'), /is a symlink; remove it/);
  assert.equal(existsSync(join(tmp, 'nowhere')), false, 'the dangling symlink was not followed');

  writeFileSync(join(tmp, 'file'), '');
  refuses(() => secureDataDir(join(tmp, 'file')), join(tmp, 'file'), /is not a directory; move it away, or pass --data/);

  const open = join(tmp, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  refuses(() => new Core({ dataDir: open, logger }), open,
    new RegExp(`^data dir ${open} is writable by group or others \\(mode 0777\\); chmod 700 ${open}, or pass --data`));
  assert.deepEqual(readdirSync(open), [], 'nothing was opened in it');
  chmodSync(open, 0o770);
  refuses(() => secureDataDir(open), open, /writable by group or others \(mode 0770\)/);

  const parent = join(tmp, 'parent');
  mkdirSync(parent);
  chmodSync(parent, 0o777);
  refuses(() => secureDataDir(join(parent, 'data')), join(parent, 'data'),
    new RegExp(`^data dir ${join(parent, 'data')} lies under ${parent}, which is writable by group or others without the sticky bit \\(mode 0777\\), so another user could replace it; chmod go-w ${parent}, or pass --data`));
}));

test('data dir owned by another user (nobody) is refused', { skip: !ROOT && 'needs root (chown)' }, () => withTmp((tmp) => {
  const dir = join(tmp, 'foreign');
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, NOBODY, NOBODY);
  refuses(() => new Core({ dataDir: dir, logger }), dir,
    new RegExp(`^data dir ${dir} is owned by uid 65534, not by root \\(uid 0\\) that runs the daemon; check its contents and chown 0 ${dir}, or pass --data`));
  assert.deepEqual(readdirSync(dir), []);
  // a symlink owned by nobody pointing at a good folder: still a symlink
  mkdirSync(join(tmp, 'good'), { mode: 0o700 });
  symlinkSync(join(tmp, 'good'), join(tmp, 'nobody-link'));
  lchownSync(join(tmp, 'nobody-link'), NOBODY, NOBODY);
  refuses(() => secureDataDir(join(tmp, 'nobody-link')), join(tmp, 'nobody-link'), /is a symlink/);
}));

test('secret key: a symlink (even dangling) and a 0644 key are refused; nothing is written through a link', () => withTmp((tmp) => {
  const dir = secureDataDir(join(tmp, 'data'));
  const key = join(dir, 'secret.key');
  writeFileSync(join(tmp, 'elsewhere.key'), Buffer.alloc(32, 7), { mode: 0o600 });
  symlinkSync(join(tmp, 'elsewhere.key'), key);
  refuses(() => SecretBox.fromDataDir(dir), key, new RegExp(`^secret key ${key} is a symlink; replace it with the key file itself`));
  refuses(() => new Core({ dataDir: dir, logger }), key, /secret key .* is a symlink/);
  rmSync(key);
  symlinkSync(join(tmp, 'planted.key'), key);
  refuses(() => SecretBox.fromDataDir(dir), key, /is a symlink/);
  assert.equal(existsSync(join(tmp, 'planted.key')), false, 'no key was created at the symlink\'s target');
  rmSync(key);

  writeFileSync(key, Buffer.alloc(32, 1), { mode: 0o644 });
  chmodSync(key, 0o644);
  refuses(() => SecretBox.fromDataDir(dir), key,
    new RegExp(`^secret key ${key} is readable or writable by group or others \\(mode 0644\\); chmod 600 ${key} \\(others could read it`));
  assert.equal(mode(key), 0o644, 'refused, not silently tightened');
  chmodSync(key, 0o600);
  const box = SecretBox.fromDataDir(dir);
  assert.equal(box.open(box.seal('pw')), 'pw');

  rmSync(key);
  mkdirSync(key);
  refuses(() => SecretBox.fromDataDir(dir), key, /is not a regular file/);
}));

test('secret key owned by another user (nobody) is refused', { skip: !ROOT && 'needs root (chown)' }, () => withTmp((tmp) => {
  const dir = secureDataDir(join(tmp, 'data'));
  const key = join(dir, 'secret.key');
  writeFileSync(key, Buffer.alloc(32, 1), { mode: 0o600 });
  chownSync(key, NOBODY, NOBODY);
  refuses(() => SecretBox.fromDataDir(dir), key, new RegExp(`^secret key ${key} is owned by uid 65534, not by root \\(uid 0\\) that runs the daemon; check it and chown 0 ${key}`));
}));

test('database files: a symlinked rackseed.db, events.db-wal or run/ is refused before anything is opened', () => withTmp((tmp) => {
  const dir = secureDataDir(join(tmp, 'data'));
  const target = join(tmp, 'target');
  writeFileSync(target, 'not yours');
  symlinkSync(target, join(dir, 'rackseed.db'));
  refuses(() => new Core({ dataDir: dir, logger }), join(dir, 'rackseed.db'),
    new RegExp(`^database file ${join(dir, 'rackseed.db')} is a symlink; move it away \\(the daemon makes a new one\\)`));
  refuses(() => openDatabase(join(dir, 'rackseed.db')), join(dir, 'rackseed.db'), /is a symlink/);
  assert.equal(readFileSync(target, 'utf8'), 'not yours');
  rmSync(join(dir, 'rackseed.db'));

  symlinkSync(target, join(dir, 'events.db-wal'));
  refuses(() => new Core({ dataDir: dir, logger }), join(dir, 'events.db-wal'), /database file .*events\.db-wal is a symlink/);
  rmSync(join(dir, 'events.db-wal'));

  writeFileSync(join(dir, 'rackseed.db'), '');
  chmodSync(join(dir, 'rackseed.db'), 0o666);
  refuses(() => secureDataDir(dir), join(dir, 'rackseed.db'), /is writable by group or others \(mode 0666\); chmod go-w/);
  rmSync(join(dir, 'rackseed.db'));

  mkdirSync(join(tmp, 'run-elsewhere'));
  symlinkSync(join(tmp, 'run-elsewhere'), join(dir, 'run'));
  refuses(() => new Core({ dataDir: dir, logger }), join(dir, 'run'), /^folder .*\/run is a symlink; remove it, then start the daemon again/);
  rmSync(join(dir, 'run'));
  mkdirSync(join(dir, 'run'));
  chmodSync(join(dir, 'run'), 0o777);
  refuses(() => privateSubdir(dir, 'run'), join(dir, 'run'), /writable by group or others \(mode 0777\); chmod 700/);
  chmodSync(join(dir, 'run'), 0o700);
  const core = new Core({ dataDir: dir, logger });
  core.close();
}));

test('a database file owned by another user (nobody) is refused', { skip: !ROOT && 'needs root (chown)' }, () => withTmp((tmp) => {
  const dir = secureDataDir(join(tmp, 'data'));
  writeFileSync(join(dir, 'events.db'), '');
  chownSync(join(dir, 'events.db'), NOBODY, NOBODY);
  refuses(() => new Core({ dataDir: dir, logger }), join(dir, 'events.db'), /^database file .*events\.db is owned by uid 65534/);
}));
