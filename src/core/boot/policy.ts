// The core's boot policy (implements src/netboot/boot-policy.ts BootPolicy, plus the iPXE `scriptFor`):
//   unknown MAC            → node created `discovered`, served the discovery ramdisk (unless safe mode: ignored)
//   discovered/inspecting  → the discovery ramdisk, with a fresh per-node agent token
//   maintenance            → ignored at DHCP; the script boots the local disk
//   available/active/error → no boot file (the firmware falls through to the disk); the script boots the local disk
import type { Logger } from 'pino';
import type { BootPolicy, BootRequest, DhcpBootAnswer } from '../../netboot/boot-policy.ts';
import type { NodeSummary } from '../../shared/node.ts';
import type { NetworkConfig } from '../../shared/api.ts';
import type { NodeStore } from '../store/nodes.ts';
import type { NodeLifecycle } from '../node-lifecycle.ts';
import type { EventBus } from '../event-bus.ts';
import { hashToken, newToken, normalizeMac } from '../ids.ts';
import { firstStageAnswer, httpBase, type ApplianceAddress } from './boot-files.ts';
import { discoveryScript, localBootScript, waitScript } from './ipxe-script.ts';

export interface BootPolicySettings extends ApplianceAddress {
  /** ignore clients that are not already known nodes */
  safeMode: boolean;
  /** URL paths of the discovery kernel and initrd on the HTTP boot server; null when no ramdisk is built */
  ramdisk: { kernelPath: string; initrdPath: string } | null;
  /** UEFI clients get snponly.efi instead of ipxe.efi */
  preferSnp?: boolean;
  /**
   * Which iPXE a BIOS client runs the discovery script in: "rom" (default) — whichever asked, usually the NIC ROM's;
   * "bundled" — a BIOS client whose iPXE is not our undionly.kpxe chains tftp://serverIp/undionly.kpxe first.
   */
  biosIpxe?: BiosIpxe;
}

/** CLI `--bios-ipxe` values (see BootPolicySettings.biosIpxe). */
export const BIOS_IPXE_CHOICES = ['rom', 'bundled'] as const satisfies readonly NonNullable<NetworkConfig['biosIpxe']>[];
export type BiosIpxe = NonNullable<NetworkConfig['biosIpxe']>;

/** What the HTTP boot server knows about a `GET /boot.ipxe` request. */
export interface ScriptRequest {
  /** `?mac=` as sent (any notation), or null */
  mac: string | null;
  /** client IPv4 address of the HTTP connection */
  ip: string | null;
}

const BOOTS_RAMDISK = new Set<NodeSummary['state']>(['discovered', 'inspecting']);

export class CoreBootPolicy implements BootPolicy {
  constructor(
    private readonly nodes: NodeStore,
    private readonly lifecycle: NodeLifecycle,
    private readonly bus: EventBus,
    private readonly settings: () => BootPolicySettings,
    private readonly log: Logger,
    /** ip → mac from the DHCP leases; null when unknown */
    private readonly ipToMac: (ip: string) => string | null = () => null,
  ) {}

  dhcpBoot(req: BootRequest): DhcpBootAnswer | null {
    const s = this.settings();
    const mac = normalizeMac(req.mac);
    if (!mac) return null;
    let node = this.nodes.getByMac(mac);
    if (!node) {
      if (s.safeMode) {
        this.log.debug({ mac, interface: req.interface }, 'safe mode: unknown PXE client ignored');
        return null;
      }
      node = this.lifecycle.ensureNode(mac, 'dhcp').node;
    }
    if (node.maintenance || !BOOTS_RAMDISK.has(node.state)) {
      this.log.debug({ mac, node: node.id, state: node.state }, 'no network boot for this node');
      return null;
    }
    const firmware = req.arch === null || req.arch === 0 ? 'bios' : [6, 7, 9, 10, 11, 16].includes(req.arch) ? 'uefi' : null;
    if (firmware && node.firmware !== firmware) this.nodes.update(node.id, { firmware });
    return firstStageAnswer({ ...req, mac }, s, s.preferSnp);
  }

  /**
   * The iPXE script for a `GET /boot.ipxe`. Resolves the node by `?mac=`, else by the client address (DHCP leases,
   * then the node store). Issues a fresh agent token (stored hashed) whenever it serves the ramdisk.
   */
  scriptFor(req: ScriptRequest): string {
    const s = this.settings();
    const base = httpBase(s);
    let mac = req.mac ? normalizeMac(req.mac) : null;
    if (!mac && req.ip) mac = this.ipToMac(req.ip) ?? this.nodes.getByIp(req.ip)?.mac ?? null;
    if (!mac) return localBootScript('this machine is not known by MAC (no ?mac= and no DHCP lease for its address)');
    let node = this.nodes.getByMac(mac);
    if (!node) {
      if (s.safeMode) return localBootScript('safe mode: unknown machines are not booted');
      node = this.lifecycle.ensureNode(mac, 'http').node;
    }
    if (req.ip && node.ip !== req.ip) node = this.nodes.update(node.id, { ip: req.ip }) ?? node;
    if (node.maintenance) return localBootScript(`node ${node.id} is in maintenance`);
    if (!BOOTS_RAMDISK.has(node.state)) return localBootScript(`node ${node.id} is ${node.state}`);
    if (!s.ramdisk) {
      this.bus.record({ source: 'http', kind: 'no-ramdisk', mac, nodeId: node.id, level: 'warn', message: 'discovery ramdisk is not built (npm run build:ramdisk); node told to wait' });
      return waitScript(base, mac, 'the discovery ramdisk is not built yet');
    }
    const token = newToken();
    this.nodes.setAgentTokenHash(node.id, hashToken(token));
    return discoveryScript({
      base, kernelPath: s.ramdisk.kernelPath, initrdPath: s.ramdisk.initrdPath, nodeId: node.id, mac, token,
      bundledBiosIpxe: s.biosIpxe === 'bundled' ? `tftp://${s.serverIp}/undionly.kpxe` : null,
    });
  }
}
