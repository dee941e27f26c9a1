// Lint: typescript-eslint's recommended rules plus the layer rule of DESIGN.md — imports flow downward only.
//   codecs (netboot/dhcp, netboot/tftp, bmc/ipmi, bmc/redfish — not their server/session folders): nothing of ours but shared/wire
//   servers/clients (netboot/*/server, netboot/net, netboot/http, bmc/ipmi/session): codecs + shared
//   core: servers/clients + shared       daemon: core and below       shells (electron, renderer): shared only
import tseslint from 'typescript-eslint';

const noImport = (...groups) => ({
  'no-restricted-imports': ['error', { patterns: groups.map((g) => ({ group: g.paths, message: g.why })) }],
});
const ABOVE_SERVERS = { paths: ['**/core/**', '**/daemon/**', '**/electron/**', '**/renderer/**'], why: 'layer rule: servers and codecs must not import core, daemon or shells' };
const SERVERS = { paths: ['**/server/**', '**/session/**', '**/netboot/net/**', '**/netboot/http/**'], why: 'layer rule: codecs must not import servers' };
const ABOVE_CORE = { paths: ['**/daemon/**', '**/electron/**', '**/renderer/**'], why: 'layer rule: core must not import the API or shells' };
const BACKEND = { paths: ['**/core/**', '**/daemon/**', '**/netboot/**', '**/bmc/**', 'better-sqlite3', 'node:*', 'fs', 'net', 'dgram'], why: 'layer rule: shells see the API types (shared) only' };

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', '.cache/**', 'test-results/**', '.scratch/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: ['netboot/dhcp/*.ts', 'netboot/tftp/*.ts', 'bmc/ipmi/*.ts', 'bmc/redfish/*.ts'], rules: noImport(SERVERS, ABOVE_SERVERS) },
  { files: ['netboot/**/server/**', 'netboot/net/**', 'netboot/http/**', 'bmc/**/session/**'], rules: noImport(ABOVE_SERVERS) },
  { files: ['core/**'], rules: noImport(ABOVE_CORE) },
  { files: ['renderer/**', 'electron/preload*.ts'], rules: noImport(BACKEND) },
);
