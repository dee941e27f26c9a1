// The OpenStack "config-2" config drive, as Ironic writes it, so that an unmodified cloud-init (its
// ConfigDrive datasource) sets the node's hostname, installs its SSH keys, configures its network and runs
// its user data. Pure: a typed parameter object in, the file tree out (no file system, no clock). The ISO
// image is made from the tree by config-drive-iso.ts.
//
// What cloud-init 22.4 (Debian 12) reads — cloudinit/sources/helpers/openstack.py, ConfigDriveReader:
//   - a filesystem labelled config-2 or CONFIG-2, iso9660 or vfat, on any disk or partition;
//   - openstack/<version>/meta_data.json (required), user_data, network_data.json, vendor_data.json,
//     where <version> is the newest dated folder it knows (2012-08-10 … 2018-08-27) present on the drive,
//     else "latest". We write only "latest", as Ironic (openstacksdk's make_configdrive) does.
//   - meta_data.json: `uuid` (→ instance-id, required), `hostname` (→ local-hostname), `public_keys`
//     ({name: key}), `meta` (free key/values; `meta.dsmode` is honoured), plus name, launch_index,
//     availability_zone that Nova/Ironic always write;
//   - network_data.json: links (type "phy" + ethernet_mac_address), networks (ipv4_dhcp on a link),
//     services (dns). cloud-init fails the network configuration when a link's MAC is not on the machine.
import { parseDocument } from 'yaml';

/** Everything the drive says about one node. Strings are used as given (validated, never rewritten). */
export interface ConfigDriveParams {
  /** instance id (cloud-init's instance-id: a new one makes cloud-init run its first-boot modules again) */
  uuid: string;
  /** host name to set (a single label, or a fully qualified name), RFC 1123 */
  hostname: string;
  /** display name; defaults to the hostname */
  name?: string;
  /** SSH public keys by name, one OpenSSH public key line each (see `publicKeysFromText`) */
  publicKeys?: Readonly<Record<string, string>>;
  /** user data, written unchanged: a `#cloud-config` document, a `#!` script, MIME multipart … at most 64 KiB */
  userData?: string | Uint8Array;
  /** Nova's availability zone; default "" */
  availabilityZone?: string;
  /** free-form string metadata (meta_data.json `meta`) */
  meta?: Readonly<Record<string, string>>;
  /** a URL the lab-tiny image POSTs to once booted (stored as meta.phone_home_url; cloud-init ignores it) */
  phoneHomeUrl?: string;
  /** the NIC to configure with DHCP (network_data.json); without it there is no network_data.json and
   *  cloud-init falls back to DHCP on its first NIC */
  bootMac?: string;
  /** MTU of that link (default: none given) */
  mtu?: number;
  /** DNS servers announced as network_data.json services */
  dnsServers?: readonly string[];
}

export interface ConfigDriveFile {
  /** path inside the drive, '/'-separated, no leading slash */
  path: string;
  data: Buffer;
}

/** The drive's files, sorted by path. */
export interface ConfigDriveTree {
  files: ConfigDriveFile[];
}

export type ConfigDriveErrorCode =
  | 'user-data-too-large' | 'user-data-invalid-yaml' | 'user-data-not-mapping'
  | 'bad-hostname' | 'bad-uuid' | 'bad-ssh-key' | 'bad-mac' | 'bad-mtu' | 'bad-meta' | 'bad-url' | 'bad-dns';

/** A parameter that cannot go on a config drive; `message` says which and why, for the API, CLI and UI. */
export class ConfigDriveError extends Error {
  override name = 'ConfigDriveError';
  constructor(readonly code: ConfigDriveErrorCode, message: string) {
    super(message);
  }
}

/** Nova's and Ironic's limit on user data. */
export const MAX_USER_DATA_BYTES = 64 * 1024;
/** The folder cloud-init falls back to, and the only one we write. */
export const CONFIG_DRIVE_VERSION = 'latest';
/** Volume label cloud-init looks for (an ISO keeps the case; a vfat label would be upper case). */
export const CONFIG_DRIVE_LABEL = 'config-2';

const SSH_KEY_TYPES = new Set([
  'ssh-ed25519', 'ssh-rsa', 'ssh-dss', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
]);

/**
 * Build the drive's file tree. Throws ConfigDriveError for a bad parameter (user data over 64 KiB, a
 * `#cloud-config` that is not valid YAML or not a mapping, a bad host name, SSH key, MAC …).
 */
export function buildConfigDrive(p: ConfigDriveParams): ConfigDriveTree {
  checkUuid(p.uuid);
  checkHostname(p.hostname);
  const keys = p.publicKeys ?? {};
  for (const [name, key] of Object.entries(keys)) checkSshKey(name, key);
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.meta ?? {})) {
    if (typeof v !== 'string') throw new ConfigDriveError('bad-meta', `meta ${JSON.stringify(k)} must be a string`);
    meta[k] = v;
  }
  if (p.phoneHomeUrl !== undefined) {
    checkUrl(p.phoneHomeUrl);
    meta.phone_home_url = p.phoneHomeUrl;
  }
  const dir = `openstack/${CONFIG_DRIVE_VERSION}`;
  const metaData = {
    uuid: p.uuid,
    name: p.name ?? p.hostname,
    hostname: p.hostname,
    public_keys: { ...keys },
    launch_index: 0,
    availability_zone: p.availabilityZone ?? '',
    meta,
  };
  const files: ConfigDriveFile[] = [{ path: `${dir}/meta_data.json`, data: json(metaData) }];
  if (p.bootMac !== undefined || (p.dnsServers?.length ?? 0) > 0) {
    files.push({ path: `${dir}/network_data.json`, data: json(networkData(p)) });
  }
  if (p.userData !== undefined) {
    const data = Buffer.from(typeof p.userData === 'string' ? Buffer.from(p.userData, 'utf8') : p.userData);
    checkUserData(data);
    files.push({ path: `${dir}/user_data`, data });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files };
}

