// One serial console per node, shared by every viewer: the first viewer opens it (SOL through the node's BMC),
// every viewer sees the same output, one viewer at a time may type (the writer; the others are read-only until
// it releases or a viewer takes over), and everything the console prints goes to the node's rolling log
// (console-log.ts). The last viewer leaving closes the console (SOL deactivated), so the BMC is free for others.
// A node's log holds a file descriptor only while its console is open; reading the log of a node without an open
// console (the boot timeline's "last lines", `console --log`) opens the file for that read only, so a hall of
// 1000 nodes holds as many log descriptors as it has open consoles.
// Typing or a break on a console that is not open (the viewer detached, or the console ended) throws
// ConsoleClosedError saying so; typing faster than the BMC takes it throws the link's SolInputOverflowError.
// `admit` is asked on every attach, also when the console is open already (a node handed to an engine is refused
// to new viewers at once); end() closes a node's console under its viewers with a reason (the hand-off's pivot:
// node-consoles.ts).
import { EventEmitter } from 'node:events';
import { ConsoleLog, CONSOLE_LOG_LIMIT } from './console-log.ts';

/** What a console link must do (the IPMI SolConsole does exactly this). */
export interface ConsoleLink {
  write(data: Uint8Array | string): void;
  sendBreak(): void;
  /** typed bytes the BMC has not acknowledged yet */
  readonly backlog: number;
  on(event: 'data', fn: (d: Buffer) => void): unknown;
  on(event: 'close', fn: (reason: string | null) => void): unknown;
  /** the backlog fell to 0 */
  on(event: 'drain', fn: () => void): unknown;
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

/** Typing or a break through an attachment whose console is not open any more (`reason`: why, when it ended by itself). */
export class ConsoleClosedError extends Error {
  override readonly name = 'ConsoleClosedError';
  constructor(readonly nodeId: string, what: string, readonly reason: string | null) {
    super(`cannot ${what}: the console of ${nodeId} is not open${reason ? ` (it ended: ${reason})` : ' (this viewer left it)'}; open the console again`);
  }
}

interface NodeConsole {
  nodeId: string;
  link: ConsoleLink | null;
  opening: Promise<ConsoleLink> | null;
  viewers: Set<Attachment>;
  writer: Attachment | null;
  log: ConsoleLog;
  /** whenDrained() callers waiting for the link's backlog to reach 0 (told `false` when the console ends) */
  drainWaiters: ((drained: boolean) => void)[];
}

export class Attachment {
  detached = false;
  /** why the console ended under this viewer (set when it ended by itself, not when the viewer detached) */
  endedReason: string | null = null;
  constructor(private readonly mgr: ConsoleManager, private readonly nc: NodeConsole, readonly viewer: Viewer) {}
  get isWriter(): boolean { return this.nc.writer === this; }
  /** The open link, or ConsoleClosedError saying why there is none. */
  private linkFor(what: string): ConsoleLink {
    if (this.detached || !this.nc.link) throw new ConsoleClosedError(this.nc.nodeId, what, this.endedReason);
    return this.nc.link;
  }
  /**
   * Types into the console; ConsoleReadOnlyError when another viewer is the writer, ConsoleClosedError when the
   * console is not open, the link's error when it refuses (SolInputOverflowError: the BMC lags). Becomes the
   * writer when nobody is.
   */
  write(data: Uint8Array | string): void {
    const link = this.linkFor('type into it');
    if (this.nc.writer && this.nc.writer !== this) throw new ConsoleReadOnlyError(this.nc.writer.viewer.who);
    if (!this.nc.writer) this.mgr.setWriter(this.nc, this);
    this.mgr.traffic++;
    link.write(data);
  }
  /** Sends a serial break; the same refusals as write(). */
  sendBreak(): void {
    const link = this.linkFor('send a break');
    if (this.nc.writer && this.nc.writer !== this) throw new ConsoleReadOnlyError(this.nc.writer.viewer.who);
    link.sendBreak();
  }
  /** Takes the keyboard from whoever has it. */
  takeOver(): void { if (!this.detached) this.mgr.setWriter(this.nc, this); }
  release(): void { if (this.nc.writer === this) this.mgr.setWriter(this.nc, null); }
  /**
   * Resolves once everything typed into the console so far has been acknowledged by the BMC (at once when nothing
   * waits): true, or false when the console ended (or this viewer left) first. A client with more to type than the
   * BMC may have waiting (SolInputOverflowError past 64 KiB) sends a part, waits for this, sends the next.
   */
  whenDrained(): Promise<boolean> {
    if (this.detached || !this.nc.link) return Promise.resolve(false);
    if (this.nc.link.backlog === 0) return Promise.resolve(true);
    return new Promise((resolve) => this.nc.drainWaiters.push(resolve));
  }
  /** The last `bytes` of the node's console log (what the viewer missed). */
  history(bytes = CONSOLE_LOG_LIMIT): Buffer { return this.nc.log.tail(bytes); }
  detach(): Promise<void> { return this.mgr.detach(this.nc, this); }
}

export class ConsoleManager extends EventEmitter {
  private readonly consoles = new Map<string, NodeConsole>();
  /** keystroke writes plus output chunks of every console so far: a counter that moves while consoles are in use */
  traffic = 0;

