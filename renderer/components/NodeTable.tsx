// The fleet table: MAC, IP, firmware, state, power, BMC, serial, CPU/RAM/disk. Column headers are buttons that
// sort (aria-sort tells assistive tech the order); each MAC is a link to the node's detail. In the fleet view
// (`fleet`) each row has a checkbox (the selection the fleet actions work on) and the node's owner and hand-off status.
// Rows are virtualized (@tanstack/react-virtual): only the rows in view (plus OVERSCAN each side) are in the DOM, with
// spacer rows above and below keeping the scroll height, so a hall of 1,000 nodes sorts, filters and live-updates
// within a frame (bench/hall.ts measures it in Chromium).
import { Fragment, useMemo, useRef, type ReactNode } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useApp } from '../store/store.ts';
import type { SortKey } from '../store/slices.ts';
import type { HandoffRecord } from '../../shared/handoff.ts';
import type { Job } from '../../shared/api.ts';
import type { NodeSummary } from '../../shared/node.ts';
import { formatDisk, formatMemory, visibleNodes } from '../lib/fleet-table.ts';
import { formatRoute } from '../lib/route.ts';
import { handoffSummary, ownerLabel, ownerTitle } from '../lib/handoff.ts';
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

function OwnerCell({ record }: { record: HandoffRecord | undefined }) {
  const owner = record?.owner;
  const engine = !!owner && owner !== 'rackseed';
  return <span className={engine ? 'owner engine' : 'owner muted'} title={ownerTitle(owner)}>{ownerLabel(owner)}</span>;
}

function HandoffCell({ record, job }: { record: HandoffRecord | undefined; job: Job | undefined }) {
  const sum = handoffSummary(record, job);
  if (!sum) return <span className="muted">—</span>;
  return (
    <span className="handoff-cell" title={sum.detail}>
      <span className={`badge tone-${sum.tone}`}>{sum.label}</span> <span className={sum.tone === 'bad' ? 'err-hint small' : 'muted small'}>{sum.detail}</span>
    </span>
  );
}

/** The header checkbox: ticks every shown row, or clears them when all are ticked. */
function SelectAll({ rows, ticked: tickedSet }: { rows: NodeSummary[]; ticked: ReadonlySet<string> }) {
  const selection = useApp((s) => s.selection);
  const setSelection = useApp((s) => s.setSelection);
  const shown = rows.map((n) => n.id);
  const ticked = shown.filter((id) => tickedSet.has(id)).length;
  const all = shown.length > 0 && ticked === shown.length;
  return (
    <input type="checkbox" aria-label="Select all shown nodes" checked={all} disabled={!shown.length}
      ref={(el) => { if (el) el.indeterminate = ticked > 0 && !all; }}
      onChange={() => {
        const shownSet = new Set(shown);
        setSelection(all ? selection.filter((id) => !shownSet.has(id)) : [...selection, ...shown.filter((id) => !tickedSet.has(id))]);
      }} />
  );
}

/** Estimated row height (px) until rows are measured, and rows rendered beyond the visible ones on each side. */
const ROW_PX = 30;
const OVERSCAN = 12;

/** Owner and hand-off come right after the state (visible while a node detail narrows the table). */
const OWNER_AFTER: SortKey = 'power';

