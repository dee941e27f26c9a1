// "Hand over" (issue 16): the selected nodes are enrolled into an OpenStack Ironic through its API, verified by it
// (provision state available, its power state = the BMC's, ports = the MACs), then owned by it. The form takes the
// Ironic URL and its auth (none / HTTP basic); the password crosses once and is never shown back (the daemon keeps it
// sealed; "stored" is all the UI learns). Then one row per node follows the job's steps live and ends with Ironic's
// own result or error.
import { useMemo, useState, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../store/store.ts';
import { startHandoff } from '../actions.ts';
import type { HandoffRecord } from '../../shared/handoff.ts';
import type { Job } from '../../shared/api.ts';
import type { NodeSummary } from '../../shared/node.ts';
import {
  checkHandoffForm, engineHost, failedStep, handoffBlocker, handoffProgress, handoffSummary, storedPassword, verificationText, type HandoffForm,
} from '../lib/handoff.ts';
import { Dialog } from './Dialog.tsx';

/** What the daemon's refusal means for the engineer, by HTTP status. */
function refusalHint(status: number | null): string {
  if (status === 502) return 'Nothing was written to Ironic and the nodes stay RackSeed\'s. Check the URL (Ironic\'s API listens on port 6385 by default), that this appliance can reach it, and the credentials.';
  if (status === 409) return 'Nothing was started. Fix what the message names (take the node back, wait for its job, inspect it, set the BMC credentials) and try again.';
  if (status === 400) return 'Nothing was started: correct the field the message names.';
  if (status === null) return 'The daemon did not answer: is it still running?';
  return 'Nothing was started.';
}

/** The result of one node's hand-off in a few words, with Ironic's own message when it failed. */
export function HandoffOutcome({ record, job }: { record: HandoffRecord | undefined; job: Job | undefined }) {
  if (!record || record.status === null) return <span className="muted">—</span>;
  if (record.status === 'running') {
    const p = handoffProgress(job);
    return <span>{p ? `${p.text} (step ${Math.min(p.done + 1, p.total)} of ${p.total})` : 'starting…'}</span>;
  }
  if (record.status === 'failed') {
    const at = failedStep(job);
    return (
      <span className="handoff-error">
        {at ? <strong>Failed at {at}: </strong> : null}{record.error ?? 'failed'}
        <span className="muted small"> {record.leftBehind ? `Left in Ironic: ${record.leftBehind}` : 'Nothing of this attempt is left in Ironic; the node stays RackSeed\'s.'}</span>
      </span>
    );
  }
  if (record.status === 'taken-back') return <span className="muted">taken back{record.engine ? ` from ${engineHost(record.engine.url)}` : ''}</span>;
  return (
    <span>
      {verificationText(record)}
      {/* the daemon's "existing" text names Ironic's node already: "Ironic node <uuid> (name) found by port … updated" */}
      {record.existing ? <span className="muted small block">{record.existing}</span>
        : record.engineNode ? <span className="muted small block">Ironic node <span className="mono">{record.engineNode}</span></span> : null}
    </span>
  );
}

/** Live rows of the nodes handed over: status, a progress bar over the job's steps, the outcome. */
function HandoffProgressTable({ ids }: { ids: string[] }) {
  const nodes = useApp(useShallow((s) => ids.map((id) => s.nodes[id])));
  const records = useApp(useShallow((s) => ids.map((id) => s.handoffs[id])));
  const jobs = useApp(useShallow((s) => ids.map((id) => s.handoffJobs[id])));
  return (
    <table className="grid compact" aria-label="Hand-off progress">
      <thead><tr><th>Node</th><th>Status</th><th>Progress</th><th>Result</th></tr></thead>
      <tbody>
        {ids.map((id, i) => {
          const n = nodes[i];
          const r = records[i];
          const job = r?.jobId && jobs[i]?.id !== r.jobId ? undefined : jobs[i];
          const sum = handoffSummary(r, job);
          const p = handoffProgress(job);
          const done = r?.status === 'done' ? p?.total ?? 1 : p?.done ?? 0;
          const total = p?.total ?? 1;
          return (
            <tr key={id} aria-label={`Hand-off of ${n?.mac ?? id}`}>
              <td className="mono">{n?.mac ?? id}{n?.serial ? <div className="muted small">{n.serial}</div> : null}</td>
              <td>{sum ? <span className={`badge tone-${sum.tone}`}>{sum.label}</span> : <span className="muted">—</span>}</td>
              <td>
                <div className="progress small-bar" role="progressbar" aria-label={`Hand-off progress of ${n?.mac ?? id}`}
                  aria-valuemin={0} aria-valuemax={total} aria-valuenow={done} aria-valuetext={p?.text || sum?.label || ''}>
                  <div className={`progress-fill ${r?.status === 'failed' ? 'bad' : r?.status === 'done' ? 'ok' : ''}`} style={{ width: `${Math.round((done / total) * 100)}%` }} />
                </div>
              </td>
              <td className="wrap"><HandoffOutcome record={r} job={job} /></td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function NodeReadiness({ nodes, records }: { nodes: NodeSummary[]; records: Record<string, HandoffRecord> }) {
  const blocked = nodes.map((n) => ({ n, why: handoffBlocker(n, records[n.id]) })).filter((x) => x.why);
  if (!blocked.length) return null;
  return (
    <div className="alert warn" role="status" aria-label="Nodes left out">
      {blocked.length} selected node{blocked.length === 1 ? ' is' : 's are'} left out:
      <ul className="plain">{blocked.map(({ n, why }) => <li key={n.id}><span className="mono">{n.mac}</span> — {why}</li>)}</ul>
    </div>
  );
}

export function HandoffDialog({ nodeIds, onClose }: { nodeIds: string[]; onClose: () => void }) {
  const nodesById = useApp((s) => s.nodes);
  const records = useApp((s) => s.handoffs);
  const engines = useApp((s) => s.engines);
  const bmcPasswordSet = useApp((s) => s.bmcPasswordSet);
  const last = engines[engines.length - 1];
  const [form, setForm] = useState<HandoffForm>(() => ({ url: last?.url ?? '', auth: last?.auth ?? 'none', user: last?.user ?? '', password: '' }));
  const [errors, setErrors] = useState<Partial<Record<keyof HandoffForm | 'nodes', string>>>({});
  const [refusal, setRefusal] = useState<{ status: number | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<string[] | null>(null);

  const selected = useMemo(() => nodeIds.map((id) => nodesById[id]).filter((n): n is NodeSummary => !!n), [nodeIds, nodesById]);
  const ready = useMemo(() => selected.filter((n) => !handoffBlocker(n, records[n.id])).map((n) => n.id), [selected, records]);
  const stored = form.auth === 'basic' && storedPassword(form, engines);
  const set = <K extends keyof HandoffForm>(k: K, v: HandoffForm[K]) => { setForm((f) => ({ ...f, [k]: v })); setErrors((e) => ({ ...e, [k]: undefined })); };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setRefusal(null);
    const checked = checkHandoffForm(form, ready, engines);
    if (!checked.ok) { setErrors(checked.errors); return; }
    setBusy(true);
    const r = await startHandoff(checked.request);
    setBusy(false);
    // the password crossed once: it is not kept in the page (after a refusal it is typed again)
    setForm((f) => ({ ...f, password: '' }));
    if (!r.ok) { setRefusal(r); return; }
    setSent(r.records.map((x) => x.nodeId));
  };

  const field = (k: keyof HandoffForm) => ({ 'aria-invalid': errors[k] ? true : undefined, 'aria-describedby': errors[k] ? `handoff-${k}-error` : undefined });
  const fieldError = (k: keyof HandoffForm) => errors[k] ? <span id={`handoff-${k}-error`} className="field-error">{errors[k]}</span> : null;

  if (sent) {
    return (
      <Dialog title="Hand over to Ironic" onClose={onClose} className="wide">
        <p className="lead">Hand-off of {sent.length} node{sent.length === 1 ? '' : 's'} to Ironic at <span className="mono">{form.url}</span>: create, ports, manage (Ironic reads the BMC itself), provide, then RackSeed reads the result back and hands the node over.</p>
        <HandoffProgressTable ids={sent} />
        <div className="actions">
          <span className="hint muted small">Closing this dialog does not stop anything: the daemon runs the hand-off; the fleet table shows its status.</span>
          <button type="button" onClick={onClose}>Close</button>
        </div>
      </Dialog>
    );
  }

  return (
    <Dialog title="Hand over to Ironic" onClose={onClose} className="wide">
      <p className="lead">
        Enrolls {ready.length} node{ready.length === 1 ? '' : 's'} into an OpenStack Ironic through its API, with the BMC address and
        credentials RackSeed uses, the hardware facts and one port per NIC; Ironic must then report each one <strong>available</strong> with
        the same power state as the BMC. Then Ironic owns them: RackSeed stops answering their PXE requests and stops driving their BMCs
        (Take back reverses that).
      </p>
      <NodeReadiness nodes={selected} records={records} />
      {!bmcPasswordSet ? <div className="alert warn" role="status">No BMC credentials are set: Ironic needs them (Setup → BMCs).</div> : null}
      <form className="handoff-form" aria-label="Hand-off target" onSubmit={submit} noValidate>
        <label>Ironic API URL
          <input className="mono" value={form.url} onChange={(e) => set('url', e.target.value)} placeholder="http://10.0.0.5:6385"
            list="known-engines" autoComplete="off" spellCheck={false} {...field('url')} />
          {fieldError('url')}
        </label>
        <datalist id="known-engines">{engines.map((e) => <option key={e.id} value={e.url} />)}</datalist>
        <fieldset className="choices">
          <legend>Ironic authentication</legend>
          <label className="check"><input type="radio" name="auth" value="none" checked={form.auth === 'none'} onChange={() => set('auth', 'none')} /> None (noauth, Bifrost's default)</label>
          <label className="check"><input type="radio" name="auth" value="basic" checked={form.auth === 'basic'} onChange={() => set('auth', 'basic')} /> HTTP basic (Metal3's Ironic)</label>
          {form.auth === 'basic' ? (
            <div className="row">
              <label>Ironic user
                <input value={form.user} onChange={(e) => set('user', e.target.value)} autoComplete="off" spellCheck={false} {...field('user')} />
                {fieldError('user')}
              </label>
              <label>Ironic password
                <input type="password" value={form.password} onChange={(e) => set('password', e.target.value)} autoComplete="new-password"
                  placeholder={stored ? '•••••• stored — type to replace' : refusal ? 'type it again' : ''} {...field('password')} />
                {fieldError('password')}
              </label>
              <span className="muted small">Sent once to the daemon, which keeps it sealed and never shows it back.</span>
            </div>
          ) : null}
        </fieldset>
        {errors.nodes ? <div className="alert bad" role="alert">Nothing to hand over: {errors.nodes}.</div> : null}
        {refusal ? (
          <div className="alert bad" role="alert" aria-label="Hand-off refused">
            <strong>Refused: {refusal.message}</strong>
            <div className="small">{refusalHint(refusal.status)}</div>
          </div>
        ) : null}
        <div className="actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="primary" disabled={busy || ready.length === 0}>
            {busy ? 'Checking Ironic…' : `Hand over ${ready.length} node${ready.length === 1 ? '' : 's'}`}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
