// The fleet view's actions on the ticked nodes: Hand over, Take back, Export; Import a CSV; and Hand over and stop for
// the whole appliance. Each opens a dialog that says what it will do before it does it.
import { useMemo, useState } from 'react';
import { useApp } from '../store/store.ts';
import { handoverAndStop, releaseNodes, takeBack } from '../actions.ts';
import { isEngineOwned, ownerLabel } from '../lib/handoff.ts';
import { canDeploy, canRelease } from '../lib/deploy.ts';
import { formatRoute } from '../lib/route.ts';
import { Dialog } from './Dialog.tsx';
import { HandoffDialog } from './HandoffDialog.tsx';
import { ExportDialog, ImportDialog } from './ExportImport.tsx';

type Open = 'handoff' | 'takeback' | 'export' | 'import' | 'stop' | 'release' | null;

/** Release (clean): wipe the disks' partition tables and signatures (optionally zero them), power off → available. */
export function ReleaseDialog({ nodeIds, onClose }: { nodeIds: string[]; onClose: () => void }) {
  const nodes = useApp((s) => s.nodes);
  const records = useApp((s) => s.handoffs);
  const ok = nodeIds.filter((id) => nodes[id] && canRelease(nodes[id]!) && !isEngineOwned(records[id]));
  const [erase, setErase] = useState(false);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<{ message: string; nodes: { node: string; error: string }[] } | null>(null);
  return (
    <Dialog title="Release" onClose={onClose}>
      <p className="lead">
        Boots each node into the agent, wipes the partition tables and file system signatures at both ends of every disk, and
        powers it off; it is then <strong>available</strong> again. What its disks held is gone.
      </p>
      <ul className="plain">{ok.map((id) => <li key={id}><span className="mono">{nodes[id]!.mac}</span> — {nodes[id]!.state}{nodes[id]!.serial ? ` · ${nodes[id]!.serial}` : ''}</li>)}</ul>
      {ok.length < nodeIds.length ? <p className="muted small">{nodeIds.length - ok.length} selected node(s) cannot be released now (only active, available, deploy failed or clean failed nodes RackSeed owns) and are left out.</p> : null}
      <label className="check"><input type="checkbox" checked={erase} onChange={(e) => setErase(e.target.checked)} /> Also write zeros over every whole disk (slow: hours for large disks)</label>
      {refusal ? (
        <div className="alert bad" role="alert">
          <strong>Nothing was started: {refusal.message}</strong>
          {refusal.nodes.length ? <ul className="plain">{refusal.nodes.map((n) => <li key={n.node}><span className="mono">{nodes[n.node]?.mac ?? n.node}</span> — {n.error}</li>)}</ul> : null}
        </div>
      ) : null}
      <div className="actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="button" className="primary danger-bg" disabled={busy || ok.length === 0}
          onClick={async () => { setBusy(true); const r = await releaseNodes(ok, erase); setBusy(false); if (r.ok) onClose(); else setRefusal(r); }}>
          {busy ? 'Starting…' : `Release ${ok.length} node${ok.length === 1 ? '' : 's'}`}
        </button>
      </div>
    </Dialog>
  );
}

export function TakeBackDialog({ nodeIds, onClose }: { nodeIds: string[]; onClose: () => void }) {
  const nodes = useApp((s) => s.nodes);
  const records = useApp((s) => s.handoffs);
  const owned = nodeIds.filter((id) => isEngineOwned(records[id]));
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title="Take back" onClose={onClose}>
      <p className="lead">
        RackSeed becomes the owner again of {owned.length} node{owned.length === 1 ? '' : 's'}: it answers their PXE requests and drives
        their BMCs again. The engine keeps its record of them (RackSeed never deletes what it handed over) — make sure it will not
        drive them too, e.g. put them in maintenance or delete them there.
      </p>
      <ul className="plain">
        {owned.map((id) => <li key={id}><span className="mono">{nodes[id]?.mac ?? id}</span> — owned by {ownerLabel(records[id]?.owner)}</li>)}
      </ul>
      {owned.length < nodeIds.length ? <p className="muted small">{nodeIds.length - owned.length} selected node(s) are RackSeed's already and stay as they are.</p> : null}
      <div className="actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="button" className="primary" disabled={busy || owned.length === 0}
          onClick={async () => { setBusy(true); const ok = await takeBack(owned); setBusy(false); if (ok) onClose(); }}>
          Take back {owned.length} node{owned.length === 1 ? '' : 's'}
        </button>
      </div>
    </Dialog>
  );
}

