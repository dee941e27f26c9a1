// Worker thread that writes the event log (events.db). Protocol (WriterMessage, from the EventStore's writer):
//   {type:'rows', rows}  insert in one transaction, then publish the last id written in `written[0]`
//   {type:'close'}       close the database, then set `written[1]` = 1
// Both slots are updated with Atomics and notified, so the main thread can wait for them synchronously (a read
// must see every event appended before it). A batch that fails is reported ({type:'error'}) and still marked
// written, so no reader waits on it; the main thread then writes it itself.
import { parentPort, workerData } from 'node:worker_threads';
import { insertEventRows, openEventLogDb, type EventRow } from './event-log-db.ts';

export type WriterMessage = { type: 'rows'; rows: EventRow[] } | { type: 'close' };
export type WriterReply = { type: 'error'; message: string; rows: EventRow[] };
export interface WriterData { path: string; written: SharedArrayBuffer }

const { path, written } = workerData as WriterData;
const marks = new BigInt64Array(written);
const db = openEventLogDb(path);

parentPort!.on('message', (m: WriterMessage) => {
  if (m.type === 'close') {
    db.close();
    Atomics.store(marks, 1, 1n);
    Atomics.notify(marks, 1);
    parentPort!.close();
    return;
  }
  if (m.rows.length === 0) return;
  try {
    db.transaction(() => insertEventRows(db, m.rows))();
  } catch (err) {
    parentPort!.postMessage({ type: 'error', message: (err as Error).message, rows: m.rows } satisfies WriterReply);
  }
  Atomics.store(marks, 0, BigInt(m.rows[m.rows.length - 1]![0] as number));
  Atomics.notify(marks, 0);
});
