// Worker thread that writes the event log (events.db). Protocol (WriterMessage, from event-log-writer.ts):
//   {type:'rows', rows}  insert in one transaction, then publish the last id written in marks[WRITTEN]
//   {type:'close'}       close the database, then set marks[CLOSED] = 1
// marks[READY] = 1 once the database is open. Retention: every 5,000 rows written, events older than the newest
// `keep` are deleted (the log stays bounded on a busy segment: every DHCP exchange of every client is an event). Slots are updated with Atomics and notified, so the main thread can
// wait for them synchronously (a read must see every event appended before it). If a batch cannot be written the
// worker stops writing for good: it reports the error on `failures`, sets marks[FAILED] and wakes the waiters of WRITTEN
// without moving it (so no later batch can leave a gap behind the failed one); the main thread then writes everything it
// handed over itself.
import { parentPort, workerData } from 'node:worker_threads';
import { insertEventRows, openEventLogDb } from './event-log-db.ts';
import { CLOSED, FAILED, READY, WRITTEN, type WriterData, type WriterMessage, type WriterReply } from './event-log-protocol.ts';

const { path, marks: buffer, failures, keep } = workerData as WriterData;
const marks = new BigInt64Array(buffer);
const db = openEventLogDb(path);
Atomics.store(marks, READY, 1n);
Atomics.notify(marks, READY);
let failed = false;
/** rows written since the last retention pass; a pass runs every PRUNE_EVERY rows (and once at start) */
let sincePrune = Number.POSITIVE_INFINITY;
const PRUNE_EVERY = 5000;
const prune = db.prepare('DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?');

/** Retention: delete what is older than the newest `keep` events. Ids are dense (assigned in order, never reused). */
function pruneOld(): void {
  sincePrune = 0;
  prune.run(keep);
}

parentPort!.on('message', (m: WriterMessage) => {
  if (m.type === 'close') {
    db.close();
    Atomics.store(marks, CLOSED, 1n);
    Atomics.notify(marks, CLOSED);
    parentPort!.close();
    return;
  }
  if (failed || m.rows.length === 0) return;
  try {
    db.transaction(() => insertEventRows(db, m.rows))();
    sincePrune += m.rows.length;
    if (sincePrune >= PRUNE_EVERY) pruneOld();
  } catch (err) {
    failed = true;
    failures.postMessage({ type: 'failed', message: (err as Error).message } satisfies WriterReply);
    Atomics.store(marks, FAILED, 1n);
    Atomics.notify(marks, WRITTEN);
    return;
  }
  Atomics.store(marks, WRITTEN, BigInt(m.rows[m.rows.length - 1]![0] as number));
  Atomics.notify(marks, WRITTEN);
});
