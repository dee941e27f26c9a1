// The hand-tuned reference chain's HTTP side (boot-chain bench, path b/c): serves the same iPXE discovery
// script RackSeed serves (core/boot/ipxe-script.ts), the same kernel and initrd, and receives the agent's
// inventory. Runs inside the bench's namespace:
//   ip netns exec NS node --import tsx bench/lib/boot-receiver.ts '<ReceiverConfig as JSON>'
// Prints one JSON line per event on stdout: {"event":"ready"|"script"|"kernel"|"kernel-done"|"initrd"|"initrd-done"|"inventory","at":ms since epoch}
// ("X-done": the last byte of file X was handed to the kernel).
// /agent/v1/next always answers poweroff, so the node turns itself off after reporting.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { discoveryScript } from '../../core/boot/ipxe-script.ts';

export interface ReceiverConfig {
  address: string;
  port: number;
  kernel: string;
  initrd: string;
  token: string;
  nodeId: string;
  mac: string;
}

const cfg = JSON.parse(process.argv[2] ?? '') as ReceiverConfig;
const base = `http://${cfg.address}:${cfg.port}`;
const emit = (event: string, extra: Record<string, unknown> = {}): void => { process.stdout.write(`${JSON.stringify({ event, at: Date.now(), ...extra })}\n`); };

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  const file = (name: 'kernel' | 'initrd', p: string): void => {
    emit(name);
    res.on('finish', () => emit(`${name}-done`));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(p).size });
    createReadStream(p).pipe(res);
  };
  if (req.method === 'GET' && path === '/boot.ipxe') {
    emit('script');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(discoveryScript({ base, kernelPath: '/vmlinuz', initrdPath: '/initrd.img', nodeId: cfg.nodeId, mac: cfg.mac, token: cfg.token }));
  } else if (req.method === 'GET' && path === '/vmlinuz') file('kernel', cfg.kernel);
  else if (req.method === 'GET' && path === '/initrd.img') file('initrd', cfg.initrd);
  else if (path.startsWith('/agent/v1/') && req.headers.authorization !== `Bearer ${cfg.token}`) { res.writeHead(401).end(); }
  else if (req.method === 'POST' && path === '/agent/v1/inventory') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let ok = false;
      try { ok = typeof JSON.parse(body.toString('utf8')) === 'object'; } catch { /* reported below */ }
      emit('inventory', { bytes: body.length, json: ok });
      res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' }).end('{}');
    });
  } else if (req.method === 'GET' && path === '/agent/v1/next') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"action":"poweroff"}');
  } else res.writeHead(404).end();
});
server.listen(cfg.port, cfg.address, () => emit('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
