// Image upload with progress: POST /api/v1/images?name=NAME with the file as the application/octet-stream body,
// through XMLHttpRequest because fetch() tells nothing about how much of a request body has gone out. The daemon reads
// the stream as it arrives (it never opens a path the client names); its answer comes once the body is read: 201 ready,
// 202 importing (a qcow2 still converting), 400 {error, image} refused, 409 name taken, 413 too large.
import type { ImageRecord } from '../../shared/image.ts';
import { ApiError } from './client.ts';
import type { ApiConnection } from './connection.ts';

export interface UploadProgress { sent: number; total: number }

/** The XMLHttpRequest the browser has (injectable for tests). */
export type XhrFactory = () => XMLHttpRequest;

export interface UploadHandle {
  /** resolves with the record the daemon answered; rejects with ApiError (status 0: the connection failed) */
  done: Promise<ImageRecord>;
  abort(): void;
}

export function uploadImage(conn: ApiConnection, name: string, file: Blob, onProgress: (p: UploadProgress) => void,
  xhrFactory: XhrFactory = () => new XMLHttpRequest()): UploadHandle {
  const xhr = xhrFactory();
  const done = new Promise<ImageRecord>((resolve, reject) => {
    xhr.open('POST', `${conn.baseUrl}/api/v1/images?name=${encodeURIComponent(name)}`);
    xhr.withCredentials = true;
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('accept', 'application/json');
    if (conn.token) xhr.setRequestHeader('authorization', `Bearer ${conn.token}`);
    xhr.upload.onprogress = (e) => onProgress({ sent: e.loaded, total: e.lengthComputable ? e.total : file.size });
    xhr.onload = () => {
      let body: unknown = null;
      try { body = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { body = xhr.responseText; }
      if (xhr.status >= 200 && xhr.status < 300) { resolve(body as ImageRecord); return; }
      const msg = typeof body === 'object' && body && 'error' in body ? String((body as { error: unknown }).error)
        : typeof body === 'string' && body ? body : xhr.statusText;
      reject(new ApiError(xhr.status, `${xhr.status} ${msg}`, body));
    };
    xhr.onerror = () => reject(new ApiError(0, 'the upload failed: the connection to the daemon broke', null));
    xhr.onabort = () => reject(new ApiError(0, 'the upload was cancelled', null));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