  /**
   * `admit(nodeId)` throws to refuse a viewer (asked before every attach; the error reaches the caller as it is);
   * `open` makes the link of the first viewer.
   */
  constructor(private readonly o: { logDir: string; open: ConsoleOpener; logLimit?: number; admit?: (nodeId: string) => void }) { super(); }

  /** True while the node's console is open or opening. */
  isOpen(nodeId: string): boolean { return this.consoles.has(nodeId); }

  /**
   * Ends the node's console for every viewer: each hears onClose(`reason`) (and then gets ConsoleClosedError with
   * it on typing), SOL is deactivated. A console still opening is ended once its link is up. False when none was open.
   */
  async end(nodeId: string, reason: string): Promise<boolean> {
    const nc = this.consoles.get(nodeId);
    if (!nc) return false;
    if (!nc.link && nc.opening) { try { await nc.opening; } catch { return true; /* it failed by itself: nobody stays */ } }
    const viewers = [...nc.viewers];
    nc.viewers.clear();
    nc.writer = null;
    for (const a of viewers) { a.detached = true; a.endedReason = reason; try { a.viewer.onClose(reason); } catch { /* ignore */ } }
    await this.shut(nc);
    return true;
  }

  /** The open console's log, or one that reads the file without keeping a descriptor. */
  private logFor(nodeId: string): ConsoleLog {
    return this.consoles.get(nodeId)?.log ?? new ConsoleLog(this.o.logDir, nodeId, this.o.logLimit);
  }

  /** Forgets a node's console and lets its log's file descriptor go. */
  private forget(nc: NodeConsole): void {
    if (this.consoles.get(nc.nodeId) === nc) this.consoles.delete(nc.nodeId);
    this.drained(nc, false);
    nc.log.close();
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
    this.o.admit?.(nodeId);
    let nc = this.consoles.get(nodeId);
    if (!nc) {
      nc = { nodeId, link: null, opening: null, viewers: new Set(), writer: null, log: new ConsoleLog(this.o.logDir, nodeId, this.o.logLimit), drainWaiters: [] };
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
        if (nc.link !== link) return; // after the console was shut: nothing to log (the log's descriptor is gone)
        this.traffic++;
        // the viewers first (the echo of a keystroke leaves before anything else is done), then the log, in the
        // same turn: a viewer attaching now reads it in its backlog (the log writes it to disk a little later)
        for (const a of nc.viewers) { try { a.viewer.onData(d); } catch { /* a viewer's failure is its own */ } }
        try { nc.log.append(d); } catch { /* not logged; the viewers have it */ }
      });
      link.on('close', (reason: string | null) => this.ended(nc, link, reason));
      link.on('drain', () => { if (nc.link === link) this.drained(nc, true); });
      if (nc.viewers.size === 0) await this.shut(nc);
      return link;
    } catch (err) {
      if (nc.viewers.size <= 1) this.forget(nc);
      throw err;
    } finally {
      nc.opening = null;
    }
  }

  /** Tells every whenDrained() caller: true (the backlog is 0) or false (the console ended). */
  private drained(nc: NodeConsole, ok: boolean): void {
    const waiters = nc.drainWaiters;
    nc.drainWaiters = [];
    for (const w of waiters) w(ok);
  }

  private ended(nc: NodeConsole, link: ConsoleLink, reason: string | null): void {
    if (nc.link !== link) return;
    nc.link = null;
    this.forget(nc);
    for (const a of nc.viewers) { a.detached = true; a.endedReason = reason ?? 'closed'; try { a.viewer.onClose(reason); } catch { /* ignore */ } }
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
    this.forget(nc);
    await link?.close();
  }

  /** Closes every console (SOL deactivated) and their logs. */
  async close(): Promise<void> {
    for (const nc of [...this.consoles.values()]) {
      for (const a of nc.viewers) { a.detached = true; a.endedReason = 'the daemon is shutting down'; try { a.viewer.onClose('the daemon is shutting down'); } catch { /* ignore */ } }
      nc.viewers.clear();
      await this.shut(nc);
    }
  }
}
