// Typing into a node's serial console (nodes with `serialSocket`): wait for text, send keys — how a test
// drives iPXE's command line (Ctrl-B) the way an engineer would at a real console.
import { connect, type Socket } from 'node:net';
import { sleep } from './processes.ts';

export class SerialConsole {
  private buf = '';
  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => { this.buf += d.toString('latin1'); });
    sock.on('error', () => { /* the node powered off */ });
  }

  /** Connect to `path` (QEMU creates it at start; retried until `timeoutMs`). */
  static async open(path: string, timeoutMs = 10_000): Promise<SerialConsole> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = connect(path);
          c.once('connect', () => resolve(c));
          c.once('error', reject);
        });
        return new SerialConsole(s);
      } catch (err) {
        if (Date.now() > end) throw new Error(`serial console ${path}: ${(err as Error).message}`);
        await sleep(100);
      }
    }
  }

  /** Everything received since `open` (ANSI sequences kept). */
  get text(): string { return this.buf; }

  /** Wait until the output received after offset `from` matches `re`; returns the offset just past the match. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<number> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const tail = this.buf.slice(from);
      const m = re.exec(tail);
      if (m) return from + m.index + m[0].length;
      if (Date.now() > end) throw new Error(`serial console: no ${re} within ${timeoutMs} ms; last output: ${JSON.stringify(tail.slice(-400))}`);
      await sleep(50);
    }
  }

  send(keys: string): void { this.sock.write(keys, 'latin1'); }

  /** Type `keys` one at a time, like a person: a guest UART without FIFO drops characters sent in a burst. */
  async type(keys: string, delayMs = 40): Promise<void> {
    for (const k of keys) { this.send(k); await sleep(delayMs); }
  }

  close(): void { this.sock.destroy(); }
}

/**
 * At the iPXE ROM's "Press Ctrl-B" prompt, open its command line, configure the NIC by DHCP and chain
 * `url` (e.g. tftp://10.240.0.1/undionly.kpxe). Resolves once the chain command is typed.
 */
export async function chainFromRom(con: SerialConsole, url: string, timeoutMs = 60_000): Promise<void> {
  let at = await con.waitFor(/Press Ctrl-B for the iPXE command line/, timeoutMs);
  con.send('\x02');
  at = await con.waitFor(/iPXE> /, 10_000, at);
  await con.type('dhcp\r');
  await con.waitFor(/ ok\s[\s\S]*?iPXE> /, 30_000, at);
  await con.type(`chain ${url}\r`);
}
