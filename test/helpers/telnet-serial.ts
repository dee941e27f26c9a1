// Test helper: the host side of a serial line that ipmi_sim's `sol "telnet:HOST:PORT"` connects to (as a
// telnet client). Strips telnet negotiation, counts IAC BREAK, records what arrived; write() sends host output
// (0xFF escaped). The lab puts QEMU's serial chardev on such a port instead.
import net from 'node:net';

/** The host side of the serial line: strips telnet commands, records what arrived and breaks. */
export class FakeSerial {
  received = Buffer.alloc(0);
  breaks = 0;
  /** true: every character that arrives is written back at once, like a tty with echo on */
  echo = false;
  sock: net.Socket | null = null;
  /** process.hrtime.bigint() when the last chunk arrived from the BMC (0n: none yet) — bench/sol.ts splits latencies there */
  lastDataAt = 0n;
  server: net.Server;
  private iac: number[] = [];
  constructor() {
    this.server = net.createServer((s) => {
      this.sock = s;
      s.on('data', (d: Buffer) => { this.lastDataAt = process.hrtime.bigint(); this.feed(d); });
      s.on('error', () => undefined);
    });
  }
  private feed(d: Buffer): void {
    const out: number[] = [];
    for (const c of d) {
      if (this.iac.length === 0) { if (c === 255) this.iac.push(c); else out.push(c); continue; }
      this.iac.push(c);
      const cmd = this.iac[1];
      if (cmd === 255) { out.push(255); this.iac = []; } else if (cmd === 243) { this.breaks++; this.iac = []; } else if (cmd >= 251 && cmd <= 254) {
        if (this.iac.length === 3) this.iac = [];
      } else this.iac = [];
    }
    this.received = Buffer.concat([this.received, Buffer.from(out)]);
    if (this.echo && out.length) this.write(Buffer.from(out));
  }
  /** writes host output (telnet-escaped) */
  write(b: Buffer): void {
    const esc: number[] = [];
    for (const c of b) { esc.push(c); if (c === 255) esc.push(255); }
    this.sock!.write(Buffer.from(esc));
  }
  listen(port: number): Promise<void> { return new Promise((r) => this.server.listen(port, '127.0.0.1', () => r())); }
  close(): void { this.sock?.destroy(); this.server.close(); }
}

