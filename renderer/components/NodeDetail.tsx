// Detail of one node: identity, power and boot-device controls, its serial console, boot timeline (with the console log's last lines), inventory, jobs, its events.
import { lazy, Suspense, useEffect, useState } from 'react';
import { useApp } from '../store/store.ts';
import { allowNode, inspect, loadNodeDetail, power, setBootDevice, setMaintenance } from '../actions.ts';
import type { BootDevRequest } from '../../shared/api.ts';
import { formatBytes, formatDisk, formatMemory } from '../lib/fleet-table.ts';
import { BootTimeline } from './BootTimeline.tsx';
import { ConsoleTail } from './ConsoleTail.tsx';

// the terminal (xterm.js, ~300 kB) loads when a node detail first shows, not with the fleet view
const ConsolePanel = lazy(() => import('./ConsolePanel.tsx').then((m) => ({ default: m.ConsolePanel })));
import { Inventory } from './Inventory.tsx';
import { EventRows } from './EventLog.tsx';
import { PowerCell, StateBadge } from './common.tsx';
import { HandoffOutcome } from './HandoffDialog.tsx';
import { ReleaseDialog, TakeBackDialog } from './FleetActions.tsx';
import { DeployTimeline } from './DeployTimeline.tsx';
import { canDeploy, canRelease, deployProgress, formatRate, STAGE_TEXT } from '../lib/deploy.ts';
import { formatRoute } from '../lib/route.ts';
import type { NodeEvent } from '../../shared/node.ts';

/** The node's latest deploy or release: image, host name, disk, the stage with bytes and MB/s, the stages; Release / Redeploy. */
function DeploySection({ id, events, owned }: { id: string; events: readonly NodeEvent[]; owned: boolean }) {
  const d = useApp((s) => s.deployments[id]);
  const n = useApp((s) => s.nodes[id]);
  const setPreset = useApp((s) => s.setDeployPreset);
  const [releasing, setReleasing] = useState(false);
  if (!n) return null;
  const p = d ? deployProgress(d) : null;
  const moving = d && (d.stage === 'writing' || d.stage === 'verifying');
  return (
    <section aria-label="Deploy">
      <h3>Deploy</h3>
      {d ? (
        <>
          <dl className="facts one">
            {d.kind === 'deploy' ? <div><dt>Image</dt><dd className="mono small">{d.image ? `${d.image.name} (${formatBytes(d.image.sizeBytes)})` : '—'}</dd></div> : <div><dt>Release</dt><dd>{d.erase ? 'wipe and zero every disk' : 'wipe partition tables and signatures'}</dd></div>}
            {d.hostname ? <div><dt>Host name</dt><dd className="mono">{d.hostname}</dd></div> : null}
            {d.disk ? <div><dt>Disk</dt><dd className="mono small">{d.disk.name} ({formatBytes(d.disk.sizeBytes)}){d.disk.serial ? ` · ${d.disk.serial}` : ''}</dd></div> : null}
            <div><dt>Stage</dt><dd>{STAGE_TEXT[d.stage]}{moving ? ` · ${formatBytes(d.bytes)} of ${formatBytes(d.totalBytes)} · ${formatRate(d.mbps)}` : ''}{d.bootedVia ? ` (booted: ${d.bootedVia})` : ''}</dd></div>
          </dl>
          {p && d.stage !== 'done' && d.stage !== 'failed' ? (
            <div className="progress wide-bar" role="progressbar" aria-label="Deploy progress" aria-valuemin={0} aria-valuemax={1000} aria-valuenow={Math.round(p.fraction * 1000)} aria-valuetext={p.text}>
              <div className="progress-fill" style={{ width: `${Math.round(p.fraction * 100)}%` }} />
            </div>
          ) : null}
          <DeployTimeline events={events} deployment={d} />
        </>
      ) : <p className="muted small">Never deployed or released.</p>}
      <div className="btn-row">
        <button type="button" disabled={owned || !canDeploy(n)} onClick={() => { setPreset([id]); window.location.hash = formatRoute({ page: 'wizard', step: 'deploy' }); }}>
          {n.state === 'available' ? 'Deploy…' : 'Redeploy…'}
        </button>
        <button type="button" disabled={owned || !canRelease(n)} onClick={() => setReleasing(true)}>Release…</button>
      </div>
      {releasing ? <ReleaseDialog nodeIds={[id]} onClose={() => setReleasing(false)} /> : null}
    </section>
  );
}
import { engineHost, handoffSummary, isEngineOwned, ownerLabel, ownerTitle } from '../lib/handoff.ts';

