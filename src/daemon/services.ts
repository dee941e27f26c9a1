// The netboot services on the chosen interface: survey, then DHCP (or proxyDHCP), TFTP and HTTP boot.
// Until the netboot modules are wired in, configure() saves the config and reports the services as not running.
import type { Logger } from 'pino';
import type { NetworkConfig, ServicesStatus, ServiceStatus, SurveyResult } from '../shared/api.ts';
import type { Core } from '../core/core.ts';
import { HttpError, type ServicesPort } from './api/ports.ts';

const idle = (detail: string): ServiceStatus => ({ running: false, detail, counters: {} });

export class ServiceManager implements ServicesPort {
  private survey_: SurveyResult | null = null;
  private state: Omit<ServicesStatus, 'config'> = {
    dhcp: idle('not configured'), proxy: idle('not configured'), tftp: idle('not configured'), http: idle('not configured'),
  };

  constructor(private readonly core: Core, private readonly log: Logger) {}

  status(): ServicesStatus {
    return { config: this.core.config.network(), ...this.state };
  }

  async configure(cfg: NetworkConfig): Promise<ServicesStatus> {
    this.core.config.setNetwork(cfg);
    this.log.info({ interface: cfg.interface, mode: cfg.mode }, 'network config saved');
    const s = this.status();
    this.core.bus.publish({ type: 'services', payload: s });
    return s;
  }

  /** Stop every service (daemon shutdown). */
  async stop(): Promise<void> {
    /* nothing runs yet */
  }

  lastSurvey(): SurveyResult | null {
    return this.survey_;
  }

  async survey(_iface?: string): Promise<SurveyResult> {
    throw new HttpError(503, 'DHCP survey is not available in this build yet');
  }
}
