// The config drive (core/deploy/config-drive.ts): the whole file tree for typical parameters, every
// validation error with its message, and the ISO image (genisoimage): reproducible, labelled config-2,
// readable through Rock Ridge and Joliet, with every time stamp at the epoch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigDriveError, MAX_USER_DATA_BYTES, buildConfigDrive, checkUserData, publicKeysFromText, type ConfigDriveParams,
} from '../../core/deploy/config-drive.ts';
import { configDriveIso, normalizeIsoTimes } from '../../core/deploy/config-drive-iso.ts';

// A real ed25519 public key (its body starts with the length-prefixed type, as OpenSSH writes it).
const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHqb4xYSo6Q6pgJb4ZkP1z0lJ0n0F8w6m9Gm0W7p7lHf alice@laptop';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM2b3xYSo6Q6pgJb4ZkP1z0lJ0n0F8w6m9Gm0W7p7lHq';

function tree(p: ConfigDriveParams): Record<string, string> {
  return Object.fromEntries(buildConfigDrive(p).files.map((f) => [f.path, f.data.toString('utf8')]));
}

test('full tree: meta_data.json, network_data.json and user_data as Ironic lays them out', () => {
  const t = tree({
    uuid: '4b1c6f0e-1d2a-4c43-9d7e-0a5b2f3c9e11', hostname: 'node-rs001', publicKeys: { alice: KEY_A },
    userData: '#cloud-config\nruncmd:\n  - echo hello\n', bootMac: '52:54:00:52:53:0A', mtu: 1500,
    dnsServers: ['10.240.0.1'], meta: { role: 'worker' }, phoneHomeUrl: 'http://10.240.0.1/cb/$INSTANCE_ID',
  });
  assert.deepEqual(Object.keys(t), ['openstack/latest/meta_data.json', 'openstack/latest/network_data.json', 'openstack/latest/user_data']);
  assert.equal(t['openstack/latest/meta_data.json'], `{
  "uuid": "4b1c6f0e-1d2a-4c43-9d7e-0a5b2f3c9e11",
  "name": "node-rs001",
  "hostname": "node-rs001",
  "public_keys": {
    "alice": "${KEY_A}"
  },
  "launch_index": 0,
  "availability_zone": "",
  "meta": {
    "role": "worker",
    "phone_home_url": "http://10.240.0.1/cb/$INSTANCE_ID"
  }
}
`);
  assert.equal(t['openstack/latest/network_data.json'], `{
  "links": [
    {
      "id": "nic0",
      "type": "phy",
      "ethernet_mac_address": "52:54:00:52:53:0a",
      "mtu": 1500
    }
  ],
  "networks": [
    {
      "id": "network0",
      "type": "ipv4_dhcp",
      "link": "nic0",
      "network_id": "provisioning"
    }
  ],
  "services": [
    {
      "type": "dns",
      "address": "10.240.0.1"
    }
  ]
}
`);
  assert.equal(t['openstack/latest/user_data'], '#cloud-config\nruncmd:\n  - echo hello\n');
});

test('minimal tree: only meta_data.json; name defaults to the hostname; user data bytes kept as given', () => {
  assert.deepEqual(tree({ uuid: 'i-1', hostname: 'n1' }), {
    'openstack/latest/meta_data.json': '{\n  "uuid": "i-1",\n  "name": "n1",\n  "hostname": "n1",\n  "public_keys": {},\n' +
      '  "launch_index": 0,\n  "availability_zone": "",\n  "meta": {}\n}\n',
  });
  const gz = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
  const files = buildConfigDrive({ uuid: 'i-1', hostname: 'n1', userData: gz }).files;
  assert.deepEqual(files[1], { path: 'openstack/latest/user_data', data: gz });
});

test('user data over 64 KiB is refused; exactly 64 KiB is accepted', () => {
  const ok = `#!/bin/sh\n${'#'.repeat(MAX_USER_DATA_BYTES - 11)}\n`;
  assert.equal(Buffer.byteLength(ok), MAX_USER_DATA_BYTES);
  checkUserData(ok);
  assert.throws(() => buildConfigDrive({ uuid: 'i', hostname: 'h', userData: `${ok}x` }), (e: unknown) =>
    e instanceof ConfigDriveError && e.code === 'user-data-too-large' &&
    e.message === 'user data is over 64 KiB (65537 bytes; the limit is 65536)');
});

