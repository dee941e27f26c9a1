// Wizard step 5 — Seed (issue 17 item 4): the laptop deploys a control node running Ironic, hands every other node to
// it, stops answering them and can be unplugged. Choose the control node among the available ones (the daemon's plan
// proposes the one with the most RAM, then disk; the RAM check against the control image's need is shown per node),
// see what happens to every other node, the control node's addresses (suggested from the appliance's network), start;
// then the live timeline of the five stages from 'seed' stream messages (deploy control → wait Ironic → hand-off →
// pivot → report), Resume / Roll back when a stage failed, and the final report: who owns what, the control node's
// Ironic URL, what was verified, the site's credentials only when asked (revealed or downloaded, through
// GET /api/v1/seed/credentials: the daemon records it) and "the laptop can be unplugged".
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useApp } from '../store/store.ts';
import { loadNodeDetail, loadSeedPlan, resumeSeed, rollbackSeed, seedCredentials, startSeed } from '../actions.ts';
import type { SeedPlan, SeedRecord, SeedReport, SeedRequest } from '../../shared/seed.ts';
import type { NodeSummary } from '../../shared/node.ts';
import type { Deployment } from '../../shared/deploy.ts';
import type { Inventory } from '../../shared/inventory.ts';
import {
  checkSeedForm, controlCandidates, failedStage, planActionText, SEED_STAGE_HELP, SEED_STAGE_TEXT, SEED_STATUS_TEXT, seedElapsedMs, seedTimeline,
  suggestSeedForm, type SeedForm,
} from '../lib/seed.ts';
import { deployProgress, STAGE_TEXT } from '../lib/deploy.ts';
import { formatDuration } from '../lib/timeline.ts';
import { formatDisk } from '../lib/fleet-table.ts';
import { saveTextFile } from '../lib/download.ts';
import { Empty, formatTime, StateBadge } from './common.tsx';

const CONTROL_IMAGE = 'lab-control';

function Field({ label, value, onChange, error, placeholder, name }: { label: string; value: string; onChange: (v: string) => void; error?: string; placeholder?: string; name: string }) {
  return (
    <label>{label}
      <input className="mono" value={value} onChange={(e) => onChange(e.target.value)} placeholder={placeholder} spellCheck={false}
        aria-invalid={error ? true : undefined} aria-describedby={error ? `seed-err-${name}` : undefined} />
      {error ? <span id={`seed-err-${name}`} className="field-error" role="alert">{error}</span> : null}
    </label>
  );
}

/** Choose the control node: every node of the plan, the RAM check per node, radio only where it can be. */
export function ControlPicker({ plan, nodes, chosen, setChosen }: { plan: SeedPlan | null; nodes: Record<string, NodeSummary>; chosen: string | null; setChosen: (id: string) => void }) {
  const candidates = useMemo(() => (plan ? controlCandidates(plan, nodes) : []), [plan, nodes]);
  if (!plan) return <p className="muted">Reading the plan…</p>;
  if (!candidates.length) return <Empty>No node yet: the seed needs discovered, available nodes (Discover step).</Empty>;
  return (
    <div className="table-wrap">
      <table className="grid compact" aria-label="Control node">
        <thead><tr><th className="check-col" /><th>MAC</th><th>Serial</th><th>State</th><th className="num">RAM</th><th>RAM ≥ {plan.minMemoryMiB} MiB</th><th className="num">Disk</th><th /></tr></thead>
        <tbody>{candidates.map((c) => (
          <tr key={c.id} className={c.id === chosen ? 'ticked' : undefined}>
            <td className="check-col">
              <input type="radio" name="control" checked={c.id === chosen} disabled={c.problem !== null} onChange={() => setChosen(c.id)} aria-label={`Control node ${c.mac}`} />
            </td>
            <td className="mono">{c.mac}</td>
            <td className="mono">{c.serial ?? '—'}</td>
            <td>{c.state ? <StateBadge state={c.state} /> : '—'}</td>
            <td className="num">{c.memoryMiB !== null ? `${c.memoryMiB} MiB` : '—'}</td>
            <td aria-label={`RAM check of ${c.mac}`}>
              {c.ram === 'ok' ? <span className="badge tone-ok">✓ enough</span> : c.ram === 'too-small' ? <span className="badge tone-bad">✗ too small</span> : <span className="badge tone-info">unknown</span>}
            </td>
            <td className="num">{formatDisk(c.diskGiB)}</td>
            <td className="wrap small">{c.problem ? <span className="err-hint">{c.problem}</span> : c.id === plan.control && !chosen ? 'proposed' : ''}</td>
          </tr>
        ))}</tbody>
      </table>
    </div>
  );
}

