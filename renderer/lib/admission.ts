// What the UI says about boot admission (which PXE clients RackSeed boots). Pure; unit-tested in
// test/unit/renderer-admission.test.ts.
import type { BootAdmission, NetworkConfig, ServicesStatus } from '../../shared/api.ts';
import { defaultAdmission } from '../../shared/admission.ts';

/** The admission in force: what the daemon reports, else the default for its saved network config; null when not configured. */
export function admissionInForce(services: ServicesStatus | null): BootAdmission | null {
  if (!services?.config) return null;
  return services.admission ?? defaultAdmission(services.config);
}

/** One sentence saying which machines RackSeed boots under `admission` with network config `cfg`. */
export function admissionText(admission: BootAdmission, cfg: Pick<NetworkConfig, 'mode' | 'override'>): string {
  const allowlist = 'only machines you allow (or that RackSeed powers on through their BMC) are booted; others are listed as seen and left alone';
  if (admission === 'allowlist') {
    if (cfg.mode === 'proxy') return `Proxy mode beside the site's DHCP: ${allowlist}.`;
    if (cfg.override) return `Another DHCP server answers on this segment: ${allowlist}.`;
    return `Safe mode: ${allowlist}.`;
  }
  if (cfg.mode === 'proxy') return 'Every PXE client on this segment is booted into the discovery ramdisk — the site\u2019s own machines too.';
  return 'RackSeed is the only DHCP server here: every machine that PXE-boots on this segment is discovered and booted into the discovery ramdisk.';
}

/** Short label for badges and headers. */
export function admissionLabel(admission: BootAdmission): string {
  return admission === 'allowlist' ? 'allowed machines only' : 'every PXE client';
}
