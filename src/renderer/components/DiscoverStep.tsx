// Wizard step 3 — Discover: start discovery and watch nodes appear live as they PXE-boot.
import { useState } from 'react';
import { useApp } from '../store/store.ts';
import { startDiscovery } from '../actions.ts';
import { NODE_STATES } from '../../shared/node.ts';
import { NodeFilter, NodeTable } from './NodeTable.tsx';

function StateCounts() {
  const nodes = useApp((s) => s.nodes);
  const counts = new Map<string, number>();
  for (const n of Object.values(nodes)) counts.set(n.state, (counts.get(n.state) ?? 0) + 1);
  return (
    <ul className="counts" aria-label="Nodes by state">
      {NODE_STATES.map((st) => <li key={st} className={counts.get(st) ? '' : 'muted'}><span className="n">{counts.get(st) ?? 0}</span> {st}</li>)}
    </ul>
  );
}

export function DiscoverStep({ onBack, onDone }: { onBack: () => void; onDone: () => void }) {
  const configured = useApp((s) => s.networkConfig !== null);
  const [busy, setBusy] = useState(false);
  const [started, setStarted] = useState(false);
  const go = async () => {
    setBusy(true);
    setStarted(await startDiscovery());
    setBusy(false);
  };
  return (
    <div className="step">
      <h2>3 · Discover</h2>
      <p className="lead">Discovery powers the matched nodes on into the inspection ramdisk (nodes without a BMC: power them on by hand, set to network boot). Each node reports its hardware and powers off.</p>
      <div className="row">
        <button type="button" className="primary" onClick={go} disabled={busy || !configured}>{started ? 'Discovery running — start again' : 'Start discovery'}</button>
        {!configured ? <span className="muted small">Apply the network settings first.</span> : null}
      </div>
      <StateCounts />
      <NodeFilter />
      <NodeTable caption="Discovered nodes" />
      <div className="actions">
        <button type="button" onClick={onBack}>Back</button>
        <button type="button" className="primary" onClick={onDone}>Open fleet view</button>
      </div>
    </div>
  );
}
