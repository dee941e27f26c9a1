// Wizard step 4 — Deploy (issue 15 item 7): pick an image from the library or import one (upload progress, then the
// daemon's import progress from 'image' stream messages), pick nodes (every `available` one by default), a host name
// pattern, SSH public keys and user data (checked in the browser: YAML, 64 KiB), then one progress bar per node —
// bytes written, MB/s, the stage — live from 'deploy' stream messages, with the node's deploy stages.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useApp } from '../store/store.ts';
import { loadDeploySettings, removeImage, saveDeploySettings, startDeploy, uploadImageFile } from '../actions.ts';
import { DONE_WHEN, READ_BACK_CHECKS, type DoneWhen, type BatchDeployRequest, type Deployment, type DeploySettings, type ReadBackCheck } from '../../shared/deploy.ts';
import { IMAGE_NAME_RULE, type ImageRecord } from '../../shared/image.ts';
import type { NodeSummary } from '../../shared/node.ts';
import {
  bootModeProblem, canDeploy, checkUserData, DEFAULT_HOSTNAME_PATTERN, deployProgress, formatRate, imageNameFromFile, importProgress,
  parseSshKeys, previewHostnames, STAGE_TEXT,
} from '../lib/deploy.ts';
import { formatBytes, formatDisk } from '../lib/fleet-table.ts';
import { Empty, StateBadge } from './common.tsx';
import { DeployTimeline } from './DeployTimeline.tsx';

function Bar({ label, value, max, text, tone }: { label: string; value: number; max: number; text: string; tone?: 'ok' | 'bad' }) {
  const pct = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return (
    <div className="progress wide-bar" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value} aria-valuetext={text}>
      <div className={`progress-fill ${tone ?? ''}`} style={{ width: `${pct}%` }} />
    </div>
  );
}

/** The upload of a file from this page: bytes sent and MB/s, then what the daemon answered. */
function UploadRow({ name }: { name: string }) {
  const u = useApp((s) => s.uploads[name]);
  const img = useApp((s) => Object.values(s.images).find((i) => i.name === name));
  if (!u) return null;
  const text = `${formatBytes(u.sent)} of ${formatBytes(u.total)}${u.mbps !== null ? `, ${formatRate(u.mbps)}` : ''}`;
  return (
    <div className="upload" aria-label={`Upload of ${name}`}>
      <div className="row tight">
        <span>{u.status === 'uploading' ? 'Sending' : 'Sent'} <span className="mono">{u.fileName}</span></span>
        <Bar label={`Upload of ${name}`} value={u.sent} max={u.total} text={text} tone={u.status === 'failed' ? 'bad' : u.status === 'done' ? 'ok' : undefined} />
        <span className="small mono">{text}</span>
      </div>
      {u.status === 'processing' && (!img || img.state === 'importing') ? <p className="muted small">Sent; the daemon checks the image…</p> : null}
      {u.status === 'failed' ? <div className="alert bad" role="alert">Import of {name} refused: {u.error}</div> : null}
    </div>
  );
}

function ImageRow({ img, selected, onSelect }: { img: ImageRecord; selected: boolean; onSelect: () => void }) {
  const p = importProgress(img);
  return (
    <tr className={selected ? 'ticked' : undefined}>
      <td className="check-col">
        <input type="radio" name="image" checked={selected} disabled={img.state !== 'ready'} onChange={onSelect} aria-label={`Use image ${img.name}`} />
      </td>
      <td className="mono">{img.name}</td>
      <td>{img.state === 'ready' ? <span className="badge tone-ok">ready</span> : img.state === 'failed' ? <span className="badge tone-bad">failed</span> : <span className="badge tone-busy">importing</span>}</td>
      <td>{img.sourceFormat ?? '—'}</td>
      <td className="num">{img.virtualSize !== null ? formatBytes(img.virtualSize) : '—'}</td>
      <td>{img.bootModes.map((m) => m.toUpperCase()).join(' + ') || '—'}</td>
      <td className="mono small" title={img.sha256 ?? undefined}>{img.sha256 ? `${img.sha256.slice(0, 12)}…` : '—'}</td>
      <td className="wrap">
        {img.state === 'importing' ? (
          <div className="row tight">
            <Bar label={`Import of ${img.name}`} value={p.fraction === null ? 0 : Math.round(p.fraction * 100)} max={100} text={p.text} />
            <span className="small">{p.text}</span>
          </div>
        ) : img.state === 'failed' ? <span className="err-hint small">{img.error}</span> : null}
      </td>
      <td>
        <button type="button" className="link small" aria-label={`Remove image ${img.name}`}
          onClick={() => { if (window.confirm(`Remove image ${img.name} from the library? Deploys already running keep their copy until they finish.`)) void removeImage(img.id); }}>Remove</button>
      </td>
    </tr>
  );
}