/**
 * Check user data the way the deploy API must before accepting it: at most 64 KiB, and when it is a
 * `#cloud-config` document, valid YAML whose top level is a mapping. Other kinds (`#!` scripts,
 * `#include`, MIME multipart, gzip) are passed through unchecked, as cloud-init would take them.
 */
export function checkUserData(data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length > MAX_USER_DATA_BYTES) {
    throw new ConfigDriveError('user-data-too-large',
      `user data is over 64 KiB (${bytes.length} bytes; the limit is ${MAX_USER_DATA_BYTES})`);
  }
  const text = bytes.toString('utf8');
  if (!/^#cloud-config[ \t]*(\r?\n|$)/.test(text)) return;
  const doc = parseDocument(text, { uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : 'at the end';
    const what = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigDriveError('user-data-invalid-yaml', `user data is not valid YAML: ${where}: ${what}`);
  }
  const top = doc.toJS() as unknown;
  if (top !== null && top !== undefined && (typeof top !== 'object' || Array.isArray(top))) {
    throw new ConfigDriveError('user-data-not-mapping',
      `user data (#cloud-config) must be a YAML mapping of cloud-init modules, not ${Array.isArray(top) ? 'a list' : `a ${typeof top}`}`);
  }
}

/**
 * SSH public keys from an authorized_keys-style text (one key per line; blank lines and # comments
 * skipped), named by their comment when it is unique, else `key-<n>` (n from 1, in file order).
 * Throws ConfigDriveError for a line that is not a public key.
 */
export function publicKeysFromText(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    n++;
    const comment = line.split(/\s+/).slice(2).join(' ');
    const name = comment && !(comment in out) ? comment : `key-${n}`;
    checkSshKey(name, line);
    out[name] = line;
  }
  return out;
}

function networkData(p: ConfigDriveParams): object {
  const links: object[] = [];
  const networks: object[] = [];
  if (p.bootMac !== undefined) {
    const mac = p.bootMac.toLowerCase();
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) throw new ConfigDriveError('bad-mac', `boot NIC MAC ${JSON.stringify(p.bootMac)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
    if (p.mtu !== undefined && (!Number.isInteger(p.mtu) || p.mtu < 576 || p.mtu > 9216)) {
      throw new ConfigDriveError('bad-mtu', `MTU ${p.mtu} is out of range (576–9216)`);
    }
    links.push({ id: 'nic0', type: 'phy', ethernet_mac_address: mac, ...(p.mtu !== undefined ? { mtu: p.mtu } : {}) });
    networks.push({ id: 'network0', type: 'ipv4_dhcp', link: 'nic0', network_id: 'provisioning' });
  }
  const services = (p.dnsServers ?? []).map((address) => {
    if (!/^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-fA-F:]+$/.test(address)) throw new ConfigDriveError('bad-dns', `DNS server ${JSON.stringify(address)} is not an IP address`);
    return { type: 'dns', address };
  });
  return { links, networks, services };
}

function json(v: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(v, null, 2)}\n`, 'utf8');
}

function checkUuid(uuid: string): void {
  if (typeof uuid !== 'string' || uuid === '' || uuid.length > 255 || !/^[\x21-\x7e]+$/.test(uuid)) {
    throw new ConfigDriveError('bad-uuid', `instance id ${JSON.stringify(uuid)} must be 1–255 printable ASCII characters without spaces`);
  }
}

/** RFC 1123 host name: labels of letters, digits and inner hyphens, each ≤ 63, all ≤ 253. */
function checkHostname(h: string): void {
  const bad = (why: string): never => { throw new ConfigDriveError('bad-hostname', `hostname ${JSON.stringify(h)} is not a valid host name: ${why}`); };
  if (typeof h !== 'string' || h === '') bad('it is empty');
  if (h.length > 253) bad('longer than 253 characters');
  for (const label of h.split('.')) {
    if (label === '') bad('empty label');
    if (label.length > 63) bad(`label "${label.slice(0, 20)}…" is longer than 63 characters`);
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/.test(label)) bad(`label "${label}" may hold only letters, digits and inner hyphens`);
  }
}

function checkSshKey(name: string, key: string): void {
  const bad = (why: string): never => { throw new ConfigDriveError('bad-ssh-key', `SSH key ${JSON.stringify(name)} ${why}`); };
  if (name === '' || /[\x00-\x1f]/.test(name)) bad('has an empty or unprintable name');
  if (typeof key !== 'string' || /[\r\n\0]/.test(key)) bad('must be a single line');
  const [type, blob] = key.trim().split(/\s+/);
  if (!SSH_KEY_TYPES.has(type ?? '')) bad(`is not an OpenSSH public key (type ${JSON.stringify(type ?? '')}; expected e.g. ssh-ed25519 or ssh-rsa)`);
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) bad('has no base64 key after its type');
  // the blob starts with the key type again, length-prefixed (RFC 4253 §6.6)
  const raw = Buffer.from(blob, 'base64');
  const len = raw.length >= 4 ? raw.readUInt32BE(0) : -1;
  if (len < 0 || raw.subarray(4, 4 + len).toString('latin1') !== type) bad(`has a key body that does not match its type ${type}`);
}

function checkUrl(u: string): void {
  let url: URL;
  try { url = new URL(u.replace(/\$INSTANCE_ID/g, 'x')); } catch { throw new ConfigDriveError('bad-url', `phone-home URL ${JSON.stringify(u)} is not a URL`); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigDriveError('bad-url', `phone-home URL ${JSON.stringify(u)} must be http or https`);
}
