// One BmcConnector for the core over both protocols: each BMC is driven with the protocol stored for it (the sweep
// sets it — Redfish where both answer, unless the user chose; PUT /api/v1/bmcs/:address/protocol changes it). A BMC
// with no protocol stored (imported from a rack plan, or from before Redfish) is driven over IPMI when this daemon
// has IPMI, else Redfish.
import type { BmcConnector, BmcProtocol } from '../bmc-port.ts';

export interface ProtocolConnectors {
  ipmi: BmcConnector | null;
  redfish: BmcConnector | null;
  /** the protocol stored for a BMC address, or null */
  protocolOf: (address: string) => BmcProtocol | null;
}

export function protocolConnector(o: ProtocolConnectors): BmcConnector | null {
  if (!o.ipmi && !o.redfish) return null;
  return async (address, creds) => {
    const p: BmcProtocol = o.protocolOf(address) ?? (o.ipmi ? 'ipmi' : 'redfish');
    const c = p === 'redfish' ? o.redfish : o.ipmi;
    if (!c) throw new Error(`BMC ${address} is driven over ${p === 'redfish' ? 'Redfish' : 'IPMI'}, which this daemon was started without`);
    return c(address, creds);
  };
}
