// One serial console per node, shared by every viewer: the first viewer opens it (SOL through the node's BMC),
// every viewer sees the same output, one viewer at a time may type (the writer; the others are read-only until
// it releases or a viewer takes over), and everything the console prints goes to the node's rolling log
// (console-log.ts). The last viewer leaving closes the console (SOL deactivated), so the BMC is free for others.
import { EventEmitter } from 'node:events';
import { ConsoleLog, CONSOLE_LOG_LIMIT } from './console-log.ts';

/** What a console link must do (the IPMI SolConsole does exactly this). */
export interface ConsoleLink {
  write(data: Uint8Array | string): void;
  sendBreak(): void;
  on(event: 'data', fn: (d: Buffer) => void): unknown;
  on(event: 'close', fn: (reason: string | null) => void): unknown;
  close(): Promise<void>;
}

export type ConsoleOpener = (nodeId: string) => Promise<ConsoleLink>;

export interface Viewer {
  /** who (user name, "cli", …) — shown to the others */
  who: string;
  onData(d: Buffer): void;
  /** the console ended: the BMC deactivated it, the link failed, or the manager shut down */
  onClose(reason: string | null): void;
  /** the writer changed (null = nobody types) */
  onWriter?(writer: string | null, you: boolean): void;
}

export class ConsoleReadOnlyError extends Error {
  override readonly name = 'ConsoleReadOnlyError';
  constructor(readonly writer: string) { super(`the console is read-only for you: ${writer} is typing (take over to write)`); }
}

interface NodeConsole {
  nodeId: string;
  link: ConsoleLink | null;
  opening: Promise<ConsoleLink> | null;
  viewers: Set<Attachment>;
  writer: Attachment | null;
  log: ConsoleLog;
}

export class Attachment {
  detached = false;
  constructor(private readonly mgr: ConsoleManager, private readonly nc: NodeConsole, readonly viewer: Viewer) {}
  get isWriter(): boolean { return this.nc.writer === this; }
  /** Types into the console; ConsoleReadOnlyError when another viewer is the writer. Becomes the writer when nobody is. */
  write(data: Uint8Array | string): void {
    if (this.detached) return;
    if (this.nc.writer && this.nc.writer !== this) throw new ConsoleReadOnlyError(this.nc.writer.viewer.who);
    if (!this.nc.writer) this.mgr.setWriter(this.nc, this);
    this.nc.link?.write(data);
  }
  sendBreak(): void {
    if (this.nc.writer && this.nc.writer !== this) throw new ConsoleReadOnlyError(this.nc.writer.viewer.who);
    this.nc.link?.sendBreak();
  }
  /** Takes the keyboard from whoever has it. */
  takeOver(): void { if (!this.detached) this.mgr.setWriter(this.nc, this); }
  release(): void { if (this.nc.writer === this) this.mgr.setWriter(this.nc, null); }
  /** The last `bytes` of the node's console log (what the viewer missed). */
  history(bytes = CONSOLE_LOG_LIMIT): Buffer { return this.nc.log.tail(bytes); }
  detach(): Promise<void> { return this.mgr.detach(this.nc, this); }
}

export class ConsoleManager extends EventEmitter {
  private readonly consoles = new Map<string, NodeConsole>();
  private readonly logs = new Map<string, ConsoleLog>();

  constructor(private readonly o: { logDir: string; open: ConsoleOpener; logLimit?: number }) { super(); }

  private logFor(nodeId: string): ConsoleLog {
    let l = this.logs.get(nodeId);
    if (!l) { l = new ConsoleLog(this.o.logDir, nodeId, this.o.logLimit); this.logs.set(nodeId, l); }
    return l;
  }

  /** The node's log (also when no console is open): for the boot timeline's "last lines" on a failed stage. */
  lastLines(nodeId: string, n = 20): string[] { return this.logFor(nodeId).lastLines(n); }

