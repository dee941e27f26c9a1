// Public surface of the DHCP servers (see README.md).
export { createDhcpServer, type DhcpServerOptions, type DhcpService } from './dhcp-server.ts';
export { createProxyDhcpServer, type ProxyDhcpServerOptions } from './proxy-dhcp-server.ts';
export { defaultBootAnswer, type DefaultBootConfig } from './default-boot-answer.ts';
export { bootRequestOf } from './boot-request.ts';
export type { Lease, LeaseStore } from './lease-store.ts';
export type { Reservation } from './address-pool.ts';
export { COUNTER_NAMES } from './counters.ts';
export { surveyDhcp, startPeriodicSurvey, type SurveyOptions } from './survey.ts';
