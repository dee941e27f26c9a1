// A node's serial console (IPMI Serial-over-LAN through its BMC), as the daemon serves it to the UI and the CLI.
//
//   WS  /api/v1/nodes/:id/console?client=ui|cli     the live console (token: header, session cookie, or ?token=)
//     server → client, binary frames: what the console printed (raw bytes: ANSI sequences, the ramdisk's shell)
//     server → client, text frames:   one ConsoleServerMessage (JSON)
//     client → server, binary frames: keystrokes, sent to the node as they are
//     client → server, text frames:   one ConsoleClientMessage (JSON)
//   On connect: `attached` (who else watches, who types), then the log's last bytes as one binary frame (what the
//   console printed before, also in an earlier run of the daemon), then the live output. One SOL session per node
//   is shared by every viewer; the first viewer to type becomes the writer, the others are read-only
//   (`read-only` errors) until the writer releases or someone takes over. A refused console (`error` with a code
//   below) is closed by the daemon right after the message.
//   Pacing: at most 64 KiB typed may wait for the BMC (more is refused whole: `input-dropped`). A client with more
//   to send (a piped file, a paste in the UI) sends at most 32 KiB, then `{"type":"drain"}`, and waits for
//   `{"type":"drained"}` — sent once the BMC has acknowledged everything typed before the request — before the next
//   part (daemon/cli/console.ts, renderer/api/console-socket.ts).
//   `{"type":"ping"}` is answered `{"type":"pong"}` at once, also before `attached`, with no BMC contact: the CLI
//   exchanges a few while idle to warm its own code path (daemon/cli/console.ts).
//   The node was handed to an engine (hand-off pivot): an open console ends (`closed`, reason "… owned by <engine>
//   …"), a new one is refused (`no-bmc`, "owned by <engine>").
//   GET /api/v1/nodes/:id/console/log?lines=N        → ConsoleLogTail (the stored log, no BMC contact)

/** Why a console could not be opened or a keystroke was refused. */
export type ConsoleErrorCode =
  /** another session holds the BMC's SOL (ipmitool, another tool): `message` names the holder */
  | 'sol-in-use'
  /** the BMC offers no SOL console, or its serial line is not connected (the node powered off) */
  | 'sol-unavailable'
  /** no BMC matched to the node, no BMC credentials, handed to an engine */
  | 'no-bmc'
  /** no such node */
  | 'not-found'
  /** the BMC did not answer or refused the login */
  | 'bmc-failed'
  /** somebody else types: take over to write (not fatal, the console stays open) */
  | 'read-only'
  /** a malformed message from the client (not fatal) */
  | 'bad-message'
  /** keystrokes refused whole: the BMC has not yet taken the 64 KiB typed before (not fatal: wait, then type again) */
  | 'input-dropped'
  /** keystrokes or a break while the console is not open (before `attached`, or after it ended; not fatal) */
  | 'not-open';

export interface ConsoleViewer { who: string; writer: boolean }

export type ConsoleServerMessage =
  | { type: 'attached'; nodeId: string; you: string; writer: string | null; viewers: ConsoleViewer[]; bmc: string }
  | { type: 'writer'; writer: string | null; you: boolean }
  | { type: 'error'; code: ConsoleErrorCode; message: string; fatal: boolean }
  /** the console ended: the BMC deactivated SOL, the link failed, the node was handed to an engine, or the daemon shuts down */
  | { type: 'closed'; reason: string | null }
  /** answer to `drain`: everything typed before it has been acknowledged by the BMC (`ok` false: the console ended first) */
  | { type: 'drained'; ok: boolean }
  /** answer to `ping` */
  | { type: 'pong' };

export type ConsoleClientMessage =
  | { type: 'take-over' }
  | { type: 'release' }
  | { type: 'break' }
  /** ask for a `drained` once the BMC has taken everything typed so far (pacing of large input) */
  | { type: 'drain' }
  /** ask for a `pong` (no BMC contact; taken before `attached` too) */
  | { type: 'ping' };

export interface ConsoleLogTail {
  nodeId: string;
  /** the last lines of the log, oldest first (control sequences left in) */
  lines: string[];
  /** bytes in the stored log (the last 1 MiB at most are kept) */
  bytes: number;
  /** who has the console open now */
  viewers: ConsoleViewer[];
}

/** What a client sends before waiting for `drained` (half of the 64 KiB the daemon lets wait for the BMC). */
export const CONSOLE_PACE_BYTES = 32 * 1024;

/** Close codes of the console WebSocket when the daemon ends it. */
export const CONSOLE_CLOSE = { refused: 4000, ended: 4001 } as const;
