// Wizard step 2 — BMCs: subnet and credentials (stored by the daemon; the password is never shown back, only
// "password set"), then a sweep whose progress and results arrive live as 'sweep' stream messages.
import { useEffect, useState, type FormEvent } from 'react';
import { useApp } from '../store/store.ts';
import { saveBmcCredentials, startSweep } from '../actions.ts';
import { Dot, Empty } from './common.tsx';
import type { BmcInfo } from '../../shared/api.ts';

/** The protocol RackSeed drives a BMC with, as a badge; the title says what else answered and the pinned certificate. */
export function ProtocolBadge({ b }: { b: BmcInfo }) {
  if (!b.protocol) return <>—</>;
  const title = [
    `answered: ${b.protocols.length ? b.protocols.map(protocolName).join(', ') : '—'}${b.protocolChosen ? ' (protocol chosen by you)' : ''}`,
    b.redfishVersion ? `Redfish ${b.redfishVersion}` : null,
    b.tlsFingerprint ? `certificate SHA-256 ${b.tlsFingerprint} (pinned on first use)` : null,
  ].filter(Boolean).join('\n');
  return <span className={`badge${b.protocol === 'redfish' ? ' tone-ok' : ''}`} title={title} aria-label={`protocol ${protocolName(b.protocol)}`}>{protocolName(b.protocol)}{b.protocols.length > 1 ? ' +' : ''}</span>;
}

function protocolName(p: BmcInfo['protocol']): string {
  return p === 'redfish' ? 'Redfish' : p === 'ipmi' ? 'IPMI' : '—';
}

function SweepResults() {
  const bmcs = useApp((s) => s.bmcs);
  if (!bmcs.length) return <Empty>No BMCs found yet.</Empty>;
  return (
    <div className="table-wrap">
      <table className="grid" aria-label="BMCs found">
        <thead><tr><th>Address</th><th>Protocol</th><th>Vendor</th><th>IPMI</th><th>Auth</th><th>Power</th><th>GUID</th><th>Node</th><th>Error</th></tr></thead>
        <tbody>{bmcs.map((b) => (
          <tr key={b.address} className={b.error ? 'lvl-error' : undefined}>
            <td className="mono">{b.address}</td><td><ProtocolBadge b={b} /></td><td>{b.vendor ?? '—'}</td><td>{b.ipmiVersion ?? '—'}</td>
            <td className="small">{b.authTypes.join(', ') || '—'}</td>
            <td>{b.power ? <Dot tone={b.power === 'on' ? 'ok' : 'off'} label={b.power} /> : '—'}</td>
            <td className="mono small">{b.guid ?? '—'}</td>
            <td className="mono">{b.nodeId ? <a href={`#/fleet/${encodeURIComponent(b.nodeId)}`}>{b.nodeId.slice(0, 8)}</a> : '—'}</td>
            <td className="small">{b.error ?? ''}</td>
          </tr>
        ))}</tbody>
      </table>
    </div>
  );
}

function SweepProgress() {
  const sweep = useApp((s) => s.sweep);
  if (!sweep) return null;
  const pct = sweep.total ? Math.round((sweep.done / sweep.total) * 100) : 0;
  return (
    <div className="sweep">
      <div className="progress" role="progressbar" aria-label="Sweep progress" aria-valuemin={0} aria-valuemax={sweep.total} aria-valuenow={sweep.done}>
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <span className="small mono">{sweep.done}/{sweep.total} addresses · {sweep.found} BMC{sweep.found === 1 ? '' : 's'} found · {sweep.finished ? 'finished' : 'sweeping…'}</span>
      {sweep.error ? <div className="alert bad" role="alert">Sweep failed: {sweep.error}</div> : null}
    </div>
  );
}

export function BmcStep({ onBack, onDone }: { onBack: () => void; onDone: () => void }) {
  const user = useApp((s) => s.bmcUser);
  const passwordSet = useApp((s) => s.bmcPasswordSet);
  const sweep = useApp((s) => s.sweep);
  const [cidr, setCidr] = useState(sweep?.cidr ?? '');
  const [newUser, setNewUser] = useState(user ?? '');
  const [password, setPassword] = useState('');
  const [saved, setSaved] = useState(false);
  const sweeping = !!sweep && !sweep.finished;
  // the stored user arrives with the snapshot, possibly after the first render: fill it in unless edited
  useEffect(() => { if (user) setNewUser((cur) => cur || user); }, [user]);
  useEffect(() => { if (sweep) setCidr((cur) => cur || sweep.cidr); }, [sweep]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const ok = await saveBmcCredentials(newUser.trim(), password);
    if (ok) { setPassword(''); setSaved(true); }
  };

  return (
    <div className="step">
      <h2>2 · BMCs (out-of-band)</h2>
      <p className="lead">RackSeed drives power and boot order through IPMI. Give it the BMC subnet and one set of credentials.</p>
      <form className="creds" onSubmit={save} aria-label="BMC credentials">
        <label>BMC user<input value={newUser} onChange={(e) => setNewUser(e.target.value)} autoComplete="off" maxLength={16} required /></label>
        <label>BMC password
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password"
            maxLength={20} title="IPMI 2.0 passwords are at most 20 characters" placeholder={passwordSet ? '•••••• (set — type to replace)' : ''} required />
        </label>
        <button type="submit">Save credentials</button>
        <span className="cred-state" role="status">
          {passwordSet ? <Dot tone="ok" label={`password set${user ? ` for ${user}` : ''}`} /> : <Dot tone="off" label="no password set" />}
          {saved ? <span className="muted small"> · saved</span> : null}
        </span>
      </form>
      <form className="row sweep-form" onSubmit={(e) => { e.preventDefault(); void startSweep(cidr.trim()); }} aria-label="BMC sweep">
        <label>BMC subnet (CIDR)<input className="mono" value={cidr} onChange={(e) => setCidr(e.target.value)} placeholder="10.1.0.0/24" required /></label>
        <button type="submit" disabled={sweeping || !passwordSet}>{sweeping ? 'Sweeping…' : 'Sweep'}</button>
        {!passwordSet ? <span className="muted small">Save credentials first.</span> : null}
      </form>
      <SweepProgress />
      <SweepResults />
      <div className="actions">
        <button type="button" onClick={onBack}>Back</button>
        <button type="button" className="primary" onClick={onDone}>Next: Discover</button>
      </div>
    </div>
  );
}