/** Who owns the node and its latest hand-off: status, the engine's node, what RackSeed read back, Ironic's error. */
function HandoffSection({ id }: { id: string }) {
  const record = useApp((s) => s.handoffs[id]);
  const job = useApp((s) => s.handoffJobs[id]);
  const [takingBack, setTakingBack] = useState(false);
  if (!record || (record.status === null && record.owner === 'rackseed')) return null;
  const sum = handoffSummary(record, job);
  const v = record.result;
  return (
    <section aria-label="Hand-off">
      <h3>Hand-off</h3>
      <dl className="facts one">
        <div><dt>Owner</dt><dd title={ownerTitle(record.owner)}>{ownerLabel(record.owner)}</dd></div>
        <div><dt>Status</dt><dd>{sum ? <span className={`badge tone-${sum.tone}`}>{sum.label}</span> : '—'}</dd></div>
        {record.engine ? <div><dt>Engine</dt><dd className="mono small">{record.engine.url}</dd></div> : null}
        {record.engineNode ? <div><dt>Engine node</dt><dd className="mono small">{record.engineNode}</dd></div> : null}
        {v ? (
          <>
            <div><dt>Provision</dt><dd>{v.provisionState}</dd></div>
            <div><dt>Power</dt><dd className={v.powerMatches ? '' : 'err-hint'}>Ironic {v.enginePower ?? '?'} / BMC {v.bmcPower ?? '?'} {v.powerMatches ? '✓' : '✗ differ'}</dd></div>
            <div><dt>Ports</dt><dd className={v.portsMatch ? '' : 'err-hint'}>{v.ports.map((p) => `${p.address}${p.pxeEnabled ? ' (PXE)' : ''}`).join(', ') || 'none'} {v.portsMatch ? '✓' : '✗ differ'}</dd></div>
            <div><dt>API</dt><dd className="small">microversion {v.microversion}</dd></div>
          </>
        ) : null}
      </dl>
      {record.status === 'failed' || record.status === 'running' ? <div className={record.status === 'failed' ? 'alert bad' : 'alert'} role={record.status === 'failed' ? 'alert' : 'status'}><HandoffOutcome record={record} job={job} /></div> : null}
      {record.existing ? <p className="muted small">{record.existing}</p> : null}
      {isEngineOwned(record) ? (
        <div className="btn-row">
          <button type="button" onClick={() => setTakingBack(true)}>Take back…</button>
          <span className="muted small">RackSeed leaves this node to {record.engine ? engineHost(record.engine.url) : 'its engine'}: no PXE answers, no BMC control.</span>
        </div>
      ) : null}
      {takingBack ? <TakeBackDialog nodeIds={[id]} onClose={() => setTakingBack(false)} /> : null}
    </section>
  );
}

function PowerControls({ id, disabled }: { id: string; disabled: boolean }) {
  const [busy, setBusy] = useState(false);
  const run = async (a: 'on' | 'off' | 'cycle') => {
    if (a !== 'on' && !window.confirm(`Power ${a} this node? A running OS will not be shut down cleanly.`)) return;
    setBusy(true);
    try { await power(id, a); } finally { setBusy(false); }
  };
  return (
    <div className="btn-row" role="group" aria-label="Power">
      <button type="button" onClick={() => run('on')} disabled={disabled || busy}>Power on</button>
      <button type="button" className="danger" onClick={() => run('off')} disabled={disabled || busy}>Power off</button>
      <button type="button" onClick={() => run('cycle')} disabled={disabled || busy}>Power cycle</button>
    </div>
  );
}

function BootDeviceControl({ id, disabled }: { id: string; disabled: boolean }) {
  const [device, setDevice] = useState<BootDevRequest['device']>('pxe');
  const [persistent, setPersistent] = useState(false);
  const [uefi, setUefi] = useState(false);
  return (
    <form className="bootdev" onSubmit={(e) => { e.preventDefault(); void setBootDevice(id, { device, persistent, uefi }); }}>
      <label>Boot device
        <select value={device} onChange={(e) => setDevice(e.target.value as BootDevRequest['device'])} disabled={disabled}>
          <option value="pxe">Network (PXE)</option>
          <option value="disk">Local disk</option>
          <option value="bios">BIOS setup</option>
        </select>
      </label>
      <label className="check"><input type="checkbox" checked={uefi} onChange={(e) => setUefi(e.target.checked)} disabled={disabled} /> UEFI</label>
      <label className="check"><input type="checkbox" checked={persistent} onChange={(e) => setPersistent(e.target.checked)} disabled={disabled} /> Persistent</label>
      <button type="submit" disabled={disabled}>Set boot device</button>
    </form>
  );
}

