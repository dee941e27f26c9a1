// Host names for a batch deploy from a pattern (BatchDeployRequest.hostname): `{serial}`, `{mac}` (dash form),
// `{id}`, `{index}` / `{index:NN}` (1-based, zero-padded to NN digits). The result is lower-cased, every run of
// characters other than a-z 0-9 - becomes one `-`, leading/trailing dashes go, and it is cut to 63 characters.
// The config drive then checks it as an RFC 1123 name (config-drive.ts).

export const DEFAULT_HOSTNAME_PATTERN = 'node-{serial}';

export interface HostnameFacts {
  id: string;
  mac: string;
  serial: string | null;
  /** 1-based position in the batch */
  index: number;
}

export class HostnamePatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostnamePatternError';
  }
}

const TOKEN = /\{([a-z]+)(?::(\d{1,2}))?\}/g;

/** One node's host name from `pattern`; `{serial}` of a node without one falls back to its MAC. */
export function expandHostname(pattern: string, f: HostnameFacts): string {
  const raw = pattern.replace(TOKEN, (whole, name: string, width: string | undefined) => {
    switch (name) {
      case 'serial': return f.serial && f.serial.trim() ? f.serial : f.mac.replace(/:/g, '-');
      case 'mac': return f.mac.replace(/:/g, '-');
      case 'id': return f.id;
      case 'index': return width ? String(f.index).padStart(Number(width), '0') : String(f.index);
      default: throw new HostnamePatternError(`unknown placeholder ${whole} in the host name pattern (use {serial}, {mac}, {id}, {index})`);
    }
  });
  if (/[{}]/.test(raw)) throw new HostnamePatternError(`unbalanced brace in the host name pattern ${JSON.stringify(pattern)}`);
  const name = raw.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  if (!name) throw new HostnamePatternError(`the host name pattern ${JSON.stringify(pattern)} gives an empty name for node ${f.id}`);
  return name;
}

/** Host names for every node of a batch; refuses a pattern that gives two nodes the same name. */
export function expandHostnames(pattern: string, nodes: readonly HostnameFacts[]): string[] {
  const names = nodes.map((n) => expandHostname(pattern, n));
  const seen = new Map<string, string>();
  nodes.forEach((n, i) => {
    const other = seen.get(names[i]!);
    if (other) throw new HostnamePatternError(`the host name pattern ${JSON.stringify(pattern)} gives nodes ${other} and ${n.id} the same name ${names[i]} (add {serial}, {mac} or {index})`);
    seen.set(names[i]!, n.id);
  });
  return names;
}
