// RackSeed's HTTP boot server as the daemon builds it (buildHttpBootServer + the agent routes + registerImageServing,
// over a Core on a data dir), serving one image imported through the image library, for bench/images.ts. Runs in its
// own process so the benchmark's clients never share its event loop.
//   node --import tsx bench/lib/image-server.ts --data DIR --file IMAGE [--port 0]
// Prints one JSON line {port, sha256, size, rawPath} once listening on 127.0.0.1; stops on SIGTERM.
import { createReadStream, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { buildHttpBootServer } from '../../netboot/http/http-boot.ts';
import { registerAgentRoutes } from '../../daemon/agent-routes.ts';
import { registerImageServing } from '../../daemon/image-serving.ts';

const { values } = parseArgs({ options: { data: { type: 'string' }, file: { type: 'string' }, port: { type: 'string', default: '0' } } });
if (!values.data || !values.file) throw new Error('usage: image-server.ts --data DIR --file IMAGE [--port N]');
const logger = pino({ level: 'warn' });
const core = new Core({ dataDir: values.data, logger });
core.recover();
let img = core.images.get('bench');
if (!img || img.state !== 'ready') {
  if (img) await core.images.remove('bench');
  img = await core.images.startImport('bench', createReadStream(values.file, { highWaterMark: 1024 * 1024 }), statSync(values.file).size).done;
  if (img.state !== 'ready') throw new Error(`import failed: ${img.error}`);
}
const app = await buildHttpBootServer({
  logger, scriptFor: () => null, filesRoot: core.runDir!, ipxeRoot: core.runDir!,
  registerExtra: async (a) => { await registerAgentRoutes(a, core); await registerImageServing(a, core); },
});
await app.listen({ host: '127.0.0.1', port: Number(values.port) });
const port = (app.server.address() as { port: number }).port;
process.stdout.write(JSON.stringify({ port, sha256: img.sha256, size: img.rawSize, rawPath: core.images.rawPath(img) }) + '\n');
process.on('SIGTERM', () => { void app.close().then(() => { core.close(); process.exit(0); }); });
