// `rackseed import FILE.csv`: the CSV export read back (bmc_protocol ipmi|redfish included), or a rack plan (position,
// serial, BMC address[, mac][, bmc_protocol]) — to pre-register BMCs and the nodes expected in a hall before they
// PXE-boot. Parsing is pure (parseImportCsv); a bad
// row is named with its field and nothing is imported (applyImport runs in one transaction after parsing succeeded).
// Lines starting with '#' (the export's header) are skipped. Columns are matched by header name, in any order.
import type { Core } from '../core.ts';
import type { ImportResult } from '../../shared/handoff.ts';
import { normalizeMac } from '../ids.ts';

export class ImportError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}

export interface ImportRow {
  /** 1-based line number in the file */
  line: number;
  mac: string | null;
  macs: string[];
  serial: string | null;
  systemUuid: string | null;
  /** "host" or "host:port" (port kept only when not the protocol's default: 623 IPMI, 443 Redfish), Redfish "#system" */
  bmcAddress: string | null;
  /** the `bmc_protocol` column: the protocol the BMC is driven with; null when the file does not say */
  bmcProtocol: 'ipmi' | 'redfish' | null;
  bmcUser: string | null;
  bmcPassword: string | null;
  position: string | null;
}

export interface ImportPlan { kind: ImportResult['kind']; rows: ImportRow[] }

/** RFC 4180 records (quoted fields may hold commas, quotes and newlines); each with the line it starts on. */
export function parseCsvRecords(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    if (text[i] === '#') { // a comment line
      while (i < n && text[i] !== '\n') i++;
      i++; line++;
      continue;
    }
    const fields: string[] = [];
    let field = '';
    for (;;) {
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new ImportError(`line ${start}: a quoted field is not closed`);
          if (text[i] === '"') { if (text[i + 1] === '"') { field += '"'; i += 2; continue; } i++; break; }
          if (text[i] === '\n') line++;
          field += text[i++];
        }
      }
      while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
      if (text[i] === ',') { fields.push(field); field = ''; i++; continue; }
      fields.push(field);
      if (text[i] === '\r') i++;
      if (text[i] === '\n') { i++; line++; }
      break;
    }
    if (!(fields.length === 1 && fields[0]!.trim() === '')) out.push({ line: start, fields });
  }
  return out;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Parse a nodes CSV (has `boot_mac`) or a rack plan (has `position`); throws ImportError naming the line and field. */
