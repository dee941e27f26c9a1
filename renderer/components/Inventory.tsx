// Inventory of a node as the discovery agent reported it (shared/inventory.ts, schemaVersion 1): system
// identity, CPU, memory, disks, NICs. Anything that does not look like schema 1 is shown generically, so a
// newer agent's report is never hidden.
import type { ReactNode } from 'react';
import type { Inventory as Inv } from '../../shared/inventory.ts';
import { formatBytes } from '../lib/fleet-table.ts';

function scalar(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'number') return v.toLocaleString();
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

function Generic({ v }: { v: unknown }): ReactNode {
  if (Array.isArray(v)) return <span className="mono">{v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : scalar(x))).join(', ') || '—'}</span>;
  if (typeof v === 'object' && v !== null) {
    return <dl className="kv">{Object.entries(v).map(([k, x]) => <div key={k}><dt>{k}</dt><dd><Generic v={x} /></dd></div>)}</dl>;
  }
  return <span className="mono">{scalar(v)}</span>;
}

function isInventoryV1(v: unknown): v is Inv {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o.schemaVersion === 1 && typeof o.cpu === 'object' && Array.isArray(o.disks) && Array.isArray(o.nics) && typeof o.dmi === 'object';
}

function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return <dl className="facts">{rows.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}</dl>;
}

export function Inventory({ inventory }: { inventory: unknown }) {
  if (inventory === null || inventory === undefined) {
    return <p className="muted">No inventory yet — the node has not reported from the discovery ramdisk.</p>;
  }
  if (!isInventoryV1(inventory)) return <Generic v={inventory} />;
  const inv = inventory;
  const sys = inv.dmi.system;
  return (
    <div className="inventory" aria-label="Inventory">
      <Facts rows={[
        ['System', `${scalar(sys.vendor)} ${sys.product ?? ''}`.trim()],
        ['Serial', <span className="mono">{scalar(sys.serial)}</span>],
        ['UUID', <span className="mono small">{scalar(sys.uuid)}</span>],
        ['BIOS', `${scalar(inv.dmi.bios.vendor)} ${inv.dmi.bios.version ?? ''} ${inv.dmi.bios.date ?? ''}`.trim()],
        ['Boot mode', inv.bootMode.toUpperCase()],
        ['Boot MAC', <span className="mono">{scalar(inv.bootMac)}</span>],
        ['CPU', `${scalar(inv.cpu.model)}`],
        ['Cores', `${scalar(inv.cpu.sockets)} socket · ${scalar(inv.cpu.cores)} cores · ${scalar(inv.cpu.threads)} threads`],
        ['Memory', `${formatBytes(inv.memory.totalBytes)} (usable ${formatBytes(inv.memory.usableBytes)})`],
        ['Agent', <span className="mono small">{scalar(inv.agentVersion)} · kernel {scalar(inv.kernel)}</span>],
      ]} />
      <h4>Disks ({inv.disks.length})</h4>
      {inv.disks.length ? (
        <table className="grid compact inv-table" aria-label="Disks">
          <thead><tr><th>Name</th><th className="num">Size</th><th>Bus</th><th>Model</th><th>Serial</th></tr></thead>
          <tbody>{inv.disks.map((d) => (
            <tr key={d.name}><td className="mono">{d.name}</td><td className="num">{formatBytes(d.sizeBytes)}</td><td>{scalar(d.bus)}{d.rotational ? ' · HDD' : ''}</td><td>{scalar(d.model)}</td><td className="mono">{scalar(d.serial)}</td></tr>
          ))}</tbody>
        </table>
      ) : <p className="muted small">no disks</p>}
      <h4>NICs ({inv.nics.length})</h4>
      {inv.nics.length ? (
        <table className="grid compact inv-table" aria-label="NICs">
          <thead><tr><th>Name</th><th>MAC</th><th>Driver</th><th>Link</th><th>IPv4</th></tr></thead>
          <tbody>{inv.nics.map((n) => (
            <tr key={n.name}><td className="mono">{n.name}</td><td className="mono">{scalar(n.mac)}</td><td>{scalar(n.driver)}</td>
              <td>{n.link === null ? '—' : n.link ? `up${n.speedMbps ? ` ${n.speedMbps} Mb/s` : ''}` : 'down'}</td><td className="mono">{scalar(n.ipv4)}</td></tr>
          ))}</tbody>
        </table>
      ) : <p className="muted small">no NICs</p>}
    </div>
  );
}