  /** The last `bytes` of the node's log (at most the log's limit), also when no console is open. */
  tail(nodeId: string, bytes = CONSOLE_LOG_LIMIT): Buffer { return this.logFor(nodeId).tail(bytes); }

  /** Viewers of a node's console (who, and who types). */
  viewers(nodeId: string): { who: string; writer: boolean }[] {
    const nc = this.consoles.get(nodeId);
    return nc ? [...nc.viewers].map((a) => ({ who: a.viewer.who, writer: nc.writer === a })) : [];
  }

  /**
   * Attaches a viewer to the node's console, opening it when it is the first. Rejects with the opener's error
   * (SolInUseError naming the holder, SolUnavailableError, a BmcError) — then nothing stays attached.
   */
  async attach(nodeId: string, viewer: Viewer): Promise<Attachment> {
    let nc = this.consoles.get(nodeId);
    if (!nc) {
      nc = { nodeId, link: null, opening: null, viewers: new Set(), writer: null, log: this.logFor(nodeId) };
      this.consoles.set(nodeId, nc);
    }
    const a = new Attachment(this, nc, viewer);
    nc.viewers.add(a);
    try {
      if (!nc.link) {
        nc.opening ??= this.open(nc);
        await nc.opening;
      }
    } catch (err) {
      nc.viewers.delete(a);
      a.detached = true;
      throw err;
    }
    viewer.onWriter?.(nc.writer?.viewer.who ?? null, false);
    return a;
  }

  private async open(nc: NodeConsole): Promise<ConsoleLink> {
    try {
      const link = await this.o.open(nc.nodeId);
      nc.link = link;
      link.on('data', (d: Buffer) => {
        nc.log.append(d);
        for (const a of nc.viewers) { try { a.viewer.onData(d); } catch { /* a viewer's failure is its own */ } }
      });
      link.on('close', (reason: string | null) => this.ended(nc, link, reason));
      if (nc.viewers.size === 0) await this.shut(nc);
      return link;
    } catch (err) {
      if (this.consoles.get(nc.nodeId) === nc && nc.viewers.size <= 1) this.consoles.delete(nc.nodeId);
      throw err;
    } finally {
      nc.opening = null;
    }
  }

  private ended(nc: NodeConsole, link: ConsoleLink, reason: string | null): void {
    if (nc.link !== link) return;
    nc.link = null;
    if (this.consoles.get(nc.nodeId) === nc) this.consoles.delete(nc.nodeId);
    for (const a of nc.viewers) { a.detached = true; try { a.viewer.onClose(reason); } catch { /* ignore */ } }
    nc.viewers.clear();
    nc.writer = null;
  }

  setWriter(nc: NodeConsole, a: Attachment | null): void {
    if (nc.writer === a) return;
    nc.writer = a;
    for (const v of nc.viewers) v.viewer.onWriter?.(a?.viewer.who ?? null, v === a);
  }

  async detach(nc: NodeConsole, a: Attachment): Promise<void> {
    if (a.detached) return;
    a.detached = true;
    nc.viewers.delete(a);
    if (nc.writer === a) this.setWriter(nc, null);
    if (nc.viewers.size === 0 && nc.link) await this.shut(nc);
  }

  private async shut(nc: NodeConsole): Promise<void> {
    const link = nc.link;
    nc.link = null;
    if (this.consoles.get(nc.nodeId) === nc) this.consoles.delete(nc.nodeId);
    await link?.close();
  }

  /** Closes every console (SOL deactivated) and the logs. */
  async close(): Promise<void> {
    for (const nc of [...this.consoles.values()]) {
      for (const a of nc.viewers) { a.detached = true; try { a.viewer.onClose('the daemon is shutting down'); } catch { /* ignore */ } }
      nc.viewers.clear();
      await this.shut(nc);
    }
    for (const l of this.logs.values()) l.close();
    this.logs.clear();
  }
}