export function NodeTable({ selectedId, caption, fleet = false }: { selectedId?: string | null; caption: string; fleet?: boolean }) {
  const nodesById = useApp((s) => s.nodes);
  const filter = useApp((s) => s.filter);
  const sort = useApp((s) => s.sort);
  const sortBy = useApp((s) => s.sortBy);
  const handoffs = useApp((s) => s.handoffs);
  const jobs = useApp((s) => s.handoffJobs);
  const selection = useApp((s) => s.selection);
  const toggle = useApp((s) => s.toggleSelected);
  const all = useMemo(() => Object.values(nodesById), [nodesById]);
  // in the fleet view the filter also matches the owner ("ironic", its host) and the hand-off status
  const extra = useMemo(() => fleet ? (n: NodeSummary) => {
    const r = handoffs[n.id];
    return r ? `${ownerLabel(r.owner)} ${r.owner === 'rackseed' ? '' : r.owner.url} ${handoffSummary(r)?.label ?? ''}` : 'rackseed';
  } : undefined, [fleet, handoffs]);
  const rows = useMemo(() => visibleNodes(all, filter, sort, extra), [all, filter, sort, extra]);
  const ticked = useMemo(() => new Set(selection), [selection]);
  const cell = (n: NodeSummary, c: (typeof COLUMNS)[number]): ReactNode => CELLS[c.key](n);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: OVERSCAN,
    getItemKey: (i) => rows[i]!.id,
    // before the first measurement (and where layout is unknown) render a screenful rather than nothing
    initialRect: { width: 1200, height: 900 },
  });
  const items = virtual.getVirtualItems();
  const padTop = items.length ? items[0]!.start : 0;
  const padBottom = items.length ? virtual.getTotalSize() - items[items.length - 1]!.end : 0;
  const span = COLUMNS.length + (fleet ? 3 : 0);

  return (
    <div className="table-wrap virtual" ref={scroller}>
      <table className="grid" aria-label={caption} aria-rowcount={rows.length + 1}>
        <thead>
          <tr>
            {fleet ? <th className="check-col"><SelectAll rows={rows} ticked={ticked} /></th> : null}
            {COLUMNS.map((c) => (
              <Fragment key={c.key}>
                <th className={c.num ? 'num' : undefined}
                  aria-sort={sort.key === c.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
                  <button type="button" className="sort" onClick={() => sortBy(c.key)} aria-label={`Sort by ${c.label}`}>
                    {c.label}<span className="sort-arrow" aria-hidden="true">{sort.key === c.key ? (sort.dir === 'asc' ? '▲' : '▼') : ''}</span>
                  </button>
                </th>
                {fleet && c.key === OWNER_AFTER ? <><th>Owner</th><th>Hand-off</th></> : null}
              </Fragment>
            ))}
          </tr>
        </thead>
        <tbody>
          {padTop > 0 ? <tr className="spacer" aria-hidden="true"><td colSpan={span} style={{ height: padTop }} /></tr> : null}
          {items.map((item) => { const n = rows[item.index]!; return (
            <tr key={n.id} data-index={item.index} ref={virtual.measureElement} aria-rowindex={item.index + 2}
              className={[n.id === selectedId ? 'selected' : '', ticked.has(n.id) ? 'ticked' : ''].join(' ').trim() || undefined} aria-selected={n.id === selectedId}>
              {fleet ? (
                <td className="check-col"><input type="checkbox" aria-label={`Select ${n.mac}`} checked={ticked.has(n.id)} onChange={(e) => toggle(n.id, e.target.checked)} /></td>
              ) : null}
              {COLUMNS.map((c) => (
                <Fragment key={c.key}>
                  {cell(n, c)}
                  {fleet && c.key === OWNER_AFTER ? (
                    <>
                      <td><OwnerCell record={handoffs[n.id]} /></td>
                      <td className="handoff-col"><HandoffCell record={handoffs[n.id]} job={jobs[n.id]} /></td>
                    </>
                  ) : null}
                </Fragment>
              ))}
            </tr>
          ); })}
          {padBottom > 0 ? <tr className="spacer" aria-hidden="true"><td colSpan={span} style={{ height: padBottom }} /></tr> : null}
        </tbody>
      </table>
      {rows.length === 0 ? (
        <Empty>{all.length === 0 ? 'No nodes yet. Nodes appear here as they PXE-boot.' : `No node matches “${filter}”.`}</Empty>
      ) : null}
    </div>
  );
}

const CELLS: Record<SortKey, (n: NodeSummary) => ReactNode> = {
  mac: (n) => <td key="mac" className="mono"><a href={formatRoute({ page: 'fleet', nodeId: n.id })} aria-label={`Open node ${n.mac}`}>{n.mac}</a></td>,
  ip: (n) => <td key="ip" className="mono">{n.ip ?? '—'}</td>,
  state: (n) => <td key="state"><StateBadge state={n.state} maintenance={n.maintenance} />{n.lastError ? <span className="err-hint" title={n.lastError}> ⚠</span> : null}</td>,
  power: (n) => <td key="power"><PowerCell power={n.power} /></td>,
  firmware: (n) => <td key="firmware">{n.firmware?.toUpperCase() ?? '—'}</td>,
  bmc: (n) => <td key="bmc" className="mono">{n.bmc?.address ?? '—'}</td>,
  serial: (n) => <td key="serial" className="mono">{n.serial ?? '—'}</td>,
  cpu: (n) => <td key="cpu" className="ellipsis" title={n.cpu ?? undefined}>{n.cpu ?? '—'}</td>,
  memoryMiB: (n) => <td key="memoryMiB" className="num">{formatMemory(n.memoryMiB)}</td>,
  diskGiB: (n) => <td key="diskGiB" className="num">{formatDisk(n.diskGiB)}</td>,
};

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