function ImagePicker({ imageId, setImageId }: { imageId: string | null; setImageId: (id: string | null) => void }) {
  const imagesById = useApp((s) => s.images);
  const images = useMemo(() => Object.values(imagesById).sort((a, b) => a.createdAt - b.createdAt), [imagesById]);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [sent, setSent] = useState<string | null>(null);
  const uploading = useApp((s) => !!sent && s.uploads[sent]?.status === 'uploading');
  // the image just uploaded is chosen once, when it is ready; its upload row stays (full bar, "Sent") until the next upload
  const [chosenFor, setChosenFor] = useState<string | null>(null);
  const justReady = sent && chosenFor !== sent ? images.find((i) => i.name === sent && i.state === 'ready') : undefined;
  useEffect(() => { if (justReady) { setImageId(justReady.id); setChosenFor(justReady.name); } }, [justReady, setImageId]);
  useEffect(() => {
    if (!imageId) { const ready = images.filter((i) => i.state === 'ready'); if (ready.length === 1) setImageId(ready[0]!.id); }
  }, [images, imageId, setImageId]);

  const upload = async (e: FormEvent) => {
    e.preventDefault();
    if (!file || !name) return;
    setSent(name);
    setChosenFor(null);
    await uploadImageFile(file, name, file.name);
  };
  return (
    <section className="sub" aria-label="Image">
      <h3>1 · Image</h3>
      {images.length ? (
        <div className="table-wrap">
          <table className="grid compact" aria-label="Images">
            <thead><tr><th className="check-col" /><th>Name</th><th>State</th><th>Format</th><th className="num">Size</th><th>Boots</th><th>SHA-256</th><th>Import</th><th /></tr></thead>
            <tbody>{images.map((img) => <ImageRow key={img.id} img={img} selected={img.id === imageId} onSelect={() => setImageId(img.id)} />)}</tbody>
          </table>
        </div>
      ) : <Empty>No image yet: import one (qcow2, raw, raw.gz or raw.xz).</Empty>}
      <form className="row" aria-label="Import image" onSubmit={upload}>
        <label>Image file
          <input type="file" accept=".qcow2,.raw,.img,.gz,.xz,application/octet-stream" onChange={(e) => {
            const f = e.target.files?.[0] ?? null;
            setFile(f);
            if (f) setName(imageNameFromFile(f.name));
          }} />
        </label>
        <label>Image name
          <input className="mono" value={name} onChange={(e) => setName(e.target.value)} placeholder="debian-12" title={IMAGE_NAME_RULE} spellCheck={false} />
        </label>
        <button type="submit" disabled={!file || !name || uploading}>{uploading ? 'Uploading…' : 'Upload'}</button>
        <span className="muted small">The file goes from this browser to the daemon; it is checked (format by content, boot modes) and stored once.</span>
      </form>
      {sent ? <UploadRow name={sent} /> : null}
    </section>
  );
}

function DeployRow({ d, node }: { d: Deployment; node: NodeSummary | undefined }) {
  const events = useApp((s) => s.details[d.nodeId]?.events);
  const allEvents = useApp((s) => s.events);
  const nodeEvents = useMemo(() => events ?? allEvents.filter((e) => e.nodeId === d.nodeId), [events, allEvents, d.nodeId]);
  const p = deployProgress(d);
  const moving = d.stage === 'writing' || d.stage === 'verifying';
  const mac = node?.mac ?? d.nodeId;
  const bytesText = moving ? `${formatBytes(d.bytes)} of ${formatBytes(d.totalBytes)}` : '';
  return (
    <tr aria-label={`Deploy of ${mac}`}>
      <td className="mono">{mac}<div className="muted small">{d.hostname ?? ''}</div></td>
      <td>{node ? <StateBadge state={node.state} /> : null}<div className="small">{STAGE_TEXT[d.stage]}</div></td>
      <td>
        <Bar label={`Deploy progress of ${mac}`} value={Math.round(p.fraction * 1000)} max={1000} text={`${p.text}${bytesText ? `, ${bytesText}` : ''}${d.mbps !== null ? `, ${formatRate(d.mbps)}` : ''}`}
          tone={d.stage === 'failed' ? 'bad' : d.stage === 'done' ? 'ok' : undefined} />
        <div className="small mono">{bytesText || '\u00a0'}</div>
      </td>
      <td className="num mono" aria-label={`Rate of ${mac}`}>{moving ? formatRate(d.mbps) : '—'}</td>
      <td className="wrap">
        <DeployTimeline events={nodeEvents} deployment={d} compact />
        {d.error ? <div className="err-hint small" role="alert">{d.error}</div> : null}
      </td>
    </tr>
  );
}