export function parseImportCsv(text: string): ImportPlan {
  const records = parseCsvRecords(text);
  if (records.length === 0) throw new ImportError('the file has no header line');
  const head = records[0]!.fields.map((h) => h.trim().toLowerCase());
  const col = (name: string) => head.indexOf(name);
  const kind: ImportPlan['kind'] = col('boot_mac') >= 0 ? 'nodes' : col('position') >= 0 ? 'rack-plan' : (() => {
    throw new ImportError(`line ${records[0]!.line}: the header names neither boot_mac (a RackSeed nodes CSV) nor position (a rack plan: position,serial,bmc_address[,mac])`);
  })();
  if (kind === 'rack-plan') for (const need of ['serial', 'bmc_address']) if (col(need) < 0) throw new ImportError(`line ${records[0]!.line}: a rack plan needs a ${need} column`);
  const rows: ImportRow[] = [];
  const seenMacs = new Map<string, number>();
  for (const r of records.slice(1)) {
    const get = (name: string): string | null => { const i = col(name); const v = i >= 0 ? r.fields[i]?.trim() ?? '' : ''; return v === '' ? null : v; };
    const bad = (field: string, why: string): never => { throw new ImportError(`line ${r.line}, field ${field}: ${why}; nothing was imported`); };
    if (r.fields.length > head.length) bad(head[head.length - 1] ?? '?', `the row has ${r.fields.length} fields, the header ${head.length}`);
    const macField = kind === 'nodes' ? 'boot_mac' : 'mac';
    const rawMac = get(macField);
    const mac = rawMac === null ? null : normalizeMac(rawMac) ?? bad(macField, `'${rawMac}' is not a MAC address`);
    if (kind === 'nodes' && mac === null) bad('boot_mac', 'is empty');
    const macs = mac ? [mac] : [];
    for (const m of (get('macs') ?? '').split(/\s+/).filter(Boolean)) {
      const nm = normalizeMac(m) ?? bad('macs', `'${m}' is not a MAC address`);
      if (!macs.includes(nm)) macs.push(nm);
    }
    if (mac) {
      const prev = seenMacs.get(mac);
      if (prev !== undefined) bad(macField, `${mac} is already on line ${prev}`);
      seenMacs.set(mac, r.line);
    }
    const protoText = get('bmc_protocol')?.toLowerCase() ?? null;
    if (protoText !== null && protoText !== 'ipmi' && protoText !== 'redfish') bad('bmc_protocol', `'${get('bmc_protocol')}' is neither ipmi nor redfish`);
    const bmcProtocol = protoText as ImportRow['bmcProtocol'];
    const host = get('bmc_address');
    if (kind === 'rack-plan' && host === null) bad('bmc_address', 'is empty');
    let bmcAddress: string | null = null;
    if (host !== null) {
      const m = /^(.+?)(?::(\d{1,5}))?(?:#([^#\s]{1,64}))?$/.exec(host)!;
      if (!IPV4.test(m[1]!) && (/^[\d.]+$/.test(m[1]!) || !HOSTNAME.test(m[1]!))) bad('bmc_address', `'${host}' is not an IPv4 address or host name`);
      if (m[3] !== undefined && bmcProtocol !== 'redfish') bad('bmc_address', `'${host}' names a Redfish system (#${m[3]}) but bmc_protocol is not redfish`);
      const portText = get('bmc_port') ?? m[2] ?? null;
      const defaultPort = bmcProtocol === 'redfish' ? 443 : 623;
      const port = portText === null ? defaultPort : Number(portText);
      if (!Number.isInteger(port) || port < 1 || port > 65535) bad('bmc_port', `'${portText}' is not a port number`);
      bmcAddress = (port === defaultPort ? m[1]! : `${m[1]}:${port}`) + (m[3] !== undefined ? `#${m[3]}` : '');
    } else if (bmcProtocol !== null) bad('bmc_protocol', 'is given but bmc_address is empty');
    const serial = get('serial');
    if (kind === 'rack-plan' && serial === null) bad('serial', 'is empty');
    const systemUuid = get('system_uuid');
    if (systemUuid !== null && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(systemUuid)) bad('system_uuid', `'${systemUuid}' is not a UUID`);
    rows.push({
      line: r.line, mac, macs, serial, systemUuid: systemUuid?.toLowerCase() ?? null, bmcAddress, bmcProtocol,
      bmcUser: get('bmc_username'), bmcPassword: get('bmc_password'), position: get('position'),
    });
  }
  const users = new Set(rows.filter((r) => r.bmcUser !== null || r.bmcPassword !== null).map((r) => `${r.bmcUser}\u0000${r.bmcPassword}`));
  if (users.size > 1) {
    const first = rows.find((r) => r.bmcUser !== null || r.bmcPassword !== null)!;
    const other = rows.find((r) => (r.bmcUser !== null || r.bmcPassword !== null) && `${r.bmcUser}\u0000${r.bmcPassword}` !== `${first.bmcUser}\u0000${first.bmcPassword}`)!;
    throw new ImportError(`line ${other.line}, field bmc_username/bmc_password: differs from line ${first.line}; RackSeed keeps one BMC credential set; nothing was imported`);
  }
  return { kind, rows };
}

/**
 * Apply a parsed plan in one transaction: nodes by MAC (created `discovered` when new — an expected machine — or
 * updated), serial/UUID/BMC set, every BMC address registered; BMC credentials from the file only when none are set.
 * A rack plan's rows without a MAC register the BMC only (a node needs its MAC; its serial then matches when it reports).
 */
export function applyImport(core: Core, plan: ImportPlan): ImportResult {
  const result: ImportResult = { kind: plan.kind, rows: plan.rows.length, created: [], updated: [], bmcs: [] };
  core.db.transaction(() => {
    const credRow = plan.rows.find((r) => r.bmcUser !== null && r.bmcPassword !== null);
    if (credRow && !core.config.bmcCredentials()) core.config.setBmcCredentials({ user: credRow.bmcUser!, password: credRow.bmcPassword! });
    for (const r of plan.rows) {
      let nodeId: string | null = null;
      if (r.mac) {
        const { node, created } = core.lifecycle.ensureNode(r.mac, 'api');
        nodeId = node.id;
        (created ? result.created : result.updated).push(node.id);
        core.nodes.update(node.id, {
          ...(r.serial !== null ? { serial: r.serial } : {}),
          ...(r.systemUuid !== null ? { uuid: r.systemUuid } : {}),
          ...(r.bmcAddress !== null ? { bmcAddress: r.bmcAddress, bmcMatchedBy: 'manual' as const } : {}),
        });
      }
      if (r.bmcAddress) {
        const cur = core.bmcs.get(r.bmcAddress);
        // a protocol the file names is the engineer's choice (the sweep keeps it, as when chosen in the UI)
        core.bmcs.upsert(r.bmcAddress, { nodeId: nodeId ?? cur?.nodeId ?? null, seenAt: cur?.seenAt ?? Date.now(),
          ...(r.bmcProtocol !== null ? { protocol: r.bmcProtocol, protocolChosen: true } : {}) });
        if (!result.bmcs.includes(r.bmcAddress)) result.bmcs.push(r.bmcAddress);
      }
    }
    core.bus.record({
      source: 'api', kind: 'import', mac: null, nodeId: null,
      message: `imported ${plan.kind === 'nodes' ? 'a nodes CSV' : 'a rack plan'}: ${plan.rows.length} row(s), ${result.created.length} node(s) expected, ${result.updated.length} updated, ${result.bmcs.length} BMC(s) registered`,
    });
  })();
  for (const id of [...result.created, ...result.updated]) core.lifecycle.announce(id);
  return result;
}
