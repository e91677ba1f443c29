/**
 * TypeBox schemas of the runtime-management routes (src/http/routes/admin-tenants.ts): what they
 * validate and what they answer, built from the config's own tenant schema so a tenant posted at
 * run time has exactly the config file's shape. Answers never carry a Meta token, a webhook secret
 * or an API key (only `POST …/api-keys` shows the new key, once): the response schemas leave them out.
 */
import { Type, type Static } from '@sinclair/typebox';
import { NumberSchema, PolicySchema, TenantSchema } from '../../config/schema.js';

const T = TenantSchema.properties;
const N = NumberSchema.properties;

/** A config tenant without its keys: what the catalog stores. */
export const TenantRecordSchema = Type.Omit(TenantSchema, ['apiKeys'], { additionalProperties: false });

/** `POST /admin/tenants`: a config tenant; `apiKeys` optional (keys are usually issued afterwards). */
export const NewTenantSchema = Type.Object(
  { ...T, apiKeys: Type.Optional(T.apiKeys) },
  { additionalProperties: false },
);
export type NewTenant = Static<typeof NewTenantSchema>;

/** A number in a PATCH: fields given replace the number's; `accessToken` may be left out for a number the tenant has. */
export const NumberPatchSchema = Type.Object(
  {
    phoneNumberId: N.phoneNumberId,
    accessToken: Type.Optional(N.accessToken),
    mps: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10_000 })),
    burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    createdAt: N.createdAt,
    warmup: N.warmup,
    displayPhoneNumber: N.displayPhoneNumber,
  },
  { additionalProperties: false },
);

/**
 * `PATCH /admin/tenants/{id}`: the fields given replace the tenant's (`policy` as a whole; `numbers`
 * as the new list, each merged with the number of the same id; `webhook: null` removes it, and its
 * `secret` may be left out to keep the current one).
 */
export const TenantPatchSchema = Type.Object(
  {
    wabaIds: T.wabaIds,
    messagingLimit: Type.Optional(Type.Union([Type.Literal(250), Type.Literal(2000), Type.Literal(10000), Type.Literal(100000), Type.Literal('unlimited')])),
    deadlineSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400 })),
    // The policy object without its own default: an absent `policy` leaves the tenant's as it is.
    policy: Type.Optional(Type.Object(PolicySchema.properties, { additionalProperties: false })),
    webhook: Type.Optional(Type.Union([
      Type.Object({ url: Type.String({ minLength: 1 }), secret: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })) }, { additionalProperties: false }),
      Type.Null(),
    ])),
    numbers: Type.Optional(Type.Array(NumberPatchSchema, { minItems: 1 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type TenantPatch = Static<typeof TenantPatchSchema>;

export const TenantIdParams = Type.Object({ id: T.id }, { additionalProperties: false });
export const KeyParams = Type.Object({ id: T.id, keyId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) }, { additionalProperties: false });
export const NumberIdParams = Type.Object({ id: N.phoneNumberId }, { additionalProperties: false });

export const AccessTokenBodySchema = Type.Object({ accessToken: N.accessToken }, { additionalProperties: false });

/** A number as answered: no access token. */
const NumberView = Type.Object({
  phoneNumberId: Type.String(),
  mps: Type.Number(),
  burst: Type.Integer(),
  createdAt: Type.Optional(Type.String()),
  warmup: Type.Optional(Type.Boolean()),
  displayPhoneNumber: Type.Optional(Type.String()),
});

export const KeyViewSchema = Type.Object({
  id: Type.String(),
  source: Type.Union([Type.Literal('config'), Type.Literal('admin')]),
  createdAt: Type.String({ description: 'ISO 8601' }),
});

/** A tenant as answered: its settings and key ids, never a token, secret or key. */
export const TenantViewSchema = Type.Object({
  id: Type.String(),
  source: Type.Union([Type.Literal('config'), Type.Literal('admin')], { description: 'config: follows the config file; admin: changed through this API, which wins' }),
  updatedAt: Type.String(),
  wabaIds: Type.Optional(Type.Array(Type.String())),
  messagingLimit: Type.Union([Type.Integer(), Type.Literal('unlimited')]),
  deadlineSec: Type.Integer(),
  policy: Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true }),
  webhook: Type.Optional(Type.Object({ url: Type.String() })),
  numbers: Type.Array(NumberView),
  apiKeys: Type.Array(KeyViewSchema),
});
export type TenantView = Static<typeof TenantViewSchema>;

export const TenantListSchema = Type.Object({ data: Type.Array(TenantViewSchema) });
export const IssuedKeySchema = Type.Object({ id: Type.String(), key: Type.String({ description: 'shown once; stored only as a SHA-256 digest' }) });
export const RevokedKeySchema = Type.Object({ id: Type.String(), tenant: Type.String(), revoked: Type.Literal(true) });
export const DeletedTenantSchema = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });
export const TokenReplacedSchema = Type.Object({
  phone_number_id: Type.String(),
  tenant: Type.String(),
  resumed: Type.Boolean({ description: 'the tenant was paused by a 190 (token) answer and now sends again' }),
});
