// Wizard step 1 — Network: choose the provisioning NIC, survey it for other DHCP servers, choose the mode and
import type { FormEvent } from 'react';
// pool, apply. A 409 from the daemon (foreign DHCP server, authoritative without override) is shown as a refusal.
import { useEffect, useState } from 'react';
import { useApp } from '../store/store.ts';
import { applyNetwork, refreshInterfaces, runSurvey, type ApplyResult } from '../actions.ts';
import type { DhcpMode } from '../../shared/api.ts';
import { defaultAdmission } from '../../shared/admission.ts';
import { admissionInForce, admissionText } from '../lib/admission.ts';
import { Dot, Empty, formatTime } from './common.tsx';

function InterfaceTable() {
  const interfaces = useApp((s) => s.interfaces);
  const selected = useApp((s) => s.selectedInterface);
  const select = useApp((s) => s.selectInterface);
  if (!interfaces.length) return <Empty>No network interfaces reported by the daemon.</Empty>;
  return (
    <div className="table-wrap">
      <table className="grid" aria-label="Network interfaces">
        <thead><tr><th>Use</th><th>Name</th><th>MAC</th><th>State</th><th>Link</th><th className="num">Speed</th><th>Addresses</th></tr></thead>
        <tbody>
          {interfaces.map((i) => (
            <tr key={i.name} className={i.name === selected ? 'selected' : undefined}>
              <td>
                <input type="radio" name="iface" value={i.name} checked={i.name === selected}
                  onChange={() => select(i.name)} aria-label={`Use interface ${i.name}`}
                  disabled={i.name === 'lo' || (!i.mac && i.addresses.some((a) => a.startsWith('127.')))}
                  title={i.name === 'lo' ? 'loopback cannot reach any node' : undefined} />
              </td>
              <td className="mono strong">{i.name}</td>
              <td className="mono">{i.mac ?? '—'}</td>
              <td>{i.up ? 'up' : 'down'}</td>
              <td><Dot tone={i.link ? 'ok' : 'bad'} label={i.link ? 'carrier' : 'no carrier'} /></td>
              <td className="num">{i.speedMbps ? (i.speedMbps >= 1000 ? `${i.speedMbps / 1000} Gb/s` : `${i.speedMbps} Mb/s`) : '—'}</td>
              <td className="mono">{i.addresses.length ? i.addresses.join(', ') : <span className="muted">none</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SurveyPanel() {
  const selected = useApp((s) => s.selectedInterface);
  const survey = useApp((s) => s.survey);
  // the daemon surveys a NIC only before it serves there (Apply re-surveys); a manual survey would be refused
  const servingHere = useApp((s) => !!s.services?.config && s.services.config.interface === s.selectedInterface
    && (s.services.dhcp.running || s.services.proxy.running));
  const [busy, setBusy] = useState(false);
  const go = async () => {
    if (!selected) return;
    setBusy(true);
    try { await runSurvey(selected); } finally { setBusy(false); }
  };
  const relevant = survey && survey.interface === selected ? survey : null;
  return (
    <section className="sub" aria-label="DHCP survey">
      <div className="row">
        <button type="button" onClick={go} disabled={!selected || busy || servingHere}>{busy ? 'Surveying…' : 'Survey for DHCP servers'}</button>
        <span className="muted small">{servingHere
          ? `RackSeed is serving on ${selected}: applying the settings again surveys first, before serving.`
          : 'Sends a DHCPDISCOVER on the chosen NIC and listens; answers nothing.'}</span>
      </div>
      {relevant ? (
        relevant.foreign.length === 0 ? (
          <div className="alert ok" role="status">No other DHCP server answered on {relevant.interface} ({formatTime(relevant.at)}). Proposed mode: <strong>{relevant.proposal}</strong>.</div>
        ) : (
          <div className="alert warn" role="status">
            {relevant.foreign.length} other DHCP server{relevant.foreign.length > 1 ? 's' : ''} answered on {relevant.interface}. Proposed mode: <strong>{relevant.proposal}</strong>.
            <table className="grid compact" aria-label="Foreign DHCP servers">
              <thead><tr><th>Server</th><th>MAC</th><th>Offered</th><th>Boot file</th></tr></thead>
              <tbody>{relevant.foreign.map((f) => (
                <tr key={f.serverId}><td className="mono">{f.serverId}</td><td className="mono">{f.mac ?? '—'}</td><td className="mono">{f.offered ?? '—'}</td><td className="mono">{f.bootFile ?? '—'}</td></tr>
              ))}</tbody>
            </table>
          </div>
        )
      ) : null}
    </section>
  );
}

export function NetworkStep({ onDone }: { onDone: () => void }) {
  const selected = useApp((s) => s.selectedInterface);
  const survey = useApp((s) => s.survey);
  const config = useApp((s) => s.networkConfig);
  const [mode, setMode] = useState<DhcpMode>(config?.mode ?? 'proxy');
  const [first, setFirst] = useState(config?.pool?.first ?? '');
  const [last, setLast] = useState(config?.pool?.last ?? '');
  const [override, setOverride] = useState(false);
  const [result, setResult] = useState<ApplyResult | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { void refreshInterfaces(); }, []);
  // the applied configuration arrives with the snapshot, possibly after the first render
  useEffect(() => {
    if (!config) return;
    setMode(config.mode);
    if (config.pool) { setFirst(config.pool.first); setLast(config.pool.last); }
  }, [config]);
  useEffect(() => { if (survey && survey.interface === selected && !config) setMode(survey.proposal); }, [survey, selected, config]);
  const foreign = survey && survey.interface === selected ? survey.foreign.length : 0;
  const services = useApp((s) => s.services);
  const inForce = admissionInForce(services);
  const chosenOverride = mode === 'authoritative' && override;
  // allowlist although authoritative without override: the daemon runs in safe mode, which applies to any mode
  const daemonSafe = inForce === 'allowlist' && services?.config?.mode === 'authoritative' && !services.config.override;

  const apply = async (e: FormEvent) => {
    e.preventDefault();
    if (!selected) return;
    setBusy(true);
    const r = await applyNetwork({
      interface: selected, mode,
      pool: mode === 'authoritative' ? { first: first.trim(), last: last.trim() } : null,
      override: mode === 'authoritative' ? override : false,
    });
    setBusy(false);
    setResult(r);
  };

  return (
    <form className="step" onSubmit={apply} aria-label="Network setup">
      <h2>1 · Provisioning network</h2>
      <p className="lead">Choose the NIC cabled to the provisioning network. RackSeed never answers on a NIC you did not choose.</p>
      <InterfaceTable />
      <SurveyPanel />

      <fieldset className="modes">
        <legend>DHCP mode</legend>
        <label className={`mode ${mode === 'authoritative' ? 'on' : ''}`}>
          <input type="radio" name="mode" value="authoritative" checked={mode === 'authoritative'} onChange={() => setMode('authoritative')} />
          <span><strong>Authoritative</strong> — RackSeed is the only DHCP server here: it hands out addresses from its own pool and the boot information.</span>
        </label>
        <label className={`mode ${mode === 'proxy' ? 'on' : ''}`}>
          <input type="radio" name="mode" value="proxy" checked={mode === 'proxy'} onChange={() => setMode('proxy')} />
          <span><strong>Proxy</strong> — the site's DHCP server keeps assigning addresses; RackSeed only adds the boot information for PXE clients.</span>
        </label>
      </fieldset>

      <div className="small admission-note" aria-label="Which machines boot">
        {inForce && services?.config ? <p><strong>In force:</strong> {admissionText(inForce, services.config)}</p> : null}
        {!inForce || !services?.config || services.config.mode !== mode || !!services.config.override !== chosenOverride
          ? <p><strong>{inForce ? 'After applying:' : 'With these settings:'}</strong> {admissionText(defaultAdmission({ interface: selected ?? '', mode, override: chosenOverride }, daemonSafe), { mode, override: chosenOverride })}</p>
          : null}
      </div>

      {mode === 'authoritative' ? (
        <fieldset className="pool">
          <legend>Address pool</legend>
          <label>First address<input className="mono" value={first} onChange={(e) => setFirst(e.target.value)} placeholder="10.0.0.100" required /></label>
          <label>Last address<input className="mono" value={last} onChange={(e) => setLast(e.target.value)} placeholder="10.0.0.199" required /></label>
          {foreign ? (
            <label className="check warn-text">
              <input type="checkbox" checked={override} onChange={(e) => setOverride(e.target.checked)} />
              Serve addresses anyway although another DHCP server answered (two authoritative servers will fight)
            </label>
          ) : null}
        </fieldset>
      ) : null}

      {result && !result.ok ? (
        <div className="alert bad" role="alert">
          <strong>{result.status === 409 ? 'Refused by the daemon (409):' : 'Could not apply:'}</strong> {result.message}
          {result.status === 409 ? <div className="small">Switch to Proxy mode, or tick the override if you are sure this network should get addresses from RackSeed.</div> : null}
        </div>
      ) : null}
      {result?.ok ? <div className="alert ok" role="status">Network services started on {selected} ({mode}).</div> : null}

      <div className="actions">
        {!selected ? <span className="muted small hint">Choose the provisioning NIC in the table first.</span> : null}
        <button type="submit" className="primary" disabled={!selected || busy}>{busy ? 'Applying…' : 'Apply network settings'}</button>
        <button type="button" onClick={onDone} disabled={!config && !result?.ok}>Next: BMCs</button>
      </div>
    </form>
  );
}