test('#cloud-config user data must be valid YAML: the message names the line', () => {
  const cases: [string, string][] = [
    ['#cloud-config\nruncmd:\n  - echo hi\n bad: [\n', 'user data is not valid YAML: line 4, column 1: All mapping items must start at the same column'],
    ['#cloud-config\nhostname: a\nhostname: b\n', 'user data is not valid YAML: line 3, column 1: Map keys must be unique'],
    ['#cloud-config\nwrite_files:\n\t- path: /x\n', 'user data is not valid YAML: line 3, column 1: Tabs are not allowed as indentation'],
    ['#cloud-config\nfoo: "open\n', 'user data is not valid YAML: line 3, column 1: Missing closing "quote'],
  ];
  for (const [ud, msg] of cases) {
    assert.throws(() => buildConfigDrive({ uuid: 'i', hostname: 'h', userData: ud }), (e: unknown) =>
      e instanceof ConfigDriveError && e.code === 'user-data-invalid-yaml' && e.message === msg, msg);
  }
  assert.throws(() => checkUserData('#cloud-config\n- a\n- b\n'),
    /^ConfigDriveError: user data \(#cloud-config\) must be a YAML mapping of cloud-init modules, not a list$/);
  // not cloud-config: no YAML check (a script, an empty cloud-config, a MIME multipart)
  checkUserData('#!/bin/sh\n: [ {\n');
  checkUserData('#cloud-config\n');
  checkUserData('Content-Type: multipart/mixed; boundary="x"\n\n--x--\n');
});

test('bad parameters: each gets its own message', () => {
  const base = { uuid: 'i-1', hostname: 'node1' };
  const cases: [Partial<ConfigDriveParams>, string, RegExp][] = [
    [{ hostname: 'bad_name' }, 'bad-hostname', /hostname "bad_name" is not a valid host name: label "bad_name" may hold only letters/],
    [{ hostname: '-x' }, 'bad-hostname', /label "-x"/],
    [{ hostname: 'a..b' }, 'bad-hostname', /empty label/],
    [{ hostname: `${'a'.repeat(64)}` }, 'bad-hostname', /longer than 63/],
    [{ hostname: '' }, 'bad-hostname', /it is empty/],
    [{ uuid: 'has space' }, 'bad-uuid', /instance id "has space"/],
    [{ publicKeys: { k: 'not a key' } }, 'bad-ssh-key', /SSH key "k" is not an OpenSSH public key \(type "not"/],
    [{ publicKeys: { k: 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHqb4xYSo6Q6pgJb4ZkP1z0lJ0n0F8w6m9Gm0W7p7lHf' } }, 'bad-ssh-key', /does not match its type ssh-rsa/],
    [{ publicKeys: { k: `${KEY_A}\n${KEY_B}` } }, 'bad-ssh-key', /must be a single line/],
    [{ bootMac: '52:54:00:zz:00:01' }, 'bad-mac', /boot NIC MAC "52:54:00:zz:00:01" is not a MAC address/],
    [{ bootMac: '52:54:00:00:00:01', mtu: 100 }, 'bad-mtu', /MTU 100 is out of range/],
    [{ phoneHomeUrl: 'ftp://x/' }, 'bad-url', /must be http or https/],
    [{ dnsServers: ['dns.example'] }, 'bad-dns', /DNS server "dns.example" is not an IP address/],
  ];
  for (const [over, code, msg] of cases) {
    assert.throws(() => buildConfigDrive({ ...base, ...over }), (e: unknown) => {
      assert.ok(e instanceof ConfigDriveError, String(e));
      assert.equal(e.code, code);
      assert.match(e.message, msg);
      return true;
    });
  }
});

test('publicKeysFromText: named by unique comment, else key-N; comments and blank lines skipped', () => {
  assert.deepEqual(publicKeysFromText(`# my keys\n${KEY_A}\n\n${KEY_B}\n${KEY_A}\n`), {
    'alice@laptop': KEY_A, 'key-2': KEY_B, 'key-3': KEY_A,
  });
  assert.throws(() => publicKeysFromText('ssh-ed25519\n'), /SSH key "key-1" has no base64 key/);
});

test('ISO: reproducible, labelled config-2, files readable through Rock Ridge and Joliet, all times at the epoch', async () => {
  const t = buildConfigDrive({ uuid: 'i-9', hostname: 'iso-node', publicKeys: { alice: KEY_A }, userData: '#!/bin/sh\necho ok\n' });
  const a = await configDriveIso(t, { epoch: 1700000000 });
  await new Promise((r) => setTimeout(r, 1100)); // genisoimage would stamp another second
  const b = await configDriveIso(t, { epoch: 1700000000 });
  assert.ok(a.equals(b), 'two images of the same tree differ');
  assert.equal(a.toString('latin1', 16 * 2048 + 40, 16 * 2048 + 48), 'config-2');
  assert.equal(a.toString('latin1', 16 * 2048 + 813, 16 * 2048 + 829), '2023111422132000'); // creation date, UTC
  const dir = mkdtempSync(join(tmpdir(), 'rs-cd-test-'));
  try {
    writeFileSync(join(dir, 'cd.iso'), a);
    const rr = execFileSync('isoinfo', ['-i', join(dir, 'cd.iso'), '-R', '-x', '/openstack/latest/user_data'], { encoding: 'utf8' });
    assert.equal(rr, '#!/bin/sh\necho ok\n');
    const joliet = execFileSync('isoinfo', ['-i', join(dir, 'cd.iso'), '-J', '-x', '/openstack/latest/meta_data.json'], { encoding: 'utf8' });
    assert.equal(JSON.parse(joliet).hostname, 'iso-node');
    const listing = execFileSync('isoinfo', ['-i', join(dir, 'cd.iso'), '-R', '-l'], { encoding: 'utf8' });
    const dates = [...listing.matchAll(/ (\w{3} +\d+ \d{4}) /g)].map((m) => m[1]);
    assert.ok(dates.length >= 6 && dates.every((d) => d === 'Nov 14 2023'), `dates: ${dates.join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // a pointer outside the image is an error, not a write past the end
  const broken = Buffer.from(a);
  broken.writeUInt32LE(1_000_000, 16 * 2048 + 156 + 2);
  assert.throws(() => normalizeIsoTimes(broken, 0), /outside the/);
});
