// The fleet table: MAC, IP, firmware, state, power, BMC, serial, CPU/RAM/disk. Column headers are buttons that
// sort (aria-sort tells assistive tech the order); each MAC is a link to the node's detail.
import { useMemo } from 'react';
import { useApp } from '../store/store.ts';
import type { SortKey } from '../store/slices.ts';
import { formatDisk, formatMemory, visibleNodes } from '../lib/fleet-table.ts';
import { formatRoute } from '../lib/route.ts';
import { Empty, PowerCell, StateBadge } from './common.tsx';

const COLUMNS: { key: SortKey; label: string; num?: boolean }[] = [
  { key: 'mac', label: 'MAC' },
  { key: 'ip', label: 'IP' },
  { key: 'state', label: 'State' },
  { key: 'power', label: 'Power' },
  { key: 'firmware', label: 'Firmware' },
  { key: 'bmc', label: 'BMC' },
  { key: 'serial', label: 'Serial' },
  { key: 'cpu', label: 'CPU' },
  { key: 'memoryMiB', label: 'RAM', num: true },
  { key: 'diskGiB', label: 'Disk', num: true },
];

export function NodeTable({ selectedId, caption }: { selectedId?: string | null; caption: string }) {
  const nodesById = useApp((s) => s.nodes);
  const filter = useApp((s) => s.filter);
  const sort = useApp((s) => s.sort);
  const sortBy = useApp((s) => s.sortBy);
  const all = useMemo(() => Object.values(nodesById), [nodesById]);
  const rows = useMemo(() => visibleNodes(all, filter, sort), [all, filter, sort]);

  return (
    <div className="table-wrap">
      <table className="grid" aria-label={caption}>
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th key={c.key} className={c.num ? 'num' : undefined}
                aria-sort={sort.key === c.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
                <button type="button" className="sort" onClick={() => sortBy(c.key)} aria-label={`Sort by ${c.label}`}>
                  {c.label}<span className="sort-arrow" aria-hidden="true">{sort.key === c.key ? (sort.dir === 'asc' ? '▲' : '▼') : ''}</span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((n) => (
            <tr key={n.id} className={n.id === selectedId ? 'selected' : undefined} aria-selected={n.id === selectedId}>
              <td className="mono"><a href={formatRoute({ page: 'fleet', nodeId: n.id })} aria-label={`Open node ${n.mac}`}>{n.mac}</a></td>
              <td className="mono">{n.ip ?? '—'}</td>
              <td><StateBadge state={n.state} maintenance={n.maintenance} />{n.lastError ? <span className="err-hint" title={n.lastError}> ⚠</span> : null}</td>
              <td><PowerCell power={n.power} /></td>
              <td>{n.firmware?.toUpperCase() ?? '—'}</td>
              <td className="mono">{n.bmc?.address ?? '—'}</td>
              <td className="mono">{n.serial ?? '—'}</td>
              <td className="ellipsis" title={n.cpu ?? undefined}>{n.cpu ?? '—'}</td>
              <td className="num">{formatMemory(n.memoryMiB)}</td>
              <td className="num">{formatDisk(n.diskGiB)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 ? (
        <Empty>{all.length === 0 ? 'No nodes yet. Nodes appear here as they PXE-boot.' : `No node matches “${filter}”.`}</Empty>
      ) : null}
    </div>
  );
}

export function NodeFilter() {
  const filter = useApp((s) => s.filter);
  const setFilter = useApp((s) => s.setFilter);
  const total = useApp((s) => Object.keys(s.nodes).length);
  return (
    <div className="filter">
      <label htmlFor="node-filter">Filter nodes</label>
      <input id="node-filter" type="search" value={filter} placeholder="MAC, IP, serial, state…"
        onChange={(e) => setFilter(e.target.value)} />
      <span className="muted">{total} node{total === 1 ? '' : 's'}</span>
    </div>
  );
}
