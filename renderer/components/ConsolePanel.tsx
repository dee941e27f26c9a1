// The node's serial console in the node detail: an xterm.js terminal on the daemon's console WebSocket (IPMI
// Serial-over-LAN through the node's BMC; protocol in shared/console.ts). Opened on request only — it takes the
// BMC's one SOL session, which the CLI and other UIs then share through RackSeed while other tools are refused.
// Shows who else watches and who types (one writer; "Take over" takes the keyboard), and a refusal with its reason
// (e.g. ipmitool holding SOL, named as the BMC tells). The console's recent output comes first (the stored log).
import { useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import type { ConsoleErrorCode, ConsoleViewer } from '../../shared/console.ts';
import { openConsole } from '../actions.ts';
import type { ConsoleSocket } from '../api/console-socket.ts';
import { installCspSafeStyles } from '../lib/xterm-csp.ts';

type Phase = 'idle' | 'connecting' | 'open' | 'refused' | 'ended';

interface Attached { you: string; writer: string | null; viewers: ConsoleViewer[]; bmc: string }

const REFUSAL_TITLE: Partial<Record<ConsoleErrorCode, string>> = {
  'sol-in-use': 'Serial-over-LAN is held by another session',
  'sol-unavailable': 'No Serial-over-LAN console',
  'no-bmc': 'No console for this node',
  'bmc-failed': 'The BMC failed',
  'not-found': 'Unknown node',
};

function writerText(a: Attached): string {
  if (!a.writer) return 'Nobody is typing: type to take the keyboard.';
  if (a.writer === a.you) return 'You are typing.';
  return `${a.writer} is typing: read-only for you until you take over.`;
}

export function ConsolePanel({ nodeId, unavailable }: { nodeId: string; unavailable: string | null }) {
  const [phase, setPhase] = useState<Phase>('idle');
  const [attached, setAttached] = useState<Attached | null>(null);
  const [refusal, setRefusal] = useState<{ code: ConsoleErrorCode; message: string } | null>(null);
  const [note, setNote] = useState<string | null>(null);
  /** bytes of a large paste still waiting to be sent (paced: console-socket.ts) */
  const [sending, setSending] = useState(0);
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const sock = useRef<ConsoleSocket | null>(null);

  const close = (): void => { sock.current?.close(); sock.current = null; };
  /** closes the console and its window */
  const dismiss = (): void => { close(); term.current?.dispose(); term.current = null; setAttached(null); setPhase('idle'); };
  useEffect(() => () => { close(); term.current?.dispose(); term.current = null; }, [nodeId]);

  const open = (): void => {
    close();
    term.current?.dispose();
    setRefusal(null); setNote(null); setAttached(null); setSending(0); setPhase('connecting');
    installCspSafeStyles();
    const t = new Terminal({ cols: 80, rows: 24, scrollback: 5000, cursorBlink: true, fontSize: 13, convertEol: false });
    term.current = t;
    if (host.current) t.open(host.current);
    const s = openConsole(nodeId, {
      onOutput: (b) => t.write(b),
      onMessage: (m) => {
        if (m.type === 'attached') { setAttached({ you: m.you, writer: m.writer, viewers: m.viewers, bmc: m.bmc }); setPhase('open'); t.focus(); }
        else if (m.type === 'writer') { setAttached((a) => (a ? { ...a, writer: m.writer } : a)); if (m.you) setNote(null); }
        else if (m.type === 'error' && m.fatal) { setRefusal({ code: m.code, message: m.message }); setPhase('refused'); }
        else if (m.type === 'error') setNote(m.message);
        else if (m.type === 'closed') { setNote(m.reason ? `The console ended: ${m.reason}` : 'The console ended.'); setPhase('ended'); }
      },
      onClose: (code) => {
        setPhase((p) => (p === 'refused' ? p : 'ended'));
        if (code !== 1000 && code !== 4000 && code !== 4001) setNote((n) => n ?? 'The connection to RackSeed dropped.');
      },
      onSending: setSending,
    });
    sock.current = s;
    t.onData((d) => s.type(d));
  };

  const live = phase === 'open';
  const hidden = phase === 'idle' || phase === 'refused';
  return (
    <section aria-label="Console">
      <h3>Console</h3>
      <p className="muted small">
        The node&apos;s serial console through its BMC (Serial-over-LAN), shared with <code>rackseed console</code> and other
        browsers; other tools (ipmitool) are refused while it is open. The discovery ramdisk has a root shell on it.
      </p>
      {unavailable ? <p className="muted small">{unavailable}</p> : null}
      <div className="btn-row">
        {live || phase === 'connecting'
          ? <button type="button" onClick={dismiss}>Close console</button>
          : <button type="button" className="primary" disabled={!!unavailable} onClick={open}>{phase === 'idle' && !refusal ? 'Open console' : 'Open console again'}</button>}
        {live && attached && attached.writer && attached.writer !== attached.you
          ? <button type="button" onClick={() => sock.current?.control({ type: 'take-over' })}>Take over</button> : null}
        {live ? <button type="button" onClick={() => sock.current?.control({ type: 'break' })} title="Send a serial break (SysRq on Linux)">Send break</button> : null}
      </div>
      {phase === 'connecting' ? <p className="muted small" role="status">Opening Serial-over-LAN…</p> : null}
      {refusal ? (
        <div className="alert bad" role="alert" aria-label="Console refused">
          <strong>{REFUSAL_TITLE[refusal.code] ?? 'The console was refused'}.</strong> {refusal.message}
        </div>
      ) : null}
      {live && attached ? (
        <p className="small" role="status" aria-label="Console writer">
          BMC <span className="mono">{attached.bmc}</span> · {writerText(attached)}
          {attached.viewers.length > 1 ? ` Also watching: ${attached.viewers.filter((v) => v.who !== attached.you).map((v) => v.who).join(', ')}.` : ''}
        </p>
      ) : null}
      {live && sending > 0
        ? <p className="small muted" role="status" aria-label="Console sending">Sending the pasted text as the BMC takes it: {Math.ceil(sending / 1024)} KiB left…</p> : null}
      {note ? <p className="small err-hint" role="status" aria-label="Console note">{note}</p> : null}
      {/* the terminal floats over the page (80 columns do not fit the detail panel, and the guest assumes 80) */}
      <div className={hidden ? 'console-window hidden' : 'console-window'} role="dialog" aria-label="Console window" aria-hidden={hidden}>
        <div className="console-window-head">
          <span className="mono small">Console · {attached ? `BMC ${attached.bmc}` : 'Serial-over-LAN'}{phase === 'ended' ? ' · ended' : ''}</span>
          <button type="button" className="close" aria-label="Close the console window" onClick={dismiss}>✕</button>
        </div>
        <div className="console-host" ref={host} aria-label="Console terminal" />
      </div>
    </section>
  );
}
