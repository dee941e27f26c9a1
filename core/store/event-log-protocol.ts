// What the event log writer (main thread, event-log-writer.ts) and its worker (event-log-worker.ts) exchange.
import type { MessagePort } from 'node:worker_threads';
import type { EventRow } from './event-log-db.ts';

/** main → worker: insert these rows in one transaction / close the database and stop */
export type WriterMessage = { type: 'rows'; rows: EventRow[] } | { type: 'close' };
/** worker → main, on `failures`, posted before FAILED is set: a batch could not be written; nothing more is */
export type WriterReply = { type: 'failed'; message: string };
/** the worker's workerData; `marks` backs a BigInt64Array with the slots below; `failures` is read synchronously
 *  (receiveMessageOnPort) by a main thread that finds FAILED set */
export interface WriterData {
  path: string; marks: SharedArrayBuffer; failures: MessagePort;
  /** retention: the newest `keep` events are kept; older ones are deleted as new ones arrive (oldest first) */
  keep: number;
}
/** slots of the shared BigInt64Array: last id written, closed, ready (database open), failed */
export const WRITTEN = 0, CLOSED = 1, READY = 2, FAILED = 3;
/** bytes for the slots */
export const MARKS_BYTES = 32;
