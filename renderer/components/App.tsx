// Application frame: top bar (navigation, stream status), notices, and the page for the current hash route.
import { useEffect } from 'react';
import { useApp } from '../store/store.ts';
import { formatRoute } from '../lib/route.ts';
import type { Route, WizardStep } from '../store/slices.ts';
import { NetworkStep } from './NetworkStep.tsx';
import { BmcStep } from './BmcStep.tsx';
import { DiscoverStep } from './DiscoverStep.tsx';
import { DeployStep } from './DeployStep.tsx';
import { SeedStep } from './SeedStep.tsx';
import { NodeFilter, NodeTable } from './NodeTable.tsx';
import { NodeDetail } from './NodeDetail.tsx';
import { FleetActions } from './FleetActions.tsx';
import { ServicesPanel } from './ServicesPanel.tsx';
import { EventLog } from './EventLog.tsx';

const go = (r: Route) => { window.location.hash = formatRoute(r); };

const STEPS = [['network', 'Network'], ['bmc', 'BMCs'], ['discover', 'Discover'], ['deploy', 'Deploy'], ['seed', 'Seed']] as const;

function Wizard({ step }: { step: WizardStep }) {
  const configured = useApp((s) => s.networkConfig !== null);
  const passwordSet = useApp((s) => s.bmcPasswordSet);
  // discovery has done its part once a node got past inspection (available, or on to deploy)
  const available = useApp((s) => Object.values(s.nodes).some((n) => !['seen', 'discovered', 'inspecting', 'error'].includes(n.state)));
  const active = useApp((s) => Object.values(s.nodes).some((n) => n.state === 'active'));
  const seeded = useApp((s) => s.seed?.status === 'done');
  const done = { network: configured, bmc: passwordSet, discover: available, deploy: active, seed: seeded };
  return (
    <div className="wizard">
      <nav aria-label="Setup steps">
        <ol className="stepper">
          {STEPS.map(([k, label], i) => (
            <li key={k} className={`${k === step ? 'current' : ''} ${done[k] ? 'done' : ''}`}>
              <a href={formatRoute({ page: 'wizard', step: k })} aria-current={k === step ? 'step' : undefined}>
                <span className="num">{done[k] ? '✓' : i + 1}</span>{label}
              </a>
            </li>
          ))}
        </ol>
      </nav>
      {step === 'network' ? <NetworkStep onDone={() => go({ page: 'wizard', step: 'bmc' })} /> : null}
      {step === 'bmc' ? <BmcStep onBack={() => go({ page: 'wizard', step: 'network' })} onDone={() => go({ page: 'wizard', step: 'discover' })} /> : null}
      {step === 'discover' ? <DiscoverStep onBack={() => go({ page: 'wizard', step: 'bmc' })} onDone={() => go({ page: 'fleet', nodeId: null })} onNext={() => go({ page: 'wizard', step: 'deploy' })} /> : null}
      {step === 'deploy' ? <DeployStep onBack={() => go({ page: 'wizard', step: 'discover' })} onDone={() => go({ page: 'fleet', nodeId: null })} onNext={() => go({ page: 'wizard', step: 'seed' })} /> : null}
      {step === 'seed' ? <SeedStep onBack={() => go({ page: 'wizard', step: 'deploy' })} onDone={() => go({ page: 'fleet', nodeId: null })} /> : null}
    </div>
  );
}

function Fleet({ nodeId }: { nodeId: string | null }) {
  return (
    <div className={`fleet ${nodeId ? 'with-detail' : ''}`}>
      <div className="fleet-main">
        <ServicesPanel />
        <section className="panel" aria-label="Nodes">
          <div className="panel-head"><h2>Nodes</h2><NodeFilter /></div>
          <FleetActions />
          <NodeTable caption="Nodes" selectedId={nodeId} fleet />
        </section>
        <EventLog limit={100} />
      </div>
      {nodeId ? <NodeDetail id={nodeId} /> : null}
    </div>
  );
}

function StreamIndicator() {
  const st = useApp((s) => s.streamStatus);
  const text = { open: 'live', connecting: 'connecting…', closed: 'disconnected — retrying', unauthorized: 'not logged in' }[st];
  return <span className={`stream st-${st}`} role="status" aria-label={`Daemon connection: ${text}`}><span className="dot" aria-hidden="true" />{text}</span>;
}

function Notices() {
  const notices = useApp((s) => s.notices);
  const dismiss = useApp((s) => s.dismiss);
  // information fades after 6 s; errors stay until dismissed
  useEffect(() => {
    const timers = notices.filter((n) => n.kind === 'info').map((n) => setTimeout(() => dismiss(n.id), 6000));
    return () => timers.forEach(clearTimeout);
  }, [notices, dismiss]);
  if (!notices.length) return null;
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'}>
          <span>{n.text}</span>
          <button type="button" className="link" onClick={() => dismiss(n.id)} aria-label="Dismiss notice">✕</button>
        </div>
      ))}
    </div>
  );
}

function LoginRequired() {
  return (
    <section className="panel login" aria-label="Login required">
      <h2>Not logged in</h2>
      <p>The daemon refused this browser (HTTP 401). Open the one-time login URL that <code>rackseed serve</code> printed on its console
        (<code>http://…/login?code=…</code>); it works once and sets a session cookie for this browser.</p>
      <p>Link already used, or another browser? <a href="/login">Log in with the API token</a> the daemon printed at start.</p>
    </section>
  );
}

export function App() {
  const route = useApp((s) => s.route);
  const unauthorized = useApp((s) => s.streamStatus === 'unauthorized');
  const nodeCount = useApp((s) => Object.keys(s.nodes).length);
  const tab = (page: Route['page'], label: string, href: string) => (
    <a href={href} className={route.page === page ? 'tab active' : 'tab'} aria-current={route.page === page ? 'page' : undefined}>{label}</a>
  );
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">RackSeed</span>
        <nav aria-label="Main">
          {tab('wizard', 'Setup', '#/setup/network')}
          {tab('fleet', `Fleet (${nodeCount})`, '#/fleet')}
          {tab('events', 'Events', '#/events')}
        </nav>
        <StreamIndicator />
      </header>
      <Notices />
      <main>
        {unauthorized ? <LoginRequired /> : null}
        {!unauthorized && route.page === 'wizard' ? <Wizard step={route.step} /> : null}
        {!unauthorized && route.page === 'fleet' ? <Fleet nodeId={route.nodeId} /> : null}
        {!unauthorized && route.page === 'events' ? <EventLog limit={1000} full /> : null}
      </main>
    </div>
  );
}
