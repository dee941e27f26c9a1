// A TFTP handler serving regular files from one root directory, read at offsets through a FileHandle.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { TftpHandlerError, type TftpHandler, type TftpRangeFile } from './handler.ts';
import { resolveUnderRoot } from './safe-path.ts';

/**
 * Serve files under `root`. Traversal ("..", absolute paths, symlinks escaping the root) → TftpHandlerError
 * code 2 (Access violation); missing files and non-regular files (directories, devices) → null (File not found).
 */
export function createFilesystemHandler(root: string): TftpHandler {
  return async (path) => {
    const r = await resolveUnderRoot(root, path);
    if (r.kind === 'refused') throw TftpHandlerError.accessViolation(`Access violation: ${r.reason}`);
    if (r.kind === 'missing') return null;
    let fh;
    try {
      fh = await open(r.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'EACCES' || code === 'ELOOP' || code === 'EPERM') throw TftpHandlerError.accessViolation(`Access violation: ${code}`);
      throw err;
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      return null;
    }
    const file: TftpRangeFile = {
      kind: 'ranges',
      size: st.size,
      read: async (buffer, position) => (await fh.read(buffer, 0, buffer.length, position)).bytesRead,
      close: () => fh.close(),
      fd: fh.fd,
    };
    return file;
  };
}
