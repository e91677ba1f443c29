/**
 * The simulator's config schema (TypeBox); the TS types derive from it. Every optional key has a
 * documented default applied by `parseSimConfig`, which fails fast with the path of a bad value.
 *
 * Minimal file for `sendgate simulate --config FILE`:
 *   { "numbers": [{ "phoneNumberId": "1001", "accessToken": "EAAG-test" }] }
 */
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { deepFreeze } from '../config/deep-freeze.js';

const Ms = Type.Number({ minimum: 0, maximum: 3_600_000 });
const Rate = Type.Number({ minimum: 0, maximum: 1 });
const CodeKey = Type.String({ pattern: '^[0-9]+$' });

/** How long the simulator waits before answering. `mix` picks a part by weight, then uniform in it: a long tail is e.g. 99 % 1..5 ms + 1 % 200..2000 ms. */
export const LatencySchema = Type.Union([
  Type.Object({ kind: Type.Literal('fixed'), ms: Ms }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('uniform'), minMs: Ms, maxMs: Ms }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('mix'),
      parts: Type.Array(Type.Object({ weight: Type.Number({ exclusiveMinimum: 0 }), minMs: Ms, maxMs: Ms }, { additionalProperties: false }), { minItems: 1 }),
    },
    { additionalProperties: false },
  ),
]);

/** A window of time (from simulator start or the last reset) in which sends fail with `code`, e.g. 131057 for 60 s during a throughput upgrade. */
export const PhaseSchema = Type.Object(
  {
    code: Type.Integer({ minimum: 0 }),
    startMs: Type.Integer({ minimum: 0 }),
    durationMs: Type.Integer({ minimum: 1 }),
    /** Fraction of sends in the window that fail. Default 1. */
    rate: Type.Optional(Rate),
  },
  { additionalProperties: false },
);

/** Fault injection; per number, each key present overrides the global one. All rates are per request, 0..1. */
export const FaultsSchema = Type.Object(
  {
    latency: Type.Optional(LatencySchema),
    /** Synchronous errors by Meta code, e.g. {"131000": 0.01, "131016": 0.005}; answered with Meta's HTTP status. */
    errorRates: Type.Optional(Type.Record(CodeKey, Rate)),
    /** Never answer: the client's timeout is what ends the request. */
    timeoutRate: Type.Optional(Rate),
    /** Destroy the socket without an answer. */
    resetRate: Type.Optional(Rate),
    phases: Type.Optional(Type.Array(PhaseSchema)),
    /** Accepted with 200, then a `failed` status webhook with this code (131026, 131049, 131047 ...). */
    asyncErrorRates: Type.Optional(Type.Record(CodeKey, Rate)),
    /**
     * The number's first `requests` requests are looked at `delayMs` after they came in, as
     * requests on connections still being opened (a TLS handshake) reach Meta late.
     */
    arrivalDelay: Type.Optional(Type.Object(
      { requests: Type.Integer({ minimum: 1 }), delayMs: Type.Integer({ minimum: 1, maximum: 60_000 }) },
      { additionalProperties: false },
    )),
  },
  { additionalProperties: false },
);

const ServiceWindow = Type.Union([Type.Literal('off'), Type.Literal('sync'), Type.Literal('async')]);

/** Per-number limits; every key falls back to `limits`. */
const LimitOverrides = {
  mps: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 })),
  burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  pairIntervalMs: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400_000 })),
  pairBurst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  serviceWindow: Type.Optional(ServiceWindow),
};

export const SimNumberSchema = Type.Object(
  {
    phoneNumberId: Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9]+$' }),
    accessToken: Type.String({ minLength: 1, maxLength: 4096 }),
    /** Shown in webhook metadata. Default: the phone number id. */
    displayPhoneNumber: Type.Optional(Type.String({ minLength: 1 })),
    /** The WABA the number belongs to (webhook `entry[].id`). Default: `webhook.wabaId`. */
    wabaId: Type.Optional(Type.String({ minLength: 1 })),
    ...LimitOverrides,
    faults: Type.Optional(FaultsSchema),
  },
  { additionalProperties: false },
);

export const SimLimitsSchema = Type.Object(
  {
    /** Throughput per number (Cloud API default 80 mps, burst 80). Inbound counts too. */
    mps: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, default: 80 }),
    burst: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 80 }),
    /** Pair rate: one message per 6 s to the same user, bursts up to 45 borrowed from the future. 0 = off. */
    pairIntervalMs: Type.Number({ minimum: 0, maximum: 86_400_000, default: 6000 }),
    pairBurst: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 45 }),
    /** 24 h customer service window for free-form sends: `off`, refused with 131047 (`sync`), or accepted then `failed` by webhook (`async`). */
    serviceWindow: Type.Union([Type.Literal('off'), Type.Literal('sync'), Type.Literal('async')], { default: 'off' }),
    serviceWindowMs: Type.Integer({ minimum: 1, maximum: 30 * 86_400_000, default: 86_400_000 }),
    /** Inbound messages (`inbound()`) charge the number's throughput bucket, as on Meta. */
    countInbound: Type.Boolean({ default: true }),
  },
  { additionalProperties: false, default: {} },
);

