// A daemon stand-in for the kill -9 test (test/unit/image-import.test.ts): opens a Core on DATA, starts importing
// FILE's first MiB from a stream that then stalls forever, prints {"id"} once the work file holds data, and waits to
// be killed.
import { readFileSync, statSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';

const [data, file] = process.argv.slice(2) as [string, string];
const core = new Core({ dataDir: data, logger: pino({ level: 'silent' }) });
core.recover();
const body = new PassThrough();
const { image } = core.images.startImport('killed', body, 4 * 1024 * 1024);
body.write(readFileSync(file).subarray(0, 1024 * 1024));
const work = core.images.workFiles(image.id).raw;
const timer = setInterval(() => {
  try {
    if (statSync(work).size > 0) { clearInterval(timer); process.stdout.write(JSON.stringify({ id: image.id }) + '\n'); }
  } catch { /* not created yet */ }
}, 20);
setInterval(() => {}, 1 << 30);
