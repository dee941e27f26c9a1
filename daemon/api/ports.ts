// What the API layer needs from below, as interfaces (the daemon wires the real implementations; tests too).
import type { BootDevRequest, Job, NetworkConfig, PowerAction, ServicesStatus, SurveyResult, SweepStatus } from '../../shared/api.ts';

/** The netboot services (DHCP/proxyDHCP, TFTP, HTTP boot) on the chosen interface. */
export interface ServicesPort {
  status(): ServicesStatus;
  /** Save `cfg` and (re)start the services. Rejects with ForeignDhcpError when authoritative mode is refused. */
  configure(cfg: NetworkConfig): Promise<ServicesStatus>;
  /** Last survey result, or null. */
  lastSurvey(): SurveyResult | null;
  /** Run a foreign-DHCP survey on `iface` (default: the configured interface). */
  survey(iface?: string): Promise<SurveyResult>;
}

/** BMC-driven operations (core jobs and sessions). Errors carry `statusCode` when they map to 4xx. */
export interface BmcOpsPort {
  power(nodeId: string, action: PowerAction): Promise<{ power: 'on' | 'off' | null }>;
  bootdev(nodeId: string, req: BootDevRequest): Promise<void>;
  /** `leaveRunning`: keep the node on in the discovery ramdisk after its inventory (core/jobs/runner.ts inspectNode) */
  inspect(nodeId: string, opts?: { leaveRunning?: boolean }): Job;
  discovery(bmcs?: string[]): Job[];
  /** `prefer`: the protocol a BMC answering both IPMI and Redfish is driven with (default redfish) */
  sweep(cidr: string, prefer?: 'ipmi' | 'redfish'): SweepStatus;
}

/** Thrown by ServicesPort.configure when a foreign DHCP server answers and authoritative mode has no override. */
export class ForeignDhcpError extends Error {
  constructor(readonly survey: SurveyResult) {
    super(`a foreign DHCP server answers on ${survey.interface} (${survey.foreign.map((f) => f.serverId).join(', ')}); ` +
      'use proxy mode beside it, or set override to serve authoritative DHCP anyway');
    this.name = 'ForeignDhcpError';
  }
}

/** An error that maps to an HTTP status (404 unknown node, 409 conflict, 400 bad input, 503 not available). */
export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}