function DeployProgressTable({ ids }: { ids: string[] }) {
  const deployments = useApp((s) => s.deployments);
  const nodes = useApp((s) => s.nodes);
  const rows = ids.map((id) => deployments[id]).filter((d): d is Deployment => !!d);
  if (!rows.length) return null;
  const done = rows.filter((d) => d.stage === 'done').length;
  const failed = rows.filter((d) => d.stage === 'failed').length;
  return (
    <section className="sub" aria-label="Deploy progress">
      <h3>Progress</h3>
      <p className="muted small" role="status">{done} of {rows.length} done{failed ? `, ${failed} failed` : ''}{done + failed < rows.length ? ' — the daemon runs the deploys; this page can be closed' : ''}</p>
      <div className="table-wrap">
        <table className="grid compact" aria-label="Deploys">
          <thead><tr><th>Node</th><th>Stage</th><th>Progress</th><th className="num">Rate</th><th>Stages</th></tr></thead>
          <tbody>{rows.map((d) => <DeployRow key={d.nodeId} d={d} node={nodes[d.nodeId]} />)}</tbody>
        </table>
      </div>
    </section>
  );
}

/** The daemon's deploy settings: how many nodes stream at once, how the agent checks what it wrote. */
function DeploySettingsPanel() {
  const [settings, setSettings] = useState<DeploySettings | null>(null);
  const [writers, setWriters] = useState('');
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    let live = true;
    void loadDeploySettings().then((s) => { if (live && s) { setSettings(s); setWriters(String(s.maxWriters)); } });
    return () => { live = false; };
  }, []);
  if (!settings) return <p className="muted small">Loading the deploy settings…</p>;
  const n = Number(writers);
  const writersOk = Number.isInteger(n) && n >= 1 && n <= 1000;
  const save = async (change: Partial<DeploySettings>) => {
    setSaving(true);
    const r = await saveDeploySettings(change);
    setSaving(false);
    if (r) { setSettings(r); setWriters(String(r.maxWriters)); }
  };
  return (
    <div className="row" role="group" aria-label="Deploy settings">
      <label>Nodes writing at once
        <input type="number" min={1} max={1000} value={writers} onChange={(e) => setWriters(e.target.value)} aria-invalid={writersOk ? undefined : true}
          onBlur={() => { if (writersOk && n !== settings.maxWriters) void save({ maxWriters: n }); }} disabled={saving} />
      </label>
      <label>Read-back check
        <select value={settings.readBackCheck} disabled={saving} onChange={(e) => void save({ readBackCheck: e.target.value as ReadBackCheck })}>
          {READ_BACK_CHECKS.map((c) => <option key={c} value={c}>{{ fletcher4: 'Fletcher-4: fast 256-bit sum (default)', sha256: 'SHA-256: cryptographic, slower' }[c]}</option>)}
        </select>
      </label>
      {!writersOk ? <span className="field-error" role="alert">a whole number from 1 to 1000</span> : null}
      <span className="muted small">Both hold for the next deploys until RackSeed restarts; nodes beyond the limit wait <em>queued</em>.</span>
    </div>
  );
}