export function NodeDetail({ id }: { id: string }) {
  const detail = useApp((s) => s.details[id]);
  const handoff = useApp((s) => s.handoffs[id]);
  const summary = useApp((s) => s.nodes[id]);
  // reload on every state change: inventory and jobs arrive with inspection
  const state = summary?.state;
  useEffect(() => { void loadNodeDetail(id); }, [id, state]);
  const n = detail?.node ?? summary;
  if (!n) return <aside className="detail panel" aria-label="Node detail"><p className="muted">Loading node…</p></aside>;
  const noBmc = !n.bmc;
  const owned = isEngineOwned(handoff);
  return (
    <aside className="detail panel" aria-label={`Node ${n.mac}`}>
      <div className="panel-head">
        <h2 className="mono">{n.mac}</h2>
        <StateBadge state={n.state} maintenance={n.maintenance} />
        <a className="close" href="#/fleet" aria-label="Close node detail">✕</a>
      </div>
      {n.lastError ? <div className="alert bad" role="alert">Last error: {n.lastError}</div> : null}
      {n.state === 'seen' ? (
        <div className="alert warn" role="status" aria-label="Seen, not booted">
          <strong>Seen, not booted.</strong> This machine asked to PXE-boot, but only machines you allow are booted here (or
          ones RackSeed powers on through their BMC). RackSeed answered it nothing and leaves it alone.
          <div className="btn-row">
            <button type="button" className="primary" onClick={() => void allowNode(n.id)}>Allow to boot</button>
            <span className="muted small">It is then discovered the next time it PXE-boots (power it on or reboot it yourself).</span>
          </div>
        </div>
      ) : null}
      <dl className="facts">
        <div><dt>IP</dt><dd className="mono">{n.ip ?? '—'}</dd></div>
        <div><dt>Power</dt><dd><PowerCell power={n.power} /></dd></div>
        <div><dt>Firmware</dt><dd>{n.firmware?.toUpperCase() ?? '—'}</dd></div>
        <div><dt>Serial</dt><dd className="mono">{n.serial ?? '—'}</dd></div>
        <div><dt>UUID</dt><dd className="mono small">{n.uuid ?? '—'}</dd></div>
        <div><dt>BMC</dt><dd className="mono">{n.bmc ? `${n.bmc.address}${n.bmc.matchedBy ? ` (by ${n.bmc.matchedBy})` : ''}` : 'not matched'}</dd></div>
        <div><dt>Owner</dt><dd title={ownerTitle(handoff?.owner)}>{ownerLabel(handoff?.owner)}</dd></div>
        <div><dt>CPU</dt><dd>{n.cpu ?? '—'}</dd></div>
        <div><dt>RAM / disk</dt><dd>{formatMemory(n.memoryMiB)} / {formatDisk(n.diskGiB)}</dd></div>
      </dl>

      <h3>Control</h3>
      {noBmc ? <p className="muted small">No BMC matched to this node yet: power and boot-device control need one (BMC step).</p> : null}
      {owned ? <p className="muted small">Owned by {ownerLabel(handoff?.owner)}: RackSeed does not drive its BMC. Take it back to control it here.</p> : null}
      <PowerControls id={n.id} disabled={noBmc || owned} />
      <BootDeviceControl id={n.id} disabled={noBmc || owned} />
      <div className="btn-row">
        <button type="button" onClick={() => void inspect(n.id)} disabled={noBmc || n.maintenance || owned}>Re-inspect</button>
        <button type="button" title="Inspect, then keep the node on in the discovery ramdisk: its root shell is on the serial console below; RackSeed does not power it off (power it off or deploy it when done)"
          onClick={() => void inspect(n.id, true)} disabled={noBmc || n.maintenance || owned}>Ramdisk shell</button>
        <button type="button" aria-pressed={n.maintenance} title="In maintenance RackSeed leaves the node alone: its iPXE script boots the local disk and no inspection starts"
          onClick={() => {
            if (n.maintenance) { void setMaintenance(n.id, false); return; }
            const reason = window.prompt('Put this node in maintenance? Reason (kept in the node history, optional):', '');
            if (reason !== null) void setMaintenance(n.id, true, reason);
          }}>
          {n.maintenance ? 'End maintenance' : 'Maintenance'}
        </button>
      </div>

      <Suspense fallback={<p className="muted small">Loading the console…</p>}>
        <ConsolePanel key={n.id} nodeId={n.id}
          unavailable={noBmc ? 'No BMC matched to this node yet: its console is reached through the BMC (sweep the BMC subnet, then inspect it).'
            : owned ? `Owned by ${ownerLabel(handoff?.owner)}: RackSeed does not use its BMC, so no console here.` : null} />
      </Suspense>

      <HandoffSection id={n.id} />
      <DeploySection id={n.id} events={detail?.events ?? []} owned={owned} />

      <h3>Boot timeline</h3>
      <BootTimeline events={detail?.events ?? []} />
      <ConsoleTail id={n.id} refreshKey={`${n.state}:${detail?.events.length ?? 0}`} failed={n.state === 'error' || !!n.lastError} />

      <h3>Inventory</h3>
      {detail ? <Inventory inventory={detail.inventory} /> : <p className="muted">Loading…</p>}

      {detail && detail.jobs.length ? (
        <>
          <h3>Jobs</h3>
          <ul className="jobs">
            {detail.jobs.slice(-5).reverse().map((j) => (
              <li key={j.id} className={`job st-${j.status}`}>
                <strong>{j.kind}</strong> <span className="badge">{j.status}</span>
                <span className="muted small"> {j.steps.map((s) => `${s.name}:${s.status}`).join(' → ')}</span>
                {j.error ? <div className="tl-error">{j.error}</div> : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}

      <h3>Events</h3>
      <div className="table-wrap log short">
        <table className="grid compact" aria-label="Node events">
          <thead><tr><th>Time</th><th>Source</th><th>Kind</th><th>MAC</th><th>Message</th></tr></thead>
          <tbody><EventRows events={(detail?.events ?? []).slice(-50).reverse()} /></tbody>
        </table>
      </div>
    </aside>
  );
}