/** What happens to each node with the chosen control node (the daemon's plan for it). */
export function PlanTable({ plan }: { plan: SeedPlan | null }) {
  if (!plan) return null;
  const handoff = plan.nodes.filter((n) => n.action === 'handoff').length;
  return (
    <section className="sub" aria-label="Seed plan">
      <h3>2 · Plan</h3>
      {plan.problem ? <div className="alert bad" role="alert">{plan.problem}</div> : null}
      <p className="muted small" role="status" aria-label="Plan summary">
        {plan.control ? `1 control node, ${handoff} node${handoff === 1 ? '' : 's'} to hand over to its Ironic, ${plan.nodes.length - handoff - 1} staying RackSeed's` : 'no control node'}
      </p>
      <div className="table-wrap">
        <table className="grid compact" aria-label="Plan">
          <thead><tr><th>MAC</th><th>Serial</th><th className="num">RAM</th><th>What happens</th></tr></thead>
          <tbody>{plan.nodes.map((n) => (
            <tr key={n.id} aria-label={`Plan for ${n.mac}`}>
              <td className="mono">{n.mac}</td>
              <td className="mono">{n.serial ?? '—'}</td>
              <td className="num">{n.memoryMiB !== null ? `${n.memoryMiB} MiB` : '—'}</td>
              <td className={n.action === 'control' ? 'strong' : n.action === 'skip' ? 'muted' : undefined}>{planActionText(n)}</td>
            </tr>
          ))}</tbody>
        </table>
      </div>
    </section>
  );
}

/** The control node's second NICs from its inventory (for the BMC-network NIC field). */
function useOtherNics(id: string | null): string[] {
  const inv = useApp((s) => (id ? s.details[id]?.inventory as Inventory | null | undefined : undefined));
  const mac = useApp((s) => (id ? s.nodes[id]?.mac : undefined));
  useEffect(() => { if (id) void loadNodeDetail(id); }, [id]);
  return (inv?.nics ?? []).map((n) => n.mac).filter((m): m is string => !!m && m !== mac);
}

