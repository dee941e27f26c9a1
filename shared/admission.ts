// Which PXE clients RackSeed boots by default (BootAdmission in api.ts). Pure: the core's boot policy decides with it,
// and the UI uses it to say which rule is in force when a daemon's status does not carry `admission`.
import type { BootAdmission, NetworkConfig } from './api.ts';

/**
 * The admission rule for `network` (the saved network config; null = not configured) and the daemon's safe mode:
 * `open` only where RackSeed is the only DHCP server — authoritative mode that the survey did not have to be
 * overridden for; `allowlist` everywhere else: proxy mode (the site's DHCP server, and the site's machines, share the
 * segment), authoritative with `override` (another server answered), safe mode, and no configuration at all.
 */
export function defaultAdmission(network: NetworkConfig | null, safeMode = false): BootAdmission {
  if (safeMode || !network) return 'allowlist';
  return network.mode === 'authoritative' && !network.override ? 'open' : 'allowlist';
}

/** Why allowlist admission is in force, for history events and logs: "proxy mode", "safe mode", … */
export function allowlistReason(network: NetworkConfig | null, safeMode = false): string {
  if (safeMode) return 'safe mode';
  if (!network) return 'services not configured';
  if (network.mode === 'proxy') return 'proxy mode';
  if (network.override) return 'another DHCP server answers on this segment';
  return 'allowlist admission chosen';
}
