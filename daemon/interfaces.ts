// Network interfaces as the wizard shows them: os.networkInterfaces() for addresses, /sys/class/net/<if>/
// {carrier,speed,operstate,address} for link state (Linux; other platforms report what os gives).
import { networkInterfaces } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import type { NetInterface } from '../shared/api.ts';

function sysRead(name: string, file: string): string | null {
  try { return readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim(); } catch { return null; }
}

/** Every interface of this host (namespace), loopback included, sorted by name. `sysRoot` is for tests. */
export function listInterfaces(): NetInterface[] {
  const os = networkInterfaces();
  let names = new Set(Object.keys(os));
  try { names = new Set([...names, ...readdirSync('/sys/class/net')]); } catch { /* not Linux */ }
  const out: NetInterface[] = [];
  for (const name of [...names].sort()) {
    const addrs = os[name] ?? [];
    const sysMac = sysRead(name, 'address');
    const osMac = addrs.find((a) => a.mac && a.mac !== '00:00:00:00:00:00')?.mac ?? null;
    const mac = osMac ?? (sysMac && sysMac !== '00:00:00:00:00:00' ? sysMac : null);
    const operstate = sysRead(name, 'operstate');
    const carrier = sysRead(name, 'carrier');
    const speedRaw = sysRead(name, 'speed');
    const speed = speedRaw !== null && /^\d+$/.test(speedRaw) ? Number(speedRaw) : null;
    const up = operstate !== null ? operstate === 'up' || (operstate === 'unknown' && carrier === '1') : addrs.length > 0;
    out.push({
      name,
      mac,
      up,
      link: carrier !== null ? carrier === '1' : up,
      speedMbps: speed !== null && speed > 0 ? speed : null,
      addresses: addrs.map((a) => a.cidr ?? `${a.address}`).filter(Boolean),
    });
  }
  return out;
}

/** First IPv4 address (without prefix) of `name`, or null. */
export function ipv4Of(name: string): string | null {
  const a = networkInterfaces()[name]?.find((x) => x.family === 'IPv4');
  return a?.address ?? null;
}
