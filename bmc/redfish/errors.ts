// The one error the Redfish codecs throw: a JSON body that is not what the resource must be. `path` names the
// field (JSON-pointer style, e.g. "/Boot/BootSourceOverrideTarget") the way the IPMI decoders name the byte offset.

export class RedfishDecodeError extends Error {
  override readonly name = 'RedfishDecodeError';
  constructor(readonly resource: string, readonly path: string, readonly reason: string) {
    super(`${resource}${path ? ` ${path}` : ''}: ${reason}`);
  }
}
