// Image rows (table `images`, migration in core/db.ts): one per imported image, whatever its state. Progress is
// not stored (library.ts keeps it in memory while an import runs).
import { prepared } from '../store/prepared.ts';
import type { Db } from '../db.ts';
import type { BootMode, ImageFailure, ImageRecord, ImageSourceFormat, ImageState } from '../../shared/image.ts';

interface ImageRow {
  id: string; name: string; state: string; source_format: string | null; source_bytes: number; virtual_size: number | null;
  raw_size: number | null; disk_bytes: number | null; sha256: string | null; boot_modes: string; error: string | null; failure: string | null;
  created_at: number; updated_at: number;
}

/** Stored fields (a record without its live progress). */
export type StoredImage = Omit<ImageRecord, 'progress'>;

export type ImagePatch = Partial<Omit<StoredImage, 'id' | 'createdAt'>>;

function toImage(r: ImageRow): StoredImage {
  let bootModes: BootMode[] = [];
  try { bootModes = JSON.parse(r.boot_modes) as BootMode[]; } catch { /* kept empty */ }
  return {
    id: r.id, name: r.name, state: r.state as ImageState, sourceFormat: r.source_format as ImageSourceFormat | null, sourceBytes: r.source_bytes,
    virtualSize: r.virtual_size, rawSize: r.raw_size, diskBytes: r.disk_bytes, sha256: r.sha256, bootModes, error: r.error,
    failure: r.failure as ImageFailure | null, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

const params = (i: StoredImage) => ({
  id: i.id, name: i.name, state: i.state, sourceFormat: i.sourceFormat, sourceBytes: i.sourceBytes, virtualSize: i.virtualSize, rawSize: i.rawSize,
  diskBytes: i.diskBytes, sha256: i.sha256, bootModes: JSON.stringify(i.bootModes), error: i.error, failure: i.failure,
  createdAt: i.createdAt, updatedAt: i.updatedAt,
});

export class ImageStore {
  constructor(private readonly db: Db) {}

  /** Insert a new row; a name already used throws SQLite's UNIQUE constraint error (callers check first). */
  insert(i: StoredImage): StoredImage {
    prepared(this.db, `INSERT INTO images (id, name, state, source_format, source_bytes, virtual_size, raw_size, disk_bytes, sha256, boot_modes,
      error, failure, created_at, updated_at) VALUES (@id, @name, @state, @sourceFormat, @sourceBytes, @virtualSize, @rawSize, @diskBytes, @sha256,
      @bootModes, @error, @failure, @createdAt, @updatedAt)`).run(params(i));
    return i;
  }

  /** Apply `patch` (updatedAt = now unless given); returns the row after, or null when it is gone. */
  update(id: string, patch: ImagePatch, now = Date.now()): StoredImage | null {
    const cur = this.get(id);
    if (!cur) return null;
    const next: StoredImage = { ...cur, ...patch, updatedAt: patch.updatedAt ?? now };
    prepared(this.db, `UPDATE images SET name = @name, state = @state, source_format = @sourceFormat, source_bytes = @sourceBytes,
      virtual_size = @virtualSize, raw_size = @rawSize, disk_bytes = @diskBytes, sha256 = @sha256, boot_modes = @bootModes, error = @error,
      failure = @failure, updated_at = @updatedAt WHERE id = @id`).run(params(next));
    return next;
  }

  get(id: string): StoredImage | null {
    const r = prepared(this.db, 'SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    return r ? toImage(r) : null;
  }

  byName(name: string): StoredImage | null {
    const r = prepared(this.db, 'SELECT * FROM images WHERE name = ?').get(name) as ImageRow | undefined;
    return r ? toImage(r) : null;
  }

  /** A ready image with this digest (the oldest, when the same bytes were imported under two names). */
  readyBySha256(sha256: string): StoredImage | null {
    const r = prepared(this.db, "SELECT * FROM images WHERE sha256 = ? AND state = 'ready' ORDER BY created_at LIMIT 1").get(sha256) as ImageRow | undefined;
    return r ? toImage(r) : null;
  }

  /** Oldest first. */
  list(): StoredImage[] {
    return (prepared(this.db, 'SELECT * FROM images ORDER BY created_at, name').all() as ImageRow[]).map(toImage);
  }

  delete(id: string): boolean {
    return prepared(this.db, 'DELETE FROM images WHERE id = ?').run(id).changes > 0;
  }
}
