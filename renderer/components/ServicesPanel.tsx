// Live status and counters of the network services (GET /services, then 'services' stream messages).
import { useApp } from '../store/store.ts';
import type { ServiceStatus } from '../../shared/api.ts';
import { counterHint, type ServiceKey } from '../lib/counter-hints.ts';
import { admissionInForce, admissionLabel, admissionText } from '../lib/admission.ts';
import { networkWarnings } from '../lib/network-warnings.ts';
import { Dot } from './common.tsx';
import { HandoverStoppedBanner } from './HandoverStoppedBanner.tsx';

const NAMES = [['dhcp', 'DHCP'], ['proxy', 'proxyDHCP'], ['tftp', 'TFTP'], ['http', 'HTTP']] as const;

function ServiceCard({ service, label, st }: { service: ServiceKey; label: string; st: ServiceStatus }) {
  const counters = Object.entries(st.counters);
  return (
    <section className="svc" aria-label={`${label} service`}>
      <header><strong>{label}</strong><Dot tone={st.running ? 'ok' : 'off'} label={st.running ? 'running' : 'stopped'} /></header>
      <div className="svc-detail muted" title={st.detail}>{st.detail || '\u00a0'}</div>
      <dl className="counters">
        {counters.length === 0 ? <div className="muted">no traffic yet</div> : counters.map(([k, v]) => (
          <div key={k} title={counterHint(service, k)}><dt>{k}</dt><dd>{v.toLocaleString()}</dd></div>
        ))}
      </dl>
    </section>
  );
}

export function ServicesPanel() {
  const services = useApp((s) => s.services);
  const events = useApp((s) => s.events);
  const warnings = networkWarnings(events, Date.now());
  if (!services) return <section className="panel" aria-label="Services"><h2>Services</h2><p className="muted">Loading…</p></section>;
  const cfg = services.config;
  const admission = admissionInForce(services);
  return (
    <section className="panel" aria-label="Services">
      <div className="panel-head">
        <h2>Services</h2>
        <span className="muted">{cfg ? `${cfg.mode} on ${cfg.interface}${cfg.pool ? ` · pool ${cfg.pool.first}–${cfg.pool.last}` : ''}` : 'not configured — finish the Network step'}</span>
        {cfg && admission ? <span className="muted" title={admissionText(admission, cfg)}> · boots {admissionLabel(admission)}</span> : null}
      </div>
      <HandoverStoppedBanner />
      {warnings.pool ? (
        <div className="alert warn" role="alert" aria-label="DHCP pool under pressure">
          <strong>DHCP pool under pressure.</strong> {warnings.pool.message}
        </div>
      ) : null}
      {warnings.refused ? (
        <div className="alert warn" role="alert" aria-label="Agent requests refused">
          <strong>Agent requests refused:</strong> {warnings.refused.count} in the last 2 minutes for {warnings.refused.nodes} node(s) — {warnings.refused.last.message}
        </div>
      ) : null}
      <div className="svc-grid">
        {NAMES.map(([k, label]) => <ServiceCard key={k} service={k} label={label} st={services[k]} />)}
      </div>
    </section>
  );
}
