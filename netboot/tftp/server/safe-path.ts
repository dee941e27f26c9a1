// Maps a client-supplied path (TFTP file name, HTTP /files/* path) to a real file under a root directory,
// refusing anything that could leave the root: ".." segments, absolute paths, and symlinks whose real path
// is outside the root (the realpath must stay under the root's realpath).
import { realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';

export type SafePathResult =
  | { kind: 'file'; path: string }
  | { kind: 'missing' }
  | { kind: 'refused'; reason: string };

/**
 * Resolve `requestPath` under `root`. Backslashes count as separators (some PXE ROMs send DOS paths); empty and
 * "." segments are ignored. `missing` means nothing exists there (or the root itself does not exist);
 * `refused` means the request tried to escape the root. The returned path is the realpath.
 * Not a guarantee against a concurrent attacker swapping symlinks between check and open; the root is ours.
 */
export async function resolveUnderRoot(root: string, requestPath: string): Promise<SafePathResult> {
  if (requestPath.includes('\0')) return { kind: 'refused', reason: 'NUL byte in path' };
  const p = requestPath.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return { kind: 'refused', reason: 'absolute path' };
  const segments = p.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { kind: 'refused', reason: 'parent directory segment ("..")' };
  let rootReal: string;
  try {
    rootReal = await realpath(root);
  } catch {
    return { kind: 'missing' };
  }
  let real: string;
  try {
    real = await realpath(join(rootReal, ...segments));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'refused', reason: 'symlink loop' };
    throw err;
  }
  if (real !== rootReal && !real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep)) {
    return { kind: 'refused', reason: 'symlink leads outside the root' };
  }
  return { kind: 'file', path: real };
}
