// Public surface of the pure DHCP codec (no sockets, no clock).
export { DhcpDecodeError } from './decode-error.ts';
export { DhcpMessageType, messageTypeName, messageTypeVerb } from './message-type.ts';
export { Opt, optionName } from './option-codes.ts';
export { DhcpOptions } from './options.ts';
export {
  BOOTREPLY, BOOTREQUEST, FLAG_BROADCAST, MIN_PACKET_LENGTH, decodePacket, encodePacket, newPacket, packetEncodingLength, packetMac,
  type DhcpPacket,
} from './packet.ts';
export { describePacket } from './describe-packet.ts';
export { PxeDiscoveryControl, PxeSubOpt, decodePxeVendorOptions, encodePxeVendorOptions, type PxeVendorOptions } from './pxe-vendor-options.ts';
export { decodeRelayAgentInfo, type RelayAgentInfo } from './relay-agent-info.ts';
export { decodeUserClass, encodeUserClassRfc3004 } from './user-class.ts';
export { formatMac, macToBytes, parseMac } from './mac.ts';
export { intToIpv4, ipv4ToInt, isIpv4 } from './ipv4.ts';
export { clientArch, isHttpClient, isIpxeClient, isNetbootClient, isPxeClient } from './netboot-client.ts';
