// The CLI's way to the daemon's local socket (daemon/api/local-socket.ts): when RACKSEED_URL names a daemon on this
// host (a loopback address), `rackseed console` asks it for its unix socket and, when that is safe to use and this
// user may open it, types through it instead of TCP (a cheaper round trip per keystroke). Anything else — a remote
// daemon, an older daemon without the route (404), a path that fails a check below, a socket this user may not open
// (it is the daemon user's only: 0600) — means TCP, as before, without a word.
// The token goes to that socket, so it must be this daemon's: the daemon said so over the connection the token
// already goes to; its name is `api-<32 hex>.sock`, random per launch (a daemon reached through a tunnel names a
// socket that does not exist here, and no other daemon's can be guessed); the socket and its folder belong to root or
// to this user and the folder is writable by no one else (nobody else could have put another socket there); a
// symlink is not followed. Should the console's WebSocket still fail there before it opens, it goes over TCP
// (console.ts). RACKSEED_LOCAL_SOCKET=0 keeps the CLI on TCP (comparisons, debugging).
import { lstatSync } from 'node:fs';
import { basename, dirname, isAbsolute } from 'node:path';
import type { LocalSocketInfo } from '../../shared/api.ts';
import type { DaemonClient } from './client.ts';
import { isLoopbackPeer, LOCAL_SOCKET_NAME, LOCAL_SOCKET_PATH_CHARS, MAX_SOCKET_PATH, probeSocket } from '../api/local-socket.ts';

/** Whether RACKSEED_URL's host is this host's loopback (127/8, ::1, localhost). */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try { host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase(); } catch { return false; }
  return host === 'localhost' || isLoopbackPeer(host);
}

/**
 * Why the unix socket at `path` may not be trusted with the token, or null when it may: an absolute path to a socket
 * named `api-<32 hex>.sock` (not a symlink) owned by root or `uid`, in a real folder owned by root or `uid` that group
 * and others cannot write; only characters a `ws+unix:` URL takes as they are.
 */
export function localSocketProblem(path: string, uid = process.geteuid?.() ?? -1): string | null {
  if (!isAbsolute(path)) return `${path} is not an absolute path`;
  if (!LOCAL_SOCKET_NAME.test(basename(path))) return `${path} is not named as a daemon's local socket (api-<32 hex>.sock)`;
  if (!LOCAL_SOCKET_PATH_CHARS.test(path) || Buffer.byteLength(path) > MAX_SOCKET_PATH) return `${path} has characters outside [A-Za-z0-9._/+-] or is too long`;
  const owners = new Set([0, uid]);
  const dir = dirname(path);
  let d;
  try { d = lstatSync(dir); } catch (err) { return `${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`; }
  if (!d.isDirectory()) return `${dir} is not a folder (or is a symlink)`;
  if (!owners.has(d.uid)) return `${dir} belongs to uid ${d.uid}`;
  if ((d.mode & 0o022) !== 0) return `${dir} is writable by group or others`;
  let s;
  try { s = lstatSync(path); } catch (err) { return `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`; }
  if (!s.isSocket()) return `${path} is not a socket`;
  if (!owners.has(s.uid)) return `${path} belongs to uid ${s.uid}`;
  return null;
}

/**
 * `unix:/path` of the daemon's local socket when this CLI should use it (module comment), else null (use
 * `client.o.url`). Never throws.
 */
export async function localDaemonUrl(client: DaemonClient, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (env.RACKSEED_LOCAL_SOCKET === '0' || !isLoopbackUrl(client.o.url)) return null;
  let info: LocalSocketInfo;
  try { info = await client.call<LocalSocketInfo>('GET', '/api/v1/local-socket'); } catch { return null; }
  const path = typeof info?.path === 'string' ? info.path : null;
  if (!path || localSocketProblem(path) !== null) return null;
  // EACCES for another user's 0600 socket: TCP
  return (await probeSocket(path)) === 'up' ? `unix:${path}` : null;
}