function StopDialog({ onClose }: { onClose: () => void }) {
  const services = useApp((s) => s.services);
  const nodes = useApp((s) => s.nodes);
  const records = useApp((s) => s.handoffs);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const owned = Object.values(records).filter((r) => r.owner !== 'rackseed').length;
  const ours = Object.keys(nodes).length - Object.keys(nodes).filter((id) => isEngineOwned(records[id])).length;
  const running = services ? (['dhcp', 'proxy', 'tftp', 'http'] as const).filter((k) => services[k].running) : [];
  const names = { dhcp: 'DHCP', proxy: 'proxyDHCP', tftp: 'TFTP', http: 'HTTP boot' };
  const iface = services?.config?.interface;
  return (
    <Dialog title="Hand over and stop" onClose={onClose}>
      <p className="lead">Ends RackSeed's part on this network: the engine now runs the hall.</p>
      <ul className="plain">
        <li>Stops {running.length ? running.map((k) => names[k]).join(', ') : 'every netboot service (none is running now)'}{iface ? ` on ${iface}` : ''}: nothing of RackSeed answers on the provisioning NIC any more.</li>
        <li>{owned} node{owned === 1 ? ' is' : 's are'} owned by an engine and stay{owned === 1 ? 's' : ''} with it.</li>
        {ours > 0 ? <li className="warn-text">{ours} node{ours === 1 ? ' is' : 's are'} still RackSeed's: they can no longer PXE-boot from this appliance (no discovery, no deploy) until the services run again.</li> : null}
        <li>This holds after a restart of RackSeed too. The API, this page and the node records stay. To serve again, apply the network settings (Setup → Network) or run <code>rackseed services start</code>.</li>
      </ul>
      {error ? <div className="alert bad" role="alert">Not stopped: {error}</div> : null}
      <div className="actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="button" className="primary danger-bg" disabled={busy}
          onClick={async () => { setBusy(true); const r = await handoverAndStop(); setBusy(false); if (r.ok) onClose(); else setError(r.message); }}>
          {busy ? 'Stopping…' : 'Stop serving'}
        </button>
      </div>
    </Dialog>
  );
}

export function FleetActions() {
  const selection = useApp((s) => s.selection);
  const records = useApp((s) => s.handoffs);
  const clear = useApp((s) => s.clearSelection);
  const nodes = useApp((s) => s.nodes);
  const setDeployPreset = useApp((s) => s.setDeployPreset);
  const deployable = selection.filter((id) => nodes[id] && canDeploy(nodes[id]!) && !isEngineOwned(records[id]));
  const releasable = selection.filter((id) => nodes[id] && canRelease(nodes[id]!) && !isEngineOwned(records[id]));
  const [open, setOpen] = useState<Open>(null);
  // the dialog works on the selection as it was when it opened
  const [ids, setIds] = useState<string[]>([]);
  const ownedSelected = useMemo(() => selection.filter((id) => isEngineOwned(records[id])).length, [selection, records]);
  const show = (what: Open) => { setIds(selection); setOpen(what); };
  const close = () => setOpen(null);
  return (
    <div className="fleet-actions" role="group" aria-label="Fleet actions">
      <span className="muted" role="status" aria-label="Selection">
        {selection.length ? `${selection.length} selected` : 'Tick nodes to act on them'}
      </span>
      {selection.length ? <button type="button" className="link small" onClick={clear}>Clear selection</button> : null}
      <button type="button" disabled={!deployable.length} title="Open the Deploy step with these nodes ticked (active ones are redeployed)"
        onClick={() => { setDeployPreset(deployable); window.location.hash = formatRoute({ page: 'wizard', step: 'deploy' }); }}>Deploy…</button>
      <button type="button" onClick={() => show('release')} disabled={!releasable.length}>Release…</button>
      <button type="button" onClick={() => show('handoff')} disabled={!selection.length}>Hand over…</button>
      <button type="button" onClick={() => show('takeback')} disabled={!ownedSelected}>Take back…</button>
      <button type="button" onClick={() => show('export')}>Export…</button>
      <button type="button" onClick={() => show('import')}>Import CSV…</button>
      <span className="spacer" />
      <button type="button" className="danger" onClick={() => show('stop')}>Hand over and stop…</button>
      {open === 'handoff' ? <HandoffDialog nodeIds={ids} onClose={close} /> : null}
      {open === 'takeback' ? <TakeBackDialog nodeIds={ids} onClose={close} /> : null}
      {open === 'export' ? <ExportDialog nodeIds={ids} onClose={close} /> : null}
      {open === 'import' ? <ImportDialog onClose={close} /> : null}
      {open === 'stop' ? <StopDialog onClose={close} /> : null}
      {open === 'release' ? <ReleaseDialog nodeIds={ids} onClose={close} /> : null}
    </div>
  );
}