function SeedForm({ chosen, onStarted }: { chosen: string | null; onStarted: () => void }) {
  const config = useApp((s) => s.networkConfig);
  const interfaces = useApp((s) => s.interfaces);
  const images = useApp((s) => s.images);
  const plan = useApp((s) => s.seedPlan);
  const ready = useMemo(() => Object.values(images).filter((i) => i.state === 'ready').sort((a, b) => a.name.localeCompare(b.name)), [images]);
  const applianceCidr = interfaces.find((i) => i.name === config?.interface)?.addresses.find((a) => /^\d+\.\d+\.\d+\.\d+\//.test(a)) ?? null;
  const suggestion = suggestSeedForm(applianceCidr, config?.mode === 'authoritative' ? config.pool ?? null : null);
  const [f, setF] = useState<SeedForm>({ provisioningCidr: '', dhcpStart: '', dhcpEnd: '', netmask: '', bmcMac: '', bmcCidr: '', ironicTimeoutSec: '' });
  const [touched, setTouched] = useState(false);
  const [image, setImage] = useState<string>('');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const nics = useOtherNics(chosen);
  // the suggestion fills the empty form once the appliance's address is known
  useEffect(() => {
    if (!touched && suggestion && !f.provisioningCidr) setF((x) => ({ ...x, ...suggestion }));
  }, [touched, suggestion, f.provisioningCidr]);
  useEffect(() => {
    if (!image && ready.length) setImage((ready.find((i) => i.name === CONTROL_IMAGE) ?? ready[0]!).name);
  }, [image, ready]);
  const set = (k: keyof SeedForm) => (v: string) => { setTouched(true); setF((x) => ({ ...x, [k]: v })); };
  const check = checkSeedForm(f);
  const errors = touched && !check.ok ? check.errors : {};
  const problems = [
    !chosen ? 'choose the control node' : null,
    plan?.problem ?? null,
    !image ? `import the control-node image (${CONTROL_IMAGE}: lab/images/cli.ts build --control)` : null,
    !check.ok ? `the control node's network: ${Object.entries(check.errors).map(([k, v]) => `${k} — ${v}`).join('; ')}` : null,
  ].filter((x): x is string => !!x);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (problems.length || !check.ok || !chosen) return;
    setBusy(true);
    setRefusal(null);
    const req: SeedRequest = { control: chosen, image, network: check.network };
    if (check.ironicTimeoutSec !== undefined) req.ironicTimeoutSec = check.ironicTimeoutSec;
    const r = await startSeed(req);
    setBusy(false);
    if (!r.ok) { setRefusal(r.message); return; }
    onStarted();
  };

  return (
    <form aria-label="Seed" onSubmit={submit}>
      <section className="sub" aria-label="Control node network">
        <h3>3 · The control node's network</h3>
        <p className="muted small">Its static address on the provisioning network (where its Ironic API and HTTP server answer), the range its dnsmasq
          hands out to the nodes its Ironic owns, and its second NIC on the BMC network (leave empty when the BMCs are routed).</p>
        <div className="row">
          <Field name="prov" label="Control node address (CIDR)" value={f.provisioningCidr} onChange={set('provisioningCidr')} error={errors.provisioningCidr} placeholder="10.0.0.250/24" />
          <Field name="start" label="DHCP range start" value={f.dhcpStart} onChange={set('dhcpStart')} error={errors.dhcpStart} placeholder="10.0.0.200" />
          <Field name="end" label="DHCP range end" value={f.dhcpEnd} onChange={set('dhcpEnd')} error={errors.dhcpEnd} placeholder="10.0.0.249" />
          <Field name="mask" label="Netmask" value={f.netmask} onChange={set('netmask')} error={errors.netmask} placeholder="255.255.255.0" />
        </div>
        <div className="row">
          <label>BMC network NIC (MAC)
            <input className="mono" list="seed-nics" value={f.bmcMac} onChange={(e) => set('bmcMac')(e.target.value)} placeholder="none: BMCs routed" spellCheck={false}
              aria-invalid={errors.bmcMac ? true : undefined} />
            <datalist id="seed-nics">{nics.map((m) => <option key={m} value={m} />)}</datalist>
            {errors.bmcMac ? <span className="field-error" role="alert">{errors.bmcMac}</span> : null}
          </label>
          <Field name="bmccidr" label="Its address on the BMC network (CIDR)" value={f.bmcCidr} onChange={set('bmcCidr')} error={errors.bmcCidr} placeholder="10.0.1.250/24" />
          <label>Control-node image
            <select value={image} onChange={(e) => setImage(e.target.value)} aria-label="Control-node image">
              {ready.length ? null : <option value="">no image ready</option>}
              {ready.map((i) => <option key={i.id} value={i.name}>{i.name}</option>)}
            </select>
          </label>
        </div>
        {suggestion && !touched ? <p className="muted small">Suggested from the appliance's address {applianceCidr}: check them against the site's plan.</p> : null}
        <details className="advanced">
          <summary>Waiting for Ironic</summary>
          <Field name="timeout" label="Ironic timeout (s)" value={f.ironicTimeoutSec} onChange={set('ironicTimeoutSec')} error={errors.ironicTimeoutSec} placeholder="600" />
          <span className="muted small"> how long the seed waits for the control node's Ironic API after its OS booted, before it stops with the reason</span>
        </details>
      </section>
      {refusal ? <div className="alert bad" role="alert" aria-label="Seed refused"><strong>Nothing was started: {refusal}</strong></div> : null}
      <div className="row">
        <button type="submit" className="primary" disabled={busy || problems.length > 0}>{busy ? 'Starting…' : 'Start the seed'}</button>
        {problems.length ? <span className="muted small">To seed: {problems.join('; ')}.</span> : null}
      </div>
    </form>
  );
}

