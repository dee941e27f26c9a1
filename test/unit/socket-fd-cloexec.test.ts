// Socket duplicates made for worker threads (TFTP transfers: netboot/tftp/server/socket-fd.ts; HTTP sendfile:
// netboot/http/sendfile/linux-calls.ts) are close-on-exec: a child process spawned afterwards (the daemon runs
// ipmitool, qemu-img, …) must not inherit them, or it would hold the transfer's socket open after we close it.
// Checked the way it matters: spawn a real child after the dup and read /proc/<child>/fd. A plain dup(2) — what
// socket-fd.ts did before — is shown to be inherited by the same check, so the check can see a leak.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import { dupSocketFd, socketFd } from '../../netboot/tftp/server/socket-fd.ts';
import { loadSendCalls } from '../../netboot/http/sendfile/linux-calls.ts';
import { FD_CLOEXEC, F_GETFD, libcLibrary, loadLibc } from '../../netboot/net/libc.ts';

const linux = process.platform === 'linux';

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** What the child's descriptors point at (socket:[inode], pipe:[…], paths), after it has exec'd. */
function childTargets(child: ChildProcess): string[] {
  const dir = `/proc/${child.pid}/fd`;
  return readdirSync(dir).map((fd) => { try { return readlinkSync(`${dir}/${fd}`); } catch { return ''; } });
}

/** Spawns `sleep` (uv_spawn returns once the child has exec'd: close-on-exec descriptors are gone by then). */
function child(): ChildProcess {
  return spawn('sleep', ['30'], { stdio: 'ignore' });
}

test('dupSocketFd: the duplicate is close-on-exec and a child spawned afterwards does not inherit the socket', { skip: !linux && 'Linux only' }, async () => {
  const s = await bound();
  const c = loadLibc();
  let copy: number | null = null;
  let plain = -1;
  const kids: ChildProcess[] = [];
  try {
    const fd = socketFd(s);
    assert.ok(fd !== null, 'node exposes the socket fd');
    const inode = readlinkSync(`/proc/self/fd/${fd}`);
    assert.match(inode, /^socket:\[\d+\]$/);

    copy = dupSocketFd(s);
    assert.ok(copy !== null && copy >= 0, 'duplicated');
    assert.equal(readlinkSync(`/proc/self/fd/${copy}`), inode, 'the same socket');
    assert.equal(c.fcntl(copy, F_GETFD, 0) & FD_CLOEXEC, FD_CLOEXEC, 'FD_CLOEXEC set on the duplicate');

    const k = child(); kids.push(k);
    assert.ok(!childTargets(k).includes(inode), 'the child holds no descriptor of the socket');

    // the HTTP sendfile workers' duplicate is the same call
    const send = loadSendCalls();
    assert.ok(send, 'sendfile calls load on Linux');
    const copy2 = send.dupCloexec(fd);
    try {
      assert.equal(c.fcntl(copy2, F_GETFD, 0) & FD_CLOEXEC, FD_CLOEXEC);
      const k2 = child(); kids.push(k2);
      assert.ok(!childTargets(k2).includes(inode));
    } finally { send.close(copy2); }

    // control: a plain dup(2) is inherited, and the check above sees it
    const dup = libcLibrary().func('int dup(int)') as (fd: number) => number;
    plain = dup(fd);
    assert.ok(plain >= 0);
    const k3 = child(); kids.push(k3);
    assert.ok(childTargets(k3).includes(inode), 'a plain dup leaks into the child (the check can see a leak)');
  } finally {
    for (const k of kids) k.kill('SIGKILL');
    if (copy !== null) c.close(copy);
    if (plain >= 0) c.close(plain);
    s.close();
  }
});