export function DeployStep({ onBack, onDone, onNext }: { onBack: () => void; onDone: () => void; onNext?: () => void }) {
  const nodesById = useApp((s) => s.nodes);
  const images = useApp((s) => s.images);
  const deployments = useApp((s) => s.deployments);
  const preset = useApp((s) => s.deployPreset);
  const setPreset = useApp((s) => s.setDeployPreset);
  const candidates = useMemo(() => Object.values(nodesById).filter(canDeploy).sort((a, b) => a.mac.localeCompare(b.mac)), [nodesById]);
  const others = Object.keys(nodesById).length - candidates.length;
  const [imageId, setImageId] = useState<string | null>(null);
  const [picked, setPicked] = useState<Set<string> | null>(null);
  const [pattern, setPattern] = useState(DEFAULT_HOSTNAME_PATTERN);
  const [keysText, setKeysText] = useState('');
  const [userData, setUserData] = useState('');
  const [doneWhen, setDoneWhen] = useState<DoneWhen>('auto');
  const [powerOnSec, setPowerOnSec] = useState(60);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<{ message: string; nodes: { node: string; error: string }[] } | null>(null);
  const [sent, setSent] = useState<string[] | null>(null);

  // default pick: the fleet's preset (Deploy / Redeploy there), else every available node
  const chosen = picked ?? new Set(preset?.length ? preset.filter((id) => candidates.some((n) => n.id === id)) : candidates.filter((n) => n.state === 'available').map((n) => n.id));
  const toggle = (id: string, on: boolean) => { const next = new Set(chosen); if (on) next.add(id); else next.delete(id); setPicked(next); };
  const chosenNodes = candidates.filter((n) => chosen.has(n.id));
  const names = previewHostnames(pattern, chosenNodes);
  const keys = parseSshKeys(keysText);
  const ud = checkUserData(userData);
  const image = imageId ? images[imageId] : undefined;
  const running = Object.values(deployments).filter((d) => d.kind === 'deploy' && d.stage !== 'done' && d.stage !== 'failed').map((d) => d.nodeId);
  const shown = sent ?? running;
  const problems = [
    !image || image.state !== 'ready' ? 'choose a ready image' : null,
    chosenNodes.length === 0 ? 'tick at least one node' : null,
    names.error ? `host names: ${names.error}` : null,
    keys.error ? `SSH keys: ${keys.error}` : null,
    !ud.ok ? ud.error : null,
  ].filter((x): x is string => !!x);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (problems.length || !image) return;
    setBusy(true);
    setRefusal(null);
    const req: BatchDeployRequest = { nodes: chosenNodes.map((n) => n.id), image: image.id, hostname: pattern.trim() || DEFAULT_HOSTNAME_PATTERN, doneWhen };
    if (keys.keys.length) req.sshKeys = keys.keys;
    if (userData.trim()) req.userData = userData;
    if (doneWhen === 'power') req.powerOnSec = powerOnSec;
    const r = await startDeploy(req);
    setBusy(false);
    if (!r.ok) { setRefusal(r); return; }
    setSent(r.deployments.map((d) => d.nodeId));
    setPicked(new Set());
    setPreset(null);
  };

  const macOf = (ref: string) => nodesById[ref]?.mac ?? ref;
  return (
    <div className="step">
      <h2>4 · Deploy</h2>
      <p className="lead">Writes an OS image to each chosen node's disk (streamed, then read back from the disk and checked against the image), adds a config drive with the host name, SSH keys and user data, and boots the node from disk. A node is <strong>active</strong> once the deployed OS has booted.</p>
      <ImagePicker imageId={imageId} setImageId={setImageId} />

      <form aria-label="Deploy" onSubmit={submit}>
        <section className="sub" aria-label="Nodes to deploy">
          <h3>2 · Nodes</h3>
          {candidates.length ? (
            <div className="table-wrap">
              <table className="grid compact" aria-label="Nodes to deploy">
                <thead><tr><th className="check-col" /><th>MAC</th><th>Serial</th><th>State</th><th>Firmware</th><th className="num">Disk</th><th>Host name</th><th /></tr></thead>
                <tbody>{candidates.map((n) => {
                  const on = chosen.has(n.id);
                  const i = chosenNodes.findIndex((x) => x.id === n.id);
                  const warn = bootModeProblem(image, n);
                  return (
                    <tr key={n.id} className={on ? 'ticked' : undefined}>
                      <td className="check-col"><input type="checkbox" checked={on} onChange={(e) => toggle(n.id, e.target.checked)} aria-label={`Deploy to ${n.mac}`} /></td>
                      <td className="mono">{n.mac}</td>
                      <td className="mono">{n.serial ?? '—'}</td>
                      <td><StateBadge state={n.state} maintenance={n.maintenance} />{n.state !== 'available' ? <span className="muted small"> redeploy</span> : null}</td>
                      <td>{n.firmware?.toUpperCase() ?? '—'}</td>
                      <td className="num">{formatDisk(n.diskGiB)}</td>
                      <td className="mono">{on && i >= 0 ? names.names[i] ?? '' : ''}</td>
                      <td className="wrap">{on && warn ? <span className="warn-text small">{warn}</span> : null}</td>
                    </tr>
                  );
                })}</tbody>
              </table>
            </div>
          ) : <Empty>{others ? 'No node can be deployed now: each one is busy (deploying, cleaning, inspecting), not inspected yet or in maintenance.' : 'No node yet: nodes become available after discovery (Discover step).'}</Empty>}
          {others > 0 ? <p className="muted small">{others} node{others === 1 ? ' is' : 's are'} in other states (discovered, deploying, in maintenance, …) and not listed.</p> : null}
        </section>

        <section className="sub" aria-label="Configuration">
          <h3>3 · Configuration</h3>
          <div className="row">
            <label>Host name pattern
              <input className="mono" value={pattern} onChange={(e) => setPattern(e.target.value)} aria-invalid={names.error ? true : undefined}
                aria-describedby="hostname-help" spellCheck={false} />
            </label>
            <span id="hostname-help" className="muted small">{'{serial}'} (the MAC without one), {'{mac}'}, {'{index}'} or {'{index:03}'}, {'{id}'}</span>
          </div>
          {names.error ? <div className="field-error" role="alert">{names.error}</div> : null}
          <label className="block-label">SSH public keys (one per line)
            <textarea className="mono" rows={3} value={keysText} onChange={(e) => setKeysText(e.target.value)} placeholder="ssh-ed25519 AAAA… engineer@laptop"
              aria-invalid={keys.error ? true : undefined} spellCheck={false} />
          </label>
          <div className={keys.error ? 'field-error' : 'muted small'} role={keys.error ? 'alert' : 'status'} aria-label="SSH keys check">
            {keys.error ?? `${keys.keys.length} key${keys.keys.length === 1 ? '' : 's'}`}
          </div>
          <label className="block-label">User data (cloud-init)
            <textarea className="mono" rows={8} value={userData} onChange={(e) => setUserData(e.target.value)} placeholder={'#cloud-config\npackages: [htop]'}
              aria-invalid={!ud.ok ? true : undefined} spellCheck={false} />
          </label>
          <div className={!ud.ok ? 'field-error' : 'muted small'} role={!ud.ok ? 'alert' : 'status'} aria-label="User data check">
            {!ud.ok ? ud.error : ud.kind === 'none' ? 'no user data' : ud.kind === 'cloud-config' ? '#cloud-config: valid YAML' : ud.note ?? 'passed to cloud-init as is'}
          </div>
          <details className="advanced">
            <summary>When is a node done?</summary>
            <div className="row">
              <label>Done when
                <select value={doneWhen} onChange={(e) => setDoneWhen(e.target.value as DoneWhen)}>
                  {DONE_WHEN.map((d) => <option key={d} value={d}>{{ auto: 'auto: the OS calls back or asks DHCP', callback: 'the OS calls back (cloud-init phone home)', dhcp: 'the OS asks DHCP (authoritative mode)', power: 'it stays powered on' }[d]}</option>)}
                </select>
              </label>
              {doneWhen === 'power' ? (
                <label>Powered on for (s)
                  <input type="number" min={1} max={86400} value={powerOnSec} onChange={(e) => setPowerOnSec(Math.max(1, Number(e.target.value) || 1))} />
                </label>
              ) : null}
            </div>
          </details>
          <details className="advanced">
            <summary>Disk writes: nodes at once, read-back check</summary>
            <DeploySettingsPanel />
          </details>
        </section>

        {refusal ? (
          <div className="alert bad" role="alert" aria-label="Deploy refused">
            <strong>Nothing was started: {refusal.message}</strong>
            {refusal.nodes.length ? <ul className="plain">{refusal.nodes.map((n) => <li key={n.node}><span className="mono">{macOf(n.node)}</span> — {n.error}</li>)}</ul> : null}
          </div>
        ) : null}
        <div className="row">
          <button type="submit" className="primary" disabled={busy || problems.length > 0}>
            {busy ? 'Starting…' : `Deploy ${chosenNodes.length} node${chosenNodes.length === 1 ? '' : 's'}`}
          </button>
          {problems.length ? <span className="muted small">To deploy: {problems.join('; ')}.</span> : null}
        </div>
      </form>

      <DeployProgressTable ids={shown} />

      <div className="actions">
        <button type="button" onClick={onBack}>Back</button>
        <button type="button" className="primary" onClick={onDone}>Open fleet view</button>
        {onNext ? <button type="button" onClick={onNext}>Next: seed the control node</button> : null}
      </div>
    </div>
  );
}