/** The five stages, live: status, duration, what the stage is doing, its failure; the control node's deploy progress. */
export function SeedTimeline({ seed, controlMac, deployment }: { seed: SeedRecord; controlMac: string | null; deployment: Deployment | undefined }) {
  const [now, setNow] = useState(() => Date.now());
  const running = seed.status === 'running';
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [running]);
  const stages = seedTimeline(seed, running ? now : Date.now());
  return (
    <section className="sub" aria-label="Seed timeline">
      <h3>Seed of {controlMac ?? seed.controlNode} <span className="muted small mono">{formatDuration(seedElapsedMs(seed, now))}</span></h3>
      <ol className="timeline seed-tl" aria-label="Seed stages">
        {stages.map((s, i) => (
          <li key={s.name} className={`tl-stage st-${s.status}`} aria-label={`${s.text}: ${SEED_STATUS_TEXT[s.status]}${s.durationMs !== null && s.status !== 'running' ? `, ${formatDuration(s.durationMs)}` : ''}`}>
            <div className="tl-head">
              <span className="muted mono">{i + 1}</span>
              <span className="tl-name">{s.text}</span>
              <span className="tl-status">{SEED_STATUS_TEXT[s.status]}</span>
              <span className="tl-dur mono">{formatDuration(s.durationMs)}</span>
              <span className="tl-at mono muted">{s.startedAt ? formatTime(s.startedAt) : ''}</span>
            </div>
            <div className="muted small">{s.detail ?? SEED_STAGE_HELP[s.name]}</div>
            {s.name === 'deploy-control' && s.status === 'running' && deployment && deployment.kind === 'deploy' ? (
              <div className="row tight small">
                <div className="progress wide-bar" role="progressbar" aria-label="Control node deploy" aria-valuemin={0} aria-valuemax={1000}
                  aria-valuenow={Math.round(deployProgress(deployment).fraction * 1000)} aria-valuetext={deployProgress(deployment).text}>
                  <div className="progress-fill" style={{ width: `${Math.round(deployProgress(deployment).fraction * 100)}%` }} />
                </div>
                <span>{STAGE_TEXT[deployment.stage]}</span>
              </div>
            ) : null}
            {s.error ? <div className="tl-error" role="alert">{s.error}</div> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** A failed seed: the reason, what still holds, Resume and Roll back. */
export function SeedFailure({ seed }: { seed: SeedRecord }) {
  const [busy, setBusy] = useState<'resume' | 'rollback' | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const stage = failedStage(seed);
  if (!stage) return null;
  const act = async (what: 'resume' | 'rollback') => {
    if (what === 'rollback' && !window.confirm('Roll back the seed? RackSeed takes every node of the seed back (the control node too) and answers and drives them again; the control node\'s Ironic keeps its records.')) return;
    setBusy(what);
    setErr(null);
    const r = what === 'resume' ? await resumeSeed() : await rollbackSeed();
    setBusy(null);
    if (!r.ok) setErr(r.message);
  };
  return (
    <section className="alert bad" aria-label="Seed stopped">
      <strong>The seed stopped at “{SEED_STAGE_TEXT[stage]}”.</strong>
      <p>{seed.error}</p>
      <p className="small">Every node not yet handed over is still RackSeed's and is served as before. Fix the cause, then resume from this stage, or roll the seed back.</p>
      <div className="row">
        <button type="button" className="primary" disabled={busy !== null} onClick={() => void act('resume')}>{busy === 'resume' ? 'Resuming…' : `Resume from “${SEED_STAGE_TEXT[stage]}”`}</button>
        <button type="button" disabled={busy !== null} onClick={() => void act('rollback')}>{busy === 'rollback' ? 'Rolling back…' : 'Roll back (take every node back)'}</button>
      </div>
      {err ? <div className="field-error" role="alert">{err}</div> : null}
    </section>
  );
}

/** The site's credentials: never shown until asked; revealed on the page or saved as a file. */
function Credentials() {
  const [text, setText] = useState<string | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fetchIt = async (): Promise<{ text: string; fileName: string; contentType: string } | null> => {
    setBusy(true);
    setErr(null);
    const r = await seedCredentials();
    setBusy(false);
    if (!r.ok) { setErr(r.message); return null; }
    return r.file;
  };
  return (
    <section className="sub" aria-label="Site credentials">
      <h4>Site credentials</h4>
      <p className="muted small">The control node's Ironic user and password (OS_* variables for the openstack client). Not shown until you ask; the daemon records every time it hands them out. Keep the file safe: it is the only copy outside the control node.</p>
      <div className="row">
        {text === null
          ? <button type="button" disabled={busy} onClick={() => void fetchIt().then((f) => { if (f) setText(f.text); })}>Reveal credentials</button>
          : <button type="button" onClick={() => setText(null)}>Hide credentials</button>}
        <button type="button" disabled={busy} onClick={() => void fetchIt().then((f) => { if (f) saveTextFile(f.fileName, f.text, f.contentType); })}>Download site credentials</button>
      </div>
      {text !== null ? <pre className="creds-text mono" aria-label="Credentials file">{text}</pre> : null}
      {err ? <div className="field-error" role="alert">{err}</div> : null}
    </section>
  );
}

export function SeedReportView({ seed, report }: { seed: SeedRecord; report: SeedReport }) {
  const [busy, setBusy] = useState(false);
  return (
    <section className="sub" aria-label="Seed report">
      <h3>Report</h3>
      {report.unplugReady ? (
        <div className="alert ok unplug" role="status" aria-label="Laptop can be unplugged">
          <strong>The laptop can be unplugged.</strong> The control node runs the rack now: its Ironic has every handed-over node and answers their PXE
          itself; RackSeed answers none of these machines. Seed to unplug: {formatDuration(seedElapsedMs(seed, Date.now()))}.
        </div>
      ) : <div className="alert warn" role="status">Some nodes are still RackSeed's: keep the laptop plugged in until they are handed over.</div>}
      <dl className="kv">
        <dt>Control node</dt><dd className="mono">{report.controlNode.hostname} · {report.controlNode.address} · {report.controlNode.mac}</dd>
        <dt>Ironic API</dt><dd className="mono" aria-label="Ironic URL">{report.ironicUrl}</dd>
        <dt>Ironic user</dt><dd className="mono">{report.ironicUser} (HTTP basic)</dd>
        <dt>PXE/HTTP server</dt><dd className="mono">{report.httpUrl}</dd>
      </dl>
      <div className="table-wrap">
        <table className="grid compact" aria-label="Ownership">
          <thead><tr><th>MAC</th><th>Serial</th><th>Owner</th><th>Ironic node</th><th>Provision state</th><th>Power</th><th>Verified</th></tr></thead>
          <tbody>{report.nodes.map((n) => (
            <tr key={n.id} aria-label={`Owner of ${n.mac}`}>
              <td className="mono">{n.mac}</td>
              <td className="mono">{n.serial ?? '—'}</td>
              <td>{n.owner === 'control-node' ? 'the control node itself' : n.owner === 'ironic' ? 'the control node\'s Ironic' : 'RackSeed'}</td>
              <td className="mono small">{n.ironicNode ?? '—'}</td>
              <td>{n.provisionState ?? '—'}</td>
              <td>{n.powerState ?? '—'}</td>
              <td>{n.verified ? <span className="badge tone-ok">✓</span> : <span className="badge tone-bad" title={n.error ?? undefined}>✗ {n.error ?? ''}</span>}</td>
            </tr>
          ))}</tbody>
        </table>
      </div>
      <h4>Verified</h4>
      <ul className="plain small" aria-label="Verified">{report.verified.map((v) => <li key={v}>✓ {v}</li>)}</ul>
      <Credentials />
      <details className="advanced">
        <summary>Take the nodes back</summary>
        <p className="small">Rolling back makes RackSeed answer and drive every node of the seed again (the control node too); the control node's Ironic keeps its records — remove them there.</p>
        <button type="button" disabled={busy} onClick={() => {
          if (!window.confirm('Roll back the seed? RackSeed takes every node of the seed back.')) return;
          setBusy(true);
          void rollbackSeed().finally(() => setBusy(false));
        }}>Roll back the seed</button>
      </details>
    </section>
  );
}

export function SeedStep({ onBack, onDone }: { onBack: () => void; onDone: () => void }) {
  const seed = useApp((s) => s.seed);
  const plan = useApp((s) => s.seedPlan);
  const nodes = useApp((s) => s.nodes);
  const deployments = useApp((s) => s.deployments);
  const [chosen, setChosen] = useState<string | null>(null);
  const [newSeed, setNewSeed] = useState(false);
  // the plan for the chosen node (none: the daemon proposes one; that one is chosen)
  useEffect(() => { void loadSeedPlan(chosen ?? undefined); }, [chosen]);
  useEffect(() => { if (!chosen && plan?.control && !plan.problem) setChosen(plan.control); }, [chosen, plan]);
  const active = seed && (seed.status !== 'rolled-back' || !newSeed) ? seed : null;
  const showForm = !active || (active.status === 'rolled-back' && newSeed);

  return (
    <div className="step">
      <h2>5 · Seed</h2>
      <p className="lead">Puts the first cloud layer on the rack's own hardware: RackSeed deploys a <strong>control node</strong> running OpenStack Ironic,
        hands every other node to that Ironic, stops answering them — and the laptop can leave. One action; each stage is shown below and can be
        resumed after a failure or a restart of RackSeed.</p>
      {showForm ? (
        <>
          <section className="sub" aria-label="Choose the control node">
            <h3>1 · Control node</h3>
            <p className="muted small">An available node with a BMC and enough RAM for the control image (Debian, Ironic, dnsmasq, nginx). Proposed: the one with the most RAM, then disk.</p>
            <ControlPicker plan={plan} nodes={nodes} chosen={chosen} setChosen={setChosen} />
          </section>
          <PlanTable plan={plan} />
          <SeedForm chosen={chosen} onStarted={() => setNewSeed(false)} />
        </>
      ) : null}
      {active ? <SeedTimeline seed={active} controlMac={nodes[active.controlNode]?.mac ?? null} deployment={deployments[active.controlNode]} /> : null}
      {active?.status === 'failed' ? <SeedFailure seed={active} /> : null}
      {active?.status === 'done' && active.report ? <SeedReportView seed={active} report={active.report} /> : null}
      {active?.status === 'rolled-back' ? (
        <div className="alert warn" role="status" aria-label="Seed rolled back">
          This seed was rolled back: RackSeed owns its nodes again.{' '}
          <button type="button" className="link" onClick={() => { setNewSeed(true); setChosen(null); }}>Plan a new seed</button>
        </div>
      ) : null}
      <div className="actions">
        <button type="button" onClick={onBack}>Back</button>
        <button type="button" className="primary" onClick={onDone}>Open fleet view</button>
      </div>
    </div>
  );
}
