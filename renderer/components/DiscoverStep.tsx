// Wizard step 3 — Discover: start discovery and watch nodes appear live as they PXE-boot. Says which machines are
// booted (admission), lists the PXE clients that were seen but not booted, and lets the engineer allow machines.
import { useMemo, useState } from 'react';
import { useApp } from '../store/store.ts';
import { allowMacs, allowNode, startDiscovery } from '../actions.ts';
import { NODE_STATES } from '../../shared/node.ts';
import { admissionInForce, admissionText } from '../lib/admission.ts';
import { NodeFilter, NodeTable } from './NodeTable.tsx';

/** Which machines boot here, the `seen` ones with an Allow button each, and a field to allow MACs ahead of time. */
function Admission() {
  const services = useApp((s) => s.services);
  const nodesById = useApp((s) => s.nodes);
  const seen = useMemo(() => Object.values(nodesById).filter((n) => n.state === 'seen').sort((a, b) => a.mac.localeCompare(b.mac)), [nodesById]);
  const [macs, setMacs] = useState('');
  const admission = admissionInForce(services);
  if (!admission || !services?.config) return null;
  return (
    <section className="sub" aria-label="Boot admission">
      <div className={`alert ${admission === 'allowlist' ? 'warn' : 'ok'}`} role="status">{admissionText(admission, services.config)}</div>
      {admission === 'allowlist' ? (
        <>
          {seen.length ? (
            <table className="grid compact" aria-label="Seen, not booted">
              <thead><tr><th>MAC</th><th>PXE UUID</th><th>First seen</th><th /></tr></thead>
              <tbody>{seen.map((n) => (
                <tr key={n.id}>
                  <td className="mono">{n.mac}</td>
                  <td className="mono small">{n.uuid ?? '—'}</td>
                  <td>{new Date(n.createdAt).toLocaleTimeString(undefined, { hour12: false })}</td>
                  <td><button type="button" onClick={() => void allowNode(n.id)} aria-label={`Allow ${n.mac} to boot`}>Allow to boot</button></td>
                </tr>
              ))}</tbody>
            </table>
          ) : <p className="muted small">No PXE client has been turned away yet.</p>}
          <form className="row" aria-label="Allow machines by MAC" onSubmit={(e) => { e.preventDefault(); void allowMacs(macs).then((ok) => { if (ok) setMacs(''); }); }}>
            <label>Allow by MAC <input className="mono" value={macs} onChange={(e) => setMacs(e.target.value)} placeholder="52:54:00:12:34:56, …" /></label>
            <button type="submit" disabled={!macs.trim()}>Allow</button>
          </form>
        </>
      ) : null}
    </section>
  );
}

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

export function DiscoverStep({ onBack, onDone, onNext }: { onBack: () => void; onDone: () => void; onNext?: () => void }) {
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
      <p className="lead">Discovery powers the matched nodes on into the inspection ramdisk (nodes without a BMC: power them on by hand, set to network boot). Each node reports its hardware; RackSeed powers off again only the machines it powered on, and leaves the others running.</p>
      <Admission />
      <div className="row">
        <button type="button" className="primary" onClick={go} disabled={busy || !configured}>{started ? 'Discovery running — start again' : 'Start discovery'}</button>
        {!configured ? <span className="muted small">Apply the network settings first.</span> : null}
      </div>
      <StateCounts />
      <NodeFilter />
      <NodeTable caption="Discovered nodes" />
      <div className="actions">
        <button type="button" onClick={onBack}>Back</button>
        <button type="button" className={onNext ? undefined : 'primary'} onClick={onDone}>Open fleet view</button>
        {onNext ? <button type="button" className="primary" onClick={onNext}>Next: Deploy</button> : null}
      </div>
    </div>
  );
}
