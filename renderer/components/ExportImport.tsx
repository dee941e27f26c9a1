// Exports for the engine a site runs (Metal3, Tinkerbell, the Ironic node file, Ansible, CSV) downloaded as a file, and
// the import of a nodes CSV or a rack plan. BMC passwords go into an export only when the engineer ticks the box; the
// file's first line then says so (and without them it says what is left out).
import { useState, type FormEvent } from 'react';
import { useApp } from '../store/store.ts';
import { exportNodes, importCsvFile } from '../actions.ts';
import { EXPORT_FORMATS, type ExportFormat, type ImportResult } from '../../shared/handoff.ts';
import { EXPORT_FORMAT_TEXT } from '../lib/handoff.ts';
import { saveTextFile } from '../lib/download.ts';
import { Dialog } from './Dialog.tsx';

export function ExportDialog({ nodeIds, onClose }: { nodeIds: string[]; onClose: () => void }) {
  const total = useApp((s) => Object.keys(s.nodes).length);
  const [format, setFormat] = useState<ExportFormat>('metal3');
  const [secrets, setSecrets] = useState(false);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<{ fileName: string; secrets: string | null; nodes: number } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    const r = await exportNodes(format, nodeIds, secrets);
    setBusy(false);
    if (!r.ok) { setError(r.message); return; }
    saveTextFile(r.file.fileName, r.file.text, r.file.contentType);
    const m = /(\d+) node\(s\)/.exec(r.file.text);
    setDone({ fileName: r.file.fileName, secrets: r.file.secrets, nodes: m ? Number(m[1]) : nodeIds.length });
  };

  return (
    <Dialog title="Export nodes" onClose={onClose}>
      <form aria-label="Export" onSubmit={submit}>
        <p className="lead">
          {nodeIds.length
            ? `The ${nodeIds.length} selected node${nodeIds.length === 1 ? '' : 's'}, in the format of the engine that takes them over.`
            : `No node is selected: every node with a BMC or an inventory (of ${total}) is exported.`}
        </p>
        <fieldset className="choices">
          <legend>Format</legend>
          {EXPORT_FORMATS.map((f) => (
            <label key={f} className="check">
              <input type="radio" name="format" value={f} checked={format === f} onChange={() => { setFormat(f); setDone(null); }} />
              <span><strong>{EXPORT_FORMAT_TEXT[f]!.label}</strong> <span className="muted small">{EXPORT_FORMAT_TEXT[f]!.hint}</span></span>
            </label>
          ))}
        </fieldset>
        <label className="check">
          <input type="checkbox" checked={secrets} onChange={(e) => { setSecrets(e.target.checked); setDone(null); }} /> Include secrets (BMC passwords)
        </label>
        {secrets ? (
          <div className="alert warn" role="alert" aria-label="Secrets warning">
            The file will hold the BMC password in clear text (its first line says so). Anyone who gets the file can power the
            machines off and on: keep it off shared drives and tickets. The daemon records that it handed one out.
          </div>
        ) : (
          <p className="muted small">BMC passwords are left out; the file's first line says so and where to add them.</p>
        )}
        {error ? <div className="alert bad" role="alert">Export failed: {error}</div> : null}
        {done ? (
          <div className="alert ok" role="status" aria-label="Export saved">
            Saved <span className="mono">{done.fileName}</span>: {done.nodes} node{done.nodes === 1 ? '' : 's'}, BMC passwords {done.secrets === 'included' ? 'INCLUDED' : 'omitted'}.
          </div>
        ) : null}
        <div className="actions">
          <button type="button" onClick={onClose}>Close</button>
          <button type="submit" className="primary" disabled={busy}>{busy ? 'Exporting…' : 'Download'}</button>
        </div>
      </form>
    </Dialog>
  );
}

function importSummary(r: ImportResult): string {
  const what = r.kind === 'rack-plan' ? 'rack plan' : 'nodes CSV';
  const n = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  return `${what}, ${n(r.rows, 'row')}: ${n(r.created.length, 'node')} created, ${n(r.updated.length, 'node')} updated, ${n(r.bmcs.length, 'BMC')} registered`;
}

export function ImportDialog({ onClose }: { onClose: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    setResult(null);
    const r = await importCsvFile(file);
    setBusy(false);
    if (r.ok) setResult(r.result);
    else setError(r.message);
  };

  return (
    <Dialog title="Import nodes" onClose={onClose}>
      <form aria-label="Import" onSubmit={submit}>
        <p className="lead">Pre-registers BMCs and the machines expected in the hall before they PXE-boot. Either file works:</p>
        <ul className="plain small">
          <li><strong>Nodes CSV</strong> — RackSeed's own CSV export (header with <code>boot_mac</code>).</li>
          <li><strong>Rack plan</strong> — header <code>position,serial,bmc_address</code> and optionally <code>mac</code>.</li>
        </ul>
        <p className="muted small">A bad row is named with its line and field, and then nothing is imported.</p>
        <label>CSV file
          <input type="file" accept=".csv,text/csv,text/plain" onChange={(e) => { setFile(e.target.files?.[0] ?? null); setResult(null); setError(null); }} />
        </label>
        {error ? <div className="alert bad" role="alert" aria-label="Import refused">Import refused: {error}</div> : null}
        {result ? <div className="alert ok" role="status" aria-label="Import result">Imported the {importSummary(result)}.</div> : null}
        <div className="actions">
          <button type="button" onClick={onClose}>Close</button>
          <button type="submit" className="primary" disabled={busy || !file}>{busy ? 'Importing…' : 'Import'}</button>
        </div>
      </form>
    </Dialog>
  );
}