export const SimWebhookSchema = Type.Object(
  {
    url: Type.String({ minLength: 1 }),
    /** Signs each POST: X-Hub-Signature-256 = sha256=HMAC(body, appSecret). */
    appSecret: Type.String({ minLength: 1 }),
    wabaId: Type.String({ minLength: 1, default: '100000000000001' }),
    /** Updates per POST (Meta: up to 1000). */
    batchMax: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    /** How long updates wait to be batched. */
    flushMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 20 }),
    /** Retry schedule for non-200 answers: Meta's 7 days, compressed. The POST is dropped after the last. */
    retryDelaysMs: Type.Array(Ms, { default: [100, 500, 2000, 10_000, 30_000] }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000 }),
    statuses: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        sentMs: Type.Number({ minimum: 0, maximum: 3_600_000, default: 20 }),
        deliveredMs: Type.Number({ minimum: 0, maximum: 3_600_000, default: 100 }),
        readMs: Type.Number({ minimum: 0, maximum: 3_600_000, default: 400 }),
        readRate: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
        skipDeliveredRate: Type.Number({ minimum: 0, maximum: 1, default: 0.1 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export const SimConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1' }),
    /** 0 picks a free port. */
    port: Type.Integer({ minimum: 0, maximum: 65_535, default: 0 }),
    /** Seed of every random choice (latency, faults, status paths). */
    seed: Type.Integer({ minimum: 0, maximum: 4_294_967_295, default: 1 }),
    /** Demo/bench convenience: any phone number id with any bearer token is accepted. Off by default. */
    acceptAnyNumber: Type.Boolean({ default: false }),
    limits: SimLimitsSchema,
    numbers: Type.Array(SimNumberSchema, { default: [] }),
    faults: Type.Object(FaultsSchema.properties, { additionalProperties: false, default: {} }),
    webhook: Type.Optional(SimWebhookSchema),
    maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
    /**
     * Serve HTTPS (PEM key and certificate) with HTTP/2 and HTTP/1.1 negotiated by ALPN, as Meta's
     * Graph API does. Absent: plain HTTP/1.1. `sendgate simulate --tls` makes a self-signed pair.
     */
    tls: Type.Optional(Type.Object({ key: Type.String({ minLength: 1 }), cert: Type.String({ minLength: 1 }) }, { additionalProperties: false })),
    /** Bound on tracked (number, recipient) pairs, per number, for limits, windows and stats. */
    maxTrackedPairs: Type.Integer({ minimum: 16, maximum: 10_000_000, default: 100_000 }),
    /** Approved templates every WABA serves at `GET /{version}/{waba-id}/message_templates`. */
    templates: Type.Array(Type.Object({
      name: Type.String({ minLength: 1, maxLength: 512 }),
      language: Type.String({ minLength: 1, maxLength: 15 }),
      category: Type.Union([Type.Literal('MARKETING'), Type.Literal('UTILITY'), Type.Literal('AUTHENTICATION')]),
      status: Type.String({ default: 'APPROVED' }),
    }, { additionalProperties: false }), { default: [], maxItems: 10_000 }),
  },
  { additionalProperties: false },
);

export type SimConfig = Static<typeof SimConfigSchema>;
export type SimLimits = Static<typeof SimLimitsSchema>;
export type SimNumber = Static<typeof SimNumberSchema>;
export type SimFaults = Static<typeof FaultsSchema>;
export type SimLatency = Static<typeof LatencySchema>;
export type SimPhase = Static<typeof PhaseSchema>;
export type SimWebhook = Static<typeof SimWebhookSchema>;
export type SimTemplate = SimConfig['templates'][number];

/** What callers pass: every key with a default may be left out. */
export type SimConfigInput = Partial<Omit<SimConfig, 'limits' | 'webhook' | 'templates'>> & {
  templates?: Array<Omit<SimTemplate, 'status'> & { status?: string }>;
  limits?: Partial<SimLimits>;
  webhook?: Partial<Omit<SimWebhook, 'statuses'>> & Pick<SimWebhook, 'url' | 'appSecret'> & { statuses?: Partial<SimWebhook['statuses']> };
};

/** Applies defaults, validates, freezes. Throws with the path of the first bad value. */
export function parseSimConfig(input: unknown): SimConfig {
  const value = Value.Default(SimConfigSchema, Value.Clone(input ?? {}));
  const first = Value.Errors(SimConfigSchema, value).First();
  if (first) throw new Error(`simulator config: ${first.path || '/'}: ${first.message}`);
  return deepFreeze(value as SimConfig);
}

export function loadSimConfigFile(path: string): SimConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`simulator config: cannot read ${path}: ${(err as Error).message}`);
  }
  return parseSimConfig(parsed);
}
