// Request body/query schemas (typebox → JSON Schema; fastify validates with them). Types in shared/api.ts.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { HttpError } from './ports.ts';

/** For routes whose body is optional (clients send none): undefined/null → {}, else checked against `schema` (400). */
export function optionalBody<T extends TSchema>(schema: T, body: unknown): Static<T> {
  if (body === undefined || body === null) return {} as Static<T>;
  if (!Value.Check(schema, body)) {
    const e = Value.Errors(schema, body).First();
    throw new HttpError(400, `body${e?.path ?? ''} ${e?.message ?? 'is invalid'}`);
  }
  return body as Static<T>;
}

const Ipv4 = Type.String({ pattern: '^(\\d{1,3}\\.){3}\\d{1,3}$', maxLength: 15 });

export const NetworkConfigBody = Type.Object({
  interface: Type.String({ minLength: 1, maxLength: 15, pattern: '^[A-Za-z0-9_.:@-]+$' }),
  mode: Type.Union([Type.Literal('authoritative'), Type.Literal('proxy')]),
  pool: Type.Optional(Type.Union([Type.Null(), Type.Object({ first: Ipv4, last: Ipv4 }, { additionalProperties: false })])),
  override: Type.Optional(Type.Boolean()),
  biosIpxe: Type.Optional(Type.Union([Type.Literal('rom'), Type.Literal('bundled')])),
}, { additionalProperties: false });

export const PowerBody = Type.Object({
  action: Type.Union(['on', 'off', 'cycle', 'reset', 'soft', 'status'].map((a) => Type.Literal(a))),
}, { additionalProperties: false });

export const BootDevBody = Type.Object({
  device: Type.Union([Type.Literal('pxe'), Type.Literal('disk'), Type.Literal('bios')]),
  uefi: Type.Optional(Type.Boolean()),
  persistent: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

export const MaintenanceBody = Type.Object({
  maintenance: Type.Boolean(),
  /** why, for the node's history (optional) */
  reason: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });

export const AllowBody = Type.Object({
  /** MACs in any common notation (aa:bb:…, AA-BB-…, aabb.ccdd.eeff) */
  macs: Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { minItems: 1, maxItems: 4096 }),
}, { additionalProperties: false });

export const CredentialsBody = Type.Object({
  user: Type.String({ minLength: 1, maxLength: 16 }),
  password: Type.String({ minLength: 1, maxLength: 20 }),
}, { additionalProperties: false });

export const SweepBody = Type.Object({
  cidr: Type.String({ pattern: '^(\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2}$', maxLength: 18 }),
  /** the protocol a BMC that answers both is driven with (default redfish) */
  prefer: Type.Optional(Type.Union([Type.Literal('ipmi'), Type.Literal('redfish')])),
}, { additionalProperties: false });

export const BmcProtocolBody = Type.Object({
  protocol: Type.Union([Type.Literal('ipmi'), Type.Literal('redfish')]),
}, { additionalProperties: false });

export const DiscoveryBody = Type.Object({
  bmcs: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 4096 })),
}, { additionalProperties: false });

export const SurveyBody = Type.Object({
  interface: Type.Optional(Type.String({ minLength: 1, maxLength: 15 })),
}, { additionalProperties: false });

export const EventsQuery = Type.Object({
  mac: Type.Optional(Type.String({ maxLength: 32 })),
  since: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
});

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** GET /api/v1/nodes/:id/console/log */
export const ConsoleLogQuery = Type.Object({ lines: Type.Optional(Type.Integer({ minimum: 1, maximum: 20000 })) });

/** WS /api/v1/nodes/:id/console: who connects (shown to the other viewers); `token` is read by access.ts */
export const ConsoleWsQuery = Type.Object({
  client: Type.Optional(Type.Union([Type.Literal('ui'), Type.Literal('cli')])),
  token: Type.Optional(Type.String({ maxLength: 256 })),
});
